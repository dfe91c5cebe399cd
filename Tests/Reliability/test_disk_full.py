"""A full disk: the daemon's home on a small tmpfs. Writes fail with RESOURCE_EXHAUSTED, the
daemon stays up, nothing acknowledged is lost, and it recovers when space returns."""
import hashlib
import os
import sqlite3
import subprocess

import pytest

import tally
from tally.v1 import tracking_pb2 as pb

from cli_support import Daemon

BATCH = 10_000


@pytest.fixture
def small_disk(workdir):
    mount = workdir / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path, leave_bytes):
    """Fills the file system of `path` until about `leave_bytes` are free."""
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    with open(path / "filler", "wb") as f:
        chunk = b"\0" * (1 << 20)
        remaining = max(0, free - leave_bytes)
        while remaining > 0:
            f.write(chunk[:min(len(chunk), remaining)])
            remaining -= len(chunk)


def batch(run_id, start):
    return pb.MetricBatch(run_id=run_id, keys=["loss", "acc"], key_index=[i % 2 for i in range(BATCH)],
                          values=[float(start + i) for i in range(BATCH)], steps=[(start + i) // 2 for i in range(BATCH)])


def test_full_disk_is_resource_exhausted_and_recoverable(small_disk, workdir):
    home = small_disk / "home"
    socket = str(workdir / "run" / "tally.sock")
    daemon = Daemon(workdir, args=["--socket", socket, "--home", str(home)])
    try:
        client = tally.connect(socket)
        t = client.tracking
        run = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name="disk"), create_experiment=True))
        t.log_params(pb.LogParamsRequest(run_id=run.id, params={"lr": pb.ParamValue(double_value=0.1)}))
        fill(small_disk, leave_bytes=3 << 20)

        # Metrics until the disk is full.
        acknowledged = 0
        error = None
        for _ in range(200):
            try:
                t.log_metrics(batch(run.id, acknowledged))
                acknowledged += BATCH
            except tally.RPCError as e:
                error = e
                break
        assert isinstance(error, tally.ResourceExhausted), error
        assert "full" in error.message
        assert acknowledged > 0

        # An artifact upload fails the same way and leaves no temporary file.
        payload = os.urandom(4 << 20)
        path = workdir / "model.bin"
        path.write_bytes(payload)
        with pytest.raises(tally.ResourceExhausted):
            client.resume_run(run.id).log_artifact(str(path), name="model.bin")
        assert os.listdir(home / "artifacts" / "tmp") == []

        # The daemon is up, reads work, and every acknowledged point is there.
        assert client.info().version
        stored = sum(m.count for m in t.get_run(pb.GetRunRequest(run_id=run.id)).metrics)
        assert stored == acknowledged

        # Space returns: writes succeed again, on the same connection.
        os.remove(small_disk / "filler")
        t.log_metrics(batch(run.id, acknowledged))
        acknowledged += BATCH
        artifact = client.resume_run(run.id).log_artifact(str(path), name="model.bin")
        assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
        t.end_run(pb.EndRunRequest(run_id=run.id, status=pb.RUN_STATUS_COMPLETED))
        client.close()
    finally:
        assert daemon.stop() == 0

    # After a restart everything acknowledged is there and the file is sound.
    daemon = Daemon(workdir, args=["--socket", socket, "--home", str(home)])
    try:
        client = tally.connect(socket)
        record = client.tracking.get_run(pb.GetRunRequest(run_id=run.id))
        assert sum(m.count for m in record.metrics) == acknowledged
        assert record.status == pb.RUN_STATUS_COMPLETED and record.params["lr"].double_value == 0.1
        client.close()
    finally:
        daemon.stop()
    with sqlite3.connect(home / "tally.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
