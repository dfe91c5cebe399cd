"""The journal: training never waits for the daemon and never loses a point.

Unit tests of the file (format, torn records, the lock) need no daemon; the others run the real
daemon on a socket and data folder of their own, started late, killed with SIGKILL and started
again, with the journal in a temporary folder (`TALLY_JOURNAL`).
"""
import fcntl
import os
import random
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import tally
from tally import _journal
from tally._journal import JournalLocked, JournalWriter, read_journal
from tally._run import _encode_batch
from tally.v1 import tracking_pb2 as pb

from conftest import Daemon, _tmp, tally_bin


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def batch(run_id: str, seq: int, n: int, writer: str = "w1") -> bytes:
    return _encode_batch(run_id, writer, seq, ["loss"], [0] * n, [float(i) for i in range(n)],
                         [seq * 1000 + i for i in range(n)], [1_700_000_000_000 + i for i in range(n)])


def write_sample(path: str) -> List[pb.RunWrite]:
    """A journal of a start, three batches, params, tags and an end; returns the records."""
    start = pb.StartRunRequest(experiment=pb.ExperimentRef(name="e"), create_experiment=True, run_id="0123456789abcdef")
    params = pb.LogParamsRequest(run_id="0123456789abcdef")
    params.params["lr"].double_value = 0.1
    expected = [pb.RunWrite(start_run=start)]
    w = JournalWriter(path)
    w.append(expected[0].SerializeToString())
    for seq in (1, 2, 3):
        payload = batch("0123456789abcdef", seq, 10 * seq)
        offset, length = w.append_metrics(payload)
        assert w.read(offset, length) == payload  # the batch's bytes, as sent
        expected.append(pb.RunWrite(metrics=pb.MetricBatch.FromString(payload)))
    for record in (pb.RunWrite(params=params),
                   pb.RunWrite(tags=pb.SetRunTagsRequest(run_id="0123456789abcdef", tags={"a": "b"})),
                   pb.RunWrite(end_run=pb.EndRunRequest(run_id="0123456789abcdef",
                                                                      status=pb.RUN_STATUS_COMPLETED))):
        w.append(record.SerializeToString())
        expected.append(record)
    w.close()
    return expected


def record_starts(path: str) -> List[int]:
    """Byte offsets where each record (its length field) begins."""
    data = Path(path).read_bytes()
    pos, starts = 8, []
    while pos < len(data):
        starts.append(pos)
        pos += 8 + int.from_bytes(data[pos:pos + 4], "little")
    return starts


# ---------------------------------------------------------------------------------------------
# The file


def test_roundtrip_format_and_modes(tmp_path):
    path = str(tmp_path / "a" / "b" / "run-writer.journal")
    expected = write_sample(path)
    data = Path(path).read_bytes()
    assert data[:8] == b"TALLYJ1\n"
    first_len = int.from_bytes(data[8:12], "little")
    import zlib
    assert int.from_bytes(data[12:16], "little") == zlib.crc32(data[16:16 + first_len])
    records, torn = read_journal(path)
    assert torn is None
    assert records == expected
    assert [r.WhichOneof("write") for r in records] == ["start_run", "metrics", "metrics", "metrics", "params", "tags", "end_run"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "b").st_mode) == 0o700


@pytest.mark.parametrize("cut", ["inside the header", "inside the payload", "one byte short"])
def test_a_truncated_last_record_is_dropped_alone(tmp_path, cut):
    path = str(tmp_path / "j.journal")
    expected = write_sample(path)
    last = record_starts(path)[-1]
    size = os.path.getsize(path)
    length = {"inside the header": last + 5, "inside the payload": last + 8 + (size - last - 8) // 2,
              "one byte short": size - 1}[cut]
    os.truncate(path, length)
    records, torn = read_journal(path)
    assert records == expected[:-1]
    assert torn is not None and torn.offset == last and torn.dropped == length - last
    assert "past the end" in torn.reason


def test_a_flipped_byte_in_the_last_payload_drops_that_record_alone(tmp_path):
    path = str(tmp_path / "j.journal")
    expected = write_sample(path)
    data = bytearray(Path(path).read_bytes())
    data[-2] ^= 0x40
    Path(path).write_bytes(bytes(data))
    records, torn = read_journal(path)
    assert records == expected[:-1]
    assert torn is not None and torn.offset == record_starts(path)[-1] and "checksum" in torn.reason


def test_a_bad_record_ends_the_journal(tmp_path):
    """Everything after a record that fails its checksum is not trusted either."""
    path = str(tmp_path / "j.journal")
    expected = write_sample(path)
    starts = record_starts(path)
    data = bytearray(Path(path).read_bytes())
    data[starts[2] + 8 + 3] ^= 0x01  # the second batch's payload
    Path(path).write_bytes(bytes(data))
    records, torn = read_journal(path)
    assert records == expected[:2] and torn is not None and torn.offset == starts[2]


def test_not_a_journal(tmp_path):
    path = tmp_path / "x.journal"
    path.write_bytes(b"hello, world")
    with pytest.raises(tally.DataLoss, match="not a Tally journal"):
        read_journal(str(path))


def test_the_lock_is_held_while_the_writer_has_the_file_open(tmp_path):
    path = str(tmp_path / "j.journal")
    w = JournalWriter(path)
    w.append(pb.RunWrite(tags=pb.SetRunTagsRequest(run_id="r")).SerializeToString())
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(JournalLocked):
            JournalWriter(path)
        assert _journal.deliver(path, client=object()).in_use  # type: ignore[arg-type]
        # Another process sees it locked too.
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys
            fd = os.open({path!r}, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                sys.exit(3)
        """)], timeout=30)
        assert probe.returncode == 3
        w.close()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once closed
    finally:
        os.close(fd)
    assert len(read_journal(path)[0]) == 1


def test_a_failed_write_is_cut_back_off_the_file(tmp_path, monkeypatch):
    """A write that fails half-way (a full disk) leaves no torn record: later records are read."""
    path = str(tmp_path / "j.journal")
    w = JournalWriter(path)
    w.append_metrics(batch("r", 1, 5))
    real = os.writev

    def half_then_enospc(fd, parts):
        data = b"".join(parts)
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "writev", half_then_enospc)
    with pytest.raises(OSError):
        w.append_metrics(batch("r", 2, 5))
    monkeypatch.setattr(os, "writev", real)
    w.append_metrics(batch("r", 3, 5))
    w.close()
    records, torn = read_journal(path)
    assert torn is None and [r.metrics.sequence for r in records] == [1, 3]


def test_journal_folder_follows_the_daemons_data_folder():
    j = _journal.journal_dir
    assert j({"TALLY_JOURNAL": "/j", "TALLY_HOME": "/h"}) == "/j"
    assert j({"TALLY_HOME": "/h", "XDG_DATA_HOME": "/x"}) == "/h/journal"
    assert j({"TALLY_HOME": "", "XDG_DATA_HOME": "/x", "HOME": "/u"}) == "/x/tally/journal"
    assert j({"HOME": "/u"}) == "/u/.local/share/tally/journal"
    assert j({}) == "/tmp/.local/share/tally/journal"


# ---------------------------------------------------------------------------------------------
# With the daemon


@pytest.fixture
def journal_dir(tmp_path, monkeypatch) -> str:
    folder = str(tmp_path / "journal")
    monkeypatch.setenv("TALLY_JOURNAL", folder)
    return folder


class LateDaemon(Daemon):
    """A daemon of the test's own that is not running until `start()`."""

    def __init__(self, root: Path, extra: Optional[List[str]] = None) -> None:
        self.root = root
        self.socket = str(root / "run" / "tally.sock")
        self.home = str(root / "home")
        self.extra = extra or []
        self.proc = None  # type: ignore[assignment]

    def stop(self, timeout: float = 15) -> int:
        return 0 if self.proc is None else super().stop(timeout)


@pytest.fixture
def late_daemon() -> Iterator[LateDaemon]:
    root = _tmp("tally-py-late-")
    d = LateDaemon(root)
    yield d
    d.stop()
    shutil.rmtree(root, ignore_errors=True)


def daemon_has(feature: str) -> bool:
    out = subprocess.run([tally_bin(), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    return feature in out


def wait_gone(path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} is still there after {timeout}s"
        time.sleep(0.05)


def accounted(run: tally.Run) -> int:
    with run._lock:  # a consistent snapshot: the sender moves points between the counters under it
        return run.acknowledged_points + run.journalled_points + run.refused_points + run.buffered_points


def assert_once(client: tally.Client, run_id: str, key: str, steps: List[int]) -> None:
    """Every step of `steps` stored exactly once."""
    h = client.history(run_id, [key])[key]
    assert h.total_points == len(steps) and sorted(h.steps) == sorted(steps)


OFFLINE = textwrap.dedent("""
    import json, sys, tally
    run = tally.start_run(experiment=sys.argv[1], params={"lr": 0.01}, tags=["offline"])
    assert run.experiment_id == ""
    for i in range(5000):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 5000})
    run.log_params({"late": 1})
    run.set_tags({"stage": "pre"})
    run.end()
    print(json.dumps({"id": run.id, "journal": run.journal_path, "journalled": run.journalled_points,
                      "buffered": run.buffered_points, "acknowledged": run.acknowledged_points}))
""")


def test_offline_run_is_journalled_then_delivered_by_another_process(late_daemon, journal_dir, tmp_path):
    """No daemon (autostart off): the run starts offline, 10,000 points, params, tags and the end
    go to the journal; once the daemon is up, `deliver` sends it: every point stored once, the
    run completed. Delivering a copy of the journal again stores nothing more."""
    import json
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE)
    exp = unique("offline")
    env = dict(os.environ, TALLY_SOCKET=late_daemon.socket, TALLY_AUTOSTART="0", TALLY_JOURNAL=journal_dir)
    out = subprocess.run([sys.executable, str(script), exp], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # an offline end prints nothing
    result = json.loads(out.stdout)
    assert (result["journalled"], result["buffered"], result["acknowledged"]) == (10_000, 0, 0)
    path = result["journal"]
    assert os.path.dirname(path) == journal_dir and os.path.basename(path).startswith(result["id"] + "-")
    records, torn = read_journal(path)
    assert torn is None
    kinds = [r.WhichOneof("write") for r in records]
    assert kinds[0] == "start_run" and kinds[-1] == "end_run" and "params" in kinds and "tags" in kinds
    assert records[0].start_run.run_id == result["id"] and records[0].start_run.experiment.name == exp
    batches = list(_journal.iter_batches(records))
    assert sum(len(b.values) for b in batches) == 10_000
    assert [b.sequence for b in batches] == sorted({b.sequence for b in batches})
    assert len({b.writer_id for b in batches}) == 1
    # A copy whose last record (the end) was cut short, as if the writer died writing it.
    torn_copy = str(tmp_path / "torn.journal")
    shutil.copy(path, torn_copy)
    os.truncate(torn_copy, os.path.getsize(path) - 3)

    late_daemon.start()
    client = tally.connect(late_daemon.socket)
    first = _journal.deliver(torn_copy, client)
    assert first.delivered and first.torn is not None and first.records == len(records) - 1
    assert (first.acknowledged_points, first.duplicate_points, first.refused_points) == (10_000, 0, 0)
    assert client.get_run(result["id"]).status in ("running", "crashed")  # the end was torn off
    assert not os.path.exists(torn_copy)

    delivery = _journal.deliver(path, client)  # the whole journal: its points again, then the end
    assert delivery.delivered and delivery.run_id == result["id"] and delivery.torn is None
    assert (delivery.acknowledged_points, delivery.duplicate_points, delivery.refused_points) == (10_000, 10_000, 0)
    assert not os.path.exists(path)
    info = client.get_run(result["id"])
    assert info.status == "completed" and info.params["env.python"]  # captured offline, delivered with the start
    assert {k: v for k, v in info.params.items() if not k.startswith("env.")} == {"late": 1, "lr": 0.01}
    assert info.tags == {"offline": "", "stage": "pre"}
    assert info.metrics["loss"].count == 5000 and info.metrics["acc"].count == 5000
    assert_once(client, result["id"], "loss", list(range(5000)))
    client.close()


def test_offline_run_delivers_itself_when_the_daemon_comes(late_daemon, journal_dir):
    client = tally.connect(late_daemon.socket, autostart=False)
    run = client.start_run(unique("self"), params={"seed": 1})
    assert run.experiment_id == "" and len(run.id) == 16
    for i in range(10_000):
        run.log({"x": float(i)})
    run.flush(timeout=30)
    assert (run.journalled_points, run.buffered_points, accounted(run)) == (10_000, 0, 10_000)
    with pytest.raises(tally.Unavailable, match="artifacts are not journalled"):
        run.log_artifact(__file__)
    run.end(timeout=30)
    assert os.path.exists(run.journal_path)
    late_daemon.start()
    wait_gone(run.journal_path)
    info = client.get_run(run.id)
    assert info.status == "completed" and {k: v for k, v in info.params.items() if not k.startswith("env.")} == {"seed": 1}
    assert run.experiment_id == info.experiment_id != ""
    assert (run.acknowledged_points, run.journalled_points, run.refused_points) == (10_000, 0, 0)
    assert_once(client, run.id, "x", list(range(10_000)))
    client.close()


def test_the_daemon_delivers_a_dead_clients_journal_at_start(late_daemon, monkeypatch, tmp_path):
    """A journal in the daemon's own data folder, written by a process that is gone, is
    delivered by the daemon when it starts (the Swift reader reads what this client wrote)."""
    import json
    folder = os.path.join(late_daemon.home, "journal")
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE)
    env = dict(os.environ, TALLY_SOCKET=late_daemon.socket, TALLY_AUTOSTART="0", TALLY_JOURNAL=folder)
    out = subprocess.run([sys.executable, str(script), unique("dead")], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    late_daemon.start()
    wait_gone(result["journal"])
    with tally.connect(late_daemon.socket) as client:
        info = client.get_run(result["id"])
        assert info.status == "completed" and info.metrics["loss"].count == 5000
        assert info.tags == {"offline": "", "stage": "pre"}


def test_tally_sync_delivers_a_journal_this_client_wrote(late_daemon, journal_dir):
    client = tally.connect(late_daemon.socket, autostart=False)
    run = client.start_run(unique("sync"))
    for i in range(3000):
        run.log({"x": float(i)}, step=i)
    run.end()
    client.close()  # the sender leaves the journal for `tally sync`
    run._thread.join(10)
    assert os.path.exists(run.journal_path)
    late_daemon.start()
    out = subprocess.run([tally_bin(), "sync", "--socket", late_daemon.socket, journal_dir],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not os.path.exists(run.journal_path)
    with tally.connect(late_daemon.socket) as fresh:
        info = fresh.get_run(run.id)
        assert info.status == "completed" and info.metrics["x"].count == 3000


@pytest.mark.parametrize("kills,points", [(3, 30_000), (5, 200_000)])
def test_sigkill_the_daemon_while_logging(own_daemon, journal_dir, kills, points):
    """The daemon is SIGKILLed `kills` times (down 1 to 3 s each) while a thread logs: every
    point is stored exactly once, the run is completed, the journal is gone; after every flush,
    acknowledged + journalled + refused + buffered is what was logged."""
    rng = random.Random(points)
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("kills"), batch_points=2000, system_metrics=False)  # only the points counted here
    done = threading.Event()
    logged = [0]
    mismatches: List[str] = []
    chunk = points // 200

    def work() -> None:
        i = 0
        while i < points:
            for _ in range(chunk):
                run.log({"x": float(i)}, step=i)
                i += 1
            logged[0] = i
            if i % (chunk * 20) == 0:
                run.flush(timeout=60)
                if accounted(run) != i:
                    mismatches.append(f"{accounted(run)} accounted of {i}")
            if not done.is_set():
                time.sleep(0.06)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    saw_journal = False
    for _ in range(kills):
        time.sleep(rng.uniform(0.1, 0.4))
        own_daemon.kill9()
        time.sleep(rng.uniform(1.0, 3.0))
        saw_journal = saw_journal or run.journalled_points > 0 or os.path.exists(run.journal_path)
        own_daemon.start()
    done.set()
    t.join(120)
    assert not t.is_alive()
    run.end(timeout=60)
    assert not mismatches, mismatches
    assert saw_journal, "the outages never reached the journal"
    info = client.get_run(run.id)
    assert info.status == "completed"
    m = info.metrics["x"]
    assert (m.count, m.first_step, m.last_step) == (points, 0, points - 1)
    assert_once(client, run.id, "x", list(range(points)))
    assert (run.acknowledged_points, run.journalled_points, run.refused_points, run.buffered_points) == (points, 0, 0, 0)
    assert not os.path.exists(run.journal_path) and os.listdir(journal_dir) == []
    client.close()


def test_refused_points_raise_with_their_count_and_fail_the_run(own_daemon, journal_dir):
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("refused"), flush_interval=10)
    for i in range(100):
        run.log({"x": float(i)}, step=i)
    run.flush()
    for i in range(5):
        run.log({"x": 1.0}, step=100 + i)
    run.log({"x": 1.0, "y": 2.0}, step=-1)  # a negative step: the daemon refuses the batch (7 points)
    with pytest.raises(tally.InvalidArgument, match="^INVALID_ARGUMENT: 7 points of run .* were refused by the daemon: .*negative"):
        run.flush()
    assert (run.acknowledged_points, run.refused_points, accounted(run)) == (100, 7, 107)
    run.flush()  # reported once
    run.log({"x": 5.0}, step=200)
    with pytest.raises(tally.InvalidArgument, match="recorded failed: 7 points were refused"):
        run.end()
    info = client.get_run(run.id)
    assert info.status == "failed" and "7 points were refused" in info.error
    assert info.metrics["x"].count == 101
    client.close()


def test_points_after_someone_else_ended_the_run_are_refused(own_daemon, journal_dir):
    client = tally.connect(own_daemon.socket)
    other = tally.connect(own_daemon.socket)
    run = client.start_run(unique("ended"), flush_interval=10)
    run.log({"a": 1.0})
    run.flush()
    other.tracking.end_run(pb.EndRunRequest(run_id=run.id, status=pb.RUN_STATUS_KILLED))
    for i in range(3):
        run.log({"a": float(i)})
    with pytest.raises(tally.FailedPrecondition, match="^FAILED_PRECONDITION: 3 points of run .* were refused by the daemon"):
        run.flush()
    with pytest.raises(tally.FailedPrecondition, match="already ended"):
        run.end()
    info = client.get_run(run.id)
    assert info.status == "killed" and info.metrics["a"].count == 1
    assert (run.acknowledged_points, run.refused_points, accounted(run)) == (1, 3, 4)
    client.close()
    other.close()


def test_resume_run_continues_steps(own_daemon, journal_dir):
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("resume"))
    for _ in range(10):
        run.log({"loss": 1.0})
    run.end()
    assert client.get_run(run.id).status == "completed"
    again = tally.resume_run(run.id, client=client)
    assert again.id == run.id and again.writer_id != run.writer_id
    assert client.get_run(run.id).status == "running"
    for _ in range(5):
        again.log({"loss": 0.5})
    again.log({"new": 1.0})
    again.end()
    info = client.get_run(run.id)
    assert info.status == "completed"
    assert client.history(run.id, ["loss"])["loss"].steps == list(range(15))
    assert info.metrics["new"].first_step == 0
    # A running run is taken as it is (a sweep trial's run, for one).
    running = client.start_run(unique("resume-running"))
    same = client.resume_run(running.id)
    same.log({"v": 1.0})
    same.end()
    running._ended = True
    assert client.get_run(running.id).metrics["v"].count == 1
    client.close()


def test_resume_while_the_daemon_is_away(own_daemon, journal_dir):
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("resume-offline"))
    for _ in range(10):
        run.log({"loss": 1.0})
    run.end()
    own_daemon.kill9()
    again = client.resume_run(run.id)
    with pytest.raises(tally.Unavailable, match="explicit steps"):
        again.log({"loss": 0.5})
    again.log({"loss": 0.5}, step=10)
    again.end(timeout=30)
    assert os.path.exists(again.journal_path)
    own_daemon.start()
    wait_gone(again.journal_path)
    info = client.get_run(run.id)
    assert info.status == "completed" and info.metrics["loss"].count == 11 and info.metrics["loss"].last_step == 10
    client.close()


def test_heartbeats_keep_the_run_running(journal_dir):
    if not daemon_has("--heartbeat-timeout"):
        pytest.skip("the daemon has no --heartbeat-timeout yet")
    root = _tmp("tally-py-hb-")
    d = Daemon(root, extra=["--heartbeat-timeout", "1"])
    try:
        client = tally.connect(d.socket)
        beating = client.start_run(unique("hb"), heartbeat_interval=0.2)
        silent = client.start_run(unique("silent"), heartbeat_interval=0)
        for run in (beating, silent):
            run.log({"x": 1.0})
            run.flush()
        deadline = time.monotonic() + 15
        while client.get_run(silent.id).status != "crashed":
            assert time.monotonic() < deadline, "a silent writer's run was not crashed"
            time.sleep(0.2)
        crashed = client.get_run(silent.id)
        assert crashed.last_contact_ms > 0
        time.sleep(2.5)  # more than twice the daemon's timeout
        assert client.get_run(beating.id).status == "running"
        silent.log({"x": 2.0})  # a write from the writer: running again
        silent.flush()
        assert client.get_run(silent.id).status == "running"
        beating.end()
        silent.end()
        assert client.get_run(silent.id).status == "completed"
        client.close()
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_an_unwritable_journal_keeps_points_in_memory(own_daemon, tmp_path, monkeypatch):
    """When the journal cannot be written, the points stay in memory (flush says so) and are
    delivered when the daemon is back."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TALLY_JOURNAL", str(blocker / "journal"))  # below a file: mkdir fails
    client = tally.connect(own_daemon.socket)
    run = client.start_run(unique("nojournal"))
    run.log({"x": 0.0}, step=0)
    run.flush()
    own_daemon.kill9()
    for i in range(1, 1001):
        run.log({"x": float(i)}, step=i)
    with pytest.raises(tally.Unavailable, match="cannot be written.*held in memory"):
        run.flush(timeout=20)
    assert (run.buffered_points, run.journalled_points, accounted(run)) == (1000, 0, 1001)
    own_daemon.start()
    run.end(timeout=30)
    info = client.get_run(run.id)
    assert info.status == "completed" and info.metrics["x"].count == 1001
    assert (run.acknowledged_points, run.buffered_points) == (1001, 0)
    client.close()


def test_nested_runs_started_offline(late_daemon, journal_dir):
    """A child started offline under a parent started offline: whichever journal goes first,
    the child's start waits for its parent's."""
    client = tally.connect(late_daemon.socket, autostart=False)
    parent = client.start_run(unique("nest"))
    child = client.start_run(unique("nest"), parent=parent)
    child.log({"c": 1.0})
    parent.log({"p": 1.0})
    child.end()
    parent.end()
    late_daemon.start()
    wait_gone(child.journal_path)
    wait_gone(parent.journal_path)
    info = client.get_run(child.id)
    assert info.parent_run_id == parent.id and info.status == "completed" and info.metrics["c"].count == 1
    assert client.get_run(parent.id).child_count == 1
    client.close()


def test_a_batch_above_the_frame_limit_is_refused_not_retried(journal_dir):
    """A batch too large for the daemon's frames can never be sent: its points are refused
    (counted, raised), not journalled forever."""
    root = _tmp("tally-py-frame-")
    d = Daemon(root, extra=["--max-frame-size", "65536"])
    try:
        client = tally.connect(d.socket)
        run = client.start_run(unique("frame"), flush_interval=10)
        for i in range(10_000):
            run.log({"x": float(i)}, step=i)
        with pytest.raises(tally.ResourceExhausted, match="^RESOURCE_EXHAUSTED: 10000 points of run .*frame limit"):
            run.flush(timeout=30)
        assert (run.refused_points, run.journalled_points, accounted(run)) == (10_000, 0, 10_000)
        run.log({"x": 1.0}, step=10_000)
        with pytest.raises(tally.ResourceExhausted, match="recorded failed"):
            run.end()
        assert client.get_run(run.id).status == "failed"
        client.close()
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_client_killed_while_offline_leaves_a_journal_the_daemon_delivers(late_daemon, tmp_path):
    """SIGKILL a process that logs while the daemon is away: its lock dies with it, and the
    daemon, at its start, stores exactly what the journal holds (a torn last record dropped)."""
    folder = os.path.join(late_daemon.home, "journal")
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent("""
        import sys, time, tally
        run = tally.start_run(experiment="killed-offline", batch_points=500)
        print(run.id, run.journal_path, flush=True)
        i = 0
        while True:
            run.log({"x": float(i)}, step=i)
            i += 1
            if i % 500 == 0:
                time.sleep(0.001)
    """))
    env = dict(os.environ, TALLY_SOCKET=late_daemon.socket, TALLY_AUTOSTART="0", TALLY_JOURNAL=folder)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    run_id, path = proc.stdout.readline().split()
    deadline = time.monotonic() + 30
    while not (os.path.exists(path) and os.path.getsize(path) > 200_000):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    records, _torn = read_journal(path)
    points = sum(len(b.values) for b in _journal.iter_batches(records))
    assert records[0].WhichOneof("write") == "start_run" and points > 0
    late_daemon.start()
    wait_gone(path)
    with tally.connect(late_daemon.socket) as client:
        info = client.get_run(run_id)
        assert info.metrics["x"].count == points and info.metrics["x"].last_step == points - 1
        assert info.status in ("running", "crashed")  # nobody ended it
