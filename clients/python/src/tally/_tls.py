"""TLS for the threaded transport, done in memory (`ssl.MemoryBIO`) over a plain TCP socket.

`TLSSocket` has the few socket methods `tally._transport.Connection` uses (`sendall`, `recv`
with or without `MSG_DONTWAIT`, `fileno`, `settimeout`, `shutdown`, `close`), so the transport
drives it exactly as it drives a Unix socket: it polls the TCP socket's descriptor, reads with
`MSG_DONTWAIT` and writes under its write lock.

Why in memory rather than `ssl.SSLSocket`: the transport reads on one thread while others
write, and an OpenSSL connection must not be used by two threads at once. Here the OpenSSL
object (`ssl.SSLObject`) is only touched under `_lock`, for the time it takes to encrypt or
decrypt, and the socket's blocking reads and writes happen outside it. Every read decrypts all
the complete records it got, so no decrypted byte is ever left inside OpenSSL while the
transport waits on the descriptor. Ciphertext leaves in the order OpenSSL made it: whoever
takes it from the outgoing buffer sends it before releasing `_send_lock`.
"""

import socket as _socket
import ssl
import threading
import time
from typing import Any, Dict, List, Optional

_RECORD = 16384 + 256  # the largest TLS record, with room for its overhead


class TLSSocket:
    """A connected TCP socket with TLS on top; see the module docstring."""

    def __init__(self, sock: _socket.socket, context: ssl.SSLContext, server_hostname: str) -> None:
        self._sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side=False, server_hostname=server_hostname)
        self._lock = threading.Lock()        # the SSLObject and the two buffers
        self._send_lock = threading.Lock()   # taking ciphertext out of `_out` and sending it
        self._eof = False                    # the TCP stream or the TLS session has ended

    # -- the handshake ---------------------------------------------------------------------------

    def handshake(self, deadline: float) -> None:
        """Performs the TLS handshake, blocking until `deadline` (time.monotonic()). Raises
        `ssl.SSLError` (`ssl.SSLCertVerificationError` for a refused certificate), `OSError`,
        `socket.timeout` past the deadline, `ConnectionError` when the peer closes first."""
        while True:
            try:
                self._obj.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            data = self._out.read()
            if data:
                self._sock.settimeout(max(0.001, deadline - time.monotonic()))
                self._sock.sendall(data)
            if done:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _socket.timeout("timed out")
            self._sock.settimeout(remaining)
            received = self._sock.recv(_RECORD)
            if not received:
                raise ConnectionResetError("the daemon closed the connection")
            self._in.write(received)

    @property
    def eof(self) -> bool:
        """Whether the stream has ended (the daemon's close_notify, or the end of TCP): what
        `recv` returned is all there will be."""
        return self._eof

    def getpeercert(self) -> Optional[Dict[str, Any]]:
        cert = self._obj.getpeercert()
        return dict(cert) if cert else None

    def version(self) -> Optional[str]:
        return self._obj.version()

    def cipher(self) -> Any:
        return self._obj.cipher()

    # -- the socket methods the transport uses ---------------------------------------------------

    def fileno(self) -> int:
        return self._sock.fileno()

    def settimeout(self, timeout: Optional[float]) -> None:
        self._sock.settimeout(timeout)

    def sendall(self, data: bytes) -> None:
        """Encrypts `data` and sends it with whatever ciphertext is waiting, in order."""
        with self._send_lock:
            with self._lock:
                if data:
                    view = memoryview(data)
                    while view:
                        written = self._obj.write(view)
                        view = view[written:]
                out = self._out.read()
            if out:
                self._sock.sendall(out)

    def recv(self, size: int, flags: int = 0) -> bytes:
        """Decrypted bytes: every complete record that has arrived (more than `size` when that
        much was there), b"" at the end of the stream. With `MSG_DONTWAIT` it raises
        `BlockingIOError` when no complete record is there; without, it waits (with the
        socket's timeout)."""
        while True:
            with self._lock:
                data = self._decrypt()
            if data or self._eof:
                return data
            raw = self._sock.recv(max(size, _RECORD), flags)
            with self._lock:
                if raw:
                    self._in.write(raw)
                else:
                    self._in.write_eof()
                    self._eof = True

    def _decrypt(self) -> bytes:
        """What the records in `_in` hold, holding the lock. Output OpenSSL made meanwhile (an
        alert, a key update) is sent by a thread of its own: the caller may be the transport's
        reader, which must never wait on a write."""
        chunks: List[bytes] = []
        obj = self._obj
        while True:
            try:
                chunk = obj.read(262144)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._eof = True
                break
            if not chunk:
                self._eof = True
                break
            chunks.append(chunk)
        if self._out.pending:
            threading.Thread(target=self._flush_quietly, name="tally-tls-flush", daemon=True).start()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _flush_quietly(self) -> None:
        try:
            self.sendall(b"")
        except OSError:
            pass

    def shutdown(self, how: int) -> None:
        """Sends the TLS close_notify when no write is under way, then shuts the socket down."""
        if self._send_lock.acquire(blocking=False):
            try:
                with self._lock:
                    try:
                        self._obj.unwrap()
                    except (ssl.SSLError, OSError, ValueError):
                        pass
                    out = self._out.read()
                if out:
                    try:
                        self._sock.send(out, _socket.MSG_DONTWAIT)
                    except OSError:
                        pass
            finally:
                self._send_lock.release()
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()
