""""Acknowledged" means on disk: the daemon's writer syncs SQLite's WAL at every commit.

The daemon runs under strace, which counts its fsync/fdatasync calls while 20 runs are started,
logged to and ended, each step acknowledged. With `synchronous = NORMAL` (what the connection pool
sets when it turns WAL on), SQLite syncs only at checkpoints: a handful of syncs for all of them,
and an acknowledged write can be lost to a power cut. With FULL, every commit syncs the WAL.
"""
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import cli_support

RUNS = 20


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (scripts/setup installs it)")
def test_every_acknowledged_commit_is_synced(workdir):
    trace = workdir / "trace.txt"
    sock = workdir / "run" / "tally.sock"
    home = workdir / "home"
    cmd = [
        "strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace),
        cli_support.tally_bin(), "serve", "--log-level", "warning", "--socket", str(sock), "--home", str(home),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in iter(proc.stdout.readline, ""):
            if line.strip().startswith("artifacts:"):
                break
        else:
            pytest.fail(f"daemon did not start: {proc.stderr.read()}")

        def ok(*args):
            result = cli_support.run_tally(*args, "--socket", str(sock))
            assert result.returncode == 0, result.stderr
            return result.stdout.strip()

        ok("experiments", "create", "durable", "-q")
        for i in range(RUNS):
            run = ok("runs", "start", "durable", "--name", f"r{i}")
            ok("runs", "log", run, f"loss={i}", "--step", "0")
            ok("runs", "end", run)
    finally:
        # SIGTERM to the daemon itself (strace's child); strace then exits with it.
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        for pid in children.read_text().split() if children.exists() else []:
            os.kill(int(pid), signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # Counted once strace has exited and written everything out. At least one sync per
    # acknowledged commit (the WAL); NORMAL made 7 for 50 runs, shutdown's checkpoint included.
    commits = RUNS * 3
    syncs = count_syncs(trace)
    assert syncs >= commits, f"{syncs} syncs for {commits} acknowledged commits"


def count_syncs(trace: Path) -> int:
    if not trace.exists():
        return 0
    return sum(1 for line in trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line)
