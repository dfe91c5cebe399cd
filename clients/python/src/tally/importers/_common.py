"""What the importers share: the report, run ids made from the source, keys and values the daemon
takes, and bringing one run over idempotently (start or resume, params, metric batches with their
own steps and times, artifacts, end). Imports no framework."""

import hashlib
import importlib
import math
import os
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import tally
from tally import Client
from tally.v1 import tracking_pb2

Scalar = Union[bool, int, float, str]

# The daemon's limits (docs/tracking.md, "Limits"; docs/artifacts.md).
_KEY_CHAR = re.compile(r"[^A-Za-z0-9_\-./: ]")
MAX_KEY = 250
MAX_TAG_VALUE = 5000
MAX_TAGS = 100
MAX_STRING_PARAM = 6000
MAX_PARAMS_PER_REQUEST = 1000
MAX_DESCRIPTION = 64 * 1024
MAX_NAME = 256
# Points per MetricBatch: about 20 bytes each on the wire, well under the 4 MiB frame.
BATCH_POINTS = 50_000

_ENDED = {tracking_pb2.RUN_STATUS_COMPLETED, tracking_pb2.RUN_STATUS_FAILED, tracking_pb2.RUN_STATUS_KILLED}
_END_STATUS = {
    "completed": tracking_pb2.RUN_STATUS_COMPLETED,
    "failed": tracking_pb2.RUN_STATUS_FAILED,
    "killed": tracking_pb2.RUN_STATUS_KILLED,
}


def require(module: str, importer: str, package: str) -> ModuleType:
    """Imports a framework for an importer, or says which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"tally.importers.{importer} needs {package} (pip install {package}): {exc}") from exc


def run_id_for(*parts: str) -> str:
    """A run id (16 lower-case hex characters, the shape of the daemon's) made from what names the
    run in its source: the same source run always gets the same id."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass
class ImportReport:
    """What an import brought over (`*_imported`) and what it found in Tally already and left as
    it was (`*_skipped`: the experiments that existed, and the runs imported before with their
    params, metric points and artifacts as Tally holds them). `run_ids` maps each source run (an
    MLflow run id, a TensorBoard folder) to its Tally run id; `warnings` lists what was changed
    or left out on the way (a key the daemon does not take, a tag value cut to its limit, ...)."""

    kind: str
    source: str
    experiments_imported: int = 0
    experiments_skipped: int = 0
    runs_imported: int = 0
    runs_skipped: int = 0
    params_imported: int = 0
    params_skipped: int = 0
    metric_points_imported: int = 0
    metric_points_skipped: int = 0
    artifacts_imported: int = 0
    artifacts_skipped: int = 0
    run_ids: Dict[str, str] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)

    _ROWS = (("experiments", "experiments"), ("runs", "runs"), ("params", "params"),
             ("metric points", "metric_points"), ("artifacts", "artifacts"))

    @property
    def imported_anything(self) -> bool:
        return any(getattr(self, f"{attr}_imported") for _, attr in self._ROWS)

    def to_dict(self) -> Dict[str, Any]:
        """The report as JSON-ready values (what `python -m tally.importers ... --json` prints)."""
        out: Dict[str, Any] = {"kind": self.kind, "source": self.source}
        for _, attr in self._ROWS:
            out[attr] = {"imported": getattr(self, f"{attr}_imported"), "skipped": getattr(self, f"{attr}_skipped")}
        out["run_ids"] = dict(self.run_ids)
        out["warnings"] = list(self.warnings)
        return out

    def __str__(self) -> str:
        lines = [f"imported from {self.kind} {self.source}", f"{'':<15}{'imported':>10}{'skipped':>10}"]
        for label, attr in self._ROWS:
            lines.append(f"{label:<15}{getattr(self, f'{attr}_imported'):>10}{getattr(self, f'{attr}_skipped'):>10}")
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def key(name: str, report: ImportReport, what: str) -> str:
    """`name` as a key the daemon takes (1–250 letters, digits, `_ - . / :` and inner spaces):
    other characters become `_`; a change is reported."""
    text = _KEY_CHAR.sub("_", name)[:MAX_KEY].strip(" ") or "_"
    if text != name:
        report.warn(f"{what} {name!r} is stored as {text!r}")
    return text


def cut(value: str, limit: int, report: ImportReport, what: str) -> str:
    if len(value) <= limit:
        return value
    report.warn(f"{what} has {len(value)} characters; its first {limit} are kept")
    return value[:limit]


def tag_map(tags: Mapping[str, str], report: ImportReport, what: str, first: Sequence[str] = ()) -> Dict[str, str]:
    """Tags as the daemon takes them: keys made valid, values cut to 5,000 characters, at most 100
    (the keys of `first` kept before the others, which come in key order)."""
    out: Dict[str, str] = {}
    ordered = [k for k in first if k in tags] + sorted(k for k in tags if k not in first)
    for name in ordered:
        tag = key(name, report, f"{what}: tag")
        if tag in out:
            report.warn(f"{what}: tag {name!r} is left out (it would take the key {tag!r} of another)")
            continue
        if len(out) == MAX_TAGS:
            report.warn(f"{what}: {len(ordered) - MAX_TAGS} tags are left out (at most {MAX_TAGS} per record): "
                        f"{', '.join(ordered[MAX_TAGS:][:5])}{' ...' if len(ordered) > MAX_TAGS + 5 else ''}")
            break
        out[tag] = cut(str(tags[name]), MAX_TAG_VALUE, report, f"{what}: tag {name!r}")
    return out


def param_value(value: Scalar) -> tracking_pb2.ParamValue:
    if isinstance(value, bool):
        return tracking_pb2.ParamValue(bool_value=value)
    if isinstance(value, int):
        return tracking_pb2.ParamValue(int_value=value)
    if isinstance(value, float):
        return tracking_pb2.ParamValue(double_value=value)
    return tracking_pb2.ParamValue(string_value=value)


def ms(seconds: float) -> int:
    """Seconds since the epoch (a TensorBoard wall time) as whole milliseconds."""
    return int(round(seconds * 1000))


@dataclass
class Series:
    """One metric's points, in the order they are to be stored."""

    key: str
    steps: List[int]
    timestamps_ms: List[int]
    values: List[float]


def batches(run_id: str, series: Iterable[Series], writer_id: str,
            batch_points: int = BATCH_POINTS) -> Iterator[tracking_pb2.MetricBatch]:
    """Columnar MetricBatches of at most `batch_points` points (several series share one), with
    `writer_id` and sequences 1, 2, ...: the same series give the same batches, so sending them
    again (an import that was interrupted) stores every point once."""
    sequence = 0
    batch: Optional[tracking_pb2.MetricBatch] = None
    index: Dict[str, int] = {}
    for s in series:
        start = 0
        while start < len(s.values):
            if batch is None:
                sequence += 1
                batch = tracking_pb2.MetricBatch(run_id=run_id, writer_id=writer_id, sequence=sequence)
                index = {}
            room = batch_points - len(batch.values)
            end = min(len(s.values), start + room)
            if s.key not in index:
                index[s.key] = len(batch.keys)
                batch.keys.append(s.key)
            batch.key_index.extend([index[s.key]] * (end - start))
            batch.values.extend(s.values[start:end])
            batch.steps.extend(s.steps[start:end])
            batch.timestamps_ms.extend(s.timestamps_ms[start:end])
            start = end
            if len(batch.values) >= batch_points:
                yield batch
                batch = None
    if batch is not None:
        yield batch


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_run(client: Client, run_id: str) -> Optional[tracking_pb2.Run]:
    try:
        return client.tracking.get_run(tracking_pb2.GetRunRequest(run_id=run_id))
    except tally.NotFound:
        return None


class Experiments:
    """The experiments of an import, each looked up (or created) once."""

    def __init__(self, client: Client, report: ImportReport) -> None:
        self.client = client
        self.report = report
        self.ids: Dict[str, str] = {}

    def ensure(self, name: str, *, tags: Optional[Mapping[str, str]] = None, description: str = "") -> str:
        """The id of the experiment `name`, created with `tags` and `description` when it does not
        exist (counted imported), else left as it is (counted skipped)."""
        if name in self.ids:
            return self.ids[name]
        ref = tracking_pb2.ExperimentRef(name=name)
        try:
            experiment = self.client.tracking.get_experiment(tracking_pb2.GetExperimentRequest(experiment=ref))
            self.report.experiments_skipped += 1
        except tally.NotFound:
            experiment = self.client.tracking.create_experiment(tracking_pb2.CreateExperimentRequest(
                name=name, tags=dict(tags or {}), get_if_exists=True,
                description=cut(description, MAX_DESCRIPTION, self.report, f"experiment {name!r}: description")))
            self.report.experiments_imported += 1
        self.ids[name] = experiment.id
        return str(experiment.id)


@dataclass
class Artifact:
    """A file to upload: its name in Tally (the path relative to the source's artifact root) and
    its artifact type."""

    name: str
    path: str
    type: str = "other"
    metadata: Dict[str, str] = field(default_factory=dict)


@dataclass
class RunSpec:
    """A source run as it is to be stored."""

    source_id: str
    run_id: str
    experiment: str
    name: str = ""
    tags: Dict[str, str] = field(default_factory=dict)
    params: Dict[str, Scalar] = field(default_factory=dict)
    parent_run_id: str = ""
    status: str = "completed"
    error: str = ""


def skip_existing(existing: tracking_pb2.Run, report: ImportReport) -> None:
    """Counts an ended run imported before as skipped, with what Tally holds of it."""
    report.runs_skipped += 1
    report.params_skipped += len(existing.params)
    report.metric_points_skipped += sum(m.count for m in existing.metrics)
    report.artifacts_skipped += len(existing.artifacts)


def import_run(client: Client, report: ImportReport, spec: RunSpec, experiment_id: str,
               series: Iterable[Series], artifacts: Iterable[Artifact], *, writer_id: str,
               existing: Optional[tracking_pb2.Run] = None) -> None:
    """Brings one run over. A run found ended is skipped (call `skip_existing` before reading its
    data); a run found running or crashed is an import that was interrupted: it is resumed and
    everything is sent again, each part idempotent (params logged again with the same value,
    metric batches with the same writer id and sequence, artifacts whose name and SHA-256 it holds
    already left out), then it is ended."""
    report.run_ids[spec.source_id] = spec.run_id
    if existing is not None and existing.experiment_id != experiment_id:
        report.warn(f"{report.kind} run {spec.source_id}: the run {spec.run_id} belongs to another experiment "
                    f"({existing.experiment_id}); left as it is")
        skip_existing(existing, report)
        return
    if existing is None:
        try:
            existing = client.tracking.start_run(tracking_pb2.StartRunRequest(
                experiment=tracking_pb2.ExperimentRef(id=experiment_id), run_id=spec.run_id,
                name=spec.name[:MAX_NAME], tags=spec.tags, parent_run_id=spec.parent_run_id))
        except tally.AlreadyExists:  # started in another experiment meanwhile
            del report.run_ids[spec.source_id]
            report.warn(f"{report.kind} run {spec.source_id}: the run id {spec.run_id} is taken in another "
                        f"experiment; left out")
            return
    elif existing.status == tracking_pb2.RUN_STATUS_CRASHED:
        client.tracking.resume_run(tracking_pb2.ResumeRunRequest(run_id=spec.run_id))
    report.runs_imported += 1
    held = {(a.name, a.sha256) for a in existing.artifacts}

    items = list(spec.params.items())
    for start in range(0, len(items), MAX_PARAMS_PER_REQUEST):
        chunk = dict(items[start:start + MAX_PARAMS_PER_REQUEST])
        request = tracking_pb2.LogParamsRequest(run_id=spec.run_id)
        for name, value in chunk.items():
            request.params[name].CopyFrom(param_value(value))
        stored = client.tracking.log_params(request).stored
        report.params_imported += stored
        report.params_skipped += len(chunk) - stored

    for batch in batches(spec.run_id, series, writer_id):
        answer = client.tracking.log_metrics(batch)
        if answer.duplicate:
            report.metric_points_skipped += len(batch.values)
        else:
            report.metric_points_imported += answer.accepted
            report.metric_points_skipped += len(batch.values) - answer.accepted

    run: Optional[tally.Run] = None
    try:
        for artifact in artifacts:
            if any(name == artifact.name for name, _ in held) and (artifact.name, sha256_of(artifact.path)) in held:
                report.artifacts_skipped += 1
                continue
            if run is None:
                # A Run (its heartbeats keep it running through long uploads); ended here, never
                # by the exit hook: a run left open by a failed import is completed by the next.
                run = client.resume_run(spec.run_id)
                run._end_at_exit = False
            try:
                run.log_artifact(artifact.path, name=artifact.name, type=artifact.type, metadata=artifact.metadata)
            except tally.InvalidArgument as exc:  # a name the daemon does not take (docs/artifacts.md)
                report.warn(f"{report.kind} run {spec.source_id}: artifact {artifact.name!r} is left out: {exc.message}")
                continue
            report.artifacts_imported += 1
    except BaseException:
        if run is not None:
            try:
                run._detach(timeout=10)
            except Exception:
                pass
        raise
    if run is not None:
        run.end(spec.status, error=spec.error)
    else:
        client.tracking.end_run(tracking_pb2.EndRunRequest(run_id=spec.run_id, status=_END_STATUS[spec.status],
                                                           error=spec.error))


def ended(run: Optional[tracking_pb2.Run]) -> bool:
    return run is not None and run.status in _ENDED


def connect(client: Optional[Client]) -> Client:
    return client if client is not None else tally.default_client()


def relative_files(root: str) -> Iterator[Tuple[str, str]]:
    """Every file under `root` as (its path relative to `root` with `/`, its path), in name order."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            yield os.path.relpath(path, root).replace(os.sep, "/"), path


def finite_or_text(text: str) -> Scalar:
    """An MLflow param (always text) as the typed value whose `str()` gives the same text back:
    `True`/`False` as a bool, `42` as an int, `0.001` as a float (Python's shortest repr); any
    other text ("1e-3", "007", "nan", "adam") stays text."""
    if text in ("True", "False"):
        return text == "True"
    if re.fullmatch(r"-?[0-9]+", text):
        number = int(text)
        if str(number) == text and -(1 << 63) <= number < (1 << 63):
            return number
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    if math.isfinite(value) and repr(value) == text:
        return value
    return text

