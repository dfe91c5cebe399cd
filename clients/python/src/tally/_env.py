"""The environment of a run, captured when it starts (`start_run(capture_env=True)`).

Everything here is best effort: a field that cannot be read (no git, not a repository, no GPU,
a command that times out) is left out, and nothing raises. It runs on a thread of its own
(`Capture`), so `start_run` returns at once; the run's sender waits for the params before it
sends the start (`Run._apply_env`), and the artifacts are uploaded once the start is delivered
and before the run ends. Nothing here uses the network.

Params (documented in docs/python-data.md), all under `env.`: command, cwd, python,
python_executable, platform, host, user, pid, git_commit, git_branch, git_dirty, git_root,
packages_hash, packages_count, cuda, gpu_driver, gpu_count, gpu_names. Artifacts:
`env/packages.txt` (always, when the packages could be listed) and `env/git.diff` (when the
tree is dirty and `capture_diff=True`).
"""

import getpass
import hashlib
import os
import platform
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

PREFIX = "env."
PACKAGES_ARTIFACT = "env/packages.txt"
DIFF_ARTIFACT = "env/git.diff"
GIT_TIMEOUT = 2.0  # seconds, per git command
NVIDIA_SMI_TIMEOUT = 3.0  # seconds
GIT_REUSE = 1.0  # seconds during which runs started from the same folder share what git said
_MAX_PARAM = 6000  # the daemon's longest string param

_lock = threading.Lock()
_static: Optional[Dict[str, Any]] = None
_packages: Optional[Tuple[Any, Tuple[List[str], str]]] = None  # (signature, (lines, hash))
_gpu: Optional[Tuple[bool, Dict[str, Any]]] = None  # (torch was imported, params)
_git: Dict[Tuple[str, bool], Tuple[float, Dict[str, Any], Optional[bytes]]] = {}
# The last whole capture per (folder, with the diff): runs started in a loop share it.
_captures: Dict[Tuple[str, bool], Tuple[float, Dict[str, Any], List["Artifact"]]] = {}
# The run holding `env/packages.txt` per (daemon socket, packages hash): later runs of this
# process name it (`env.packages_run`) instead of uploading the same list again.
_package_holders: Dict[Tuple[str, str], str] = {}


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_PARAM else text[:_MAX_PARAM]


def _static_params() -> Dict[str, Any]:
    """What does not change while the process lives."""
    global _static
    if _static is None:
        out: Dict[str, Any] = {}
        for key, read in (("python", platform.python_version), ("python_executable", lambda: sys.executable),
                          ("platform", _platform), ("host", socket.gethostname), ("user", getpass.getuser)):
            try:
                value = read()
                if value:
                    out[key] = _cut(str(value))
            except Exception:
                pass
        _static = out
    return dict(_static)


def _platform() -> str:
    # Not platform.platform(): it reads the interpreter's binary to find the C library's version.
    return "-".join(part for part in (platform.system(), platform.release(), platform.machine()) if part)


def _command() -> str:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return _cut(shlex.join(str(a) for a in argv))


# -- packages -----------------------------------------------------------------------------------

_NORMALIZE = re.compile(r"[-_.]+")


def _normalized(name: str) -> str:
    return _NORMALIZE.sub("-", name).lower()


def _signature() -> Any:
    """Changes when a package is installed or removed: the search path and its folders' times."""
    out = []
    for entry in sys.path:
        try:
            out.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            out.append((entry, 0))
    return tuple(out)


def _pkg_info_version(path: str) -> str:
    try:
        with open(os.path.join(path, "PKG-INFO") if os.path.isdir(path) else path, encoding="utf-8",
                  errors="replace") as f:
            for line in f:
                if not line.strip():
                    break
                if line.startswith("Version:"):
                    return line[8:].strip()
    except OSError:
        pass
    return ""


def packages() -> Tuple[List[str], str]:
    """The installed distributions as sorted `name==version` lines (names normalized as pip
    does: lower case, runs of `-_.` as `-`; the first of a name on `sys.path` wins, as for
    imports) and the first 16 hex digits of the SHA-256 of those lines joined with newlines
    (with a final newline: the bytes of the `env/packages.txt` artifact)."""
    global _packages
    signature = _signature()
    cached = _packages
    if cached is not None and cached[0] == signature:
        return cached[1]
    found: Dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:
            continue
        with listing:
            for item in listing:
                name = item.name
                if name.endswith(".dist-info"):
                    base, _, version = name[:-10].rpartition("-")
                elif name.endswith(".egg-info"):
                    parts = name[:-9].split("-")
                    base, version = parts[0], parts[1] if len(parts) > 1 else ""
                    if not version:  # a development install: the version is in its PKG-INFO
                        version = _pkg_info_version(item.path)
                else:
                    continue
                if base:
                    found.setdefault(_normalized(base), version)
    lines = sorted(f"{name}=={version}" for name, version in found.items())
    digest = hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()[:16]
    _packages = (signature, (lines, digest))
    return lines, digest


# -- git ----------------------------------------------------------------------------------------

def _git_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # `git status` must not take the index lock of a repository in use
    env["LC_ALL"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def _folder() -> str:
    """The folder whose repository the run's code is in: the script's, else the working folder."""
    script = sys.argv[0] if sys.argv else ""
    if script and script not in ("-c", "-m", "-") and os.path.isfile(script):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


def git(folder: str, capture_diff: bool) -> Tuple[Dict[str, Any], Optional[bytes]]:
    """git_commit, git_branch (left out on a detached HEAD), git_dirty (tracked files changed,
    staged or not; untracked files do not count) and git_root, and the diff against HEAD when
    dirty and asked for. Runs started from one folder within `GIT_REUSE` seconds share them."""
    if shutil.which("git") is None:
        return {}, None
    now = time.monotonic()
    with _lock:
        cached = _git.get((folder, capture_diff))
        if cached is not None and now - cached[0] < GIT_REUSE:
            return dict(cached[1]), cached[2]
    env = _git_env()
    base = ["git", "-C", folder]
    try:
        head = subprocess.Popen(base + ["rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
        status = subprocess.Popen(base + ["status", "--porcelain", "--untracked-files=no"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    except OSError:
        return {}, None
    out: Dict[str, Any] = {}
    diff: Optional[bytes] = None
    try:
        head_out, _ = head.communicate(timeout=GIT_TIMEOUT)
        if head.returncode == 0:
            lines = head_out.decode("utf-8", "replace").splitlines()
            if len(lines) == 3:
                out["git_root"] = _cut(lines[0])
                out["git_commit"] = lines[1]
                if lines[2] != "HEAD":
                    out["git_branch"] = _cut(lines[2])
    except subprocess.TimeoutExpired:
        head.kill()
        head.communicate()
    try:
        status_out, _ = status.communicate(timeout=GIT_TIMEOUT)
        if status.returncode == 0 and "git_commit" in out:
            out["git_dirty"] = bool(status_out.strip())
    except subprocess.TimeoutExpired:
        status.kill()
        status.communicate()
    if capture_diff and out.get("git_dirty"):
        try:
            result = subprocess.run(base + ["diff", "HEAD", "--no-color", "--no-ext-diff"], capture_output=True,
                                    stdin=subprocess.DEVNULL, env=env, timeout=GIT_TIMEOUT)
            if result.returncode == 0 and result.stdout:
                diff = result.stdout
        except (OSError, subprocess.TimeoutExpired):
            pass
    with _lock:
        _git[(folder, capture_diff)] = (time.monotonic(), dict(out), diff)
    return out, diff


# -- GPUs ---------------------------------------------------------------------------------------

def gpus() -> Dict[str, Any]:
    """cuda (the CUDA version torch was built with), gpu_count, gpu_names (comma-separated) and
    gpu_driver: from torch.cuda when torch is already imported (it is never imported here), the
    driver and, without torch, the names from `nvidia-smi` when it is on PATH."""
    global _gpu
    torch = sys.modules.get("torch")
    cached = _gpu
    if cached is not None and cached[0] == (torch is not None):
        return dict(cached[1])
    out: Dict[str, Any] = {}
    if torch is not None:
        try:
            cuda = torch.cuda
            if cuda.is_available():
                count = int(cuda.device_count())
                names = [str(cuda.get_device_name(i)) for i in range(count)]
                if torch.version.cuda:
                    out["cuda"] = str(torch.version.cuda)
                out["gpu_count"] = count
                if names:
                    out["gpu_names"] = _cut(", ".join(names))
        except Exception:
            pass
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            result = subprocess.run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                    capture_output=True, stdin=subprocess.DEVNULL, timeout=NVIDIA_SMI_TIMEOUT)
            rows = [line.rsplit(",", 1) for line in result.stdout.decode("utf-8", "replace").splitlines()
                    if line.strip()] if result.returncode == 0 else []
            rows = [row for row in rows if len(row) == 2]
            if rows:
                out["gpu_driver"] = rows[0][1].strip()
                if "gpu_count" not in out:
                    out["gpu_count"] = len(rows)
                    out["gpu_names"] = _cut(", ".join(row[0].strip() for row in rows))
        except (OSError, subprocess.TimeoutExpired):
            pass
    _gpu = (torch is not None, dict(out))
    return out


# -- all of it ----------------------------------------------------------------------------------

Artifact = Tuple[str, bytes, Dict[str, str]]


def capture(capture_diff: bool = False) -> Tuple[Dict[str, Any], List[Artifact]]:
    """The `env.` params and the artifacts (name, content, metadata) of this process now."""
    params: Dict[str, Any] = {}
    artifacts: List[Artifact] = []
    params["command"] = _command()
    try:
        params["cwd"] = _cut(os.getcwd())
    except OSError:
        pass
    params.update(_static_params())
    params["pid"] = os.getpid()
    try:
        folder = _folder()
        found, diff = git(folder, capture_diff)
        params.update(found)
        if diff is not None:
            artifacts.append((DIFF_ARTIFACT, diff, {"kind": "env", "git_commit": str(found.get("git_commit", ""))}))
    except Exception:
        pass
    try:
        lines, digest = packages()
        params["packages_hash"] = digest
        params["packages_count"] = len(lines)
        artifacts.append((PACKAGES_ARTIFACT, ("\n".join(lines) + "\n").encode(),
                          {"kind": "env", "packages_hash": digest}))
    except Exception:
        pass
    try:
        params.update(gpus())
    except Exception:
        pass
    return {PREFIX + key: value for key, value in params.items()}, artifacts


class Capture:
    """`capture()` on a thread of its own, started at once: `params()` waits for it. `then`, if
    given, runs on that thread afterwards (the run uploads the artifacts there); `wait()` waits
    for both."""

    def __init__(self, capture_diff: bool = False, then: Optional[Callable[["Capture"], None]] = None, *,
                 socket: str = "", run_id: str = "") -> None:
        self._captured = threading.Event()
        self.params_: Dict[str, Any] = {}
        self.artifacts: List[Artifact] = []
        self.seconds = 0.0  # how long capturing took
        self._then = then
        self._socket = socket
        self._run_id = run_id
        self.thread: Optional[threading.Thread] = None
        try:
            self._key: Optional[Tuple[str, bool]] = (os.getcwd(), capture_diff)
        except OSError:
            self._key = None
        with _lock:
            cached = _captures.get(self._key) if self._key is not None else None
        if cached is not None and time.monotonic() - cached[0] < GIT_REUSE:
            # A run started in a loop: the capture of a moment ago, without a thread.
            self.params_, self.artifacts = self._share(dict(cached[1]), list(cached[2]))
            self._captured.set()
            if self.artifacts and then is not None:
                self.thread = threading.Thread(target=self._then_only, name="tally-env", daemon=True)
                self.thread.start()
            return
        self.thread = threading.Thread(target=self._run, args=(capture_diff,), name="tally-env", daemon=True)
        self.thread.start()

    def _share(self, params: Dict[str, Any], artifacts: List[Artifact]) -> Tuple[Dict[str, Any], List[Artifact]]:
        """Drops the package list when an earlier run of this process uploaded the same one to
        the same daemon, naming that run instead (`env.packages_run`)."""
        digest = str(params.get(PREFIX + "packages_hash", ""))
        if not digest or not self._run_id:
            return params, artifacts
        with _lock:
            holder = _package_holders.setdefault((self._socket, digest), self._run_id)
        if holder != self._run_id:
            artifacts = [a for a in artifacts if a[0] != PACKAGES_ARTIFACT]
            params[PREFIX + "packages_run"] = holder
        return params, artifacts

    def _then_only(self) -> None:
        try:
            if self._then is not None:
                self._then(self)
        except Exception:
            pass

    def _run(self, capture_diff: bool) -> None:
        started = time.perf_counter()
        try:
            params, artifacts = capture(capture_diff)
            if self._key is not None:
                with _lock:
                    _captures[self._key] = (time.monotonic(), dict(params), list(artifacts))
            self.params_, self.artifacts = self._share(params, artifacts)
        except Exception:
            pass
        finally:
            self.seconds = time.perf_counter() - started
            self._captured.set()
        if self._then is not None:
            try:
                self._then(self)
            except Exception:
                pass

    def params(self, timeout: float = 10.0) -> Dict[str, Any]:
        """The params once captured; {} when that took longer than `timeout` seconds."""
        return self.params_ if self._captured.wait(timeout) else {}

    def wait(self, timeout: Optional[float] = None) -> None:
        """Waits until the capture and `then` are done (at most `timeout` seconds)."""
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
