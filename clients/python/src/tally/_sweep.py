"""Hyperparameter sweeps (docs/sweeps.md): search-space helpers, `Sweep`, `Trial` and result types.

A sweep is a job of the daemon, which chooses the trials; this process is a worker that asks
for them (`Sweep.trials()`), evaluates them and reports their scores. A trial started by
`tally agent` is picked up from the environment with `tally.current_trial()`.
"""

import json
import numbers
import os
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from tally import _convert
from tally._run import Run
from tally._transport import ResponseIterator
from tally.errors import DeadlineExceeded, InvalidArgument, RPCError
from tally.v1 import experiments_pb2 as pb
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client

__all__ = [
    "ParamSpec", "choice", "int_range", "uniform", "loguniform", "CrossValidation", "TrialInfo",
    "SweepResults", "Trial", "Sweep", "sweep_config", "current_trial",
]

_NOT_FOUND, _FAILED_PRECONDITION, _UNAVAILABLE = 5, 9, 14

# ---------------------------------------------------------------------------------------------
# The search space


@dataclass(frozen=True)
class ParamSpec:
    """One searched parameter's domain; made by `choice`, `int_range`, `uniform`, `loguniform`."""

    kind: str  # "categorical", "int" or "float"
    values: Tuple[Any, ...] = ()
    low: float = 0
    high: float = 0
    step: float = 0
    log: bool = False

    def to_proto(self, name: str) -> pb.SweepParam:
        if self.kind == "categorical":
            return pb.SweepParam(name=name, categorical=pb.SweepParam.Categorical(
                values=[_convert.param_value(v) for v in self.values]))
        if self.kind == "int":
            return pb.SweepParam(name=name, int_range=pb.SweepParam.IntRange(
                low=int(self.low), high=int(self.high), step=int(self.step), log=self.log))
        return pb.SweepParam(name=name, float_range=pb.SweepParam.FloatRange(
            low=float(self.low), high=float(self.high), step=float(self.step), log=self.log))


def choice(values: Sequence[Any]) -> ParamSpec:
    """A categorical parameter: one of `values` (strings, ints, floats, bools), tried in order by a
    grid. A plain list or tuple in `create_sweep`'s params means the same."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"choice() takes a list of values, not {type(values).__name__}")
    return ParamSpec("categorical", tuple(values))


def int_range(low: int, high: int, step: int = 1, *, log: bool = False) -> ParamSpec:
    """Integers `low, low + step, …` up to `high` (inclusive); `log` samples log-uniformly (step 1)."""
    for name, v in (("low", low), ("high", high), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"int_range() {name} must be an integer, not {v!r}")
    return ParamSpec("int", low=int(low), high=int(high), step=int(step), log=log)


def uniform(low: float, high: float, step: float = 0, *, log: bool = False) -> ParamSpec:
    """Floats in `[low, high]`: continuous when `step` is 0 (not allowed in a grid), else
    `low, low + step, …`; `log` samples log-uniformly (without a step)."""
    return ParamSpec("float", low=float(low), high=float(high), step=float(step), log=log)


def loguniform(low: float, high: float) -> ParamSpec:
    """Floats in `[low, high]` sampled log-uniformly (`low > 0`), e.g. a learning rate."""
    return uniform(low, high, log=True)


SpecLike = Union[ParamSpec, Sequence[Any], pb.SweepParam]

_METHODS = {"grid": pb.SWEEP_METHOD_GRID, "random": pb.SWEEP_METHOD_RANDOM, "bayesian": pb.SWEEP_METHOD_BAYESIAN}
_DIRECTIONS = {"minimize": pb.OBJECTIVE_DIRECTION_MINIMIZE, "maximize": pb.OBJECTIVE_DIRECTION_MAXIMIZE}


def _param(name: str, spec: SpecLike) -> pb.SweepParam:
    if isinstance(spec, ParamSpec):
        return spec.to_proto(name)
    if isinstance(spec, pb.SweepParam):
        out = pb.SweepParam()
        out.CopyFrom(spec)
        out.name = name
        return out
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        return choice(spec).to_proto(name)
    raise TypeError(f"param {name!r}: expected a list of values or tally.choice/int_range/uniform/loguniform, "
                    f"not {spec!r} (pass single values in fixed=)")


def _ms(seconds: Optional[float]) -> int:
    return 0 if seconds is None else max(1, int(round(seconds * 1000)))


def sweep_config(params: Mapping[str, SpecLike], *, method: Optional[str] = None, objective: str = "score",
                 direction: str = "minimize", max_trials: int = 0, max_parallel: int = 1,
                 time_limit: Optional[float] = None, seed: int = 0, startup_trials: Optional[int] = None,
                 fixed: Optional[Mapping[str, Any]] = None, pruner: Union[bool, Mapping[str, int]] = False,
                 heartbeat_timeout: Optional[float] = None, experiment: str = "", retries: int = 0,
                 retry_backoff: Optional[float] = None, preset: str = "") -> pb.SweepConfig:
    """The `SweepConfig` of `create_sweep`'s arguments (see there)."""
    if method is None:
        method = "random" if preset else "grid"
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'minimize' or 'maximize', not {direction!r}")
    config = pb.SweepConfig(
        params=[_param(name, spec) for name, spec in params.items()], method=_METHODS[method],
        objective=pb.SweepObjective(metric=objective, direction=_DIRECTIONS[direction]),
        max_trials=max_trials, max_parallel=max_parallel, time_limit_ms=_ms(time_limit), seed=seed,
        heartbeat_timeout_ms=_ms(heartbeat_timeout), experiment=experiment, retries=retries,
        retry_backoff_ms=_ms(retry_backoff), preset=preset)
    if startup_trials is not None:
        config.startup_trials = startup_trials
    for key, value in _convert.flatten_params(fixed or {}).items():
        config.fixed[key].CopyFrom(_convert.param_value(value))
    if pruner:
        options = dict(pruner) if isinstance(pruner, Mapping) else {}
        unknown = set(options) - {"min_trials", "warmup_steps"}
        if unknown:
            raise ValueError(f"pruner options are min_trials and warmup_steps, not {', '.join(sorted(unknown))}")
        config.pruner.CopyFrom(pb.PrunerConfig(enabled=True, **options))
    return config


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class CrossValidation:
    """Statistics of fold scores: `ci95` and `ci99` are Student's t intervals of the mean
    (lower, upper), None with a single score (`has_interval` False, `std` 0)."""

    n: int
    mean: float
    std: float
    median: float
    min: float
    max: float
    ci95: Optional[Tuple[float, float]]
    ci99: Optional[Tuple[float, float]]
    has_interval: bool
    fit_time_mean: float = 0.0
    score_time_mean: float = 0.0
    scores: List[float] = field(default_factory=list)
    proto: Optional[pb.CrossValidationResult] = field(default=None, repr=False)


def cross_validation(r: pb.CrossValidationResult) -> CrossValidation:
    return CrossValidation(
        n=r.n, mean=r.mean, std=r.std, median=r.median, min=r.min, max=r.max,
        ci95=(r.ci95_lower, r.ci95_upper) if r.has_interval else None,
        ci99=(r.ci99_lower, r.ci99_upper) if r.has_interval else None,
        has_interval=r.has_interval, fit_time_mean=r.fit_time_mean, score_time_mean=r.score_time_mean,
        scores=list(r.scores), proto=r)


_TRIAL_STATUS = {
    pb.TRIAL_STATUS_RUNNING: "running", pb.TRIAL_STATUS_COMPLETED: "completed",
    pb.TRIAL_STATUS_FAILED: "failed", pb.TRIAL_STATUS_PRUNED: "pruned",
}
_JOB_STATUS = {
    pb.JOB_STATUS_PENDING: "pending", pb.JOB_STATUS_RUNNING: "running", pb.JOB_STATUS_COMPLETED: "completed",
    pb.JOB_STATUS_FAILED: "failed", pb.JOB_STATUS_CANCELLED: "cancelled",
}
_TERMINAL = {pb.JOB_STATUS_COMPLETED, pb.JOB_STATUS_FAILED, pb.JOB_STATUS_CANCELLED}


def _params(values: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: _convert.from_param(v) for k, v in sorted(values.items())}


@dataclass
class TrialInfo:
    """A trial as the daemon has it: `status` is "running", "completed", "failed" or "pruned";
    `score` the objective (None until completed); `folds` the fold statistics when folds were
    reported; `intermediate` the (step, value) reports."""

    id: str
    number: int
    params: Dict[str, Any]
    run_id: str
    status: str
    method_used: str
    score: Optional[float]
    folds: Optional[CrossValidation]
    error: str
    worker: str
    started_at_ms: int
    finished_at_ms: int
    intermediate: List[Tuple[int, float]] = field(default_factory=list)
    note: str = ""
    attempt: int = 0  # 0 for a configuration's first try, n for its n-th retry
    retry_of: str = ""  # the id of the failed trial this one tries again
    proto: Optional[pb.Trial] = field(default=None, repr=False)


def trial_info(t: pb.Trial) -> TrialInfo:
    return TrialInfo(
        id=t.id, number=t.number, params=_params(t.params), run_id=t.run_id,
        status=_TRIAL_STATUS.get(t.status, str(t.status)), method_used=t.method_used,
        score=t.score if t.HasField("score") else None,
        folds=cross_validation(t.folds) if t.HasField("folds") else None, error=t.error, worker=t.worker,
        started_at_ms=t.started_at_ms, finished_at_ms=t.finished_at_ms,
        intermediate=[(v.step, v.value) for v in t.intermediate], note=t.note, attempt=t.attempt,
        retry_of=t.retry_of, proto=t)


@dataclass
class SweepResults:
    """The outcome of a sweep. `status` is the job's ("completed", "failed", "cancelled");
    `best_score` and `best_params` are those of the best completed trial (None and {} when none
    completed); `best_ci95`/`best_ci99` its interval (lower, upper) when it reported at least two
    folds; `total` counts the trials started (`retried` of them retries of failed ones);
    `method_used` says how they were chosen ("tpe after 10 random startup trials, 2 trials
    random-fallback: …"); `trials` lists them all in order. A sweep in which no trial completed
    ends "failed", with the first failure's reason in `error`."""

    sweep_id: str
    status: str
    best_trial_id: str
    best_params: Dict[str, Any]
    best_score: Optional[float]
    best_ci95: Optional[Tuple[float, float]]
    best_ci99: Optional[Tuple[float, float]]
    total: int
    completed: int
    failed: int
    pruned: int
    tuning_time: float  # seconds, from the sweep's start to the last trial's end
    trials: List[TrialInfo]
    error: str = ""
    method_used: str = ""
    retried: int = 0
    proto: Optional[pb.Job] = field(default=None, repr=False)

    @property
    def best_trial(self) -> Optional[TrialInfo]:
        return next((t for t in self.trials if t.id == self.best_trial_id), None)


def sweep_results(job: pb.Job) -> SweepResults:
    r = job.results.sweep
    trials = [trial_info(t) for t in r.trials]
    best = next((t for t in trials if t.id == r.best_trial_id), None)
    interval = best is not None and best.folds is not None and best.folds.has_interval
    return SweepResults(
        sweep_id=job.id, status=_JOB_STATUS.get(job.status, str(job.status)), best_trial_id=r.best_trial_id,
        best_params=_params(r.best_params), best_score=r.best_score if r.HasField("best_score") else None,
        best_ci95=(r.best_ci95_lower, r.best_ci95_upper) if interval else None,
        best_ci99=(r.best_ci99_lower, r.best_ci99_upper) if interval else None,
        total=r.total, completed=r.completed, failed=r.failed, pruned=r.pruned,
        tuning_time=r.tuning_time_ms / 1000, trials=trials, error=job.error, method_used=r.method_used,
        retried=r.retried, proto=job)


# ---------------------------------------------------------------------------------------------
# Trials


def _exception_text(exc_type: Any, exc: Any) -> str:
    return "".join(traceback.format_exception_only(exc_type, exc)).strip()


class Trial:
    """One trial being evaluated by this process: `params` (searched and fixed, plain Python
    values), `run` (the trial's tracking run), `report(score)` or `report(folds=[...])` to end
    it, `report_intermediate(step, value)` for pruning, `fail(message)`.

    As a context manager, an exception escaping the block fails the trial with the exception's
    text (unless it was reported). A trial handed out by `Sweep.next_trial`/`Sweep.trials` that
    leaves the block without a report fails too ("ended without a report"), and a background
    thread sends heartbeats until it is reported; a trial of `current_trial()` belongs to the
    agent, which sends the heartbeats and reads a score from the program's output when none was
    reported."""

    def __init__(self, client: "Client", sweep_id: str, trial_id: str, number: int, params: Dict[str, Any],
                 run_id: str, *, method_used: str = "", worker: str = "", proto: Optional[pb.Trial] = None,
                 heartbeat_interval: Optional[float] = None) -> None:
        self.client = client
        self.sweep_id = sweep_id
        self.id = trial_id
        self.number = number
        self.params = params
        self.run_id = run_id
        self.method_used = method_used
        self.worker = worker
        #: The latest record the daemon returned for this trial.
        self.proto = proto
        #: True once an intermediate report was answered with "prune": stop working on the trial.
        self.should_prune = False
        self._ended = False
        self._lock = threading.Lock()
        self._run: Optional[Run] = None
        self._stop_heartbeat = threading.Event()
        self._heartbeat: Optional[threading.Thread] = None
        if heartbeat_interval is not None:
            self._heartbeat = threading.Thread(target=self._heartbeat_loop, args=(heartbeat_interval,),
                                               name=f"tally-trial-{trial_id}", daemon=True)
            self._heartbeat.start()

    @classmethod
    def _from_proto(cls, client: "Client", sweep_id: str, t: pb.Trial,
                    heartbeat_interval: Optional[float]) -> "Trial":
        return cls(client, sweep_id, t.id, t.number, _params(t.params), t.run_id, method_used=t.method_used,
                   worker=t.worker, proto=t, heartbeat_interval=heartbeat_interval)

    @property
    def ended(self) -> bool:
        """Whether this process reported the trial's end (or was told it was pruned)."""
        return self._ended

    @property
    def run(self) -> Run:
        """The trial's tracking run, to log metrics to (`trial.run.log({...}, step=i)`). Its points
        are flushed before the trial is reported; the daemon ends the run with the trial, so do
        not end it (or use it in a `with` block) yourself."""
        with self._lock:
            if self._run is None:
                # Attached as it is: the daemon started the run and ends it with the trial.
                record = self.client.tracking.get_run(tracking_pb2.GetRunRequest(run_id=self.run_id))
                run = Run(self.client, record)
                run._end_at_exit = False
                self._run = run
            return self._run

    def info(self) -> TrialInfo:
        """The trial as of the last answer of the daemon (`TrialInfo`); the sweep's results have
        the up-to-date record."""
        if self.proto is None:
            return TrialInfo(self.id, self.number, dict(self.params), self.run_id, "running", self.method_used,
                             None, None, "", self.worker, 0, 0)
        return trial_info(self.proto)

    # -- reports -------------------------------------------------------------------------------

    def report(self, score: Optional[float] = None, *, folds: Optional[Sequence[float]] = None,
               fit_times: Optional[Sequence[float]] = None,
               score_times: Optional[Sequence[float]] = None) -> TrialInfo:
        """Ends the trial COMPLETED with `score`, or with the fold scores of a cross-validation
        (`folds`, optionally one fit and score time per fold: the objective is their mean and the
        trial gets the fold statistics and intervals). Points logged to `run` are flushed first.
        Reporting a trial that has ended (a second time, after pruning or an expired heartbeat)
        raises `tally.FailedPrecondition`."""
        if (score is None) == (folds is None):
            raise ValueError("report() takes either a score or folds=[...]")
        if folds is None and (fit_times is not None or score_times is not None):
            raise ValueError("fit_times and score_times go with folds=[...]")
        request = pb.ReportTrialRequest(trial_id=self.id, final=True)
        if folds is not None:
            request.folds.CopyFrom(pb.ReportTrialRequest.Folds(
                scores=[float(s) for s in folds], fit_times=[float(t) for t in fit_times or ()],
                score_times=[float(t) for t in score_times or ()]))
        else:
            request.score = float(cast(float, score))
        return self._finish(request)

    def fail(self, message: str) -> TrialInfo:
        """Ends the trial FAILED with `message`."""
        return self._finish(pb.ReportTrialRequest(trial_id=self.id, failure=message or "failed", final=True))

    def report_intermediate(self, step: int, value: float) -> bool:
        """Reports the objective's value at `step` (an epoch, say); it also counts as a heartbeat.
        Returns True when the sweep's pruner stopped the trial: it is now PRUNED, stop working on
        it (and do not report it). Points logged to `run` so far are flushed first."""
        self._flush_run()
        request = pb.ReportTrialRequest(trial_id=self.id, intermediate=[pb.IntermediateValue(step=step, value=float(value))])
        try:
            response = self.client.experiments.report_trial(request)
        except RPCError as exc:
            if exc.code in (_NOT_FOUND, _FAILED_PRECONDITION):
                self._close()
            raise
        self.proto = response.trial
        if response.prune:
            self.should_prune = True
            self._close()
        return response.prune

    def heartbeat(self) -> None:
        """Keeps the trial alive (the heartbeat thread does this on its own)."""
        self.client.experiments.heartbeat(pb.HeartbeatRequest(trial_id=self.id))

    def _flush_run(self) -> None:
        run = self._run
        if run is not None and not run._ended:
            run.flush()

    def _finish(self, request: pb.ReportTrialRequest) -> TrialInfo:
        flush_error: Optional[BaseException] = None
        run = self._run
        if run is not None and not run._ended:
            try:
                run.flush()
            except BaseException as exc:  # report anyway, then raise it (like Run.end)
                flush_error = exc
        try:
            response = self.client.experiments.report_trial(request)
        except RPCError as exc:
            if exc.code in (_NOT_FOUND, _FAILED_PRECONDITION):
                self._close()
            raise
        self.proto = response.trial
        self._close()
        if flush_error is not None:
            raise flush_error
        return trial_info(response.trial)

    def _close(self) -> None:
        """The trial has ended: stop the heartbeats and the run's sender (the daemon ends the run)."""
        self._ended = True
        self._stop_heartbeat.set()
        run = self._run
        if run is not None:
            try:
                run._detach(timeout=5.0)
            except RPCError:
                pass  # the run ended with the trial: late points are refused

    def _heartbeat_loop(self, interval: float) -> None:
        while not self._stop_heartbeat.wait(interval):
            try:
                self.client.experiments.heartbeat(pb.HeartbeatRequest(trial_id=self.id), timeout=max(interval, 1.0))
            except RPCError as exc:
                if exc.code in (_NOT_FOUND, _FAILED_PRECONDITION):
                    return  # the trial ended (reported, pruned, expired, cancelled): nothing to keep alive
                # anything else (the daemon restarting, a slow answer): try again at the next beat

    def _abandon(self, message: str) -> None:
        """Fails a trial this worker left without a report (so its parallel slot is freed)."""
        if self._ended:
            return
        try:
            self.fail(message)
        except RPCError as exc:
            if exc.code not in (_NOT_FOUND, _FAILED_PRECONDITION):
                print(f"tally: while failing trial {self.id}: {exc}", file=sys.stderr)

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._ended:
            return
        if exc is not None:
            try:
                self.fail(_exception_text(exc_type, exc))
            except Exception as fail_error:  # do not hide the exception that escaped the block
                print(f"tally: while failing trial {self.id}: {fail_error}", file=sys.stderr)
        elif self._heartbeat is not None:
            self._abandon("the trial ended without a report")

    def __repr__(self) -> str:
        return f"<tally.Trial {self.number} of sweep {self.sweep_id} {self.params!r}>"


# ---------------------------------------------------------------------------------------------
# Sweeps


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Sweep:
    """A sweep job: `trials()` hands out trials to evaluate, `wait()`/`results()` waits for its
    end, `cancel()` stops it. Made by `tally.create_sweep` or `tally.get_sweep`."""

    def __init__(self, client: "Client", job: pb.Job) -> None:
        self.client = client
        self.id = job.id
        self._job = job

    @property
    def job(self) -> pb.Job:
        """The job record, fetched anew (`GetJob`): status, progress, config, results."""
        self._job = self.client.experiments.get_job(pb.GetJobRequest(job_id=self.id))
        return self._job

    @property
    def config(self) -> pb.SweepConfig:
        """The sweep's configuration with the daemon's defaults filled in."""
        return self._job.sweep

    @property
    def status(self) -> str:
        """"pending", "running", "completed", "failed" or "cancelled" (fetched anew)."""
        return _JOB_STATUS.get(self.job.status, "unspecified")

    @property
    def heartbeat_timeout(self) -> float:
        """Seconds a running trial may go without a report or heartbeat (default 60)."""
        return (self._job.sweep.heartbeat_timeout_ms or 60_000) / 1000

    def next_trial(self, worker: str = "", *, timeout: Optional[float] = None,
                   heartbeat: bool = True) -> Optional[Trial]:
        """The next trial to evaluate, or None when the sweep will hand out no more. While the
        daemon says to wait (the parallel budget is full, the job is queued), asks again after a
        pause growing to 1 s; `DeadlineExceeded` after `timeout` seconds. `worker` is recorded on
        the trial (default host:pid). With `heartbeat`, a background thread keeps the trial alive
        (every third of the heartbeat timeout) until it is reported."""
        deadline = None if timeout is None else time.monotonic() + timeout
        request = pb.NextTrialRequest(job_id=self.id, worker=worker or default_worker())
        pause = 0.02
        while True:
            response = self.client.experiments.next_trial(request)
            kind = response.WhichOneof("next")
            if kind == "trial":
                interval = self.heartbeat_timeout / 3 if heartbeat else None
                return Trial._from_proto(self.client, self.id, response.trial, interval)
            if kind == "finished":
                return None
            if deadline is not None and time.monotonic() + pause > deadline:
                raise DeadlineExceeded(f"sweep {self.id} handed out no trial within {timeout}s")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def trials(self, worker: str = "") -> Iterator[Trial]:
        """Trials to evaluate until the sweep ends, for a worker loop:

            for trial in sweep.trials():
                with trial:
                    trial.report(train(**trial.params))

        Each trial must be reported (or failed) before the next one is asked for; one that was
        not is failed then ("not reported before the worker asked for the next trial"). Any
        number of threads and processes may run such a loop on the same sweep."""
        previous: Optional[Trial] = None
        while True:
            if previous is not None:
                previous._abandon("not reported before the worker asked for the next trial")
            trial = self.next_trial(worker)
            if trial is None:
                return
            previous = trial
            yield trial

    def wait(self, timeout: Optional[float] = None) -> SweepResults:
        """Waits until the sweep ends (completed, failed or cancelled) and returns its results;
        `DeadlineExceeded` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job
            if job.status in _TERMINAL:
                return sweep_results(job)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceeded(f"sweep {self.id} is still {_JOB_STATUS.get(job.status)} after {timeout}s")
            try:
                self._watch_until_end(deadline)
            except RPCError as exc:
                if exc.code != _UNAVAILABLE:
                    raise
                time.sleep(0.5)  # the daemon is restarting: ask again

    def results(self, timeout: Optional[float] = None) -> SweepResults:
        """The sweep's results (`SweepResults`) once it has ended; waits like `wait()`."""
        return self.wait(timeout)

    def _watch_until_end(self, deadline: Optional[float]) -> None:
        """Follows the job's events until a terminal one, the stream's end or the deadline."""
        stream = self.client.experiments.watch_job(pb.WatchJobRequest(job_id=self.id))
        with cast(ResponseIterator[pb.JobEvent], stream) as events:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                try:
                    event = events.next(remaining)
                except StopIteration:
                    return
                if event is None:
                    continue
                kind = event.WhichOneof("event")
                if kind in ("completed", "failed", "cancelled"):
                    return
                if kind == "snapshot" and event.snapshot.status in _TERMINAL:
                    return

    def cancel(self) -> None:
        """Cancels the sweep: running trials fail, no more are handed out, the job ends CANCELLED."""
        self._job = self.client.experiments.cancel_job(pb.CancelJobRequest(job_id=self.id))

    def __repr__(self) -> str:
        return f"<tally.Sweep {self.id}>"


def get_sweep(client: "Client", job_id: str) -> Sweep:
    job = client.experiments.get_job(pb.GetJobRequest(job_id=job_id))
    if job.kind != "sweep":
        raise InvalidArgument(f"job {job_id} is a {job.kind} job, not a sweep")
    return Sweep(client, job)


# ---------------------------------------------------------------------------------------------
# Trials run by `tally agent`

_AGENT_VARIABLES = ("TALLY_SWEEP_ID", "TALLY_TRIAL_ID", "TALLY_TRIAL_NUMBER", "TALLY_RUN_ID", "TALLY_PARAMS")
_current: Optional[Trial] = None
_current_lock = threading.Lock()


def current_trial(client: "Client") -> Optional[Trial]:
    """The trial `tally agent` started this process for, from its environment variables; None
    when the process was not started by an agent (no `TALLY_TRIAL_ID`). The same object on every
    call. No heartbeat thread: the agent sends the heartbeats."""
    global _current
    trial_id = os.environ.get("TALLY_TRIAL_ID", "")
    if not trial_id:
        if os.environ.get("TALLY_SWEEP_ID"):
            raise RuntimeError("TALLY_SWEEP_ID is set but TALLY_TRIAL_ID is not: run the program with `tally agent`")
        return None
    with _current_lock:
        if _current is not None and _current.id == trial_id:
            return _current
        missing = [name for name in _AGENT_VARIABLES if name not in os.environ]
        if missing:
            raise RuntimeError(f"TALLY_TRIAL_ID is set but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                               "not: run the program with `tally agent`")
        try:
            params = json.loads(os.environ["TALLY_PARAMS"])
            number = int(os.environ["TALLY_TRIAL_NUMBER"])
        except ValueError as exc:
            raise RuntimeError(f"malformed trial environment (TALLY_PARAMS, TALLY_TRIAL_NUMBER): {exc}") from None
        if not isinstance(params, dict):
            raise RuntimeError("TALLY_PARAMS must be a JSON object")
        _current = Trial(client, os.environ["TALLY_SWEEP_ID"], trial_id, number, dict(sorted(params.items())),
                         os.environ["TALLY_RUN_ID"])
        return _current
