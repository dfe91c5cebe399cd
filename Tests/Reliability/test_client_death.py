"""Clients that die (SIGKILL) in the middle of an upload, a metric stream and a watch: the daemon
frees their calls and connections, removes the upload's temporary file, keeps every acknowledged
batch whole, and the run goes on with another client."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tally
from tally.v1 import tracking_pb2 as pb

from cli_support import Daemon, wait_for

CHILD = textwrap.dedent("""
    import sys, time
    import tally
    from tally.v1 import tracking_pb2 as pb
    socket, mode, run_id = sys.argv[1:4]
    t = tally.connect(socket).tracking

    def stall():
        print("stalled", flush=True)
        time.sleep(600)

    if mode == "upload":
        def parts():
            yield pb.UploadArtifactRequest(header=pb.ArtifactHeader(run_id=run_id, name="weights.bin"))
            for _ in range(8):
                yield pb.UploadArtifactRequest(chunk=b"x" * (256 << 10))
            stall()
        t.upload_artifact(parts())
    elif mode == "stream":
        def batches():
            for i in range(10_000):
                yield pb.MetricBatch(run_id=run_id, keys=["loss"], key_index=[0] * 1000,
                                     values=[float(i)] * 1000, steps=list(range(i * 1000, (i + 1) * 1000)), sequence=i + 1)
        for ack in t.stream_metrics(batches()):
            if ack.sequence == 20:
                print("acknowledged 20", flush=True)
    elif mode == "watch":
        for event in t.watch_run(pb.WatchRunRequest(run_id=run_id)):
            print("event", flush=True)
""")


def wait_until(condition, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} not reached within {timeout}s")


@pytest.fixture
def served(workdir):
    daemon = Daemon(workdir)
    client = tally.connect(daemon.socket)
    yield daemon, client
    client.close()
    assert daemon.stop() == 0


def start_child(workdir, socket, mode, run_id):
    script = workdir / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen([sys.executable, str(script), socket, mode, run_id], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def quiet(client):
    """Only this client's own connection and its Info call are left."""
    info = client.info()
    return info.open_connections == 1 and info.calls_in_flight <= 1


@pytest.mark.parametrize("mode", ["upload", "stream", "watch"])
def test_a_client_killed_mid_call_leaves_nothing_behind(served, workdir, mode):
    daemon, client = served
    t = client.tracking
    run = t.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name="deaths"), create_experiment=True))
    child = start_child(workdir, daemon.socket, mode, run.id)
    try:
        if mode == "upload":
            wait_for(child, "stalled")
            tmp = os.path.join(daemon.home, "artifacts", "tmp")
            wait_until(lambda: len(os.listdir(tmp)) == 1, what="the upload's temporary file")
        elif mode == "stream":
            wait_for(child, "acknowledged 20")
        else:
            wait_until(lambda: client.info().calls_in_flight >= 2, what="the watch call")
            t.log_metrics(pb.MetricBatch(run_id=run.id, keys=["loss"], key_index=[0], values=[1.0]))
            wait_for(child, "event")
        assert client.info().open_connections == 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    wait_until(lambda: quiet(client), what="the dead client's connection and calls to be freed")
    if mode == "upload":
        assert os.listdir(os.path.join(daemon.home, "artifacts", "tmp")) == []
        assert list(t.list_artifacts(pb.ListArtifactsRequest(run_id=run.id)).artifacts) == []
    stored = sum(m.count for m in t.get_run(pb.GetRunRequest(run_id=run.id)).metrics)
    if mode == "stream":
        # At least the 20 acknowledged batches, and only whole ones.
        assert stored >= 20_000 and stored % 1000 == 0
    # The run goes on with another client.
    t.log_metrics(pb.MetricBatch(run_id=run.id, keys=["loss"], key_index=[0], values=[2.0]))
    assert sum(m.count for m in t.get_run(pb.GetRunRequest(run_id=run.id)).metrics) == stored + 1
    t.end_run(pb.EndRunRequest(run_id=run.id, status=pb.RUN_STATUS_COMPLETED))
    assert t.get_run(pb.GetRunRequest(run_id=run.id)).status == pb.RUN_STATUS_COMPLETED
