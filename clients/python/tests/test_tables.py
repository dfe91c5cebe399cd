"""Tables logged to a run: Parquet (pyarrow installed) or JSON lines, read back as they were
given, by step, as dicts or a DataFrame."""
import json
import math
import uuid

import pytest

import tally
from tally import _media

pd = pytest.importorskip("pandas")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run(daemon):
    run = tally.start_run(unique("tables"), capture_env=False, system_metrics=False)
    yield run
    run.end()


ROWS = [{"id": 1, "text": "a cat", "score": 0.25, "ok": True},
        {"id": 2, "text": "a dog", "score": 0.75, "ok": False, "note": "new column"}]


def test_rows_round_trip_as_parquet(run):
    pytest.importorskip("pyarrow")
    artifact = run.log_table("preds", ROWS)  # pyarrow is installed: Parquet
    assert artifact.name == "preds/0.parquet"
    assert dict(artifact.metadata) == {"kind": "table", "key": "preds", "step": "0", "format": "parquet",
                                       "rows": "2", "columns": json.dumps(["id", "text", "score", "ok", "note"])}
    assert run.table("preds") == [{**ROWS[0], "note": None}, ROWS[1]]
    frame = run.table("preds", as_pandas=True)
    assert list(frame.columns) == ["id", "text", "score", "ok", "note"] and frame["score"].tolist() == [0.25, 0.75]


def test_rows_round_trip_as_json_lines(run, client, tmp_path):
    rows = [{"x": 1, "nan": float("nan"), "inf": float("inf"), "list": [1, 2], "nested": {"a": 1}},
            {"x": 2, "when": pd.Timestamp("2026-01-02 03:04:05")}]
    artifact = run.log_table("log", rows, format="jsonl")
    assert artifact.name == "log/0.jsonl" and artifact.metadata["format"] == "jsonl"
    path = tmp_path / "log.jsonl"
    client.download_artifact(path, artifact.id)
    lines = path.read_text().splitlines()  # the stored form: one JSON object per row
    assert [json.loads(line) for line in lines] == [
        {"x": 1, "nan": None, "inf": None, "list": [1, 2], "nested": {"a": 1}},
        {"x": 2, "when": "2026-01-02T03:04:05"}]
    assert run.table("log") == [json.loads(line) for line in lines]
    frame = run.table("log", as_pandas=True)
    assert list(frame.columns) == ["x", "nan", "inf", "list", "nested", "when"] and frame["x"].tolist() == [1, 2]


@pytest.mark.parametrize("format", ["parquet", "jsonl"])
def test_a_dataframe_round_trips(run, format):
    if format == "parquet":
        pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"step": [1, 2, 3], "loss": [0.5, 0.25, math.nan], "label": ["a", "b", "c"]})
    run.log_table("frame", frame, format=format)
    back = run.table("frame", as_pandas=True)
    assert list(back.columns) == ["step", "loss", "label"]
    assert back["step"].tolist() == [1, 2, 3] and back["label"].tolist() == ["a", "b", "c"]
    assert back["loss"].tolist()[:2] == [0.5, 0.25] and math.isnan(back["loss"].tolist()[2])
    if format == "parquet":  # Parquet keeps the types
        assert str(back["step"].dtype) == "int64" and str(back["loss"].dtype) == "float64"


def test_steps_latest_and_missing(run):
    run.log_table("t", [{"v": 0}], format="jsonl")
    run.log_table("t", [{"v": 1}], format="jsonl")
    run.log_table("t", [{"v": 5}], step=5, format="jsonl")
    run.log_table("t", [{"v": 50}], step=5, format="jsonl")  # step 5 again: the new version counts
    assert run.table("t") == [{"v": 50}]
    assert run.table("t", step=1) == [{"v": 1}] and run.table("t", 0) == [{"v": 0}]
    assert tally.table(run.id, "t", 1) == [{"v": 1}]  # from anywhere, by run id
    with pytest.raises(tally.NotFound, match='no table "t" at step 3'):
        run.table("t", 3)
    with pytest.raises(tally.NotFound, match='no table "nothing"'):
        run.table("nothing")
    with pytest.raises(TypeError, match="list of dicts or a pandas DataFrame"):
        run.log_table("bad", [1, 2])
    with pytest.raises(ValueError, match="parquet"):
        run.log_table("bad", [{"a": 1}], format="csv")


def test_without_pyarrow_tables_are_json_lines(run, monkeypatch):
    monkeypatch.setattr(_media, "installed", lambda module: module != "pyarrow")
    assert run.log_table("fallback", ROWS).name == "fallback/0.jsonl"
    assert run.table("fallback") == ROWS


def test_a_program_that_reads_a_parquet_table_back_exits_cleanly(daemon):
    # pyarrow's thread pool could abort the interpreter at exit after a threaded read ("terminate
    # called without an active exception"), about two times in three: the client reads on one thread.
    import os
    import subprocess
    import sys
    program = (
        "import tally\n"
        "with tally.start_run('exit-check', capture_env=False, system_metrics=False) as run:\n"
        "    run.log_table('t', [{'a': 1, 'b': 'x'}])\n"
        "assert run.table('t') == [{'a': 1, 'b': 'x'}]\n"
    )
    env = dict(os.environ, TALLY_SOCKET=daemon.socket, TALLY_AUTOSTART="0")
    codes = [subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, timeout=60).returncode
             for _ in range(6)]
    assert codes == [0] * 6
