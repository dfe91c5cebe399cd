"""A run's start travels on its stream with its first points and its end: one commit (one sync
to disk) for a small run, a refused start reported by the next log/flush/end, and every other
call through the client sees the run."""

import os
import shutil
import signal
import subprocess
import time

import pytest

import uuid

import tally
from tally.v1 import tracking_pb2


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _syncs_during(pid: int, work, tmp_path) -> int:
    """How many fsync/fdatasync calls the process `pid` (all its threads) makes during `work()`."""
    trace = tmp_path / "syncs"
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-p", str(pid), "-e", "trace=fsync,fdatasync", "-o", str(trace)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # attached to every thread (strace gives no readiness signal)
        if tracer.poll() is not None:
            pytest.skip(f"strace cannot attach here: {tracer.stderr.read()[:200] if tracer.stderr else ''}")
        work()
        time.sleep(0.2)
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=10)
    return sum(1 for line in trace.read_text().splitlines() if "fsync(" in line or "fdatasync(" in line)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_small_run_is_one_commit(daemon, tmp_path):
    """20 runs of start (10 params, 2 tags), 10 points and end: the daemon syncs its store about
    once per run, not once per call (a start, a batch and an end committed apart were 2 to 3)."""
    client = tally.connect(daemon.socket)
    experiment = unique("one-commit")
    client.start_run(experiment).end()  # the experiment exists: its creation is not counted
    params = {f"p{i}": i for i in range(10)}
    runs = []

    def work() -> None:
        for r in range(20):
            run = client.start_run(experiment, name=f"r{r}", params=params, tags={"a": "1", "b": ""},
                                   capture_env=False)  # its artifacts would add commits: env/packages.txt
            for step in range(10):
                run.log({"loss": 1.0 / (step + 1)}, step=step)
            run.end()
            runs.append(run.id)

    syncs = _syncs_during(daemon.proc.pid, work, tmp_path)
    assert syncs <= 26, f"{syncs} syncs for 20 runs"
    for run_id in runs:
        info = client.get_run(run_id)
        assert (info.status, len(info.params), info.metrics["loss"].count) == ("completed", 10, 10)
    client.close()


def test_start_run_returns_before_the_daemon_answers_and_calls_see_the_run(daemon):
    """Every call through the client waits for the starts it has sent: the run is there."""
    client = tally.connect(daemon.socket)
    experiment = unique("see-start")
    run = client.start_run(experiment, name="seen", params={"lr": 0.1})
    assert client.get_run(run.id).name == "seen"
    assert run.experiment_id == client.tracking.get_experiment(
        tracking_pb2.GetExperimentRequest(experiment=tracking_pb2.ExperimentRef(name=experiment))).id
    child = client.start_run(experiment, name="child", parent=run)
    assert client.get_run(child.id).parent_run_id == run.id
    child.end()
    run.end()
    client.close()


def test_a_run_is_delivered_without_points_or_end(daemon):
    """A start held for its first points goes on its own soon after: another connection sees
    the run while it logs nothing."""
    client = tally.connect(daemon.socket)
    other = tally.connect(daemon.socket)
    run = client.start_run(unique("alone"))
    deadline = time.monotonic() + 5
    while True:
        try:
            assert other.get_run(run.id).status == "running"
            break
        except tally.NotFound:
            assert time.monotonic() < deadline, "the start was never delivered"
            time.sleep(0.01)
    run.end()
    other.close()
    client.close()


def test_a_refused_start_is_raised_by_the_next_call(daemon):
    """A start the daemon refuses (here an experiment name it rejects) is raised by the run's
    next log, flush or end, with the daemon's status; nothing is stored."""
    client = tally.connect(daemon.socket)
    run = client.start_run("x" * 1000)  # experiment names are limited
    with pytest.raises(tally.InvalidArgument, match="start of run"):
        run.flush(timeout=10)
    with pytest.raises(tally.RPCError):
        run.end()
    with pytest.raises(tally.NotFound):
        client.get_run(run.id)
    client.close()


def test_a_forked_child_logs_to_a_run_just_started(daemon):
    """The run's start reaches the daemon before the process forks, so the child's points land."""
    client = tally.connect(daemon.socket)
    run = client.start_run(unique("fork-start"))
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            run.log({"x": 1.0}, step=0)
            run.flush(timeout=10)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    run.end()
    assert client.get_run(run.id).metrics["x"].count == 1
    client.close()
