"""The transport against the real daemon: every call shape, statuses, deadlines, cancellation,
flow control, concurrency, fork, GOAWAY."""
import os
import threading
import time

import pytest

import tally
from tally import _wire
from tally.errors import CODE_NAMES
from tally.v1 import system_pb2


def echo(**fields) -> system_pb2.EchoRequest:
    return system_pb2.EchoRequest(**fields)


def calls_in_flight(client: tally.Client) -> int:
    return client.info().calls_in_flight - 1  # the Info call itself counts


def wait_until(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_system_info_and_ping(client, daemon):
    info = client.system.info(system_pb2.InfoRequest())
    assert info.socket_path == daemon.socket and info.protocol_version == 1 and info.pid == daemon.proc.pid
    pong = client.system.ping(system_pb2.PingRequest(payload=b"hi"))
    assert pong.payload == b"hi" and pong.server_time_ms > 0
    hello = client.channel.connection().reply
    assert hello.version == 1 and hello.max_concurrent_calls == 100


def test_unary_echo(client):
    sample = system_pb2.Sample(f_string="héllo", r_int64=[1, -2, 3], m_string={"a": "b"})
    reply = client.diagnostics.echo(echo(sample=sample, payload=b"xyz"))
    assert reply.sample == sample and reply.payload == b"xyz" and reply.received_bytes == 3


def test_server_streaming(client):
    replies = list(client.diagnostics.echo_stream(echo(count=25, payload=b"p")))
    assert [r.index for r in replies] == list(range(25))
    assert list(client.diagnostics.echo_stream(echo(count=0))) == []


def test_client_streaming(client):
    reply = client.diagnostics.echo_collect(echo(payload=b"x" * i) for i in range(10))
    assert reply.index == 10 and reply.received_bytes == sum(range(10))
    assert client.diagnostics.echo_collect(iter(())).index == 0


def test_bidi_streaming(client):
    replies = list(client.diagnostics.echo_bidi(echo(payload=bytes([i])) for i in range(20)))
    assert [r.payload for r in replies] == [bytes([i]) for i in range(20)]
    assert replies[-1].received_bytes == 20


@pytest.mark.parametrize("code", sorted(set(CODE_NAMES) - {0}) + [42])
def test_statuses_map_to_exceptions(client, code):
    with pytest.raises(tally.RPCError) as info:
        client.diagnostics.echo(echo(fail_code=code, fail_message=f"failing with {code}"))
    error = info.value
    assert error.code == code and error.message == f"failing with {code}"
    assert error.code_name == CODE_NAMES.get(code, f"CODE_{code}")
    if code in CODE_NAMES:
        cls = getattr(tally, "".join(part.capitalize() for part in CODE_NAMES[code].split("_")))
        assert type(error) is cls
    else:
        assert type(error) is tally.RPCError
    assert str(error) == f"{error.code_name}: failing with {code}"


def test_streaming_errors(client):
    with pytest.raises(tally.NotFound):
        list(client.diagnostics.echo_stream(echo(fail_code=5, fail_message="nope")))
    with pytest.raises(tally.AlreadyExists):
        client.diagnostics.echo_collect([echo(), echo(fail_code=6)])
    with pytest.raises(tally.Aborted):
        list(client.diagnostics.echo_bidi([echo(), echo(fail_code=10)]))


def test_unknown_method_is_unimplemented(client):
    with pytest.raises(tally.Unimplemented):
        client.channel.unary("/tally.v1.Nope/X", system_pb2.InfoRequest(), system_pb2.InfoResponse)


def test_invalid_request_is_invalid_argument(client):
    with pytest.raises(tally.InvalidArgument):
        client.diagnostics.echo(echo(sample=system_pb2.Sample(f_string="a\x00b")))


def test_deadline_fires(client):
    start = time.monotonic()
    with pytest.raises(tally.DeadlineExceeded):
        client.diagnostics.echo(echo(delay_ms=5000), timeout=0.2)
    assert time.monotonic() - start < 2
    start = time.monotonic()
    with pytest.raises(tally.DeadlineExceeded):
        list(client.diagnostics.echo_stream(echo(count=100, delay_ms=100), timeout=0.3))
    assert time.monotonic() - start < 2
    assert wait_until(lambda: calls_in_flight(client) == 0)
    # The connection goes on.
    assert client.diagnostics.echo(echo(payload=b"after"), timeout=5).payload == b"after"


def test_closing_a_stream_cancels_it(client):
    stream = client.diagnostics.echo_stream(echo(count=10_000, delay_ms=20))
    assert next(stream).index == 0
    assert calls_in_flight(client) == 1
    stream.close()
    with pytest.raises(tally.Cancelled):
        next(stream)
    assert wait_until(lambda: calls_in_flight(client) == 0)


def test_breaking_out_of_a_loop_cancels_the_stream(client):
    for reply in client.diagnostics.echo_stream(echo(count=10_000, delay_ms=10)):
        if reply.index == 2:
            break
    assert wait_until(lambda: calls_in_flight(client) == 0)  # the iterator was garbage collected


def test_cancel_of_unary_waiting_in_another_thread(client):
    stream = client.diagnostics.echo_bidi(iter([echo(delay_ms=10_000)]))
    timer = threading.Timer(0.2, stream.cancel)
    timer.start()
    start = time.monotonic()
    with pytest.raises(tally.Cancelled):
        next(stream)
    assert time.monotonic() - start < 3
    assert wait_until(lambda: calls_in_flight(client) == 0)


def test_flow_control_with_a_slow_consumer(client):
    # 16 MiB of responses through a 1 MiB window: the daemon must wait for credit.
    chunk = b"z" * (256 << 10)
    stream = client.diagnostics.echo_stream(echo(count=64, payload=chunk))
    first = next(stream)
    time.sleep(0.3)
    conn = client.channel.connection()
    with conn._lock:
        buffered = sum(len(p) + 12 for p in stream._call.responses)
    assert buffered <= conn.recv_window + (256 << 10) + 64
    rest = list(stream)
    assert first.index == 0 and len(rest) == 63 and all(r.payload == chunk for r in rest)


def test_flow_control_of_requests(client):
    chunk = b"r" * (512 << 10)
    reply = client.diagnostics.echo_collect(echo(payload=chunk) for _ in range(24))  # 12 MiB
    assert reply.index == 24 and reply.received_bytes == 24 * len(chunk)
    replies = list(client.diagnostics.echo_bidi(echo(payload=chunk) for _ in range(12)))
    assert len(replies) == 12 and replies[-1].received_bytes == 12 * len(chunk)


def test_request_above_the_frame_limit_is_refused_locally(client):
    with pytest.raises(tally.ResourceExhausted):
        client.diagnostics.echo(echo(payload=b"x" * (5 << 20)))
    assert client.diagnostics.echo(echo(payload=b"ok")).payload == b"ok"


def test_many_threads_share_one_connection(client):
    errors = []
    conn = client.channel.connection()

    def work(n: int) -> None:
        try:
            for i in range(50):
                payload = f"{n}-{i}".encode()
                assert client.diagnostics.echo(echo(payload=payload)).payload == payload
            assert len(list(client.diagnostics.echo_stream(echo(count=20)))) == 20
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client.channel.connection() is conn


def test_more_calls_than_the_daemon_allows_wait_for_a_slot(client):
    streams = [client.diagnostics.echo_stream(echo(count=1, delay_ms=300)) for _ in range(120)]
    assert all(len(list(s)) == 1 for s in streams)


def test_missing_daemon_names_socket_and_command(tmp_path):
    path = str(tmp_path / "nobody.sock")
    with pytest.raises(tally.Unavailable) as info:
        tally.connect(path).info()
    assert path in str(info.value) and "tally serve" in str(info.value)


def test_default_socket_rules(monkeypatch):
    monkeypatch.setenv("TALLY_SOCKET", "/x/y.sock")
    assert tally.default_socket_path() == "/x/y.sock"
    monkeypatch.setenv("TALLY_SOCKET", "")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
    assert tally.default_socket_path() == "/run/user/7/tally/tally.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", "/home/h")
    assert tally.default_socket_path() == "/home/h/.tally/run/tally.sock"


def test_forked_child_opens_its_own_connection(client):
    parent_conn = client.channel.connection()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = client.diagnostics.echo(echo(payload=b"child")).payload == b"child"
            ok = ok and client.channel.connection() is not parent_conn
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.waitpid(pid, 0)
    assert client.diagnostics.echo(echo(payload=b"parent")).payload == b"parent"
    assert client.channel.connection() is parent_conn


def test_goaway_lets_calls_finish_then_reconnects(own_daemon):
    c = tally.connect(own_daemon.socket)
    stream = c.diagnostics.echo_stream(echo(count=5, delay_ms=200))
    assert next(stream).index == 0
    own_daemon.proc.terminate()  # graceful: GOAWAY UNAVAILABLE, calls in flight finish
    assert [r.index for r in stream] == [1, 2, 3, 4]
    own_daemon.proc.wait(10)
    with pytest.raises(tally.Unavailable):
        c.info()
    own_daemon.start()
    assert c.info().pid == own_daemon.proc.pid  # a new connection for new calls
    c.close()


def test_daemon_killed_fails_open_calls_with_unavailable(own_daemon):
    c = tally.connect(own_daemon.socket)
    stream = c.diagnostics.echo_stream(echo(count=100, delay_ms=100))
    next(stream)
    own_daemon.kill9()
    with pytest.raises(tally.Unavailable):
        list(stream)
    c.close()


def test_ping_frame_is_answered_with_pong(client):
    conn = client.channel.connection()
    conn._write(_wire.encode_frame(_wire.PING, 0, b"abcd"))
    assert client.info().version  # the daemon answered PONG; the reader ignored it
