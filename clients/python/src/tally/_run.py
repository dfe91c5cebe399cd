"""`Run`: a running run, its background metric batcher, and the exit hooks.

`Run.log` only appends to in-memory columns under a lock. A background thread seals the columns
into `MetricBatch`es (every `flush_interval` seconds, or as soon as `batch_points` are buffered)
and sends them on one `StreamMetrics` call; the daemon acknowledges each batch, by `sequence`,
once it is committed. `flush()` waits for the acknowledgement of everything logged before it.

`Run.log` makes no system call in the common case (they are what costs under sandboxed kernels,
where reading the clock is a syscall and every futex wake-up is expensive): it reads the time
from `_now_ms`, which a clock thread that never blocks on I/O refreshes every `_TICK` seconds
while logging goes on (points logged within one tick share a timestamp), and takes a lock the
sender seldom takes (to seal the columns and to count acknowledgements), so it is uncontended.
Nothing on that path wakes the sender: the clock thread kicks it (`_kick`) when it sees a sealed
batch, and so do `flush`, `end`, back-pressure at `max_buffered_points` and the transport's
callbacks. While the clock thread is not ticking (no log call for `_IDLE_AFTER`, the run ended,
the sender gone), `_clock_live` is False and `log` reads the clock itself, so a timestamp is at
most about a tick plus the interpreter's switch interval old.

Delivery is at least once: when the connection drops, the batches not yet acknowledged are sent
again on a new connection (with retries and backoff for up to `retry_timeout` seconds). A batch
the daemon committed just before the connection dropped, whose acknowledgement was lost, is then
stored twice, with the same steps, values and timestamps.
"""

import atexit
from array import array
import hashlib
import os
import re
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from tally import _convert
from tally._transport import RawCall
from tally.errors import InvalidArgument, RPCError, Unavailable
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client

STREAM_METRICS = "/tally.v1.Tracking/StreamMetrics"
_RETRYABLE = {14}  # UNAVAILABLE: the connection dropped or no daemon listens (yet)
_TICK = 0.005  # seconds between refreshes of the coarse clock `log` reads (and polls for sealed batches)
_IDLE_AFTER = 1.0  # seconds without a log call after which the clock thread stops ticking (log then reads the clock)

_STATUS = {
    "completed": tracking_pb2.RUN_STATUS_COMPLETED,
    "failed": tracking_pb2.RUN_STATUS_FAILED,
    "killed": tracking_pb2.RUN_STATUS_KILLED,
}

_ARTIFACT_TYPES = {
    "model": tracking_pb2.ARTIFACT_TYPE_MODEL,
    "dataset": tracking_pb2.ARTIFACT_TYPE_DATASET,
    "figure": tracking_pb2.ARTIFACT_TYPE_FIGURE,
    "other": tracking_pb2.ARTIFACT_TYPE_OTHER,
}


_KEY = re.compile(r"[A-Za-z0-9_\-./:]([A-Za-z0-9_\-./: ]*[A-Za-z0-9_\-./:])?")


def _check_key(key: Any) -> None:
    """The daemon's rule for metric keys, checked on a key's first use so that one bad key
    fails its `log` call instead of the whole batch."""
    if not isinstance(key, str) or len(key) > 250 or not _KEY.fullmatch(key):
        raise InvalidArgument(f"metric key {key!r} must be 1 to 250 of letters, digits, _ - . / : and inner spaces")


class _Batch:
    __slots__ = ("seq", "points", "payload", "sent", "sent_at")

    def __init__(self, seq: int, points: int, payload: bytes) -> None:
        self.seq = seq
        self.points = points
        self.payload = payload
        self.sent = False
        self.sent_at = 0.0


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_batch(run_id: str, seq: int, key_list: List[str], kidx: List[int], vals: List[float],
                  steps: List[int], ts: List[int]) -> bytes:
    """A serialized `MetricBatch`. Values (field 4, packed doubles) and, with fewer than 128 keys,
    key indexes (field 3, one-byte varints) are packed straight from arrays, which is several times
    faster than converting the lists into the message; the other fields go through protobuf.
    Fields may come in any order in the encoding, so the parts are concatenated."""
    head = tracking_pb2.MetricBatch(run_id=run_id, keys=key_list, steps=steps, timestamps_ms=ts, sequence=seq)
    parts = [head.SerializeToString()]
    if len(key_list) < 128:
        packed_kidx = bytes(kidx)
        parts += [b"\x1a", _varint(len(packed_kidx)), packed_kidx]
    else:
        parts.append(tracking_pb2.MetricBatch(key_index=kidx).SerializeToString())
    doubles = array("d", vals)
    if sys.byteorder != "little":
        doubles.byteswap()
    packed_vals = doubles.tobytes()
    parts += [b"\x22", _varint(len(packed_vals)), packed_vals]
    return b"".join(parts)


class Run:
    """A run this process logs to. Use it as a context manager (see `tally.start_run`)."""

    def __init__(self, client: "Client", record: tracking_pb2.Run, *, flush_interval: float = 0.1,
                 batch_points: int = 20_000, max_buffered_points: int = 1_000_000,
                 retry_timeout: float = 60.0, stall_timeout: float = 5.0) -> None:
        self.client = client
        self.id = record.id
        self.experiment_id = record.experiment_id
        self.name = record.name
        self.parent_run_id = record.parent_run_id
        self.flush_interval = flush_interval
        self.batch_points = batch_points
        self.max_buffered_points = max_buffered_points
        self.retry_timeout = retry_timeout
        self.stall_timeout = stall_timeout
        self._owner_pid = os.getpid()
        self._ended = False
        self._end_at_exit = True  # False for runs someone else ends (sweep trials): only flushed at exit
        # Next automatic step per key, as the daemon would choose it (highest step + 1).
        self._next_step: Dict[str, int] = {m.key: m.last_step + 1 for m in record.metrics if m.count}
        self._valid_keys: Set[str] = set(self._next_step)
        self._init_state()
        _live_runs.add(self)
        _open_runs[self.id] = self

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._new_columns()
        self._sealed: Deque[Tuple[int, List[str], List[int], List[float], List[int], List[int]]] = deque()
        self._pending: Deque[_Batch] = deque()  # sent or to send, not yet acknowledged
        self._seq = 0  # last sequence number sealed
        self._points = 0  # points logged and not yet acknowledged (the bounded buffer)
        self._error: Optional[RPCError] = None  # fatal: logging has stopped
        self._rejected: List[RPCError] = []  # batches the daemon refused, raised by the next flush
        # Wakes the sender. Set by flush, end, back-pressure and the transport, never by a plain log.
        self._kick = threading.Event()
        # The clock thread's coarse clock (ms since the epoch), valid while `_clock_live` is True:
        # the clock thread sets `_now_ms` before `_clock_live`, and clears `_clock_live` when it
        # stops ticking.
        self._now_ms = 0
        self._clock_live = False
        self._flush_requested = False
        self._closing = False
        self._thread: Optional[threading.Thread] = None

    def _new_columns(self) -> None:
        self._keys: Dict[str, int] = {}
        self._key_list: List[str] = []
        # Key indexes of each set of keys `log` was called with, for the columns being filled.
        self._shapes: Dict[Tuple[Any, ...], List[int]] = {}
        self._kidx: List[int] = []
        self._vals: List[float] = []
        self._steps: List[int] = []
        self._ts: List[int] = []

    # -- logging -------------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Records metric values (anything `float()` accepts) at `step`, or at each key's next
        step (its highest step + 1, from 0). Returns at once: points are sent in the background.
        Blocks only while `max_buffered_points` points wait for the daemon, and raises the error
        that stopped logging if the daemon stayed unreachable for `retry_timeout` seconds."""
        values = [float(v) for v in metrics.values()]
        shape = tuple(metrics)
        with self._lock:
            if self._thread is None:
                self._start_locked()
            if self._points >= self.max_buffered_points:
                self._wait_for_room_locked()
            indexes = self._shapes.get(shape)
            if indexes is None:  # keys not seen together in these columns yet
                valid = self._valid_keys
                for key in shape:
                    if key not in valid:
                        _check_key(key)
                        valid.add(key)
                keys = self._keys
                key_list = self._key_list
                indexes = []
                for key in shape:
                    index = keys.get(key)
                    if index is None:
                        index = keys[key] = len(key_list)
                        key_list.append(key)
                    indexes.append(index)
                self._shapes[shape] = indexes
            count = len(values)
            self._kidx += indexes
            next_step = self._next_step
            if step is None:
                steps = self._steps
                for key in shape:
                    s = next_step.get(key, 0)
                    next_step[key] = s + 1
                    steps.append(s)
            else:
                self._steps += [step] * count
                following = step + 1
                for key in shape:
                    if next_step.get(key, 0) < following:
                        next_step[key] = following
            self._vals += values
            # Read under the lock, after the loops above (where the interpreter lets the sender
            # run if it asked to), so that timestamps follow the order of the points.
            ts = self._now_ms if self._clock_live else int(time.time() * 1000)
            self._ts += [ts] * count
            self._points += count
            if len(self._vals) >= self.batch_points:
                self._seal_locked()  # the clock thread kicks the sender on its next tick

    def _wait_for_room_locked(self) -> None:
        while self._points >= self.max_buffered_points and self._error is None:
            self._kick.set()
            self._cond.wait(1.0)
        if self._error is not None:
            raise self._error

    def _seal_locked(self) -> None:
        if not self._vals:
            return
        self._seq += 1
        self._sealed.append((self._seq, self._key_list, self._kidx, self._vals, self._steps, self._ts))
        self._new_columns()

    def _done_seq_locked(self) -> int:
        """Every sequence up to this one is acknowledged (or refused)."""
        if self._pending:
            return self._pending[0].seq - 1
        if self._sealed:
            return self._sealed[0][0] - 1
        return self._seq

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every point logged so far is committed by the daemon. Raises the error of
        batches the daemon refused since the last flush, `Unavailable` when it stayed
        unreachable, `DeadlineExceeded` after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            if self._thread is None and (self._vals or self._sealed):
                self._start_locked()
            self._seal_locked()
            target = self._seq
            self._flush_requested = True
            self._kick.set()
            while self._done_seq_locked() < target and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise RPCError.from_status(4, f"flush did not finish within {timeout}s ({self._points} points not yet acknowledged)")
                self._cond.wait(remaining)
            if self._error is not None:
                raise self._error
            if self._rejected:
                first, self._rejected = self._rejected[0], []
                raise first

    # -- the background sender -----------------------------------------------------------------

    def _start_locked(self) -> None:
        self._thread = threading.Thread(target=self._send_loop, name=f"tally-run-{self.id}", daemon=True)
        self._thread.start()
        threading.Thread(target=self._tick_loop, args=(self._thread,), name=f"tally-clock-{self.id}", daemon=True).start()

    def _tick_loop(self, sender: threading.Thread) -> None:
        """Refreshes `_now_ms` every `_TICK` seconds while points are logged, and kicks the sender
        when `log` has sealed a batch. Never blocks but to sleep, so the clock stays fresh while the
        sender waits on the daemon. Ends with the sender or when the run ends."""
        seen = (-1, -1)
        last_activity = time.monotonic()
        try:
            while not self._closing and sender.is_alive():
                now = time.monotonic()
                activity = (self._seq, len(self._vals))  # changes only when points are logged
                if activity != seen:
                    seen = activity
                    last_activity = now
                if now - last_activity < _IDLE_AFTER:
                    self._now_ms = int(time.time() * 1000)
                    self._clock_live = True
                    if self._sealed:
                        self._kick.set()
                    time.sleep(_TICK)
                else:
                    self._clock_live = False
                    time.sleep(0.1)
        finally:
            self._clock_live = False

    def _poke(self) -> None:
        self._kick.set()

    def _send_loop(self) -> None:
        stream: Optional[RawCall] = None
        draining = False
        outage_since: Optional[float] = None
        backoff = 0.05
        last_send = time.monotonic()
        kick = self._kick
        while True:
            # Wait until kicked, a batch is sealed or `flush_interval` has passed. Whatever a
            # kicker changed before its set() is seen below, as the kick is cleared before.
            while not (self._sealed or kick.is_set()):
                remaining = self.flush_interval - (time.monotonic() - last_send)
                if remaining <= 0:
                    break
                kick.wait(remaining)
            kick.clear()
            with self._lock:
                if time.monotonic() - last_send >= self.flush_interval or self._closing:
                    self._seal_locked()
                    last_send = time.monotonic()
                sealed = list(self._sealed)
                self._sealed.clear()
                closing = self._closing
                flushing, self._flush_requested = self._flush_requested, False
            for seq, key_list, kidx, vals, steps, ts in sealed:
                self._pending.append(_Batch(seq, len(vals), _encode_batch(self.id, seq, key_list, kidx, vals, steps, ts)))
            # Open the stream when there is something to send, and send what is not sent yet.
            # A stream is half-closed (then replaced) when a flush waits on it, when the daemon
            # goes away, or when its oldest batch waits too long: the daemon ends the call, with
            # the error of a refused batch if there is one, only once the requests have ended.
            try:
                if stream is not None and stream.ended:
                    stream = self._drain_acks(stream)
                    draining = False
                if stream is None and any(not b.sent for b in self._pending):
                    stream = self.client.channel.open_call(STREAM_METRICS)
                    stream.set_on_ready(self._poke)
                    draining = False
                if stream is not None and not draining and stream.connection.usable:
                    for batch in self._pending:
                        if not batch.sent:
                            stream.send(batch.payload)
                            batch.sent = True
                            batch.sent_at = time.monotonic()
                if stream is not None:
                    stream = self._drain_acks(stream)
                if stream is None:
                    draining = False
                elif not draining and self._pending and (
                        flushing or closing or not stream.connection.usable
                        or time.monotonic() - self._pending[0].sent_at > self.stall_timeout):
                    stream.half_close()
                    draining = True
                outage_since = None
                backoff = 0.05
            except RPCError as error:
                stream = None
                draining = False
                for batch in self._pending:
                    batch.sent = False
                if error.code not in _RETRYABLE:
                    self._isolate(error)
                else:
                    now = time.monotonic()
                    outage_since = outage_since or now
                    if now - outage_since >= self.retry_timeout:
                        self._fail(Unavailable(
                            f"{error.message}; gave up after {self.retry_timeout:.0f}s of retries with "
                            f"{self._points} points of run {self.id} not stored"))
                        return
                    kick.wait(backoff)  # a kick (flush, end, a sealed batch) cuts it short and stays set
                    backoff = min(backoff * 2, 2.0)
                    continue
            if closing and not self._pending:
                with self._lock:
                    done = not self._sealed and not self._vals
                if done:
                    if stream is not None:
                        try:
                            stream.half_close()
                            while stream.recv() is not None:
                                pass
                        except RPCError:
                            pass
                    return

    def _drain_acks(self, stream: RawCall) -> Optional[RawCall]:
        """Takes the acknowledgements that arrived; None once the stream has ended cleanly.
        Raises the stream's error."""
        acked = 0
        try:
            while True:
                payload = stream.recv(block=False)
                if payload is None:
                    break
                ack = tracking_pb2.LogMetricsResponse.FromString(payload)
                while self._pending and self._pending[0].seq <= ack.sequence:
                    acked += self._pending.popleft().points
        finally:
            if acked:
                with self._lock:
                    self._points -= acked
                    self._cond.notify_all()
        if not stream.ended:
            return stream
        for batch in self._pending:  # ended without acknowledging them: send them again
            batch.sent = False
        return None

    def _isolate(self, error: RPCError) -> None:
        """The stream failed with a non-retryable status: send the unacknowledged batches one by
        one with LogMetrics, so that only the batches the daemon refuses are reported."""
        for batch in list(self._pending):
            try:
                request = tracking_pb2.MetricBatch.FromString(batch.payload)
                self.client.tracking.log_metrics(request)
            except RPCError as exc:
                if exc.code in _RETRYABLE:
                    return  # retried by the send loop
                with self._lock:
                    self._rejected.append(RPCError.from_status(
                        exc.code, f"{batch.points} points of run {self.id} were refused: {exc.message}", exc.details))
            self._pending.popleft()
            with self._lock:
                self._points -= batch.points
                self._cond.notify_all()

    def _fail(self, error: RPCError) -> None:
        with self._lock:
            self._error = error
            self._cond.notify_all()

    # -- the rest of the run -------------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> int:
        """Logs params (nested dicts are flattened with "."); returns how many were new."""
        request = tracking_pb2.LogParamsRequest(run_id=self.id)
        for key, value in _convert.flatten_params(params).items():
            request.params[key].CopyFrom(_convert.param_value(value))
        return self.client.tracking.log_params(request).stored

    def set_tags(self, tags: Union[Mapping[str, Any], Iterable[str]], remove: Iterable[str] = ()) -> None:
        """Adds or overwrites tags (a mapping, or labels with an empty value) and removes `remove`."""
        request = tracking_pb2.SetRunTagsRequest(run_id=self.id, tags=_convert.tag_map(tags), remove_keys=list(remove))
        self.client.tracking.set_run_tags(request)

    def log_artifact(self, path: Union[str, "os.PathLike[str]"], name: Optional[str] = None, *, type: str = "other",
                     aliases: Iterable[str] = (), metadata: Optional[Mapping[str, str]] = None,
                     chunk_size: int = 1 << 20) -> tracking_pb2.Artifact:
        """Uploads a file as a new version of the artifact `name` (default: the file's name).
        The daemon checks the content against the SHA-256 computed here first."""
        path = os.fspath(path)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(chunk_size), b""):
                digest.update(block)
        header = tracking_pb2.ArtifactHeader(
            run_id=self.id, name=name or os.path.basename(path), type=_ARTIFACT_TYPES[type.lower()],
            metadata=dict(metadata or {}), expected_sha256=digest.hexdigest(), aliases=list(aliases))

        def requests() -> Iterable[tracking_pb2.UploadArtifactRequest]:
            yield tracking_pb2.UploadArtifactRequest(header=header)
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(chunk_size), b""):
                    yield tracking_pb2.UploadArtifactRequest(chunk=block)

        return self.client.tracking.upload_artifact(requests())

    def history(self, keys: Optional[Iterable[str]] = None, *, max_points: int = 0,
                min_step: int = 0, max_step: int = 0) -> "Dict[str, Any]":
        """The run's stored metric history per key (see `Client.history`)."""
        return self.client.history(self.id, keys, max_points=max_points, min_step=min_step, max_step=max_step)

    def info(self) -> Any:
        """The run as the daemon has it now (`RunInfo`)."""
        return self.client.get_run(self.id)

    def end(self, status: str = "completed", error: str = "", *, timeout: Optional[float] = None) -> None:
        """Flushes, stops the sender and ends the run with `status` ("completed", "failed",
        "killed"). Raises what `flush` raises, after ending the run."""
        if self._ended:
            return
        flush_error = self._stop(timeout)
        if os.getpid() == self._owner_pid:
            try:
                self.client.tracking.end_run(tracking_pb2.EndRunRequest(run_id=self.id, status=_STATUS[status], error=error))
            except RPCError:
                if flush_error is None:
                    raise
        if flush_error is not None:
            raise flush_error

    def _stop(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """Flushes and stops the sender; returns what the flush raised. The run stays open."""
        self._ended = True
        _open_runs.pop(self.id, None)
        flush_error: Optional[BaseException] = None
        try:
            self.flush(timeout)
        except BaseException as exc:
            flush_error = exc
        with self._lock:
            self._closing = True
            thread = self._thread
        self._kick.set()
        if thread is not None:
            thread.join(5.0)
        return flush_error

    def _detach(self, timeout: Optional[float] = None) -> None:
        """Flushes and stops the sender without ending the run, for runs someone else ends (the
        daemon ends a sweep trial's run when the trial is reported). Raises what `flush` raises."""
        if self._ended:
            return
        flush_error = self._stop(timeout)
        if flush_error is not None:
            raise flush_error

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.end("completed")
            return
        text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        try:
            self.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed", error=text)
        except Exception as end_error:  # do not hide the exception that escaped the block
            print(f"tally: while ending run {self.id}: {end_error}", file=sys.stderr)

    def __repr__(self) -> str:
        return f"<tally.Run {self.id} {self.name!r} experiment={self.experiment_id}>"

    def _after_fork(self) -> None:
        # The child starts with empty buffers: what the parent logged is the parent's to send.
        self._init_state()


_live_runs: "weakref.WeakSet[Run]" = weakref.WeakSet()
_open_runs: Dict[str, Run] = {}
_escaped: List[str] = []


def _excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
    _escaped.append("".join(traceback.format_exception_only(exc_type, exc)).strip())
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook
sys.excepthook = _excepthook


@atexit.register
def _end_open_runs() -> None:
    """Flushes runs left open; a run this process started is ended too, `failed` when an
    exception ended the program (not a sweep trial's run: the daemon ends it with the trial)."""
    for run in list(_open_runs.values()):
        try:
            if os.getpid() == run._owner_pid and run._end_at_exit:
                run.end("failed", error=_escaped[-1]) if _escaped else run.end("completed", timeout=30)
            else:
                run.flush(timeout=30)
        except Exception as exc:
            print(f"tally: run {run.id} was not flushed at exit: {exc}", file=sys.stderr)


def _reset_after_fork() -> None:
    for run in list(_live_runs):
        run._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
