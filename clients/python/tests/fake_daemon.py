"""A stand-in for `tally serve --listen`, for the client's TCP and TLS tests that must not depend on
the daemon: it listens on 127.0.0.1 (TLS with the given certificate, or plaintext), checks the
HELLO's token the way the daemon does (GOAWAY UNAUTHENTICATED without a known one), answers with
a HelloReply naming the token's user and role, and serves `Diagnostics/Echo` (the request's
payload back). One thread per connection; everything it receives in HELLOs is
kept in `hellos`.
"""
import socket
import ssl
import threading
from typing import Dict, List, Optional, Tuple

from tally import _wire
from tally.v1 import system_pb2, wire_pb2

ECHO = "/tally.v1.Diagnostics/Echo"


class FakeDaemon:
    def __init__(self, *, cert: Optional[str] = None, key: Optional[str] = None,
                 tokens: Optional[Dict[str, Tuple[str, str]]] = None, port: int = 0) -> None:
        self.tokens = tokens if tokens is not None else {}
        self.context: Optional[ssl.SSLContext] = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.minimum_version = ssl.TLSVersion.TLSv1_3
            self.context.load_cert_chain(cert, key)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.hellos: List[wire_pb2.Hello] = []
        self.accepted = 0
        self._conns: List[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def url(self, scheme: str = "tally+tls", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}"

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                number = self.accepted
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, raw: socket.socket, number: int) -> None:
        conn: socket.socket = raw
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(raw, server_side=True)
            with self._lock:
                self._conns.append(conn)
            decoder = _wire.FrameDecoder(64 << 20)
            methods: Dict[int, str] = {}
            hello_done = False
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    return
                for kind, flags, call_id, payload in decoder.feed(data):
                    if kind == _wire.HELLO and not hello_done:
                        hello = wire_pb2.Hello.FromString(payload)
                        with self._lock:
                            self.hellos.append(hello)
                        who = self.tokens.get(hello.token)
                        if who is None:
                            reason = "unknown access token" if hello.token else "an access token is required on TCP"
                            goaway = wire_pb2.GoAway(code=16, message=reason, last_call_id=0)
                            conn.sendall(_wire.encode_frame(_wire.GOAWAY, 0, goaway.SerializeToString()))
                            return
                        reply = wire_pb2.HelloReply(version=1, server_name="fake/0", max_frame_size=4 << 20,
                                                    max_concurrent_calls=100, initial_window=1 << 20,
                                                    connection_id=number, user=who[0], role=who[1])
                        conn.sendall(_wire.encode_frame(_wire.HELLO, 0, reply.SerializeToString()))
                        hello_done = True
                    elif kind == _wire.START:
                        methods[call_id] = wire_pb2.CallStart.FromString(payload).method
                    elif kind == _wire.MESSAGE:
                        method = methods.pop(call_id, "")
                        if method != ECHO:
                            end = wire_pb2.CallEnd(code=12, message=f"{method} is not served here")
                            conn.sendall(_wire.encode_frame(_wire.END, call_id, end.SerializeToString()))
                            continue
                        request = system_pb2.EchoRequest.FromString(payload)
                        response = system_pb2.EchoResponse(payload=request.payload).SerializeToString()
                        conn.sendall(_wire.encode_frame(_wire.MESSAGE, call_id, response)
                                     + _wire.encode_frame(_wire.END, call_id, b""))
                    elif kind == _wire.PING:
                        conn.sendall(_wire.encode_frame(_wire.PONG, 0, payload))
        except (OSError, ValueError, _wire.FrameError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def goaway_all(self) -> None:
        """A draining GOAWAY on every connection, then closes them (a daemon going away)."""
        goaway = wire_pb2.GoAway(code=14, message="the server is shutting down", last_call_id=0)
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.sendall(_wire.encode_frame(_wire.GOAWAY, 0, goaway.SerializeToString()))
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self.listener.close()
        self.goaway_all()


__all__ = ["FakeDaemon", "ECHO"]
