"""`tally ui` and `tally serve --http`: the dashboard's URL, token and address."""
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

from conftest import Daemon, run_tally, tally_fails, tally_ok


def http_status(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_ui_prints_the_url_with_the_token_from_the_home_folder(workdir):
    d = Daemon(workdir, args=["--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "127.0.0.1:0"])
    d.socket = str(workdir / "s.sock")
    try:
        url = tally_ok(d, "ui").strip()
        token_file = Path(d.home) / "dashboard-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith(f"/?token={token}")
        base = url.split("?")[0]
        import json
        assert json.loads(tally_ok(d, "ui", "--json")) == {"dashboardUrl": url}
        # The banner names the address, never the token.
        line = d.proc.stdout.readline()
        assert line.strip() == f"dashboard: {base} (`tally ui` prints the URL with its token)"
        assert token not in line
        # Without the token: 401 and no data; with it: the page.
        status, body = http_status(base + "api/tally.v1.Tracking/ListExperiments")
        assert status == 401 and b"experiments" not in body
        status, body = http_status(base, {"Authorization": f"Bearer {token}"})
        assert status == 200 and b"<html" in body.lower()
        # The URL as printed sets the cookie and redirects to the address without the token.
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(url, timeout=10)
            raise AssertionError("no redirect")
        except urllib.error.HTTPError as error:
            assert error.code == 303
            assert error.headers["Location"] == "/"
            assert f"tally_token={token};" in error.headers["Set-Cookie"]
    finally:
        d.stop()
    # The token is kept across restarts.
    d2 = Daemon(workdir, args=["--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "127.0.0.1:0"])
    d2.socket = str(workdir / "s.sock")
    try:
        assert tally_ok(d2, "ui").strip().endswith(f"?token={token}")
    finally:
        d2.stop()


def test_http_off_serves_no_dashboard(workdir):
    d = Daemon(workdir, args=["--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "off"])
    d.socket = str(workdir / "s.sock")
    try:
        result = tally_fails(d, "ui")
        assert result.returncode == 1
        assert "--http off" in result.stderr
        assert not (Path(d.home) / "dashboard-token").exists()
    finally:
        d.stop()


def test_a_bad_http_address_is_a_usage_error(workdir):
    result = run_tally("serve", "--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "localhost")
    assert result.returncode != 0
    assert "HOST:PORT" in result.stderr


def test_a_port_given_explicitly_must_be_free(workdir):
    first = Daemon(workdir / "a", args=["--socket", str(workdir / "a.sock"), "--home", str(workdir / "a"), "--http", "127.0.0.1:0"])
    first.socket = str(workdir / "a.sock")
    try:
        port = int(tally_ok(first, "ui").split(":")[2].split("/")[0])
        result = run_tally("serve", "--socket", str(workdir / "b.sock"), "--home", str(workdir / "b"), "--http", f"127.0.0.1:{port}", timeout=30)
        assert result.returncode != 0
        assert "cannot listen" in result.stderr
    finally:
        first.stop()


def test_ui_open_hands_the_url_to_the_browser(workdir):
    d = Daemon(workdir, args=["--socket", str(workdir / "s.sock"), "--home", str(workdir / "home"), "--http", "127.0.0.1:0"])
    d.socket = str(workdir / "s.sock")
    try:
        # A "browser" that records what it was asked to open.
        opened = workdir / "opened.txt"
        browser = workdir / "browser.sh"
        browser.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {opened}\n")
        browser.chmod(0o755)
        env = dict(os.environ, BROWSER=str(browser))
        result = run_tally("ui", "--open", "--socket", d.socket, env=env)
        assert result.returncode == 0, result.stderr
        url = result.stdout.strip()
        import time
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == url
        # No browser at all: the URL is still printed, and the command says what to do.
        env = dict(os.environ, BROWSER="", PATH=str(workdir / "empty"))
        result = run_tally("ui", "--open", "--socket", d.socket, env=env)
        assert result.returncode == 1
        assert result.stdout.strip() == url
        assert "no browser found" in result.stderr
    finally:
        d.stop()
