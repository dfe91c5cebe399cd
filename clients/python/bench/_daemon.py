"""Starting `tally serve` for a benchmark: the shared part of the bench scripts."""
import os
import subprocess
import time
from typing import Sequence, Tuple


def serve(binary: str, root: str, extra: Sequence[str] = (), timeout: float = 30) -> Tuple[subprocess.Popen, str, str]:
    """Starts the daemon on `<root>/run/tally.sock` with its data in `<root>/home` and `extra`
    arguments, and waits for its banner. Returns the process, the socket path and the banner."""
    socket = os.path.join(root, "run", "tally.sock")
    proc = subprocess.Popen([binary, "serve", "--log-level", "warning", "--socket", socket,
                             "--home", os.path.join(root, "home"), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    banner = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the daemon exited early ({proc.wait()})")
        banner += line
        if line.strip().startswith("artifacts:"):
            return proc, socket, banner
    raise SystemExit("the daemon did not announce itself")
