"""Sweeps through the high-level API, against the real daemon: workers, reports, pruning, folds,
heartbeats, results, and trials started by `tally agent` (current_trial)."""
import json
import math
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

import tally
import tally._sweep
from tally import _convert
from tally.v1 import experiments_pb2 as pb

SRC = str(Path(__file__).resolve().parents[1] / "src")

# Student's t quantiles from a table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2):
# t_{0.975, 4} and t_{0.995, 4}, the 95% and 99% two-sided quantiles on 4 degrees of freedom.
T_975_4 = 2.7764451
T_995_4 = 4.6040949


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_grid_points_go_to_concurrent_workers_exactly_once(daemon):
    sweep = tally.create_sweep({"a": [1, 2, 3, 4], "b": tally.int_range(0, 2)}, max_parallel=3,
                               experiment=unique("grid"))
    assert sweep.config.total_combinations == 12
    seen = []
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def worker(name: str) -> None:
        for trial in sweep.trials(worker=name):
            with trial:
                with lock:
                    seen.append((trial.params["a"], trial.params["b"]))
                    running[0] += 1
                    peak[0] = max(peak[0], running[0])
                time.sleep(0.05)
                with lock:
                    running[0] -= 1
                trial.report(trial.params["a"] * 10 + trial.params["b"])

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seen) == [(a, b) for a in (1, 2, 3, 4) for b in (0, 1, 2)]
    assert 2 <= peak[0] <= 3  # worked on concurrently, never beyond max_parallel

    results = sweep.wait(timeout=10)
    assert results.status == "completed"
    assert (results.total, results.completed, results.failed, results.pruned) == (12, 12, 0, 0)
    assert results.best_params == {"a": 1, "b": 0} and results.best_score == 10
    assert sorted(t.number for t in results.trials) == list(range(12))
    assert {t.worker for t in results.trials} <= {"w0", "w1", "w2"}
    assert all(t.method_used == "grid" for t in results.trials)


@pytest.mark.parametrize("method,tolerance", [("random", 1.5), ("bayesian", 0.5)])
def test_search_finds_the_optimum_of_a_noisy_quadratic(daemon, method, tolerance):
    noise = random.Random(1)
    sweep = tally.create_sweep({"x": tally.uniform(-10, 10)}, method=method, max_trials=30, seed=11,
                               fixed={"batch": 64}, experiment=unique(method))
    for trial in sweep.trials():
        assert trial.params["batch"] == 64
        x = trial.params["x"]
        assert -10 <= x <= 10
        trial.report((x - 3) ** 2 + noise.gauss(0, 0.01))
    results = sweep.results(timeout=10)
    assert results.completed == 30 and results.total == 30
    # Over seeds 0-19 the daemon's samplers end within 1.4 (random) and 0.25 (TPE) of the optimum.
    assert abs(results.best_params["x"] - 3) < tolerance, results.best_params
    assert results.best_score == min(t.score for t in results.trials)
    assert results.best_trial is not None and results.best_trial.params == results.best_params
    if method == "bayesian":
        used = [t.method_used for t in sorted(results.trials, key=lambda t: t.number)]
        assert used[:10] == ["random"] * 10 and "tpe" in used[10:]


def test_folds_give_student_t_intervals(daemon, client):
    folds = [0.81, 0.79, 0.84, 0.80, 0.83]
    sweep = client.create_sweep({"c": [1.0]}, direction="maximize", experiment=unique("folds"))
    trial = sweep.next_trial()
    info = trial.report(folds=folds, fit_times=[1, 2, 3, 4, 5], score_times=[0.5] * 5)
    assert info.status == "completed" and info.folds is not None

    cv = client.cross_validate(folds, fit_times=[1, 2, 3, 4, 5], score_times=[0.5] * 5)
    mean = sum(folds) / 5
    std = math.sqrt(sum((f - mean) ** 2 for f in folds) / 4)
    half95, half99 = T_975_4 * std / math.sqrt(5), T_995_4 * std / math.sqrt(5)
    assert (cv.n, cv.has_interval, cv.median, cv.min, cv.max) == (5, True, 0.81, 0.79, 0.84)
    assert cv.mean == pytest.approx(mean, abs=1e-12) and cv.std == pytest.approx(std, abs=1e-12)
    assert cv.ci95 == pytest.approx((mean - half95, mean + half95), abs=1e-7)
    assert cv.ci99 == pytest.approx((mean - half99, mean + half99), abs=1e-7)
    assert cv.fit_time_mean == 3 and cv.score_time_mean == 0.5
    assert info.folds.ci95 == cv.ci95 and info.score == cv.mean

    results = sweep.wait(timeout=10)
    assert results.best_score == cv.mean
    assert results.best_ci95 == cv.ci95 and results.best_ci99 == cv.ci99
    metrics = tally.get_run(trial.run_id).metrics
    assert metrics["score_ci95_lower"].last == cv.ci95[0] and metrics["score_ci99_upper"].last == cv.ci99[1]

    single = tally.cross_validate([0.5])
    assert (single.n, single.has_interval, single.ci95, single.ci99, single.std) == (1, False, None, None, 0)
    with pytest.raises(tally.InvalidArgument):
        tally.cross_validate([])


def test_intermediate_reports_lead_to_a_prune(daemon):
    sweep = tally.create_sweep({"x": [1, 2, 3, 4]}, pruner={"min_trials": 2}, experiment=unique("prune"))
    trials = sweep.trials()
    for _ in range(2):  # two good trials set the median at each step
        trial = next(trials)
        for step in range(3):
            assert trial.report_intermediate(step, 1.0 / (step + 1)) is False
        trial.report(0.3)
    trial = next(trials)
    with trial:
        trial.run.log({"loss": 9.0}, step=0)
        assert trial.report_intermediate(0, 0.9) is False  # better than the median (1.0): kept
        pruned = trial.report_intermediate(1, 5.0)  # worse than the median (0.5)
        assert pruned is True and trial.should_prune and trial.ended
    with pytest.raises(tally.FailedPrecondition):
        trial.report(0.1)
    run = tally.get_run(trial.run_id)
    assert run.status == "killed" and run.metrics["loss"].count == 1
    last = next(trials)
    last.report(0.2)
    assert next(trials, None) is None
    results = sweep.wait(timeout=10)
    assert (results.completed, results.pruned, results.failed) == (3, 1, 0)
    pruned_info = [t for t in results.trials if t.status == "pruned"][0]
    assert pruned_info.id == trial.id and pruned_info.intermediate == [(0, 0.9), (1, 5.0)]
    assert results.best_params == {"x": 4}


def test_exception_in_trial_block_fails_the_trial(daemon):
    sweep = tally.create_sweep({"x": [1]}, experiment=unique("raise"))
    trial = sweep.next_trial()
    with pytest.raises(ValueError, match="boom 42"):
        with trial:
            trial.run.log({"loss": 1.0})
            raise ValueError("boom 42")
    results = sweep.wait(timeout=10)
    (info,) = results.trials
    assert info.status == "failed" and info.error == "ValueError: boom 42"
    assert (results.failed, results.completed, results.best_score, results.best_params) == (1, 0, None, {})
    run = tally.get_run(trial.run_id)
    assert run.status == "failed" and run.metrics["loss"].count == 1


def test_reporting_twice_is_failed_precondition(daemon):
    sweep = tally.create_sweep({"x": [1]}, experiment=unique("twice"))
    trial = sweep.next_trial()
    assert trial.report(1.5).score == 1.5
    with pytest.raises(tally.FailedPrecondition):
        trial.report(2.5)
    with pytest.raises(tally.FailedPrecondition):
        trial.fail("late")
    with pytest.raises(ValueError):
        trial.report()
    with pytest.raises(ValueError):
        trial.report(1.0, folds=[1.0, 2.0])
    assert sweep.wait(timeout=10).best_score == 1.5


def test_run_points_are_flushed_before_the_report(daemon):
    sweep = tally.create_sweep({"x": [1]}, objective="val_loss", experiment=unique("log"))
    (trial,) = list(_take(sweep.trials(), 1))
    for i in range(500):
        trial.run.log({"loss": 1.0 / (i + 1), "acc": i / 500}, step=i)
    trial.report(0.25)  # no explicit flush: the report must not overtake the points
    hist = tally.history(trial.run_id)
    assert hist["loss"].steps == list(range(500)) and hist["acc"].values[-1] == 499 / 500
    assert hist["val_loss"].values == [0.25]
    run = tally.get_run(trial.run_id)
    assert run.status == "completed" and run.tags["sweep"] == sweep.id
    assert run.params["x"] == 1


def _take(iterator, n):
    for _ in range(n):
        yield next(iterator)


def _agent_env(daemon, sweep_id: str, trial: pb.Trial, params) -> dict:
    env = dict(os.environ)
    env.update(TALLY_SOCKET=daemon.socket, TALLY_SWEEP_ID=sweep_id, TALLY_TRIAL_ID=trial.id,
               TALLY_TRIAL_NUMBER=str(trial.number), TALLY_RUN_ID=trial.run_id, TALLY_PARAMS=json.dumps(params),
               PYTHONPATH=SRC + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def test_current_trial_under_an_agent(daemon, client):
    sweep = client.create_sweep({"lr": [0.1, 0.01], "opt": ["adam"]}, fixed={"batch": 32}, max_parallel=2,
                                experiment=unique("agent"))
    got = []
    while len(got) < 2:
        response = client.experiments.next_trial(pb.NextTrialRequest(job_id=sweep.id, worker="agent"))
        if response.HasField("trial"):
            got.append(response.trial)
        else:
            time.sleep(0.05)
    first, second = got
    params = {k: _convert.from_param(v) for k, v in first.params.items()}
    assert params == {"lr": 0.1, "opt": "adam", "batch": 32}

    reporter = textwrap.dedent("""
        import tally
        trial = tally.current_trial()
        assert trial is tally.current_trial()
        print(sorted(trial.params.items()), trial.number)
        for i in range(20):
            trial.run.log({"loss": trial.params["lr"] * i}, step=i)
        print(trial.report(trial.params["lr"] * 2).status)
    """)
    proc = subprocess.run([sys.executable, "-c", reporter], env=_agent_env(daemon, sweep.id, first, params),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["[('batch', 32), ('lr', 0.1), ('opt', 'adam')] 0", "completed"]
    assert proc.stderr == ""

    # A program that logs but leaves the report to the agent (its last stdout line): at exit its
    # points are flushed, and neither the trial nor its run is ended by the client.
    silent = textwrap.dedent("""
        import tally
        trial = tally.current_trial()
        with trial:
            trial.run.log({"loss": 1.0}, step=0)
        print('{"score": 0.5}')
    """)
    params2 = {k: _convert.from_param(v) for k, v in second.params.items()}
    proc = subprocess.run([sys.executable, "-c", silent], env=_agent_env(daemon, sweep.id, second, params2),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    run = tally.get_run(second.run_id)
    assert run.status == "running" and run.metrics["loss"].count == 1
    client.experiments.report_trial(pb.ReportTrialRequest(trial_id=second.id, score=0.5))  # as the agent would

    results = sweep.wait(timeout=10)
    by_id = {t.id: t for t in results.trials}
    assert by_id[first.id].status == "completed" and by_id[first.id].score == pytest.approx(0.2)
    assert by_id[second.id].score == 0.5
    assert tally.history(first.run_id, ["loss"])["loss"].steps == list(range(20))


def test_current_trial_outside_an_agent(daemon, monkeypatch):
    for name in ("TALLY_SWEEP_ID", "TALLY_TRIAL_ID", "TALLY_TRIAL_NUMBER", "TALLY_RUN_ID", "TALLY_PARAMS"):
        monkeypatch.delenv(name, raising=False)
    assert tally.current_trial() is None
    monkeypatch.setenv("TALLY_SWEEP_ID", "abc")
    with pytest.raises(RuntimeError, match="tally agent"):
        tally.current_trial()
    monkeypatch.setenv("TALLY_TRIAL_ID", "t1")
    with pytest.raises(RuntimeError, match="TALLY_TRIAL_NUMBER, TALLY_RUN_ID, TALLY_PARAMS are not"):
        tally.current_trial()


def test_results_count_every_outcome(daemon):
    sweep = tally.create_sweep({"x": [4, 3, 2, 1]}, experiment=unique("results"))
    assert tally.get_sweep(sweep.id).config.total_combinations == 4
    for trial in sweep.trials(worker="solo"):
        if trial.number == 1:
            trial.fail("out of memory")
        elif trial.number == 2:
            pass  # not reported: failed when the loop asks for the next trial
        else:
            trial.report(float(trial.params["x"]))
    results = sweep.results(timeout=10)
    assert results.status == "completed" and sweep.status == "completed"
    assert (results.total, results.completed, results.failed, results.pruned) == (4, 2, 2, 0)
    assert results.best_params == {"x": 1} and results.best_score == 1.0
    assert results.best_trial is not None and results.best_trial.number == 3
    errors = {t.number: t.error for t in results.trials}
    assert errors[1] == "out of memory"
    assert errors[2] == "not reported before the worker asked for the next trial"
    assert results.tuning_time >= 0 and all(t.worker == "solo" for t in results.trials)
    with pytest.raises(tally.NotFound):
        tally.get_sweep("no-such-job")


def test_failed_trials_are_retried_and_a_sweep_with_none_completed_fails(daemon):
    sweep = tally.create_sweep({"x": [1, 2]}, experiment=unique("retries"), retries=1, retry_backoff=0.05)
    assert sweep.config.retries == 1 and sweep.config.retry_backoff_ms == 50
    seen = []
    for trial in sweep.trials(worker="solo"):
        seen.append((trial.number, trial.params["x"]))
        if trial.number == 0:
            trial.fail("flaky")
        else:
            trial.report(float(trial.params["x"]))
    results = sweep.results(timeout=10)
    assert results.status == "completed" and results.retried == 1 and results.method_used == "grid"
    retry = next(t for t in results.trials if t.attempt == 1)
    assert retry.retry_of == results.trials[0].id and retry.params == results.trials[0].params
    assert sorted(x for _, x in seen) == [1, 1, 2]

    doomed = tally.create_sweep({"x": [1, 2]}, experiment=unique("doomed"))
    for trial in doomed.trials(worker="solo"):
        trial.fail(f"exit status {trial.number + 1}")
    failed = doomed.results(timeout=10)
    assert failed.status == "failed" and failed.total == 2 and failed.failed == 2
    assert "no trial completed" in failed.error and "trial 0: exit status 1" in failed.error


def test_heartbeat_thread_keeps_a_trial_alive(daemon):
    sweep = tally.create_sweep({"x": [1, 2]}, max_parallel=2, heartbeat_timeout=1.0, experiment=unique("beat"))
    assert sweep.heartbeat_timeout == 1.0
    alive = sweep.next_trial()
    silent = sweep.next_trial(heartbeat=False)
    time.sleep(2.5)  # work for longer than the heartbeat timeout
    assert alive.report(0.5).status == "completed"
    with pytest.raises(tally.FailedPrecondition):
        silent.report(0.5)  # no heartbeats: it expired
    results = sweep.wait(timeout=10)
    assert (results.completed, results.failed) == (1, 1)


def test_cancel_and_wait_timeout(daemon):
    sweep = tally.create_sweep({"lr": tally.loguniform(1e-5, 1e-1), "layers": tally.int_range(1, 8)},
                               method="random", max_trials=100, experiment=unique("cancel"))
    trial = sweep.next_trial()
    assert 1e-5 <= trial.params["lr"] <= 1e-1 and 1 <= trial.params["layers"] <= 8
    with pytest.raises(tally.DeadlineExceeded):
        sweep.wait(timeout=0.3)
    sweep.cancel()
    results = sweep.wait(timeout=10)
    assert results.status == "cancelled" and sweep.next_trial() is None
    with pytest.raises(tally.FailedPrecondition):
        trial.report(1.0)


def test_invalid_sweeps(daemon):
    with pytest.raises(tally.InvalidArgument):
        tally.create_sweep({"x": tally.uniform(0, 1)})  # continuous float in a grid
    with pytest.raises(ValueError):
        tally.create_sweep({"x": [1]}, method="hyperband")
    with pytest.raises(TypeError):
        tally.create_sweep({"x": 3})
    config = tally._sweep.sweep_config({"x": tally.uniform(0, 1, 0.25), "n": (1, "a", True)}, method="bayesian",
                                       max_trials=5, time_limit=1.5, startup_trials=3, pruner=True,
                                       heartbeat_timeout=0.5, direction="maximize")
    assert config.params[0].float_range.step == 0.25
    assert [v.WhichOneof("kind") for v in config.params[1].categorical.values] == ["int_value", "string_value", "bool_value"]
    assert (config.time_limit_ms, config.startup_trials, config.heartbeat_timeout_ms) == (1500, 3, 500)
    assert config.pruner.enabled and config.objective.direction == pb.OBJECTIVE_DIRECTION_MAXIMIZE


def test_a_preset_gives_the_space_and_random_search(daemon):
    sweep = tally.create_sweep(preset="logistic-regression", objective="acc", direction="maximize",
                               params={"C": tally.loguniform(0.01, 1)}, experiment=unique("preset"))
    assert sweep.config.method == 2 and sweep.config.preset == "logistic-regression"
    assert [p.name for p in sweep.config.params] == ["penalty", "solver", "class_weight", "C"]
    trial = sweep.next_trial()
    assert trial is not None and 0.01 <= trial.params["C"] <= 1 and trial.params["solver"] == "saga"
    trial.report(0.9)
    sweep.cancel()
