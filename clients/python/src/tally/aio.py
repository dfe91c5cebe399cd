"""asyncio variant of the transport and stubs.

```python
import tally.aio

async with tally.aio.connect() as client:
    info = await client.system.info(tally.v1.system_pb2.InfoRequest())
    async for chunk in client.tracking.get_metric_history(request):
        ...
```

`AsyncChannel` speaks the same protocol as `tally.Channel` (framing, handshake, flow control,
deadlines, cancellation) on asyncio's Unix socket streams, within one event loop.
"""

import asyncio
import struct
import time
from collections import deque
from typing import (Any, AsyncIterable, AsyncIterator, Deque, Dict, Generic, Iterable, Mapping,
                    Optional, Type, TypeVar, Union)

from google.protobuf.message import Message

from tally import _autostart, _wire
from tally._wire import (CANCEL, END, END_STREAM, GOAWAY, HALF_CLOSE, HELLO, MESSAGE, PING,
                         PONG, START, WINDOW)
from tally.errors import RPCError
from tally._services import stub_classes
from tally.v1 import experiments_tally, system_tally, tracking_tally, wire_pb2

__all__ = ["AsyncChannel", "AsyncClient", "AsyncResponseIterator", "connect"]

R = TypeVar("R", bound=Message)
_OK = object()


class _ACall:
    def __init__(self, method: str, deadline: Optional[float], window: int) -> None:
        self.id = 0
        self.method = method
        self.deadline = deadline
        self.responses: Deque[bytes] = deque()
        self.status: Any = None
        self.send_window = window
        self.consumed = 0
        self.changed = asyncio.Event()

    def poke(self) -> None:
        self.changed.set()


class AsyncConnection:
    """One handshaken connection; use it from the event loop that created it."""

    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 reply: wire_pb2.HelloReply, decoder: _wire.FrameDecoder, initial_window: int) -> None:
        self.path = path
        self.reply = reply
        self.max_frame_size = reply.max_frame_size or _wire.DEFAULT_MAX_FRAME
        self.send_window_initial = reply.initial_window or _wire.DEFAULT_WINDOW
        self.recv_window = initial_window
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._calls: Dict[int, _ACall] = {}
        self._next_id = 1
        self._slots = max(1, reply.max_concurrent_calls or 100)
        self._slot_event = asyncio.Event()
        self._goaway: Optional[RPCError] = None
        self._closed: Optional[RPCError] = None
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @classmethod
    async def connect(cls, path: Optional[str] = None, *, timeout: float = 5.0,
                      max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                      initial_window: int = _wire.DEFAULT_WINDOW,
                      daemon_uid: Optional[int] = None, autostart: bool = True) -> "AsyncConnection":
        """Connects and performs the handshake; like `tally.Connection.connect`, refuses a daemon
        of another user than this one, root or `daemon_uid` before anything is sent, and starts
        `tally serve` when nothing listens (unless `autostart` is False or `$TALLY_AUTOSTART` is 0)."""
        path = path or _wire.default_socket_path()

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
        decoder = _wire.FrameDecoder(max_frame_size)
        writer.write(_wire.hello_frame(max_frame_size, initial_window))

        async def handshake() -> wire_pb2.HelloReply:
            while True:
                data = await reader.read(65536)
                if not data:
                    raise _wire.connect_error(path, "the daemon closed the connection during the handshake")
                for frame in decoder.feed(data):
                    if frame.kind == GOAWAY:
                        raise _wire.status_of_goaway(frame.payload)[0]
                    if frame.kind == HELLO:
                        return wire_pb2.HelloReply.FromString(frame.payload)

        try:
            await writer.drain()
            reply = await asyncio.wait_for(handshake(), timeout)
        except asyncio.TimeoutError:
            writer.close()
            raise RPCError.from_status(
                _wire.DEADLINE_EXCEEDED, f"the daemon at {path} did not answer the handshake within {timeout}s") from None
        except ConnectionError as exc:
            writer.close()
            raise _wire.connect_error(path, exc.strerror or str(exc)) from None
        except BaseException:
            writer.close()
            raise
        return cls(path, reader, writer, reply, decoder, initial_window)

    @property
    def usable(self) -> bool:
        return self._closed is None and self._goaway is None

    async def close(self) -> None:
        self._shutdown(RPCError.from_status(_wire.CANCELLED, "the connection was closed by the client"))
        self._task.cancel()
        try:
            await self._task
        except BaseException:
            pass

    async def _read_loop(self) -> None:
        error = RPCError.from_status(_wire.UNAVAILABLE, "the connection to the daemon closed")
        try:
            while True:
                data = await self._reader.read(262144)
                if not data:
                    break
                for frame in self._decoder.feed(data):
                    self._dispatch(frame)
        except _wire.FrameError as exc:
            error = RPCError.from_status(_wire.INTERNAL, f"bad frame from the daemon: {exc}")
        except (OSError, asyncio.CancelledError):
            pass
        self._shutdown(self._goaway or error)

    def _dispatch(self, frame: _wire.Frame) -> None:
        call = self._calls.get(frame.call_id)
        if frame.kind == MESSAGE:
            if call is not None and call.status is None:
                call.responses.append(frame.payload)
                call.poke()
        elif frame.kind == END:
            if call is not None:
                del self._calls[frame.call_id]
                self._release_slot()
                if call.status is None:
                    status = _wire.status_of_end(frame.payload)
                    call.status = _OK if status is None else status
                call.poke()
        elif frame.kind == WINDOW:
            if len(frame.payload) != 4:
                raise _wire.FrameError("WINDOW payload is not 4 bytes")
            if call is not None:
                call.send_window += struct.unpack(">I", frame.payload)[0]
                call.poke()
        elif frame.kind == GOAWAY:
            error, last = _wire.status_of_goaway(frame.payload)
            self._goaway = error
            for cid in [cid for cid in self._calls if cid > last]:
                refused = self._calls.pop(cid)
                self._release_slot()
                if refused.status is None:
                    refused.status = error
                refused.poke()
        elif frame.kind == PING:
            self._write(_wire.encode_frame(PONG, 0, frame.payload))

    def _release_slot(self) -> None:
        self._slots += 1
        self._slot_event.set()

    def _shutdown(self, error: RPCError) -> None:
        if self._closed is not None:
            return
        self._closed = error
        for call in self._calls.values():
            if call.status is None:
                call.status = error
            call.poke()
        self._calls.clear()
        self._slot_event.set()
        try:
            self._writer.close()
        except Exception:
            pass

    def _write(self, data: bytes) -> None:
        if self._closed is not None:
            raise self._closed
        self._writer.write(data)

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            error = self._goaway or RPCError.from_status(_wire.UNAVAILABLE, f"the connection to the daemon closed: {exc}")
            self._shutdown(error)
            raise error from None

    async def _wait(self, call: _ACall, ready: Any) -> None:
        while not ready():
            call.changed.clear()
            if call.deadline is None:
                await call.changed.wait()
                continue
            remaining = call.deadline - time.monotonic()
            if remaining <= 0:
                self.cancel(call, RPCError.from_status(_wire.DEADLINE_EXCEEDED, "the call's deadline passed before it finished"))
                return
            try:
                await asyncio.wait_for(call.changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def start_call(self, method: str, *, timeout: Optional[float], metadata: Optional[Mapping[str, str]],
                         first: Optional[bytes] = None, end_stream: bool = False) -> _ACall:
        if first is not None and len(first) > self.max_frame_size:
            raise RPCError.from_status(_wire.RESOURCE_EXHAUSTED, f"the request of {len(first)} bytes is above the frame limit of {self.max_frame_size}")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed is not None:
                raise self._closed
            if self._goaway is not None:
                raise RPCError.from_status(_wire.UNAVAILABLE, f"the daemon is going away: {self._goaway.message}")
            if self._slots > 0:
                self._slots -= 1
                break
            self._slot_event.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RPCError.from_status(_wire.DEADLINE_EXCEEDED, "no call slot became free before the deadline")
            try:
                await asyncio.wait_for(self._slot_event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        call = _ACall(method, None if timeout is None else time.monotonic() + timeout, self.send_window_initial)
        call.id = self._next_id
        self._next_id += 1
        self._calls[call.id] = call
        data = _wire.encode_frame(START, call.id, _wire.start_payload(method, timeout, metadata))
        if first is not None:
            call.send_window -= _wire.message_cost(len(first))
            data += _wire.encode_frame(MESSAGE, call.id, first, END_STREAM if end_stream else 0)
        elif end_stream:
            data += _wire.encode_frame(HALF_CLOSE, call.id)
        self._write(data)
        await self._drain()
        return call

    async def send(self, call: _ACall, payload: bytes) -> None:
        if len(payload) > self.max_frame_size:
            raise RPCError.from_status(_wire.RESOURCE_EXHAUSTED, f"the request of {len(payload)} bytes is above the frame limit of {self.max_frame_size}")
        await self._wait(call, lambda: call.status is not None or call.send_window > 0)
        if call.status is not None:
            raise call.status if isinstance(call.status, RPCError) else RPCError.from_status(_wire.FAILED_PRECONDITION, "the call has ended")
        call.send_window -= _wire.message_cost(len(payload))
        self._write(_wire.encode_frame(MESSAGE, call.id, payload))
        await self._drain()

    async def half_close(self, call: _ACall) -> None:
        if call.status is None:
            self._write(_wire.encode_frame(HALF_CLOSE, call.id))
            await self._drain()

    def cancel(self, call: _ACall, error: Optional[RPCError] = None) -> None:
        if call.status is not None:
            return
        call.status = error or RPCError.from_status(_wire.CANCELLED, "the call was cancelled")
        call.responses.clear()
        call.poke()
        if self._closed is None and call.id:
            self._writer.write(_wire.encode_frame(CANCEL, call.id))

    async def recv(self, call: _ACall) -> Optional[bytes]:
        await self._wait(call, lambda: bool(call.responses) or call.status is not None)
        if call.responses:
            payload = call.responses.popleft()
            if call.status is None:
                call.consumed += _wire.message_cost(len(payload))
                if call.consumed >= self.recv_window // 2:
                    grant, call.consumed = call.consumed, 0
                    if self._closed is None:
                        self._writer.write(_wire.window_frame(call.id, grant))
            return payload
        if isinstance(call.status, RPCError):
            raise call.status
        return None


async def _one_response(conn: AsyncConnection, call: _ACall, response_type: Type[R]) -> R:
    payload = await conn.recv(call)
    if payload is None:
        raise RPCError.from_status(_wire.INTERNAL, f"{call.method} ended OK without a response")
    if await conn.recv(call) is not None:
        conn.cancel(call)
        raise RPCError.from_status(_wire.INTERNAL, f"{call.method} sent more than one response")
    return response_type.FromString(payload)


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
                                               first=self._request.SerializeToString(), end_stream=True)
        else:
            call = self._call = await conn.start_call(self._path, timeout=self._timeout, metadata=self._metadata)
            requests = self._requests

            async def send_all() -> None:
                try:
                    if hasattr(requests, "__aiter__"):
                        async for request in requests:  # type: ignore[union-attr]
                            await conn.send(call, request.SerializeToString())
                    else:
                        for request in requests:  # type: ignore[union-attr]
                            await conn.send(call, request.SerializeToString())
                    await conn.half_close(call)
                except RPCError:
                    pass
                except Exception as exc:
                    conn.cancel(call, RPCError.from_status(_wire.CANCELLED, f"the request iterator raised {exc!r}"))

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
        return self._type.FromString(payload)

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
    """The asyncio counterpart of `tally.Channel`; reconnects lazily for new calls."""

    def __init__(self, socket: Optional[str] = None, *, connect_timeout: float = 5.0,
                 max_frame_size: int = _wire.DEFAULT_MAX_FRAME, initial_window: int = _wire.DEFAULT_WINDOW,
                 daemon_uid: Optional[int] = None, autostart: bool = True) -> None:
        self.socket_path = socket or _wire.default_socket_path()
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.initial_window = initial_window
        self.daemon_uid = daemon_uid
        self.autostart = autostart  # for the first connection only, like `tally.Channel`
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
                    self.socket_path, timeout=self.connect_timeout,
                    max_frame_size=self.max_frame_size, initial_window=self.initial_window,
                    daemon_uid=self.daemon_uid, autostart=self.autostart and not self._connected)
                self._connected = True
            return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def unary(self, path: str, request: Message, response_type: Type[R], *,
                    timeout: Optional[float] = None, metadata: Optional[Mapping[str, str]] = None) -> R:
        conn = await self.connection()
        call = await conn.start_call(path, timeout=timeout, metadata=metadata,
                                     first=request.SerializeToString(), end_stream=True)
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
                    await conn.send(call, request.SerializeToString())
            else:
                for request in requests:  # type: ignore[union-attr]
                    await conn.send(call, request.SerializeToString())
            await conn.half_close(call)
        except RPCError:
            if call.status is None:
                raise
        except BaseException as exc:
            conn.cancel(call, RPCError.from_status(_wire.CANCELLED, f"the request iterator raised {exc!r}"))
            raise
        return await _one_response(conn, call, response_type)

    def bidi_streaming(self, path: str, requests: Union[AsyncIterable[Message], Iterable[Message]],
                       response_type: Type[R], *, timeout: Optional[float] = None,
                       metadata: Optional[Mapping[str, str]] = None) -> AsyncResponseIterator[R]:
        return AsyncResponseIterator(self, path, None, requests, response_type, timeout, metadata)


class AsyncClient:
    """Async stubs of every service over one `AsyncChannel`."""

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
        await self.channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def connect(socket: Optional[str] = None, **options: Any) -> AsyncClient:
    """An `AsyncClient` for the daemon at `socket` (default: `$TALLY_SOCKET` or the default
    path). The connection opens on the first call."""
    return AsyncClient(AsyncChannel(socket, **options))
