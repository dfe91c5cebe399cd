"""`tally import`: the Python importers run through the CLI (docs/imports.md)."""
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import run_tally, tally_json

pytest.importorskip("tensorboard")
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402


def write_scalars(folder: Path, tag: str, values):
    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    for step, value in enumerate(values):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
        writer.add_event(event_pb2.Event(wall_time=1_700_000_000 + step, step=step, summary=summary))
    writer.close()


def test_import_tensorboard_through_the_cli_and_again_adds_nothing(daemon, workdir):
    write_scalars(workdir / "tb" / "lr-0.1", "loss", [1.0, 0.5, 0.25])
    write_scalars(workdir / "tb" / "lr-0.01", "loss", [1.0, 0.9])
    env = dict(os.environ, TALLY_PYTHON=sys.executable)
    args = ("import", "tensorboard", str(workdir / "tb"), "--experiment", "from-tb", "--socket", daemon.socket, "--json")
    first = run_tally(*args, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["runs"] == {"imported": 2, "skipped": 0} and report["metric_points"]["imported"] == 5
    again = json.loads(run_tally(*args, env=env, timeout=120).stdout)
    assert again["runs"] == {"imported": 0, "skipped": 2}
    runs = tally_json(daemon, "runs", "ls", "--experiment", "from-tb")["runs"]
    assert sorted(r["name"] for r in runs) == ["lr-0.01", "lr-0.1"]


def test_import_reports_the_importers_errors(daemon, workdir):
    env = dict(os.environ, TALLY_PYTHON=sys.executable)
    missing = run_tally("import", "tensorboard", str(workdir / "nothing"), "--experiment", "x", "--socket", daemon.socket,
                        env=env, timeout=60)
    assert missing.returncode == 1 and "no TensorBoard log folder" in missing.stderr
    assert run_tally("import", "wandb", "x").returncode == 64
    nopython = run_tally("import", "mlflow", "mlruns", env=dict(os.environ, TALLY_PYTHON="no-such-python"))
    assert nopython.returncode == 1 and "TALLY_PYTHON" in nopython.stderr
