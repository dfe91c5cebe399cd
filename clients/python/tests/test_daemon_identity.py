"""The clients talk only to a daemon of their own user, root, or a uid they were told to trust
(`daemon_uid=`, `$TALLY_DAEMON_UID`): they read its uid with SO_PEERCRED right after connecting,
before anything is sent, so a daemon of another user never receives a request or an API key."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest

import tally
from tally import _wire

FOREIGN_DAEMON = Path(__file__).resolve().parent / "foreign_daemon.py"
DAEMON_UID, CLIENT_UID = 65534, 65533
API_KEY = "sk-never-sent-4f9a"


class FakeSocket:
    def __init__(self, uid: int) -> None:
        self.uid = uid

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes:
        assert (level, option, buflen) == (socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        return struct.pack("iII", 4242, self.uid, self.uid)


@pytest.mark.skipif(not hasattr(socket, "SO_PEERCRED"), reason="SO_PEERCRED is Linux's")
def test_the_check_accepts_own_uid_and_root_and_names_any_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALLY_DAEMON_UID", raising=False)
    me = os.geteuid()
    _wire.check_daemon("/s", FakeSocket(me))
    _wire.check_daemon("/s", FakeSocket(0))
    other = me + 1 if me != 0 else 4321
    with pytest.raises(tally.PermissionDenied) as refused:
        _wire.check_daemon("/s", FakeSocket(other))
    assert f"uid {other}" in str(refused.value) and "/s" in str(refused.value)
    assert refused.value.code == 7
    _wire.check_daemon("/s", FakeSocket(other), trusted=other)
    monkeypatch.setenv("TALLY_DAEMON_UID", str(other))
    _wire.check_daemon("/s", FakeSocket(other))


@pytest.fixture
def foreign_daemon() -> Iterator[Tuple[str, Path]]:
    """A fake daemon running as uid 65534 on a socket in a folder open to every uid."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to act as other users")
    folder = Path(tempfile.mkdtemp(prefix="tally-foreign-", dir="/tmp"))
    os.chmod(folder, 0o777)
    sock, log = folder / "tally.sock", folder / "received.bin"
    proc = subprocess.Popen(
        ["setpriv", f"--reuid={DAEMON_UID}", f"--regid={DAEMON_UID}", "--clear-groups",
         sys.executable, str(FOREIGN_DAEMON), str(sock), str(log)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert os.stat(sock).st_uid == DAEMON_UID
        yield str(sock), log
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


CLIENT = textwrap.dedent(f"""
    import asyncio, sys
    import tally
    from tally import aio
    from tally.v1 import experiments_pb2 as epb, system_pb2 as spb
    path, which = sys.argv[1], sys.argv[2]
    request = epb.CreateProviderRequest(name="p", kind=epb.PROVIDER_KIND_OPENAI, base_url="https://api.example.com/v1", api_key="{API_KEY}")
    try:
        if which == "threaded":
            tally.connect(path, connect_timeout=3).experiments.create_provider(request, timeout=3)
        else:
            async def main():
                client = aio.connect(path, connect_timeout=3)
                try:
                    await client.experiments.create_provider(request, timeout=3)
                finally:
                    await client.close()
            asyncio.run(main())
    except tally.RPCError as error:
        print(type(error).__name__, error)
        sys.exit(3)
    print("sent")
""")


@pytest.mark.parametrize("which", ["threaded", "asyncio"])
def test_a_daemon_of_another_uid_is_refused_before_anything_is_sent(foreign_daemon: Tuple[str, Path], which: str) -> None:
    sock, log = foreign_daemon
    result = subprocess.run(
        ["setpriv", f"--reuid={CLIENT_UID}", f"--regid={CLIENT_UID}", "--clear-groups",
         sys.executable, "-c", CLIENT, sock, which],
        capture_output=True, text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "TALLY_DAEMON_UID"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.startswith("PermissionDenied"), result.stdout
    assert f"uid {DAEMON_UID}" in result.stdout and f"uid {CLIENT_UID}" in result.stdout and sock in result.stdout
    time.sleep(0.2)
    received = log.read_bytes() if log.exists() else b""
    assert received == b"", received  # not even a HELLO, let alone the key


def test_a_trusted_uid_is_talked_to(foreign_daemon: Tuple[str, Path]) -> None:
    sock, log = foreign_daemon
    result = subprocess.run(
        ["setpriv", f"--reuid={CLIENT_UID}", f"--regid={CLIENT_UID}", "--clear-groups",
         sys.executable, "-c", CLIENT, sock, "threaded"],
        capture_output=True, text=True, timeout=60, env=dict(os.environ, TALLY_DAEMON_UID=str(DAEMON_UID)))
    # The fake daemon never answers the call: the client got past the check and sent it.
    assert "PermissionDenied" not in result.stdout, result.stdout
    for _ in range(50):
        if log.exists() and len(log.read_bytes()) > 12:
            break
        time.sleep(0.1)
    assert log.exists() and log.read_bytes()[:2] == bytes([0xA1, 1])
