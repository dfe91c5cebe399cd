"""Frames of the Tally wire protocol (docs/protocol.md, section 2), shared by the sync and asyncio transports."""

import enum
import os
import socket as _socket
import struct
from typing import Iterator, List, Mapping, NamedTuple, Optional, Protocol, Tuple

from tally.errors import RPCError
from tally.v1 import wire_pb2

MAGIC = 0xA1
HEADER = struct.Struct(">BBBBII")
HEADER_SIZE = 12
END_STREAM = 0x01

HELLO, START, MESSAGE, HALF_CLOSE, END, CANCEL, PING, PONG, GOAWAY, WINDOW = range(1, 11)
KIND_NAMES = {
    HELLO: "HELLO", START: "START", MESSAGE: "MESSAGE", HALF_CLOSE: "HALF_CLOSE", END: "END",
    CANCEL: "CANCEL", PING: "PING", PONG: "PONG", GOAWAY: "GOAWAY", WINDOW: "WINDOW",
}

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME = 4 << 20
DEFAULT_WINDOW = 1 << 20
CLIENT_NAME = "tally-python/0.1.0"

OK, CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, PERMISSION_DENIED = 0, 1, 3, 4, 7
RESOURCE_EXHAUSTED, FAILED_PRECONDITION, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = 8, 9, 13, 14, 16


class Frame(NamedTuple):
    kind: int
    flags: int
    call_id: int
    payload: bytes


class Violation(enum.Enum):
    """How a byte stream from the daemon broke the framing rules (docs/protocol.md, 2.3 and 5.3)."""

    BAD_MAGIC = "bad magic byte"
    RESERVED_BYTE = "reserved header byte not 0"
    UNKNOWN_KIND = "unknown frame kind"
    OVERSIZE = "payload above the client's frame limit"
    BAD_WINDOW = "WINDOW payload not 4 bytes"
    TRUNCATED = "the stream ended inside a frame"


# The status each violation ends the connection with (section 7.2: a frame above the client's
# own max_frame_size fails the calls with RESOURCE_EXHAUSTED; anything else is INTERNAL).
VIOLATION_STATUS = {
    Violation.BAD_MAGIC: INTERNAL,
    Violation.RESERVED_BYTE: INTERNAL,
    Violation.UNKNOWN_KIND: INTERNAL,
    Violation.OVERSIZE: RESOURCE_EXHAUSTED,
    Violation.BAD_WINDOW: INTERNAL,
    Violation.TRUNCATED: INTERNAL,
}


class FrameError(Exception):
    """The byte stream broke the framing rules; the connection cannot go on. `violation` says
    which rule, `code` the status code the connection's calls fail with (never the text)."""

    def __init__(self, violation: Violation, message: str) -> None:
        super().__init__(message)
        self.violation = violation
        self.code = VIOLATION_STATUS[violation]


def encode_frame(kind: int, call_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """One frame: the 12-byte header followed by the payload."""
    return HEADER.pack(MAGIC, kind, flags, 0, call_id, len(payload)) + payload


def message_cost(payload_len: int) -> int:
    """What a MESSAGE costs in flow-control credit: header plus payload (section 5.1)."""
    return HEADER_SIZE + payload_len


class FrameDecoder:
    """Incremental decoder: `feed` bytes, get the complete frames. Raises FrameError on bad magic,
    a reserved byte other than 0, an unknown kind or a payload above `max_payload`."""

    def __init__(self, max_payload: int = DEFAULT_MAX_FRAME) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()

    def feed(self, data: bytes) -> List[Frame]:
        frames, error = self.decode(data)
        if error is not None:
            raise error
        return frames

    def decode(self, data: bytes) -> Tuple[List[Frame], Optional[FrameError]]:
        """Like `feed`, but returns the frames that came before a broken header together with
        its `FrameError` (None when there is none) instead of raising and losing them."""
        buf = self._buf
        buf += data
        frames: List[Frame] = []
        error: Optional[FrameError] = None
        pos = 0
        n = len(buf)
        while n - pos >= HEADER_SIZE:
            magic, kind, flags, reserved, call_id, length = HEADER.unpack_from(buf, pos)
            if magic != MAGIC or reserved != 0 or kind < HELLO or kind > WINDOW or length > self.max_payload:
                error = self._violation(magic, kind, reserved, length)
                break
            end = pos + HEADER_SIZE + length
            if end > n:
                break
            frames.append(Frame(kind, flags, call_id, bytes(buf[pos + HEADER_SIZE:end])))
            pos = end
        if pos:
            del buf[:pos]
        return frames, error

    def _violation(self, magic: int, kind: int, reserved: int, length: int) -> FrameError:
        if magic != MAGIC:
            return FrameError(Violation.BAD_MAGIC, f"bad magic byte 0x{magic:02x}")
        if reserved != 0:
            return FrameError(Violation.RESERVED_BYTE, f"reserved header byte is 0x{reserved:02x}, not 0")
        if kind < HELLO or kind > WINDOW:
            return FrameError(Violation.UNKNOWN_KIND, f"unknown frame kind {kind}")
        return FrameError(Violation.OVERSIZE,
                          f"{KIND_NAMES[kind]} frame of {length} bytes is above the limit of {self.max_payload}")

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)


def decode_frames(data: bytes, max_payload: int = DEFAULT_MAX_FRAME) -> Iterator[Frame]:
    """Every frame of a complete byte string (raises FrameError if it ends inside a frame)."""
    decoder = FrameDecoder(max_payload)
    yield from decoder.feed(data)
    if decoder.pending:
        raise FrameError(Violation.TRUNCATED, f"{decoder.pending} bytes left over after the last complete frame")


def hello_frame(max_frame_size: int, initial_window: int, client_name: str = CLIENT_NAME, token: str = "") -> bytes:
    hello = wire_pb2.Hello(
        min_version=PROTOCOL_VERSION, max_version=PROTOCOL_VERSION, client_name=client_name,
        max_frame_size=max_frame_size, initial_window=initial_window, token=token,
    )
    return encode_frame(HELLO, 0, hello.SerializeToString())


def start_payload(method: str, timeout: Optional[float], metadata: Optional[Mapping[str, str]]) -> bytes:
    start = wire_pb2.CallStart(method=method)
    if timeout is not None:
        start.timeout_ms = max(1, int(timeout * 1000))
    if metadata:
        for key, value in metadata.items():
            start.metadata[key] = value
    data: bytes = start.SerializeToString(deterministic=True)
    return data


def window_frame(call_id: int, credit: int) -> bytes:
    return encode_frame(WINDOW, call_id, struct.pack(">I", credit))


def status_of_end(payload: bytes) -> Optional[RPCError]:
    """None for OK (an empty, zero-code or undecodable END), else the error it carries."""
    if not payload:
        return None
    end = wire_pb2.CallEnd()
    try:
        end.ParseFromString(payload)
    except Exception:
        return None
    if end.code == OK:
        return None
    return RPCError.from_status(end.code, end.message, end.details)


def status_of_goaway(payload: bytes) -> "tuple[RPCError, int]":
    goaway = wire_pb2.GoAway()
    try:
        goaway.ParseFromString(payload)
    except Exception:
        return RPCError.from_status(INTERNAL, "the daemon sent an undecodable GOAWAY"), 0
    code = goaway.code or UNAVAILABLE
    return RPCError.from_status(code, goaway.message or "the daemon closed the connection"), goaway.last_call_id


def default_socket_path(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where the daemon listens: `$TALLY_SOCKET`, else `$XDG_RUNTIME_DIR/tally/tally.sock`,
    else `$HOME/.tally/run/tally.sock` (docs/protocol.md, section 1.1). `$TALLY_URL`, which
    comes before these rules, is read by `tally._address.resolve`."""
    env = os.environ if environ is None else environ
    explicit = env.get("TALLY_SOCKET")
    if explicit:
        return explicit
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "tally", "tally.sock")
    home = env.get("HOME") or "/tmp"
    return os.path.join(home, ".tally", "run", "tally.sock")


def connect_error(path: str, reason: str) -> RPCError:
    return RPCError.from_status(
        UNAVAILABLE,
        f"cannot connect to the Tally daemon at {path}: {reason}; start it with `tally serve`",
    )


TRUSTED_UID_VARIABLE = "TALLY_DAEMON_UID"
_UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


class _PeerSocket(Protocol):
    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...


def trusted_daemon_uid(explicit: Optional[int] = None) -> Optional[int]:
    """One more daemon uid to talk to besides this user's and root: `explicit`, else
    `$TALLY_DAEMON_UID` (for a member of a group that another user's daemon allows)."""
    if explicit is not None:
        return explicit
    value = os.environ.get(TRUSTED_UID_VARIABLE, "").strip()
    return int(value) if value.isdigit() else None


def daemon_refusal(path: str, daemon_uid: int, client_uid: int, trusted: Optional[int] = None) -> Optional[RPCError]:
    """PERMISSION_DENIED unless a client of `client_uid` may talk to a daemon of `daemon_uid`:
    its own user's, root's, or the trusted uid's (`trusted_daemon_uid(trusted)`)."""
    if daemon_uid in (client_uid, 0) or daemon_uid == trusted_daemon_uid(trusted):
        return None
    return RPCError.from_status(
        PERMISSION_DENIED,
        f"the socket {path} is served by uid {daemon_uid}, not by this user (uid {client_uid}) or root; "
        f"refusing to talk to it (set {TRUSTED_UID_VARIABLE}={daemon_uid} to trust that user's daemon)",
    )


def check_daemon(path: str, sock: _PeerSocket, trusted: Optional[int] = None) -> None:
    """Right after connecting, before anything is sent: raises `PermissionDenied` naming the uid
    of the process serving `sock` (`SO_PEERCRED`) unless it is this user, root or `trusted`."""
    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None:  # not Linux
        return
    try:
        _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(_socket.SOL_SOCKET, option, _UCRED.size))
    except OSError as exc:
        raise connect_error(path, f"cannot read the daemon's credentials: {exc.strerror or exc}") from None
    refusal = daemon_refusal(path, uid, os.geteuid(), trusted)
    if refusal is not None:
        raise refusal
