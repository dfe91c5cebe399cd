"""Journals (docs/journal.md) delivered by `tally sync` and by the daemon at start, and crashed
runs: a writer SIGKILLed, or silent past `--heartbeat-timeout`, and `tally runs resume`.

The journals here are written with the protobuf classes and zlib directly, not with the Python
client's writer, so the file format is checked from both sides."""
import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

from conftest import Daemon, run_tally, tally_json, tally_ok

from tally.v1 import tracking_pb2

MAGIC = b"TALLYJ1\n"


def record(**fields) -> bytes:
    payload = tracking_pb2.RunWrite(**fields).SerializeToString()
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def journal(run_id: str, batches: int, points: int, *, end: bool = True, experiment: str = "offline") -> bytes:
    out = [MAGIC, record(start_run=tracking_pb2.StartRunRequest(
        experiment=tracking_pb2.ExperimentRef(name=experiment), create_experiment=True, run_id=run_id, name="journalled"))]
    for b in range(batches):
        steps = list(range(b * points, (b + 1) * points))
        out.append(record(metrics=tracking_pb2.MetricBatch(
            run_id=run_id, keys=["loss"], key_index=[0] * points, values=[float(s) for s in steps], steps=steps,
            writer_id="w0", sequence=b + 1)))
    if end:
        out.append(record(end_run=tracking_pb2.EndRunRequest(run_id=run_id, status=tracking_pb2.RUN_STATUS_COMPLETED)))
    return b"".join(out)


def write(folder: Path, run_id: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}-w0.journal"
    path.write_bytes(data)
    return path


def sync(daemon, *args, env_journal=None):
    env = dict(os.environ)
    if env_journal is not None:
        env["TALLY_JOURNAL"] = str(env_journal)
    return run_tally("sync", *args, "--socket", daemon.socket, env=env)


def test_sync_delivers_once_and_removes(daemon, workdir):
    folder = workdir / "journal"
    data = journal("00000000000000a1", batches=10, points=100)
    path = write(folder, "00000000000000a1", data)
    dry = sync(daemon, "--dry-run", env_journal=folder)
    assert dry.returncode == 0, dry.stderr
    assert "would send 12 records, 1000 points, with the run's end" in dry.stdout
    assert path.exists()
    done = sync(daemon, env_journal=folder)
    assert done.returncode == 0, done.stderr
    assert "delivered: 1000 points stored, 0 already stored, 0 refused" in done.stdout
    assert not path.exists()
    run = tally_json(daemon, "runs", "show", "00000000000000a1")
    assert run["status"] == "RUN_STATUS_COMPLETED"
    assert run["metrics"][0]["count"] == "1000"
    # The same journal again (a copy): every point is already stored; nothing is stored twice.
    write(folder, "00000000000000a1", data)
    again = json.loads(sync(daemon, "--json", env_journal=folder).stdout)
    assert [(r["outcome"], r["stored"], r["duplicates"]) for r in again] == [("delivered", 0, 1000)]
    assert tally_json(daemon, "runs", "show", "00000000000000a1")["metrics"][0]["count"] == "1000"
    assert "no journals to deliver" in sync(daemon, env_journal=folder).stdout


def test_torn_record_is_dropped_alone(daemon, workdir):
    data = journal("00000000000000b2", batches=5, points=10, end=False)
    path = write(workdir / "j", "00000000000000b2", data[:-3])
    result = sync(daemon, str(path))
    assert result.returncode == 0, result.stderr
    assert "delivered: 40 points stored" in result.stdout
    assert "torn last record" in result.stdout and "runs past the end of the file" in result.stdout
    # Without its end the journal's writer is gone: delivered by a connection that then closes,
    # the run is crashed.
    run = wait_status(daemon, "00000000000000b2", "RUN_STATUS_CRASHED", timeout=10)
    assert run["status"] == "RUN_STATUS_CRASHED" and run["metrics"][0]["count"] == "40"


def test_journal_in_use_is_skipped(daemon, workdir):
    path = write(workdir / "j", "00000000000000c3", journal("00000000000000c3", batches=1, points=5))
    with open(path, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = sync(daemon, str(workdir / "j"))
        assert result.returncode == 0, result.stderr
        assert "in use by a running client" in result.stdout
        assert path.exists()
    assert sync(daemon, str(workdir / "j")).returncode == 0
    assert not path.exists()


def test_sync_without_daemon_keeps_journal(workdir):
    path = write(workdir / "j", "00000000000000d4", journal("00000000000000d4", batches=1, points=5))
    result = run_tally("sync", str(path), "--socket", str(workdir / "nobody.sock"))
    assert result.returncode != 0
    assert path.exists()


def test_daemon_delivers_journals_in_its_home_at_start(workdir):
    home = workdir / "home"
    path = write(home / "journal", "00000000000000e5", journal("00000000000000e5", batches=4, points=250))
    os.chmod(home, 0o700)
    d = Daemon(workdir)
    try:
        deadline = time.monotonic() + 20
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not path.exists(), "the daemon did not deliver the journal in its home"
        run = tally_json(d, "runs", "show", "00000000000000e5")
        assert run["status"] == "RUN_STATUS_COMPLETED" and run["metrics"][0]["count"] == "1000"
    finally:
        d.stop()


WRITER = textwrap.dedent("""
    import sys, time
    import tally
    from tally.v1 import tracking_pb2
    client = tally.connect(sys.argv[1])
    run = client.tracking.start_run(tracking_pb2.StartRunRequest(
        experiment=tracking_pb2.ExperimentRef(name="crash"), create_experiment=True))
    client.tracking.log_metrics(tracking_pb2.MetricBatch(
        run_id=run.id, keys=["loss"], key_index=[0], values=[1.0], steps=[0], writer_id="w1", sequence=1))
    print(run.id, flush=True)
    time.sleep(600)
""")


def start_writer(socket: str) -> "tuple[subprocess.Popen[str], str]":
    env = dict(os.environ, TALLY_AUTOSTART="0")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, socket], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def wait_status(daemon, run_id: str, status: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = tally_json(daemon, "runs", "show", run_id)
        if run["status"] == status or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def test_killed_writer_crashes_its_run_and_resume_reopens_it(daemon):
    proc, run_id = start_writer(daemon.socket)
    assert tally_json(daemon, "runs", "show", run_id)["status"] == "RUN_STATUS_RUNNING"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = wait_status(daemon, run_id, "RUN_STATUS_CRASHED", timeout=10)
    assert run["status"] == "RUN_STATUS_CRASHED"
    assert int(run["lastContactMs"]) >= int(run["startedAtMs"])
    assert "last contact" in tally_ok(daemon, "runs", "show", run_id)
    assert run_id in tally_ok(daemon, "runs", "search", 'status = "crashed"')
    assert "running" in tally_ok(daemon, "runs", "resume", run_id)
    tally_ok(daemon, "runs", "log", run_id, "loss=0.5")
    resumed = tally_json(daemon, "runs", "show", run_id)
    assert resumed["status"] == "RUN_STATUS_RUNNING"
    assert resumed["metrics"][0]["lastStep"] == "1"


def test_silent_writer_crashes_after_the_heartbeat_timeout(workdir):
    d = Daemon(workdir, args=["--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "off",
                              "--heartbeat-timeout", "0.5"])
    d.socket = str(workdir / "s.sock")
    proc, run_id = start_writer(d.socket)
    try:
        # The writer stays connected but sends nothing more.
        started = time.monotonic()
        run = wait_status(d, run_id, "RUN_STATUS_CRASHED", timeout=15)
        assert run["status"] == "RUN_STATUS_CRASHED"
        assert time.monotonic() - started < 10
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
        d.stop()


def test_heartbeat_timeout_is_checked(workdir):
    result = run_tally("serve", "--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"),
                       "--heartbeat-timeout", "0")
    assert result.returncode != 0 and "--heartbeat-timeout" in result.stderr
