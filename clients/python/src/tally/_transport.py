"""The synchronous transport: one connection (Unix socket, TCP with TLS, or plaintext TCP on
loopback) carrying many concurrent calls.

`Connection` is the threaded I/O adapter over the protocol core (`tally._protocol`, which holds
every rule of docs/protocol.md: handshake, call ids, flow control, deadlines, cancellation,
GOAWAY). It owns the socket, a reader thread and the locks: every call into the core is made
under `_lock`, every write under `_wlock` (taken before `_lock` where both are held; nothing
waits for a call while holding `_wlock`), and the core's events wake the threads waiting on a
call. A reader thread feeds what the socket brings
to the core and never blocks on a consumer (a call's buffer holds at most the window the client
granted, which the daemon respects). A thread waiting for the answer of its own unary or
client-streaming call reads the socket itself while no other thread does (the reader thread
then waits), so the answer needs no wake-up of a second thread. `Channel` is what the
generated stubs call: it (re)connects lazily, so a new connection is opened after the daemon
restarts or after `os.fork()`. Over TLS the socket is a `tally._tls.TLSSocket`, which encrypts in
memory and has the same methods, so the adapter drives both the same way.
"""

import contextlib
import os
import select
import socket as _socket
import ssl
import threading
import time
import weakref
from typing import (Any, Callable, Dict, Generic, Iterable, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Type, TypeVar)

from google.protobuf.message import Message

from tally import _address, _autostart, _protocol, _tls, _wire
from tally._address import Address, ConnectionIdentity, ConnectionInfo
from tally._protocol import (CallEnded, CallReleased, ClientConnectionState, Condition,
                             ConnectionClosed, Event, GoAwayReceived, HandshakeCompleted,
                             MessageReceived, WindowOpened)
from tally.errors import RPCError
from tally.v1 import wire_pb2

R = TypeVar("R", bound=Message)

# What to do once the lock is released: callbacks to run, bytes to write.
_Later = Tuple[List[Callable[[], None]], bytes]


class _Call(_protocol.Call):
    """A call of the threaded transport: the core's record of it, plus the condition its
    threads wait on (on the connection's lock; made by the first thread that has to wait, so
    that a call nobody waits on, such as a unary call whose caller reads its own answer, costs
    no condition and no wake-ups) and the reader's callback."""

    __slots__ = ("cond", "on_ready")

    def __init__(self, method: str) -> None:
        super().__init__(method)
        self.cond: Optional[threading.Condition] = None
        self.on_ready: Optional[Callable[[], None]] = None


class Connection(ConnectionIdentity):
    """One handshaken connection to the daemon. Thread-safe; see the module docstring."""

    def __init__(self, path: str, sock: Any, core: ClientConnectionState, *,
                 address: Optional[Address] = None, peer_certificate: Optional[Dict[str, Any]] = None) -> None:
        self.path = path  # the socket path, or the URL of a TCP address (what messages name)
        self.address = address or Address(_address.UNIX, path=path)
        self.peer_certificate = peer_certificate  # the daemon's certificate (TLS), as getpeercert() gives it
        self.pid = os.getpid()
        self._core = core
        self._sock = sock
        self._tls = sock if isinstance(sock, _tls.TLSSocket) else None
        # Reentrant: a response iterator garbage-collected while this thread holds a lock cancels
        # its call from __del__, which takes them again.
        self._lock = threading.RLock()
        self._wlock = threading.RLock()
        self._corks: Dict[int, List[bytes]] = {}  # per thread: frames held by `corked`
        self._slots_cond = threading.Condition(self._lock)
        self._slot_waiters = 0
        self._socket_closed = False
        # Whoever reads the socket and feeds the core holds this: the reader thread, or a thread
        # waiting for its own call's answer (see `read_until_ended`), which then needs no wake-up
        # from another thread.
        self._read_lock = threading.Lock()
        self._caller_poll = select.poll()
        self._caller_poll.register(sock.fileno(), select.POLLIN)
        self._reader = threading.Thread(target=self._read_loop, name=f"tally-reader-{path}", daemon=True)
        self._reader.start()

    @property
    def info(self) -> ConnectionInfo:
        return self._connection_info(self._sock.version() if isinstance(self._sock, _tls.TLSSocket) else None)

    # -- connecting ----------------------------------------------------------------------------

    @classmethod
    def connect(cls, path: Optional[str] = None, *, timeout: float = 5.0,
                max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                initial_window: int = _wire.DEFAULT_WINDOW,
                client_name: str = _wire.CLIENT_NAME,
                daemon_uid: Optional[int] = None, autostart: bool = True,
                url: Optional[str] = None, token: Optional[str] = None, ca: Optional[str] = None,
                tls_context: Optional[ssl.SSLContext] = None,
                address: Optional[Address] = None) -> "Connection":
        """Connects to the daemon and performs the handshake; raises `Unavailable` naming the
        socket when nothing listens there, `PermissionDenied` naming the daemon's uid when it runs
        as another user than this one, root or `daemon_uid` (default `$TALLY_DAEMON_UID`), before
        anything is sent, and `DeadlineExceeded` when no answer comes in `timeout`.

        The address is `address`, else `url`, else `path` (a socket path or a URL), else
        `$TALLY_URL`, else the socket rules (`tally._address`). Over TCP: `Unavailable` naming the
        URL when nothing answers, `Unauthenticated` when the daemon's TLS certificate is refused
        (`ca` or `$TALLY_CA` names a private CA; `tls_context` replaces the default settings) or
        when the daemon refuses the token (`token`, else `$TALLY_TOKEN`).

        When nothing listens on a Unix socket and `autostart` (and `$TALLY_AUTOSTART` is not 0),
        it starts `tally serve` on `path` first, waits until it is ready and connects once more.
        It never starts a daemon for a TCP address."""
        if address is None:
            address = _address.resolve(url, path)
        token = _address.resolve_token(token)
        if address.remote:
            return cls._connect_tcp(address, timeout=timeout, max_frame_size=max_frame_size,
                                    initial_window=initial_window, client_name=client_name, token=token,
                                    ca=ca, tls_context=tls_context)
        path = address.path
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
            core = ClientConnectionState(max_frame_size=max_frame_size, initial_window=initial_window,
                                         client_name=client_name, path=path, token=token)
            cls._handshake(sock, core, timeout)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return cls(path, sock, core, address=address)

    @classmethod
    def _connect_tcp(cls, address: Address, *, timeout: float, max_frame_size: int, initial_window: int,
                     client_name: str, token: str, ca: Optional[str],
                     tls_context: Optional[ssl.SSLContext]) -> "Connection":
        """TCP (with TLS for "tls"), then the handshake, within `timeout` each."""
        try:
            raw = _socket.create_connection(_address.endpoint(address), timeout)
        except OSError as exc:
            raise _address.connect_error(address, exc.strerror or str(exc) or type(exc).__name__) from None
        sock: Any = raw
        certificate = None
        try:
            raw.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            if address.transport == _address.TLS:
                ca = _address.resolve_ca(ca)
                context = tls_context or _address.tls_context(ca)
                sock = _tls.TLSSocket(raw, context, address.host)
                try:
                    sock.handshake(time.monotonic() + timeout)
                except ssl.SSLError as exc:
                    raise _address.ssl_failure(address, exc, ca) from None
                except _socket.timeout:
                    raise _address.tls_timeout_error(address, timeout) from None
                except OSError as exc:
                    raise _address.tls_error(address, exc.strerror or str(exc)) from None
                certificate = sock.getpeercert()
            core = ClientConnectionState(max_frame_size=max_frame_size, initial_window=initial_window,
                                         client_name=client_name, path=address.url, token=token, remote=True)
            cls._handshake(sock, core, timeout)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return cls(address.url, sock, core, address=address, peer_certificate=certificate)

    @staticmethod
    def _handshake(sock: Any, core: ClientConnectionState, timeout: float) -> None:
        """Sends HELLO and feeds the core until it reports the handshake's end; raises the
        status it closes the connection with (GOAWAY, end of stream, deadline, bad frame)."""
        events: Sequence[Event] = ()
        try:
            sock.sendall(core.initiate(time.monotonic(), timeout))
        except _socket.timeout:
            deadline = core.next_deadline()
            events = core.expire(max(time.monotonic(), deadline or 0.0))
        except OSError as exc:  # the peer went away (over TLS: any TLS error)
            events = core.connection_lost(exc.strerror or str(exc))
        while True:
            for event in events:
                if type(event) is HandshakeCompleted:
                    pending = core.data_to_send()
                    if pending:
                        sock.sendall(pending)
                    return
                if type(event) is ConnectionClosed:
                    raise event.error
            deadline = core.next_deadline()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                events = core.expire(now)
                continue
            sock.settimeout(None if deadline is None else deadline - now)
            try:
                data = sock.recv(65536)
            except _socket.timeout:
                events = ()
                continue
            except OSError as exc:
                # A refused peer may see the connection reset after its GOAWAY was lost.
                events = core.connection_lost(exc.strerror or str(exc))
                continue
            events = core.receive_data(data) if data else core.connection_lost()

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
        return self._core.usable and self.pid == os.getpid()

    def close(self) -> None:
        """Fails the open calls with CANCELLED and closes the socket."""
        with self._lock:
            later = self._handle(self._core.close())
        self._run_later(later)

    # -- from the core's events to the waiting threads ----------------------------------------

    def _handle(self, events: List[Event]) -> _Later:
        """Wakes whoever waits on what `events` changed; holding the lock. Returns the callbacks
        to run and the bytes the core wants sent, for after the lock is released."""
        ready: List[Callable[[], None]] = []
        for event in events:
            kind = type(event)
            if kind is MessageReceived or kind is CallEnded:
                call: _Call = event.call  # type: ignore[attr-defined]
                if call.cond is not None:
                    call.cond.notify_all()
                if call.on_ready is not None:
                    ready.append(call.on_ready)
            elif kind is WindowOpened:
                cond = event.call.cond  # type: ignore[attr-defined]
                if cond is not None:
                    cond.notify_all()
            elif kind is CallReleased:
                if self._slot_waiters:
                    self._slots_cond.notify()
            elif kind is GoAwayReceived or kind is ConnectionClosed:
                self._slots_cond.notify_all()
        return ready, self._core.data_to_send()

    def _run_later(self, later: _Later, write: bool = True) -> None:
        ready, data = later
        for callback in ready:
            callback()
        if self._core.closed:
            self._close_socket()
        elif data:
            if write:
                self._write_quietly(data)
            else:  # the reader thread must not block on a write
                threading.Thread(target=self._write_quietly, args=(data,), daemon=True).start()

    def _close_socket(self) -> None:
        with self._lock:
            if self._socket_closed:
                return
            self._socket_closed = True
        if self.pid == os.getpid():  # a forked child must not shut down its parent's socket
            try:
                self._sock.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self._sock.close()
        except OSError:
            pass

    def _lost(self, reason: str = "") -> RPCError:
        """The socket failed: the core fails the calls; returns the connection's status."""
        with self._lock:
            later = self._handle(self._core.connection_lost(reason))
        self._run_later(later)
        error = self._core.error
        assert error is not None
        return error

    # -- reading -------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        try:
            while True:
                poller.poll()
                with self._read_lock:
                    if not self._read_available(from_reader=True):
                        break
        except OSError:
            pass
        except Exception as exc:  # a bug must not leave callers waiting forever
            with self._lock:
                later = self._handle(self._core.close(self._core.goaway or Condition.ADAPTER_FAILED.error(exc=repr(exc))))
            self._run_later(later)
            return
        self._lost()

    def read_until_ended(self, call: _Call) -> None:
        """Reads and feeds the core on this thread until `call` ends, if no other thread is
        reading: the answer then reaches its caller without a wake-up of the reader thread.
        Returns at once otherwise, and at the call's deadline or any trouble, leaving the rest
        to the reader thread and `recv`."""
        if not self._read_lock.acquire(blocking=False):
            return
        try:
            core = self._core
            while not call.ended and not core.closed:
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
                except OSError:
                    return
        finally:
            self._read_lock.release()

    def _read_available(self, from_reader: bool = False) -> bool:
        """Reads what the socket holds, without waiting, and feeds it to the core; the caller
        holds the read lock. False at the end of the stream or once the core has closed the
        connection (a bad frame); raises `OSError`."""
        try:
            data = self._sock.recv(262144, _socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True  # nothing there: another thread read it first
        if data:
            with self._lock:
                later = self._handle(self._core.receive_data(data))
            self._run_later(later, write=not from_reader)
        if self._tls is not None and self._tls.eof:
            # The daemon ended the TLS session (close_notify): the stream ends here, though the
            # TCP socket may not say so yet (the daemon waits for this side's close_notify),
            # so a thread polling it would wait on.
            self._lost()
            return False
        return bool(data) and not self._core.closed

    # -- writing -------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._corks:
            cork = self._corks.get(threading.get_ident())
            if cork is not None:
                cork.append(data)
                return
        try:
            with self._wlock:
                self._sock.sendall(data)
        except OSError as exc:
            raise self._lost(exc.strerror or str(exc)) from None

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """Holds the frames this thread writes inside the block and writes them at its end in
        one system call (or earlier, before waiting for send window)."""
        ident = threading.get_ident()
        if ident in self._corks:
            yield
            return
        self._corks[ident] = []
        try:
            yield
        finally:
            self._uncork()

    def _uncork(self) -> None:
        held = self._corks.pop(threading.get_ident(), None)
        if held:
            self._write(b"".join(held))

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
        core = self._core
        if first is not None:
            core.check_request_size(len(first))
        deadline = None if timeout is None else time.monotonic() + timeout
        call = _Call(method)
        while True:
            # START frames must reach the socket in the order of their ids: the id is taken and
            # the frame written under the write lock (a slot is waited for without it, below).
            try:
                with self._wlock:
                    with self._lock:
                        data = None
                        if core.can_start_call():  # raises once no call can start
                            # The deadline counts from the slot, like the reference client (section 8.2).
                            data = core.start_call(call, timeout=timeout, metadata=metadata, first=first,
                                                   end_stream=end_stream,
                                                   now=None if timeout is None else time.monotonic())
                    if data is not None:
                        self._sock.sendall(data)
                        return call
            except OSError as exc:
                raise self._lost(exc.strerror or str(exc)) from None
            with self._lock:
                self._slot_waiters += 1
                try:
                    while not core.can_start_call():
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise Condition.NO_SLOT_IN_TIME.error()
                        self._slots_cond.wait(remaining)
                finally:
                    self._slot_waiters -= 1

    def _wait(self, call: _Call, ready: Callable[[], bool]) -> Optional[_Later]:
        """Waits, holding the lock, until `ready()` or the call's deadline, when the core ends
        the calls past theirs; returns what to do after releasing the lock then, else None."""
        while not ready():
            cond = call.cond
            if cond is None:
                cond = call.cond = threading.Condition(self._lock)
            deadline = call.deadline
            if deadline is None:
                cond.wait()
                continue
            now = time.monotonic()
            if now >= deadline:
                return self._handle(self._core.expire(now))
            cond.wait(deadline - now)
        return None

    def send(self, call: _Call, payload: bytes, end_stream: bool = False) -> None:
        """Sends one request MESSAGE, waiting while the call's send window is not positive.
        Raises the call's status if it has ended."""
        with self._lock:
            data = self._core.send_message(call, payload, end_stream)
        if data is None:
            if threading.get_ident() in self._corks:  # the daemon grants window for what it has read
                self._uncork()
                self._corks[threading.get_ident()] = []
            later = None
            try:
                with self._lock:
                    while data is None:
                        later = self._wait(call, lambda: call.writable)
                        data = self._core.send_message(call, payload, end_stream)
            finally:
                if later is not None:
                    self._run_later(later)
        self._write(data)

    def half_close(self, call: _Call) -> None:
        """Ends the request stream (HALF_CLOSE); no-op once the call or its requests have ended."""
        with self._lock:
            data = self._core.half_close(call)
        if data:
            self._write(data)

    def cancel(self, call: _Call, error: Optional[RPCError] = None) -> None:
        """Ends the call with CANCELLED (or `error`) and sends CANCEL; no-op once it has ended."""
        with self._lock:
            if call.ended:
                return
            data = self._core.cancel(call, error)
            if call.cond is not None:
                call.cond.notify_all()
        # The call stays in the core's table, holding its slot, until the daemon's END (section 4.6).
        if data:
            self._write_quietly(data)

    def recv(self, call: _Call, block: bool = True) -> Optional[bytes]:
        """The next response payload, or None at the clean end of the stream (when not blocking,
        also when nothing has arrived yet: see `ended`). Raises the call's error status; the core
        grants flow-control credit back as responses are taken (section 5.2)."""
        later = None
        try:
            with self._lock:
                if block and not call.readable:
                    later = self._wait(call, lambda: call.readable)
                payload, data = self._core.next_message(call)
        finally:
            if later is not None:
                self._run_later(later)
        if data:
            self._write_quietly(data)
        return payload

    def wait_readable(self, call: _Call, timeout: float) -> bool:
        """Waits at most `timeout` seconds for a response or the end of `call`; whether one came."""
        end = time.monotonic() + timeout
        with self._lock:
            while not call.readable:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return False
                if call.cond is None:
                    call.cond = threading.Condition(self._lock)
                call.cond.wait(remaining)
        return True

    @staticmethod
    def ended(call: _protocol.Call) -> bool:
        """Whether the call has ended and every response it received was taken."""
        return call.done


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
            return _protocol.decode_response(self._type, payload)
        except RPCError as error:
            self._connection.cancel(self._call, error)
            raise

    def next(self, timeout: Optional[float] = None) -> Optional[R]:
        """The next response, waiting at most `timeout` seconds (None: forever); None when
        nothing came in time. Raises StopIteration at the end of the stream."""
        if timeout is not None and not self._connection.wait_readable(self._call, timeout):
            return None
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
        if not self._call.ended:
            self._connection.cancel(self._call)

    def __enter__(self) -> "ResponseIterator[R]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._call.ended and self._connection.pid == os.getpid():
                self._connection.cancel(self._call)
        except Exception:
            pass


def _one_response(connection: Connection, call: _Call, response_type: Type[R]) -> R:
    """The single response of a unary or client-streaming call, checked to be exactly one."""
    connection.read_until_ended(call)
    payload = connection.recv(call)
    if payload is None:
        raise Condition.NO_RESPONSE.error(method=call.method)
    extra = connection.recv(call)
    if extra is not None:
        connection.cancel(call)
        raise Condition.EXTRA_RESPONSE.error(method=call.method)
    return _protocol.decode_response(response_type, payload)


_encode = _protocol.encode_request


class Channel:
    """Calls over one shared connection to the daemon, opened on first use and reopened for new
    calls after it closes (daemon restart) or after `os.fork()`. Thread-safe.

    The daemon is at `url` (`unix:///path`, `tally+tls://HOST:PORT`, `tally+tcp://HOST:PORT`),
    else `socket` (a socket path, or one of those URLs), else `$TALLY_URL`, else the socket rules
    (`$TALLY_SOCKET`, …); a URL of another form raises ValueError here. `token` (else
    `$TALLY_TOKEN`) goes in every HELLO; `ca` (else `$TALLY_CA`) is the CA file to trust for TLS
    instead of the system's roots, and `tls_context` replaces the default TLS settings."""

    def __init__(self, socket: Optional[str] = None, *, url: Optional[str] = None, token: Optional[str] = None,
                 ca: Optional[str] = None, tls_context: Optional[ssl.SSLContext] = None,
                 connect_timeout: float = 5.0,
                 max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                 initial_window: int = _wire.DEFAULT_WINDOW,
                 daemon_uid: Optional[int] = None, autostart: bool = True) -> None:
        self.address = _address.resolve(url, socket)
        # The socket path, or the URL of a TCP address.
        self.socket_path = self.address.display
        self.token = _address.resolve_token(token)
        self.ca = _address.resolve_ca(ca) if self.address.transport == _address.TLS else None
        # Made once (reading the CA file or the system's roots), for every connection.
        self.tls_context = tls_context
        if self.tls_context is None and self.address.transport == _address.TLS:
            self.tls_context = _address.tls_context(self.ca)
        self.connect_timeout = connect_timeout
        self.max_frame_size = max_frame_size
        self.initial_window = initial_window
        self.daemon_uid = daemon_uid
        # Start a daemon when none listens (`$TALLY_AUTOSTART` permitting), for the first
        # connection only: a daemon that goes away later is not replaced behind its owner's back.
        # Never for a TCP address.
        self.autostart = autostart and not self.address.remote
        self._lock = threading.Lock()
        self._connection: Optional[Connection] = None
        self._connected = False
        self._closed = False
        # Called before each call but the raw ones (`open_call`): a `Client` waits there for the
        # starts of its runs to be answered.
        self._before_call: Optional[Callable[[], None]] = None
        _channels.add(self)

    def connection(self) -> Connection:
        """The current connection, connecting (again) if needed."""
        conn = self._connection
        if conn is not None and conn.usable:
            return conn
        with self._lock:
            if self._closed:
                raise Condition.CHANNEL_CLOSED.error()
            conn = self._connection
            if conn is None or not conn.usable:
                self._connection = conn = Connection.connect(
                    address=self.address, token=self.token, ca=self.ca, tls_context=self.tls_context,
                    timeout=self.connect_timeout,
                    max_frame_size=self.max_frame_size, initial_window=self.initial_window,
                    daemon_uid=self.daemon_uid, autostart=self.autostart and not self._connected)
                self._connected = True
            return conn

    @property
    def url(self) -> str:
        """The daemon's address as a URL (a relative socket path stays a path)."""
        return self.address.url

    def whoami(self) -> ConnectionInfo:
        """Who the daemon takes this client for (`user`, `role`), over what (`transport`, and
        for TLS the certificate's `peer_subject`); connects if needed."""
        return self.connection().info

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
        if self._before_call is not None:
            self._before_call()
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata, first=_encode(request), end_stream=True)
        return _one_response(conn, call, response_type)

    def server_streaming(self, path: str, request: Message, response_type: Type[R], *,
                         timeout: Optional[float] = None,
                         metadata: Optional[Mapping[str, str]] = None) -> ResponseIterator[R]:
        if self._before_call is not None:
            self._before_call()
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata, first=_encode(request), end_stream=True)
        return ResponseIterator(conn, call, response_type)

    def client_streaming(self, path: str, requests: Iterable[Message], response_type: Type[R], *,
                         timeout: Optional[float] = None,
                         metadata: Optional[Mapping[str, str]] = None) -> R:
        if self._before_call is not None:
            self._before_call()
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
                if not call.ended:
                    raise
                # The call ended early: its status (below) says why.
            except BaseException as exc:
                conn.cancel(call, Condition.REQUESTS_FAILED.error(exc=repr(exc)))
                raise
        return _one_response(conn, call, response_type)

    def bidi_streaming(self, path: str, requests: Iterable[Message], response_type: Type[R], *,
                       timeout: Optional[float] = None,
                       metadata: Optional[Mapping[str, str]] = None) -> ResponseIterator[R]:
        if self._before_call is not None:
            self._before_call()
        conn = self.connection()
        call = conn.start_call(path, timeout=timeout, metadata=metadata)

        def send_all() -> None:
            try:
                for request in requests:
                    if call.ended:
                        return
                    conn.send(call, _encode(request))
                conn.half_close(call)
            except RPCError:
                pass
            except BaseException as exc:
                conn.cancel(call, Condition.REQUESTS_FAILED.error(exc=repr(exc)))

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
        """Whether the call has ended and every response it received was taken."""
        return self._call.done

    @property
    def status(self) -> Optional[RPCError]:
        """The call's error once it has ended with one; None while open or after an OK end."""
        return self._call.error


def _reset_after_fork() -> None:
    for channel in list(_channels):
        channel._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
