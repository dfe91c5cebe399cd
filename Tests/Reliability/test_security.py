"""Security: the data folder is private, API keys never appear in logs, the store or answers,
and artifact names can never reach the file system."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import tally
from tally.v1 import tracking_pb2 as pb

from cli_support import Daemon, tally_bin

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "CLI"))
from stub_model_server import StubModelServer  # noqa: E402

API_KEY = "sk-secret-7c1e9b44d2"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def cli(daemon, *args, env=None):
    return subprocess.run([tally_bin(), *args, "--socket", daemon.socket], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=120)


def test_data_folder_is_private_and_keys_never_leak(workdir):
    # A home made beforehand with wide modes is narrowed.
    home = workdir / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    # The daemon logs everything (trace) to a file, read at the end.
    log_path = workdir / "daemon.log"
    log = open(log_path, "w")
    socket_path = workdir / "run" / "tally.sock"
    proc = subprocess.Popen([tally_bin(), "serve", "--socket", str(socket_path), "--home", str(home), "--log-level", "trace"],
                            stdout=log, stderr=subprocess.STDOUT)
    daemon = type("Served", (), {"socket": str(socket_path)})()
    try:
        for _ in range(600):
            if socket_path.exists():
                break
            assert proc.poll() is None, log_path.read_text()
            import time
            time.sleep(0.05)
        tally.connect(str(socket_path)).info()
        with StubModelServer(api_key=API_KEY) as stub:
            items = workdir / "items.jsonl"
            items.write_text("\n".join(json.dumps({"id": f"i{i}", "text": f"text {i} LABEL=a CONF=0.9", "label": "a"})
                                       for i in range(6)) + "\n")
            assert cli(daemon, "datasets", "create", "d", "--items", str(items), "--label", "a", "--label", "b").returncode == 0
            created = cli(daemon, "providers", "create", "p", "--kind", "openai", "--base-url", stub.openai_base_url,
                          "--api-key-env", "KEY", env={"KEY": API_KEY})
            assert created.returncode == 0, created.stderr
            shown = cli(daemon, "providers", "ls", "--json")
            assert API_KEY not in shown.stdout and API_KEY not in created.stdout
            job = cli(daemon, "eval", "d", "--provider", "p", "--model", "m", "--watch")
            assert job.returncode == 0, job.stdout + job.stderr
            assert API_KEY not in job.stdout + job.stderr
            # A request the model server refuses (a wrong key) is logged, without either key.
            wrong = cli(daemon, "providers", "update", "p", "--api-key-env", "KEY", env={"KEY": "sk-wrong-000"})
            assert wrong.returncode == 0, wrong.stderr
            cli(daemon, "eval", "d", "--provider", "p", "--model", "m", "--watch")
        # Permissions: private folders and files.
        assert mode(home) == 0o700 and mode(home / "artifacts") == 0o700
        for name in ("tally.sqlite", "tally.sqlite-wal", "tally.sqlite-shm", "secret.key"):
            if (home / name).exists():
                assert mode(home / name) == 0o600, name
        socket = Path(daemon.socket)
        assert stat.S_ISSOCK(os.stat(socket).st_mode) and mode(socket) == 0o600 and mode(socket.parent) == 0o700
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    output = log_path.read_text()
    assert "trace" in output or "debug" in output  # the log holds the daemon's most detailed lines
    assert output.count("\n") > 20
    assert API_KEY not in output and "sk-wrong-000" not in output
    # Encrypted at rest: the key is in no file of the data folder.
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert API_KEY.encode() not in data, path


def test_artifact_names_never_reach_the_file_system(workdir):
    daemon = Daemon(workdir)
    try:
        client = tally.connect(daemon.socket)
        t = client.tracking
        run = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name="paths"), create_experiment=True))

        def upload(name):
            return t.upload_artifact(iter([pb.UploadArtifactRequest(header=pb.ArtifactHeader(run_id=run.id, name=name)),
                                           pb.UploadArtifactRequest(chunk=b"content of " + name.encode("utf-8", "replace"))]))

        # Names that could mean a path outside the store, or that no file system takes, are refused.
        for bad in ["", "x" * 10_000, "a\0b", "bad\nname", "../../escape.txt", "a/../../b", "/etc/passwd-copy",
                    "a\\..\\b", "./x", "a//b"]:
            with pytest.raises(tally.InvalidArgument):
                upload(bad)
        # Names with folders are only names: the content lands in the blob store, named by its hash.
        for name in ["models/best/weights.pt", "escape.txt", "passwd-copy"]:
            assert upload(name).name == name
        artifacts = Path(daemon.home) / "artifacts"
        named = [p for p in Path(daemon.home).parent.rglob("*") if p.name in ("escape.txt", "passwd-copy", "weights.pt")]
        assert named == []
        blobs = [p for p in artifacts.rglob("*") if p.is_file()]
        assert len(blobs) == 3 and all(len(p.name) == 64 for p in blobs)
        assert all(p.resolve().is_relative_to(artifacts.resolve()) for p in blobs)
        client.close()
    finally:
        daemon.stop()


def serve(socket_path, home, *extra):
    """Starts `tally serve`; returns the process once it listens, or once it has exited."""
    import time
    proc = subprocess.Popen([tally_bin(), "serve", "--socket", str(socket_path), "--home", str(home), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if Path(socket_path).exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    return proc


def test_a_symlink_at_the_lock_path_is_refused_and_its_target_untouched(workdir):
    (workdir / "run").mkdir(mode=0o700)
    socket_path = workdir / "run" / "tally.sock"
    target = workdir / "precious.txt"
    target.write_text("precious content\n")
    Path(str(socket_path) + ".lock").symlink_to(target)
    proc = serve(socket_path, workdir / "home")
    try:
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    assert "tally.sock.lock" in stderr and "symbolic link" in stderr, stderr
    assert target.read_text() == "precious content\n"
    assert not socket_path.exists()
    # A lock path that is not a regular file (here a FIFO, which could block an open) is refused too.
    os.unlink(str(socket_path) + ".lock")
    os.mkfifo(str(socket_path) + ".lock", 0o600)
    proc = serve(socket_path, workdir / "home")
    assert proc.wait(timeout=30) != 0
    assert "not a regular file" in proc.stderr.read()


def test_a_clean_stop_leaves_no_lock_file(workdir):
    socket_path = workdir / "run" / "tally.sock"
    lock = Path(str(socket_path) + ".lock")
    proc = serve(socket_path, workdir / "home")
    try:
        assert proc.poll() is None, proc.stderr.read()
        assert lock.is_file() and not lock.is_symlink()
        assert lock.read_text().strip() == str(proc.pid) and mode(lock) == 0o600
        # A second daemon on the same socket is refused, naming the first one's pid.
        second = serve(socket_path, workdir / "home2")
        assert second.wait(timeout=30) != 0
        assert f"pid {proc.pid}" in second.stderr.read()
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert not socket_path.exists()
    assert not lock.exists()
    assert sorted(p.name for p in socket_path.parent.iterdir()) == []
    # A daemon killed outright leaves its lock file; the next one takes it over.
    proc = serve(socket_path, workdir / "home")
    proc.kill()
    proc.wait()
    assert lock.exists()
    proc = serve(socket_path, workdir / "home")  # returns at once: the dead daemon's socket is still there
    try:
        import time
        for _ in range(600):
            if lock.read_text().strip() == str(proc.pid) or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None and lock.read_text().strip() == str(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not lock.exists()


def test_a_shared_home_folder_is_refused_and_never_chmodded(workdir):
    shared = workdir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    proc = serve(workdir / "run" / "tally.sock", shared)
    assert proc.wait(timeout=30) != 0
    stderr = proc.stderr.read()
    assert str(shared) in stderr and "1777" in stderr and "--home" in stderr, stderr
    assert mode(shared) == 0o1777
    assert list(shared.iterdir()) == []
    # A folder of the user's that holds other files is used, and its mode left as it is.
    own = workdir / "own"
    own.mkdir()
    os.chmod(own, 0o750)
    (own / "notes.txt").write_text("mine\n")
    proc = serve(workdir / "run" / "tally.sock", own)
    try:
        assert proc.poll() is None, proc.stderr.read()
        assert mode(own) == 0o750
        assert mode(own / "artifacts") == 0o700 and mode(own / "tally.sqlite") == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=30)


FOREIGN_DAEMON = Path(__file__).resolve().parents[2] / "clients" / "python" / "tests" / "foreign_daemon.py"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to act as other users")
def test_the_cli_refuses_a_daemon_of_another_uid(workdir):
    import tempfile
    import time
    folder = Path(tempfile.mkdtemp(prefix="tally-foreign-", dir="/tmp"))
    os.chmod(folder, 0o777)
    sock, log = folder / "tally.sock", folder / "received.bin"
    fake = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             sys.executable, str(FOREIGN_DAEMON), str(sock), str(log)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout.readline().strip() == "ready"
        env = {k: v for k, v in os.environ.items() if k != "TALLY_DAEMON_UID"}
        # The CLI is the Swift client (TallyClient over ClientConnection), run as uid 65533.
        for args in (["status"], ["experiments", "ls"],
                     ["providers", "create", "p", "--kind", "openai", "--base-url", "https://api.example.com/v1",
                      "--api-key-env", "KEY"]):
            result = subprocess.run(["setpriv", "--reuid=65533", "--regid=65533", "--clear-groups",
                                     tally_bin(), *args, "--socket", str(sock), "--timeout", "3"],
                                    capture_output=True, text=True, timeout=60, env=dict(env, KEY=API_KEY))
            assert result.returncode != 0
            assert "PERMISSION_DENIED" in result.stderr, result.stderr
            assert "uid 65534" in result.stderr and "uid 65533" in result.stderr, result.stderr
        time.sleep(0.2)
        assert not log.exists() or log.read_bytes() == b""  # not a HELLO, let alone the key
    finally:
        fake.kill()
        fake.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv to act as another user")
def test_a_group_member_cannot_manage_providers_or_run_commands(workdir):
    """With --allow-group, a member of the group is served, but providers (which hold API keys and
    commands) and evaluations that run a command are the daemon's user's only."""
    os.chmod(workdir, 0o755)
    socket_path = workdir / "run" / "tally.sock"
    proc = serve(socket_path, workdir / "home", "--allow-group", "65534")
    try:
        assert proc.poll() is None, proc.stderr.read()
        daemon = type("Served", (), {"socket": str(socket_path)})()
        items = workdir / "items.jsonl"
        items.write_text("".join(json.dumps({"id": f"i{i}", "text": "t", "label": "a"}) + "\n" for i in range(3)))
        assert cli(daemon, "datasets", "create", "d", "--items", str(items), "--label", "a").returncode == 0
        owned = cli(daemon, "providers", "create", "local", "--kind", "command", "--command", "/bin/true")
        assert owned.returncode == 0, owned.stderr
        marker = workdir / "ran-as-daemon"

        def member(*args):
            # --socket before any "--", after which the words are a command line.
            split = args.index("--") if "--" in args else len(args)
            return subprocess.run(["setpriv", "--reuid=65533", "--regid=65534", "--clear-groups",
                                   tally_bin(), *args[:split], "--socket", str(socket_path), *args[split:]],
                                  capture_output=True, text=True, timeout=60)

        assert member("providers", "ls").returncode == 0  # a member is served
        for args in (["providers", "create", "mine", "--kind", "command", "--", "/bin/sh", "-c", f"touch {marker}"],
                     ["providers", "update", "local", "--", "/bin/sh", "-c", f"touch {marker}"],
                     ["providers", "rm", "local"],
                     ["eval", "d", "--provider", "local", "--model", "m"]):
            result = member(*args)
            assert result.returncode != 0, args
            assert "PERMISSION_DENIED" in result.stderr and "uid 65533" in result.stderr, (args, result.stderr)
        names = [p["name"] for p in json.loads(cli(daemon, "providers", "ls", "--json").stdout)["providers"]]
        assert names == ["local"]
        assert json.loads(cli(daemon, "jobs", "ls", "--json").stdout).get("jobs", []) == []
        assert not marker.exists()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
