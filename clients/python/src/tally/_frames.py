"""pandas frames of query results (`RunList.to_pandas`, `HistoryDict.to_pandas`); pandas is
imported here only, when one is asked for."""

from typing import TYPE_CHECKING, Any, Dict, List, Sequence

if TYPE_CHECKING:
    from tally._convert import History, RunInfo

_AGGREGATES = ("last", "min", "max")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(f"to_pandas() needs pandas (pip install pandas): {exc}") from None
    return pandas


def runs_frame(runs: Sequence["RunInfo"]) -> Any:
    pd = _pandas()
    params = sorted({key for run in runs for key in run.params})
    metrics = sorted({key for run in runs for key in run.metrics})
    columns: Dict[str, List[Any]] = {
        "id": [r.id for r in runs], "name": [r.name for r in runs], "experiment_id": [r.experiment_id for r in runs],
        "status": [r.status for r in runs], "parent_run_id": [r.parent_run_id for r in runs],
    }
    frame = pd.DataFrame(columns)
    frame["started_at"] = pd.to_datetime(pd.Series([r.started_at_ms or None for r in runs], dtype="float64"),
                                         unit="ms", utc=True)
    frame["duration"] = pd.to_timedelta(pd.Series([r.duration_ms for r in runs], dtype="float64"), unit="ms")
    extra: Dict[str, List[Any]] = {}
    for key in params:
        extra[f"params.{key}"] = [r.params.get(key) for r in runs]
    for key in metrics:
        for aggregate in _AGGREGATES:
            extra[f"metrics.{key}.{aggregate}"] = [
                getattr(r.metrics[key], aggregate) if key in r.metrics else float("nan") for r in runs]
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    return frame


def history_frame(histories: Sequence["History"]) -> Any:
    pd = _pandas()
    keys: List[str] = []
    steps: List[int] = []
    values: List[float] = []
    times: List[int] = []
    for h in sorted(histories, key=lambda h: h.key):
        keys += [h.key] * len(h.steps)
        steps += h.steps
        values += h.values
        times += h.timestamps_ms
    return pd.DataFrame({
        "key": pd.Series(keys, dtype="object"),
        "step": pd.Series(steps, dtype="int64"),
        "value": pd.Series(values, dtype="float64"),
        "timestamp": pd.to_datetime(pd.Series(times, dtype="int64"), unit="ms", utc=True),
    })
