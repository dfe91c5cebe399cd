"""`tally runs ls|show|search|start|log|end|tag|rm` against a real daemon."""
from conftest import run_tally, table_rows, tally_fails, tally_json, tally_ok


def start(daemon, exp, name, *params):
    args = ["runs", "start", exp, "--name", name]
    for p in params:
        args += ["--param", p]
    return tally_ok(daemon, *args).strip()


def test_start_log_show_end(daemon):
    tally_ok(daemon, "experiments", "create", "exp", "-q")
    run = start(daemon, "exp", "first", "lr=0.001", "layers=6", "opt=adam", "amp=true", 'tag="7"')
    assert len(run) == 16
    assert tally_ok(daemon, "runs", "log", run, "loss=0.5", "acc=0.8", "--step", "0").strip() == "logged 2 points"
    tally_ok(daemon, "runs", "log", run, "loss=0.25", "acc=0.9", "--step", "1")

    record = tally_json(daemon, "runs", "show", run)
    assert record["params"] == {
        "lr": {"doubleValue": 0.001}, "layers": {"intValue": "6"}, "opt": {"stringValue": "adam"},
        "amp": {"boolValue": True}, "tag": {"stringValue": "7"},
    }
    assert record["status"] == "RUN_STATUS_RUNNING"
    assert [m["key"] for m in record["metrics"]] == ["acc", "loss"]

    shown = tally_ok(daemon, "runs", "show", run)
    assert "status      running" in shown
    assert "\nparams\n" in shown and "\nmetrics\n" in shown and "\nartifacts\n" in shown
    rows = table_rows(shown)
    assert ["lr", "0.001"] in rows
    assert ["layers", "6"] in rows
    metric_header = ["KEY", "LAST", "STEP", "MIN", "MAX", "MEAN", "COUNT", "UPDATED"]
    assert metric_header in rows
    loss = next(r for r in rows if r[0] == "loss")
    assert loss[1:7] == ["0.25", "1", "0.25", "0.5", "0.375", "2"]

    out = tally_ok(daemon, "runs", "end", run, "--status", "failed", "--error", "diverged")
    assert out.startswith(f"run {run} failed after ")
    shown = tally_ok(daemon, "runs", "show", run)
    assert "error       diverged" in shown
    again = tally_fails(daemon, "runs", "end", run)
    assert again.returncode == 1
    assert again.stderr.startswith("Error: FAILED_PRECONDITION: ")


def test_ls_and_children(daemon):
    tally_ok(daemon, "experiments", "create", "a", "-q")
    tally_ok(daemon, "experiments", "create", "b", "-q")
    parent = start(daemon, "a", "parent")
    child = tally_ok(daemon, "runs", "start", "a", "--name", "child", "--parent", parent).strip()
    other = start(daemon, "b", "other")

    rows = table_rows(tally_ok(daemon, "runs", "ls"))
    assert rows[0] == ["ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "DURATION"]
    assert [r[0] for r in rows[1:]] == [other, child, parent]
    assert rows[1][2] == "b" and rows[1][3] == "running"

    only_a = tally_json(daemon, "runs", "ls", "--experiment", "a")
    assert {r["id"] for r in only_a["runs"]} == {parent, child}
    children = tally_json(daemon, "runs", "ls", "--parent", parent)
    assert [r["id"] for r in children["runs"]] == [child]
    assert tally_json(daemon, "runs", "show", parent)["childCount"] == "1"
    limited = run_tally("runs", "ls", "--limit", "1", "--socket", daemon.socket)
    assert len(table_rows(limited.stdout)) == 2 and "1 of 3 runs" in limited.stderr


def test_search_with_filter_and_order_shows_referenced_columns(daemon):
    tally_ok(daemon, "experiments", "create", "sweep", "-q")
    runs = {}
    for name, lr, acc in [("r1", "0.1", "0.7"), ("r2", "0.01", "0.95"), ("r3", "0.001", "0.9"), ("r4", "0.0001", "0.5")]:
        runs[name] = start(daemon, "sweep", name, f"lr={lr}", "opt=adam")
        tally_ok(daemon, "runs", "log", runs[name], f"val_acc={acc}", "--step", "1")
    tally_ok(daemon, "runs", "end", runs["r3"])

    out = tally_ok(daemon, "runs", "search", "params.lr < 0.05 and metrics.val_acc.max >= 0.8",
                   "--experiment", "sweep", "--order-by", "metrics.val_acc.max desc")
    rows = table_rows(out)
    assert rows[0] == ["ID", "NAME", "STATUS", "params.lr", "metrics.val_acc.max"]
    assert rows[1:] == [
        [runs["r2"], "r2", "running", "0.01", "0.95"],
        [runs["r3"], "r3", "completed", "0.001", "0.9"],
    ]

    found = tally_json(daemon, "runs", "search", 'status = "completed" or tags.x = "params.hidden"')
    assert [r["id"] for r in found["runs"]] == [runs["r3"]]
    assert found["totalCount"] == "1"
    header = table_rows(tally_ok(daemon, "runs", "search", 'tags.x = "params.hidden" or duration > 0'))[0]
    assert header == ["ID", "NAME", "STATUS", "tags.x", "duration"]


def test_search_syntax_error_names_the_position(daemon):
    result = tally_fails(daemon, "runs", "search", "params.lr < ")
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error: INVALID_ARGUMENT: filter: expected a value after "<" at position 12'


def test_tag_and_rm(daemon):
    tally_ok(daemon, "experiments", "create", "t", "-q")
    run = start(daemon, "t", "r")
    assert tally_ok(daemon, "runs", "tag", run, "stage=prod", "best").strip() == f"tags of run {run}: best, stage=prod"
    assert tally_json(daemon, "runs", "tag", run, "--remove", "best")["tags"] == {"stage": "prod"}
    assert "FAILED_PRECONDITION" in tally_fails(daemon, "runs", "rm", run).stderr
    assert tally_ok(daemon, "runs", "rm", run, "--force").strip() == f"deleted run {run}: 1 run, 0 artifact versions"
    missing = tally_fails(daemon, "runs", "show", run)
    assert missing.stderr.strip() == f"Error: NOT_FOUND: run {run} not found"


def test_a_key_given_twice_is_refused_and_negative_numbers_are_values(daemon):
    """`--param lr=0.01 --param lr=abc` used to keep "abc" silently; `--step -5` failed as a
    missing value."""
    tally_ok(daemon, "experiments", "create", "twice", "-q")
    result = tally_fails(daemon, "runs", "start", "twice", "--param", "lr=0.01", "--param", "lr=abc")
    assert "--param lr is given twice" in result.stderr
    assert "--tag a is given twice" in tally_fails(daemon, "runs", "start", "twice", "--tag", "a=1", "--tag", "a").stderr
    run = start(daemon, "twice", "negative")
    assert "given twice" in tally_fails(daemon, "runs", "log", run, "--param", "x=1", "--param", "x=2").stderr
    # A negative number is the option's value: the daemon, not the parser, says what is wrong.
    result = tally_fails(daemon, "runs", "log", run, "loss=0.5", "--step", "-5")
    assert "INVALID_ARGUMENT: steps[0] = -5 is negative" in result.stderr, result.stderr
    result = tally_fails(daemon, "metrics", run, "--from", "-10")
    assert "INVALID_ARGUMENT" in result.stderr and "negative" in result.stderr, result.stderr


def test_experiments_update(daemon):
    """`tally experiments update`: description, tags merged and removed, goals set and removed, rename."""
    tally_ok(daemon, "experiments", "create", "upd", "--tag", "draft", "--tag", "team=a", "--goal", "loss=min", "-q")
    updated = tally_json(daemon, "experiments", "update", "upd", "--description", "baseline", "--tag", "stage=prod",
                         "--remove-tag", "draft", "--goal", "acc=max", "--goal", "loss=none")
    assert updated["description"] == "baseline"
    assert updated["tags"] == {"team": "a", "stage": "prod"}
    assert updated["metricGoals"] == {"acc": "METRIC_GOAL_MAXIMIZE"}
    shown = tally_ok(daemon, "experiments", "update", "upd", "--name", "upd2")
    assert "upd2" in shown and tally_json(daemon, "experiments", "show", "upd2")["id"] == updated["id"]
    assert "nothing to change" in tally_fails(daemon, "experiments", "update", "upd2").stderr
    assert "--goal acc is given twice" in tally_fails(daemon, "experiments", "update", "upd2", "--goal", "acc=max",
                                                      "--goal", "acc=min").stderr
    # Creating, a goal cannot be "none".
    assert "METRIC=min or METRIC=max" in tally_fails(daemon, "experiments", "create", "g", "--goal", "acc=none").stderr
    assert "NOT_FOUND" in tally_fails(daemon, "experiments", "update", "missing", "--description", "x").stderr


def test_time_bounds_on_experiments_and_runs(daemon):
    """--created-after/--created-before (and --updated-…) on experiments ls; --started-… (or
    --created-…) on runs ls: a duration back from now, a date, or a date and time."""
    tally_ok(daemon, "experiments", "create", "timed", "-q")
    parent = start(daemon, "timed", "parent")
    child = tally_ok(daemon, "runs", "start", "timed", "--parent", parent).strip()
    names = lambda out: [row[1] for row in table_rows(out)[1:]]  # noqa: E731
    assert "timed" in names(tally_ok(daemon, "experiments", "ls", "--created-after", "1h"))
    assert names(tally_ok(daemon, "experiments", "ls", "--created-before", "2020-01-01")) == []
    assert names(tally_ok(daemon, "experiments", "ls", "--updated-after", "2999-01-01T00:00Z")) == []
    ids = lambda out: [row[0] for row in table_rows(out)[1:]]  # noqa: E731
    assert set(ids(tally_ok(daemon, "runs", "ls", "--experiment", "timed", "--started-after", "10m"))) == {parent, child}
    assert ids(tally_ok(daemon, "runs", "ls", "--parent", parent, "--created-after", "10m")) == [child]
    assert ids(tally_ok(daemon, "runs", "ls", "--experiment", "timed", "--started-before", "1d")) == []
    bad = tally_fails(daemon, "runs", "ls", "--started-after", "yesterday")
    assert "--started-after expects a duration back from now" in bad.stderr


def test_runs_are_named_and_addressed_as_experiment_slash_name(daemon):
    tally_ok(daemon, "experiments", "create", "named", "-q")
    unnamed = tally_ok(daemon, "runs", "start", "named").strip()
    name = tally_json(daemon, "runs", "show", unnamed)["name"]
    assert len(name.split("-")) == 3, name
    assert tally_json(daemon, "runs", "show", f"named/{name}")["id"] == unnamed
    tally_ok(daemon, "runs", "log", f"named/{name}", "loss=0.5", "--step", "0")
    tally_ok(daemon, "runs", "tag", f"named/{name}", "good")
    assert "loss" in tally_ok(daemon, "metrics", f"named/{name}")
    ended = tally_ok(daemon, "runs", "end", f"named/{name}")
    assert ended.startswith(f"run {unnamed} completed")
    missing = tally_fails(daemon, "runs", "show", "named/nobody")
    assert missing.stderr.startswith('Error: NOT_FOUND: no run named "nobody" in experiment named')
    first = tally_ok(daemon, "runs", "start", "named", "--name", "twin").strip()
    second = tally_ok(daemon, "runs", "start", "named", "--name", "twin").strip()
    ambiguous = tally_fails(daemon, "runs", "show", "named/twin")
    assert ambiguous.stderr.startswith('Error: INVALID_ARGUMENT: 2 runs are named "twin" in experiment named: ')
    assert first in ambiguous.stderr and second in ambiguous.stderr
    compared = tally_json(daemon, "compare", f"named/{name}", first)
    assert [r["runId"] for r in compared["runs"]] == [unnamed, first]


def test_runs_note_sets_shows_and_clears(daemon):
    tally_ok(daemon, "experiments", "create", "notes", "-q")
    run = tally_ok(daemon, "runs", "start", "notes", "--name", "n1").strip()
    assert tally_ok(daemon, "runs", "note", "notes/n1", "old augmentation").strip() == f"note of run {run}: old augmentation"
    fields = dict(r for r in table_rows(tally_ok(daemon, "runs", "show", run)) if len(r) == 2)
    assert fields["note"] == "old augmentation"
    assert tally_json(daemon, "runs", "show", run)["note"] == "old augmentation"
    assert tally_ok(daemon, "runs", "note", run, "--clear").strip() == f"note of run {run} cleared"
    assert "note" not in tally_json(daemon, "runs", "show", run)
    assert run_tally("runs", "note", run, "--socket", daemon.socket).returncode == 64
