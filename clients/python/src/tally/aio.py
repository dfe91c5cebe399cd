"""asyncio variant of the transport and stubs.

```python
import tally.aio

async with tally.aio.connect() as client:
    info = await client.system.info(tally.v1.system_pb2.InfoRequest())
    async for chunk in client.tracking.get_metric_history(request):
        ...
```

`AsyncChannel` speaks the same protocol as `tally.Channel` on asyncio's streams (a Unix socket,
TCP with TLS through asyncio's own TLS, or plaintext TCP on loopback), within one event loop: `AsyncConnection` is the asyncio I/O adapter over the protocol core
(`tally._protocol`, which holds the framing, handshake, flow control, deadlines, cancellation and
GOAWAY rules); it owns the stream, a reader task and one asyncio event per call.
"""

import asyncio
import socket as _socket
import ssl
import time
from typing import (Any, AsyncIterable, Callable, Dict, Generic, Iterable, List, Mapping, Optional,
                    Type, TypeVar, Union)

from google.protobuf.message import Message

from tally import _address, _autostart, _protocol, _wire
from tally._address import Address, ConnectionIdentity, ConnectionInfo
from tally._protocol import (CallEnded, CallReleased, ClientConnectionState, Condition,
                             ConnectionClosed, Event, GoAwayReceived, HandshakeCompleted,
                             MessageReceived, WindowOpened)
from tally._aio_api import AsyncRun, AsyncRunAPI
from tally.errors import RPCError
from tally._services import stub_classes
from tally.v1 import experiments_tally, system_tally, tracking_tally, wire_pb2

__all__ = ["AsyncChannel", "AsyncClient", "AsyncResponseIterator", "AsyncRun", "ConnectionInfo", "connect",
           "start_run"]

R = TypeVar("R", bound=Message)


class _ACall(_protocol.Call):
    """A call of the asyncio transport: the core's record of it plus the event its waiters wait on."""

    __slots__ = ("changed",)

    def __init__(self, method: str) -> None:
        super().__init__(method)
        self.changed = asyncio.Event()


class AsyncConnection(ConnectionIdentity):
    """One handshaken connection; use it from the event loop that created it."""

    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 core: ClientConnectionState, *, address: Optional[Address] = None,
                 peer_certificate: Optional[Dict[str, Any]] = None) -> None:
        self.path = path  # the socket path, or the URL of a TCP address
        self.address = address or Address(_address.UNIX, path=path)
        self.peer_certificate = peer_certificate
        self._core = core
        self._reader = reader
        self._writer = writer
        self._slot_event = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @property
    def info(self) -> ConnectionInfo:
        ssl_object = self._writer.get_extra_info("ssl_object")
        return self._connection_info(ssl_object.version() if ssl_object is not None else None)

    @classmethod
    async def connect(cls, path: Optional[str] = None, *, timeout: float = 5.0,
                      max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                      initial_window: int = _wire.DEFAULT_WINDOW,
                      daemon_uid: Optional[int] = None, autostart: bool = True,
                      url: Optional[str] = None, token: Optional[str] = None, ca: Optional[str] = None,
                      tls_context: Optional[ssl.SSLContext] = None,
                      address: Optional[Address] = None) -> "AsyncConnection":
        """Connects and performs the handshake; like `tally.Connection.connect` (the same address
        rules, token and TLS settings), refuses a daemon of another user than this one, root or
        `daemon_uid` before anything is sent, and starts `tally serve` when nothing listens on a
        Unix socket (unless `autostart` is False or `$TALLY_AUTOSTART` is 0; never over TCP)."""
        if address is None:
            address = _address.resolve(url, path)
        token = _address.resolve_token(token)
        if address.remote:
            reader, writer, certificate = await cls._open_tcp(address, timeout, ca, tls_context)
            core = ClientConnectionState(max_frame_size=max_frame_size, initial_window=initial_window,
                                         path=address.url, token=token, remote=True)
            await cls._handshake(reader, writer, core, timeout)
            return cls(address.url, reader, writer, core, address=address, peer_certificate=certificate)
        path = address.path

        async def open_connection() -> "tuple[asyncio.StreamReader, asyncio.StreamWriter]":
            try:
                return await asyncio.wait_for(asyncio.open_unix_connection(path, limit=1 << 20), timeout)
            except asyncio.TimeoutError:
                raise _wire.connect_error(path, "timed out") from None

        try:
            reader, writer = await open_connection()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if not (autostart and _autostart.should_start(exc)):
                raise _wire.connect_error(path, reason) from None
            if _autostart.executable() is None:
                raise _autostart.no_executable(path, reason) from None
            # Blocking (it waits for the daemon's ready line): off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, _autostart.autostart, path, _autostart.timeout())
            try:
                reader, writer = await open_connection()
            except OSError as again:
                raise _autostart.failed(path, again.strerror or str(again)) from None
        try:
            _wire.check_daemon(path, writer.get_extra_info("socket"), daemon_uid)
        except BaseException:
            writer.close()
            raise
        core = ClientConnectionState(max_frame_size=max_frame_size, initial_window=initial_window, path=path,
                                     token=token)
        await cls._handshake(reader, writer, core, timeout)
        return cls(path, reader, writer, core, address=address)

    @staticmethod
    async def _open_tcp(address: Address, timeout: float, ca: Optional[str], tls_context: Optional[ssl.SSLContext]
                        ) -> "tuple[asyncio.StreamReader, asyncio.StreamWriter, Optional[Dict[str, Any]]]":
        """A TCP stream (with TLS for "tls", certificate checked, through asyncio's TLS)."""
        context = None
        if address.transport == _address.TLS:
            ca = _address.resolve_ca(ca)
            context = tls_context or _address.tls_context(ca)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address.host, address.port, ssl=context,
                                        server_hostname=address.host if context is not None else None,
                                        limit=1 << 20), timeout)
        except asyncio.TimeoutError:
            if context is not None:
                raise _address.tls_timeout_error(address, timeout) from None
            raise _address.connect_error(address, "timed out") from None
        except ssl.SSLError as exc:
            raise _address.ssl_failure(address, exc, ca) from None
        except OSError as exc:
            raise _address.connect_error(address, exc.strerror or str(exc) or type(exc).__name__) from None
        certificate = None
        if context is not None:
            peercert = writer.get_extra_info("peercert")
            certificate = dict(peercert) if peercert else None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:  # asyncio sets it on TCP sockets already; for certainty
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
        return reader, writer, certificate

    @staticmethod
    async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         core: ClientConnectionState, timeout: float) -> None:
        """Sends HELLO and reads until the HelloReply; closes the stream and raises the status
        the core closes the connection with (GOAWAY, end of stream, deadline)."""
        writer.write(core.initiate(time.monotonic(), timeout))

        async def handshake() -> None:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError as exc:  # over TLS, any TLS error too
                    events = core.connection_lost(exc.strerror or str(exc))
                else:
                    events = core.receive_data(data) if data else core.connection_lost()
                for event in events:
                    if type(event) is HandshakeCompleted:
                        return
                    if type(event) is ConnectionClosed:
                        raise event.error

        try:
            try:
                await writer.drain()
            except OSError as exc:
                for event in core.connection_lost(exc.strerror or str(exc)):
                    if type(event) is ConnectionClosed:
                        raise event.error from None
            await asyncio.wait_for(handshake(), timeout)
        except asyncio.TimeoutError:
            # The timer ran out at the handshake's deadline: the core says what that means.
            writer.close()
            for event in core.expire(max(time.monotonic(), core.next_deadline() or 0.0)):
                if type(event) is ConnectionClosed:
                    raise event.error from None
            raise
        except BaseException:
            writer.close()
            raise
        pending = core.data_to_send()
        if pending:
            writer.write(pending)

    @property
    def usable(self) -> bool:
        return self._core.usable

    async def close(self) -> None:
        self._apply(self._core.close())
        self._task.cancel()
        try:
            await self._task
        except BaseException:
            pass

    def _apply(self, events: List[Event]) -> None:
        """Wakes whoever waits on what `events` changed; writes what the core wants sent."""
        for event in events:
            kind = type(event)
            if kind is MessageReceived or kind is CallEnded or kind is WindowOpened:
                event.call.changed.set()  # type: ignore[attr-defined]
            elif kind is CallReleased or kind is GoAwayReceived:
                self._slot_event.set()
            elif kind is ConnectionClosed:
                self._slot_event.set()
                try:
                    self._writer.close()
                except Exception:
                    pass
        data = self._core.data_to_send()
        if data:
            self._writer.write(data)

    async def _read_loop(self) -> None:
        core = self._core
        try:
            while not core.closed:
                data = await self._reader.read(262144)
                if not data:
                    break
                self._apply(core.receive_data(data))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._apply(core.connection_lost())

    def _write(self, data: bytes) -> None:
        error = self._core.error
        if error is not None:
            raise error
        self._writer.write(data)

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            self._apply(self._core.connection_lost(str(exc)))
            error = self._core.error
            assert error is not None
            raise error from None

    async def _wait(self, call: _ACall, ready: Callable[[], bool]) -> None:
        """Waits until `ready()` or the call's deadline, when the core ends the calls past theirs."""
        while not ready():
            call.changed.clear()
            deadline = call.deadline
            if deadline is None:
                await call.changed.wait()
                continue
            now = time.monotonic()
            if now >= deadline:
                self._apply(self._core.expire(now))
                continue
            try:
                await asyncio.wait_for(call.changed.wait(), deadline - now)
            except asyncio.TimeoutError:
                pass

    async def start_call(self, method: str, *, timeout: Optional[float], metadata: Optional[Mapping[str, str]],
                         first: Optional[bytes] = None, end_stream: bool = False) -> _ACall:
        core = self._core
        if first is not None:
            core.check_request_size(len(first))
        deadline = None if timeout is None else time.monotonic() + timeout
        while not core.can_start_call():  # raises once no call can start
            self._slot_event.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise Condition.NO_SLOT_IN_TIME.error()
            try:
                await asyncio.wait_for(self._slot_event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        call = _ACall(method)
        self._write(core.start_call(call, timeout=timeout, metadata=metadata, first=first, end_stream=end_stream,
                                    now=None if timeout is None else time.monotonic()))
        await self._drain()
        return call

    async def send(self, call: _ACall, payload: bytes) -> None:
        core = self._core
        data = core.send_message(call, payload)
        while data is None:
            await self._wait(call, lambda: call.writable)
            data = core.send_message(call, payload)
        self._write(data)
        await self._drain()

    async def half_close(self, call: _ACall) -> None:
        data = self._core.half_close(call)
        if data:
            self._write(data)
            await self._drain()

    def cancel(self, call: _ACall, error: Optional[RPCError] = None) -> None:
        if call.ended:
            return
        data = self._core.cancel(call, error)
        call.changed.set()
        if data:
            self._writer.write(data)

    async def recv(self, call: _ACall) -> Optional[bytes]:
        if not call.readable:
            await self._wait(call, lambda: call.readable)
        payload, data = self._core.next_message(call)
        if data:
            self._writer.write(data)
        return payload


async def _one_response(conn: AsyncConnection, call: _ACall, response_type: Type[R]) -> R:
    payload = await conn.recv(call)
    if payload is None:
        raise Condition.NO_RESPONSE.error(method=call.method)
    if await conn.recv(call) is not None:
        conn.cancel(call)
        raise Condition.EXTRA_RESPONSE.error(method=call.method)
    return _protocol.decode_response(response_type, payload)


_encode = _protocol.encode_request


class AsyncResponseIterator(Generic[R]):
    """Responses of a streaming call; the call starts on the first `__anext__`. `aclose()` (or
    `cancel()`) cancels it."""

    def __init__(self, channel: "AsyncChannel", path: str, request: Optional[Message],
                 requests: Union[AsyncIterable[Message], Iterable[Message], None], response_type: Type[R],
                 timeout: Optional[float], metadata: Optional[Mapping[str, str]]) -> None:
        self._channel = channel
        self._path = path
        self._request = request
        self._requests = requests
        self._type = response_type
        self._timeout = timeout
        self._metadata = metadata
        self._conn: Optional[AsyncConnection] = None
        self._call: Optional[_ACall] = None
        self._sender: Optional["asyncio.Task[None]"] = None
        self._closed = False

    def __aiter__(self) -> "AsyncResponseIterator[R]":
        return self

    async def _start(self) -> None:
        conn = self._conn = await self._channel.connection()
        if self._requests is None:
            assert self._request is not None
            self._call = await conn.start_call(self._path, timeout=self._timeout, metadata=self._metadata,
                                               first=_encode(self._request), end_stream=True)
        else:
            call = self._call = await conn.start_call(self._path, timeout=self._timeout, metadata=self._metadata)
            requests = self._requests

            async def send_all() -> None:
                try:
                    if hasattr(requests, "__aiter__"):
                        async for request in requests:  # type: ignore[union-attr]
                            await conn.send(call, _encode(request))
                    else:
                        for request in requests:  # type: ignore[union-attr]
                            await conn.send(call, _encode(request))
                    await conn.half_close(call)
                except RPCError:
                    pass
                except Exception as exc:
                    conn.cancel(call, Condition.REQUESTS_FAILED.error(exc=repr(exc)))

            self._sender = asyncio.get_running_loop().create_task(send_all())

    async def __anext__(self) -> R:
        if self._closed:
            raise StopAsyncIteration
        if self._call is None:
            await self._start()
        assert self._conn is not None and self._call is not None
        payload = await self._conn.recv(self._call)
        if payload is None:
            raise StopAsyncIteration
        try:
            return _protocol.decode_response(self._type, payload)
        except RPCError as error:
            self._conn.cancel(self._call, error)
            raise

    def cancel(self) -> None:
        if self._conn is not None and self._call is not None:
            self._conn.cancel(self._call)
        self._closed = True

    async def aclose(self) -> None:
        self.cancel()
        if self._sender is not None:
            self._sender.cancel()

    async def __aenter__(self) -> "AsyncResponseIterator[R]":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class AsyncChannel:
    """The asyncio counterpart of `tally.Channel` (the same address, `token`, `ca` and
    `tls_context`); reconnects lazily for new calls."""

    def __init__(self, socket: Optional[str] = None, *, url: Optional[str] = None, token: Optional[str] = None,
                 ca: Optional[str] = None, tls_context: Optional[ssl.SSLContext] = None,
                 connect_timeout: float = 5.0,
                 max_frame_size: int = _wire.DEFAULT_MAX_FRAME, initial_window: int = _wire.DEFAULT_WINDOW,
                 daemon_uid: Optional[int] = None, autostart: bool = True) -> None:
        self.address = _address.resolve(url, socket)
        self.socket_path = self.address.display  # the socket path, or the URL of a TCP address
        self.token = _address.resolve_token(token)
        self.ca = _address.resolve_ca(ca) if self.address.transport == _address.TLS else None
        self.tls_context = tls_context
        if self.tls_context is None and self.address.transport == _address.TLS:
            self.tls_context = _address.tls_context(self.ca)
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.initial_window = initial_window
        self.daemon_uid = daemon_uid
        # For the first connection only, like `tally.Channel`; never for a TCP address.
        self.autostart = autostart and not self.address.remote
        self._connected = False
        self._conn: Optional[AsyncConnection] = None
        self._lock: Optional[asyncio.Lock] = None

    async def connection(self) -> AsyncConnection:
        if self._conn is not None and self._conn.usable:
            return self._conn
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._conn is None or not self._conn.usable:
                self._conn = await AsyncConnection.connect(
                    address=self.address, token=self.token, ca=self.ca, tls_context=self.tls_context,
                    timeout=self.connect_timeout,
                    max_frame_size=self.max_frame_size, initial_window=self.initial_window,
                    daemon_uid=self.daemon_uid, autostart=self.autostart and not self._connected)
                self._connected = True
            return self._conn

    @property
    def url(self) -> str:
        return self.address.url

    async def whoami(self) -> ConnectionInfo:
        """Who the daemon takes this client for, over what (see `tally.Channel.whoami`)."""
        return (await self.connection()).info

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def unary(self, path: str, request: Message, response_type: Type[R], *,
                    timeout: Optional[float] = None, metadata: Optional[Mapping[str, str]] = None) -> R:
        conn = await self.connection()
        call = await conn.start_call(path, timeout=timeout, metadata=metadata,
                                     first=_encode(request), end_stream=True)
        return await _one_response(conn, call, response_type)

    def server_streaming(self, path: str, request: Message, response_type: Type[R], *,
                         timeout: Optional[float] = None,
                         metadata: Optional[Mapping[str, str]] = None) -> AsyncResponseIterator[R]:
        return AsyncResponseIterator(self, path, request, None, response_type, timeout, metadata)

    async def client_streaming(self, path: str, requests: Union[AsyncIterable[Message], Iterable[Message]],
                               response_type: Type[R], *, timeout: Optional[float] = None,
                               metadata: Optional[Mapping[str, str]] = None) -> R:
        conn = await self.connection()
        call = await conn.start_call(path, timeout=timeout, metadata=metadata)
        try:
            if hasattr(requests, "__aiter__"):
                async for request in requests:  # type: ignore[union-attr]
                    await conn.send(call, _encode(request))
            else:
                for request in requests:  # type: ignore[union-attr]
                    await conn.send(call, _encode(request))
            await conn.half_close(call)
        except RPCError:
            if not call.ended:
                raise
        except BaseException as exc:
            conn.cancel(call, Condition.REQUESTS_FAILED.error(exc=repr(exc)))
            raise
        return await _one_response(conn, call, response_type)

    def bidi_streaming(self, path: str, requests: Union[AsyncIterable[Message], Iterable[Message]],
                       response_type: Type[R], *, timeout: Optional[float] = None,
                       metadata: Optional[Mapping[str, str]] = None) -> AsyncResponseIterator[R]:
        return AsyncResponseIterator(self, path, None, requests, response_type, timeout, metadata)


class AsyncClient(AsyncRunAPI):
    """Async stubs of every service over one `AsyncChannel`, and the high-level API of the
    threaded `Client` as coroutines: `start_run` (an `AsyncRun`, journalled when the daemon
    cannot be reached), `resume_run`, `get_run`, `search_runs`, `history`, `compare`."""

    def __init__(self, channel: AsyncChannel) -> None:
        self.channel = channel
        self.system = system_tally.SystemAsyncStub(channel)
        self.diagnostics = system_tally.DiagnosticsAsyncStub(channel)
        self.tracking = tracking_tally.TrackingAsyncStub(channel)
        self.experiments = experiments_tally.ExperimentsAsyncStub(channel)
        for attribute, stub in stub_classes(asynchronous=True).items():
            if not hasattr(self, attribute):  # services added to proto/ later
                setattr(self, attribute, stub(channel))

    async def close(self) -> None:
        self._close_sync()
        await self.channel.close()

    async def whoami(self) -> ConnectionInfo:
        """Who the daemon takes this client for: `user`, `role`, `transport`, `peer_subject`
        (see `tally.Client.whoami`)."""
        return await self.channel.whoami()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def connect(socket: Optional[str] = None, *, url: Optional[str] = None, token: Optional[str] = None,
            ca: Optional[str] = None, **options: Any) -> AsyncClient:
    """An `AsyncClient` for the daemon at `url` or `socket` (default: `$TALLY_URL`, else
    `$TALLY_SOCKET` or the default path), with the access token `token` (else `$TALLY_TOKEN`)
    and, for TLS with a private CA, its certificate file `ca` (else `$TALLY_CA`). The connection
    opens on the first call."""
    return AsyncClient(AsyncChannel(socket, url=url, token=token, ca=ca, **options))


async def start_run(experiment: str = "default", *, client: Optional[AsyncClient] = None, **options: Any) -> AsyncRun:
    """Starts a run (see `tally.start_run`) with `client`, else a client of its own on the
    default socket (closed with the client's process)."""
    return await (client or _default_client()).start_run(experiment, **options)


_default: Optional[AsyncClient] = None


def _default_client() -> AsyncClient:
    global _default
    if _default is None:
        _default = connect()
    return _default
