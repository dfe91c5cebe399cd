"""The environment of a run, captured at its start: `env.` params travelling with the start, the
package list and the diff as artifacts, fields left out when they cannot be read, and a start
that does not wait for any of it."""
import hashlib
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import tally
from tally import _env


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(repo)], check=True)
    (repo / "train.py").write_text("print('v1')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "first")
    return repo


SCRIPT = textwrap.dedent("""
    import json, sys, tally
    from tally import _env
    _env.GIT_REUSE = 0  # this script changes the tree between its runs
    out = {}
    with tally.start_run(sys.argv[1], params={"lr": 0.1}, capture_diff=True) as run:
        run.log({"loss": 1.0})
    out["clean"] = run.id
    with open("train.py", "a") as f:
        f.write("print('uncommitted')\\n")
    with tally.start_run(sys.argv[1], capture_diff=True) as run:
        pass
    out["dirty"] = run.id
    with tally.start_run(sys.argv[1], params={"env.host": "mine"}) as run:  # no diff asked for
        pass
    out["nodiff"] = run.id
    out["torch"] = "torch" in sys.modules
    print(json.dumps(out))
""")


def test_the_environment_is_captured_as_env_params_and_artifacts(daemon, repo, tmp_path):
    (repo / "run_me.py").write_text(SCRIPT)  # untracked: does not make the tree dirty
    experiment = unique("env")
    out = subprocess.run([sys.executable, "run_me.py", experiment], cwd=repo, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "TALLY_SOCKET": daemon.socket})
    assert out.returncode == 0, out.stderr
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    assert ids["torch"] is False  # never imported to look for GPUs
    commit = git(repo, "rev-parse", "HEAD")

    clean = tally.get_run(ids["clean"])
    p = clean.params
    assert p["lr"] == 0.1 and p["env.git_commit"] == commit and p["env.git_branch"] == "trunk"
    assert p["env.git_dirty"] is False and p["env.git_root"] == str(repo)
    assert p["env.cwd"] == str(repo) and "run_me.py" in p["env.command"] and experiment in p["env.command"]
    assert p["env.python"] == platform.python_version() and p["env.python_executable"] == sys.executable
    assert p["env.host"] and p["env.user"] and isinstance(p["env.pid"], int)
    # The package list: an artifact whose SHA-256 starts with the param's hash.
    names = sorted(a.name for a in clean.artifacts)
    assert names == ["env/packages.txt"]  # clean: no diff
    listing = tmp_path / "packages.txt"
    tally.download_artifact(listing, run=clean.id, name="env/packages.txt")
    content = listing.read_bytes()
    assert hashlib.sha256(content).hexdigest()[:16] == p["env.packages_hash"]
    lines = content.decode().splitlines()
    assert lines == sorted(lines) and len(lines) == p["env.packages_count"]
    assert "protobuf==" + __import__("google.protobuf").protobuf.__version__ in lines

    dirty = tally.get_run(ids["dirty"])
    assert dirty.params["env.git_dirty"] is True and dirty.params["env.git_commit"] == commit
    diff = tmp_path / "git.diff"
    tally.download_artifact(diff, run=dirty.id, name="env/git.diff")
    assert "+print('uncommitted')" in diff.read_text()

    nodiff = tally.get_run(ids["nodiff"])
    assert nodiff.params["env.git_dirty"] is True and nodiff.params["env.host"] == "mine"  # given params win
    # The process uploaded its package list with its first run; the later ones name that run.
    assert nodiff.artifacts == [] and nodiff.params["env.packages_run"] == clean.id

    # The filter language finds them, as the issue writes it (and in backticks).
    found = tally.search_runs(f'params.env.git_commit = "{commit}" and params.`env.git_dirty` = true',
                              experiments=experiment)
    assert sorted(r.id for r in found) == sorted([ids["dirty"], ids["nodiff"]])


def test_later_runs_of_a_process_share_the_package_list(daemon, monkeypatch):
    monkeypatch.setattr(_env, "_package_holders", {})
    experiment = unique("share")
    with tally.start_run(experiment) as first:
        pass
    with tally.start_run(experiment) as second:
        pass
    one, two = tally.get_run(first.id), tally.get_run(second.id)
    assert [a.name for a in one.artifacts] == ["env/packages.txt"] and "env.packages_run" not in one.params
    assert two.artifacts == [] and two.params["env.packages_run"] == first.id
    assert two.params["env.packages_hash"] == one.params["env.packages_hash"]


def test_capture_env_false_records_nothing(daemon):
    with tally.start_run(unique("noenv"), params={"a": 1}, capture_env=False) as run:
        run.log({"x": 1.0})
    info = tally.get_run(run.id)
    assert info.params == {"a": 1} and info.artifacts == []


def test_asyncio_runs_capture_it_too(daemon):
    import asyncio
    import tally.aio

    async def main():
        async with tally.aio.connect(daemon.socket) as client:
            async with await client.start_run(unique("aio-env"), system_metrics=False) as run:
                run.log({"x": 1.0})
            async with await client.start_run(unique("aio-env"), capture_env=False) as bare:
                pass
            return (await client.get_run(run.id)).params, (await client.get_run(bare.id)).params

    captured, bare = asyncio.run(main())
    assert captured["env.python"] == platform.python_version() and bare == {}


def test_a_nested_run_leaves_the_environment_to_its_parent(daemon):
    with tally.start_run(unique("nested")) as parent:
        with tally.start_run(unique("nested"), parent=parent) as child:
            pass
        with tally.start_run(unique("nested"), parent=parent, capture_env=True) as asked:
            pass
    assert "env.python" in tally.get_run(parent.id).params
    assert not any(k.startswith("env.") for k in tally.get_run(child.id).params)
    assert "env.python" in tally.get_run(asked.id).params


def test_start_run_does_not_wait_for_the_capture(daemon, monkeypatch):
    real = _env.capture

    def slow(capture_diff=False):
        time.sleep(0.5)
        return real(capture_diff)

    monkeypatch.setattr(_env, "capture", slow)
    monkeypatch.setattr(_env, "_captures", {})  # nothing shared with this process's earlier runs
    monkeypatch.setattr(_env, "_package_holders", {})
    client = tally.connect(daemon.socket)
    client.start_run(unique("warm"), capture_env=False).end()  # connected
    started = time.perf_counter()
    run = client.start_run(unique("slow-env"))
    returned = time.perf_counter() - started
    run.log({"x": 1.0})
    run.end()
    assert returned < 0.3, returned
    info = client.get_run(run.id)
    assert "env.python" in info.params and [a.name for a in info.artifacts] == ["env/packages.txt"]
    client.close()


def test_an_offline_start_carries_the_environment_in_its_journal(tmp_path, monkeypatch):
    monkeypatch.setenv("TALLY_JOURNAL", str(tmp_path / "journal"))
    client = tally.connect(str(tmp_path / "nobody.sock"), autostart=False)
    run = client.start_run(unique("offline-env"), system_metrics=False)
    run.end(timeout=30)
    records, _ = tally._journal.read_journal(run.journal_path)
    start = records[0].start_run
    assert start.run_id == run.id and start.params["env.python"].string_value == platform.python_version()
    client.close()


def test_gpus_from_torch_when_imported_else_nvidia_smi(tmp_path, monkeypatch):
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir()
    smi.write_text("#!/bin/sh\n"
                   'case "$*" in *query-gpu=name,driver_version*) ;; *) exit 3;; esac\n'
                   "echo 'NVIDIA H100 80GB HBM3, 550.54.15'\necho 'NVIDIA H100 80GB HBM3, 550.54.15'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{smi.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setattr(_env, "_gpu", None)
    assert _env.gpus() == {"gpu_driver": "550.54.15", "gpu_count": 2,
                           "gpu_names": "NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3"}

    class Cuda:
        @staticmethod
        def is_available():
            return True

        @staticmethod
        def device_count():
            return 1

        @staticmethod
        def get_device_name(i):
            return "NVIDIA A100-SXM4-40GB"

    fake_torch = type(sys)("torch")
    fake_torch.cuda = Cuda
    fake_torch.version = type("version", (), {"cuda": "12.4"})
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    assert _env.gpus() == {"cuda": "12.4", "gpu_count": 1, "gpu_names": "NVIDIA A100-SXM4-40GB",
                           "gpu_driver": "550.54.15"}


def test_what_cannot_be_read_is_left_out(tmp_path, monkeypatch):
    """No git, a hanging nvidia-smi, a folder outside any repository: those fields are missing,
    the rest is there, and it takes no longer than the timeouts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nsleep 30\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # no git on it
    monkeypatch.setattr(_env, "NVIDIA_SMI_TIMEOUT", 0.3)
    monkeypatch.setattr(_env, "_gpu", None)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["-c"])
    started = time.perf_counter()
    params, artifacts = _env.capture(capture_diff=True)
    assert time.perf_counter() - started < 3
    assert not any(k.startswith(("env.git", "env.gpu", "env.cuda")) for k in params)
    assert params["env.cwd"] == str(tmp_path) and "env.packages_hash" in params
    assert [name for name, _, _ in artifacts] == ["env/packages.txt"]

    monkeypatch.setenv("PATH", os.environ["PATH"] + os.pathsep + "/usr/bin:/bin")  # git, outside a repository
    params, _ = _env.capture()
    assert not any(k.startswith("env.git") for k in params)


def test_capture_is_fast():
    """Uncached (git asked again, packages listed again) it stays well under the start's hold
    plus a commit on a small machine; cached, it is a fraction of a millisecond."""
    _env._git.clear()
    _env._packages = None
    started = time.perf_counter()
    _env.capture()
    first = time.perf_counter() - started
    started = time.perf_counter()
    _env.capture()
    again = time.perf_counter() - started
    assert first < 1.0 and again < 0.05, (first, again)
