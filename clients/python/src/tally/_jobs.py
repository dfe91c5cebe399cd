"""Following jobs (`tally.watch_job`, `tally.watch_jobs`): iterators of `JobEvent`s that resume
after a daemon restart.

The daemon numbers job events (`JobEvent.seq`, across all its jobs). A watcher remembers the
highest number it has seen, and when its stream breaks (the daemon restarts, the connection
drops: UNAVAILABLE, CANCELLED or ABORTED) or ends before the job did, it subscribes again with
`from_seq` set to it, with backoff (0.1 s doubling to 5 s), as `tally watch job` does
(Sources/tally/WatchJobs.swift): the daemon replays the events after it, or starts again with a
snapshot when it no longer holds them. A failure to open the first stream raises at once.
"""

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

from tally import _sweep
from tally._sweep import TrialInfo
from tally._transport import ResponseIterator
from tally.errors import RPCError
from tally.v1 import experiments_pb2 as pb

if TYPE_CHECKING:
    from tally._api import Client

_TRANSIENT = {14, 1, 10}  # UNAVAILABLE, CANCELLED, ABORTED: the connection went, not the job
_BACKOFF_MIN = 0.1
_BACKOFF_MAX = 5.0
_TERMINAL_KINDS = ("completed", "failed", "cancelled")
_STATUS = {
    pb.JOB_STATUS_PENDING: "pending", pb.JOB_STATUS_RUNNING: "running", pb.JOB_STATUS_COMPLETED: "completed",
    pb.JOB_STATUS_FAILED: "failed", pb.JOB_STATUS_CANCELLED: "cancelled",
}


@dataclass
class JobProgress:
    """Items (or trials, folds) done and to do; `eta_seconds` is -1 while unknown."""

    current: int
    total: int
    percentage: float = 0.0
    items_per_second: float = 0.0
    eta_seconds: float = -1.0
    model: str = ""


@dataclass
class JobEvent:
    """One event of a watched job. `kind` is "snapshot" (the job as it is when watching starts,
    or starts again after a gap; `job` is the record), "started", "progress" (`progress`),
    "item_result" (`item`, an `ItemResult`, with `item_results=True`), "trial_started" and
    "trial_finished" (sweeps: `trial`, and `best`, the best completed trial so far), or a final
    one: "completed" (`results`), "failed" (`error`) or "cancelled". `status` is the job's
    status as this event tells it ("running" for progress and trials; the job's for a
    snapshot; the final status for a final event); `final` says whether the job has ended."""

    kind: str
    job_id: str
    job_kind: str
    seq: int
    time_ms: int
    status: str = ""
    progress: Optional[JobProgress] = None
    item: Optional[pb.ItemResult] = None
    trial: Optional[TrialInfo] = None
    best: Optional[TrialInfo] = None
    results: Optional[pb.JobResults] = None
    error: str = ""
    job: Optional[pb.Job] = None
    proto: Optional[pb.JobEvent] = field(default=None, repr=False)

    @property
    def final(self) -> bool:
        return self.status in _TERMINAL_KINDS


def job_event(event: pb.JobEvent) -> JobEvent:
    kind = event.WhichOneof("event") or "unknown"
    out = JobEvent(kind=kind, job_id=event.job_id, job_kind=event.job_kind, seq=event.seq, time_ms=event.time_ms,
                   proto=event)
    if kind == "snapshot":
        job = event.snapshot
        out.job = job
        out.status = _STATUS.get(job.status, "")
        out.error = job.error
        out.progress = JobProgress(job.progress_current, job.progress_total,
                                   100.0 * job.progress_current / job.progress_total if job.progress_total else 0.0)
        if job.HasField("results"):
            out.results = job.results
    elif kind == "started":
        out.status = "running"
        out.progress = JobProgress(0, event.started.total)
    elif kind == "progress":
        p = event.progress
        out.status = "running"
        out.progress = JobProgress(p.current, p.total, p.percentage, p.items_per_second, p.eta_seconds, p.model)
    elif kind == "item_result":
        out.status = "running"
        out.item = event.item_result
    elif kind in ("trial_started", "trial_finished"):
        t = getattr(event, kind)
        out.status = "running"
        out.trial = _sweep.trial_info(t.trial) if t.HasField("trial") else None
        out.best = _sweep.trial_info(t.best) if t.HasField("best") else None
    elif kind == "completed":
        out.status = "completed"
        out.results = event.completed.results
    elif kind == "failed":
        out.status = "failed"
        out.error = event.failed.error
    elif kind == "cancelled":
        out.status = "cancelled"
    return out


class JobWatcher:
    """Events of one job (`watch_job`: ends after its final event) or of every job
    (`watch_jobs`: until `close()`). Iterate it, or `next(timeout)` (None when nothing came in
    time). `reconnects` counts the streams opened again after a break; `last_seq` is the highest
    event number seen. `close()`, or leaving a `with` block, stops watching."""

    def __init__(self, open_stream: Callable[[int], Any], *, single: bool) -> None:
        self._open = open_stream
        self._single = single
        self._stream: Optional[ResponseIterator[pb.JobEvent]] = None
        self._lock = threading.Lock()
        self._closed = False
        self._ended = False
        self._seen_any = False
        self._final_snapshot = False
        self._failures = 0
        self.last_seq = 0
        self.reconnects = 0

    def __iter__(self) -> "JobWatcher":
        return self

    def __next__(self) -> JobEvent:
        event = self.next(None)
        assert event is not None
        return event

    def next(self, timeout: Optional[float] = None) -> Optional[JobEvent]:
        """The next event, or None when none came within `timeout` seconds (None: wait);
        StopIteration once the job has ended (watch_job) or the watcher is closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed or self._ended:
                raise StopIteration
            stream = self._stream
            try:
                if stream is None:
                    with self._lock:
                        if self._closed:
                            raise StopIteration
                        stream = self._stream = cast(ResponseIterator[pb.JobEvent], self._open(self.last_seq))
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                message = stream.next(remaining)
            except StopIteration:
                self._drop()
                if self._closed or (self._single and self._final_snapshot):
                    raise  # a finished job's snapshot (and its final event, when it has one) was all

                if not self._wait_to_reconnect(deadline):
                    return None
                continue
            except RPCError as exc:
                self._drop()
                if self._closed:
                    raise StopIteration from None
                if exc.code not in _TRANSIENT or not self._seen_any:
                    raise
                if not self._wait_to_reconnect(deadline):
                    return None
                continue
            if message is None:
                return None
            self._seen_any = True
            if self._failures:
                self._failures = 0
                self.reconnects += 1
            self.last_seq = max(self.last_seq, message.seq)  # a snapshot carries the last number it covers
            event = job_event(message)
            self._final_snapshot = event.kind == "snapshot" and event.final
            if self._single and event.final and event.kind != "snapshot":
                self._ended = True
                self._drop()
            return event

    def _wait_to_reconnect(self, deadline: Optional[float]) -> bool:
        """Sleeps the backoff before the next stream; False when the deadline comes first."""
        self._failures += 1
        pause = min(_BACKOFF_MAX, _BACKOFF_MIN * (2 ** min(self._failures - 1, 6)))
        if deadline is not None and time.monotonic() + pause > deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False
        time.sleep(pause)
        return True

    def _drop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except RPCError:
                pass

    def close(self) -> None:
        self._closed = True
        self._drop()

    def __enter__(self) -> "JobWatcher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def watch_job(client: "Client", job_id: str, *, item_results: bool = False) -> JobWatcher:
    def open_stream(from_seq: int) -> Any:
        return client.experiments.watch_job(pb.WatchJobRequest(job_id=job_id, item_results=item_results,
                                                                from_seq=from_seq))
    return JobWatcher(open_stream, single=True)


def watch_jobs(client: "Client", kind: Optional[str] = None, *, item_results: bool = False) -> JobWatcher:
    def open_stream(from_seq: int) -> Any:
        return client.experiments.watch_jobs(pb.WatchJobsRequest(kind=kind or "", item_results=item_results,
                                                                  from_seq=from_seq))
    return JobWatcher(open_stream, single=False)
