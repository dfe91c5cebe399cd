"""pandas frames of query results: `search_runs(...).to_pandas()` (one row per run) and
`history(...).to_pandas()` (a long frame), with pandas imported only when asked for."""
import json
import os
import subprocess
import sys
import uuid

import pytest

import tally

pd = pytest.importorskip("pandas")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def two_runs(daemon):
    experiment = unique("frames")
    with tally.start_run(experiment, name="a", params={"lr": 0.1, "opt": "adam"}, capture_env=False,
                         system_metrics=False) as a:
        a.log_columns({"loss": [0.9, 0.5, 0.7], "acc": [0.1, 0.6, 0.4]})
    with tally.start_run(experiment, name="b", params={"lr": 0.01}, capture_env=False, system_metrics=False) as b:
        b.log({"loss": 0.3}, step=0)
    return experiment, a, b


def test_search_runs_is_a_list_with_to_pandas(two_runs):
    experiment, a, b = two_runs
    runs = tally.search_runs(experiments=experiment, order_by="name")
    assert isinstance(runs, list) and isinstance(runs, tally.RunList) and [r.name for r in runs] == ["a", "b"]
    assert isinstance(runs[:1], list) and runs == [runs[0], runs[1]]
    frame = runs.to_pandas()
    assert list(frame.columns) == [
        "id", "name", "experiment_id", "status", "parent_run_id", "started_at", "duration",
        "params.lr", "params.opt",
        "metrics.acc.last", "metrics.acc.min", "metrics.acc.max",
        "metrics.loss.last", "metrics.loss.min", "metrics.loss.max"]
    assert frame["id"].tolist() == [a.id, b.id] and frame["status"].tolist() == ["completed", "completed"]
    assert frame["params.lr"].tolist() == [0.1, 0.01]
    assert frame["params.opt"].tolist()[0] == "adam" and pd.isna(frame["params.opt"].tolist()[1])
    assert frame["metrics.loss.last"].tolist() == [0.7, 0.3] and frame["metrics.loss.min"].tolist() == [0.5, 0.3]
    assert frame["metrics.acc.max"].tolist()[0] == 0.6 and pd.isna(frame["metrics.acc.max"].tolist()[1])
    info = tally.get_run(a.id)
    assert frame["started_at"][0] == pd.Timestamp(info.started_at_ms, unit="ms", tz="UTC")
    assert frame["duration"][0] == pd.Timedelta(milliseconds=info.duration_ms)
    assert tally.search_runs("name = \"nobody\"", experiments=experiment).to_pandas().empty


def test_history_to_pandas_is_a_long_frame(two_runs):
    _, a, _ = two_runs
    hist = tally.history(a.id)
    frame = hist.to_pandas()
    assert list(frame.columns) == ["key", "step", "value", "timestamp"]
    assert frame["key"].tolist() == ["acc"] * 3 + ["loss"] * 3
    assert frame["step"].tolist() == [0, 1, 2, 0, 1, 2] and frame["value"].tolist() == [0.1, 0.6, 0.4, 0.9, 0.5, 0.7]
    assert str(frame["timestamp"].dtype).startswith("datetime64") and frame["timestamp"][0].tzinfo is not None
    assert frame["timestamp"][0] == pd.Timestamp(hist["acc"].timestamps_ms[0], unit="ms", tz="UTC")
    assert a.history(["loss"]).to_pandas()["value"].tolist() == [0.9, 0.5, 0.7]
    assert hist["loss"].to_pandas()["key"].tolist() == ["loss"] * 3


def test_pandas_is_imported_only_for_to_pandas(daemon):
    code = ("import sys, json, tally\n"
            "runs = tally.search_runs(max_results=1)\n"
            "before = 'pandas' in sys.modules\n"
            "runs.to_pandas()\n"
            "print(json.dumps([before, 'pandas' in sys.modules]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TALLY_SOCKET": daemon.socket})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True]
