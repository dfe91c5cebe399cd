"""Clients start `tally serve` when no daemon answers (`TALLY_AUTOSTART`, `TALLY_EXECUTABLE`).

Each test has its own socket and data folder; the daemons it starts are stopped (SIGTERM, then
the socket disappears) at its end.
"""
import asyncio
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

import tally
import tally._api
import tally.aio
from tally import _autostart
from tally.v1 import system_pb2

from conftest import tally_bin

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Place:
    """A socket path and data folder of the test's own; `stop()` ends the daemon serving it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = str(root / "run" / "tally.sock")
        self.log = str(root / "run" / "tally-serve.log")
        self.home = str(root / "home")

    def pid(self) -> int:
        with tally.connect(self.socket, autostart=False) as c:
            return c.info().pid

    def stop(self) -> None:
        if not os.path.exists(self.socket):
            return
        try:
            pid = self.pid()
        except tally.Unavailable:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(self.socket):
            assert time.monotonic() < deadline, "the daemon did not stop"
            time.sleep(0.05)
        for child in list(_autostart._children):  # reap it when this process started it
            if child.pid == pid:
                child.wait(timeout=30)
        _autostart._reap()


@pytest.fixture
def place(monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    root = Path(tempfile.mkdtemp(prefix="tally-auto-", dir="/tmp"))  # short: socket paths <= 107 bytes
    p = Place(root)
    monkeypatch.setenv("TALLY_SOCKET", p.socket)
    monkeypatch.setenv("TALLY_HOME", p.home)
    monkeypatch.delenv("TALLY_JOURNAL", raising=False)  # journals go under this test's own home
    monkeypatch.setenv("TALLY_EXECUTABLE", tally_bin())
    monkeypatch.delenv("TALLY_AUTOSTART", raising=False)
    monkeypatch.delenv("TALLY_AUTOSTART_TIMEOUT", raising=False)
    old_default, tally._api._default = tally._api._default, None
    try:
        yield p
    finally:
        if tally._api._default is not None:
            tally._api._default.close()
        tally._api._default = old_default
        p.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_start_run_starts_the_daemon(place: Place) -> None:
    assert not os.path.exists(place.socket)
    run = tally.start_run("auto", params={"lr": 0.1})
    for step in range(1000):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.end()
    pid = place.pid()
    assert [c.pid for c in _autostart._children if c.poll() is None] == [pid]
    with tally.connect(place.socket) as fresh:
        assert fresh.info().pid == pid
        hist = fresh.history(run.id, ["loss"])["loss"]
    assert hist.steps == list(range(1000))
    assert hist.values[999] == pytest.approx(1 / 1000)
    assert os.path.exists(os.path.join(place.home, "tally.sqlite"))
    with open(place.log) as log:
        assert "starts" in log.read()


def test_a_stale_socket_is_replaced(place: Place) -> None:
    import socket
    os.makedirs(os.path.dirname(place.socket))
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(place.socket)  # bound, never listening: ECONNREFUSED
    stale.close()
    with tally.connect(place.socket) as c:
        assert c.info().pid > 0


def test_a_daemon_that_goes_away_is_not_replaced(place: Place) -> None:
    c = tally.connect(place.socket)
    pid = c.info().pid
    place.stop()
    with pytest.raises(tally.Unavailable, match="tally serve"):
        c.info()  # the client's first connection started one; later ones do not
    assert not os.path.exists(place.socket)
    c.close()
    assert pid not in [child.pid for child in _autostart._children]


def test_autostart_off(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("0", "false", "No", "off"):
        monkeypatch.setenv("TALLY_AUTOSTART", value)
        t = time.monotonic()
        with pytest.raises(tally.Unavailable) as info:
            tally.get_run("0123456789abcdef")
        assert time.monotonic() - t < 1
        assert place.socket in str(info.value) and "start it with `tally serve`" in str(info.value)
        assert _autostart.NO_EXECUTABLE_HINT not in str(info.value)
        run = tally.start_run("auto")  # no daemon: the run goes on offline, into its journal
        assert run.experiment_id == "" and run.journal_path.startswith(os.path.join(place.home, "journal"))
        run.end()
        assert time.monotonic() - t < 1 and os.path.exists(run.journal_path)
        assert not os.path.exists(place.socket) and not os.path.exists(place.log)
        tally._api._default.close()
        tally._api._default = None


def test_connect_autostart_false(place: Place) -> None:
    with pytest.raises(tally.Unavailable):
        tally.connect(place.socket, autostart=False).info()
    assert not os.path.exists(place.socket)


def test_no_executable(place: Place, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TALLY_EXECUTABLE")
    monkeypatch.setenv("PATH", str(tmp_path))  # holds no `tally`
    with pytest.raises(tally.Unavailable) as info:
        tally.connect().info()
    message = str(info.value)
    assert place.socket in message and "No such file or directory" in message
    assert "start it with `tally serve`" in message and _autostart.NO_EXECUTABLE_HINT in message
    assert not os.path.exists(place.socket)


def test_executable_that_cannot_run(place: Place, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TALLY_EXECUTABLE", str(tmp_path / "missing-tally"))
    with pytest.raises(tally.Unavailable, match="cannot run .*missing-tally"):
        tally.connect().info()


def test_the_daemon_cannot_start(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tempfile.mkdtemp(prefix="tally-shared-", dir="/tmp")
    try:
        os.chmod(shared, 0o1777)  # the daemon refuses a data folder other users can write to
        monkeypatch.setenv("TALLY_HOME", shared)
        t = time.monotonic()
        with pytest.raises(tally.Unavailable) as info:
            tally.get_run("0123456789abcdef")
        assert time.monotonic() - t < 20
        message = str(info.value)
        assert place.socket in message and place.log in message
        assert "did not serve" in message and "shared with other users" in message, message
        assert not os.path.exists(place.socket)
        assert not [c for c in _autostart._children if c.poll() is None]
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_not_ready_in_time(place: Place, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slow = tmp_path / "slow-tally"
    slow.write_text("#!/bin/sh\necho 'warming up' >&2\nexec sleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("TALLY_EXECUTABLE", str(slow))
    monkeypatch.setenv("TALLY_AUTOSTART_TIMEOUT", "0.5")
    try:
        with pytest.raises(tally.Unavailable) as info:
            tally.connect().info()
        message = str(info.value)
        assert "not ready within 0.5s" in message and "warming up" in message, message
    finally:
        for child in list(_autostart._children):
            child.kill()
            child.wait()
        _autostart._reap()


def test_four_threads_start_one_daemon(place: Place) -> None:
    pids: List[int] = []
    errors: List[BaseException] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            with tally.connect(place.socket) as c:
                pids.append(c.info().pid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(pids) == 4
    assert len(set(pids)) == 1 and pids[0] == place.pid()
    assert [c.pid for c in _autostart._children if c.poll() is None] == [pids[0]]


SCRIPT = """
import sys, tally
with tally.connect(sys.argv[1]) as c:
    print(c.info().pid)
"""


def test_four_processes_start_one_daemon(place: Place) -> None:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, place.socket], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    pids = {int(out.strip()) for out, _ in outputs}
    assert pids == {place.pid()}
    os.kill(pids.pop(), 0)  # alive after the process that started it exited


def test_asyncio_connect_starts_the_daemon(place: Place) -> None:
    async def main() -> int:
        async with tally.aio.connect(place.socket) as client:
            info = await client.system.info(system_pb2.InfoRequest())
            return info.pid

    pid = asyncio.run(main())
    assert pid == place.pid()


def test_asyncio_autostart_off(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_AUTOSTART", "0")

    async def main() -> None:
        with pytest.raises(tally.Unavailable, match="tally serve"):
            await tally.aio.connect(place.socket).system.info(system_pb2.InfoRequest())

    asyncio.run(main())
    assert not os.path.exists(place.socket)


def test_which_errors_start_a_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALLY_AUTOSTART", raising=False)
    assert _autostart.should_start(FileNotFoundError(errno.ENOENT, "No such file or directory"))
    assert _autostart.should_start(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))
    assert not _autostart.should_start(PermissionError(errno.EACCES, "Permission denied"))
    assert not _autostart.should_start(OSError(errno.ENAMETOOLONG, "File name too long"))
    monkeypatch.setenv("TALLY_AUTOSTART", "off")
    assert not _autostart.should_start(FileNotFoundError(errno.ENOENT, "No such file or directory"))
    monkeypatch.setenv("TALLY_AUTOSTART_TIMEOUT", "2.5")
    assert _autostart.timeout() == 2.5
    monkeypatch.setenv("TALLY_AUTOSTART_TIMEOUT", "soon")
    assert _autostart.timeout() == _autostart.DEFAULT_TIMEOUT
