"""The client side of the Tally wire protocol (docs/protocol.md) as a state machine without I/O.

`ClientConnectionState` owns every rule of a connection: the HELLO handshake and its reply, call
ids, the state of each call (started, half-closed, ended, cancelled), the framing of START,
MESSAGE, HALF_CLOSE, CANCEL, WINDOW and PONG, flow control in both directions, deadlines and
GOAWAY. It never touches a socket, a thread, a clock or an event loop:

* bytes that arrive go in through `receive_data(data)`, which returns `Event`s;
* each command (`start_call`, `send_message`, `half_close`, `cancel`, `next_message`, `ping`)
  returns the bytes to write for it; bytes the core sends of its own accord (the PONG of a PING,
  the CANCEL of a call whose deadline passed) wait in `data_to_send()`;
* time comes in as numbers: `start_call(..., now=)` and `initiate(now, timeout)` set deadlines,
  `expire(now)` ends the calls whose deadline has passed, `next_deadline()` says when to ask;
* the end of the byte stream comes in through `connection_lost(reason)`, a local close through
  `close(error)`.

Every error it raises or reports is an `RPCError` whose status code is fixed by the condition
(`Condition`, or the `Violation` of a `FrameError`), never by a message's text.

The core is not thread-safe: the threaded adapter (`tally._transport`) calls it under one lock,
the asyncio adapter (`tally.aio`) from its event loop. An adapter waits for the events: it may
subclass `Call` (with `__slots__`) to hang its condition variable or asyncio event on each call.
"""

import enum
import struct
from collections import deque
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

from google.protobuf.message import Message

from tally import _wire
from tally._wire import (CANCEL, END, END_STREAM, GOAWAY, HALF_CLOSE, HEADER, HEADER_SIZE, HELLO,
                         MAGIC, MESSAGE, PING, PONG, START, WINDOW, FrameError)
from tally.errors import RPCError
from tally.v1 import wire_pb2

__all__ = [
    "Call", "CallEnded", "CallReleased", "ClientConnectionState", "Condition", "ConnectionClosed",
    "ConnectionState", "Event", "GoAwayReceived", "HandshakeCompleted", "MessageReceived",
    "PingReceived", "WindowOpened", "decode_response", "encode_request",
]

M = TypeVar("M", bound=Message)

MAX_CALL_ID = 0xFFFFFFFF
MAX_CREDIT = 0xFFFFFFFF
MAX_PING_PAYLOAD = 64
_CREDIT = struct.Struct(">I")


# ---------------------------------------------------------------------------------------------
# Status mapping: one status code per condition.

class Condition(enum.Enum):
    """Every reason the client side ends a call or a connection, or refuses a command, with its
    status code (docs/protocol.md, 7.2 and 8.2). `error(**fields)` makes the `RPCError`, which
    carries the condition as its `condition` attribute. Bad frames are the one other source of
    errors: their code is the `code` of the `FrameError` (from its `Violation`)."""

    CALL_CANCELLED = (_wire.CANCELLED, "the call was cancelled")
    DEADLINE_PASSED = (_wire.DEADLINE_EXCEEDED, "the call's deadline passed before it finished")
    NO_SLOT_IN_TIME = (_wire.DEADLINE_EXCEEDED, "no call slot became free before the deadline")
    CLOSED_BY_CLIENT = (_wire.CANCELLED, "the connection was closed by the client")
    CHANNEL_CLOSED = (_wire.CANCELLED, "the channel is closed")
    REQUESTS_FAILED = (_wire.CANCELLED, "the request iterator raised {exc}")
    CONNECTION_LOST = (_wire.UNAVAILABLE, "the connection to the daemon closed")
    CONNECTION_LOST_BECAUSE = (_wire.UNAVAILABLE, "the connection to the daemon closed: {reason}")
    HANDSHAKE_LOST = (_wire.UNAVAILABLE,
                      "cannot connect to the Tally daemon at {path}: {reason}; start it with `tally serve`")
    REMOTE_HANDSHAKE_LOST = (_wire.UNAVAILABLE, "cannot connect to the Tally daemon at {path}: {reason}")
    TLS_CERTIFICATE_REFUSED = (_wire.UNAVAILABLE,
                               "cannot connect to the Tally daemon at {path}: TLS failed: the daemon's certificate did "
                               "not verify ({reason}); it must be valid for {host} and signed by {trust}; nothing was sent")
    TLS_ANSWERED = (_wire.UNAVAILABLE, "cannot connect to the Tally daemon at {path}: it answered with TLS; "
                                       "use tally+tls:// (tally+tcp:// is for a daemon started with --insecure-no-tls)")
    HANDSHAKE_TIMEOUT = (_wire.DEADLINE_EXCEEDED, "the daemon at {path} did not answer the handshake within {timeout}s")
    BAD_HELLO_REPLY = (_wire.INTERNAL, "the daemon's HELLO reply cannot be decoded: {reason}")
    GOING_AWAY = (_wire.UNAVAILABLE, "the daemon is going away: {message}")
    IDS_USED_UP = (_wire.UNAVAILABLE, "the connection has used up its call ids; open a new one")
    NOT_CONNECTED = (_wire.FAILED_PRECONDITION, "the handshake with the daemon has not finished")
    NO_FREE_SLOT = (_wire.RESOURCE_EXHAUSTED, "all {limit} call slots of the connection are taken")
    ALREADY_STARTED = (_wire.FAILED_PRECONDITION, "the call was already started as call {call_id}")
    REQUEST_TOO_LARGE = (_wire.RESOURCE_EXHAUSTED,
                         "the request of {size} bytes is above the connection's frame limit of {limit}")
    CALL_ENDED = (_wire.FAILED_PRECONDITION, "the call has ended")
    REQUESTS_CLOSED = (_wire.FAILED_PRECONDITION, "the call's requests have ended (END_STREAM or HALF_CLOSE was sent)")
    PING_TOO_LARGE = (_wire.INVALID_ARGUMENT, "a PING carries at most 64 bytes, not {size}")
    NO_RESPONSE = (_wire.INTERNAL, "{method} ended OK without a response")
    EXTRA_RESPONSE = (_wire.INTERNAL, "{method} sent more than one response")
    UNDECODABLE_RESPONSE = (_wire.INTERNAL, "cannot decode {type}: {reason}")
    UNENCODABLE_REQUEST = (_wire.INVALID_ARGUMENT, "the request cannot be encoded: {reason}")
    ADAPTER_FAILED = (_wire.INTERNAL, "reader failed: {exc}")

    @property
    def code(self) -> int:
        code: int = self.value[0]
        return code

    def error(self, **fields: Any) -> RPCError:
        error = RPCError.from_status(self.code, self.value[1].format(**fields) if fields else self.value[1])
        error.condition = self  # type: ignore[attr-defined]
        return error


def frame_error_status(exc: FrameError) -> RPCError:
    """The status a connection fails with after a bad frame: the violation's code."""
    error = RPCError.from_status(exc.code, f"bad frame from the daemon: {exc}")
    error.violation = exc.violation  # type: ignore[attr-defined]
    return error


def encode_request(request: Message) -> bytes:
    """A request's bytes; INVALID_ARGUMENT (nothing is sent) when it cannot be encoded."""
    try:
        data: bytes = request.SerializeToString()
    except Exception as exc:
        raise Condition.UNENCODABLE_REQUEST.error(reason=exc) from None
    return data


def decode_response(response_type: Type[M], payload: bytes) -> M:
    """A response of `response_type`; INTERNAL when the payload does not decode as one."""
    try:
        response: M = response_type.FromString(payload)
    except Exception as exc:
        raise Condition.UNDECODABLE_RESPONSE.error(type=response_type.DESCRIPTOR.full_name, reason=exc) from None
    return response


# ---------------------------------------------------------------------------------------------
# Calls and events.

class Call:
    """One call as the core sees it. Create it with the method path, hand it to `start_call`;
    the core keeps it up to date. Adapters may subclass it (declaring `__slots__`) to keep their
    waiting primitives on it; events carry the very object given to `start_call`."""

    __slots__ = ("id", "method", "deadline", "responses", "ended", "error", "cancelled",
                 "half_closed", "released", "send_window", "consumed", "__weakref__")

    def __init__(self, method: str) -> None:
        self.id = 0                       # 0 until its START is made
        self.method = method
        self.deadline: Optional[float] = None  # in the adapter's clock, from start_call's `now`
        self.responses: Deque[bytes] = deque()  # received, not yet taken by `next_message`
        self.ended = False                # over for its caller (END, cancel, deadline, GOAWAY, close)
        self.error: Optional[RPCError] = None  # why it ended; None while open or after END OK
        self.cancelled = False            # ended on this side: the daemon's frames are ignored
        self.half_closed = False          # END_STREAM or HALF_CLOSE was made
        self.released = False             # out of the table: the daemon's END came, or the connection ended
        self.send_window = 0              # request credit the daemon granted (section 5)
        self.consumed = 0                 # cost of the responses taken, not yet granted back

    @property
    def started(self) -> bool:
        return self.id != 0

    @property
    def readable(self) -> bool:
        """Whether `next_message` has something to say: a response, or the end of the call."""
        return self.ended or bool(self.responses)

    @property
    def writable(self) -> bool:
        """Whether `send_message` would not have to wait for credit (or raises: ended)."""
        return self.ended or self.send_window > 0

    @property
    def done(self) -> bool:
        """Whether the call has ended and every response it received was taken."""
        return self.ended and not self.responses

    def __repr__(self) -> str:
        state = "open" if not self.ended else ("ended OK" if self.error is None else f"ended {self.error}")
        return f"<{type(self).__name__} {self.id} {self.method} {state}>"


class Event:
    """Something that happened on the connection, returned by `receive_data`, `expire`,
    `connection_lost` and `close`."""

    __slots__: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class HandshakeCompleted(Event):
    """The daemon's HelloReply arrived: calls may start."""

    __slots__ = ("reply",)

    def __init__(self, reply: wire_pb2.HelloReply) -> None:
        self.reply = reply


class MessageReceived(Event):
    """A response MESSAGE for an open call; it waits in `call.responses` for `next_message`."""

    __slots__ = ("call", "payload")

    def __init__(self, call: Call, payload: bytes) -> None:
        self.call = call
        self.payload = payload

    @property
    def call_id(self) -> int:
        return self.call.id


class WindowOpened(Event):
    """The daemon granted `credit` bytes more for the call's requests."""

    __slots__ = ("call", "credit")

    def __init__(self, call: Call, credit: int) -> None:
        self.call = call
        self.credit = credit

    @property
    def call_id(self) -> int:
        return self.call.id


class CallEnded(Event):
    """The call is over for its caller: `error` None for OK, else its status."""

    __slots__ = ("call", "error")

    def __init__(self, call: Call, error: Optional[RPCError]) -> None:
        self.call = call
        self.error = error

    @property
    def call_id(self) -> int:
        return self.call.id


class CallReleased(Event):
    """The call no longer counts against `max_concurrent_calls`: a slot is free. A cancelled
    call keeps its slot until the daemon's END (section 4.6), so this can come long after
    its CallEnded."""

    __slots__ = ("call",)

    def __init__(self, call: Call) -> None:
        self.call = call

    @property
    def call_id(self) -> int:
        return self.call.id


class GoAwayReceived(Event):
    """The daemon is going away: no new calls; calls above `last_call_id` end (CallEnded
    follows for each), the others run to their END."""

    __slots__ = ("error", "last_call_id")

    def __init__(self, error: RPCError, last_call_id: int) -> None:
        self.error = error
        self.last_call_id = last_call_id


class PingReceived(Event):
    """The daemon sent PING; its PONG waits in `data_to_send()`."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class ConnectionClosed(Event):
    """The connection is over (`error` says why); every open call got its CallEnded before
    this. The adapter closes its socket."""

    __slots__ = ("error",)

    def __init__(self, error: RPCError) -> None:
        self.error = error


class ConnectionState(enum.Enum):
    HANDSHAKING = "handshaking"  # HELLO sent (by `initiate`), waiting for the reply
    OPEN = "open"
    GOING_AWAY = "going away"    # GOAWAY received: calls at or below its last id may finish
    CLOSED = "closed"


HANDSHAKING, OPEN, GOING_AWAY, CLOSED = (ConnectionState.HANDSHAKING, ConnectionState.OPEN,
                                         ConnectionState.GOING_AWAY, ConnectionState.CLOSED)


# ---------------------------------------------------------------------------------------------
# The connection.

class ClientConnectionState:
    """The client's side of one connection. See the module docstring."""

    def __init__(self, *, max_frame_size: int = _wire.DEFAULT_MAX_FRAME,
                 initial_window: int = _wire.DEFAULT_WINDOW, client_name: str = _wire.CLIENT_NAME,
                 path: str = "", token: str = "", remote: bool = False) -> None:
        self.path = path  # named in the handshake's errors only: the socket path, or the URL
        self.remote = remote  # over TCP: a lost handshake does not suggest `tally serve`
        self.token = token  # sent in the HELLO (docs/teams.md); required on TCP
        self.client_name = client_name
        self.client_max_frame_size = max_frame_size  # the largest payload accepted from the daemon
        self.initial_window = initial_window         # what the HELLO grants per call
        self.recv_window = initial_window or _wire.DEFAULT_WINDOW  # what the daemon starts each call with
        self._grant_at = max(1, self.recv_window // 2)
        self.state = HANDSHAKING
        self.reply: Optional[wire_pb2.HelloReply] = None
        # From the HelloReply (the protocol's defaults until it comes).
        self.max_frame_size = _wire.DEFAULT_MAX_FRAME  # the largest request payload
        self.send_window_initial = _wire.DEFAULT_WINDOW
        self.max_concurrent_calls = 100
        self.free_slots = 0
        self.goaway: Optional[RPCError] = None  # the daemon's GOAWAY status, once one came
        self.error: Optional[RPCError] = None   # why the connection closed, once it has
        self._calls: Dict[int, Call] = {}       # started, not released
        self._next_id = 1
        self._decoder = _wire.FrameDecoder(max_frame_size)
        self._outbox: List[bytes] = []
        self._hello_sent = False
        self._handshake_deadline: Optional[float] = None
        self._handshake_timeout: Optional[float] = None

    # -- the connection ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is CLOSED

    @property
    def usable(self) -> bool:
        """Whether new calls can go on this connection (open, no GOAWAY, ids left)."""
        return self.state is OPEN and self._next_id <= MAX_CALL_ID

    @property
    def open_calls(self) -> int:
        """Calls holding a slot: started and not released."""
        return len(self._calls)

    def initiate(self, now: Optional[float] = None, timeout: Optional[float] = None) -> bytes:
        """The HELLO to send first. With `now` and `timeout`, `expire` closes the connection with
        DEADLINE_EXCEEDED if the reply has not come by `now + timeout`."""
        if self._hello_sent or self.state is not HANDSHAKING:
            return b""
        self._hello_sent = True
        if timeout is not None:
            if now is None:
                raise TypeError("initiate: a timeout needs the time now")
            self._handshake_deadline = now + timeout
            self._handshake_timeout = timeout
        return _wire.hello_frame(self.client_max_frame_size, self.initial_window, self.client_name, self.token)

    def data_to_send(self) -> bytes:
        """Bytes the core made of its own accord (PONG, CANCEL of an expired call), in order."""
        outbox = self._outbox
        if not outbox:
            return b""
        data = b"".join(outbox)
        outbox.clear()
        return data

    def receive_data(self, data: bytes) -> List[Event]:
        """Feeds bytes read from the socket; returns what they meant. A frame split anywhere is
        kept until the rest comes. A stream that breaks the framing rules closes the connection
        (ConnectionClosed with the violation's status) after the frames before it are handled."""
        if self.state is CLOSED:
            return []
        if self.state is HANDSHAKING and self.remote and data[:1] in (b"\x15", b"\x16") and not self._decoder.pending:
            # A TLS record (an alert, a handshake) where a frame (0xA1) should start: plaintext
            # TCP to a TLS listener.
            closing: List[Event] = []
            self._close(Condition.TLS_ANSWERED.error(path=self.path), closing)
            return closing
        frames, problem = self._decoder.decode(data)
        events: List[Event] = []
        calls = self._calls
        for kind, _flags, call_id, payload in frames:
            if kind == MESSAGE:
                call = calls.get(call_id)
                if call is not None and not call.ended:
                    call.responses.append(payload)
                    events.append(MessageReceived(call, payload))
            elif kind == END:
                call = calls.pop(call_id, None)
                if call is not None:
                    self.free_slots += 1
                    call.released = True
                    if not call.ended:
                        call.ended = True
                        call.error = error = _wire.status_of_end(payload)
                        events.append(CallEnded(call, error))
                    events.append(CallReleased(call))
            elif kind == WINDOW:
                if len(payload) != 4:
                    problem = FrameError(_wire.Violation.BAD_WINDOW,
                                         f"WINDOW payload of call {call_id} is {len(payload)} bytes, not 4")
                    break
                call = calls.get(call_id)
                if call is not None:
                    credit = _CREDIT.unpack(payload)[0]
                    call.send_window += credit
                    events.append(WindowOpened(call, credit))
            else:
                if kind == GOAWAY:
                    self._on_goaway(payload, events)
                    if self.state is CLOSED:
                        return events
                elif kind == PING:
                    self._outbox.append(_wire.encode_frame(PONG, 0, payload))
                    events.append(PingReceived(payload))
                elif kind == HELLO:
                    if self.state is HANDSHAKING:
                        self._on_hello(payload, events)
                        if self.state is CLOSED:
                            return events
                # START, HALF_CLOSE, CANCEL and PONG from the daemon are ignored (section 4.7).
        if problem is not None:
            self._close(self.goaway or frame_error_status(problem), events)
        return events

    def _on_hello(self, payload: bytes, events: List[Event]) -> None:
        try:
            reply = wire_pb2.HelloReply.FromString(payload)
        except Exception as exc:
            self._close(Condition.BAD_HELLO_REPLY.error(reason=exc), events)
            return
        self.reply = reply
        self.max_frame_size = reply.max_frame_size or _wire.DEFAULT_MAX_FRAME
        self.send_window_initial = reply.initial_window or _wire.DEFAULT_WINDOW
        self.max_concurrent_calls = max(1, reply.max_concurrent_calls or 100)
        self.free_slots = self.max_concurrent_calls
        self.state = OPEN
        self._handshake_deadline = None
        events.append(HandshakeCompleted(reply))

    def _on_goaway(self, payload: bytes, events: List[Event]) -> None:
        error, last = _wire.status_of_goaway(payload)
        if self.state is HANDSHAKING and error.code == _wire.UNAUTHENTICATED:
            # The token was missing, unknown, expired or revoked: say which of the first two.
            hint = ("no token was sent: TALLY_TOKEN or token=" if not self.token else
                    "the token sent was refused")
            error = RPCError.from_status(error.code, f"{error.message} (daemon at {self.path}; {hint})", error.details)
        self.goaway = error
        if self.state is HANDSHAKING:  # a refusal (section 1.3): the connect fails with it
            self._close(error, events)
            return
        self.state = GOING_AWAY
        events.append(GoAwayReceived(error, last))
        calls = self._calls
        for call_id in [call_id for call_id in calls if call_id > last]:
            call = calls.pop(call_id)
            self.free_slots += 1
            call.released = True
            if not call.ended:
                call.ended = True
                call.error = error
                events.append(CallEnded(call, error))
            events.append(CallReleased(call))

    def connection_lost(self, reason: str = "") -> List[Event]:
        """The byte stream ended (`reason`: the error that ended it, if any): every open call
        fails with the GOAWAY's status if one came, else UNAVAILABLE."""
        if self.state is CLOSED:
            return []
        events: List[Event] = []
        if self.state is HANDSHAKING:
            condition = Condition.REMOTE_HANDSHAKE_LOST if self.remote else Condition.HANDSHAKE_LOST
            error = condition.error(path=self.path, reason=reason or "the daemon closed the connection during the handshake")
        elif self.goaway is not None:
            error = self.goaway
        elif reason:
            error = Condition.CONNECTION_LOST_BECAUSE.error(reason=reason)
        else:
            error = Condition.CONNECTION_LOST.error()
        self._close(error, events)
        return events

    def close(self, error: Optional[RPCError] = None) -> List[Event]:
        """Ends the connection on this side: open calls fail with `error` (CANCELLED, "closed
        by the client", by default). Nothing is sent: the adapter closes its socket."""
        if self.state is CLOSED:
            return []
        events: List[Event] = []
        self._close(error or Condition.CLOSED_BY_CLIENT.error(), events)
        return events

    def _close(self, error: RPCError, events: List[Event]) -> None:
        self.state = CLOSED
        self.error = error
        for call in self._calls.values():
            call.released = True
            if not call.ended:
                call.ended = True
                call.error = error
                events.append(CallEnded(call, error))
            events.append(CallReleased(call))
        self._calls.clear()
        self.free_slots = 0
        self._outbox.clear()
        self._handshake_deadline = None
        events.append(ConnectionClosed(error))

    # -- deadlines ------------------------------------------------------------------------------

    def next_deadline(self) -> Optional[float]:
        """The earliest deadline still to come (the handshake's, or an open call's), or None."""
        if self.state is HANDSHAKING:
            return self._handshake_deadline
        deadlines = [c.deadline for c in self._calls.values() if c.deadline is not None and not c.ended]
        return min(deadlines) if deadlines else None

    def expire(self, now: float) -> List[Event]:
        """Ends every open call whose deadline is at or before `now` with DEADLINE_EXCEEDED (its
        CANCEL waits in `data_to_send()`; its slot stays taken until the daemon's END), and
        closes a connection whose handshake has not finished by its deadline."""
        events: List[Event] = []
        if self.state is HANDSHAKING:
            deadline = self._handshake_deadline
            if deadline is not None and now >= deadline:
                self._close(Condition.HANDSHAKE_TIMEOUT.error(path=self.path, timeout=self._handshake_timeout), events)
            return events
        for call in self._calls.values():
            deadline = call.deadline
            if deadline is not None and now >= deadline and not call.ended:
                error = Condition.DEADLINE_PASSED.error()
                self._end_locally(call, error)
                self._outbox.append(_wire.encode_frame(CANCEL, call.id))
                events.append(CallEnded(call, error))
        return events

    # -- calls ----------------------------------------------------------------------------------

    def check_request_size(self, size: int) -> None:
        """Raises RESOURCE_EXHAUSTED for a request payload above the daemon's frame limit."""
        if size > self.max_frame_size:
            raise Condition.REQUEST_TOO_LARGE.error(size=size, limit=self.max_frame_size)

    def can_start_call(self) -> bool:
        """True if `start_call` can go now, False while every slot is taken (a CallReleased
        frees one). Raises why no call can start any more: the connection is closed (its
        status), going away or out of ids (UNAVAILABLE), or not handshaken."""
        state = self.state
        if state is OPEN:
            if self._next_id > MAX_CALL_ID:
                raise Condition.IDS_USED_UP.error()
            return self.free_slots > 0
        if state is CLOSED:
            assert self.error is not None
            raise self.error
        if state is GOING_AWAY:
            assert self.goaway is not None
            raise Condition.GOING_AWAY.error(message=self.goaway.message)
        raise Condition.NOT_CONNECTED.error()

    def start_call(self, call: Call, *, timeout: Optional[float] = None,
                   metadata: Optional[Mapping[str, str]] = None, first: Optional[bytes] = None,
                   end_stream: bool = False, now: Optional[float] = None) -> bytes:
        """Gives `call` the next id and a slot; returns START, then `first` as a MESSAGE (with
        END_STREAM when `end_stream`), or HALF_CLOSE when `end_stream` and no `first`. The
        deadline is `now + timeout`. Raises what `can_start_call` raises, RESOURCE_EXHAUSTED when
        no slot is free or `first` is too large."""
        if first is not None:
            self.check_request_size(len(first))
        if not self.can_start_call():
            raise Condition.NO_FREE_SLOT.error(limit=self.max_concurrent_calls)
        if call.id:
            raise Condition.ALREADY_STARTED.error(call_id=call.id)
        if call.ended:  # cancelled before it started: it never uses an id (section 8.2)
            raise call.error or Condition.CALL_ENDED.error()
        if timeout is not None:
            if now is None:
                raise TypeError("start_call: a timeout needs the time now")
            call.deadline = now + timeout
        start = _wire.start_payload(call.method, timeout, metadata)
        call_id = call.id = self._next_id
        self._next_id += 1
        self._calls[call_id] = call
        self.free_slots -= 1
        call.send_window = self.send_window_initial
        data = HEADER.pack(MAGIC, START, 0, 0, call_id, len(start)) + start
        if first is not None:
            call.send_window -= HEADER_SIZE + len(first)
            data += HEADER.pack(MAGIC, MESSAGE, END_STREAM if end_stream else 0, 0, call_id, len(first)) + first
        elif end_stream:
            data += HEADER.pack(MAGIC, HALF_CLOSE, 0, 0, call_id, 0)
        call.half_closed = end_stream
        return data

    def send_message(self, call: Call, payload: bytes, end_stream: bool = False) -> Optional[bytes]:
        """The MESSAGE frame of one request, its cost taken from the call's send window; None
        when the window is not positive (wait for a WindowOpened, or the call's end). Raises
        RESOURCE_EXHAUSTED for a payload above the frame limit, the call's status once it has
        ended (FAILED_PRECONDITION after an OK end), FAILED_PRECONDITION after its half-close."""
        size = len(payload)
        if size > self.max_frame_size:
            raise Condition.REQUEST_TOO_LARGE.error(size=size, limit=self.max_frame_size)
        if call.ended:
            raise call.error or Condition.CALL_ENDED.error()
        if call.half_closed:
            raise Condition.REQUESTS_CLOSED.error()
        if call.send_window <= 0:
            return None
        call.send_window -= HEADER_SIZE + size
        if end_stream:
            call.half_closed = True
            return HEADER.pack(MAGIC, MESSAGE, END_STREAM, 0, call.id, size) + payload
        return HEADER.pack(MAGIC, MESSAGE, 0, 0, call.id, size) + payload

    def half_close(self, call: Call) -> bytes:
        """HALF_CLOSE, ending the call's requests; nothing once they ended or the call did."""
        if call.ended or call.half_closed or not call.id:
            return b""
        call.half_closed = True
        return HEADER.pack(MAGIC, HALF_CLOSE, 0, 0, call.id, 0)

    def cancel(self, call: Call, error: Optional[RPCError] = None) -> bytes:
        """Ends an open call on this side with CANCELLED (or `error`), dropping the responses it
        holds; returns its CANCEL (nothing if it never started). It keeps its slot until the
        daemon's END. Nothing once the call has ended."""
        if call.ended:
            return b""
        self._end_locally(call, error or Condition.CALL_CANCELLED.error())
        if not call.id or call.released:
            return b""
        return HEADER.pack(MAGIC, CANCEL, 0, 0, call.id, 0)

    @staticmethod
    def _end_locally(call: Call, error: RPCError) -> None:
        call.ended = True
        call.cancelled = True
        call.error = error
        call.responses.clear()

    def next_message(self, call: Call) -> Tuple[Optional[bytes], bytes]:
        """Takes the next response: `(payload, bytes to send)`, the bytes a WINDOW granting back
        the cost of what was taken once it reaches half the window (section 5.2). `(None, b"")`
        when nothing has come yet or at the end of an OK call (`call.done` tells them apart).
        Raises the call's status at the end of a failed call."""
        responses = call.responses
        if responses:
            payload = responses.popleft()
            if not call.ended:
                consumed = call.consumed + HEADER_SIZE + len(payload)
                if consumed >= self._grant_at:
                    grant = consumed if consumed <= MAX_CREDIT else MAX_CREDIT
                    call.consumed = consumed - grant
                    return payload, HEADER.pack(MAGIC, WINDOW, 0, 0, call.id, 4) + _CREDIT.pack(grant)
                call.consumed = consumed
            return payload, b""
        if call.ended and call.error is not None:
            raise call.error
        return None, b""

    def ping(self, payload: bytes = b"") -> bytes:
        """A PING (at most 64 bytes); the daemon answers PONG, which is ignored."""
        if len(payload) > MAX_PING_PAYLOAD:
            raise Condition.PING_TOO_LARGE.error(size=len(payload))
        if self.state is CLOSED or self.state is HANDSHAKING:
            self.can_start_call()  # raises why
        return _wire.encode_frame(PING, 0, payload)
