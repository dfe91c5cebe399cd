"""A client refused at the daemon's connection limit reports the daemon's reason.

The daemon closes a refused connection right after its GOAWAY; the client's check of the
daemon's uid (SO_PEERCRED), made before anything is sent, must not turn that refusal into a
failure to read credentials.
"""
import socket

from conftest import Daemon, run_tally

RESERVED_FOR_OWNER = 8


def test_a_client_refused_at_the_limit_gets_resource_exhausted(workdir):
    daemon = Daemon(workdir, args=["--socket", str(workdir / "run" / "tally.sock"), "--home", str(workdir / "home"),
                                   "--max-connections", "1"])
    held = []
    try:
        # The limit and the owner's reserved slots, all taken by connections that stay open.
        for _ in range(1 + RESERVED_FOR_OWNER):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(daemon.socket)
            held.append(s)
        for _ in range(8):
            result = run_tally("status", "--socket", daemon.socket)
            assert result.returncode != 0
            assert "RESOURCE_EXHAUSTED" in result.stderr, result.stderr
    finally:
        for s in held:
            s.close()
        daemon.stop()
