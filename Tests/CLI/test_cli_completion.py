"""Shell completion: the scripts for bash, zsh and fish, and ids and names completed by asking the
daemon, through a real bash running the generated script."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import tally_bin, tally_ok


def bash_complete(daemon, line):
    """What bash's completion of `tally` offers for `line` (the cursor at its end)."""
    words = line.split(" ")
    script = (
        'source <(tally --generate-completion-script bash)\n'
        f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}\n'
        f'COMP_WORDS=({" ".join(repr(w) if w else chr(34) * 2 for w in words)}); COMP_CWORD={len(words) - 1}\n'
        f'_tally tally {repr(words[-1]) if words[-1] else chr(34) * 2} {words[-2]}\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = dict(os.environ, TALLY_SOCKET=daemon.socket, PATH=f"{Path(tally_bin()).parent}:{os.environ['PATH']}")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_runs_experiments_and_jobs_from_the_daemon(daemon):
    tally_ok(daemon, "experiments", "create", "completion-demo", "-q")
    run = tally_ok(daemon, "runs", "start", "completion-demo", "--name", "alpha").strip()
    assert bash_complete(daemon, "tally runs show ") == [run]
    assert bash_complete(daemon, f"tally runs show {run[:4]}") == [run]
    assert bash_complete(daemon, "tally runs show completion-demo/") == ["completion-demo/alpha"]
    assert bash_complete(daemon, "tally experiments show completion-d") == ["completion-demo"]
    assert bash_complete(daemon, "tally watch run ") == [run]
    assert bash_complete(daemon, "tally jobs show ") == []  # no job yet
    sweep = tally_ok(daemon, "sweeps", "create", "--param", "x=1,2").strip()
    assert bash_complete(daemon, "tally sweeps show ") == [sweep]
    assert bash_complete(daemon, "tally jobs show ") == [sweep]


def test_completion_without_a_daemon_offers_nothing_at_once(tmp_path):
    env = dict(os.environ, TALLY_SOCKET=str(tmp_path / "nobody.sock"))
    result = subprocess.run([tally_bin(), "---completion", "runs", "show", "--", "positional@0", "0", "0", ""],
                            capture_output=True, text=True, env=env, timeout=10)
    assert result.returncode == 0 and result.stdout.strip() == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_ask_the_binary(shell):
    result = subprocess.run([tally_bin(), "--generate-completion-script", shell], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and "---completion" in result.stdout
    assert "runs" in result.stdout and "experiments" in result.stdout
