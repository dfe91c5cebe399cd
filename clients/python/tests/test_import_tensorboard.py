"""tally.importers.tensorboard against a real daemon and event files written by TensorBoard's own
writer (the one torch.utils.tensorboard uses): one run per folder of event files, every scalar
(TensorFlow 1 `simple_value` and TensorFlow 2 tensor summaries) with its step and wall time; a
second import adds nothing; the command line."""
import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("tensorboard")

import numpy as np  # noqa: E402  (tensorboard needs numpy)
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.plugins.scalar import metadata as scalar_metadata  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from tally.importers.tensorboard import import_tensorboard  # noqa: E402
from tally.v1 import tracking_pb2 as pb  # noqa: E402

W0 = 1_700_000_000.0  # s


def write_run(folder, scalars, *, tensors=(), histograms=0, files=1):
    """Event files in `folder`: `scalars` {tag: [(step, wall_time, value)]} as TF1 simple values,
    `tensors` (tags among them) as TF2 scalar tensors, `histograms` histogram tags; spread over
    `files` event files (a training restarted in the same folder)."""
    os.makedirs(folder, exist_ok=True)
    events = []
    for tag, points in scalars.items():
        for step, wall, value in points:
            if tag in tensors:
                v = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(np.float64(value)),
                                              metadata=scalar_metadata.create_summary_metadata("", ""))
            else:
                v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
            events.append(event_pb2.Event(wall_time=wall, step=step, summary=summary_pb2.Summary(value=[v])))
    for i in range(histograms):
        histo = summary_pb2.HistogramProto(min=0, max=1, num=2, sum=1, sum_squares=1, bucket_limit=[1], bucket=[2])
        events.append(event_pb2.Event(wall_time=W0, step=0, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=f"weights/{i}", histo=histo)])))
    events.sort(key=lambda e: e.wall_time)
    per_file = -(-len(events) // files) if events else 1
    for n in range(files):
        writer = EventFileWriter(folder, filename_suffix=f".{n}")
        for event in events[n * per_file:(n + 1) * per_file]:
            writer.add_event(event)
        writer.close()


def curve(n, *, wall0=W0, step0=0, f=lambda i: 1.0 / (i + 1)):
    return [(step0 + i, wall0 + i * 0.25 + 0.0004, f(i)) for i in range(n)]


@pytest.fixture
def logdir(tmp_path):
    root = tmp_path / "runs"
    runs = {
        ".": {"loss": curve(50)},
        "lr-0.1": {"loss": curve(400), "acc": curve(400, f=lambda i: i / 400), "loss (ema)": curve(10)},
        "lr-0.01/seed-1": {"loss": curve(300, wall0=W0 + 3600, step0=100)},
        "lr-0.01/seed-2": {"loss": curve(200, f=lambda i: (i % 7) * 0.1)},
    }
    write_run(root, runs["."])
    write_run(root / "lr-0.1", runs["lr-0.1"], tensors={"acc"}, histograms=2)
    write_run(root / "lr-0.01" / "seed-1", runs["lr-0.01/seed-1"], files=3)
    write_run(root / "lr-0.01" / "seed-2", runs["lr-0.01/seed-2"])
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("no event files here")
    only_histograms = root / "weights-only"
    write_run(only_histograms, {}, histograms=1)
    runs["weights-only"] = {}
    return root, runs


def history(client, run_id):
    out = {}
    for chunk in client.tracking.get_metric_history(pb.GetMetricHistoryRequest(run_id=run_id)):
        out.setdefault(chunk.key, []).extend(zip(chunk.steps, chunk.timestamps_ms, chunk.values))
    return out


def check(client, root, runs, experiment, report):
    exp = client.tracking.get_experiment(pb.GetExperimentRequest(experiment=pb.ExperimentRef(name=experiment)))
    assert dict(exp.tags) == {"tensorboard.logdir": str(root)}
    assert set(report.run_ids) == set(runs)
    points = 0
    for rel, scalars in runs.items():
        run_id = report.run_ids[rel]
        assert run_id == hashlib.sha256(f"tensorboard:{experiment}\0{rel}".encode()).hexdigest()[:16]
        run = client.tracking.get_run(pb.GetRunRequest(run_id=run_id))
        assert run.experiment_id == exp.id and run.status == pb.RUN_STATUS_COMPLETED
        assert run.name == (root.name if rel == "." else rel)
        got = history(client, run_id)
        want = {}
        for tag, curve_points in scalars.items():
            key = tag.replace("(", "_").replace(")", "_")
            # TF1 simple values are float32; TF2 tensors keep their dtype (float64 here).
            cast = float if tag == "acc" else (lambda v: float(np.float32(v)))
            want[key] = [(step, round(wall * 1000), cast(value)) for step, wall, value in curve_points]
            points += len(curve_points)
        assert got == want
        times = [t for series in want.values() for _, t, _ in series]
        expected_tags = {"tensorboard.path": rel}
        if times:
            expected_tags.update({"tensorboard.start_time": str(min(times)), "tensorboard.end_time": str(max(times))})
        assert dict(run.tags) == expected_tags
    return points


def test_every_folder_of_event_files_is_a_run_with_every_scalar_and_a_second_import_adds_nothing(client, logdir):
    root, runs = logdir
    experiment = f"tb-{uuid.uuid4().hex[:6]}"
    report = import_tensorboard(str(root), experiment=experiment, client=client)
    points = check(client, root, runs, experiment, report)
    assert points == 50 + 810 + 300 + 200
    assert (report.experiments_imported, report.runs_imported, report.metric_points_imported) == (1, 5, points)
    assert (report.params_imported, report.artifacts_imported, report.runs_skipped) == (0, 0, 0)
    assert report.warnings == [
        "scalar 'loss (ema)' is stored as 'loss _ema_'",
        "tensorboard run 'lr-0.1': only scalars are imported; left out: histograms (2 tags)",
        "tensorboard run 'weights-only': only scalars are imported; left out: histograms (1 tag)",
    ]

    again = import_tensorboard(root, experiment=experiment, client=client)
    assert not again.imported_anything and again.warnings == []
    assert (again.experiments_skipped, again.runs_skipped, again.metric_points_skipped) == (1, 5, points)
    assert check(client, root, runs, experiment, again) == points
    exp_id = client.tracking.get_experiment(pb.GetExperimentRequest(experiment=pb.ExperimentRef(name=experiment))).id
    assert client.tracking.list_runs(pb.ListRunsRequest(experiment_ids=[exp_id])).total_count == 5

    # The same logs into another experiment are other runs.
    other = import_tensorboard(root, experiment=experiment + "-b", client=client)
    assert other.runs_imported == 5 and set(other.run_ids.values()).isdisjoint(report.run_ids.values())


def test_a_folder_without_event_files_imports_nothing(client, tmp_path):
    report = import_tensorboard(tmp_path, experiment=f"tb-empty-{uuid.uuid4().hex[:6]}", client=client)
    assert not report.imported_anything and report.warnings == [f"no event files (*tfevents*) under {tmp_path}"]
    with pytest.raises(FileNotFoundError):
        import_tensorboard(tmp_path / "nope", experiment="x", client=client)


def test_the_command_line_prints_the_report(daemon, logdir):
    root, runs = logdir
    experiment = f"tb-cli-{uuid.uuid4().hex[:6]}"
    args = [sys.executable, "-m", "tally.importers", "tensorboard", str(root), "--experiment", experiment,
            "--socket", daemon.socket]
    env = {**os.environ, "TALLY_AUTOSTART": "0"}
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"imported from tensorboard {root}",
        "                 imported   skipped",
        "experiments             1         0",
        "runs                    5         0",
        "params                  0         0",
        "metric points        1360         0",
        "artifacts               0         0",
        "warning: scalar 'loss (ema)' is stored as 'loss _ema_'",
        "warning: tensorboard run 'lr-0.1': only scalars are imported; left out: histograms (2 tags)",
        "warning: tensorboard run 'weights-only': only scalars are imported; left out: histograms (1 tag)",
    ]
    result = subprocess.run(args + ["--json"], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runs"] == {"imported": 0, "skipped": 5} and report["kind"] == "tensorboard"
    assert sorted(report["run_ids"]) == sorted(runs)
