"""The synchronous transport: one Unix-socket connection carrying many concurrent calls.

`Connection` speaks docs/protocol.md: the HELLO handshake, call multiplexing, per-call flow
control in both directions, deadlines, cancellation and GOAWAY. A reader thread demultiplexes
frames into per-call queues and never blocks on a consumer (a queue holds at most the window
the client granted, which the daemon respects). A thread waiting for the answer of its own
unary or client-streaming call reads the socket itself while no other thread does (the reader
thread then waits), so the answer needs no wake-up of a second thread. `Channel` is what the
generated stubs call: it (re)connects lazily, so a new connection is opened after the daemon
restarts or after `os.fork()`.
"""

import os
import select
import socket as _socket
import struct
import threading
import time
import weakref
from collections import deque
from typing import (Any, Callable, Deque, Dict, Generic, Iterable, Iterator, List, Mapping,
                    Optional, Type, TypeVar)

from google.protobuf.message import Message

from tally import _autostart, _wire
from tally._wire import (CANCEL, END, END_STREAM, GOAWAY, HALF_CLOSE, HELLO, MESSAGE, PING,
                         PONG, START, WINDOW)
from tally.errors import RPCError
from tally.v1 import wire_pb2

R = TypeVar("R", bound=Message)

_OK = object()  # status of a call that ended with OK


def _cancelled(message: str = "the call was cancelled") -> RPCError:
    return RPCError.from_status(_wire.CANCELLED, message)


def _deadline() -> RPCError:
    return RPCError.from_status(_wire.DEADLINE_EXCEEDED, "the call's deadline passed before it finished")


class _Call:
    """State of one call; guarded by its connection's lock."""

    __slots__ = ("id", "method", "deadline", "cond", "responses", "status", "send_window",
                 "consumed", "local", "on_ready", "__weakref__")

    def __init__(self, method: str, deadline: Optional[float], lock: "threading.RLock", window: int) -> None:
        self.id = 0
        self.method = method
        self.deadline = deadline
        self.cond = threading.Condition(lock)
        self.responses: Deque[bytes] = deque()
        self.status: Any = None  # None while open; _OK or an RPCError once ended
        self.send_window = window
        self.consumed = 0
        self.local = False  # ended locally (cancel, deadline): ignore what the daemon still sends
        self.on_ready: Optional[Callable[[], None]] = None


class Connection:
    """One handshaken connection to the daemon. Thread-safe; see the module docstring."""

    def __init__(self, path: str, sock: _socket.socket, reply: wire_pb2.HelloReply,
                 decoder: _wire.FrameDecoder, initial_window: int) -> None:
        self.path = path
        self.pid = os.getpid()
        self.reply = reply
        self.max_frame_size = reply.max_frame_size or _wire.DEFAULT_MAX_FRAME
        self.send_window_initial = reply.initial_window or _wire.DEFAULT_WINDOW
        self.recv_window = initial_window
        self._sock = sock
        self._decoder = decoder
        # Reentrant: a response iterator garbage-collected while this thread holds a lock cancels
        # its call from __del__, which takes them again.
        self._lock = threading.RLock()
        self._wlock = threading.RLock()
        self._slots_cond = threading.Condition(self._lock)
        self._slots = max(1, reply.max_concurrent_calls or 100)
        self._calls: Dict[int, _Call] = {}
        self._next_id = 1
        self._goaway: Optional[RPCError] = None
        self._closed: Optional[RPCError] = None
        # Whoever reads the socket and dispatches what it brings holds this: the reader thread, or
        # a thread waiting for its own call's answer (see `read_until_ended`), which then needs
        # no wake-up from another thread.
        self._read_lock = threading.Lock()
        self._caller_poll = select.poll()
        self._caller_poll.register(sock.fileno(), select.POLLIN)
        self._reader = threading.Thread(target=self._read_loop, name=f"tally-reader-{path}", daemon=True)
        self._reader.start()

    # -- connecting ----------------------------------------------------------------------------

    @classmethod
    def connect(cls, path: Optional[str] = None, *, timeout: float = 5.0,
                max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                initial_window: int = _wire.DEFAULT_WINDOW,
                client_name: str = _wire.CLIENT_NAME,
                daemon_uid: Optional[int] = None, autostart: bool = True) -> "Connection":
        """Connects to the daemon and performs the handshake; raises `Unavailable` naming the
        socket when nothing listens there, `PermissionDenied` naming the daemon's uid when it runs
        as another user than this one, root or `daemon_uid` (default `$TALLY_DAEMON_UID`), before
        anything is sent, and `DeadlineExceeded` when no answer comes in `timeout`.

        When nothing listens and `autostart` (and `$TALLY_AUTOSTART` is not 0), it starts
        `tally serve` on `path` first, waits until it is ready and connects once more."""
        path = path or _wire.default_socket_path()
        try:
            sock = cls._open_socket(path, timeout)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if not (autostart and _autostart.should_start(exc)):
                raise _wire.connect_error(path, reason) from None
            if _autostart.executable() is None:
                raise _autostart.no_executable(path, reason) from None
            _autostart.autostart(path, _autostart.timeout())
            try:
                sock = cls._open_socket(path, timeout)
            except OSError as again:
                raise _autostart.failed(path, again.strerror or str(again)) from None
        try:
            _wire.check_daemon(path, sock, daemon_uid)
        except BaseException:
            sock.close()
            raise
        decoder = _wire.FrameDecoder(max_frame_size)
        deadline = time.monotonic() + timeout
        try:
            sock.sendall(_wire.hello_frame(max_frame_size, initial_window, client_name))
            reply = None
            while reply is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _socket.timeout()
                sock.settimeout(remaining)
                data = sock.recv(65536)
                if not data:
                    raise _wire.connect_error(path, "the daemon closed the connection during the handshake")
                for frame in decoder.feed(data):
                    if frame.kind == GOAWAY:
                        raise _wire.status_of_goaway(frame.payload)[0]
                    if frame.kind == HELLO:
                        reply = wire_pb2.HelloReply.FromString(frame.payload)
                        break
        except _socket.timeout:
            sock.close()
            raise RPCError.from_status(
                _wire.DEADLINE_EXCEEDED, f"the daemon at {path} did not answer the handshake within {timeout}s") from None
        except ConnectionError as exc:
            # A refused peer may see the connection reset after its GOAWAY was lost.
            sock.close()
            raise _wire.connect_error(path, exc.strerror or str(exc)) from None
        except _wire.FrameError as exc:
            sock.close()
            raise RPCError.from_status(_wire.INTERNAL, f"bad frame from the daemon: {exc}") from None
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return cls(path, sock, reply, decoder, initial_window)

    @staticmethod
    def _open_socket(path: str, timeout: float) -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return sock

    @property
    def usable(self) -> bool:
        """Whether new calls can go on this connection (open, no GOAWAY, same process)."""
        return self._closed is None and self._goaway is None and self.pid == os.getpid()

    def close(self) -> None:
        """Fails the open calls with CANCELLED and closes the socket."""
        self._shutdown(_cancelled("the connection was closed by the client"))

    # -- reading -------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        error: RPCError = RPCError.from_status(_wire.UNAVAILABLE, "the connection to the daemon closed")
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        try:
            while True:
                poller.poll()
                with self._read_lock:
                    if not self._read_available():
                        break
        except _wire.FrameError as exc:
            error = self._bad_frame(exc)
        except OSError:
            pass
        except Exception as exc:  # a bug must not leave callers waiting forever
            error = RPCError.from_status(_wire.INTERNAL, f"reader failed: {exc!r}")
        self._shutdown(self._goaway or error)

    def read_until_ended(self, call: _Call) -> None:
        """Reads and dispatches frames on this thread until `call` ends, if no other thread is
        reading: the answer then reaches its caller without a wake-up of the reader thread.
        Returns at once otherwise, and at the call's deadline or any trouble, leaving the rest
        to the reader thread and `recv`."""
        if not self._read_lock.acquire(blocking=False):
            return
        try:
            while call.status is None and self._closed is None:
                timeout_ms = None
                if call.deadline is not None:
                    remaining = call.deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    timeout_ms = max(1, int(remaining * 1000))
                if not self._caller_poll.poll(timeout_ms):
                    continue
                try:
                    if not self._read_available():
                        return  # the reader thread sees the end of the stream too
                except _wire.FrameError as exc:
                    self._shutdown(self._bad_frame(exc))
                    return
                except OSError:
                    return
        finally:
            self._read_lock.release()

    def _read_available(self) -> bool:
        """Reads what the socket holds, without waiting, and dispatches its frames; the caller
        holds the read lock. False at the end of the stream; raises `FrameError` and `OSError`."""
        try:
            data = self._sock.recv(262144, _socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True  # nothing there: another thread read it first
        if not data:
            return False
        for frame in self._decoder.feed(data):
            self._dispatch(frame)
        return True

    @staticmethod
    def _bad_frame(exc: _wire.FrameError) -> RPCError:
        return RPCError.from_status(_wire.RESOURCE_EXHAUSTED if "above the limit" in str(exc) else _wire.INTERNAL,
                                    f"bad frame from the daemon: {exc}")

    def _dispatch(self, frame: _wire.Frame) -> None:
        kind = frame.kind
        if kind == MESSAGE:
            with self._lock:
                call = self._calls.get(frame.call_id)
                if call is None or call.status is not None:
                    return
                call.responses.append(frame.payload)
                call.cond.notify_all()
                ready = call.on_ready
            if ready is not None:
                ready()
        elif kind == END:
            with self._lock:
                call = self._calls.pop(frame.call_id, None)
                if call is None:
                    return
                self._slots += 1
                self._slots_cond.notify()
                if call.status is None:
                    status = _wire.status_of_end(frame.payload)
                    call.status = _OK if status is None else status
                call.cond.notify_all()
                ready = call.on_ready
            if ready is not None:
                ready()
        elif kind == WINDOW:
            if len(frame.payload) != 4:
                raise _wire.FrameError("WINDOW payload is not 4 bytes")
            (credit,) = struct.unpack(">I", frame.payload)
            with self._lock:
                call = self._calls.get(frame.call_id)
                if call is not None:
                    call.send_window += credit
                    call.cond.notify_all()
        elif kind == GOAWAY:
            error, last = _wire.status_of_goaway(frame.payload)
            with self._lock:
                self._goaway = error
                refused = [self._calls.pop(cid) for cid in list(self._calls) if cid > last]
                for call in refused:
                    self._slots += 1
                    if call.status is None:
                        call.status = error
                    call.cond.notify_all()
                self._slots_cond.notify_all()
            for call in refused:
                if call.on_ready is not None:
                    call.on_ready()
        elif kind == PING:
            frame_bytes = _wire.encode_frame(PONG, 0, frame.payload)
            threading.Thread(target=self._write_quietly, args=(frame_bytes,), daemon=True).start()
        # HELLO, START, HALF_CLOSE, CANCEL and PONG from the daemon are ignored.

    def _shutdown(self, error: RPCError) -> None:
        with self._lock:
            if self._closed is not None:
                return
            self._closed = error
            calls = list(self._calls.values())
            self._calls.clear()
            for call in calls:
                if call.status is None:
                    call.status = error
                call.cond.notify_all()
            self._slots_cond.notify_all()
        for call in calls:
            if call.on_ready is not None:
                call.on_ready()
        if self.pid == os.getpid():  # a forked child must not shut down its parent's socket
            try:
                self._sock.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self._sock.close()
        except OSError:
            pass

    # -- writing -------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            with self._wlock:
                self._sock.sendall(data)
        except OSError as exc:
            error = self._goaway or RPCError.from_status(_wire.UNAVAILABLE, f"the connection to the daemon closed: {exc.strerror or exc}")
            self._shutdown(error)
            raise error from None

    def _write_quietly(self, data: bytes) -> None:
        try:
            self._write(data)
        except RPCError:
            pass

    # -- calls ---------------------------------------------------------------------------------

    def start_call(self, method: str, *, timeout: Optional[float] = None,
                   metadata: Optional[Mapping[str, str]] = None,
                   first: Optional[bytes] = None, end_stream: bool = False) -> _Call:
        """Opens a call: waits for a concurrency slot, sends START, then `first` as a MESSAGE
        (with END_STREAM when `end_stream`), or HALF_CLOSE when `end_stream` and no `first`."""
        if first is not None and len(first) > self.max_frame_size:
            raise RPCError.from_status(
                _wire.RESOURCE_EXHAUSTED,
                f"the request of {len(first)} bytes is above the connection's frame limit of {self.max_frame_size}")
        deadline = None if timeout is None else time.monotonic() + timeout
        call = _Call(method, deadline, self._lock, self.send_window_initial)
        start = _wire.start_payload(method, timeout, metadata)
        with self._lock:
            while True:
                if self._closed is not None:
                    raise self._closed
                if self._goaway is not None:
                    raise RPCError.from_status(_wire.UNAVAILABLE, f"the daemon is going away: {self._goaway.message}")
                if self._slots > 0:
                    self._slots -= 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise _deadline()
                self._slots_cond.wait(remaining)
        if timeout is not None:
            # The deadline counts from the slot, like the reference client (section 8.2).
            call.deadline = time.monotonic() + timeout
        try:
            with self._wlock:
                with self._lock:
                    if self._closed is not None:
                        raise self._closed
                    call.id = self._next_id
                    self._next_id += 1
                    self._calls[call.id] = call
                data = _wire.encode_frame(START, call.id, start)
                if first is not None:
                    call.send_window -= _wire.message_cost(len(first))
                    data += _wire.encode_frame(MESSAGE, call.id, first, END_STREAM if end_stream else 0)
                elif end_stream:
                    data += _wire.encode_frame(HALF_CLOSE, call.id)
                self._sock.sendall(data)
        except OSError as exc:
            error = RPCError.from_status(_wire.UNAVAILABLE, f"the connection to the daemon closed: {exc.strerror or exc}")
            self._shutdown(error)
            raise error from None
        except RPCError:
            with self._lock:
                if call.id == 0:
                    self._slots += 1
                    self._slots_cond.notify()
            raise
        return call

    def _wait(self, call: _Call, ready: Callable[[], bool]) -> bool:
        """Waits, holding the lock, until `ready()` or the call's deadline, which ends the call
        locally with DEADLINE_EXCEEDED. Returns True when that happened (send CANCEL then)."""
        while not ready():
            if call.deadline is None:
                call.cond.wait()
                continue
            remaining = call.deadline - time.monotonic()
            if remaining <= 0:
                return self._end_locally_locked(call, _deadline())
            call.cond.wait(remaining)
        return False

    @staticmethod
    def _end_locally_locked(call: _Call, error: RPCError) -> bool:
        """Ends an open call on this side. True if it was open (the caller then sends CANCEL)."""
        if call.status is not None:
            return False
        call.status = error
        call.local = True
        call.responses.clear()
        call.cond.notify_all()
        return True

    def _send_cancel(self, call: _Call) -> None:
        # The call stays in the table, holding its slot, until the daemon's END (section 4.6).
        if call.id:
            try:
                self._write(_wire.encode_frame(CANCEL, call.id))
            except RPCError:
                pass

    def send(self, call: _Call, payload: bytes, end_stream: bool = False) -> None:
        """Sends one request MESSAGE, waiting while the call's send window is not positive.
        Raises the call's status if it has ended."""
        if len(payload) > self.max_frame_size:
            raise RPCError.from_status(
                _wire.RESOURCE_EXHAUSTED,
                f"the request of {len(payload)} bytes is above the connection's frame limit of {self.max_frame_size}")
        with self._lock:
            expired = self._wait(call, lambda: call.status is not None or call.send_window > 0)
            status = call.status
            if status is None:
                call.send_window -= _wire.message_cost(len(payload))
        if expired:
            self._send_cancel(call)
        if status is not None:
            raise status if isinstance(status, RPCError) else RPCError.from_status(
                _wire.FAILED_PRECONDITION, "the call has ended")
        self._write(_wire.encode_frame(MESSAGE, call.id, payload, END_STREAM if end_stream else 0))

    def half_close(self, call: _Call) -> None:
        """Ends the request stream (HALF_CLOSE); no-op once the call has ended."""
        if call.status is None:
            self._write(_wire.encode_frame(HALF_CLOSE, call.id))

    def cancel(self, call: _Call, error: Optional[RPCError] = None) -> None:
        """Ends the call with CANCELLED (or `error`) and sends CANCEL; no-op once it has ended."""
        with self._lock:
            was_open = self._end_locally_locked(call, error or _cancelled())
        if was_open:
            self._send_cancel(call)

    def recv(self, call: _Call, block: bool = True) -> Optional[bytes]:
        """The next response payload, or None at the clean end of the stream (when not blocking,
        also when nothing has arrived yet: see `ended`). Raises the call's error status and
        grants flow-control credit back as responses are taken (section 5.2)."""
        grant = 0
        expired = False
        with self._lock:
            if block:
                expired = self._wait(call, lambda: bool(call.responses) or call.status is not None)
            status = call.status
            payload: Optional[bytes] = None
            if call.responses:
                payload = call.responses.popleft()
                if status is None:
                    call.consumed += _wire.message_cost(len(payload))
                    if call.consumed >= self.recv_window // 2:
                        grant, call.consumed = call.consumed, 0
        if expired:
            self._send_cancel(call)
        if payload is not None:
            if grant:
                try:
                    self._write(_wire.window_frame(call.id, grant))
                except RPCError:
                    pass
            return payload
        if isinstance(status, RPCError):
            raise status
        return None

    @staticmethod
    def ended(call: _Call) -> bool:
        """Whether the call has ended and every response it received was taken."""
        return call.status is not None and not call.responses


# ---------------------------------------------------------------------------------------------
# Channel: what the generated stubs call.

_channels: "weakref.WeakSet[Channel]" = weakref.WeakSet()


class ResponseIterator(Generic[R]):
    """Responses of a streaming call. Closing it (`close()`, leaving a `with` block, breaking
    out of a `for` loop over it and dropping it, or garbage collection) cancels the call."""

    def __init__(self, connection: Connection, call: _Call, response_type: Type[R],
                 sender: Optional[threading.Thread] = None) -> None:
        self._connection = connection
        self._call = call
        self._type = response_type
        self._sender = sender

    def __iter__(self) -> "ResponseIterator[R]":
        return self

    def __next__(self) -> R:
        payload = self._connection.recv(self._call)
        if payload is None:
            raise StopIteration
        try:
            return self._type.FromString(payload)
        except Exception as exc:
            error = RPCError.from_status(_wire.INTERNAL, f"cannot decode {self._type.DESCRIPTOR.full_name}: {exc}")
            self._connection.cancel(self._call, error)
            raise error from None

    def next(self, timeout: Optional[float] = None) -> Optional[R]:
        """The next response, waiting at most `timeout` seconds (None: forever); None when
        nothing came in time. Raises StopIteration at the end of the stream."""
        if timeout is not None:
            end = time.monotonic() + timeout
            with self._connection._lock:
                while not self._call.responses and self._call.status is None:
                    remaining = end - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._call.cond.wait(remaining)
        return self.__next__()

    @property
    def call_id(self) -> int:
        return self._call.id

    @property
    def done(self) -> bool:
        """Whether the call has ended and every response was taken."""
        return Connection.ended(self._call)

    def cancel(self) -> None:
        """Cancels the call (CANCEL is sent); iterating afterwards raises `Cancelled`."""
        self._connection.cancel(self._call)

    def close(self) -> None:
        """Cancels the call unless it has already ended."""
        if self._call.status is None:
            self._connection.cancel(self._call)

    def __enter__(self) -> "ResponseIterator[R]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._call.status is None and self._connection.pid == os.getpid():
                self._connection.cancel(self._call)
        except Exception:
            pass


def _one_response(connection: Connection, call: _Call, response_type: Type[R]) -> R:
    """The single response of a unary or client-streaming call, checked to be exactly one."""
    connection.read_until_ended(call)
    payload = connection.recv(call)
    if payload is None:
        raise RPCError.from_status(_wire.INTERNAL, f"{call.method} ended OK without a response")
    extra = connection.recv(call)
    if extra is not None:
        connection.cancel(call)
        raise RPCError.from_status(_wire.INTERNAL, f"{call.method} sent more than one response")
    try:
        return response_type.FromString(payload)
    except Exception as exc:
        raise RPCError.from_status(_wire.INTERNAL, f"cannot decode {response_type.DESCRIPTOR.full_name}: {exc}") from None


def _encode(request: Message) -> bytes:
    try:
        return request.SerializeToString()
    except Exception as exc:
        raise RPCError.from_status(_wire.INVALID_ARGUMENT, f"the request cannot be encoded: {exc}") from None


class Channel:
    """Calls over one shared connection to the daemon, opened on first use and reopened for new
    calls after it closes (daemon restart) or after `os.fork()`. Thread-safe."""

    def __init__(self, socket: Optional[str] = None, *, connect_timeout: float = 5.0,
                 max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                 initial_window: int = _wire.DEFAULT_WINDOW,
                 daemon_uid: Optional[int] = None, autostart: bool = True) -> None:
        self.socket_path = socket or _wire.default_socket_path()
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.initial_window = initial_window
        self.daemon_uid = daemon_uid
        # Start a daemon when none listens (`$TALLY_AUTOSTART` permitting), for the first
        # connection only: a daemon that goes away later is not replaced behind its owner's back.
        self.autostart = autostart
        self._lock = threading.Lock()
        self._connection: Optional[Connection] = None
        self._connected = False
        self._closed = False
        _channels.add(self)

    def connection(self) -> Connection:
        """The current connection, connecting (again) if needed."""
        conn = self._connection
        if conn is not None and conn.usable:
            return conn
        with self._lock:
            if self._closed:
                raise _cancelled("the channel is closed")
            conn = self._connection
            if conn is None or not conn.usable:
                self._connection = conn = Connection.connect(
                    self.socket_path, timeout=self.connect_timeout,
                    max_frame_size=self.max_frame_size, initial_window=self.initial_window,
                    daemon_uid=self.daemon_uid, autostart=self.autostart and not self._connected)
                self._connected = True
            return conn

    def close(self) -> None:
        """Closes the connection; calls in flight fail with CANCELLED."""
        with self._lock:
            self._closed = True
            conn, self._connection = self._connection, None
        if conn is not None and conn.pid == os.getpid():
            conn.close()

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _after_fork(self) -> None:
        # Locks may have been held by threads that do not exist in the child; the parent's
        # connection (and its socket) belongs to the parent.
        self._lock = threading.Lock()
        self._connection = None

    # -- the four call shapes ------------------------------------------------------------------

    def unary(self, path: str, request: Message, response_type: Type[R], *,
              timeout: Optional[float] = None, metadata: Optional[Mapping[str, str]] = None) -> R:
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata, first=_encode(request), end_stream=True)
        return _one_response(conn, call, response_type)

    def server_streaming(self, path: str, request: Message, response_type: Type[R], *,
                         timeout: Optional[float] = None,
                         metadata: Optional[Mapping[str, str]] = None) -> ResponseIterator[R]:
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata, first=_encode(request), end_stream=True)
        return ResponseIterator(conn, call, response_type)

    def client_streaming(self, path: str, requests: Iterable[Message], response_type: Type[R], *,
                         timeout: Optional[float] = None,
                         metadata: Optional[Mapping[str, str]] = None) -> R:
        conn = self.connection()
        iterator = iter(requests)
        first = next(iterator, None)
        call = conn.start_call(path, timeout=timeout, metadata=metadata,
                               first=None if first is None else _encode(first), end_stream=first is None)
        if first is not None:
            try:
                for request in iterator:
                    conn.send(call, _encode(request))
                conn.half_close(call)
            except RPCError:
                if call.status is None:
                    raise
                # The call ended early: its status (below) says why.
            except BaseException as exc:
                conn.cancel(call, _cancelled(f"the request iterator raised {exc!r}"))
                raise
        return _one_response(conn, call, response_type)

    def bidi_streaming(self, path: str, requests: Iterable[Message], response_type: Type[R], *,
                       timeout: Optional[float] = None,
                       metadata: Optional[Mapping[str, str]] = None) -> ResponseIterator[R]:
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata)

        def send_all() -> None:
            try:
                for request in requests:
                    if call.status is not None:
                        return
                    conn.send(call, _encode(request))
                conn.half_close(call)
            except RPCError:
                pass
            except BaseException as exc:
                conn.cancel(call, _cancelled(f"the request iterator raised {exc!r}"))

        sender = threading.Thread(target=send_all, name=f"tally-send-{call.id}", daemon=True)
        sender.start()
        return ResponseIterator(conn, call, response_type, sender)

    def open_call(self, path: str, *, timeout: Optional[float] = None,
                  metadata: Optional[Mapping[str, str]] = None) -> "RawCall":
        """A call with explicit `send`/`half_close`/`recv`/`cancel`, for callers that drive
        both directions themselves (the metric batcher does)."""
        conn = self.connection()
        return RawCall(conn, conn.start_call(path, timeout=timeout, metadata=metadata))


class RawCall:
    """A call whose requests and responses the caller moves by hand (serialized bytes)."""

    def __init__(self, connection: Connection, call: _Call) -> None:
        self.connection = connection
        self._call = call

    def send(self, payload: bytes, end_stream: bool = False) -> None:
        self.connection.send(self._call, payload, end_stream)

    def half_close(self) -> None:
        self.connection.half_close(self._call)

    def recv(self, block: bool = True) -> Optional[bytes]:
        return self.connection.recv(self._call, block)

    def cancel(self, error: Optional[RPCError] = None) -> None:
        self.connection.cancel(self._call, error)

    def set_on_ready(self, callback: Optional[Callable[[], None]]) -> None:
        """`callback` runs (on the reader thread; it must not block) when a response or the end arrives."""
        self._call.on_ready = callback

    @property
    def ended(self) -> bool:
        return Connection.ended(self._call)

    @property
    def status(self) -> Optional[RPCError]:
        status = self._call.status
        return status if isinstance(status, RPCError) else None


def _reset_after_fork() -> None:
    for channel in list(_channels):
        channel._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
