"""The sans-IO protocol core (tally._protocol) driven with bytes only: no daemon, no socket."""
import struct
from typing import List, Optional, Tuple

import pytest

import tally
from tally import _protocol, _wire
from tally._protocol import (Call, CallEnded, CallReleased, ClientConnectionState, Condition,
                             ConnectionClosed, ConnectionState, GoAwayReceived, HandshakeCompleted,
                             MessageReceived, PingReceived, WindowOpened)
from tally._wire import (CANCEL, END, END_STREAM, GOAWAY, HALF_CLOSE, HELLO, MESSAGE, PING, PONG,
                         START, WINDOW, Frame, Violation, encode_frame)
from tally.v1 import wire_pb2

PATH = "/tmp/test.sock"


def hello_reply(**fields) -> bytes:
    reply = wire_pb2.HelloReply(version=1, server_name="tally/test", max_frame_size=4 << 20,
                                max_concurrent_calls=100, initial_window=1 << 20, connection_id=1)
    for key, value in fields.items():
        setattr(reply, key, value)
    return encode_frame(HELLO, 0, reply.SerializeToString())


def end(call_id: int, code: int = 0, message: str = "") -> bytes:
    payload = wire_pb2.CallEnd(code=code, message=message).SerializeToString() if code else b""
    return encode_frame(END, call_id, payload)


def window(call_id: int, credit: int) -> bytes:
    return encode_frame(WINDOW, call_id, struct.pack(">I", credit))


def goaway(code: int, message: str, last: int) -> bytes:
    return encode_frame(GOAWAY, 0, wire_pb2.GoAway(code=code, message=message, last_call_id=last).SerializeToString())


def frames(data: bytes) -> List[Frame]:
    return list(_wire.decode_frames(data))


def connected(**reply_fields) -> ClientConnectionState:
    core = ClientConnectionState(path=PATH)
    core.initiate()
    events = core.receive_data(hello_reply(**reply_fields))
    assert [type(e) for e in events] == [HandshakeCompleted]
    return core


def start(core: ClientConnectionState, method: str = "/tally.v1.Diagnostics/EchoBidi", **options) -> Tuple[Call, List[Frame]]:
    call = Call(method)
    return call, frames(core.start_call(call, **options))


def kinds(events) -> List[str]:
    return [type(e).__name__ for e in events]


# -- handshake ---------------------------------------------------------------------------------

def test_handshake():
    core = ClientConnectionState(max_frame_size=1 << 20, initial_window=65536, client_name="t/1", path=PATH)
    assert core.state is ConnectionState.HANDSHAKING and not core.usable
    with pytest.raises(tally.FailedPrecondition):
        core.can_start_call()
    [hello] = frames(core.initiate())
    assert hello.kind == HELLO and hello.call_id == 0
    sent = wire_pb2.Hello.FromString(hello.payload)
    assert (sent.min_version, sent.max_version, sent.client_name) == (1, 1, "t/1")
    assert (sent.max_frame_size, sent.initial_window) == (1 << 20, 65536)
    assert core.initiate() == b""  # HELLO goes once

    events = core.receive_data(hello_reply(max_frame_size=70000, max_concurrent_calls=7, initial_window=5000))
    assert kinds(events) == ["HandshakeCompleted"]
    assert events[0].reply.max_concurrent_calls == 7
    assert core.state is ConnectionState.OPEN and core.usable and core.can_start_call()
    assert (core.max_frame_size, core.max_concurrent_calls, core.free_slots, core.send_window_initial) == (70000, 7, 7, 5000)
    assert core.recv_window == 65536


def test_an_empty_hello_reply_takes_the_protocol_defaults():
    core = ClientConnectionState()
    core.initiate()
    core.receive_data(encode_frame(HELLO, 0, b""))
    assert (core.max_frame_size, core.max_concurrent_calls, core.send_window_initial) == (4 << 20, 100, 1 << 20)


def test_goaway_during_the_handshake_fails_the_connect_with_its_status():
    core = ClientConnectionState(path=PATH)
    core.initiate()
    events = core.receive_data(goaway(7, "uid 5 is not allowed", 0))
    assert kinds(events) == ["ConnectionClosed"]
    error = events[0].error
    assert isinstance(error, tally.PermissionDenied) and error.message == "uid 5 is not allowed"
    assert core.closed and core.receive_data(hello_reply()) == []


def test_end_of_stream_during_the_handshake_names_the_socket():
    core = ClientConnectionState(path=PATH)
    core.initiate()
    [closed] = core.connection_lost()
    assert isinstance(closed, ConnectionClosed) and isinstance(closed.error, tally.Unavailable)
    assert PATH in closed.error.message and "tally serve" in closed.error.message
    assert closed.error.condition is Condition.HANDSHAKE_LOST


def test_handshake_deadline():
    core = ClientConnectionState(path=PATH)
    core.initiate(now=100.0, timeout=5.0)
    assert core.next_deadline() == 105.0
    assert core.expire(104.9) == []
    [closed] = core.expire(105.0)
    assert isinstance(closed.error, tally.DeadlineExceeded) and "within 5.0s" in closed.error.message


# -- calls -------------------------------------------------------------------------------------

def test_unary_call():
    core = connected()
    call, sent = start(core, "/tally.v1.System/Ping", first=b"req", end_stream=True, timeout=5.0, now=0.0)
    assert [(f.kind, f.call_id, f.flags) for f in sent] == [(START, 1, 0), (MESSAGE, 1, END_STREAM)]
    started = wire_pb2.CallStart.FromString(sent[0].payload)
    assert started.method == "/tally.v1.System/Ping" and started.timeout_ms == 5000
    assert sent[1].payload == b"req"
    assert call.id == 1 and call.half_closed and core.free_slots == 99

    events = core.receive_data(encode_frame(MESSAGE, 1, b"resp") + end(1))
    assert kinds(events) == ["MessageReceived", "CallEnded", "CallReleased"]
    assert events[0].call is call and events[0].call_id == 1 and events[0].payload == b"resp"
    assert events[1].error is None
    assert call.ended and not call.done and core.free_slots == 100
    assert core.next_message(call) == (b"resp", b"")
    assert core.next_message(call) == (None, b"") and call.done

    # The next call takes the next id.
    second, sent = start(core, first=b"", end_stream=True)
    assert second.id == 2 and sent[0].call_id == 2


def test_a_failed_call_raises_its_status_after_its_responses():
    core = connected()
    call, _ = start(core, first=b"x", end_stream=True)
    [_, ended, _] = core.receive_data(encode_frame(MESSAGE, 1, b"partial") + end(1, 5, "no such run"))
    assert isinstance(ended.error, tally.NotFound) and ended.error.message == "no such run"
    assert core.next_message(call) == (b"partial", b"")
    with pytest.raises(tally.NotFound):
        core.next_message(call)


def test_server_stream_grants_credit_as_the_application_consumes():
    core = ClientConnectionState(initial_window=1000)
    core.initiate()
    core.receive_data(hello_reply())
    call, _ = start(core, "/tally.v1.Diagnostics/EchoStream", first=b"", end_stream=True)
    payload = b"p" * 88  # costs 100 with its header
    events = core.receive_data(b"".join(encode_frame(MESSAGE, 1, payload) for _ in range(10)))
    assert kinds(events) == ["MessageReceived"] * 10
    assert core.data_to_send() == b""  # arriving is not consuming: no credit yet

    grants = []
    for i in range(10):
        got, data = core.next_message(call)
        assert got == payload
        if data:
            grants.append((i, frames(data)))
    # Credit goes back once half the window (500 bytes) has been consumed, all of it at once.
    assert [i for i, _ in grants] == [4, 9]
    for _, [frame] in grants:
        assert frame.kind == WINDOW and frame.call_id == 1 and struct.unpack(">I", frame.payload) == (500,)

    core.receive_data(end(1))
    assert core.next_message(call) == (None, b"") and call.done


def test_client_stream_waits_for_the_send_window():
    core = connected(initial_window=100)
    call, sent = start(core, "/tally.v1.Diagnostics/EchoCollect")
    assert [f.kind for f in sent] == [START] and call.send_window == 100
    payload = b"r" * 38  # costs 50
    assert frames(core.send_message(call, payload))[0].payload == payload
    assert core.send_message(call, payload) is not None
    assert call.send_window == 0 and not call.writable
    assert core.send_message(call, payload) is None  # blocked: wait for WINDOW

    [opened] = core.receive_data(window(1, 60))
    assert isinstance(opened, WindowOpened) and opened.call is call and opened.credit == 60
    assert call.writable
    [frame] = frames(core.send_message(call, payload, end_stream=True))
    assert frame.kind == MESSAGE and frame.flags == END_STREAM
    assert call.send_window == 10
    with pytest.raises(tally.FailedPrecondition):
        core.send_message(call, payload)  # the requests have ended
    assert core.half_close(call) == b""


def test_the_send_window_may_go_negative_by_one_message():
    core = connected(initial_window=10)
    call, _ = start(core)
    assert core.send_message(call, b"x" * 100) is not None
    assert call.send_window == 10 - 112 and core.send_message(call, b"x") is None


def test_half_close():
    core = connected()
    call, _ = start(core)
    [frame] = frames(core.half_close(call))
    assert (frame.kind, frame.call_id) == (HALF_CLOSE, 1)
    assert core.half_close(call) == b""


def test_cancel():
    core = connected(max_concurrent_calls=1)
    call, _ = start(core)
    core.receive_data(encode_frame(MESSAGE, 1, b"a"))
    [frame] = frames(core.cancel(call))
    assert (frame.kind, frame.call_id) == (CANCEL, 1)
    assert call.ended and call.cancelled and isinstance(call.error, tally.Cancelled) and call.done
    with pytest.raises(tally.Cancelled):
        core.next_message(call)  # what it held is dropped
    with pytest.raises(tally.Cancelled):
        core.send_message(call, b"x")
    assert core.cancel(call) == b""  # once

    # The daemon's frames for it are ignored, but it holds its slot until the daemon's END.
    assert core.receive_data(encode_frame(MESSAGE, 1, b"late") + window(1, 5)) == [WindowOpened(call, 5)]
    assert not call.responses and not core.can_start_call()
    events = core.receive_data(end(1, 1, "the client cancelled the call"))
    assert kinds(events) == ["CallReleased"] and core.can_start_call()
    assert isinstance(call.error, tally.Cancelled) and call.error.message == "the call was cancelled"


def test_a_call_cancelled_before_it_starts_uses_no_id():
    core = connected()
    call = Call("/x.Y/Z")
    assert core.cancel(call, Condition.CALL_CANCELLED.error()) == b""
    with pytest.raises(tally.Cancelled):
        core.start_call(call)
    other, sent = start(core)
    assert other.id == 1


def test_deadline_is_reported_when_the_clock_passes_it():
    core = connected()
    slow, _ = start(core, first=b"", end_stream=True, timeout=2.0, now=10.0)
    fast, _ = start(core, first=b"", end_stream=True, timeout=1.0, now=10.0)
    untimed, _ = start(core, first=b"", end_stream=True)
    assert (slow.deadline, fast.deadline, untimed.deadline) == (12.0, 11.0, None)
    assert core.next_deadline() == 11.0
    assert core.expire(10.99) == [] and core.data_to_send() == b""

    events = core.expire(11.0)
    assert kinds(events) == ["CallEnded"] and events[0].call is fast
    assert isinstance(fast.error, tally.DeadlineExceeded) and fast.error.condition is Condition.DEADLINE_PASSED
    assert [(f.kind, f.call_id) for f in frames(core.data_to_send())] == [(CANCEL, 2)]
    assert core.next_deadline() == 12.0
    assert core.expire(11.5) == []
    # Its slot stays taken until the daemon's END, whatever it says.
    assert core.free_slots == 97
    assert kinds(core.receive_data(end(2, 4, "deadline"))) == ["CallReleased"]
    assert isinstance(fast.error, tally.DeadlineExceeded) and core.free_slots == 98

    # The `timeout_ms` sent is the whole timeout.
    _, sent = start(core, timeout=0.0004, now=0.0)
    assert wire_pb2.CallStart.FromString(sent[0].payload).timeout_ms == 1
    with pytest.raises(TypeError):
        start(core, timeout=1.0)  # the core reads no clock: a timeout needs `now`


def test_goaway_ends_the_calls_above_its_last_id():
    core = connected()
    calls = [start(core, first=b"", end_stream=True)[0] for _ in range(3)]
    events = core.receive_data(goaway(14, "the server is shutting down", 1))
    assert kinds(events) == ["GoAwayReceived", "CallEnded", "CallReleased", "CallEnded", "CallReleased"]
    assert events[0].last_call_id == 1 and isinstance(events[0].error, tally.Unavailable)
    assert {e.call_id for e in events[1:]} == {2, 3}
    assert not calls[0].ended and all(isinstance(c.error, tally.Unavailable) for c in calls[1:])
    assert core.state is ConnectionState.GOING_AWAY and not core.usable
    with pytest.raises(tally.Unavailable, match="going away: the server is shutting down"):
        core.can_start_call()

    # Call 1 runs to its END; then the daemon closes the connection.
    events = core.receive_data(encode_frame(MESSAGE, 1, b"last") + end(1))
    assert kinds(events) == ["MessageReceived", "CallEnded", "CallReleased"] and events[1].error is None
    [closed] = core.connection_lost()
    assert isinstance(closed, ConnectionClosed) and closed.error is core.goaway and core.error is core.goaway


def test_connection_lost_fails_open_calls():
    core = connected()
    call, _ = start(core)
    events = core.connection_lost("Connection reset by peer")
    assert kinds(events) == ["CallEnded", "CallReleased", "ConnectionClosed"]
    assert isinstance(call.error, tally.Unavailable) and call.error.message.endswith("Connection reset by peer")
    assert core.closed and core.connection_lost() == [] and core.close() == []
    with pytest.raises(tally.Unavailable):
        core.can_start_call()
    assert core.cancel(call) == b"" and core.half_close(call) == b""


def test_close_by_the_client():
    core = connected()
    call, _ = start(core)
    events = core.close()
    assert kinds(events) == ["CallEnded", "CallReleased", "ConnectionClosed"]
    assert isinstance(call.error, tally.Cancelled) and call.error.condition is Condition.CLOSED_BY_CLIENT


def test_slots():
    core = connected(max_concurrent_calls=2)
    a, _ = start(core)
    start(core)
    assert not core.can_start_call()
    with pytest.raises(tally.ResourceExhausted):
        start(core)
    core.receive_data(end(a.id))
    assert core.can_start_call() and core.open_calls == 1


def test_request_above_the_frame_limit_is_refused_before_anything_is_sent():
    core = connected(max_frame_size=100)
    with pytest.raises(tally.ResourceExhausted, match="frame limit") as info:
        start(core, first=b"x" * 101)
    assert info.value.condition is Condition.REQUEST_TOO_LARGE
    assert core.free_slots == 100
    call, _ = start(core)
    with pytest.raises(tally.ResourceExhausted):
        core.send_message(call, b"x" * 101)
    assert core.send_message(call, b"x" * 100) is not None


def test_ping_is_answered_with_pong():
    core = connected()
    events = core.receive_data(encode_frame(PING, 0, b"abcd"))
    assert events == [PingReceived(b"abcd")]
    assert frames(core.data_to_send()) == [Frame(PONG, 0, 0, b"abcd")]
    assert frames(core.ping(b"12")) == [Frame(PING, 0, 0, b"12")]
    with pytest.raises(tally.InvalidArgument):
        core.ping(b"x" * 65)


def test_frames_for_calls_not_open_and_server_only_kinds_are_ignored():
    core = connected()
    call, _ = start(core)
    data = (encode_frame(MESSAGE, 9, b"?") + end(9) + window(9, 5) + encode_frame(START, 1, b"")
            + encode_frame(HALF_CLOSE, 1) + encode_frame(CANCEL, 1) + encode_frame(PONG, 0, b"")
            + hello_reply())
    assert core.receive_data(data) == [] and not call.ended


# -- malformed frames --------------------------------------------------------------------------

@pytest.mark.parametrize("bad,violation,error", [
    (b"\xa0" + bytes(11), Violation.BAD_MAGIC, tally.Internal),
    (b"\xa1\x03\x00\x01" + bytes(8), Violation.RESERVED_BYTE, tally.Internal),
    (b"\xa1\x0b\x00\x00" + bytes(8), Violation.UNKNOWN_KIND, tally.Internal),
    (b"\xa1\x03\x00\x00" + struct.pack(">II", 1, (1 << 16) + 1), Violation.OVERSIZE, tally.ResourceExhausted),
    (encode_frame(WINDOW, 1, b"\x00\x01"), Violation.BAD_WINDOW, tally.Internal),
])
def test_malformed_frames_close_the_connection_with_their_status(bad, violation, error):
    core = ClientConnectionState(max_frame_size=1 << 16)
    core.initiate()
    core.receive_data(hello_reply())
    done, _ = start(core)
    call, _ = start(core)
    # The frames before the bad one are handled first.
    events = core.receive_data(encode_frame(MESSAGE, 1, b"ok") + end(1) + bad + end(2))
    assert kinds(events) == ["MessageReceived", "CallEnded", "CallReleased", "CallEnded", "CallReleased", "ConnectionClosed"]
    assert done.error is None and core.next_message(done) == (b"ok", b"")
    closed = events[-1].error
    assert type(closed) is error and closed.violation is violation and closed.message.startswith("bad frame from the daemon")
    assert call.error is closed and core.error is closed
    assert core.receive_data(end(2)) == []


def test_frame_error_codes_come_from_the_violation_not_the_text():
    assert _wire.FrameError(Violation.OVERSIZE, "whatever it says").code == _wire.RESOURCE_EXHAUSTED
    assert _wire.FrameError(Violation.BAD_MAGIC, "above the limit").code == _wire.INTERNAL


# -- a frame split anywhere --------------------------------------------------------------------

def test_a_stream_split_at_every_byte_boundary_gives_the_same_events():
    reply = hello_reply(initial_window=1)
    stream = (encode_frame(MESSAGE, 1, b"first") + window(1, 300) + encode_frame(PING, 0, b"pp")
              + encode_frame(MESSAGE, 1, b"") + end(1, 6, "exists") + goaway(14, "bye", 1))

    def run(reply_pieces: List[bytes], pieces: List[bytes]) -> List[Tuple[str, Optional[int], object]]:
        core = ClientConnectionState()
        core.initiate()
        call = Call("/m")
        out: List[Tuple[str, Optional[int], object]] = []
        for piece in reply_pieces:
            for event in core.receive_data(piece):
                assert isinstance(event, HandshakeCompleted)
                out.append(("HandshakeCompleted", None, event.reply.initial_window))
        core.start_call(call)
        for piece in pieces:
            for event in core.receive_data(piece):
                if isinstance(event, MessageReceived):
                    out.append(("MessageReceived", event.call_id, event.payload))
                elif isinstance(event, WindowOpened):
                    out.append(("WindowOpened", event.call_id, event.credit))
                elif isinstance(event, CallEnded):
                    out.append(("CallEnded", event.call_id, event.error.code if event.error else 0))
                elif isinstance(event, CallReleased):
                    out.append(("CallReleased", event.call_id, None))
                elif isinstance(event, PingReceived):
                    out.append(("PingReceived", None, event.payload))
                elif isinstance(event, GoAwayReceived):
                    out.append(("GoAwayReceived", event.last_call_id, event.error.code))
                else:
                    out.append((type(event).__name__, None, None))
        assert call.send_window == 1 + 300 and core.state is ConnectionState.GOING_AWAY
        assert frames(core.data_to_send()) == [Frame(PONG, 0, 0, b"pp")]
        return out

    whole = run([reply], [stream])
    assert whole == [("HandshakeCompleted", None, 1), ("MessageReceived", 1, b"first"), ("WindowOpened", 1, 300),
                     ("PingReceived", None, b"pp"), ("MessageReceived", 1, b""), ("CallEnded", 1, 6),
                     ("CallReleased", 1, None), ("GoAwayReceived", 1, 14)]
    for cut in range(1, len(reply)):
        assert run([reply[:cut], reply[cut:]], [stream]) == whole, cut
    for cut in range(1, len(stream)):
        assert run([reply], [stream[:cut], stream[cut:]]) == whole, cut
    bytewise = [stream[i:i + 1] for i in range(len(stream))]
    assert run([reply[i:i + 1] for i in range(len(reply))], bytewise) == whole


# -- helpers shared by the adapters ------------------------------------------------------------

def test_request_and_response_codecs_map_to_statuses():
    with pytest.raises(tally.Internal, match="cannot decode tally.v1.HelloReply"):
        _protocol.decode_response(wire_pb2.HelloReply, b"\xff\xff\xff")
    assert _protocol.encode_request(wire_pb2.GoAway(code=3)) == b"\x08\x03"
    assert Condition.NO_RESPONSE.error(method="/a.B/C").code == _wire.INTERNAL
    assert all(isinstance(c.code, int) for c in Condition)
