"""Teams from the command line (docs/teams.md): `tally serve --listen` with TLS, `tally tokens`,
`tally status` over TCP, and what each role may do, with the real binary on loopback."""
import json
import os
import re
import subprocess

import pytest

from conftest import Daemon, run_tally, tally_fails, tally_json, tally_ok


def make_certs(folder):
    """A private CA and a certificate for localhost signed by it, with openssl."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ca_key, ca, key, csr, cert = (str(folder / n) for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=Team CA", "-keyout", ca_key, "-out", ca)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/O=Tally tests/CN=localhost",
            "-keyout", key, "-out", csr)
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
            "-extfile", str(ext), "-out", cert)
    return ca, cert, key


@pytest.fixture
def team(workdir):
    """A daemon on its socket and on TLS at 127.0.0.1 (a free port), and its CA file."""
    ca, cert, key = make_certs(workdir)
    # At info, the log says how the listeners and connections ended, should a stop hang.
    d = Daemon(workdir, args=["--socket", str(workdir / "run" / "tally.sock"), "--home", str(workdir / "home"),
                              "--listen", "tcp://127.0.0.1:0", "--tls-cert", cert, "--tls-key", key], log_level="info")
    match = re.search(r"listen:\s+tls://127\.0\.0\.1:(\d+)", d.banner)
    assert match, d.banner
    d.url = f"tally+tls://localhost:{match.group(1)}"
    d.ca = ca
    yield d
    d.stop()


def remote(team, token, *args, ca=True, timeout=30):
    """`tally ARGS` as a client on another host would run it: TALLY_URL, TALLY_TOKEN, TALLY_CA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env["TALLY_URL"] = team.url
    if token is not None:
        env["TALLY_TOKEN"] = token
    if ca:
        env["TALLY_CA"] = team.ca
    return run_tally(*args, env=env, timeout=timeout)


def test_tokens_are_made_listed_and_revoked_and_the_secret_is_shown_once(team):
    made = tally_json(team, "tokens", "create", "alice", "--role", "member", "--expires", "30d")
    secret = made["secret"]
    assert re.fullmatch(r"tally_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", secret)
    assert made["token"]["name"] == "alice" and made["token"]["role"] == "member"
    assert made["token"]["id"] == secret.split("_")[1]
    days = (int(made["token"]["expiresAtMs"]) - int(made["token"]["createdAtMs"])) / 86_400_000
    assert abs(days - 30) < 0.01
    plain = run_tally("tokens", "create", "wall", "--role", "viewer", "--socket", team.socket)
    assert plain.returncode == 0 and plain.stdout.startswith("tally_") and len(plain.stdout.split()) == 1
    assert "shown once" in plain.stderr
    listed = tally_ok(team, "tokens", "ls")
    assert "alice" in listed and "wall" in listed and secret not in listed and plain.stdout.strip() not in listed
    assert "tally_" not in json.dumps(tally_json(team, "tokens", "ls"))
    assert tally_fails(team, "tokens", "create", "alice", "--role", "viewer").stderr.count("ALREADY_EXISTS") == 1
    assert "INVALID_ARGUMENT" in tally_fails(team, "tokens", "create", "bad name", "--role", "viewer").stderr
    assert tally_fails(team, "tokens", "create", "x", "--role", "owner").returncode != 0
    assert tally_fails(team, "tokens", "create", "x", "--role", "viewer", "--expires", "11y").returncode != 0

    assert remote(team, secret, "status").returncode == 0
    tally_ok(team, "tokens", "revoke", "alice")
    refused = remote(team, secret, "status")
    assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr
    assert [t["name"] for t in tally_json(team, "tokens", "ls").get("tokens", [])] == ["wall"]
    assert "NOT_FOUND" in tally_fails(team, "tokens", "revoke", "alice").stderr


def test_status_over_tls_names_the_transport_the_certificate_and_the_user(team):
    secret = tally_json(team, "tokens", "create", "bob", "--role", "viewer")["secret"]
    shown = remote(team, secret, "status")
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"transport\s+tls \(daemon certificate: .*CN=localhost", shown.stdout), shown.stdout
    assert re.search(r"you\s+bob \(viewer\)", shown.stdout)
    assert re.search(r"listen\s+tls://127\.0\.0\.1:\d+", shown.stdout)
    as_json = json.loads(remote(team, secret, "status", "--json").stdout)
    assert as_json["connection"]["transport"] == "tls"
    assert as_json["connection"]["user"] == "bob" and as_json["connection"]["role"] == "viewer"
    assert "CN=localhost" in as_json["connection"]["peerCertificateSubject"]
    # Over the socket, the daemon's user is an admin.
    local = tally_ok(team, "status")
    assert re.search(r"transport\s+unix", local) and "(admin)" in local

    no_token = remote(team, None, "status")
    assert no_token.returncode != 0 and "UNAUTHENTICATED" in no_token.stderr and "TALLY_TOKEN" in no_token.stderr
    # Without the private CA the daemon's certificate does not verify: no fallback to plaintext.
    untrusted = remote(team, secret, "status", ca=False)
    assert untrusted.returncode != 0 and "UNAVAILABLE" in untrusted.stderr and "TLS" in untrusted.stderr


def test_what_each_role_may_do_from_the_command_line(team, workdir):
    viewer = tally_json(team, "tokens", "create", "vera", "--role", "viewer")["secret"]
    member = tally_json(team, "tokens", "create", "max", "--role", "member")["secret"]
    admin = tally_json(team, "tokens", "create", "ada", "--role", "admin")["secret"]

    made = remote(team, member, "experiments", "create", "shared", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["createdBy"] == "max"
    run = json.loads(remote(team, member, "runs", "start", "shared", "--json").stdout)
    assert run["createdBy"] == "max"
    assert remote(team, member, "runs", "log", run["id"], "loss=0.5", "--step", "1").returncode == 0

    # A viewer reads everything and changes nothing.
    assert remote(team, viewer, "runs", "show", run["id"]).returncode == 0
    for args in (["experiments", "create", "mine"], ["runs", "start", "shared"],
                 ["runs", "log", run["id"], "loss=0.1", "--step", "2"]):
        refused = remote(team, viewer, *args)
        assert refused.returncode != 0 and "PERMISSION_DENIED" in refused.stderr and "vera is a viewer" in refused.stderr, (args, refused.stderr)

    # A member may not register providers (a command provider runs code as the daemon's user),
    # delete what others made, or manage tokens.
    for args in (["providers", "create", "sh", "--kind", "command", "--", "/bin/sh", "-c", "id"],
                 ["runs", "delete", run["id"], "--force"], ["tokens", "ls"]):
        refused = remote(team, member, *args)
        assert refused.returncode != 0 and "PERMISSION_DENIED" in refused.stderr and "needs the admin role" in refused.stderr, (args, refused.stderr)
    assert remote(team, viewer, "providers", "ls").returncode == 0

    # An admin may.
    assert remote(team, admin, "providers", "create", "sh", "--kind", "command", "--", "/bin/true").returncode == 0
    assert remote(team, admin, "tokens", "ls").returncode == 0
    assert [p["name"] for p in tally_json(team, "providers", "ls")["providers"]] == ["sh"]


def test_serve_refuses_plaintext_off_loopback_and_listen_without_certificates(workdir):
    base = ["serve", "--socket", str(workdir / "run" / "tally.sock"), "--home", str(workdir / "home"), "--http", "off"]
    for extra, message in (
        (["--listen", "tcp://0.0.0.0:7999", "--insecure-no-tls"], "loopback"),
        (["--listen", "tcp://127.0.0.1:7999"], "--tls-cert"),
        (["--tls-cert", "a.pem", "--tls-key", "a.key"], "--listen"),
        (["--listen", "127.0.0.1:7999", "--insecure-no-tls"], "tcp://"),
        (["--listen", "tcp://127.0.0.1:99999", "--insecure-no-tls"], "port"),
        (["--listen", "tcp://127.0.0.1:0", "--tls-cert", str(workdir / "missing.pem"), "--tls-key", str(workdir / "missing.key")], "certificate"),
    ):
        result = run_tally(*base, *extra, timeout=30)
        assert result.returncode != 0, extra
        assert message in result.stderr, (extra, result.stderr)


def test_plaintext_on_loopback_with_a_token(workdir):
    d = Daemon(workdir, args=["--socket", str(workdir / "run" / "tally.sock"), "--home", str(workdir / "home"),
                              "--listen", "tcp://127.0.0.1:0", "--insecure-no-tls"])
    try:
        port = re.search(r"listen:\s+tcp://127\.0\.0\.1:(\d+)", d.banner).group(1)
        secret = tally_json(d, "tokens", "create", "ci", "--role", "member")["secret"]
        shown = run_tally("status", "--url", f"tally+tcp://127.0.0.1:{port}",
                          env=dict(os.environ, TALLY_TOKEN=secret), timeout=30)
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"transport\s+tcp\n", shown.stdout) and re.search(r"you\s+ci \(member\)", shown.stdout)
        # A TLS client does not talk to a plaintext listener.
        assert run_tally("status", "--url", f"tally+tls://127.0.0.1:{port}", env=dict(os.environ, TALLY_TOKEN=secret),
                         timeout=30).returncode != 0
    finally:
        d.stop()
