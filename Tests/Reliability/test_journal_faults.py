"""Training never waits for Tally and never loses a point (docs/journal.md): the real daemon is
SIGKILLed under a logging run, is not there at all, or has a full disk; the writer is SIGKILLed or
hangs. Every point logged ends up stored exactly once, and runs whose writer died are `crashed`."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import tally
from tally.v1 import tracking_pb2 as pb

from cli_support import Daemon, run_tally
from test_disk_full import fill, small_disk  # noqa: F401  (the fixture)


def serve(workdir: Path, *extra: str, home: "Path | None" = None) -> Daemon:
    socket = str(workdir / "run" / "tally.sock")
    d = Daemon(workdir, args=["--socket", socket, "--home", str(home or workdir / "home"), "--http", "off", *extra])
    d.socket = socket
    return d


def stored(client: "tally.Client", run_id: str) -> "dict[str, tuple[int, int]]":
    """Points and distinct steps per key, from the full history."""
    out = {}
    for key, history in client.history(run_id).items():
        out[key] = (len(history.steps), len(set(history.steps)))
    return out


def wait_until(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.mark.parametrize("kills", [5])
def test_daemon_killed_during_a_run_loses_nothing(workdir, monkeypatch, kills):
    """200,000 points (100,000 steps of two keys) logged while the daemon is SIGKILLed `kills`
    times and restarted 3 to 10 s later each time, with a 2-second retry timeout."""
    monkeypatch.setenv("TALLY_JOURNAL", str(workdir / "journal"))
    monkeypatch.setenv("TALLY_AUTOSTART", "0")
    daemon = serve(workdir)
    client = tally.connect(daemon.socket)
    run = client.start_run("kills", name="five-kills", retry_timeout=2.0, system_metrics=False)  # its points only
    steps = 100_000
    done = threading.Event()
    errors = []

    def train():
        try:
            for step in range(steps):
                run.log({"loss": 1.0 / (step + 1), "acc": step / steps}, step=step)
                if step % 250 == 249:
                    time.sleep(0.1)  # about 40 s of training for the kills to fall into
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            done.set()

    trainer = threading.Thread(target=train)
    started = time.monotonic()
    trainer.start()
    downtimes = []
    rng = random.Random(15)
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(1.0, 3.0))
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.proc.wait()
            down = rng.uniform(3.0, 10.0)
            downtimes.append(round(down, 1))
            time.sleep(down)
            daemon = serve(workdir)
        trainer.join(timeout=300)
        assert not errors, errors
        assert done.is_set()
        run.end()  # flushes: everything journalled is delivered first
        elapsed = time.monotonic() - started
        info = client.get_run(run.id)
        assert info.status == "completed"
        assert stored(client, run.id) == {"acc": (steps, steps), "loss": (steps, steps)}
        assert run.refused_points == 0
        assert list((workdir / "journal").glob("*.journal")) == []
        print(f"\n{kills} kills (down {downtimes} s): {2 * steps} points stored once in {elapsed:.1f} s")
    finally:
        client.close()
        daemon.stop()


TRAIN_OFFLINE = textwrap.dedent("""
    import sys, tally
    with tally.start_run("offline", name="no-daemon", params={"lr": 0.1}, capture_env=False, system_metrics=False) as run:
        for step in range(25_000):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 25_000}, step=step)
    print(run.id, run.journalled_points)
""")


def test_training_without_a_daemon_then_tally_sync(workdir):
    """No daemon and no auto-start: the training script runs to the end at full speed; `tally
    sync` later stores every point, exactly once."""
    journal = workdir / "journal"
    socket = str(workdir / "run" / "tally.sock")
    env = dict(os.environ, TALLY_JOURNAL=str(journal), TALLY_SOCKET=socket, TALLY_AUTOSTART="0")
    started = time.monotonic()
    train = subprocess.run([sys.executable, "-c", TRAIN_OFFLINE], capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.monotonic() - started
    assert train.returncode == 0, train.stderr
    run_id, journalled = train.stdout.split()
    assert int(journalled) == 50_000
    assert len(list(journal.glob("*.journal"))) == 1
    daemon = serve(workdir)
    try:
        env_sync = dict(os.environ, TALLY_JOURNAL=str(journal))
        first = run_tally("sync", "--socket", daemon.socket, env=env_sync)
        assert first.returncode == 0, first.stderr
        assert "50000 points stored, 0 already stored, 0 refused" in first.stdout
        again = run_tally("sync", "--socket", daemon.socket, env=env_sync)
        assert "no journals to deliver" in again.stdout
        with tally.connect(daemon.socket) as client:
            info = client.get_run(run_id)
            assert info.status == "completed" and info.params == {"lr": 0.1}
            assert stored(client, run_id) == {"acc": (25_000, 25_000), "loss": (25_000, 25_000)}
        print(f"\ntraining with no daemon: {elapsed:.2f} s for 50,000 points (process start included)")
    finally:
        daemon.stop()


def test_full_disk_during_a_run_loses_nothing(small_disk, workdir, monkeypatch):  # noqa: F811
    """The daemon's home on a 48 MiB tmpfs, filled while a run logs: batches are refused with
    RESOURCE_EXHAUSTED and journalled (on another disk); once space is freed, every point is
    stored."""
    monkeypatch.setenv("TALLY_JOURNAL", str(workdir / "journal"))
    monkeypatch.setenv("TALLY_AUTOSTART", "0")
    daemon = serve(workdir, home=small_disk / "home")
    client = tally.connect(daemon.socket)
    try:
        run = client.start_run("disk", retry_timeout=2.0)
        step = 0
        for _ in range(5_000):
            run.log({"loss": 1.0, "acc": 0.5}, step=step)
            step += 1
        run.flush()
        fill(small_disk, leave_bytes=1 << 20)
        # Log until the daemon refuses for lack of space and points go to the journal.
        deadline = time.monotonic() + 60
        while run.journalled_points == 0 and time.monotonic() < deadline:
            for _ in range(5_000):
                run.log({"loss": 1.0, "acc": 0.5}, step=step)
                step += 1
            time.sleep(0.05)
        assert run.journalled_points > 0, "the disk never filled up"
        journalled_at_peak = run.journalled_points
        (small_disk / "filler").unlink()
        for _ in range(5_000):
            run.log({"loss": 1.0, "acc": 0.5}, step=step)
            step += 1
        run.end()
        assert client.get_run(run.id).status == "completed"
        assert stored(client, run.id) == {"acc": (step, step), "loss": (step, step)}
        assert list((workdir / "journal").glob("*.journal")) == []
        print(f"\nfull disk: {journalled_at_peak} points journalled, {2 * step} stored once")
    finally:
        client.close()
        daemon.stop()


WRITER = textwrap.dedent("""
    import sys, time, tally
    run = tally.start_run("crash", heartbeat_interval=0.2)
    for step in range(100):
        run.log({"loss": 1.0 / (step + 1)})
    run.flush()
    print(run.id, flush=True)
    while True:
        time.sleep(0.05)
""")


def start_writer(socket: str) -> "tuple[subprocess.Popen[str], str]":
    env = dict(os.environ, TALLY_SOCKET=socket, TALLY_AUTOSTART="0")
    proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_sigkilled_writer_crashes_its_run_and_resume_continues_it(workdir):
    daemon = serve(workdir)
    proc, run_id = start_writer(daemon.socket)
    try:
        with tally.connect(daemon.socket) as client:
            assert client.get_run(run_id).status == "running"
            killed_at = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert wait_until(lambda: client.get_run(run_id).status == "crashed", timeout=10)
            crashed_after = time.monotonic() - killed_at
            info = client.get_run(run_id)
            assert info.last_contact_ms >= info.started_at_ms
            with tally.resume_run(run_id, client=client) as run:
                assert client.get_run(run_id).status == "running"
                for _ in range(50):
                    run.log({"loss": 0.001})
            resumed = client.get_run(run_id)
            assert resumed.status == "completed"
            assert resumed.metrics["loss"].count == 150 and resumed.metrics["loss"].last_step == 149
            print(f"\nSIGKILLed writer: run crashed {crashed_after * 1000:.0f} ms later")
    finally:
        if proc.poll() is None:
            proc.kill()
        daemon.stop()


def test_hung_writer_crashes_after_the_heartbeat_timeout_and_revives(workdir):
    daemon = serve(workdir, "--heartbeat-timeout", "1")
    proc, run_id = start_writer(daemon.socket)
    try:
        with tally.connect(daemon.socket) as client:
            # Alive and heartbeating every 0.2 s: not crashed past the timeout.
            time.sleep(1.5)
            assert client.get_run(run_id).status == "running"
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGSTOP)  # hung: its connection stays open
            assert wait_until(lambda: client.get_run(run_id).status == "crashed", timeout=15)
            crashed_after = time.monotonic() - stopped_at
            assert crashed_after >= 0.9
            proc.send_signal(signal.SIGCONT)  # its next heartbeat makes the run running again
            assert wait_until(lambda: client.get_run(run_id).status == "running", timeout=10)
            print(f"\nhung writer: crashed {crashed_after:.1f} s after it stopped (timeout 1 s), running again once resumed")
    finally:
        proc.kill()
        proc.wait()
        daemon.stop()
