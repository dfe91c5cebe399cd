"""`Client` (stubs plus the high-level calls) and the module-level functions on a default client."""

import hashlib
import os
import re
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union, cast

from tally import _convert, _cv, _folders, _jobs, _journal, _media, _names, _sweep
from tally._convert import Comparison, History, HistoryDict, RunInfo, RunList, WatchEvent
from tally._jobs import JobWatcher
from tally._run import Run, _open_runs, new_id
from tally._sweep import CrossValidation, SpecLike, Sweep, Trial
from tally._address import ConnectionInfo
from tally._protocol import Condition
from tally._transport import Channel, ResponseIterator
from tally.errors import DataLoss, InvalidArgument, NotFound, RPCError
from tally._services import stub_classes
from tally.v1 import experiments_pb2, experiments_tally, system_pb2, system_tally, tracking_pb2, tracking_tally

_ID = re.compile(r"[0-9a-f]{16}")  # the shape of run ids

PathLike = Union[str, "os.PathLike[str]"]


class RunWatcher:
    """Live events of a run (`tally.watch_run`): iterate it; it ends after the run ends (the last
    event has kind "status"). `close()`, or leaving a `with` block, stops watching."""

    def __init__(self, responses: ResponseIterator[tracking_pb2.RunEvent]) -> None:
        self._responses = responses

    def __iter__(self) -> "RunWatcher":
        return self

    def __next__(self) -> WatchEvent:
        return _convert.watch_event(next(self._responses))

    def next(self, timeout: Optional[float] = None) -> Optional[WatchEvent]:
        """The next event, or None when none arrived within `timeout` seconds; StopIteration at the end."""
        event = self._responses.next(timeout)
        return None if event is None else _convert.watch_event(event)

    def close(self) -> None:
        self._responses.close()

    def __enter__(self) -> "RunWatcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _misconfigured(error: RPCError) -> bool:
    """Whether a connect failed for a setting to fix rather than an outage: the daemon's TLS
    certificate was refused (UNAVAILABLE, as the other clients say it). A run does not start
    offline then: its points would wait in the journal for a fix nobody knows is needed."""
    return getattr(error, "condition", None) is Condition.TLS_CERTIFICATE_REFUSED


class Client:
    """Typed stubs of every service (`system`, `diagnostics`, `tracking`, `experiments`) on one `Channel`, and
    the high-level calls. `tally.connect()` makes one; the module-level functions use a default
    client per process."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        # Runs started here whose start is not answered yet: every other call waits for them
        # first, so that it sees them (read your writes; docs/decisions.md).
        self._starting: Dict[str, Run] = {}
        channel._before_call = self._settle_starts
        self.system = system_tally.SystemStub(channel)
        self.diagnostics = system_tally.DiagnosticsStub(channel)
        self.tracking = tracking_tally.TrackingStub(channel)
        self.experiments = experiments_tally.ExperimentsStub(channel)
        for attribute, stub in stub_classes(asynchronous=False).items():
            if not hasattr(self, attribute):  # services added to proto/ later
                setattr(self, attribute, stub(channel))

    def close(self) -> None:
        self.channel.close()

    def _settle_starts(self) -> None:
        if self._starting:
            for run in list(self._starting.values()):
                run._wait_started()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def info(self) -> system_pb2.InfoResponse:
        """The daemon's version, pid and paths."""
        return self.system.info(system_pb2.InfoRequest())

    def whoami(self) -> ConnectionInfo:
        """Who the daemon takes this client for (`user`, `role`: the token's name and role on
        TCP), over what (`transport`: "unix", "tls" or "tcp"; `peer_subject`: the subject of the
        daemon's TLS certificate); connects if needed."""
        return self.channel.whoami()

    # -- runs ----------------------------------------------------------------------------------

    def start_run(self, experiment: str = "default", *, name: str = "", params: Optional[Mapping[str, Any]] = None,
                  tags: Union[Mapping[str, Any], Iterable[str], None] = None, parent: Union[Run, str, None] = None,
                  capture_env: Optional[bool] = None, capture_diff: bool = False,
                  system_metrics: Optional[bool] = None, system_metrics_interval: float = 10.0, **options: Any) -> Run:
        """Starts a run in `experiment` (created when missing) and returns it; see `tally.start_run`.
        Returns at once: the run's id is made here, and its start travels on the run's stream
        with its first points (the daemon's refusal of it is raised by the next `log`, `flush` or
        `end`). When the daemon cannot be reached, the run starts offline: its start goes to its
        journal with everything logged, to be delivered later. `capture_env` and `system_metrics`
        default to True, except for a run nested under a run open in this process (that run
        has them)."""
        run_id = new_id()  # made here, so that sending the start again (from the journal) is idempotent
        request = tracking_pb2.StartRunRequest(
            experiment=tracking_pb2.ExperimentRef(name=experiment), create_experiment=True,
            name=name or _names.run_name(run_id),  # the name the daemon would give it, known at once
            tags=_convert.tag_map(tags), parent_run_id=parent.id if isinstance(parent, Run) else (parent or ""),
            run_id=run_id)
        for key, value in _convert.flatten_params(params or {}).items():
            request.params[key].CopyFrom(_convert.param_value(value))
        parent_run = parent if isinstance(parent, Run) else _open_runs.get(parent or "")
        if parent_run is not None:
            parent_run._wait_started()  # the parent's start commits first
        options.update(capture_env=parent_run is None if capture_env is None else capture_env, capture_diff=capture_diff,
                       system_metrics=parent_run is None if system_metrics is None else system_metrics,
                       system_metrics_interval=system_metrics_interval)
        record = tracking_pb2.Run(id=request.run_id, name=request.name, tags=request.tags, parent_run_id=request.parent_run_id,
                                  status=tracking_pb2.RUN_STATUS_RUNNING)
        try:
            self.channel.connection()  # starts a daemon when none answers (`TALLY_AUTOSTART` permitting)
        except RPCError as exc:
            if not _journal.may_clear(exc) or _misconfigured(exc):
                raise
            self._no_more_autostart()
            return Run(self, record, _start=request, _offline=True, **options)
        return Run(self, record, _start=request, **options)

    def resume_run(self, run_id: str, *, system_metrics: bool = True, system_metrics_interval: float = 10.0,
                   **options: Any) -> Run:
        """Reopens a run (completed, failed, killed or crashed: it is running again; a running
        run is taken as it is) and returns a `Run` to log more to it: automatic steps continue
        after the stored ones. When the daemon cannot be reached, the reopening is journalled and
        sent later; until then `log` needs explicit steps."""
        options.update(system_metrics=system_metrics, system_metrics_interval=system_metrics_interval)
        try:
            run_id = self.run_id(run_id)
            record = self.tracking.resume_run(tracking_pb2.ResumeRunRequest(run_id=run_id))
        except RPCError as exc:
            if _journal.may_clear(exc) and not _misconfigured(exc):
                self._no_more_autostart()
                return Run(self, tracking_pb2.Run(id=run_id, status=tracking_pb2.RUN_STATUS_RUNNING),
                           _resume=tracking_pb2.ResumeRunRequest(run_id=run_id), **options)
            if exc.code not in (9, 12):  # FAILED_PRECONDITION (running already?), UNIMPLEMENTED (an older daemon)
                raise
            record = self.tracking.get_run(tracking_pb2.GetRunRequest(run_id=run_id))
            if exc.code == 9 and record.status != tracking_pb2.RUN_STATUS_RUNNING:
                raise
        return Run(self, record, **options)

    def _no_more_autostart(self) -> None:
        # Starting a daemon was tried (or is off) for this client's first connection: the
        # retries of a run that goes on offline must not start one each time (docs/decisions.md).
        if hasattr(self.channel, "_connected"):
            self.channel._connected = True

    def get_run(self, run_id: str) -> RunInfo:
        """The run `run_id`: its id, or "EXPERIMENT/RUN_NAME" (see `run_id`)."""
        return _convert.run_info(self.tracking.get_run(tracking_pb2.GetRunRequest(run_id=self.run_id(run_id))))

    def run_id(self, ref: str) -> str:
        """The id of the run `ref` names: a run id as it is, or "EXPERIMENT/RUN_NAME" (the
        experiment by name or id; an experiment name holding "/" works too). Raises `NotFound`
        when no run has that name there, `InvalidArgument` listing the runs when several do."""
        if _ID.fullmatch(ref) or "/" not in ref:
            return ref
        last: Optional[RPCError] = None
        cut = 0
        while (slash := ref.find("/", cut)) >= 0:
            experiment, name = ref[:slash], ref[slash + 1:]
            cut = slash + 1
            if not experiment or not name:
                continue
            experiment_id = ""
            for candidate in ([tracking_pb2.ExperimentRef(id=experiment)] if _ID.fullmatch(experiment) else []) + [
                    tracking_pb2.ExperimentRef(name=experiment)]:
                try:
                    experiment_id = self.tracking.get_experiment(tracking_pb2.GetExperimentRequest(experiment=candidate)).id
                    break
                except RPCError as exc:
                    if exc.code != 5:
                        raise
                    last = exc
            if not experiment_id:
                continue
            quoted = name.replace("\\", "\\\\").replace('"', '\\"')
            found = self.tracking.search_runs(tracking_pb2.SearchRunsRequest(
                experiment_ids=[experiment_id], filter=f'name = "{quoted}"', order_by=["started_at desc"], page_size=20))
            if not found.runs:
                raise NotFound(f'no run named "{name}" in experiment {experiment}')
            if len(found.runs) > 1:
                listed = ", ".join(r.id for r in found.runs)
                raise InvalidArgument(f'{found.total_count} runs are named "{name}" in experiment {experiment}: {listed}; '
                                      "give the run's id")
            return str(found.runs[0].id)
        if last is not None:
            raise last
        raise InvalidArgument(f'"{ref}" is neither a run id nor EXPERIMENT/RUN_NAME')

    def list_experiments(self, *, name: str = "", tags: Union[Mapping[str, Any], Iterable[str], None] = None,
                         created_after: Optional[_convert.TimeLike] = None,
                         created_before: Optional[_convert.TimeLike] = None,
                         updated_after: Optional[_convert.TimeLike] = None,
                         updated_before: Optional[_convert.TimeLike] = None,
                         max_results: Optional[int] = None) -> List[tracking_pb2.Experiment]:
        """Experiments, newest first: whose name contains `name`, with all of `tags` (labels, or
        key=value pairs), created or updated within the bounds (lower bounds inclusive; times as
        `search_runs` takes them); every page, up to `max_results`."""
        def ms(value: Optional[_convert.TimeLike], field: str) -> int:
            return 0 if value is None else _convert.time_bound_ms(value, field)
        request = tracking_pb2.ListExperimentsRequest(
            name_contains=name, tags_all=[k if not v else f"{k}={v}" for k, v in _convert.tag_map(tags).items()],
            created_after_ms=ms(created_after, "created_after"), created_before_ms=ms(created_before, "created_before"),
            updated_after_ms=ms(updated_after, "updated_after"), updated_before_ms=ms(updated_before, "updated_before"),
            page_size=500)
        out: List[tracking_pb2.Experiment] = []
        while True:
            response = self.tracking.list_experiments(request)
            out.extend(response.experiments)
            if not response.next_page_token or (max_results is not None and len(out) >= max_results):
                return out if max_results is None else out[:max_results]
            request.page_token = response.next_page_token

    def _experiment_ids(self, experiments: Union[str, Iterable[str], None]) -> List[str]:
        if experiments is None:
            return []
        names = [experiments] if isinstance(experiments, str) else list(experiments)
        ids = []
        for name in names:
            ref = tracking_pb2.ExperimentRef(name=name)
            try:
                ids.append(self.tracking.get_experiment(tracking_pb2.GetExperimentRequest(experiment=ref)).id)
            except RPCError as exc:
                if exc.code != 5:
                    raise
                ids.append(name)  # maybe an id; the daemon says NOT_FOUND otherwise
        return ids

    def search_runs(self, filter: str = "", *, experiments: Union[str, Iterable[str], None] = None,
                    order_by: Union[str, Iterable[str], None] = None, max_results: Optional[int] = None,
                    page_size: int = 500, started_after: Optional[_convert.TimeLike] = None,
                    started_before: Optional[_convert.TimeLike] = None) -> RunList:
        """Runs matching `filter` (docs/filter.md) in `experiments` (names or ids; default all),
        with params and metric aggregates, in `order_by` order; every page, up to `max_results`.
        `started_after` (inclusive) and `started_before` bound the start time: a datetime, a
        date, a timedelta or "7d" (that long ago), an ISO 8601 string, or epoch seconds."""
        bounds = []
        if started_after is not None:
            bounds.append(f"started_at >= {_convert.time_bound_ms(started_after, 'started_after')}")
        if started_before is not None:
            bounds.append(f"started_at < {_convert.time_bound_ms(started_before, 'started_before')}")
        user_filter = filter
        if bounds:
            filter = " and ".join(([f"({filter})"] if filter.strip() else []) + bounds)
        request = tracking_pb2.SearchRunsRequest(
            experiment_ids=self._experiment_ids(experiments), filter=filter,
            order_by=[order_by] if isinstance(order_by, str) else list(order_by or []), page_size=page_size)
        out = RunList()
        while True:
            try:
                response = self.tracking.search_runs(request)
            except RPCError as exc:
                if not bounds or exc.code != 3 or not user_filter.strip():
                    raise
                # Refused with the bounds added: the caller's filter alone gives the error with
                # the position in the caller's text.
                self.tracking.search_runs(tracking_pb2.SearchRunsRequest(filter=user_filter, page_size=1))
                raise
            out.extend(_convert.run_info(r) for r in response.runs)
            if not response.next_page_token or (max_results is not None and len(out) >= max_results):
                return out if max_results is None else RunList(out[:max_results])
            request.page_token = response.next_page_token

    def history(self, run_id: str, keys: Optional[Iterable[str]] = None, *, max_points: int = 0,
                min_step: int = 0, max_step: int = 0) -> HistoryDict:
        """Stored points per key (every key when `keys` is None), downsampled to about
        `max_points` per key by min/max buckets when that is not 0; `to_pandas()` on the result
        gives a long frame (key, step, value, timestamp)."""
        request = tracking_pb2.GetMetricHistoryRequest(
            run_id=self.run_id(run_id), keys=list(keys or []), max_points=max_points, min_step=min_step, max_step=max_step)
        out = HistoryDict()
        with cast(ResponseIterator[tracking_pb2.MetricHistoryChunk], self.tracking.get_metric_history(request)) as chunks:
            for chunk in chunks:
                h = out.get(chunk.key)
                if h is None:
                    h = out[chunk.key] = History(chunk.key, [], [], [], chunk.total_points, chunk.downsampled)
                h.steps.extend(chunk.steps)
                h.values.extend(chunk.values)
                h.timestamps_ms.extend(chunk.timestamps_ms)
        return out

    def compare(self, runs: Iterable[Union[str, Run, RunInfo]] = (), *,
                experiments: Union[str, Iterable[str], None] = None) -> Comparison:
        """Params side by side and the best and worst run per metric, for `runs` and every run
        of `experiments`."""
        request = tracking_pb2.CompareRunsRequest(
            run_ids=[self.run_id(r) if isinstance(r, str) else r.id for r in runs],
            experiment_ids=self._experiment_ids(experiments))
        return _convert.comparison(self.tracking.compare_runs(request))

    def watch_run(self, run_id: str, *, include_history: bool = False, timeout: Optional[float] = None) -> RunWatcher:
        """Live events of a run: a snapshot, then new points, params and status changes."""
        request = tracking_pb2.WatchRunRequest(run_id=self.run_id(run_id), include_history=include_history)
        return RunWatcher(cast(ResponseIterator[tracking_pb2.RunEvent], self.tracking.watch_run(request, timeout=timeout)))

    def images(self, run: Union[Run, RunInfo, str], key: str) -> List[_media.Image]:
        """The images a run logged under `key` (`Run.log_image`), in step order."""
        return _media.images(self, run if isinstance(run, str) else run.id, key)

    def table(self, run: Union[Run, RunInfo, str], key: str, step: Optional[int] = None, *,
              as_pandas: bool = False) -> Any:
        """A table a run logged under `key` (`Run.log_table`) at `step` (default: its highest),
        as a list of dicts or, with `as_pandas=True`, a DataFrame."""
        return _media.table(self, run if isinstance(run, str) else run.id, key, step, as_pandas=as_pandas)

    # -- jobs ----------------------------------------------------------------------------------

    def watch_job(self, job_id: str, *, item_results: bool = False) -> JobWatcher:
        """An iterator of a job's events (`JobEvent`) from a snapshot to its final event,
        resuming after a daemon restart; see `tally.watch_job`."""
        return _jobs.watch_job(self, job_id, item_results=item_results)

    def watch_jobs(self, kind: Optional[str] = None, *, item_results: bool = False) -> JobWatcher:
        """An iterator of every job's events (of `kind` only, when given) until `close()`; see `tally.watch_jobs`."""
        return _jobs.watch_jobs(self, kind, item_results=item_results)

    # -- sweeps --------------------------------------------------------------------------------

    def create_sweep(self, params: Optional[Mapping[str, SpecLike]] = None, *, method: Optional[str] = None,
                     objective: str = "score",
                     direction: str = "minimize", max_trials: int = 0, max_parallel: int = 1,
                     time_limit: Optional[float] = None, seed: int = 0, startup_trials: Optional[int] = None,
                     fixed: Optional[Mapping[str, Any]] = None, pruner: Union[bool, Mapping[str, int]] = False,
                     heartbeat_timeout: Optional[float] = None, experiment: str = "", retries: int = 0,
                     retry_backoff: Optional[float] = None, preset: str = "") -> Sweep:
        """Creates a sweep job and returns it; see `tally.create_sweep`."""
        config = _sweep.sweep_config(
            params or {}, method=method, objective=objective, direction=direction, max_trials=max_trials,
            max_parallel=max_parallel, time_limit=time_limit, seed=seed, startup_trials=startup_trials,
            fixed=fixed, pruner=pruner, heartbeat_timeout=heartbeat_timeout, experiment=experiment,
            retries=retries, retry_backoff=retry_backoff, preset=preset)
        return Sweep(self, self.experiments.create_job(experiments_pb2.CreateJobRequest(sweep=config)))

    def get_sweep(self, job_id: str) -> Sweep:
        """The sweep job `job_id` (`InvalidArgument` for a job of another kind)."""
        return _sweep.get_sweep(self, job_id)

    def cross_validate(self, scores: Iterable[float], fit_times: Optional[Iterable[float]] = None,
                       score_times: Optional[Iterable[float]] = None) -> CrossValidation:
        """Statistics of fold scores computed by the daemon: mean, sample std, median, extremes and
        Student's t intervals of the mean at 95% and 99%."""
        request = experiments_pb2.CrossValidateRequest(
            scores=[float(s) for s in scores], fit_times=[float(t) for t in fit_times or ()],
            score_times=[float(t) for t in score_times or ()])
        return _sweep.cross_validation(self.experiments.cross_validate(request))

    # -- artifacts -----------------------------------------------------------------------------

    def download_artifact(self, path: PathLike, artifact_id: str = "", *, experiment: str = "", name: str = "",
                          version: int = 0, alias: str = "", run: Union[Run, RunInfo, str, None] = None,
                          replace: bool = False) -> tracking_pb2.Artifact:
        """Downloads an artifact version to `path` (a folder, or a path ending with "/", gets the
        artifact's base name; missing folders are created) and checks its SHA-256 and size; the
        file appears only once verified (else `DataLoss`). A folder version is restored as a
        folder the same way, every file checked before the folder is renamed into place; an
        existing path is replaced only with `replace=True` (else `FileExistsError`). The version:
        `artifact_id`, or `name` with `version`, `alias` or neither (the latest) in `experiment`
        or among those `run` logged."""
        run_id = self.run_id(run) if isinstance(run, str) else (run.id if run is not None else "")
        ref = tracking_pb2.ArtifactRef(artifact_id=artifact_id, name=name, version=version, alias=alias, run_id=run_id)
        if experiment:
            ref.experiment_id = self._experiment_ids(experiment)[0]
        target = os.fspath(path)
        digest = hashlib.sha256()
        size = 0
        record: Optional[tracking_pb2.Artifact] = None
        tmp = None
        f = None
        folder: Optional[_folders.FolderDownload] = None
        try:
            download = self.tracking.download_artifact(tracking_pb2.DownloadArtifactRequest(artifact=ref))
            with cast(ResponseIterator[tracking_pb2.DownloadArtifactResponse], download) as parts:
                for part in parts:
                    if part.HasField("artifact"):
                        record = part.artifact
                        if os.path.isdir(target) or target.endswith(("/", os.sep)):
                            os.makedirs(target, exist_ok=True)
                            target = os.path.join(target, os.path.basename(record.name))
                        elif os.path.dirname(target):
                            os.makedirs(os.path.dirname(target), exist_ok=True)
                        if record.folder:
                            folder = _folders.FolderDownload(record, target, replace)
                        else:
                            tmp = f"{target}.tally-{os.getpid()}-{threading.get_ident()}.part"
                            f = open(tmp, "wb")
                    elif part.HasField("file"):
                        if folder is None:
                            raise DataLoss("the daemon sent a file part for an artifact that is not a folder")
                        folder.start(part.file)
                    elif folder is not None:
                        folder.write(part.chunk)
                    elif f is not None:
                        digest.update(part.chunk)
                        size += len(part.chunk)
                        f.write(part.chunk)
            if record is not None and folder is not None:
                folder.finish()
                folder = None
                return record
            if record is None or f is None:
                raise DataLoss("the daemon sent no artifact record")
            f.close()
            if digest.hexdigest() != record.sha256 or size != record.size:
                raise DataLoss(f"artifact {record.id} arrived with SHA-256 {digest.hexdigest()} and {size} bytes; "
                               f"expected {record.sha256} and {record.size} bytes")
            os.replace(tmp, target)  # type: ignore[arg-type]
            tmp = None
            return record
        finally:
            if folder is not None:
                folder.discard()
            if f is not None and not f.closed:
                f.close()
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)


_default: Optional[Client] = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process's shared client (one connection, reopened after fork or a daemon restart)."""
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Client(Channel())
            client = _default
    return client


def connect(socket: Optional[str] = None, *, url: Optional[str] = None, token: Optional[str] = None,
            ca: Optional[str] = None, **options: Any) -> Client:
    """A new `Client` for the daemon at `url` or `socket` (default `$TALLY_URL`, else
    `$TALLY_SOCKET`, else the daemon's default path). A URL is `unix:///path/tally.sock`,
    `tally+tls://HOST:PORT` or `tally+tcp://HOST:PORT` (plaintext, loopback only); `socket` may
    hold one too. `token` (else `$TALLY_TOKEN`) is the access token a TCP daemon requires; `ca`
    (else `$TALLY_CA`) the CA file to trust for TLS instead of the system's roots. The
    connection opens on the first call; `Unavailable` names the socket or URL (and, for a
    socket, the command to start the daemon) when nothing listens there."""
    return Client(Channel(socket, url=url, token=token, ca=ca, **options))


def start_run(experiment: str = "default", *, name: str = "", params: Optional[Mapping[str, Any]] = None,
              tags: Union[Mapping[str, Any], Iterable[str], None] = None, parent: Union[Run, str, None] = None,
              client: Optional[Client] = None, capture_env: Optional[bool] = None, capture_diff: bool = False,
              system_metrics: Optional[bool] = None, system_metrics_interval: float = 10.0, **options: Any) -> Run:
    """Starts a run in `experiment` (created when missing). Use it in a `with` block: leaving it
    flushes and ends the run `completed`, or `failed` with the exception's text.

    `params` may nest (flattened with "."), `tags` is a mapping or a list of labels, `parent` a
    run (or run id) this one is nested under. `capture_env` records the environment as `env.`
    params (command, folder, Python, host, user, git commit, branch and dirtiness, a hash of the
    installed packages, GPUs) and the package list as the artifact `env/packages.txt`;
    `capture_diff=True` adds the uncommitted diff as `env/git.diff`. `system_metrics` logs CPU,
    memory, disk, network and GPU use as `sys/` series every `system_metrics_interval` seconds
    (docs/python-data.md). Both are on by default, except for a run nested under a run open in
    this process (that run has them). Options: `flush_interval` (0.1 s),
    `batch_points` (20,000), `max_buffered_points` (1,000,000), `retry_timeout` (10 s: the
    longest a batch waits unacknowledged in memory before it goes to the journal),
    `heartbeat_interval` (15 s; 0 or None: none).

    When the daemon cannot be reached, the run starts offline and everything logged goes to its
    journal, delivered when the daemon is back (see the README)."""
    return (client or default_client()).start_run(experiment, name=name, params=params, tags=tags, parent=parent,
                                                  capture_env=capture_env, capture_diff=capture_diff,
                                                  system_metrics=system_metrics,
                                                  system_metrics_interval=system_metrics_interval, **options)


def resume_run(run_id: str, *, client: Optional[Client] = None, **options: Any) -> Run:
    """Reopens a run (completed, failed, killed or crashed) and returns it to log more to it;
    automatic steps continue after the stored ones. Takes the options of `start_run`."""
    return (client or default_client()).resume_run(run_id, **options)


def get_run(run_id: str, *, client: Optional[Client] = None) -> RunInfo:
    """A run with its params, tags, metric aggregates and artifacts. `run_id` is a run's id or
    "EXPERIMENT/RUN_NAME", as every function taking a run does (`Client.run_id`). Like every
    module function, it uses `client` when given, else the default client."""
    return (client or default_client()).get_run(run_id)


def search_runs(filter: str = "", *, experiments: Union[str, Iterable[str], None] = None,
                order_by: Union[str, Iterable[str], None] = None, max_results: Optional[int] = None,
                started_after: Optional[_convert.TimeLike] = None,
                started_before: Optional[_convert.TimeLike] = None, client: Optional[Client] = None) -> RunList:
    """Runs matching a filter expression such as `params.lr < 0.01 and metrics.acc.max > 0.9`,
    started within the bounds (see `Client.search_runs`): a list of `RunInfo` whose
    `to_pandas()` gives one row per run."""
    return (client or default_client()).search_runs(filter, experiments=experiments, order_by=order_by, max_results=max_results,
                                        started_after=started_after, started_before=started_before)


def list_experiments(*, name: str = "", tags: Union[Mapping[str, Any], Iterable[str], None] = None,
                     created_after: Optional[_convert.TimeLike] = None, created_before: Optional[_convert.TimeLike] = None,
                     updated_after: Optional[_convert.TimeLike] = None, updated_before: Optional[_convert.TimeLike] = None,
                     max_results: Optional[int] = None, client: Optional[Client] = None) -> List[tracking_pb2.Experiment]:
    """Experiments, newest first, filtered by name, tags and creation and update times (see
    `Client.list_experiments`)."""
    return (client or default_client()).list_experiments(name=name, tags=tags, created_after=created_after,
                                             created_before=created_before, updated_after=updated_after,
                                             updated_before=updated_before, max_results=max_results)


def compare(runs: Iterable[Union[str, Run, RunInfo]] = (), *, experiments: Union[str, Iterable[str], None] = None,
            client: Optional[Client] = None) -> Comparison:
    """Params side by side and the best and worst run per metric."""
    return (client or default_client()).compare(runs, experiments=experiments)


def watch_run(run_id: str, *, include_history: bool = False, timeout: Optional[float] = None,
              client: Optional[Client] = None) -> RunWatcher:
    """An iterator of a run's live events (`WatchEvent`), ending after the run ends."""
    return (client or default_client()).watch_run(run_id, include_history=include_history, timeout=timeout)


def download_artifact(path: PathLike, artifact_id: str = "", *, experiment: str = "", name: str = "",
                      version: int = 0, alias: str = "", run: Union[Run, RunInfo, str, None] = None,
                      replace: bool = False, client: Optional[Client] = None) -> tracking_pb2.Artifact:
    """Downloads and verifies an artifact version (by id, or by name and version or alias in an
    experiment or among a run's); a folder version is restored as a folder."""
    return (client or default_client()).download_artifact(path, artifact_id, experiment=experiment, name=name,
                                                          version=version, alias=alias, run=run, replace=replace)


def history(run_id: str, keys: Optional[Iterable[str]] = None, *, max_points: int = 0,
            client: Optional[Client] = None) -> HistoryDict:
    """A run's stored metric history per key (`History`); `to_pandas()` on the result gives a
    long frame: key, step, value, timestamp."""
    return (client or default_client()).history(run_id, keys, max_points=max_points)


def images(run: Union[Run, RunInfo, str], key: str, *, client: Optional[Client] = None) -> List[_media.Image]:
    """The images a run logged under `key` (`Run.log_image`), in step order: step, artifact id, size."""
    return (client or default_client()).images(run, key)


def table(run: Union[Run, RunInfo, str], key: str, step: Optional[int] = None, *, as_pandas: bool = False,
          client: Optional[Client] = None) -> Any:
    """A table a run logged under `key` (`Run.log_table`) at `step` (default: its highest), as a
    list of dicts or, with `as_pandas=True`, a pandas DataFrame."""
    return (client or default_client()).table(run, key, step, as_pandas=as_pandas)


def watch_job(job_id: str, *, item_results: bool = False, client: Optional[Client] = None) -> JobWatcher:
    """An iterator of a job's events (`JobEvent`: kind, progress, item result, trial, final
    status), from a snapshot to its final event ("completed", "failed" or "cancelled"). When
    the connection breaks (the daemon restarts) it subscribes again from the last event it saw
    (`from_seq`), as `tally watch job` does. `item_results=True` adds an event per finished item."""
    return (client or default_client()).watch_job(job_id, item_results=item_results)


def watch_jobs(kind: Optional[str] = None, *, item_results: bool = False, client: Optional[Client] = None) -> JobWatcher:
    """An iterator of every job's events (only `kind`'s, e.g. "sweep", when given): snapshots of
    the jobs pending or running, then each event as it happens, until `close()`; resumes after
    a daemon restart like `watch_job`."""
    return (client or default_client()).watch_jobs(kind, item_results=item_results)


def create_sweep(params: Optional[Mapping[str, SpecLike]] = None, *, method: Optional[str] = None,
                 objective: str = "score",
                 direction: str = "minimize", max_trials: int = 0, max_parallel: int = 1,
                 time_limit: Optional[float] = None, seed: int = 0, startup_trials: Optional[int] = None,
                 fixed: Optional[Mapping[str, Any]] = None, pruner: Union[bool, Mapping[str, int]] = False,
                 heartbeat_timeout: Optional[float] = None, experiment: str = "", retries: int = 0,
                 retry_backoff: Optional[float] = None, preset: str = "", client: Optional[Client] = None) -> Sweep:
    """Creates a hyperparameter sweep (a job of the daemon, which chooses the trials) and returns it.

    `params` maps each searched name to its domain: a list or tuple of values (categorical), or
    `tally.choice([...])`, `tally.int_range(low, high, step=1, log=False)`,
    `tally.uniform(low, high, step=0, log=False)`, `tally.loguniform(low, high)`. `method` is
    "grid" (every combination, the default), "random" or "bayesian" (TPE after `startup_trials`
    random trials, default 10); `objective` names the metric the score is logged as, minimized
    or maximized (`direction`). `max_trials` counts trials started (0: the grid's size; random and
    bayesian need it or `time_limit`, in seconds); `max_parallel` trials run at once; `fixed`
    params are copied into every trial; `pruner` is True or {"min_trials": 5, "warmup_steps": 0}
    for median pruning; a running trial without a report or heartbeat for `heartbeat_timeout`
    seconds (default 60) fails; the trials' runs go to `experiment` (default "sweep-<id>"). A
    failed trial is tried again with the same params up to `retries` times (default 0),
    `retry_backoff` seconds after its failure (default 1, doubling). A sweep in which no trial
    completed ends "failed" with the first failure's reason. `preset` names a search space for a
    model family ("random-forest", "gradient-boosting", "logistic-regression", "svm", "mlp",
    "xgboost"; docs/sweeps.md), used with or instead of `params` (a param given replaces the
    preset's); with a preset the method defaults to "random"."""
    return (client or default_client()).create_sweep(
        params, method=method, objective=objective, direction=direction, max_trials=max_trials,
        max_parallel=max_parallel, time_limit=time_limit, seed=seed, startup_trials=startup_trials, fixed=fixed,
        pruner=pruner, heartbeat_timeout=heartbeat_timeout, experiment=experiment, retries=retries,
        retry_backoff=retry_backoff, preset=preset)


def get_sweep(job_id: str, *, client: Optional[Client] = None) -> Sweep:
    """The sweep job `job_id`, e.g. to run more workers on it or wait for its results."""
    return (client or default_client()).get_sweep(job_id)


def cross_validate(scores: Iterable[float], fit_times: Optional[Iterable[float]] = None,
                   score_times: Optional[Iterable[float]] = None, *, client: Optional[Client] = None) -> CrossValidation:
    """Statistics of cross-validation fold scores (`CrossValidation`: n, mean, std, median, min,
    max, Student's t intervals `ci95` and `ci99`, None for a single score)."""
    return (client or default_client()).cross_validate(scores, fit_times, score_times)


def current_trial(*, client: Optional[Client] = None) -> Optional[Trial]:
    """The sweep trial this process was started for by `tally agent` (from `TALLY_TRIAL_ID`,
    `TALLY_PARAMS`, …), or None when it was not started by an agent. The agent sends the
    heartbeats; report the score with `trial.report(score)` or `trial.report(folds=[...])`."""
    return _sweep.current_trial(client or default_client())


def current_fold() -> Optional[_cv.Fold]:
    """The cross-validation fold this process was started for by `tally cv` (or `tally sweeps
    validate`, `cross_validate_command`), or None outside one. Report its scores with
    `fold.report(test={"accuracy": …}, train={…}, fit_time=s, score_time=s)`."""
    return _cv.current_fold(default_client())


def cross_validate_command(command: Sequence[str], *, folds: int = 5, metrics: Sequence[str] = (),
                           maximize: bool = False, params: Optional[Mapping[str, Any]] = None, parallel: int = 1,
                           experiment: str = "", name: str = "", retries: int = 0, timeout: Optional[float] = None,
                           client: Optional[Client] = None) -> _cv.CrossValidationResults:
    """Cross-validates one configuration: a job that runs `command` once per fold (with `params`
    and `--fold=i --folds=K` as arguments, `TALLY_FOLD`/`TALLY_FOLDS` in its environment; the
    command reports through `tally.current_fold()` or a last line of JSON), `parallel` folds at
    once, through the `tally` binary as `tally cv` does. Returns the results: per metric the fold
    scores, mean, std, median, extremes and t-intervals (`status` "failed" with `error` when a
    fold failed)."""
    return _cv.cross_validate_command(
        client or default_client(), command, folds=folds, metrics=metrics, maximize=maximize, params=params,
        parallel=parallel, experiment=experiment, name=name, retries=retries, timeout=timeout)
