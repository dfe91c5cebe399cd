"""The platform wheel (scripts/build-wheel) as a user meets it: installed into a fresh virtual
environment, with no Swift toolchain and no `tally` on PATH, a training script logs a run and the
daemon starts by itself from the wheel.

`$TALLY_WHEEL` names the wheel; scripts/test builds it first."""
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

WHEEL = os.environ.get("TALLY_WHEEL", "")
MAX_WHEEL_BYTES = 40 * 1000 * 1000

TRAIN = textwrap.dedent("""
    import math, time
    import tally
    started = time.perf_counter()
    with tally.start_run("wheel", name="from-the-wheel", params={"lr": 0.01, "layers": 4}) as run:
        for step in range(10_000):
            run.log({"loss": math.exp(-step / 2000), "acc": 1 - math.exp(-step / 3000)})
    print("run", run.id, f"{time.perf_counter() - started:.2f}")
""")

CHECK = textwrap.dedent("""
    import os, signal, sys
    import tally
    client = tally.connect()
    run = client.get_run(sys.argv[1])
    print(run.status, sorted((k, v.count) for k, v in run.metrics.items()))
    info = client.info()
    print("binary", info.pid)
""")


@pytest.fixture
def wheel() -> Path:
    if not WHEEL:
        pytest.skip("TALLY_WHEEL is not set (scripts/test builds the wheel and sets it)")
    return Path(WHEEL)


def test_wheel_is_small_and_carries_the_daemon(wheel: Path) -> None:
    assert wheel.stat().st_size < MAX_WHEEL_BYTES, f"{wheel.stat().st_size} bytes"
    assert "-py3-none-manylinux_" in wheel.name and wheel.name.endswith("_x86_64.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        script = [n for n in names if n.endswith(".data/scripts/tally")]
        assert len(script) == 1
        assert archive.getinfo(script[0]).external_attr >> 16 & 0o111, "tally must be executable"
        assert any(n == "tally/py.typed" for n in names)
        assert any(n == "tally/_journal.py" for n in names)


def test_install_and_train_without_toolchain(wheel: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="tally-wheel-", dir="/tmp"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    assert (venv / "bin" / "tally").is_file()
    # A user's environment: no toolchain and no venv on PATH, nothing of the repository on
    # PYTHONPATH, a home of its own (default socket and data folder under it).
    home = root / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    python = str(venv / "bin" / "python")
    train = subprocess.run([python, "-c", TRAIN], capture_output=True, text=True, env=env, timeout=120)
    assert train.returncode == 0, train.stderr
    run_id = train.stdout.split()[1]
    check = subprocess.run([python, "-c", CHECK, run_id], capture_output=True, text=True, env=env, timeout=60)
    try:
        assert check.returncode == 0, check.stderr
        assert check.stdout.splitlines()[0] == "completed [('acc', 10000), ('loss', 10000)]"
        # The daemon that served it is the wheel's binary, started by the client.
        pid = int(check.stdout.split("binary ")[1].split()[0])
        assert os.readlink(f"/proc/{pid}/exe") == str((venv / "bin" / "tally").resolve())
        assert (home / ".local" / "share" / "tally" / "tally.sqlite").exists()
    finally:
        if "binary " in check.stdout:
            pid = int(check.stdout.split("binary ")[1].split()[0])
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
