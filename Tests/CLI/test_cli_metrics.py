"""`tally metrics` against a real daemon."""
from conftest import table_rows, tally_fails, tally_json, tally_ok


def make_run(daemon):
    tally_ok(daemon, "experiments", "create", "m", "-q")
    run = tally_ok(daemon, "runs", "start", "m").strip()
    for step in range(5):
        tally_ok(daemon, "runs", "log", run, f"loss={1 / (step + 1)}", "--step", str(step))
    for step in (0, 2, 4):
        tally_ok(daemon, "runs", "log", run, f"acc={step * 1e-4}", "--step", str(step))
    tally_ok(daemon, "runs", "log", run, "big=1200000", "weird=nan", "--step", "4")
    return run


def test_history_table_one_column_per_key(daemon):
    run = make_run(daemon)
    rows = table_rows(tally_ok(daemon, "metrics", run, "loss", "acc"))
    assert rows == [
        ["STEP", "loss", "acc"],
        ["0", "1", "0"],
        ["1", "0.5", "-"],
        ["2", "0.333333", "0.0002"],
        ["3", "0.25", "-"],
        ["4", "0.2", "0.0004"],
    ]
    every = table_rows(tally_ok(daemon, "metrics", run, "--from", "4", "--to", "4"))
    assert every == [["STEP", "acc", "big", "loss", "weird"], ["4", "0.0004", "1.2e+06", "0.2", "nan"]]


def test_history_json_is_the_chunks(daemon):
    run = make_run(daemon)
    chunks = tally_json(daemon, "metrics", run, "loss", "--from", "1", "--to", "3")
    assert chunks == [{"key": "loss", "steps": ["1", "2", "3"], "values": [0.5, 1 / 3, 0.25],
                       "timestampsMs": chunks[0]["timestampsMs"], "totalPoints": "3"}]
    weird = tally_json(daemon, "metrics", run, "weird")
    assert weird[0]["values"] == ["NaN"]


def test_downsampling_and_summary(daemon):
    run = make_run(daemon)
    chunks = tally_json(daemon, "metrics", run, "loss", "--max-points", "2")
    assert chunks[0]["downsampled"] is True and chunks[0]["totalPoints"] == "5"
    rows = table_rows(tally_ok(daemon, "metrics", run, "--summary"))
    assert rows[0] == ["KEY", "LAST", "STEP", "MIN", "MAX", "MEAN", "COUNT", "UPDATED"]
    assert [r[0] for r in rows[1:]] == ["acc", "big", "loss", "weird"]
    summaries = tally_json(daemon, "metrics", run, "loss", "--summary")
    assert summaries[0]["count"] == "5" and summaries[0]["lastValue"] == 0.2


def test_unknown_run(daemon):
    result = tally_fails(daemon, "metrics", "0123456789abcdef")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: NOT_FOUND: ")
