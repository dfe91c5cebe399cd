"""End-to-end tests of `tally serve` and `tally status` as a user runs them."""
import json
import os
import shutil
import signal
import stat
import time

import pytest

from conftest import ENGINE, Daemon, run_tally


def test_serve_announces_socket_and_data(daemon):
    assert f"listening on {daemon.socket}" in daemon.banner
    assert f"store:     {daemon.store}" in daemon.banner
    assert os.path.exists(os.path.join(daemon.home, "tally.sqlite")) == (ENGINE == "sqlite")
    assert os.path.isdir(os.path.join(daemon.home, "artifacts"))


def test_status_prints_the_daemons_info(daemon):
    result = run_tally("status", "--socket", daemon.socket)
    assert result.returncode == 0, result.stderr
    assert "tally daemon is running" in result.stdout
    assert f"pid              {daemon.proc.pid}" in result.stdout
    assert daemon.socket in result.stdout
    assert ("v1_store_meta" if ENGINE == "sqlite" else "v1_schema") in result.stdout


def test_status_json(daemon):
    result = run_tally("status", "--socket", daemon.socket, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    # proto3 JSON like every other --json: lowerCamelCase keys, 64-bit numbers as strings.
    assert info["pid"] == str(daemon.proc.pid)
    assert info["protocolVersion"] == 1
    assert info["storePath"] == daemon.store
    assert info["openConnections"] >= 1
    assert int(info["uptimeMs"]) >= 0
    assert not [key for key in info if "_" in key]


def test_status_honours_TALLY_SOCKET(daemon):
    env = dict(os.environ, TALLY_SOCKET=daemon.socket)
    result = run_tally("status", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pid"] == str(daemon.proc.pid)


def test_status_without_daemon_says_how_to_start_one(workdir):
    socket = str(workdir / "nothing.sock")
    result = run_tally("status", "--socket", socket)
    assert result.returncode != 0
    assert "UNAVAILABLE" in result.stderr
    assert socket in result.stderr
    assert "tally serve" in result.stderr


def test_socket_is_private(daemon):
    sock_mode = stat.S_IMODE(os.stat(daemon.socket).st_mode)
    dir_mode = stat.S_IMODE(os.stat(os.path.dirname(daemon.socket)).st_mode)
    assert sock_mode == 0o600
    assert dir_mode == 0o700


def test_second_daemon_refuses_and_names_the_first(daemon):
    second = run_tally("serve", "--socket", daemon.socket, "--home", daemon.home + "-2", timeout=30)
    assert second.returncode != 0
    assert f"pid {daemon.proc.pid}" in second.stderr
    assert daemon.socket in second.stderr
    # The first one still answers.
    assert run_tally("status", "--socket", daemon.socket).returncode == 0


def test_sigterm_stops_gracefully_and_removes_the_socket(workdir):
    d = Daemon(workdir)
    assert os.path.exists(d.socket)
    assert d.stop() == 0
    assert not os.path.exists(d.socket)


def test_restart_after_sigkill_cleans_the_stale_socket(workdir):
    first = Daemon(workdir)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    assert os.path.exists(first.socket), "a killed daemon leaves its socket file behind"
    second = Daemon(workdir)
    try:
        result = run_tally("status", "--socket", second.socket, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["pid"] == str(second.proc.pid)
    finally:
        assert second.stop() == 0


def test_default_paths_follow_xdg(workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALLY_", "XDG_"))}
    env["XDG_RUNTIME_DIR"] = str(workdir / "xdg-run")
    env["XDG_DATA_HOME"] = str(workdir / "xdg-data")
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    d = Daemon(workdir, env=env, args=[])
    try:
        assert f"listening on {workdir}/xdg-run/tally/tally.sock" in d.banner
        assert f"store:     {d.store if ENGINE == 'postgres' else f'{workdir}/xdg-data/tally/tally.sqlite'}" in d.banner
        result = run_tally("status", "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["pid"] == str(d.proc.pid)
    finally:
        d.stop()


def test_default_paths_fall_back_to_home(workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALLY_", "XDG_"))}
    env["HOME"] = str(workdir / "user")
    d = Daemon(workdir, env=env, args=[])
    try:
        assert f"listening on {workdir}/user/.tally/run/tally.sock" in d.banner
        assert f"store:     {d.store if ENGINE == 'postgres' else f'{workdir}/user/.local/share/tally/tally.sqlite'}" in d.banner
    finally:
        d.stop()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to act as another user")
def test_a_peer_with_another_uid_is_refused(daemon, workdir):
    # Open the folders so that only the peer-credential check stands in the way.
    os.chmod(workdir, 0o755)
    os.chmod(os.path.dirname(daemon.socket), 0o755)
    os.chmod(daemon.socket, 0o666)
    import subprocess
    from conftest import tally_bin
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         tally_bin(), "status", "--socket", daemon.socket],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "PERMISSION_DENIED" in result.stderr
    assert "uid 65534" in result.stderr
    # The owner is still served.
    assert run_tally("status", "--socket", daemon.socket).returncode == 0
