"""`tally serve --ready-fd N`: a line on an inherited descriptor once the daemon serves."""
import os
import select
import socket
import subprocess
import time

from conftest import run_tally, tally_bin


def read_all(fd, timeout=30):
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            return data, True
        data += chunk
    return data, False


def serve(workdir, *extra):
    r, w = os.pipe()
    proc = subprocess.Popen(
        [tally_bin(), "serve", "--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "off",
         "--ready-fd", str(w), *extra],
        pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.close(w)
    return proc, r


def test_the_ready_line_comes_when_the_socket_answers(workdir):
    proc, r = serve(workdir)
    try:
        data, closed = read_all(r)
        assert data == f"ready {workdir / 's.sock'}\n".encode()
        assert closed, "the descriptor is closed after the line"
        # Ready means ready: the socket takes a connection at once.
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(workdir / "s.sock"))
        s.close()
    finally:
        os.close(r)
        proc.terminate()
        proc.wait(timeout=30)


def test_a_daemon_that_cannot_start_closes_the_descriptor_without_the_line(workdir):
    first, r1 = serve(workdir)
    try:
        assert read_all(r1)[0].startswith(b"ready ")
        second, r2 = serve(workdir)
        data, closed = read_all(r2)
        assert data == b"" and closed
        assert second.wait(timeout=30) != 0
        assert "already" in second.stderr.read().lower()
        os.close(r2)
    finally:
        os.close(r1)
        first.terminate()
        first.wait(timeout=30)


def test_a_descriptor_that_is_not_open_is_a_usage_error(workdir):
    result = run_tally("serve", "--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--ready-fd", "987")
    assert result.returncode != 0
    assert "--ready-fd 987" in result.stderr
