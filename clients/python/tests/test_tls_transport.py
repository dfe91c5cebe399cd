"""The client's TCP and TLS transports without the daemon: address rules and URL parsing, then
both transports against a stand-in daemon (fake_daemon.py) over TLS and plaintext TCP: the token
in HELLO, who the daemon says the client is, large messages both ways from many threads, the
refusals (certificate, token), unreachable addresses, reconnecting, and no autostart for TCP.
The same behaviour against the real daemon is in test_tcp_tls.py."""
import asyncio
import os
import socket
import ssl
import stat
import threading
import time
from pathlib import Path

import pytest

import tally
import tally.aio
from tally import _address, _journal, _tls, _wire
from tally._address import Address, parse_url, resolve
from tally._protocol import ClientConnectionState, Condition, ConnectionClosed, HandshakeCompleted
from tally._transport import Connection
from tally.v1 import system_pb2, wire_pb2

from certs import make_certs
from fake_daemon import ECHO, FakeDaemon

TOKEN = "tally_abc123_s3cret"


def echo(payload: bytes = b"") -> system_pb2.EchoRequest:
    return system_pb2.EchoRequest(payload=payload)


# -- addresses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("unix:///run/user/1000/tally/tally.sock", Address("unix", path="/run/user/1000/tally/tally.sock")),
    ("tally+tls://tally.example.com:7312", Address("tls", host="tally.example.com", port=7312)),
    ("tally+tls://10.1.2.3:443", Address("tls", host="10.1.2.3", port=443)),
    ("tally+tls://[2001:db8::1]:7312", Address("tls", host="2001:db8::1", port=7312)),
    ("TALLY+TLS://Host:7312/", Address("tls", host="host", port=7312)),
    ("tally+tcp://127.0.0.1:7312", Address("tcp", host="127.0.0.1", port=7312)),
    ("tally+tcp://localhost:1", Address("tcp", host="localhost", port=1)),
    ("tally+tcp://[::1]:65535", Address("tcp", host="::1", port=65535)),
    ("  tally+tcp://127.0.0.2:9  ", Address("tcp", host="127.0.0.2", port=9)),
])
def test_urls_parse(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url, says", [
    ("http://host:1", "unsupported Tally address"),
    ("tcp://127.0.0.1:7312", "unsupported Tally address"),          # the daemon's --listen form
    ("tally+tls://host", "the port is missing"),
    ("tally+tls://host:0", "the port is missing"),
    ("tally+tls://host:99999", "not a number from 1 to 65535"),
    ("tally+tls://host:http", "not a number from 1 to 65535"),
    ("tally+tls://:7312", "the host is missing"),
    ("tally+tls://user:pw@host:7312", "no credentials"),
    ("tally+tls://host:7312/x", "a path, query or fragment"),
    ("tally+tls://host:7312?token=x", "a path, query or fragment"),
    ("tally+tcp://10.0.0.5:7312", "only reaches a daemon on this machine"),
    ("tally+tcp://example.com:7312", "only reaches a daemon on this machine"),
    ("unix://relative/tally.sock", "absolute path"),
    ("/just/a/path", "unsupported Tally address"),
])
def test_bad_urls_are_refused_naming_the_accepted_forms(url, says):
    with pytest.raises(ValueError) as info:
        parse_url(url)
    assert says in str(info.value)
    if "unsupported Tally address" in says or "port" in says or "host" in says:
        assert "tally+tls://HOST:PORT" in str(info.value) and "unix:///" in str(info.value)


def test_the_address_comes_from_the_argument_then_tally_url_then_the_socket_rules():
    env = {"TALLY_URL": "tally+tls://h:1", "TALLY_SOCKET": "/s.sock"}
    assert resolve(environ=env) == Address("tls", host="h", port=1)
    assert resolve(url="tally+tcp://127.0.0.1:2", environ=env) == Address("tcp", host="127.0.0.1", port=2)
    assert resolve(socket="/other.sock", environ=env) == Address("unix", path="/other.sock")
    assert resolve(socket="unix:///u.sock", environ=env) == Address("unix", path="/u.sock")
    assert resolve(socket="tally+tls://k:3", environ=env) == Address("tls", host="k", port=3)
    assert resolve(socket="relative.sock", environ=env) == Address("unix", path="relative.sock")
    assert resolve(environ={"TALLY_URL": "  ", "TALLY_SOCKET": "/s.sock"}) == Address("unix", path="/s.sock")
    assert resolve(environ={"XDG_RUNTIME_DIR": "/run/user/7"}) == Address("unix", path="/run/user/7/tally/tally.sock")
    assert resolve(environ={"HOME": "/home/h"}) == Address("unix", path="/home/h/.tally/run/tally.sock")
    with pytest.raises(ValueError, match=r"\$TALLY_URL: unsupported Tally address 'https://x:1'"):
        resolve(environ={"TALLY_URL": "https://x:1"})
    with pytest.raises(ValueError, match="not both"):
        resolve(url="tally+tls://h:1", socket="/s.sock")


def test_addresses_print_as_urls():
    assert Address("tls", host="2001:db8::1", port=7312).url == "tally+tls://[2001:db8::1]:7312"
    assert Address("unix", path="/a/b.sock").url == "unix:///a/b.sock"
    assert Address("unix", path="/a/b.sock").display == "/a/b.sock"
    assert Address("tcp", host="127.0.0.1", port=5).display == "tally+tcp://127.0.0.1:5"
    assert parse_url(Address("tls", host="::1", port=9).url) == Address("tls", host="::1", port=9)


def test_token_and_ca_come_from_the_argument_then_the_environment():
    env = {"TALLY_TOKEN": " tally_x_y\n", "TALLY_CA": "/etc/ca.pem"}
    assert _address.resolve_token(None, env) == "tally_x_y"
    assert _address.resolve_token("tally_a_b", env) == "tally_a_b"
    assert _address.resolve_token("", env) == ""  # an explicit empty token: none
    assert _address.resolve_token(None, {}) == ""
    assert _address.resolve_ca(None, env) == "/etc/ca.pem"
    assert _address.resolve_ca("/mine.pem", env) == "/mine.pem"
    assert _address.resolve_ca(None, {}) is None


def test_channels_check_the_url_when_made(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="tally\\+tls://HOST:PORT"):
        tally.connect(url="tls://example.com:7312")
    with pytest.raises(ValueError, match="tally\\+tls://HOST:PORT"):
        tally.aio.connect(url="grpc://example.com:7312")
    monkeypatch.setenv("TALLY_URL", "ftp://x:1")
    with pytest.raises(ValueError, match=r"\$TALLY_URL"):
        tally.Channel()
    missing = str(tmp_path / "missing-ca.pem")
    with pytest.raises(ValueError, match="cannot use the CA file .*missing-ca.pem"):
        tally.connect(url="tally+tls://127.0.0.1:1", ca=missing)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="cannot use the CA file"):
        tally.aio.connect(url="tally+tls://127.0.0.1:1", ca=str(not_pem))


def test_tally_url_picks_the_transport_and_no_autostart_for_tcp(monkeypatch):
    monkeypatch.setenv("TALLY_URL", "tally+tcp://127.0.0.1:7312")
    monkeypatch.setenv("TALLY_SOCKET", "/never/used.sock")
    channel = tally.Channel(autostart=True)
    assert channel.address == Address("tcp", host="127.0.0.1", port=7312)
    assert channel.url == "tally+tcp://127.0.0.1:7312" and channel.socket_path == channel.url
    assert channel.autostart is False and tally.aio.AsyncChannel(autostart=True).autostart is False
    assert tally.Channel("/a.sock").autostart is True


# -- the protocol core (bytes only) ---------------------------------------------------------------

def _hello_of(data: bytes) -> "wire_pb2.Hello":
    frame = next(_wire.decode_frames(data))
    assert frame.kind == _wire.HELLO
    return wire_pb2.Hello.FromString(frame.payload)


def test_the_hello_carries_the_token_only_when_there_is_one():
    assert _hello_of(ClientConnectionState(token=TOKEN).initiate()).token == TOKEN
    without = ClientConnectionState().initiate()
    assert _hello_of(without).token == "" and TOKEN.encode() not in without


def test_a_hello_reply_names_user_and_role():
    core = ClientConnectionState(token=TOKEN, remote=True, path="tally+tls://h:1")
    core.initiate()
    reply = wire_pb2.HelloReply(version=1, max_concurrent_calls=10, user="alice", role="viewer")
    events = core.receive_data(_wire.encode_frame(_wire.HELLO, 0, reply.SerializeToString()))
    assert [type(e) for e in events] == [HandshakeCompleted]
    assert (core.reply.user, core.reply.role) == ("alice", "viewer")


@pytest.mark.parametrize("token, says", [("", "no token was sent: TALLY_TOKEN or token="),
                                         (TOKEN, "the token sent was refused")])
def test_an_unauthenticated_goaway_in_the_handshake_says_what_was_sent(token, says):
    core = ClientConnectionState(token=token, remote=True, path="tally+tls://h:1")
    core.initiate()
    goaway = wire_pb2.GoAway(code=16, message="an access token is required")
    events = core.receive_data(_wire.encode_frame(_wire.GOAWAY, 0, goaway.SerializeToString()))
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed) and isinstance(closed.error, tally.Unauthenticated)
    assert closed.error.message == f"an access token is required (daemon at tally+tls://h:1; {says})"


def test_a_tls_record_in_answer_to_a_plaintext_hello_says_use_tls():
    alert = b"\x15\x03\x03\x00\x02\x02\x46" + bytes(12)  # an alert, then more
    core = ClientConnectionState(remote=True, path="tally+tcp://127.0.0.1:7")
    core.initiate()
    closed = core.receive_data(alert)[-1]
    assert isinstance(closed, ConnectionClosed) and closed.error.condition is Condition.TLS_ANSWERED
    assert closed.error.code == 14 and "use tally+tls://" in closed.error.message
    local = ClientConnectionState(path="/s.sock")  # on a Unix socket: just a bad frame
    local.initiate()
    assert local.receive_data(alert)[-1].error.code == 13


def test_a_lost_handshake_over_tcp_does_not_suggest_starting_a_daemon():
    core = ClientConnectionState(remote=True, path="tally+tls://h:1")
    core.initiate()
    error = core.connection_lost("Connection reset by peer")[-1].error
    assert error.condition is Condition.REMOTE_HANDSHAKE_LOST and "tally serve" not in error.message
    assert error.message == "cannot connect to the Tally daemon at tally+tls://h:1: Connection reset by peer"


# -- against a stand-in daemon ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    return make_certs(str(folder)), make_certs(str(folder), ca_name="Another CA", prefix="other-")


@pytest.fixture
def tls_daemon(certs):
    d = FakeDaemon(cert=certs[0].cert, key=certs[0].key,
                   tokens={TOKEN: ("alice", "member"), "tally_v_v": ("watcher", "viewer")})
    yield d
    d.stop()


@pytest.fixture
def plain_daemon():
    d = FakeDaemon(tokens={TOKEN: ("bob", "admin")})
    yield d
    d.stop()


def test_tls_handshake_carries_the_token_and_reports_who_and_how(tls_daemon, certs):
    with tally.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[0].ca) as client:
        me = client.whoami()
        assert (me.user, me.role, me.transport) == ("alice", "member", "tls")
        assert me.url == tls_daemon.url() and me.server_name == "fake/0" and me.connection_id == 1
        assert me.peer_subject == certs[0].subject == "O=Tally tests,CN=localhost" and me.tls_version == "TLSv1.3"
        assert me.peer_certificate is not None and ("DNS", "localhost") in me.peer_certificate["subjectAltName"]
        conn = client.channel.connection()
        assert (conn.user, conn.role, conn.transport, conn.peer_subject) == ("alice", "member", "tls", me.peer_subject)
        assert client.diagnostics.echo(echo(b"over tls")).payload == b"over tls"
    assert [h.token for h in tls_daemon.hellos] == [TOKEN]


def test_token_and_ca_from_the_environment(tls_daemon, certs, monkeypatch):
    monkeypatch.setenv("TALLY_URL", tls_daemon.url(host="localhost"))
    monkeypatch.setenv("TALLY_TOKEN", "tally_v_v")
    monkeypatch.setenv("TALLY_CA", certs[0].ca)
    with tally.connect() as client:
        me = client.whoami()
        assert (me.user, me.role, me.url) == ("watcher", "viewer", tls_daemon.url(host="localhost"))


def test_large_messages_both_ways_from_many_threads(tls_daemon, certs):
    """Requests and answers of up to 3 MB (many TLS records each) from 8 threads at once on one
    connection: the reader decrypts while the others encrypt and write."""
    with tally.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[0].ca) as client:
        big = os.urandom(3 << 20)
        assert client.diagnostics.echo(echo(big)).payload == big
        failures = []

        def worker(i: int) -> None:
            try:
                for j in range(40):
                    payload = bytes([i]) * (j * 7919 + 1)
                    if client.diagnostics.echo(echo(payload)).payload != payload:
                        failures.append((i, j))
            except Exception as exc:  # pragma: no cover - reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == [] and not any(t.is_alive() for t in threads)
        assert tls_daemon.accepted == 1  # all on one connection


def test_plaintext_tcp_on_loopback(plain_daemon):
    with tally.connect(url=plain_daemon.url("tally+tcp"), token=TOKEN) as client:
        me = client.whoami()
        assert (me.user, me.role, me.transport, me.peer_subject, me.peer_certificate, me.tls_version) == (
            "bob", "admin", "tcp", "", None, "")
        big = os.urandom(1 << 20)
        assert client.diagnostics.echo(echo(big)).payload == big


def test_a_private_ca_is_refused_without_tally_ca(tls_daemon, certs, monkeypatch):
    monkeypatch.delenv("TALLY_CA", raising=False)
    with pytest.raises(tally.Unavailable) as info:
        tally.connect(url=tls_daemon.url(), token=TOKEN).info()
    assert info.value.condition is Condition.TLS_CERTIFICATE_REFUSED
    message = str(info.value)
    assert "TLS failed: the daemon's certificate did not verify" in message and tls_daemon.url() in message
    assert "TALLY_CA" in message
    assert tls_daemon.hellos == []  # nothing was sent: no token left this process


def test_a_run_does_not_go_offline_for_a_refused_certificate_but_does_for_an_absent_daemon(
        tls_daemon, certs, tmp_path, monkeypatch):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    with tally.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[1].ca) as client:
        with pytest.raises(tally.Unavailable) as info:
            client.start_run("exp", capture_env=False, system_metrics=False)
        assert info.value.condition is Condition.TLS_CERTIFICATE_REFUSED
    assert not (tmp_path / "journal").exists() or not list((tmp_path / "journal").iterdir())
    with tally.connect(url="tally+tls://127.0.0.1:1", token=TOKEN, ca=certs[0].ca) as client:
        run = client.start_run("exp", capture_env=False, system_metrics=False)  # offline: nothing listens
        run.log({"loss": 0.5}, step=0)
        run.end()
        assert run.journalled_points == 1 and os.path.exists(run.journal_path)
    # Its journal waits apart from the Unix socket's, where a daemon of this machine would take it in.
    assert os.path.dirname(run.journal_path) == str(tmp_path / "journal" / "remote" / "127.0.0.1_1")
    assert _journal.journal_dir_for(Address("tls", host="::1", port=7312), {"TALLY_JOURNAL": "/j"}) == "/j/remote/__1_7312"
    assert _journal.journal_dir_for(Address("unix", path="/s.sock"), {"TALLY_JOURNAL": "/j"}) == "/j"


def test_the_wrong_ca_is_refused(tls_daemon, certs):
    client = tally.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[1].ca)
    with pytest.raises(tally.Unavailable, match="certificate did not verify .*other-ca.pem"):
        client.diagnostics.echo(echo())
    assert tls_daemon.hellos == []


def test_a_host_name_the_certificate_does_not_name_is_refused(certs):
    odd = make_certs(str(Path(certs[0].ca).parent), hosts=["tally.internal"], prefix="odd-")
    d = FakeDaemon(cert=odd.cert, key=odd.key, tokens={TOKEN: ("alice", "member")})
    try:
        with pytest.raises(tally.Unavailable, match="certificate did not verify .*valid for 127.0.0.1"):
            tally.connect(url=d.url(), token=TOKEN, ca=odd.ca).info()
        assert d.hellos == []
    finally:
        d.stop()


def test_tls_to_a_plaintext_listener_fails_and_never_falls_back(plain_daemon, certs):
    with pytest.raises(tally.Unavailable) as info:
        tally.connect(url=plain_daemon.url("tally+tls"), token=TOKEN, ca=certs[0].ca).info()
    assert "TLS handshake failed" in str(info.value) and "--insecure-no-tls" in str(info.value)
    assert plain_daemon.hellos == []  # no HELLO, no token in clear


def test_a_missing_or_unknown_token_is_unauthenticated(tls_daemon, certs, monkeypatch):
    monkeypatch.delenv("TALLY_TOKEN", raising=False)
    with pytest.raises(tally.Unauthenticated) as info:
        tally.connect(url=tls_daemon.url(), ca=certs[0].ca).diagnostics.echo(echo())
    assert "an access token is required" in str(info.value) and "no token was sent: TALLY_TOKEN or token=" in str(info.value)
    with pytest.raises(tally.Unauthenticated) as info:
        tally.connect(url=tls_daemon.url(), ca=certs[0].ca, token="tally_nope_nope").diagnostics.echo(echo())
    assert "unknown access token" in str(info.value) and "the token sent was refused" in str(info.value)
    assert [h.token for h in tls_daemon.hellos] == ["", "tally_nope_nope"]


def test_nothing_listening_is_unavailable_naming_the_url(certs):
    import socket
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # a port nobody listens on
    for url in (f"tally+tls://127.0.0.1:{port}", f"tally+tcp://127.0.0.1:{port}"):
        with pytest.raises(tally.Unavailable) as info:
            tally.connect(url=url, token=TOKEN, ca=certs[0].ca).info()
        assert url in str(info.value) and "Connection refused" in str(info.value)

        async def attempt() -> None:
            async with tally.aio.connect(url=url, token=TOKEN, ca=certs[0].ca) as client:
                await client.system.info(system_pb2.InfoRequest())

        with pytest.raises(tally.Unavailable, match=url.replace("+", r"\+")):
            asyncio.run(attempt())


def test_no_daemon_is_started_for_a_tcp_address(tmp_path, monkeypatch, certs):
    marker = tmp_path / "started"
    fake_tally = tmp_path / "tally"
    fake_tally.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake_tally.chmod(fake_tally.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TALLY_AUTOSTART", "1")
    monkeypatch.setenv("TALLY_EXECUTABLE", str(fake_tally))
    with pytest.raises(tally.Unavailable):
        tally.connect(url="tally+tcp://127.0.0.1:1", token=TOKEN, autostart=True).info()
    with pytest.raises(tally.Unavailable):
        asyncio.run(tally.aio.connect(url="tally+tls://127.0.0.1:1", ca=certs[0].ca).system.info(
            system_pb2.InfoRequest()))
    assert not marker.exists()


def test_a_new_connection_after_the_daemon_goes_away(certs):
    d = FakeDaemon(cert=certs[0].cert, key=certs[0].key, tokens={TOKEN: ("alice", "member")})
    port = d.port
    client = tally.connect(url=d.url(), token=TOKEN, ca=certs[0].ca)
    try:
        first = client.channel.connection()
        assert client.diagnostics.echo(echo(b"1")).payload == b"1"
        d.stop()
        # The reader sees the GOAWAY and the close; then calls fail until a daemon is back.
        with pytest.raises(tally.Unavailable):
            for _ in range(1000):
                client.diagnostics.echo(echo(b"x"))
        d = FakeDaemon(cert=certs[0].cert, key=certs[0].key, tokens={TOKEN: ("alice", "member")}, port=port)
        assert client.diagnostics.echo(echo(b"2")).payload == b"2"
        assert client.channel.connection() is not first and client.whoami().connection_id == 1
    finally:
        client.close()
        d.stop()


def test_a_goaway_and_the_end_of_the_tls_session_in_one_read_end_the_connection(certs):
    """A daemon shutting down sends GOAWAY and ends the TLS session (close_notify) at once, then
    waits for the client's close_notify before it closes TCP. Both records arrive in one read:
    the client must take the close_notify as the end of the stream (answer it and close), not
    wait on a socket that says nothing more. The daemon's side is an in-memory TLS server on a
    socket pair, so that the two records are sent in one write."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certs[0].cert, certs[0].key)
    ours, theirs = socket.socketpair()
    into, out_of = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_context.wrap_bio(into, out_of, server_side=True)
    go, answered, closed = threading.Event(), threading.Event(), threading.Event()
    failures: list = []

    def daemon() -> None:
        try:
            theirs.settimeout(10)
            decoder = _wire.FrameDecoder()
            while True:  # the TLS handshake, then the HELLO
                try:
                    server.do_handshake()
                    frames = decoder.feed(server.read(65536))
                    if frames:
                        break
                except ssl.SSLWantReadError:
                    pass
                if out_of.pending:
                    theirs.sendall(out_of.read())
                into.write(theirs.recv(65536))
            reply = wire_pb2.HelloReply(version=1, max_concurrent_calls=10, user="alice", role="member")
            server.write(_wire.encode_frame(_wire.HELLO, 0, reply.SerializeToString()))
            theirs.sendall(out_of.read())
            go.wait(10)
            goaway = wire_pb2.GoAway(code=14, message="the server is shutting down")
            server.write(_wire.encode_frame(_wire.GOAWAY, 0, goaway.SerializeToString()))
            try:
                server.unwrap()  # close_notify
            except ssl.SSLWantReadError:
                pass
            theirs.sendall(out_of.read())  # GOAWAY and close_notify in one write
            while not answered.is_set():
                data = theirs.recv(65536)
                if not data:
                    break
                into.write(data)
                while True:
                    try:
                        server.read(65536)  # the client's frames, ignored
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:
                        answered.set()  # the client's close_notify came
                        break
            if theirs.recv(1) == b"":
                closed.set()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=daemon, daemon=True)
    thread.start()
    context = _address.tls_context(certs[0].ca)
    sock = _tls.TLSSocket(ours, context, "localhost")
    sock.handshake(time.monotonic() + 10)
    core = ClientConnectionState(remote=True, path="tally+tls://localhost:1", token=TOKEN)
    Connection._handshake(sock, core, 10)
    sock.settimeout(None)
    conn = Connection("tally+tls://localhost:1", sock, core, address=Address("tls", host="localhost", port=1))
    assert (conn.user, conn.role) == ("alice", "member")
    call = conn.start_call(ECHO, first=echo(b"x").SerializeToString(), end_stream=True)
    go.set()
    with pytest.raises(tally.Unavailable, match="shutting down"):
        conn.recv(call)
    assert answered.wait(10), "the client did not answer the daemon's close_notify"
    assert closed.wait(10), "the client did not close its socket"
    assert not conn.usable and not failures
    thread.join(10)


def test_forked_child_opens_its_own_tls_connection(tls_daemon, certs):
    client = tally.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[0].ca)
    parent_conn = client.channel.connection()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = client.diagnostics.echo(echo(b"child")).payload == b"child"
            ok = ok and client.channel.connection() is not parent_conn
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.waitpid(pid, 0)
    # The child never touched the parent's TLS session: the parent's connection goes on.
    assert client.diagnostics.echo(echo(b"parent" * 5000)).payload == b"parent" * 5000
    assert client.channel.connection() is parent_conn and tls_daemon.accepted == 2
    client.close()


def test_asyncio_over_tls_and_tcp(tls_daemon, plain_daemon, certs):
    async def main() -> None:
        async with tally.aio.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[0].ca) as client:
            me = await client.whoami()
            assert (me.user, me.role, me.transport, me.peer_subject) == ("alice", "member", "tls", certs[0].subject)
            assert me.tls_version == "TLSv1.3" and me.peer_certificate is not None
            big = os.urandom(3 << 20)
            assert (await client.diagnostics.echo(echo(big))).payload == big
            answers = await asyncio.gather(*(client.diagnostics.echo(echo(bytes([i]) * 70000)) for i in range(20)))
            assert [a.payload for a in answers] == [bytes([i]) * 70000 for i in range(20)]
        async with tally.aio.connect(url=plain_daemon.url("tally+tcp"), token=TOKEN) as client:
            me = await client.whoami()
            assert (me.user, me.role, me.transport) == ("bob", "admin", "tcp")
        with pytest.raises(tally.Unavailable, match="certificate did not verify"):
            async with tally.aio.connect(url=tls_daemon.url(), token=TOKEN, ca=certs[1].ca) as client:
                await client.diagnostics.echo(echo())
        with pytest.raises(tally.Unauthenticated, match="no token was sent"):
            async with tally.aio.connect(url=tls_daemon.url(), token="", ca=certs[0].ca) as client:
                await client.diagnostics.echo(echo())

    asyncio.run(main())
    assert [h.token for h in tls_daemon.hellos] == [TOKEN, ""]
