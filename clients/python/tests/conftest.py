"""Fixtures that run the real `tally` daemon binary on a temporary socket and data folder.

The binary is `$TALLY_BIN`, else `.build/debug/tally` of the repository holding this client.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

import tally
import tally._api

# The journals of runs a test leaves unflushed go to a temporary folder, never the user's data folder.
os.environ.setdefault("TALLY_JOURNAL", tempfile.mkdtemp(prefix="tally-test-journal-"))

REPO = Path(__file__).resolve().parents[3]


def tally_bin() -> str:
    path = os.environ.get("TALLY_BIN") or str(REPO / ".build" / "debug" / "tally")
    if not os.access(path, os.X_OK):
        pytest.fail(f"tally binary not found at {path}; build it with `swift build` or set TALLY_BIN")
    return path


class Daemon:
    """A `tally serve` process on `root/run/tally.sock` with its data in `root/home`."""

    def __init__(self, root: Path, extra: Optional[List[str]] = None) -> None:
        self.root = root
        self.socket = str(root / "run" / "tally.sock")
        self.home = str(root / "home")
        self.extra = extra or []
        self.start()

    def start(self) -> None:
        cmd = [tally_bin(), "serve", "--log-level", "warning", "--socket", self.socket, "--home", self.home, *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"daemon exited early: {self.proc.wait()} {self.proc.stderr.read() if self.proc.stderr else ''}")
            if line.strip().startswith("artifacts:"):
                return
        raise RuntimeError("daemon did not announce itself")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def _tmp(prefix: str) -> Path:
    # Short paths: Unix socket paths are limited to 107 bytes.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(autouse=True)
def _no_autostart(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests of a missing daemon expect Unavailable, not a daemon started on this user's default
    # data folder when a `tally` is on PATH; test_autostart.py turns it back on where it tests it.
    monkeypatch.setenv("TALLY_AUTOSTART", "0")


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    root = _tmp("tally-py-")
    d = Daemon(root)
    old = os.environ.get("TALLY_SOCKET")
    os.environ["TALLY_SOCKET"] = d.socket
    tally._api._default = None
    yield d
    if tally._api._default is not None:
        tally._api._default.close()
        tally._api._default = None
    if old is None:
        os.environ.pop("TALLY_SOCKET", None)
    else:
        os.environ["TALLY_SOCKET"] = old
    d.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def own_daemon() -> Iterator[Daemon]:
    """A daemon of the test's own, which the test may kill and restart."""
    root = _tmp("tally-py-own-")
    d = Daemon(root)
    yield d
    d.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def client(daemon: Daemon) -> Iterator[tally.Client]:
    c = tally.connect(daemon.socket)
    yield c
    c.close()
