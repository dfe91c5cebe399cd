"""Fixtures that run the real `tally` binary against a temporary socket and data folder.

With `TALLY_CLI_ENGINE=postgres` (and the server of `TALLY_TEST_POSTGRES_URL`, its password in
`TALLY_PG_PASSWORD`), every daemon runs on the PostgreSQL engine instead: one database per data
folder, so a daemon restarted on the same folder finds its data again (docs/teams.md)."""
import hashlib
import os
import threading
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tally_bin() -> str:
    path = os.environ.get("TALLY_BIN") or str(REPO / ".build" / "debug" / "tally")
    if not os.access(path, os.X_OK):
        pytest.fail(f"tally binary not found at {path}; build it with `swift build`")
    return path


ENGINE = os.environ.get("TALLY_CLI_ENGINE", "sqlite")

# Clients these tests start journal into a folder of the session's own, never the user's data
# folder (a test that needs another sets TALLY_JOURNAL itself).
os.environ.setdefault("TALLY_JOURNAL", tempfile.mkdtemp(prefix="tally-test-journal-"))


def postgres_store(root: Path) -> str:
    """The URL of this folder's own database on the test server, created on first use."""
    server = os.environ["TALLY_TEST_POSTGRES_URL"]
    name = "cli_" + hashlib.sha1(str(root).encode()).hexdigest()[:16]
    env = dict(os.environ, PGPASSWORD=os.environ.get("TALLY_PG_PASSWORD", ""), PGCONNECT_TIMEOUT="10")
    exists = subprocess.run(["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                            capture_output=True, text=True, env=env, check=True).stdout.strip()
    if not exists:
        subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], capture_output=True, text=True, env=env, check=True)
    return server.rsplit("/", 1)[0] + "/" + name


class Daemon:
    """A `tally serve` process; `stop()` sends SIGTERM and waits."""

    def __init__(self, root: Path, env=None, args=None, log_level="warning"):
        self.root = root
        self.socket = str(root / "run" / "tally.sock")
        self.home = str(root / "home")
        # What `store:` says: the SQLite file, or the PostgreSQL URL.
        self.store = f"{self.home}/tally.sqlite"
        if ENGINE == "postgres":
            env = dict(env if env is not None else os.environ)
            env["TALLY_STORE"] = self.store = postgres_store(root)
            env["TALLY_PG_PASSWORD"] = os.environ.get("TALLY_PG_PASSWORD", "")
        self.env = env
        cmd = [tally_bin(), "serve", "--log-level", log_level]
        cmd += args if args is not None else ["--socket", self.socket, "--home", self.home]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.banner = self._read_banner()

    def _read_banner(self) -> str:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"daemon exited early: {self.proc.wait()} {self.proc.stderr.read()}")
            lines.append(line)
            if line.strip().startswith("artifacts:"):
                return "".join(lines)
        raise RuntimeError("daemon did not announce itself")

    def stop(self, timeout=10) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # A daemon that does not stop is a failure of its own: say what it logged.
            self.proc.kill()
            _, log = self.proc.communicate(timeout=10)
            raise AssertionError(f"the daemon did not stop within {timeout} s of SIGTERM; its log:\n{log[-6000:]}") from None


def run_tally(*args, env=None, timeout=30):
    return subprocess.run([tally_bin(), *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def workdir():
    # Short paths: Unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="tally-cli-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon(workdir):
    d = Daemon(workdir)
    yield d
    d.stop()


def tally_ok(daemon, *args, timeout=30):
    """Runs `tally ARGS --socket <daemon>`; fails the test unless it exits 0. Returns stdout."""
    result = run_tally(*args, "--socket", daemon.socket, timeout=timeout)
    assert result.returncode == 0, f"tally {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.stdout


def tally_json(daemon, *args, timeout=30):
    """Runs `tally ARGS --json --socket <daemon>` and parses its standard output."""
    import json
    return json.loads(tally_ok(daemon, *args, "--json", timeout=timeout))


def tally_fails(daemon, *args, timeout=30):
    """Runs `tally ARGS --socket <daemon>`, expecting a non-zero exit; returns the result."""
    result = run_tally(*args, "--socket", daemon.socket, timeout=timeout)
    assert result.returncode != 0, f"tally {' '.join(args)} unexpectedly succeeded: {result.stdout}"
    return result


def table_rows(text):
    """Splits a plain-text table into rows of cells (cells are separated by two or more spaces)."""
    import re
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def wait_for(proc, text, timeout=30):
    """Reads `proc`'s stdout lines until one contains `text`. A watchdog kills the process when
    `timeout` passes first, so a silent process ends the read instead of hanging the test."""
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    lines = []
    try:
        for line in iter(proc.stdout.readline, ""):
            lines.append(line)
            if text in line:
                return lines
    finally:
        watchdog.cancel()
    raise AssertionError(f"{text!r} not seen within {timeout}s in {lines!r}")


def read_line(proc, timeout=15):
    """The next stdout line ('' at the end), with the same watchdog as wait_for."""
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        return proc.stdout.readline()
    finally:
        watchdog.cancel()
