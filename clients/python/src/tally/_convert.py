"""Conversions between protobuf records and plain Python values."""

import datetime
import numbers
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Union

from tally.v1 import tracking_pb2

_STATUS_NAMES = {
    tracking_pb2.RUN_STATUS_UNSPECIFIED: "unspecified",
    tracking_pb2.RUN_STATUS_RUNNING: "running",
    tracking_pb2.RUN_STATUS_COMPLETED: "completed",
    tracking_pb2.RUN_STATUS_FAILED: "failed",
    tracking_pb2.RUN_STATUS_KILLED: "killed",
    tracking_pb2.RUN_STATUS_CRASHED: "crashed",
}


TimeLike = Union[datetime.datetime, datetime.date, datetime.timedelta, str, int, float]
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def time_bound_ms(value: TimeLike, name: str) -> int:
    """A time bound as unix ms: a datetime (naive: local time), a date (local midnight), a
    timedelta or a string like "7d" (that long ago; s, m, h, d, w), an ISO 8601 string, or a
    number of seconds since the epoch."""
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, datetime.date):
        return int(datetime.datetime(value.year, value.month, value.day).timestamp() * 1000)
    if isinstance(value, datetime.timedelta):
        return int((time.time() - value.total_seconds()) * 1000)
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a datetime, date, timedelta, string or number, not bool")
    if isinstance(value, (int, float)):
        return int(value * 1000)
    if isinstance(value, str):
        relative = _RELATIVE.match(value)
        if relative:
            return int((time.time() - int(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]) * 1000)
        try:
            parsed = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{name} expects a duration back from now (30m, 12h, 7d, 2w) or an ISO 8601 date or time, "
                             f"got {value!r}") from None
        return int(parsed.timestamp() * 1000)
    raise TypeError(f"{name} must be a datetime, date, timedelta, string or number, not {type(value).__name__}")


def param_value(value: Any) -> tracking_pb2.ParamValue:
    """bool, integers, reals and strings keep their type; anything else is stored as `str(value)`."""
    kind = type(value)  # the common types first: the ABC checks below cost more than the rest of a run's start
    if kind is float:
        return tracking_pb2.ParamValue(double_value=value)
    if kind is int:
        return tracking_pb2.ParamValue(int_value=value)
    if kind is str:
        return tracking_pb2.ParamValue(string_value=value)
    if isinstance(value, bool):
        return tracking_pb2.ParamValue(bool_value=value)
    if isinstance(value, numbers.Integral):
        return tracking_pb2.ParamValue(int_value=int(value))
    if isinstance(value, numbers.Real):
        return tracking_pb2.ParamValue(double_value=float(value))
    return tracking_pb2.ParamValue(string_value=value if isinstance(value, str) else str(value))


def from_param(value: tracking_pb2.ParamValue) -> Any:
    kind = value.WhichOneof("kind")
    return None if kind is None else getattr(value, kind)


_SCALARS = frozenset((int, float, str, bool))


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """`{"optimizer": {"lr": 0.1}}` becomes `{"optimizer.lr": 0.1}`."""
    out: Dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if type(value) in _SCALARS:
            out[name] = value
        elif isinstance(value, Mapping):
            out.update(flatten_params(value, name + "."))
        else:
            out[name] = value
    return out


def tag_map(tags: Union[Mapping[str, Any], Iterable[str], None]) -> Dict[str, str]:
    """A mapping keeps its values (as strings); a list of labels gets empty values."""
    if tags is None:
        return {}
    if isinstance(tags, str):
        return {tags: ""}
    if isinstance(tags, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    return {str(t): "" for t in tags}


@dataclass
class MetricSummary:
    """Aggregates of one metric series of a run."""

    key: str
    last: float
    min: float
    max: float
    mean: float
    count: int
    first_step: int
    last_step: int
    last_timestamp_ms: int


@dataclass
class RunInfo:
    """A run as the daemon has it: `status` is "running", "completed", "failed", "killed" or
    "crashed" (its writer went away without ending it; `last_contact_ms` is when it was last
    heard from); `params` hold Python values; `metrics` map each key to its aggregates.
    `created_by` is who started it: the access token's name over TCP, the OS user on the Unix
    socket (empty for runs of older daemons). `proto` is the record."""

    id: str
    experiment_id: str
    name: str
    status: str
    params: Dict[str, Any]
    tags: Dict[str, str]
    metrics: Dict[str, MetricSummary]
    parent_run_id: str
    error: str
    started_at_ms: int
    completed_at_ms: int
    duration_ms: int
    child_count: int
    last_contact_ms: int = 0
    artifacts: List[tracking_pb2.Artifact] = field(default_factory=list)
    note: str = ""
    created_by: str = ""
    proto: Optional[tracking_pb2.Run] = field(default=None, repr=False)


class RunList(List[RunInfo]):
    """The runs `search_runs` found: a list of `RunInfo`, and `to_pandas()`."""

    def to_pandas(self) -> Any:
        """One row per run: id, name, experiment_id, status, parent_run_id, started_at (UTC),
        duration (a Timedelta), `params.<key>` columns and `metrics.<key>.last`, `.min`, `.max`
        columns. Imports pandas (only here)."""
        from tally import _frames
        return _frames.runs_frame(self)


def summary(m: tracking_pb2.MetricSummary) -> MetricSummary:
    return MetricSummary(m.key, m.last_value, m.min, m.max, m.mean, m.count, m.first_step, m.last_step, m.last_timestamp_ms)


def run_info(run: tracking_pb2.Run) -> RunInfo:
    return RunInfo(
        id=run.id, experiment_id=run.experiment_id, name=run.name,
        status=_STATUS_NAMES.get(run.status, str(run.status)),
        params={k: from_param(v) for k, v in sorted(run.params.items())},
        tags=dict(run.tags), metrics={m.key: summary(m) for m in run.metrics},
        parent_run_id=run.parent_run_id, error=run.error, started_at_ms=run.started_at_ms,
        completed_at_ms=run.completed_at_ms, duration_ms=run.duration_ms, child_count=run.child_count,
        last_contact_ms=run.last_contact_ms, artifacts=list(run.artifacts), note=run.note,
        created_by=getattr(run, "created_by", ""), proto=run,
    )


@dataclass
class History:
    """Stored points of one metric key, in step order."""

    key: str
    steps: List[int]
    values: List[float]
    timestamps_ms: List[int]
    total_points: int = 0
    downsampled: bool = False

    def to_pandas(self) -> Any:
        """A frame of key, step, value and timestamp (UTC), one row per point."""
        from tally import _frames
        return _frames.history_frame([self])


class HistoryDict(Dict[str, History]):
    """A run's history per key (`tally.history`, `run.history`), and `to_pandas()`."""

    def to_pandas(self) -> Any:
        """A long frame of every key's points: key, step, value, timestamp (UTC), by key then
        step. Imports pandas (only here)."""
        from tally import _frames
        return _frames.history_frame(list(self.values()))


class Point(NamedTuple):
    key: str
    step: int
    value: float
    timestamp_ms: int


@dataclass
class WatchEvent:
    """One event of a watched run. `kind` is "snapshot" (the run when watching starts), "points"
    (newly committed metric points), "status" (the run's status changed; the last event when
    the run ends) or "params" (params newly logged)."""

    kind: str
    run: Optional[RunInfo] = None
    points: List[Point] = field(default_factory=list)
    params: Dict[str, Any] = field(default_factory=dict)
    proto: Optional[tracking_pb2.RunEvent] = field(default=None, repr=False)


def watch_event(event: tracking_pb2.RunEvent) -> WatchEvent:
    kind = event.WhichOneof("event") or "unknown"
    if kind in ("snapshot", "status"):
        return WatchEvent(kind, run=run_info(getattr(event, kind)), proto=event)
    if kind == "points":
        p = event.points
        keys = list(p.keys)
        steps = list(p.steps) or [0] * len(p.values)
        ts = list(p.timestamps_ms) or [0] * len(p.values)
        points = [Point(keys[i], s, v, t) for i, s, v, t in zip(p.key_index, steps, p.values, ts)]
        return WatchEvent(kind, points=points, proto=event)
    if kind == "params":
        return WatchEvent(kind, params={k: from_param(v) for k, v in event.params.params.items()}, proto=event)
    return WatchEvent(kind, proto=event)


@dataclass
class Comparison:
    """Runs side by side: `params[key]` has one value per run (None where a run lacks it),
    `differing` the keys whose values differ, `metrics[key]` the best and worst run by the
    metric's goal."""

    runs: List[RunInfo]
    params: Dict[str, List[Any]]
    differing: List[str]
    metrics: Dict[str, tracking_pb2.MetricComparison]
    proto: Optional[tracking_pb2.CompareRunsResponse] = field(default=None, repr=False)


def comparison(resp: tracking_pb2.CompareRunsResponse) -> Comparison:
    runs = [
        RunInfo(id=r.run_id, experiment_id=r.experiment_id, name=r.name,
                status=_STATUS_NAMES.get(r.status, str(r.status)),
                params={k: from_param(v) for k, v in sorted(r.params.items())}, tags={},
                metrics={m.key: summary(m) for m in r.metrics}, parent_run_id="", error="",
                started_at_ms=0, completed_at_ms=0, duration_ms=0, child_count=0)
        for r in resp.runs
    ]
    return Comparison(
        runs=runs,
        params={d.key: [from_param(v) for v in d.values] for d in resp.params},
        differing=[d.key for d in resp.params if d.differs],
        metrics={m.key: m for m in resp.metrics},
        proto=resp,
    )
