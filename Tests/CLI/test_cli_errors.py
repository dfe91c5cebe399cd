"""Exit codes and error messages shared by every client command."""
import pytest

from conftest import run_tally, tally_fails


@pytest.mark.parametrize("args", [
    ["experiments", "ls"], ["runs", "ls"], ["runs", "search", ""], ["metrics", "0123456789abcdef"],
    ["artifacts", "ls", "--run", "0123456789abcdef"], ["compare", "0123456789abcdef"],
    ["watch", "run", "0123456789abcdef"],
])
def test_no_daemon_is_unavailable(workdir, args):
    socket = str(workdir / "none.sock")
    result = run_tally(*args, "--socket", socket)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: UNAVAILABLE: cannot connect to the Tally daemon at " + socket)
    assert result.stdout == ""


@pytest.mark.parametrize("args", [
    ["runs", "show", "ffffffffffffffff"], ["runs", "end", "ffffffffffffffff"],
    ["watch", "run", "ffffffffffffffff"], ["artifacts", "get", "ffffffffffffffff"],
])
def test_unknown_ids_are_not_found(daemon, args):
    result = tally_fails(daemon, *args)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: NOT_FOUND: ")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [
    ["runs", "end", "x", "--status", "done"], ["runs", "log", "x"], ["experiments", "ls", "--limit", "0"],
    ["runs", "nope"], ["compare"], ["metrics"], ["runs", "log", "x", "loss=abc"],
])
def test_usage_errors_exit_64(daemon, args):
    result = run_tally(*args, "--socket", daemon.socket)
    assert result.returncode == 64, result.stderr
    assert result.stderr.startswith("Error: ")


def test_unknown_experiment_name(daemon):
    result = tally_fails(daemon, "runs", "ls", "--experiment", "nothing-here")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: NOT_FOUND: ")
