"""`tally experiments ls|create|show|rm` against a real daemon."""
import json

from conftest import run_tally, table_rows, tally_fails, tally_json, tally_ok


def test_create_show_list_remove(daemon):
    out = tally_ok(daemon, "experiments", "create", "mnist", "--description", "digits",
                   "--tag", "team=vision", "--tag", "baseline", "--goal", "val_loss=min", "--goal", "acc=max")
    assert out.startswith("created experiment mnist (")
    exp_id = out.strip().split("(")[1].rstrip(")")
    assert len(exp_id) == 16

    shown = tally_ok(daemon, "experiments", "show", "mnist")
    fields = dict(row for row in table_rows(shown) if len(row) == 2)
    assert fields["id"] == exp_id
    assert fields["description"] == "digits"
    assert fields["runs"] == "0"
    assert fields["tags"] == "baseline, team=vision"
    assert fields["goals"] == "acc=max, val_loss=min"
    # By id too.
    assert tally_json(daemon, "experiments", "show", exp_id)["name"] == "mnist"

    record = tally_json(daemon, "experiments", "show", "mnist")
    assert record["id"] == exp_id
    assert record["tags"] == {"team": "vision", "baseline": ""}
    assert record["metricGoals"] == {"val_loss": "METRIC_GOAL_MINIMIZE", "acc": "METRIC_GOAL_MAXIMIZE"}
    assert isinstance(record["createdAtMs"], str) and int(record["createdAtMs"]) > 0

    tally_ok(daemon, "experiments", "create", "cifar", "-q")
    rows = table_rows(tally_ok(daemon, "experiments", "ls"))
    assert rows[0] == ["ID", "NAME", "RUNS", "CREATED", "UPDATED", "TAGS"]
    assert [r[1] for r in rows[1:]] == ["cifar", "mnist"]  # newest first

    listed = tally_json(daemon, "experiments", "ls", "--tag", "team=vision")
    assert [e["name"] for e in listed["experiments"]] == ["mnist"]
    assert listed["totalCount"] == "1"
    assert [e["name"] for e in tally_json(daemon, "experiments", "ls", "--name", "CIF")["experiments"]] == ["cifar"]

    out = tally_ok(daemon, "experiments", "rm", "mnist")
    assert out.strip() == f"deleted experiment mnist ({exp_id}): 0 runs, 0 artifact versions"
    result = tally_fails(daemon, "experiments", "show", "mnist")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: NOT_FOUND: ")


def test_quiet_prints_the_id_and_duplicates_are_refused(daemon):
    exp_id = tally_ok(daemon, "experiments", "create", "dup", "-q").strip()
    assert len(exp_id) == 16
    result = tally_fails(daemon, "experiments", "create", "dup")
    assert result.returncode == 1
    assert "Error: ALREADY_EXISTS: " in result.stderr
    assert tally_ok(daemon, "experiments", "create", "dup", "-q", "--exist-ok").strip() == exp_id


def test_limit_and_all_paginate(daemon):
    for i in range(7):
        tally_ok(daemon, "experiments", "create", f"e{i}", "-q")
    limited = run_tally("experiments", "ls", "--limit", "3", "--socket", daemon.socket)
    assert limited.returncode == 0
    assert len(table_rows(limited.stdout)) == 4
    assert "3 of 7 experiments" in limited.stderr
    everything = tally_json(daemon, "experiments", "ls", "--all")
    assert sorted(e["name"] for e in everything["experiments"]) == [f"e{i}" for i in range(7)]
    assert "nextPageToken" not in everything


def test_rm_of_experiment_with_running_run_needs_force(daemon):
    tally_ok(daemon, "experiments", "create", "busy", "-q")
    tally_ok(daemon, "runs", "start", "busy")
    result = tally_fails(daemon, "experiments", "rm", "busy")
    assert "FAILED_PRECONDITION" in result.stderr
    assert "1 run," in tally_ok(daemon, "experiments", "rm", "busy", "--force")


def test_bad_goal_is_a_usage_error(daemon):
    result = tally_fails(daemon, "experiments", "create", "x", "--goal", "acc=up")
    assert result.returncode == 64
    assert "--goal" in result.stderr


def test_show_lists_the_experiments_runs(daemon):
    tally_ok(daemon, "experiments", "create", "shown", "-q")
    for index in range(3):
        tally_ok(daemon, "runs", "start", "shown", "--name", f"r{index}")
    text = tally_ok(daemon, "experiments", "show", "shown")
    rows = table_rows(text)
    header = rows.index(["RUN", "NAME", "STATUS", "STARTED", "DURATION"])
    assert [r[1] for r in rows[header + 1:]] == ["r2", "r1", "r0"]
    limited = run_tally("experiments", "show", "shown", "--runs", "2", "--socket", daemon.socket)
    assert limited.returncode == 0
    assert [r[1] for r in table_rows(limited.stdout)[-2:]] == ["r2", "r1"]
    assert "(2 of 3 runs; --runs N for more" in limited.stderr
    assert "RUN" not in tally_ok(daemon, "experiments", "show", "shown", "--runs", "0")
    record = tally_json(daemon, "experiments", "show", "shown", "--runs", "1")
    assert [r["name"] for r in record["runs"]] == ["r2"] and record["runCount"] == "3"
