"""Cross-validation jobs from Python: `current_fold()` inside a fold's process, and
`cross_validate_command(...)`, which runs a command once per fold (docs/jobs.md)."""
import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from tally import _autostart, _convert, _sweep
from tally._sweep import Trial, TrialInfo
from tally.v1 import experiments_pb2 as pb

if TYPE_CHECKING:
    from tally._api import Client
    from tally._run import Run


class Fold:
    """The fold of a cross-validation this process runs (started by `tally cv`, `tally sweeps
    validate` or `cross_validate_command`): `fold` (0 to `folds` - 1), `params` (the
    configuration's, with `fold` and `folds`), `run` (the fold's tracking run), and `report(...)`
    or `fail(message)` to end it. As a context manager, an exception escaping the block fails the
    fold with the exception's text, as a trial's does."""

    def __init__(self, trial: Trial) -> None:
        self._trial = trial
        self.fold = int(trial.params["fold"])
        self.folds = int(trial.params["folds"])

    @property
    def id(self) -> str:
        return self._trial.id

    @property
    def params(self) -> Dict[str, Any]:
        return self._trial.params

    @property
    def run(self) -> "Run":
        return self._trial.run

    def report(self, test: Mapping[str, float], train: Optional[Mapping[str, float]] = None, *,
               fit_time: float = 0.0, score_time: float = 0.0) -> TrialInfo:
        """Ends the fold with its scores on the test part (`test`, by metric name) and, when
        measured, on the training part (`train`), and the seconds spent fitting and scoring.
        Points logged to `run` are flushed first."""
        if not test:
            raise ValueError("report() needs the fold's test scores, e.g. test={'accuracy': 0.91}")
        scores = pb.FoldScores(test={str(k): float(v) for k, v in test.items()},
                               train={str(k): float(v) for k, v in (train or {}).items()},
                               fit_time=float(fit_time), score_time=float(score_time))
        request = pb.ReportTrialRequest(trial_id=self._trial.id, fold=scores, final=True)
        return self._trial._finish(request)

    def fail(self, message: str) -> TrialInfo:
        """Ends the fold FAILED with `message` (the cross-validation then fails)."""
        return self._trial.fail(message)

    def __enter__(self) -> "Fold":
        self._trial.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._trial.__exit__(exc_type, exc, tb)


def current_fold(client: "Client") -> Optional[Fold]:
    """The fold this process was started for, or None outside a cross-validation (no
    `TALLY_FOLD`)."""
    if not os.environ.get("TALLY_FOLD"):
        return None
    trial = _sweep.current_trial(client)
    if trial is None or "fold" not in trial.params or "folds" not in trial.params:
        raise RuntimeError("TALLY_FOLD is set but this is not a cross-validation's fold: run the program with `tally cv`")
    return Fold(trial)


@dataclass
class MetricFolds:
    """One metric over the folds: the scores per fold (in fold order) and their statistics
    (`test` and, when reported, `train`)."""

    metric: str
    test_scores: List[float]
    train_scores: List[float]
    test: _sweep.CrossValidation
    train: Optional[_sweep.CrossValidation]


@dataclass
class CrossValidationResults:
    """The outcome of a cross-validation job. `status` is the job's ("completed", "failed",
    "cancelled"), with `error` when it did not complete; `metrics` by name, in the job's order."""

    job_id: str
    status: str
    error: str
    metrics: Dict[str, MetricFolds]
    mean_fit_time: float
    mean_score_time: float
    duration: float  # seconds
    parent_run_id: str
    folds: List[TrialInfo] = field(default_factory=list)


def results(job: pb.Job) -> CrossValidationResults:
    r = job.results.cross_validation
    metrics = {}
    for m in r.metrics:
        metrics[m.metric] = MetricFolds(
            m.metric, list(m.test), list(m.train), _sweep.cross_validation(m.test_summary),
            _sweep.cross_validation(m.train_summary) if m.HasField("train_summary") else None)
    return CrossValidationResults(
        job_id=job.id, status=_sweep._JOB_STATUS.get(job.status, str(job.status)), error=job.error, metrics=metrics,
        mean_fit_time=r.mean_fit_time, mean_score_time=r.mean_score_time, duration=r.duration_ms / 1000,
        parent_run_id=r.parent_run_id, folds=[_sweep.trial_info(t) for t in r.folds])


def cross_validate_command(client: "Client", command: Sequence[str], *, folds: int = 5, metrics: Sequence[str] = (),
                           maximize: bool = False, params: Optional[Mapping[str, Any]] = None, parallel: int = 1,
                           experiment: str = "", name: str = "", retries: int = 0,
                           timeout: Optional[float] = None) -> CrossValidationResults:
    """Creates a cross-validation job and runs `command` once per fold (as `tally cv` does,
    through the `tally` binary), then returns the results."""
    if not command:
        raise ValueError("give the command to run per fold, e.g. ['python', 'fit.py']")
    config = pb.CrossValidationConfig(folds=folds, metrics=list(metrics), maximize=maximize, max_parallel=parallel,
                                      experiment=experiment, name=name, retries=retries)
    for key, value in _convert.flatten_params(params or {}).items():
        config.params[key].CopyFrom(_convert.param_value(value))
    job = client.experiments.create_job(pb.CreateJobRequest(cross_validation=config))
    binary = _autostart.executable()
    if binary is None:
        raise RuntimeError("the tally binary was not found (install the platform wheel, put tally on PATH, "
                           "or set TALLY_EXECUTABLE)")
    channel = client.channel
    if channel.address.remote:  # the agent and its children reach the daemon as this client does
        env = dict(os.environ, TALLY_URL=channel.address.url)
        if channel.token:
            env["TALLY_TOKEN"] = channel.token
        if channel.ca:
            env["TALLY_CA"] = channel.ca
        where: List[str] = []
    else:
        env = dict(os.environ, TALLY_SOCKET=channel.socket_path)
        env.pop("TALLY_URL", None)
        where = ["--socket", channel.socket_path]
    subprocess.run([binary, "agent", job.id, "--parallel", str(parallel), *where, "--", *command], env=env,
                   check=False, timeout=timeout)
    ended = client.experiments.get_job(pb.GetJobRequest(job_id=job.id))
    for _ in range(100):  # the end is recorded just after the last fold's report
        if ended.status not in (pb.JOB_STATUS_PENDING, pb.JOB_STATUS_RUNNING):
            break
        time.sleep(0.1)
        ended = client.experiments.get_job(pb.GetJobRequest(job_id=job.id))
    return results(ended)


__all__: Tuple[str, ...] = ("Fold", "current_fold", "cross_validate_command", "CrossValidationResults", "MetricFolds")
