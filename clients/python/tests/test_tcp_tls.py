"""The Python client against the real daemon over TCP: `tally serve --listen tcp://127.0.0.1:PORT
--tls-cert … --tls-key …` (and `--insecure-no-tls` for tally+tcp://) beside its Unix socket, with
a private CA made here and access tokens made with `tally tokens create` over the socket.

Runs logged and read back over TLS from the threaded and asyncio clients, who the daemon says the
client is, `created_by`, refusals (no token, wrong token, revoked token, a viewer logging, the
wrong CA or none), reconnecting after a daemon restart, and the environment variables."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

import tally
import tally.aio
from tally.v1 import tracking_pb2

from certs import Certs, make_certs
from conftest import Daemon, _tmp, tally_bin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpDaemon(Daemon):
    """A daemon on its Unix socket and on 127.0.0.1:`port`, with TLS unless `certs` is None."""

    def __init__(self, root: Path, certs: Optional[Certs], port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.certs = certs
        listen = ["--listen", f"tcp://127.0.0.1:{self.port}"]
        tls = ["--tls-cert", certs.cert, "--tls-key", certs.key] if certs is not None else ["--insecure-no-tls"]
        super().__init__(root, listen + tls)

    @property
    def url(self) -> str:
        return f"tally+{'tls' if self.certs is not None else 'tcp'}://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """A `tally` command against this daemon, over its Unix socket (where its user is admin)."""
        env = {k: v for k, v in os.environ.items() if k not in ("TALLY_URL", "TALLY_TOKEN", "TALLY_CA")}
        result = subprocess.run([tally_bin(), *args, "--socket", self.socket], capture_output=True, text=True,
                                timeout=60, env=env)
        assert result.returncode == 0, f"tally {' '.join(args)}: {result.stderr}"
        return result.stdout

    def token(self, name: str, role: str) -> str:
        made = json.loads(self.cli("tokens", "create", name, "--role", role, "--json"))
        about = made.get("token", made)
        assert about.get("name", name) == name and about.get("role", role) == role
        secret = made["secret"]
        assert secret.startswith("tally_")
        return str(secret)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Dict[str, Certs]:
    folder = str(tmp_path_factory.mktemp("tls"))
    return {"daemon": make_certs(folder), "other": make_certs(folder, ca_name="Some Other CA", prefix="other-")}


@pytest.fixture(scope="module")
def tls_daemon(certs) -> Iterator[TcpDaemon]:
    root = _tmp("tally-py-tls-")
    d = TcpDaemon(root, certs["daemon"])
    yield d
    d.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def tokens(tls_daemon) -> Dict[str, str]:
    return {role: tls_daemon.token(f"{role}-py", role) for role in ("viewer", "member", "admin")}


@pytest.fixture
def member(tls_daemon, tokens, certs) -> Iterator[tally.Client]:
    client = tally.connect(url=tls_daemon.url, token=tokens["member"], ca=certs["daemon"].ca)
    yield client
    client.close()


def log_a_run(client: tally.Client, experiment: str, steps: int = 2000) -> str:
    with client.start_run(experiment, params={"lr": 0.01}, capture_env=False, system_metrics=False) as run:
        for step in range(steps):
            run.log({"loss": 1.0 / (step + 1), "acc": step / steps}, step=step)
    return run.id


def test_a_member_logs_a_run_over_tls_and_reads_it_back(member, tls_daemon, certs):
    me = member.whoami()
    assert (me.user, me.role, me.transport) == ("member-py", "member", "tls")
    assert me.url == tls_daemon.url and me.peer_subject == certs["daemon"].subject
    assert me.tls_version == "TLSv1.3"  # the daemon insists on 1.3
    run_id = log_a_run(member, "over-tls")
    history = member.history(run_id, ["loss", "acc"])
    assert history["loss"].total_points == 2000 and history["loss"].steps == list(range(2000))
    assert history["loss"].values[:3] == [1.0, 0.5, 1.0 / 3] and history["acc"].values[-1] == 1999 / 2000
    info = member.get_run(run_id)
    assert info.status == "completed" and info.params == {"lr": 0.01}
    assert info.created_by == "member-py"  # the token's name, not this process's user
    # The daemon's owner sees the same run through the Unix socket.
    with tally.connect(tls_daemon.socket) as owner:
        assert owner.get_run(run_id).created_by == "member-py"
        assert owner.history(run_id, ["loss"])["loss"].total_points == 2000


def test_the_unix_socket_ignores_the_token_and_makes_its_owner_admin(tls_daemon):
    with tally.connect(tls_daemon.socket, token="tally_not_atoken") as owner:
        me = owner.whoami()
        assert me.transport == "unix" and me.role == "admin" and me.user not in ("", "member-py")
        assert me.peer_subject == "" and me.peer_certificate is None


def test_the_asyncio_client_over_tls(tls_daemon, tokens, certs):
    async def main() -> str:
        async with tally.aio.connect(url=tls_daemon.url, token=tokens["member"], ca=certs["daemon"].ca) as client:
            me = await client.whoami()
            assert (me.user, me.role, me.transport, me.peer_subject) == (
                "member-py", "member", "tls", certs["daemon"].subject)
            async with await client.start_run("over-tls-aio", capture_env=False, system_metrics=False) as run:
                for step in range(1000):
                    run.log({"loss": 2.0 / (step + 1)}, step=step)
            record = await client.tracking.get_run(tracking_pb2.GetRunRequest(run_id=run.id))
            assert record.status == tracking_pb2.RUN_STATUS_COMPLETED and record.created_by == "member-py"
            chunks = [c async for c in client.tracking.get_metric_history(
                tracking_pb2.GetMetricHistoryRequest(run_id=run.id, keys=["loss"]))]
            assert sum(len(c.steps) for c in chunks if c.key == "loss") == 1000
            history = await client.history(run.id, ["loss"])
            assert history["loss"].total_points == 1000
            return run.id

    run_id = asyncio.run(main())
    with tally.connect(tls_daemon.socket) as owner:
        assert owner.get_run(run_id).created_by == "member-py"


def test_a_missing_wrong_or_revoked_token_is_unauthenticated(tls_daemon, certs, monkeypatch):
    monkeypatch.delenv("TALLY_TOKEN", raising=False)
    url, ca = tls_daemon.url, certs["daemon"].ca
    with pytest.raises(tally.Unauthenticated) as info:
        tally.connect(url=url, ca=ca).info()
    assert "no token was sent" in str(info.value)
    with pytest.raises(tally.Unauthenticated) as info:
        tally.connect(url=url, ca=ca, token="tally_0000000000000000_nottherealsecret").info()
    assert "the token sent was refused" in str(info.value)
    revoked = tls_daemon.token("revoked-py", "member")
    with tally.connect(url=url, ca=ca, token=revoked) as client:
        assert client.whoami().user == "revoked-py"
    tls_daemon.cli("tokens", "revoke", "revoked-py")
    with pytest.raises(tally.Unauthenticated):
        tally.connect(url=url, ca=ca, token=revoked).info()

    async def aio_without_token() -> None:
        async with tally.aio.connect(url=url, ca=ca, token="") as client:
            await client.whoami()

    with pytest.raises(tally.Unauthenticated):
        asyncio.run(aio_without_token())


def test_a_viewer_reads_but_may_not_log(tls_daemon, tokens, certs, member):
    run_id = log_a_run(member, "for-the-viewer", steps=10)
    with tally.connect(url=tls_daemon.url, token=tokens["viewer"], ca=certs["daemon"].ca) as viewer:
        assert viewer.whoami().role == "viewer"
        assert viewer.get_run(run_id).name and viewer.history(run_id, ["loss"])["loss"].total_points == 10
        assert run_id in [r.id for r in viewer.search_runs(experiments="for-the-viewer")]
        with pytest.raises(tally.PermissionDenied):
            viewer.tracking.start_run(tracking_pb2.StartRunRequest(
                experiment=tracking_pb2.ExperimentRef(name="viewer-exp"), create_experiment=True))
        with pytest.raises(tally.PermissionDenied):
            viewer.tracking.log_metrics(tracking_pb2.MetricBatch(run_id=run_id, keys=["x"], key_index=[0],
                                                                 values=[1.0], steps=[99]))
        run = viewer.start_run("viewer-exp", capture_env=False, system_metrics=False)
        with pytest.raises(tally.PermissionDenied):
            run.log({"x": 1.0}, step=0)
            run.end()
    with tally.connect(tls_daemon.socket) as owner:
        with pytest.raises(tally.NotFound):  # the viewer's batch stored nothing
            owner.history(run_id, ["x"])
        assert "viewer-exp" not in [e.name for e in owner.list_experiments()]  # nothing was created


def test_the_wrong_ca_or_no_ca_fails_verification(tls_daemon, tokens, certs, monkeypatch):
    monkeypatch.delenv("TALLY_CA", raising=False)
    for ca in (certs["other"].ca, None):
        with pytest.raises(tally.Unavailable) as info:
            tally.connect(url=tls_daemon.url, token=tokens["member"], ca=ca).info()
        assert "TLS failed: the daemon's certificate did not verify" in str(info.value)

        async def attempt() -> None:
            async with tally.aio.connect(url=tls_daemon.url, token=tokens["member"], ca=ca) as client:
                await client.whoami()

        with pytest.raises(tally.Unavailable, match="certificate did not verify"):
            asyncio.run(attempt())


def test_plaintext_tcp_against_insecure_no_tls(certs):
    root = _tmp("tally-py-tcp-")
    d = TcpDaemon(root, None)
    try:
        token = d.token("plain-py", "member")
        with tally.connect(url=d.url, token=token) as client:
            me = client.whoami()
            assert (me.user, me.role, me.transport, me.peer_subject) == ("plain-py", "member", "tcp", "")
            run_id = log_a_run(client, "over-tcp", steps=500)
            assert client.history(run_id, ["loss"])["loss"].total_points == 500
            assert client.get_run(run_id).created_by == "plain-py"
        # TLS to a plaintext listener fails; nothing falls back to plaintext.
        with pytest.raises(tally.Unavailable, match="TLS handshake failed"):
            tally.connect(url=f"tally+tls://127.0.0.1:{d.port}", token=token, ca=certs["daemon"].ca).info()
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_plaintext_tcp_to_a_tls_listener_is_refused(tls_daemon, tokens):
    with pytest.raises(tally.Unavailable) as info:
        tally.connect(url=f"tally+tcp://127.0.0.1:{tls_daemon.port}", token=tokens["member"]).info()
    assert f"tally+tcp://127.0.0.1:{tls_daemon.port}: it answered with TLS; use tally+tls://" in str(info.value)


def test_a_new_connection_after_the_daemon_restarts(certs):
    root = _tmp("tally-py-tls-restart-")
    d = TcpDaemon(root, certs["daemon"])
    try:
        token = d.token("restart-py", "member")
        client = tally.connect(url=d.url, token=token, ca=certs["daemon"].ca)
        first = client.channel.connection()
        pid = client.info().pid
        d.stop()
        with pytest.raises(tally.Unavailable) as info:
            client.info()
        assert d.url in str(info.value) or "going away" in str(info.value) or "closed" in str(info.value)
        d.start()  # the same port, store and tokens
        assert client.info().pid == d.proc.pid != pid
        assert client.channel.connection() is not first and client.whoami().user == "restart-py"
        client.close()
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_run_started_while_the_daemon_is_down_is_delivered_over_tls_when_it_is_back(certs, tmp_path, monkeypatch):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    root = _tmp("tally-py-tls-offline-")
    d = TcpDaemon(root, certs["daemon"])
    try:
        token = d.token("offline-py", "member")
        d.stop()
        client = tally.connect(url=d.url, token=token, ca=certs["daemon"].ca)
        run = client.start_run("offline-tls", capture_env=False, system_metrics=False)  # nothing listens: offline
        for step in range(1000):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        assert run.journalled_points == 1000 and run.acknowledged_points == 0
        assert Path(run.journal_path).parent == tmp_path / "journal" / "remote" / f"127.0.0.1_{d.port}"
        run.end()  # journalled too
        d.start()
        # The run's sender delivers the journal over TLS with the token, then removes it.
        deadline = time.monotonic() + 60
        while os.path.exists(run.journal_path):
            assert time.monotonic() < deadline, "the journal was not delivered"
            time.sleep(0.05)
        assert run.acknowledged_points == 1000 and run.journalled_points == 0
        client.close()
        with tally.connect(d.socket) as owner:
            info = owner.get_run(run.id)
            assert info.created_by == "offline-py" and info.status == "completed"
            assert owner.history(run.id, ["loss"])["loss"].total_points == 1000
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_journal_a_dead_process_left_for_a_tcp_daemon_is_delivered_by_tally_sync(certs, tmp_path):
    """A process logs to a TCP daemon that is down and dies without ending its run: its journal
    waits under remote/127.0.0.1_PORT (where no local daemon looks) until `tally sync FOLDER`
    with TALLY_URL, TALLY_TOKEN and TALLY_CA delivers it over TLS."""
    root = _tmp("tally-py-tls-sync-")
    d = TcpDaemon(root, certs["daemon"])
    journals = tmp_path / "journal"
    try:
        token = d.token("sync-py", "member")
        d.stop()
        env = {k: v for k, v in os.environ.items() if k not in ("TALLY_SOCKET",)}
        env.update(TALLY_URL=d.url, TALLY_TOKEN=token, TALLY_CA=certs["daemon"].ca, TALLY_JOURNAL=str(journals),
                   PYTHONPATH=os.pathsep.join([str(Path(tally.__file__).parents[1]), env.get("PYTHONPATH", "")]))
        script = tmp_path / "dies.py"
        script.write_text(textwrap.dedent("""
            import os, tally
            run = tally.start_run("sync-tls", capture_env=False, system_metrics=False)
            for step in range(500):
                run.log({"loss": 1 / (step + 1)}, step=step)
            run.flush()
            print(run.id, run.journal_path, flush=True)
            os._exit(0)  # dies without ending the run
        """))
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        run_id, journal = result.stdout.split()
        folder = journals / "remote" / f"127.0.0.1_{d.port}"
        assert Path(journal).parent == folder and Path(journal).exists()
        d.start()
        sync = subprocess.run([tally_bin(), "sync", str(folder)], capture_output=True, text=True, env=env, timeout=120)
        assert sync.returncode == 0, sync.stderr
        assert not Path(journal).exists()
        with tally.connect(d.socket) as owner:
            assert owner.get_run(run_id).created_by == "sync-py"
            assert owner.history(run_id, ["loss"])["loss"].total_points == 500
    finally:
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_environment_variables_reach_the_module_functions(tls_daemon, tokens, certs, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import tally
        with tally.start_run("from-env", capture_env=False, system_metrics=False) as run:
            for step in range(100):
                run.log({"loss": 1 / (step + 1)}, step=step)
        me = tally.default_client().whoami()
        print(run.id, me.user, me.role, me.transport)
    """))
    env = {k: v for k, v in os.environ.items() if k != "TALLY_SOCKET"}
    env.update(TALLY_URL=tls_daemon.url, TALLY_TOKEN=tokens["member"], TALLY_CA=certs["daemon"].ca,
               TALLY_SOCKET="/nonexistent/never-used.sock",
               PYTHONPATH=os.pathsep.join([str(Path(tally.__file__).parents[1]), env.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    run_id, user, role, transport = result.stdout.split()
    assert (user, role, transport) == ("member-py", "member", "tls")
    with tally.connect(tls_daemon.socket) as owner:
        info = owner.get_run(run_id)
        assert info.created_by == "member-py" and info.status == "completed"
        assert owner.history(run_id, ["loss"])["loss"].total_points == 100

