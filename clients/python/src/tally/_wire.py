"""Frames of the Tally wire protocol (docs/protocol.md, section 2), shared by the sync and asyncio transports."""

import os
import struct
from typing import Iterator, List, Mapping, NamedTuple, Optional

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

OK, CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED = 0, 1, 3, 4
RESOURCE_EXHAUSTED, FAILED_PRECONDITION, INTERNAL, UNAVAILABLE = 8, 9, 13, 14


class Frame(NamedTuple):
    kind: int
    flags: int
    call_id: int
    payload: bytes


class FrameError(Exception):
    """The byte stream broke the framing rules; the connection cannot go on."""


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
        buf = self._buf
        buf += data
        frames: List[Frame] = []
        pos = 0
        n = len(buf)
        while n - pos >= HEADER_SIZE:
            magic, kind, flags, reserved, call_id, length = HEADER.unpack_from(buf, pos)
            if magic != MAGIC:
                raise FrameError(f"bad magic byte 0x{magic:02x}")
            if reserved != 0:
                raise FrameError(f"reserved header byte is 0x{reserved:02x}, not 0")
            if kind < HELLO or kind > WINDOW:
                raise FrameError(f"unknown frame kind {kind}")
            if length > self.max_payload:
                raise FrameError(f"{KIND_NAMES[kind]} frame of {length} bytes is above the limit of {self.max_payload}")
            end = pos + HEADER_SIZE + length
            if end > n:
                break
            frames.append(Frame(kind, flags, call_id, bytes(buf[pos + HEADER_SIZE:end])))
            pos = end
        if pos:
            del buf[:pos]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)


def decode_frames(data: bytes, max_payload: int = DEFAULT_MAX_FRAME) -> Iterator[Frame]:
    """Every frame of a complete byte string (raises FrameError if it ends inside a frame)."""
    decoder = FrameDecoder(max_payload)
    yield from decoder.feed(data)
    if decoder.pending:
        raise FrameError(f"{decoder.pending} bytes left over after the last complete frame")


def hello_frame(max_frame_size: int, initial_window: int, client_name: str = CLIENT_NAME) -> bytes:
    hello = wire_pb2.Hello(
        min_version=PROTOCOL_VERSION, max_version=PROTOCOL_VERSION, client_name=client_name,
        max_frame_size=max_frame_size, initial_window=initial_window,
    )
    return encode_frame(HELLO, 0, hello.SerializeToString())


def start_payload(method: str, timeout: Optional[float], metadata: Optional[Mapping[str, str]]) -> bytes:
    start = wire_pb2.CallStart(method=method)
    if timeout is not None:
        start.timeout_ms = max(1, int(timeout * 1000))
    if metadata:
        for key, value in metadata.items():
            start.metadata[key] = value
    return start.SerializeToString(deterministic=True)


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


def default_socket_path() -> str:
    """Where the daemon listens: `$TALLY_SOCKET`, else `$XDG_RUNTIME_DIR/tally/tally.sock`,
    else `$HOME/.tally/run/tally.sock` (docs/protocol.md, section 1.1)."""
    explicit = os.environ.get("TALLY_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "tally", "tally.sock")
    home = os.environ.get("HOME") or "/tmp"
    return os.path.join(home, ".tally", "run", "tally.sock")


def connect_error(path: str, reason: str) -> RPCError:
    return RPCError.from_status(
        UNAVAILABLE,
        f"cannot connect to the Tally daemon at {path}: {reason}; start it with `tally serve`",
    )
