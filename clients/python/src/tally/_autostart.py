"""Starting the daemon when a client finds none (`tally serve --ready-fd`), for both transports.

When connecting fails because nothing listens on the socket (ENOENT or ECONNREFUSED), the
transport calls `autostart(path, timeout)` and then connects once more. `autostart` runs
`tally serve --socket PATH --ready-fd N` detached (its own session, stdin and stdout on
/dev/null, stderr appended to `tally-serve.log` next to the socket) and waits for the daemon to
write `ready PATH` to the pipe N. It blocks; the asyncio transport calls it in an executor.

Within one process a lock serializes the starts, and a start first checks whether another thread
already started a daemon there. Across processes the daemon's own socket lock decides: the
second daemon exits without `ready`, and its client waits until the first one (the live pid in
`<socket>.lock`) listens, then connects to it.
"""

import atexit
import errno
import os
import select
import shutil
import socket as _socket
import subprocess
import sys
import sysconfig
import threading
import time
import warnings
from typing import List, Optional

from tally import _wire
from tally.errors import RPCError

AUTOSTART_VARIABLE = "TALLY_AUTOSTART"
EXECUTABLE_VARIABLE = "TALLY_EXECUTABLE"
TIMEOUT_VARIABLE = "TALLY_AUTOSTART_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
LOG_NAME = "tally-serve.log"
NO_EXECUTABLE_HINT = "(no `tally` executable on PATH or $TALLY_EXECUTABLE to start one)"

_OFF = ("0", "false", "no", "off")
_NOTHING_LISTENS = (errno.ENOENT, errno.ECONNREFUSED)
_LOG_TAIL_LINES = 12
_LOG_TAIL_BYTES = 4096

# The daemons this process started: kept so that their `Popen` objects are never collected
# while they run (no ResourceWarning); never waited on while they run.
_children: "List[subprocess.Popen[bytes]]" = []
_lock = threading.Lock()


def enabled() -> bool:
    """Whether clients start a daemon when none listens: unless `$TALLY_AUTOSTART` is 0/false/no/off."""
    return os.environ.get(AUTOSTART_VARIABLE, "").strip().lower() not in _OFF


def executable() -> Optional[str]:
    """The `tally` binary to start: `$TALLY_EXECUTABLE`, else the one installed with this client
    (the platform wheel puts it in the environment's scripts folder, which need not be on PATH),
    else `tally` on PATH, else None."""
    explicit = os.environ.get(EXECUTABLE_VARIABLE, "").strip()
    if explicit:
        return explicit
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, "tally") if folder else ""
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("tally")


def timeout() -> float:
    """How long to wait for a started daemon to be ready: `$TALLY_AUTOSTART_TIMEOUT` seconds, default 30."""
    value = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if seconds > 0 else DEFAULT_TIMEOUT


def nothing_listens(exc: BaseException) -> bool:
    """Whether a failed connect means that no daemon listens (no socket file, or a stale one)."""
    return isinstance(exc, OSError) and exc.errno in _NOTHING_LISTENS


def should_start(exc: BaseException) -> bool:
    """Whether to call `autostart` after the connect that raised `exc`: nothing listens and
    auto-start is on (a missing executable is reported by `autostart` itself)."""
    return nothing_listens(exc) and enabled()


def log_path(path: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(path)), LOG_NAME)


def _listening(path: str) -> bool:
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _reap() -> None:
    """Forgets the started daemons that have exited (reaping them)."""
    _children[:] = [child for child in _children if child.poll() is None]


def _log_since(path: str, offset: int) -> str:
    """The last lines the log at `path` got after `offset` (empty when none)."""
    try:
        with open(path, "rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(offset, size - _LOG_TAIL_BYTES))
            data = log.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


class _Start:
    """A start of the daemon by this process, for the error after a failed retry."""

    def __init__(self, path: str, log: str, offset: int, command: str, pid: int) -> None:
        self.path = path
        self.log = log
        self.offset = offset
        self.command = command
        self.pid = pid


_last: Optional[_Start] = None


def failed(path: str, reason: str) -> RPCError:
    """`Unavailable` for a connect that failed again after `autostart`: names the socket and
    carries the last lines the daemon wrote to its log (why it did not start)."""
    start = _last if _last is not None and _last.path == path else None
    if start is None:
        return _wire.connect_error(path, reason)
    return RPCError.from_status(
        _wire.UNAVAILABLE,
        f"cannot connect to the Tally daemon at {path}: {reason}; the daemon this client started "
        f"(`{start.command}`, pid {start.pid}) did not serve; {_excerpt(start.log, start.offset)}")


def _excerpt(log: str, offset: int) -> str:
    tail = _log_since(log, offset)
    if not tail:
        return f"its log {log} says nothing"
    return f"the end of its log {log}:" + "".join("\n  " + line for line in tail.splitlines())


def no_executable(path: str, reason: str) -> RPCError:
    """The usual `Unavailable` plus the hint that no daemon could be started."""
    return RPCError.from_status(
        _wire.UNAVAILABLE,
        f"cannot connect to the Tally daemon at {path}: {reason}; start it with `tally serve` {NO_EXECUTABLE_HINT}")


def _unavailable(path: str, message: str) -> RPCError:
    return RPCError.from_status(_wire.UNAVAILABLE, f"cannot connect to the Tally daemon at {path}: {message}")


def autostart(path: str, timeout: float) -> None:
    """Starts `tally serve` on the socket `path` and waits up to `timeout` seconds until it is
    ready or has exited (another daemon may hold the socket: connect again then). Raises
    `Unavailable` when there is no executable, it cannot run, or it is not ready in time."""
    global _last
    with _lock:
        _reap()
        if _listening(path):  # another thread of this process started it meanwhile
            return
        exe = executable()
        if exe is None:
            raise no_executable(path, "nothing listens there")
        socket_path = os.path.abspath(path)
        folder = os.path.dirname(socket_path)
        log_file = log_path(socket_path)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            log_fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _unavailable(path, f"nothing listens there, and starting a daemon failed: cannot create "
                                     f"{exc.filename or folder}: {exc.strerror or exc}") from None
        command = [exe, "serve", "--socket", socket_path]
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            os.write(log_fd, f"--- {stamp}: process {os.getpid()} starts `{' '.join(command)}`\n".encode())
            offset = os.lseek(log_fd, 0, os.SEEK_END)
            r, w = os.pipe()
            started = time.monotonic()
            try:
                try:
                    child = subprocess.Popen(
                        [*command, "--ready-fd", str(w)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=log_fd, pass_fds=(w,), close_fds=True, start_new_session=True)
                except OSError as exc:
                    raise _unavailable(path, f"nothing listens there, and starting a daemon failed: cannot run "
                                             f"{exe}: {exc.strerror or exc}") from None
                finally:
                    os.close(w)
                _children.append(child)
                _last = _Start(path, log_file, offset, " ".join(command), child.pid)
                ready = _wait_ready(r, timeout)
            finally:
                os.close(r)
        finally:
            os.close(log_fd)
        if ready is None:
            raise _unavailable(
                path, f"the daemon this client started (`{' '.join(command)}`, pid {child.pid}) was not ready "
                      f"within {timeout:g}s (${TIMEOUT_VARIABLE}) and may still be starting; {_excerpt(log_file, offset)}")
        if not ready:
            # It exited without serving. Another daemon may hold the socket's lock, still on its
            # way to listening (a process that started it at the same time): wait for that one.
            # The caller then connects once more and, failing that, reports the log (`failed`).
            try:
                child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            _reap()
            _wait_for_lock_holder(socket_path, child.pid, started + timeout)


def _lock_holder(socket_path: str) -> Optional[int]:
    """The pid in the daemon's lock file `<socket>.lock` (written once it holds the lock)."""
    try:
        with open(socket_path + ".lock", "rb") as lock:
            text = lock.read(32).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, another user's
    return True


def _wait_for_lock_holder(socket_path: str, failed_pid: int, deadline: float) -> None:
    """Waits until the socket listens, as long as a live process other than `failed_pid` holds
    the daemon's lock (it is starting), but not past `deadline`."""
    misses = 0
    while time.monotonic() < deadline:
        if _listening(socket_path):
            return
        holder = _lock_holder(socket_path)
        if holder is None or holder == failed_pid or not _alive(holder):
            misses += 1  # twice: the holder empties the file just before writing its pid
            if misses > 2:
                return
        else:
            misses = 0
        time.sleep(0.02)


def _wait_ready(fd: int, timeout: float) -> Optional[bool]:
    """True once `ready` arrives on `fd`, False at EOF without it, None after `timeout`."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        try:
            chunk = os.read(fd, 4096)
        except InterruptedError:
            continue
        if not chunk:
            return data.startswith(b"ready")
        data += chunk
        if b"\n" in data:
            return data.startswith(b"ready")


def _at_exit() -> None:
    # The daemons outlive this process by design: `Popen.__del__` would call each one still
    # running a leak (a ResourceWarning) while the interpreter shuts down.
    for child in _children:
        if child.poll() is None:
            warnings.filterwarnings("ignore", message=f"subprocess {child.pid} is still running",
                                    category=ResourceWarning)


atexit.register(_at_exit)


def _after_fork() -> None:
    global _lock, _last
    _lock = threading.Lock()
    _children.clear()  # the parent's children, not this process's
    _last = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
