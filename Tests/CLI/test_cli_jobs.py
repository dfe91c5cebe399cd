"""Datasets, providers, `tally eval`, `tally jobs` and `tally watch job(s)` against a real daemon
and a real HTTP model server (stub_model_server.py)."""
import json
import re
import os
import signal
import subprocess
import time

import pytest

from conftest import Daemon, run_tally, table_rows, tally_bin, tally_fails, tally_json, tally_ok, wait_for, read_line
from stub_model_server import StubModelServer

API_KEY = "sk-test-4f1d2c"

# Model "a" gets every item right but the GARBAGE one; model "b" is fooled twice (LABEL@b) and
# gets two unusable replies: accuracy 0.9 and 0.6.
ITEMS = [
    ("n1", "Match report: the home side won 3-1. LABEL=sports CONF=0.9", "sports"),
    ("n2", "Final score after extra time. LABEL=sports CONF=0.8", "sports"),
    ("n3", "The new phone has a faster chip. LABEL=tech CONF=0.95", "tech"),
    ("n4", "Chip shortage hits carmakers. LABEL=tech CONF=0.7 LABEL@b=sports", "tech"),
    ("n5", "Election results are in. LABEL=politics CONF=0.9", "politics"),
    ("n6", "Budget vote delayed again. LABEL=politics CONF=0.6 LABEL@b=tech", "politics"),
    ("n7", "Stadium tickets sold out. LABEL=sports CONF=0.9", "sports"),
    ("n8", "Software update fixes a bug. LABEL=tech CONF=0.85", "tech"),
    ("n9", "Parliament debates the bill. LABEL=politics CONF=0.75 GARBAGE@b", "politics"),
    ("n10", "Derby day preview. GARBAGE", "sports"),
]


@pytest.fixture
def stub():
    with StubModelServer(api_key=API_KEY) as server:
        yield server


def tally(daemon, *args, env=None, input=None, timeout=60):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([tally_bin(), *args, "--socket", daemon.socket], capture_output=True, text=True,
                          env=full_env, input=input, timeout=timeout)


def write_items(workdir, items, name="items.jsonl", delay_ms=60):
    path = workdir / name
    with open(path, "w") as f:
        for item_id, text, label in items:
            if delay_ms:
                text += f" DELAY{delay_ms}"
            f.write(json.dumps({"id": item_id, "text": text, "label": label}) + "\n")
    return str(path)


def setup_news(daemon, stub, workdir):
    """The `news` dataset and an active openai provider `stub` pointing at the stub server."""
    out = tally_ok(daemon, "datasets", "create", "news", "--items", write_items(workdir, ITEMS),
                   "--label", "sports:Sports:games and athletes", "--label", "tech:Technology",
                   "--label", "politics")
    assert out.startswith("created dataset news (") and out.rstrip().endswith("10 items, 3 labels"), out
    result = tally(daemon, "providers", "create", "stub", "--kind", "openai", "--base-url", stub.openai_base_url,
                   "--api-key-env", "STUB_KEY", env={"STUB_KEY": API_KEY})
    assert result.returncode == 0, result.stderr
    assert API_KEY not in result.stdout




def test_datasets_and_providers(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    rows = table_rows(tally_ok(daemon, "datasets", "ls"))
    assert rows[0] == ["ID", "NAME", "ITEMS", "LABELS", "CREATED", "DESCRIPTION"]
    assert rows[1][1:4] == ["news", "10", "3"]

    show = tally_ok(daemon, "datasets", "show", "news")
    labels = table_rows(show.split("\nlabels\n")[1])
    assert labels[0] == ["ID", "NAME", "ITEMS", "SHARE", "DESCRIPTION"]
    assert labels[1] == ["sports", "Sports", "4", "40.0%", "games and athletes"]
    assert labels[2] == ["tech", "Technology", "3", "30.0%"]
    assert labels[3] == ["politics", "politics", "3", "30.0%"]
    assert tally_json(daemon, "datasets", "show", "news")["labelCounts"] == {"politics": "3", "sports": "4", "tech": "3"}

    # Labels derived from the items, and a JSON label file.
    path = write_items(workdir, ITEMS[:3], "small.jsonl")
    assert tally_json(daemon, "datasets", "create", "small", "--items", path)["labels"] == [
        {"id": "sports", "name": "sports"}, {"id": "tech", "name": "tech"}]
    (workdir / "labels.json").write_text(json.dumps([{"id": "sports", "description": "games"}, "tech", "politics"]))
    d = tally_json(daemon, "datasets", "create", "small2", "--items", path, "--labels", str(workdir / "labels.json"))
    assert [label["id"] for label in d["labels"]] == ["sports", "tech", "politics"]
    assert tally_fails(daemon, "datasets", "create", "small", "--items", path).stderr.startswith("Error: ALREADY_EXISTS: ")
    bad = tally_fails(daemon, "datasets", "create", "bad", "--items", path, "--label", "sports")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: INVALID_ARGUMENT: ") and "tech" in bad.stderr
    missing = tally_fails(daemon, "datasets", "create", "bad", "--items", str(workdir / "nope.jsonl"))
    assert missing.returncode == 1 and "nope.jsonl" in missing.stderr
    assert tally_ok(daemon, "datasets", "rm", "small2").startswith("deleted dataset small2 (")
    assert tally_fails(daemon, "datasets", "show", "small2").stderr.startswith("Error: NOT_FOUND: ")

    # Providers: the key comes from the environment or standard input, and is never shown.
    result = tally(daemon, "providers", "create", "other", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1",
                   "--api-key-stdin", input="sk-from-stdin\n")
    assert result.returncode == 0, result.stderr
    tally_ok(daemon, "providers", "create", "local", "--kind", "ollama", "--base-url", stub.ollama_base_url, "--inactive")
    result = run_tally("providers", "create", "script", "--kind", "command", "--socket", daemon.socket,
                       "--", "python3", "classify.py", "--strict")
    assert result.returncode == 0, result.stderr
    listing = tally_ok(daemon, "providers", "ls")
    assert API_KEY not in listing and "sk-from-stdin" not in listing
    rows = {row[1]: row for row in table_rows(listing)[1:]}
    assert rows["stub"][2:5] == ["openai", "yes", "yes"]
    assert rows["other"][2:5] == ["openai", "yes", "yes"]
    assert rows["local"][2:5] == ["ollama", "no", "no"]
    assert rows["script"][2:6] == ["command", "yes", "no", "python3 classify.py --strict"]
    providers = tally_json(daemon, "providers", "ls")["providers"]
    assert API_KEY not in json.dumps(providers)
    assert {p["name"]: p.get("hasApiKey", False) for p in providers}["stub"] is True

    out = tally_ok(daemon, "providers", "update", "other", "--remove-key", "--deactivate")
    assert out.rstrip().endswith("inactive, no key"), out
    assert tally_ok(daemon, "providers", "update", "local", "--activate").rstrip().endswith("active, no key")
    assert tally_json(daemon, "providers", "update", "script", "--command", "python3 'my classifier.py'")["command"] == [
        "python3", "my classifier.py"]
    no_env = tally(daemon, "providers", "update", "stub", "--api-key-env", "UNSET_VARIABLE_XYZ")
    assert no_env.returncode == 1 and "UNSET_VARIABLE_XYZ" in no_env.stderr
    assert tally(daemon, "providers", "create", "x", "--kind", "command").returncode == 64
    assert tally(daemon, "providers", "create", "x", "--kind", "grpc").returncode == 64
    assert tally_ok(daemon, "providers", "rm", "other") == "deleted provider other\n"
    assert tally_fails(daemon, "providers", "rm", "other").stderr.startswith("Error: NOT_FOUND: ")


def test_eval_two_models_with_watch(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    result = tally(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--model", "b",
                   "--concurrency", "2", "--watch")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "\x1b" not in out and "\r" not in out  # not a terminal
    lines = out.splitlines()
    assert lines[0].startswith("watching job ")
    assert "of dataset news, models a, b (provider stub)" in lines[0]
    job = lines[0].split()[2].rstrip(":")
    bars = [line for line in lines if line.startswith("[")]
    assert bars, out
    assert bars[-1].startswith("[####################] 100% 20/20")
    assert "model=" in bars[-1]
    assert any(line.startswith(f"job {job} completed") for line in lines)

    summary = table_rows(out.split("\nresults\n")[1].split("\n\n")[0])
    assert summary[0][:9] == ["MODEL", "ACCURACY", "AVG CONF", "P50 LATENCY", "P95 LATENCY", "MACRO F1",
                              "WEIGHTED F1", "ECE", "ERRORS"]
    assert summary[1][:2] == ["a", "0.9"] and summary[1][8:10] == ["1", "10"]
    assert summary[2][:2] == ["b", "0.6"] and summary[2][8:10] == ["2", "10"]

    # Model b's confusion matrix: rows actual, columns predicted, errors in their own column.
    section_b = out.split("\nmodel b (run ")[1]
    confusion = table_rows(section_b.split("confusion (rows: actual, columns: predicted)\n")[1].split("\n\n")[0])
    assert confusion[0] == ["ACTUAL", "sports", "tech", "politics", "ERROR"]
    assert confusion[1] == ["sports", "3", "0", "0", "1"]
    assert confusion[2] == ["tech", "1", "2", "0", "0"]
    assert confusion[3] == ["politics", "0", "1", "1", "1"]
    per_label = table_rows(section_b.split("per label\n")[1].split("\n\n")[0])
    assert per_label[0] == ["LABEL", "PRECISION", "RECALL", "F1", "SUPPORT"]
    assert per_label[1] == ["sports", "0.75", "0.75", "0.75", "4"]
    assert "reliability (non-empty bins)" in section_b

    # The same results as JSON.
    j = tally_json(daemon, "jobs", "show", job)
    assert j["status"] == "JOB_STATUS_COMPLETED"
    assert j["progressCurrent"] == "20" and j["progressTotal"] == "20"
    models = {m["model"]: m for m in j["results"]["models"]}
    assert models["a"]["accuracy"] == pytest.approx(0.9)
    assert models["b"]["accuracy"] == pytest.approx(0.6)
    assert models["b"]["confusion"]["tech"]["predicted"] == {"sports": "1", "tech": "2"}

    show = tally_ok(daemon, "jobs", "show", job)
    fields = dict(row for row in table_rows(show.split("\n\n")[0]) if len(row) == 2)
    assert fields["status"] == "completed" and fields["models"] == "a, b" and fields["provider"] == "stub"
    assert fields["progress"] == "20/20 (100%)" and fields["experiment"].startswith("eval-news (")
    assert "\nresults\n" in show and "\nmodel a (run " in show

    rows = table_rows(tally_ok(daemon, "jobs", "ls"))
    assert rows[0] == ["ID", "KIND", "STATUS", "PROGRESS", "CREATED", "DURATION", "DATASET", "MODELS"]
    assert rows[1][0] == job and rows[1][2:4] == ["completed", "20/20"] and rows[1][-2:] == ["news", "a,b"]
    assert len(table_rows(tally_ok(daemon, "jobs", "ls", "--status", "running"))) == 1
    assert tally_json(daemon, "jobs", "ls", "--status", "completed", "--kind", "classification_eval")["totalCount"] == "1"

    # Failed items.
    errors = table_rows(tally_ok(daemon, "jobs", "items", job, "--errors"))
    assert errors[0] == ["MODEL", "ITEM", "ACTUAL", "PREDICTED", "CONF", "ALTERNATIVES", "LATENCY", "ERROR", "TEXT"]
    assert sorted((r[0], r[1]) for r in errors[1:]) == [("a", "n10"), ("b", "n10"), ("b", "n9")]
    assert all(r[3] == "ERROR" and r[5] == "-" and r[7].startswith("malformed_reply") for r in errors[1:])
    assert len(tally_json(daemon, "jobs", "items", job, "--model", "b", "--errors")["items"]) == 2
    assert len(table_rows(tally_ok(daemon, "jobs", "items", job, "--limit", "5"))) == 6

    # One tracking run per model, in eval-news: compare them.
    runs = tally_json(daemon, "runs", "ls", "--experiment", "eval-news")["runs"]
    ids = {r["name"]: r["id"] for r in runs}
    assert set(ids) == {"a", "b"}
    compare = tally_ok(daemon, "compare", ids["a"], ids["b"])
    metrics = {row[0]: row for row in table_rows(compare.split("metrics (last values)\n")[1])}
    assert metrics["accuracy"][1:6] == ["max", "0.9", "0.6", "a (0.9)", "b (0.6)"]
    params = {row[-3]: row for row in table_rows(compare.split("params (* differs)\n")[1].split("\n\n")[0])}
    assert params["model"][-2:] == ["a", "b"]

    assert tally_ok(daemon, "jobs", "rm", job) == f"deleted job {job}\n"
    assert tally_fails(daemon, "jobs", "show", job).stderr.startswith("Error: NOT_FOUND: ")


def test_eval_prints_the_job_id_and_watch_job_replays_a_finished_job(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    job = tally_ok(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--sample", "4",
                   "--stratified", "--seed", "7", "--experiment", "stub-evals").strip()
    assert len(job) > 0 and " " not in job
    out = tally_ok(daemon, "watch", "job", job, timeout=60)
    assert f"job {job} completed" in out and "\nresults\n" in out
    j = tally_json(daemon, "jobs", "show", job)
    config = j["classification"]
    assert config["sampleSize"] == 4 and config["sampling"] == "SAMPLING_STRATIFIED" and config["seed"] == "7"
    assert config["experiment"] == "stub-evals"
    assert j["results"]["models"][0]["total"] == "4"

    events = [json.loads(line) for line in tally_ok(daemon, "watch", "job", job, "--json").splitlines()]
    assert "snapshot" in events[0] and "completed" in events[-1]


def test_eval_validation_errors(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    unknown = tally_fails(daemon, "eval", "news", "--provider", "nobody", "--model", "a")
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error: NOT_FOUND: ") and unknown.stdout == ""
    tally_ok(daemon, "providers", "update", "stub", "--deactivate")
    inactive = tally_fails(daemon, "eval", "news", "--provider", "stub", "--model", "a")
    assert inactive.returncode == 1 and inactive.stderr.startswith("Error: FAILED_PRECONDITION: ")
    tally_ok(daemon, "providers", "update", "stub", "--activate")
    too_big = tally_fails(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--sample", "11")
    assert too_big.returncode == 1 and too_big.stderr.startswith("Error: INVALID_ARGUMENT: ")
    assert "11" in too_big.stderr and "10" in too_big.stderr
    no_dataset = tally_fails(daemon, "eval", "nothing", "--provider", "stub", "--model", "a")
    assert no_dataset.stderr.startswith("Error: NOT_FOUND: ")
    assert tally(daemon, "eval", "news", "--provider", "stub").returncode == 64
    assert tally(daemon, "jobs", "ls", "--status", "sleeping").returncode == 64
    assert tally_fails(daemon, "jobs", "show", "ffffffffffffffff").stderr.startswith("Error: NOT_FOUND: ")
    assert tally_fails(daemon, "watch", "job", "ffffffffffffffff").stderr.startswith("Error: NOT_FOUND: ")
    assert tally_json(daemon, "jobs", "ls").get("jobs", []) == []


def test_eval_with_a_wrong_key_fails_at_once_and_time_limit_is_shown(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    result = tally(daemon, "providers", "create", "wrong", "--kind", "openai", "--base-url", stub.openai_base_url,
                   "--api-key-env", "STUB_KEY", env={"STUB_KEY": "not-the-key"})
    assert result.returncode == 0, result.stderr
    started = time.monotonic()
    failed = tally(daemon, "eval", "news", "--provider", "wrong", "--model", "a", "--time-limit", "10m", "--watch")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert time.monotonic() - started < 20
    assert "HTTP 401" in failed.stdout + failed.stderr and "bad api key" in failed.stdout + failed.stderr
    job = tally_json(daemon, "jobs", "ls")["jobs"][0]
    assert job["status"] == "JOB_STATUS_FAILED" and "model a: the provider refused" in job["error"]
    assert job["classification"]["timeLimitMs"] == "600000"
    shown = tally_ok(daemon, "jobs", "show", job["id"])
    assert "time limit" in shown and "10m" in shown
    bad = tally(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--time-limit", "soon")
    assert bad.returncode == 64 and "--time-limit" in bad.stderr


def test_watch_jobs_sees_a_job_complete(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    proc = subprocess.Popen([tally_bin(), "watch", "jobs", "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        job = tally_ok(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--model", "b",
                       "--concurrency", "1").strip()
        lines = wait_for(proc, f"job {job} completed")
        assert any(line.startswith(f"job {job}  [") and "model=" in line for line in lines), lines
        summary = table_rows("".join(lines[-1:]) + read_line(proc) + read_line(proc) + read_line(proc))
        assert summary[1][0] == "MODEL" and summary[2][:2] == ["a", "0.9"] and summary[3][:2] == ["b", "0.6"]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == ""


def test_watch_jobs_reconnects_after_a_daemon_restart(daemon, stub, workdir):
    setup_news(daemon, stub, workdir)
    proc = subprocess.Popen([tally_bin(), "watch", "jobs", "--json", "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = None
    try:
        first = tally_ok(daemon, "eval", "news", "--provider", "stub", "--model", "a", "--sample", "2").strip()
        wait_for(proc, '"completed"')
        assert daemon.stop() == 0
        second_daemon = Daemon(workdir)
        second = second_daemon
        job = tally_ok(second_daemon, "eval", "news", "--provider", "stub", "--model", "b", "--sample", "3").strip()
        lines = wait_for(proc, '"completed"', timeout=45)
        events = [json.loads(line) for line in lines]
        assert events[-1]["jobId"] == job and job != first
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
        if second:
            second.stop()
    assert proc.returncode == 130
    assert "reconnecting" in err and "(reconnected)" in err


def test_watch_job_follows_a_job_across_a_daemon_restart(daemon, stub, workdir):
    slow = [(f"s{i}", f"Slow item {i} LABEL=sports", "sports") for i in range(6)]
    tally_ok(daemon, "datasets", "create", "slow", "--items", write_items(workdir, slow, "slow.jsonl", delay_ms=500))
    tally(daemon, "providers", "create", "stub", "--kind", "openai", "--base-url", stub.openai_base_url,
          "--api-key-env", "STUB_KEY", env={"STUB_KEY": API_KEY})
    job = tally_ok(daemon, "eval", "slow", "--provider", "stub", "--model", "a", "--concurrency", "1").strip()
    created = time.monotonic()
    proc = subprocess.Popen([tally_bin(), "watch", "job", job, "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = None
    try:
        wait_for(proc, f"watching job {job}")
        time.sleep(1)
        assert daemon.stop() == 0
        before_restart = time.monotonic() - created
        second = Daemon(workdir)  # the job resumes where it stopped
        out, err = proc.communicate(timeout=60)
        record = tally_json(second, "jobs", "show", job)
    finally:
        proc.kill()
        if second:
            second.stop()
    assert proc.returncode == 0, out + err
    assert f"job {job} completed" in out and "\nresults\n" in out
    assert "watching job" not in out  # the header was shown once, before the restart
    assert "reconnecting" in err and "(reconnected)" in err, err
    # The duration counts from the job's first start, not from its resumption after the restart.
    seconds = float(re.search(rf"job {job} completed after ([0-9.]+)s", out).group(1))
    expected = (int(record["completedAtMs"]) - int(record["startedAtMs"])) / 1000
    assert expected > before_restart and abs(seconds - expected) <= 1, (seconds, expected, out)


def test_cancel_a_slow_job(daemon, stub, workdir):
    slow = [(f"s{i}", f"Slow item {i} LABEL=sports", "sports") for i in range(5)]
    tally_ok(daemon, "datasets", "create", "slow", "--items", write_items(workdir, slow, "slow.jsonl", delay_ms=3000))
    tally(daemon, "providers", "create", "stub", "--kind", "openai", "--base-url", stub.openai_base_url,
          "--api-key-env", "STUB_KEY", env={"STUB_KEY": API_KEY})
    job = tally_ok(daemon, "eval", "slow", "--provider", "stub", "--model", "a", "--concurrency", "1").strip()
    proc = subprocess.Popen([tally_bin(), "watch", "job", job, "--socket", daemon.socket],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(proc, f"watching job {job}")
        out = tally_ok(daemon, "jobs", "cancel", job)
        assert out.startswith(f"cancelled job {job} at ")
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, rest + err
    assert f"job {job} cancelled" in rest
    assert tally_json(daemon, "jobs", "show", job)["status"] == "JOB_STATUS_CANCELLED"
    again = tally_fails(daemon, "jobs", "cancel", job)
    assert again.stderr.startswith("Error: FAILED_PRECONDITION: ")
    assert tally_ok(daemon, "jobs", "rm", job) == f"deleted job {job}\n"


@pytest.mark.parametrize("args", [
    ["datasets", "ls"], ["providers", "ls"], ["jobs", "ls"], ["eval", "news", "--provider", "p", "--model", "m"],
    ["watch", "job", "0123456789abcdef"], ["watch", "jobs"],
])
def test_no_daemon_is_unavailable_at_once(workdir, args):
    socket = str(workdir / "none.sock")
    result = run_tally(*args, "--socket", socket, timeout=10)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: UNAVAILABLE: cannot connect to the Tally daemon at " + socket)
    assert result.stdout == ""


def test_providers_default_to_their_kinds_address(daemon):
    """--base-url may be left out: OpenAI's public endpoint, Ollama's local address."""
    tally_ok(daemon, "providers", "create", "openai-default", "--kind", "openai")
    tally_ok(daemon, "providers", "create", "ollama-default", "--kind", "ollama")
    rows = {row[1]: row for row in table_rows(tally_ok(daemon, "providers", "ls"))[1:]}
    assert "https://api.openai.com/v1" in rows["openai-default"]
    assert "http://127.0.0.1:11434" in rows["ollama-default"]
