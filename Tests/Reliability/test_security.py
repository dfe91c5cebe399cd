"""Security: the data folder is private, API keys never appear in logs, the store or answers,
and artifact names can never reach the file system."""
import json
import os
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
