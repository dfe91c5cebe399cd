"""`tally compare` against a real daemon."""
from conftest import table_rows, tally_json, tally_ok


def test_compare_marks_differences_and_best_worst(daemon):
    tally_ok(daemon, "experiments", "create", "cmp", "-q")
    runs = []
    for name, lr, loss, acc in [("a", "0.1", "0.9", "0.6"), ("b", "0.01", "0.2", "0.93"), ("c", "0.01", "0.5", "0.8")]:
        run = tally_ok(daemon, "runs", "start", "cmp", "--name", name, "--param", f"lr={lr}", "--param", "bs=32").strip()
        tally_ok(daemon, "runs", "log", run, f"loss={loss}", f"acc={acc}", "--step", "1")
        runs.append(run)

    out = tally_ok(daemon, "compare", *runs)
    sections = out.split("\n\n")
    assert sections[0].startswith("runs\n")
    params = table_rows(sections[1])
    assert params[0] == ["params (* differs)"]
    assert params[1] == ["PARAM", "a", "b", "c"]
    assert ["bs", "32", "32", "32"] in params
    assert ["*", "lr", "0.1", "0.01", "0.01"] in params
    metrics = table_rows(sections[2])
    assert metrics[1] == ["METRIC", "GOAL", "a", "b", "c", "BEST", "WORST"]
    assert ["acc", "max", "0.6", "0.93", "0.8", "b (0.93)", "a (0.6)"] in metrics
    assert ["loss", "min", "0.9", "0.2", "0.5", "b (0.2)", "a (0.9)"] in metrics

    whole = tally_json(daemon, "compare", "cmp", "--experiments")
    assert {r["runId"] for r in whole["runs"]} == set(runs)
    loss = next(m for m in whole["metrics"] if m["key"] == "loss")
    assert loss["bestRunId"] == runs[1] and loss["worstRunId"] == runs[0]
    assert loss["goal"] == "METRIC_GOAL_MINIMIZE"
