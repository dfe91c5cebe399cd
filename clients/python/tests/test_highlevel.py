"""The high-level API: runs, background batching, flush, failures, threads, kill -9, watch."""
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

import tally
import tally.v1.tracking_pb2


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_start_run_logs_and_completes(daemon):
    exp = unique("hl")
    with tally.start_run(experiment=exp, params={"lr": 3e-4, "batch": 128, "opt": {"name": "adam", "amsgrad": False}},
                         tags=["baseline"], name="first") as run:
        for step in range(1000):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 1000}, step=step)
        run.log({"extra": 1.0})
        run.log({"extra": 2.0})
    info = tally.get_run(run.id)
    assert info.status == "completed" and info.name == "first"
    assert {k: v for k, v in info.params.items() if not k.startswith("env.")} == {
        "batch": 128, "lr": 3e-4, "opt.amsgrad": False, "opt.name": "adam"}  # and the captured env.* params
    assert info.tags == {"baseline": ""}
    assert info.metrics["loss"].count == 1000 and info.metrics["acc"].last == 0.999
    assert info.metrics["extra"].first_step == 0 and info.metrics["extra"].last_step == 1
    hist = run.history(["loss"])
    assert hist["loss"].steps == list(range(1000))
    small = tally.history(run.id, ["loss"], max_points=50)
    assert small["loss"].downsampled and len(small["loss"].steps) <= 100


def test_run_that_raises_ends_failed(daemon):
    with pytest.raises(ZeroDivisionError):
        with tally.start_run(experiment=unique("fail")) as run:
            run.log({"x": 1.0})
            1 / 0
    info = tally.get_run(run.id)
    assert info.status == "failed" and "ZeroDivisionError" in info.error
    assert info.metrics["x"].count == 1


def test_flush_waits_for_acknowledgement(daemon):
    with tally.start_run(experiment=unique("flush"), flush_interval=10) as run:
        run.log({"a": 1.0}, step=0)
        run.flush()
        assert tally.get_run(run.id).metrics["a"].count == 1


def test_eight_threads_lose_nothing(daemon):
    per_thread = 20_000
    with tally.start_run(experiment=unique("threads"), batch_points=5000) as run:
        def work(n: int) -> None:
            for i in range(per_thread):
                run.log({f"t{n}": float(i)}, step=i)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run.flush()
    info = tally.get_run(run.id)
    for n in range(8):
        m = info.metrics[f"t{n}"]
        assert (m.count, m.first_step, m.last_step) == (per_thread, 0, per_thread - 1)


def test_params_tags_nested_runs_search_compare(daemon):
    exp = unique("search")
    with tally.start_run(experiment=exp, params={"lr": 0.1}) as parent:
        for lr in (0.01, 0.001):
            with tally.start_run(experiment=exp, parent=parent, params={"lr": lr}) as child:
                child.log({"val_acc": 1 - lr})
        parent.log_params({"seed": 7})
        parent.set_tags({"stage": "prod"})
        parent.set_tags(["note"], remove=["stage"])
    rows = tally.search_runs("params.lr < 0.05", experiments=exp, order_by="metrics.val_acc desc")
    assert [r.params["lr"] for r in rows] == [0.001, 0.01]
    assert all(r.parent_run_id == parent.id for r in rows)
    assert rows[0].metrics["val_acc"].last == pytest.approx(0.999)
    assert tally.get_run(parent.id).tags == {"note": ""} and tally.get_run(parent.id).child_count == 2
    assert len(tally.search_runs(experiments=[exp], max_results=1)) == 1
    with pytest.raises(tally.InvalidArgument):
        tally.search_runs("params.lr <")
    cmp = tally.compare(experiments=exp)
    assert len(cmp.runs) == 3 and "lr" in cmp.differing
    assert cmp.metrics["val_acc"].best_run_id == rows[0].id


def test_log_artifact_and_download(daemon, tmp_path):
    src = tmp_path / "model.pt"
    src.write_bytes(os.urandom(3 << 20))
    exp = unique("art")
    with tally.start_run(experiment=exp) as run:
        art = run.log_artifact(src, type="model", aliases=["best"])
    assert art.name == "model.pt" and "best" in art.aliases
    out = tmp_path / "out"
    out.mkdir()
    record = tally.download_artifact(out, experiment=exp, name="model.pt", alias="best")
    assert record.id == art.id and (out / "model.pt").read_bytes() == src.read_bytes()
    tally.download_artifact(tmp_path / "copy.pt", art.id)
    assert (tmp_path / "copy.pt").read_bytes() == src.read_bytes()
    assert [a.id for a in tally.get_run(run.id).artifacts if a.name == "model.pt"] == [art.id]
    # By run and name: the version that run logged.
    assert tally.download_artifact(tmp_path / "byrun.pt", run=run, name="model.pt").id == art.id
    with pytest.raises(tally.NotFound):
        tally.download_artifact(tmp_path / "none.pt", run=run, name="other.pt")
    # Missing folders are created: a path ending with "/" is a folder, another one a file's path.
    tally.download_artifact(f"{tmp_path}/new/", art.id)
    assert (tmp_path / "new" / "model.pt").read_bytes() == src.read_bytes()
    tally.download_artifact(tmp_path / "deep" / "er" / "m.pt", art.id)
    assert (tmp_path / "deep" / "er" / "m.pt").read_bytes() == src.read_bytes()


def test_watch_run_follows_live_progress(daemon):
    run = tally.start_run(experiment=unique("watch"))
    events = []
    watcher = tally.watch_run(run.id)
    first = next(watcher)
    assert first.kind == "snapshot" and first.run.status == "running"

    def consume() -> None:
        for event in watcher:
            events.append(event)

    t = threading.Thread(target=consume)
    t.start()
    for step in range(50):
        run.log({"loss": 1 / (step + 1)}, step=step)
        time.sleep(0.002)
    run.log_params({"late": True})
    run.end()
    t.join(10)
    assert not t.is_alive()
    points = [p for e in events if e.kind == "points" for p in e.points]
    assert [p.step for p in points] == list(range(50))
    assert any(e.kind == "params" and e.params == {"late": True} for e in events)
    assert events[-1].kind == "status" and events[-1].run.status == "completed"


def test_watch_can_be_closed(daemon, client):
    run = tally.start_run(experiment=unique("watchclose"))
    with tally.watch_run(run.id) as watcher:
        assert watcher.next(timeout=5).kind == "snapshot"
        assert watcher.next(timeout=0.1) is None
    run.end()


def test_flushed_points_survive_kill_9(own_daemon, tmp_path, monkeypatch):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))  # where an outage's batches wait
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("kill9"))
    for step in range(5000):
        run.log({"loss": float(step)}, step=step)
    run.flush()
    own_daemon.kill9()
    own_daemon.start()
    hist = client.history(run.id, ["loss"])
    assert hist["loss"].steps == list(range(5000))
    # Logging goes on on a new connection after the restart.
    run.log({"loss": 5000.0}, step=5000)
    run.end()
    assert client.get_run(run.id).metrics["loss"].count == 5001
    assert not os.path.exists(run.journal_path)
    client.close()


def test_daemon_down_mid_run_retries_then_delivers(own_daemon, tmp_path, monkeypatch):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("outage"))
    run.log({"x": 0.0}, step=0)
    run.flush()
    own_daemon.kill9()
    for step in range(1, 1001):
        run.log({"x": float(step)}, step=step)  # never blocks while the daemon is away
    time.sleep(0.5)
    own_daemon.start()
    run.flush(timeout=20)
    run.end()
    info = client.get_run(run.id)
    assert info.metrics["x"].last_step == 1000 and info.metrics["x"].count == 1001  # each point once
    assert info.status == "completed" and not os.path.exists(run.journal_path)
    client.close()


def test_unreachable_daemon_journals_instead_of_raising(own_daemon, tmp_path, monkeypatch):
    """Nothing gives up any more: while the daemon is away, flush and end return once the points
    (and the end) are in the run's journal on disk; the journal is delivered when it is back."""
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("gone"))
    own_daemon.kill9()
    run.log({"x": 1.0})
    run.flush(timeout=10)
    assert (run.journalled_points, run.buffered_points, run.acknowledged_points) == (1, 0, 0)
    run.log({"x": 2.0})
    run.end(timeout=10)  # journalled and synced: no error
    assert os.path.exists(run.journal_path) and run.journalled_points == 2
    own_daemon.start()
    deadline = time.monotonic() + 20
    while os.path.exists(run.journal_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(run.journal_path)
    info = client.get_run(run.id)
    assert info.status == "completed" and info.metrics["x"].count == 2
    assert (run.acknowledged_points, run.journalled_points) == (2, 0)
    client.close()


def test_bad_key_fails_its_log_call(daemon):
    with tally.start_run(experiment=unique("badkey")) as run:
        with pytest.raises(tally.InvalidArgument):
            run.log({"good": 1.0, "bad\x00key": 1.0})
        run.log({"good": 2.0, "also ok/with:chars-and.dots x": 3.0})
    info = tally.get_run(run.id)
    assert info.metrics["good"].count == 1


def test_refused_batch_is_reported_at_flush(daemon, client):
    run = tally.start_run(experiment=unique("refused"))
    run.log({"a": 1.0})
    run.flush()
    client.tracking.end_run(tally.v1.tracking_pb2.EndRunRequest(run_id=run.id, status=tally.v1.tracking_pb2.RUN_STATUS_KILLED))
    run.log({"a": 2.0})
    with pytest.raises(tally.FailedPrecondition, match="refused"):
        run.flush()
    run.flush()  # reported once
    with pytest.raises(tally.FailedPrecondition):
        run.end()
    assert tally.get_run(run.id).metrics["a"].count == 1


def test_atexit_flushes_and_ends_a_run_left_open(daemon, tmp_path):
    script = tmp_path / "left_open.py"
    script.write_text(textwrap.dedent("""
        import sys, tally
        run = tally.start_run(experiment="atexit")
        for i in range(100):
            run.log({"v": float(i)})
        print(run.id)
        if sys.argv[1] == "raise":
            raise RuntimeError("crashed")
    """))
    env = dict(os.environ, TALLY_SOCKET=daemon.socket)
    ok = subprocess.run([sys.executable, str(script), "ok"], capture_output=True, text=True, env=env, timeout=60)
    info = tally.get_run(ok.stdout.strip())
    assert info.status == "completed" and info.metrics["v"].count == 100
    bad = subprocess.run([sys.executable, str(script), "raise"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode != 0
    info = tally.get_run(bad.stdout.strip())
    assert info.status == "failed" and "crashed" in info.error and info.metrics["v"].count == 100


def test_forked_child_logs_to_the_run(daemon):
    with tally.start_run(experiment=unique("fork")) as run:
        run.log({"parent": 1.0}, step=0)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for i in range(100):
                    run.log({"child": float(i)}, step=i)
                run.flush()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0 if hasattr(os, "waitstatus_to_exitcode") else status == 0
        run.log({"parent": 2.0}, step=1)
    info = tally.get_run(run.id)
    assert info.status == "completed" and info.metrics["child"].count == 100 and info.metrics["parent"].count == 2


def test_log_is_cheap(daemon):
    with tally.start_run(experiment=unique("cheap")) as run:
        n = 50_000
        start = time.perf_counter()
        for i in range(n):
            run.log({"loss": 0.5, "acc": 0.5}, step=i)
        per_call = (time.perf_counter() - start) / n
    assert per_call < 50e-6, f"{per_call * 1e6:.1f} µs per log call"
