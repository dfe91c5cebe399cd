"""`Run`: a running run, its background sender and journal, and the exit hooks.

`Run.log` only appends to in-memory columns under a lock. A background thread seals the columns
into `MetricBatch`es (every `flush_interval` seconds, or as soon as `batch_points` are buffered)
and sends them on the run's `WriteRun` call (with its params, tags and end, in order); the
daemon answers each write in order
once it is committed. `flush()` waits for everything logged before it to be settled.

`Run.log` makes no system call in the common case (they are what costs under sandboxed kernels,
where reading the clock is a syscall and every futex wake-up is expensive): it reads the time
from `_clock.now_ms`, which the process's clock thread (one for all runs, `_Clock`), never
blocking on I/O, refreshes every `_TICK` seconds while logging goes on (points logged within one
tick share a timestamp), and takes a lock the sender seldom takes (to seal the columns and to
count acknowledgements), so it is uncontended. Nothing on that path wakes the sender: the clock
thread kicks it (`_kick`) when it sees a sealed batch, and so do `flush`, `end`, back-pressure at
`max_buffered_points` and the transport's callbacks. While the clock thread is not ticking (no
log call in any run for `_IDLE_AFTER`, no run open), `_clock.live` is False and `log` reads the
clock itself, so a timestamp is at most about a tick plus the interpreter's switch interval old.
All file I/O (the journal) happens on the sender thread.

Delivery is exactly once: every batch carries the run's `writer_id` (random per `Run` object)
and its `sequence`, and the daemon stores a batch it already has only once (acknowledging it as a
duplicate), so the sender may always send again what was not acknowledged. Everything the sender
handles is an entry of one queue, in order: batches, and the run's params, tags and end (and its
start, when it started offline), all sent as `RunWrite`s on one `WriteRun` call. When the daemon cannot take them with a status that may
clear (`_journal.may_clear`), or a batch waited `retry_timeout` seconds unacknowledged, the queue
goes to the run's journal (`_journal.py`), and so does everything sealed after, until the journal
is delivered; the sender reconnects with backoff (50 ms to 2 s, forever) and sends the journal's
entries in order, then removes it. A status that cannot clear is a refusal: it ends the call,
and the first entry not answered is the one refused (the daemon applies nothing after it), so
exactly the refused points are counted; the rest is sent again, and the next `log`, `flush` or
`end` raises with their count. Every point logged is, at any time, acknowledged,
journalled, refused, or buffered in memory (`acknowledged_points`, `journalled_points`,
`refused_points`, `buffered_points`).
"""

import atexit
import contextlib
from array import array
import hashlib
import operator
import os
import re
import secrets
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from tally import _convert, _env, _folders, _journal, _media, _sysmetrics
from tally._journal import CANCELLED, JournalWriter, may_clear, retried
from tally._transport import RawCall
from tally.errors import InvalidArgument, RPCError, Unavailable
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client

WRITE_RUN = "/tally.v1.Tracking/WriteRun"
_TICK = 0.005  # seconds between refreshes of the coarse clock `log` reads (and polls for sealed batches)
_IDLE_AFTER = 1.0  # seconds without a log call after which the clock thread stops ticking (log then reads the clock)
_BACKOFF_MIN = 0.05  # seconds between delivery attempts while the daemon cannot be reached: from…
_BACKOFF_MAX = 2.0  # …doubling up to
_JOURNAL_RETRY = 2.0  # seconds before trying again to write a journal that could not be written
_SEND_PER_PASS = 64  # entries sent per pass of the sender, so that journalling and acknowledgements keep up
_START_HOLD = 0.02  # seconds a run's start waits for its first points (or end) to travel and commit with it

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

# Kinds of queue entries, all sent as RunWrites on the run's WriteRun call, in order.
_METRICS, _START, _RESUME, _PARAMS, _TAGS, _END = range(6)
_RECORD_FIELD = {_START: "start_run", _RESUME: "resume_run", _PARAMS: "params", _TAGS: "tags", _END: "end_run"}
_RECORD_NAME = {_START: "start", _RESUME: "resumption", _PARAMS: "params", _TAGS: "tags", _END: "end"}


_KEY = re.compile(r"[A-Za-z0-9_\-./:]([A-Za-z0-9_\-./: ]*[A-Za-z0-9_\-./:])?")


def _check_key(key: Any) -> None:
    """The daemon's rule for metric keys, checked on a key's first use so that one bad key
    fails its `log` call instead of the whole batch."""
    if not isinstance(key, str) or len(key) > 250 or not _KEY.fullmatch(key):
        raise InvalidArgument(f"metric key {key!r} must be 1 to 250 of letters, digits, _ - . / : and inner spaces")


def _float_column(values: Any) -> List[float]:
    """A column of `log_columns` as floats; NumPy arrays and pandas Series through `tolist()`."""
    if type(values).__module__.split(".")[0] in ("numpy", "pandas", "torch", "jax", "jaxlib") and hasattr(values, "tolist"):
        values = values.tolist()
    try:
        return array("d", values).tolist()  # checks and converts in C
    except TypeError:
        return [float(v) for v in values]  # what float() accepts, as `log` takes it


def _int_column(steps: Any) -> List[int]:
    if type(steps).__module__.split(".")[0] in ("numpy", "pandas", "torch", "jax", "jaxlib") and hasattr(steps, "tolist"):
        steps = steps.tolist()
    try:
        return array("q", steps).tolist()
    except TypeError:
        return [operator.index(s) for s in steps]


def new_id() -> str:
    """A run or writer id as the daemon makes them: 16 lower-case hex characters."""
    return secrets.token_hex(8)


def _count(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


class _Entry:
    """One thing to deliver: a sealed batch (`columns`, then its encoding `payload`) or a record
    that is not a batch (`request`). `journalled`: it is in the journal (a batch's bytes
    then at `where`, and its payload no longer held)."""

    __slots__ = ("kind", "seq", "points", "columns", "payload", "where", "request", "journalled",
                 "sent", "sent_at", "tries", "done", "error", "answer")

    def __init__(self, kind: int, seq: int, points: int = 0, columns: Any = None, request: Any = None) -> None:
        self.kind = kind
        self.seq = seq
        self.points = points
        self.columns = columns
        self.payload: Optional[bytes] = None
        self.where: Tuple[int, int] = (0, 0)
        self.request = request
        self.journalled = False
        self.sent = False
        self.sent_at = 0.0
        self.tries = 0
        self.done = False
        self.error: Optional[RPCError] = None
        self.answer: Any = None  # the daemon's answer to a record (a Run, LogParamsResponse)


class _Clock:
    """The process's clock thread: while any run logs, refreshes `now_ms` every `_TICK` seconds
    (`live` is then True), and kicks the sender of a run that has sealed a batch. Never blocks but
    to sleep, so the clock stays fresh while senders wait on the daemon. Ends once no run it
    watches (from its sender's start to its end) has been open for `_IDLE_AFTER` seconds, so
    that a program of many short runs starts it once; `watch` starts it again."""

    def __init__(self) -> None:
        self.now_ms = 0
        self.live = False
        self._lock = threading.Lock()
        self._runs: "weakref.WeakSet[Run]" = weakref.WeakSet()
        self._thread: Optional[threading.Thread] = None

    def watch(self, run: "Run") -> None:
        with self._lock:
            self._runs.add(run)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="tally-clock", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        seen: "weakref.WeakKeyDictionary[Run, Tuple[int, int]]" = weakref.WeakKeyDictionary()
        last_activity = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                with self._lock:
                    runs = [run for run in self._runs if not run._closing and run._thread is not None
                            and run._thread.is_alive()]
                    if not runs and now - last_activity >= _IDLE_AFTER:
                        self._thread = None
                        return
                if not runs:
                    self.live = False
                    time.sleep(_TICK)
                    continue
                for run in runs:
                    activity = (run._seq, len(run._vals))  # changes only when points are logged
                    if seen.get(run) != activity:
                        seen[run] = activity
                        last_activity = now
                    if run._sealed:
                        run._kick.set()
                if now - last_activity < _IDLE_AFTER:
                    self.now_ms = int(time.time() * 1000)
                    self.live = True
                    time.sleep(_TICK)
                else:
                    self.live = False
                    time.sleep(0.1)
        finally:
            self.live = False

    def after_fork(self) -> None:
        # The parent's clock thread does not exist in the child.
        self._lock = threading.Lock()
        self._thread = None
        self.live = False


_clock = _Clock()


class _SenderHandle:
    """A run's sender as `Run` waits for it (`is_alive`, `join`), on a thread of `_Senders`."""

    __slots__ = ("done", "thread")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def is_alive(self) -> bool:
        return not self.done.is_set()

    def join(self, timeout: Optional[float] = None) -> None:
        self.done.wait(timeout)


class _SenderSlot:
    __slots__ = ("wake", "work")

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.work: Optional[Tuple[Callable[[], None], _SenderHandle, str]] = None


class _Senders:
    """The threads runs' senders run on. A thread whose sender has finished waits `_IDLE_AFTER`
    seconds for the next run's, so that a program of many short runs starts few threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: List[_SenderSlot] = []

    def start(self, target: Callable[[], None], name: str) -> _SenderHandle:
        handle = _SenderHandle()
        with self._lock:
            if self._idle:
                slot = self._idle.pop()
                slot.work = (target, handle, name)
                slot.wake.set()
                return handle
        slot = _SenderSlot()
        slot.work = (target, handle, name)
        threading.Thread(target=self._worker, args=(slot,), name=name, daemon=True).start()
        return handle

    def _worker(self, slot: _SenderSlot) -> None:
        me = threading.current_thread()
        while True:
            work, slot.work = slot.work, None
            assert work is not None
            target, handle, name = work
            me.name = name
            handle.thread = me
            try:
                target()
            except BaseException:
                traceback.print_exc()  # `Run._send_loop` has failed the run with it
            finally:
                handle.done.set()
            slot.wake.clear()
            with self._lock:
                self._idle.append(slot)
            if not slot.wake.wait(_IDLE_AFTER):
                with self._lock:
                    if slot in self._idle:  # not handed a sender meanwhile
                        self._idle.remove(slot)
                        return
                slot.wake.wait()

    def after_fork(self) -> None:
        # The parent's idle threads do not exist in the child.
        self._lock = threading.Lock()
        self._idle = []


_senders = _Senders()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _encode_batch(run_id: str, writer_id: str, seq: int, key_list: List[str], kidx: List[int], vals: List[float],
                  steps: List[int], ts: List[int]) -> bytes:
    """A serialized `MetricBatch`. Values (field 4, packed doubles) and, with fewer than 128 keys,
    key indexes (field 3, one-byte varints) are packed straight from arrays, which is several times
    faster than converting the lists into the message; the other fields go through protobuf.
    Fields may come in any order in the encoding, so the parts are concatenated."""
    head = tracking_pb2.MetricBatch(run_id=run_id, keys=key_list, steps=steps, timestamps_ms=ts, sequence=seq,
                                    writer_id=writer_id)
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
    """A run this process logs to. Use it as a context manager (see `tally.start_run`).

    Where its points are: `acknowledged_points` (committed by the daemon), `journalled_points`
    (in the run's journal on disk, not yet delivered), `refused_points` (refused by the daemon
    with a status that cannot clear; reported by the next `log`, `flush` or `end`) and
    `buffered_points` (in memory, not yet sent or not yet acknowledged). Their sum is the number
    of points logged. `journal_path` is where the run's journal goes when it needs one.

    A run's start travels on the run's stream with its first points (or its end), at the latest
    `_START_HOLD` seconds after `start_run`: the daemon commits them together. Calls through the
    same client wait for it first (they see the run); the daemon's refusal of the start is
    raised by the next `log`, `flush` or `end`."""

    def __init__(self, client: "Client", record: tracking_pb2.Run, *, flush_interval: float = 0.1,
                 batch_points: int = 20_000, max_buffered_points: int = 1_000_000,
                 retry_timeout: float = 10.0, stall_timeout: float = 5.0, heartbeat_interval: Optional[float] = 15.0,
                 capture_env: bool = False, capture_diff: bool = False, system_metrics: bool = False,
                 system_metrics_interval: float = 10.0,
                 _start: Optional[tracking_pb2.StartRunRequest] = None, _offline: bool = False,
                 _resume: Optional[tracking_pb2.ResumeRunRequest] = None) -> None:
        self.client = client
        self.id = record.id
        self._experiment_id = record.experiment_id  # "" until the start is answered
        self.name = record.name
        self.parent_run_id = record.parent_run_id
        self._note = record.note
        self.flush_interval = flush_interval
        self.batch_points = batch_points
        self.max_buffered_points = max_buffered_points
        self.retry_timeout = retry_timeout
        self.stall_timeout = stall_timeout
        self.heartbeat_interval = heartbeat_interval or 0.0
        self._journal_dir = _journal.journal_dir_for(getattr(client.channel, "address", None))
        self._owner_pid = os.getpid()
        self._ended = False
        self._end_at_exit = True  # False for runs someone else ends (sweep trials): only flushed at exit
        # Next automatic step per key, as the daemon would choose it (highest step + 1).
        self._next_step: Dict[str, int] = {m.key: m.last_step + 1 for m in record.metrics if m.count}
        self._valid_keys: Set[str] = set(self._next_step)
        self._image_steps: Dict[str, int] = {}  # next automatic step of log_image / log_table per key
        # The environment (start_run only): its params join the start before the sender sends it
        # (`_apply_env`); its artifacts are uploaded once the start is delivered (`_upload_env`).
        self._env_ready = threading.Event()
        self._env: Optional[_env.Capture] = None
        if capture_env and _start is not None:
            self._env = _env.Capture(capture_diff, then=self._upload_env, socket=client.channel.socket_path,
                                     run_id=record.id)
        self._init_state()
        with self._lock:
            if _start is not None and _offline:
                self._start_offline_locked(_start)
            elif _start is not None:
                self._hold_start_locked(_start)
            elif _resume is not None:  # resumed offline: steps continue once the daemon says where
                self._journalling = True
                self._steps_unknown = True
                self._enqueue_locked(_RESUME, _resume)
            self._start_locked()
        _live_runs.add(self)
        _open_runs[self.id] = self
        self._env_ready.set()
        if system_metrics:
            _sysmetrics.sampler.register(self, system_metrics_interval)

    def _init_state(self) -> None:
        self.writer_id = new_id()
        self.journal_path = _journal.journal_path(self.id, self.writer_id, self._journal_dir)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._new_columns()
        self._sealed: Deque[_Entry] = deque()  # sealed by log, flush, end…, not yet taken by the sender
        self._start_entry: Optional[_Entry] = None
        self._held: Optional[_Entry] = None  # the start, until something else is sealed or `_held_until`
        self._held_until = 0.0
        self._pending: Deque[_Entry] = deque()  # taken by the sender, not yet settled (sender-owned; popped under the lock)
        self._seq = 0  # last sequence number given to an entry
        self._points = 0  # points in memory: logged and not yet acknowledged, journalled or refused (the bounded buffer)
        self.acknowledged_points = 0
        self.journalled_points = 0
        self.refused_points = 0
        self._error: Optional[RPCError] = None  # fatal: the sender has stopped
        # Refusals not yet reported; `_refusal` is what the next log, flush or end raises.
        self._refusal: Optional[RPCError] = None
        self._unreported_points = 0
        self._unreported_first: Optional[RPCError] = None
        self._unreported_records: List[str] = []
        self._first_refusal = ""  # the run's first refused points: status and message, for the end's error
        self._first_refusal_code = 9
        self._steps_unknown = False  # resumed offline: automatic steps wait for the daemon's answer
        # Journal: `_journalling` while entries go to the journal instead of memory (read by other
        # threads to route params and tags); `_to_journal`: entries still to write there, in order.
        self._journalling = False
        self._journal: Optional[JournalWriter] = None
        self._to_journal: Deque[_Entry] = deque()
        self._journal_error: Optional[BaseException] = None
        self._journal_retry_at = 0.0
        # Flushes: each asks for a delivery attempt (`_flush_gen`); everything up to
        # `_offline_through` is in the synced journal while the daemon cannot take it.
        self._flush_gen = 0
        self._answered_gen = 0
        self._offline_through = 0
        self._stuck: Optional[RPCError] = None  # unreachable daemon and unwritable journal, as of `_answered_gen`
        self._stream: Optional[RawCall] = None
        self._draining = False
        self._last_write = time.monotonic()
        # Wakes the sender. Set by flush, end, back-pressure and the transport, never by a plain log.
        self._kick = threading.Event()
        self._closing = False
        self._thread: Optional[_SenderHandle] = None

    def _start_offline_locked(self, request: tracking_pb2.StartRunRequest) -> None:
        """Queues the start, the journal's first record."""
        self._journalling = True
        self._start_entry = self._enqueue_locked(_START, request)

    def _hold_start_locked(self, request: tracking_pb2.StartRunRequest) -> None:
        """Queues the start, held until the first points or the end go with it (or `_START_HOLD`)."""
        self._seq += 1
        held = _Entry(_START, self._seq, request=request)
        self._start_entry = held
        self._held = held
        self._held_until = time.monotonic() + _START_HOLD
        self.client._starting[self.id] = self

    def _new_columns(self) -> None:
        self._keys: Dict[str, int] = {}
        self._key_list: List[str] = []
        # Key indexes of each set of keys `log` was called with, for the columns being filled.
        self._shapes: Dict[Tuple[Any, ...], List[int]] = {}
        self._kidx: List[int] = []
        self._vals: List[float] = []
        self._steps: List[int] = []
        self._ts: List[int] = []

    @property
    def buffered_points(self) -> int:
        """Points logged and held in memory: not yet acknowledged, journalled or refused."""
        return self._points

    # -- logging -------------------------------------------------------------------------------

    def log(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        """Records metric values (anything `float()` accepts) at `step`, or at each key's next
        step (its highest step + 1, from 0). Returns at once: points are sent in the background.
        Blocks only while `max_buffered_points` points wait in memory. Raises, once, the error of
        points the daemon refused since the last report, with their count."""
        values = [float(v) for v in metrics.values()]
        shape = tuple(metrics)
        with self._lock:
            if self._refusal is not None:
                raise self._take_refusal_locked()
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
            next_step = self._next_step
            if step is None:
                if self._steps_unknown:
                    raise Unavailable(f"run {self.id} was resumed while the daemon could not be reached: its last "
                                      "steps are not known yet, so log needs explicit steps until the daemon is back")
                self._kidx += indexes
                steps = self._steps
                for key in shape:
                    s = next_step.get(key, 0)
                    next_step[key] = s + 1
                    steps.append(s)
            else:
                self._kidx += indexes
                self._steps += [step] * count
                following = step + 1
                for key in shape:
                    if next_step.get(key, 0) < following:
                        next_step[key] = following
            self._vals += values
            # Read under the lock, after the loops above (where the interpreter lets the sender
            # run if it asked to), so that timestamps follow the order of the points.
            clock = _clock
            ts = clock.now_ms if clock.live else int(time.time() * 1000)
            self._ts += [ts] * count
            self._points += count
            if len(self._vals) >= self.batch_points:
                self._seal_locked()  # the clock thread kicks the sender on its next tick

    def log_columns(self, columns: Mapping[str, Any], steps: Optional[Iterable[int]] = None) -> int:
        """Records whole columns at once: `{"loss": [...], "acc": [...]}`, one value per step
        of `steps` (lists, tuples, ranges, NumPy arrays or pandas Series; all of one length), or,
        without `steps`, at each key's next steps: the same points as a loop of `log(row)` over
        the rows, appended to the run's buffers under one lock, so it is the fastest way to log
        many points. Returns the number of points; raises `ValueError` when the lengths differ,
        `InvalidArgument` for a bad key, and, once, the error of points the daemon refused."""
        keys = list(columns)
        values = [_float_column(columns[key]) for key in keys]
        count = len(values[0]) if values else 0
        for key, column in zip(keys, values):
            if len(column) != count:
                raise ValueError(f"log_columns: column {key!r} has {len(column)} values, column {keys[0]!r} {count}")
        step_list = None
        if steps is not None:
            step_list = _int_column(steps)
            if len(step_list) != count:
                raise ValueError(f"log_columns: {len(step_list)} steps for columns of {count} values")
        self._append_columns(keys, values, step_list)
        return count * len(keys)

    def _append_columns(self, keys: List[str], values: List[List[float]], steps: Optional[List[int]],
                        internal: bool = False) -> bool:
        """Appends `values[i]` of `keys[i]` at `steps` (or each key's next steps) to the
        columns being filled, sealing a batch at every `batch_points`. `internal` (system
        metrics): nothing is raised or waited for; False when the run takes no more points."""
        count = len(values[0]) if values else 0
        with self._lock:
            if internal:
                if self._ended or self._closing or self._error is not None:
                    return False
                if self._points + count * len(keys) > self.max_buffered_points:
                    return True
            elif self._refusal is not None:
                raise self._take_refusal_locked()
            if self._thread is None:
                self._start_locked()
            valid = self._valid_keys
            for key in keys:
                if key not in valid:
                    _check_key(key)
                    valid.add(key)
            if not count:
                return True
            next_step = self._next_step
            key_steps: List[List[int]] = []
            if steps is None:
                if self._steps_unknown:
                    raise Unavailable(f"run {self.id} was resumed while the daemon could not be reached: its last "
                                      "steps are not known yet, so log needs explicit steps until the daemon is back")
                for key in keys:
                    first = next_step.get(key, 0)
                    next_step[key] = first + count
                    key_steps.append(list(range(first, first + count)))
            else:
                following = max(steps) + 1
                for key in keys:
                    if next_step.get(key, 0) < following:
                        next_step[key] = following
                key_steps = [steps] * len(keys)
            clock = _clock
            ts = clock.now_ms if clock.live else int(time.time() * 1000)
            for key, column, column_steps in zip(keys, values, key_steps):
                done = 0
                while done < count:
                    if not internal and self._points >= self.max_buffered_points:
                        self._wait_for_room_locked()
                    index = self._keys.get(key)  # the columns are new after each seal
                    if index is None:
                        index = self._keys[key] = len(self._key_list)
                        self._key_list.append(key)
                    end = min(count, done + max(1, self.batch_points - len(self._vals)))
                    n = end - done
                    if done == 0 and end == count:
                        self._vals += column
                        self._steps += column_steps
                    else:
                        self._vals += column[done:end]
                        self._steps += column_steps[done:end]
                    self._kidx += [index] * n
                    self._ts += [ts] * n
                    self._points += n
                    done = end
                    if len(self._vals) >= self.batch_points:
                        self._seal_locked()  # the clock thread kicks the sender on its next tick
        return True

    def _wait_for_room_locked(self) -> None:
        while self._points >= self.max_buffered_points and self._error is None:
            self._kick.set()
            self._cond.wait(1.0)
        if self._error is not None:
            raise self._error

    def _release_start_locked(self) -> None:
        """The held start goes to the sender, ahead of everything sealed after it."""
        if self._held is not None:
            self._sealed.appendleft(self._held)
            self._held = None

    def _seal_locked(self) -> None:
        self._release_start_locked()  # the start goes first, with what is sealed now
        if not self._vals:
            return
        self._seq += 1
        columns = (self._key_list, self._kidx, self._vals, self._steps, self._ts)
        self._sealed.append(_Entry(_METRICS, self._seq, len(self._vals), columns=columns))
        self._new_columns()

    def _enqueue_locked(self, kind: int, request: Any) -> _Entry:
        """Queues a record after everything logged so far."""
        self._seal_locked()
        self._seq += 1
        entry = _Entry(kind, self._seq, request=request)
        self._sealed.append(entry)
        self._kick.set()
        return entry

    def _done_seq_locked(self) -> int:
        """Every entry up to this sequence is settled (acknowledged or refused)."""
        if self._held is not None:
            return self._held.seq - 1
        if self._pending:
            return self._pending[0].seq - 1
        if self._sealed:
            return self._sealed[0].seq - 1
        return self._seq

    def _take_refusal_locked(self) -> RPCError:
        error = self._refusal
        assert error is not None
        self._refusal = None
        self._unreported_points = 0
        self._unreported_first = None
        self._unreported_records = []
        return error

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every point logged so far is acknowledged by the daemon, refused, or, when
        the daemon cannot take it now, written to the run's journal and synced to disk (to be
        delivered later). Raises, once, the error of points the daemon refused since the last
        report, with their count; `Unavailable` when the daemon cannot be reached and the journal
        cannot be written (the points stay in memory and are still sent later);
        `DeadlineExceeded` after `timeout` seconds."""
        with self._lock:
            if self._thread is None and (self._vals or self._sealed):
                self._start_locked()
            self._seal_locked()
            self._wait_settled_locked(self._seq, timeout)
            if self._refusal is not None:
                raise self._take_refusal_locked()

    def _wait_settled_locked(self, target: int, timeout: Optional[float]) -> None:
        """Asks the sender to deliver now and waits until every entry up to `target` is settled
        or safe in the journal while the daemon cannot take it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._flush_gen += 1
        gen = self._flush_gen
        self._kick.set()
        while self._done_seq_locked() < target and self._offline_through < target:
            if self._error is not None:
                raise self._error
            if self._stuck is not None and self._answered_gen >= gen:
                raise self._stuck
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RPCError.from_status(4, f"flush did not finish within {timeout}s ({self._points} points of run "
                                              f"{self.id} in memory, {self.journalled_points} in its journal)")
            self._cond.wait(remaining)

    # -- the background sender -----------------------------------------------------------------

    def _start_locked(self) -> None:
        self._thread = _senders.start(self._send_loop, f"tally-run-{self.id}")
        _clock.watch(self)

    def _poke(self) -> None:
        self._kick.set()

    def _send_loop(self) -> None:
        _local.sender = True  # calls this thread makes do not wait for runs' starts (`_wait_started`)
        try:
            self._sender()
        except BaseException as exc:  # a bug must not leave flush, end and back-pressure waiting forever
            self._fail(RPCError.from_status(13, f"the sender of run {self.id} stopped: {exc!r}"))
            raise

    def _sender(self) -> None:
        kick = self._kick
        pending = self._pending
        last_seal = time.monotonic()
        failures = 1 if self._journalling else 0  # consecutive failed delivery attempts
        backoff = _BACKOFF_MIN
        retry_at = 0.0
        attempted_gen = 0
        last_error: Optional[RPCError] = None
        while True:
            # Wait until kicked, a batch is sealed or `flush_interval` has passed. Whatever a
            # kicker changed before its set() is seen below, as the kick is cleared before.
            while not (self._sealed or kick.is_set()):
                now = time.monotonic()
                remaining = self.flush_interval - (now - last_seal)
                if self._held is not None:
                    remaining = min(remaining, self._held_until - now)
                if remaining <= 0:
                    break
                kick.wait(remaining)
            kick.clear()
            with self._lock:
                now = time.monotonic()
                if now - last_seal >= self.flush_interval or self._closing:
                    self._seal_locked()
                    last_seal = now
                elif self._held is not None and now >= self._held_until:
                    self._release_start_locked()  # alone: the points logged so far keep filling their batch
                new = list(self._sealed)
                pending.extend(new)  # under the lock: an entry is always in `_sealed` or `_pending` until settled
                self._sealed.clear()
                closing = self._closing
                flush_gen = self._flush_gen
            for entry in new:
                if entry.kind == _METRICS:
                    entry.payload = _encode_batch(self.id, self.writer_id, entry.seq, *entry.columns)
                    entry.columns = None
                elif entry.kind == _START and self._env is not None:
                    self._apply_env(entry.request)
                if self._journalling:
                    self._to_journal.append(entry)
            now = time.monotonic()
            if (not self._journalling and pending and pending[0].sent
                    and now - pending[0].sent_at > self.retry_timeout):
                self._enter_journal()  # waited too long unacknowledged in memory
            if self._to_journal:
                self._write_journal(now)

            # Deliver: send what is not sent, take acknowledgements, send records in order.
            wanted = flush_gen > attempted_gen
            heartbeat = (not pending and not closing and self.heartbeat_interval > 0
                         and now - self._last_write >= self.heartbeat_interval)
            if (pending or heartbeat) and (failures == 0 or now >= retry_at or wanted):
                attempted_gen = flush_gen
                try:
                    self._deliver(flushing=wanted or closing, heartbeat=heartbeat)
                    failures = 0
                    backoff = _BACKOFF_MIN
                    if self._stuck is not None:
                        with self._lock:
                            self._stuck = None
                except RPCError as error:
                    self._drop_stream()
                    last_error = error
                    self.client._no_more_autostart()  # tried (or off) for this client's first connection
                    if error.code == CANCELLED:  # the client was closed: leave the journal for later
                        self._park(error)
                        return
                    failures += 1
                    if pending:
                        self._enter_journal()
                        self._write_journal(now)
                    if failures == 1:
                        retry_at = now  # once at once: the connection may just have been stale
                        kick.set()
                    else:
                        retry_at = now + backoff
                        backoff = min(backoff * 2, _BACKOFF_MAX)

            # Answer a flush while the daemon cannot take the entries (or takes too long): once
            # they are in the journal and synced, the points are safe.
            if self._journalling and flush_gen > self._answered_gen and pending and (
                    failures >= 2 or (pending[0].sent and time.monotonic() - pending[0].sent_at > self.retry_timeout)):
                self._answer_offline(flush_gen, last_error)

            if self._journalling and not pending:
                self._leave_journal()
            if closing and not pending:
                with self._lock:
                    done = not self._sealed and not self._vals
                if done:
                    self._finish_stream()
                    return

    def _deliver(self, flushing: bool, heartbeat: bool) -> None:
        """One delivery pass; raises the error of a status that may clear (or CANCELLED)."""
        pending = self._pending
        for _ in range(1000):
            head = pending[0] if pending else None
            self._stream_writes(flushing)
            if not pending or pending[0] is head:
                break  # the rest waits for answers (or nothing is left)
        if heartbeat and not pending:
            # An empty batch: the daemon hears from this writer while nothing else is sent.
            try:
                self.client.tracking.log_metrics(tracking_pb2.MetricBatch(run_id=self.id, writer_id=self.writer_id),
                                                 timeout=self._call_timeout())
            except RPCError as exc:
                if retried(exc):
                    raise
                self.heartbeat_interval = 0.0  # the run is gone or ended: nothing to keep alive
            self._last_write = time.monotonic()

    def _call_timeout(self) -> float:
        return max(self.retry_timeout, 1.0)

    def _stream_writes(self, flushing: bool) -> None:
        """Sends the entries not sent yet, in order, on the run's WriteRun call (its start,
        batches, params, tags and end alike; the daemon commits what arrives together in one
        transaction), and takes the answers that arrived, which come in order. A stream is
        half-closed (then replaced) when a flush waits on it (so that an idle run holds no call
        open), when the daemon goes away, or when its oldest entry waits too long.
        When the daemon refuses a write the call ends: the entry at the head is the one refused,
        and the ones after it, which the daemon did not apply, are sent again."""
        pending = self._pending
        try:
            stream = self._stream
            if stream is not None and stream.ended:
                stream = self._stream = self._take_results(stream)
                self._draining = False
            to_send: List[_Entry] = []
            for entry in pending:
                if len(to_send) >= _SEND_PER_PASS:
                    break
                if not entry.sent:
                    to_send.append(entry)
            if to_send and len(to_send) == _SEND_PER_PASS:
                self._kick.set()  # more after this pass
            if stream is None and to_send:
                stream = self._stream = self.client.channel.open_call(WRITE_RUN)
                stream.set_on_ready(self._poke)
                self._draining = False
            with contextlib.ExitStack() as cork:
                if stream is not None:
                    cork.enter_context(stream.connection.corked())  # the writes and half-close in one system call
                if stream is not None and not self._draining and stream.connection.usable:
                    for entry in to_send:
                        try:
                            stream.send(self._write_payload(entry))
                        except RPCError as error:
                            if entry is pending[0] or _journal.may_clear(error) or error.code != 8:
                                raise
                            break  # too large to send: refused (below) once it is at the head
                        entry.sent = True
                        entry.tries += 1
                        entry.sent_at = self._last_write = time.monotonic()
                        # Take answers as they come, so that the daemon never waits for credit to
                        # send them while this thread waits for credit to send writes.
                        if self._take_results(stream) is None:
                            break
                if stream is not None:
                    stream = self._stream = self._take_results(stream)
                if stream is None:
                    self._draining = False
                elif not self._draining and pending and pending[0].sent and (
                        flushing or not stream.connection.usable
                        or time.monotonic() - pending[0].sent_at > self.stall_timeout):
                    stream.half_close()
                    self._draining = True
        except RPCError as error:
            self._drop_stream()
            if retried(error):
                raise
            self._refuse_head(error)

    def _payload(self, entry: _Entry) -> bytes:
        """A batch's encoding: in memory, or read back from the journal."""
        if entry.payload is not None:
            return entry.payload
        journal = self._journal
        if journal is None or journal.closed:
            raise RPCError.from_status(15, f"batch {entry.seq} of run {self.id} is neither in memory nor in a journal")
        try:
            return journal.read(*entry.where)
        except OSError as exc:
            raise RPCError.from_status(15, f"batch {entry.seq} of run {self.id} cannot be read back from its journal "
                                           f"{journal.path}: {exc.strerror or exc}") from None

    def _write_payload(self, entry: _Entry) -> bytes:
        """The entry as a serialized RunWrite (a batch's encoding is wrapped as field 2)."""
        if entry.kind == _METRICS:
            batch = self._payload(entry)
            return b"\x12" + _varint(len(batch)) + batch
        return self._record(entry).SerializeToString()  # the journal's records are RunWrites too

    def _take_results(self, stream: RawCall) -> Optional[RawCall]:
        """Settles the entries the answers that arrived are for; None once the stream has ended
        cleanly. Raises the stream's error."""
        while True:
            payload = stream.recv(block=False)
            if payload is None:
                break
            self._settle_head(tracking_pb2.RunWriteResult.FromString(payload), None)
        if not stream.ended:
            return stream
        for entry in self._pending:  # ended without answering them: send them again
            entry.sent = False
        return None

    def _refuse_head(self, error: RPCError) -> None:
        """The daemon refused the write at the head of the queue (the first one not answered)
        with a status that cannot clear."""
        pending = self._pending
        if not pending:
            return
        entry = pending[0]
        if not entry.sent and error.code == 12:
            error = RPCError.from_status(12, f"{error.message}: the daemon is older than this client (it has no WriteRun); "
                                             f"upgrade it", error.details)
        if entry.kind == _START and error.code == _journal.NOT_FOUND and _undelivered(entry.request.parent_run_id):
            # Its parent, started offline in this process too, is not delivered yet.
            raise RPCError.from_status(14, f"{error.message} (the parent run's start is not delivered yet)") from None
        if (entry.kind == _END and error.code == _journal.FAILED_PRECONDITION and "already ended" in error.message
                and (entry.tries > 1 or entry.journalled)):
            self._settle_head(None, None)  # an end sent again after its answer was lost
            return
        self._settle_head(None, error)

    def _settle_head(self, result: Optional[tracking_pb2.RunWriteResult], error: Optional[RPCError]) -> None:
        """The head entry is settled: answered with `result`, or refused with `error`."""
        self._last_write = time.monotonic()
        answer: Any = None
        if result is not None:
            kind = result.WhichOneof("result")
            answer = getattr(result, kind) if kind else None
        with self._lock:
            entry = self._pending.popleft()
            if entry.kind == _METRICS:
                self._settled_locked(entry, error)
            else:
                if entry.kind == _START:
                    self.client._starting.pop(self.id, None)
                if error is None and isinstance(answer, tracking_pb2.Run):
                    if entry.kind in (_START, _RESUME):
                        self._experiment_id = answer.experiment_id
                    if entry.kind == _RESUME:
                        for m in answer.metrics:
                            if m.count:
                                self._next_step[m.key] = max(self._next_step.get(m.key, 0), m.last_step + 1)
                                self._valid_keys.add(m.key)
                        self._steps_unknown = False
                entry.answer = answer
                entry.error = error
                if error is not None and entry.kind != _END:
                    self._note_refusal_locked(error, 0, _RECORD_NAME[entry.kind])
                entry.done = True
                entry.payload = None
            self._cond.notify_all()

    def _settled_locked(self, entry: _Entry, refused: Optional[RPCError] = None) -> None:
        entry.done = True
        entry.payload = None
        n = entry.points
        if entry.journalled:
            self.journalled_points -= n
        else:
            self._points -= n
        if refused is None:
            self.acknowledged_points += n
        else:
            self.refused_points += n
            self._note_refusal_locked(refused, n, "")

    def _note_refusal_locked(self, error: RPCError, points: int, what: str) -> None:
        if points:
            if not self._first_refusal:
                self._first_refusal = f"{error.code_name}: {error.message}"
                self._first_refusal_code = error.code
            self._unreported_points += points
            if self._unreported_first is None:
                self._unreported_first = error
        else:
            self._unreported_records.append(f"the daemon refused the {what} of run {self.id}: {error.message}")
            if self._unreported_first is None:
                self._unreported_first = error
        parts = []
        if self._unreported_points:
            first = self._unreported_first
            assert first is not None
            parts.append(f"{_count(self._unreported_points)} of run {self.id} "
                         f"{'was' if self._unreported_points == 1 else 'were'} refused by the daemon: {first.message}")
        parts += self._unreported_records
        first = self._unreported_first
        assert first is not None
        self._refusal = RPCError.from_status(first.code, "; ".join(parts), first.details)

    def _record(self, entry: _Entry) -> tracking_pb2.RunWrite:
        request = entry.request
        if entry.kind == _END:  # a run with refused points is not `completed`
            request = _journal.refusal_end(request, self.refused_points, self._first_refusal)
        record = tracking_pb2.RunWrite()
        getattr(record, _RECORD_FIELD[entry.kind]).CopyFrom(request)
        return record

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._draining = False
        if stream is not None and stream.status is None:
            try:
                stream.cancel()
            except RPCError:
                pass
        for entry in self._pending:
            entry.sent = False

    def _finish_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.half_close()
                while stream.recv() is not None:
                    pass
            except RPCError:
                pass

    # -- the journal (sender thread only) ------------------------------------------------------

    def _enter_journal(self) -> None:
        """From now on entries go to the journal, starting with every one not yet settled."""
        if self._journalling:
            return
        self._journalling = True
        self._to_journal = deque(entry for entry in self._pending if not entry.journalled)

    def _write_journal(self, now: float) -> None:
        """Appends the entries waiting for the journal, in order. When the journal cannot be
        written, they stay in memory (with back-pressure) and it is tried again later."""
        if now < self._journal_retry_at:
            return
        moved = 0
        queue = self._to_journal
        try:
            journal = self._journal
            if journal is None or journal.closed:
                journal = self._journal = JournalWriter(self.journal_path)
            while queue:
                entry = queue[0]
                if not entry.done and not entry.journalled:
                    if entry.kind == _METRICS:
                        assert entry.payload is not None
                        entry.where = journal.append_metrics(entry.payload)
                        entry.payload = None
                        moved += entry.points
                    else:
                        journal.append(self._record(entry).SerializeToString())
                    entry.journalled = True
                queue.popleft()
            self._journal_error = None
        except Exception as exc:
            self._journal_error = exc
            self._journal_retry_at = now + _JOURNAL_RETRY
        finally:
            if moved:
                with self._lock:
                    self._points -= moved
                    self.journalled_points += moved
                    self._cond.notify_all()

    def _answer_offline(self, flush_gen: int, last_error: Optional[RPCError]) -> None:
        """Syncs the journal and tells waiting flushes that what it holds is safe."""
        self._write_journal(time.monotonic())
        synced = False
        journal = self._journal
        if journal is not None and not journal.closed:
            try:
                journal.sync()
                synced = True
            except OSError as exc:
                self._journal_error = exc
        with self._lock:
            through = 0
            for entry in self._pending:
                if not (entry.journalled and synced):
                    break
                through = entry.seq
            if through > self._offline_through:
                self._offline_through = through
            if self._to_journal or not synced:
                reason = self._journal_error or "not written yet"
                self._stuck = Unavailable(
                    f"{last_error.message if last_error else 'the daemon cannot take the points'}; and the journal "
                    f"{self.journal_path} cannot be written ({reason}): {_count(self._points)} of run {self.id} "
                    f"are held in memory and sent when the daemon is back")
            else:
                self._stuck = None
            self._answered_gen = flush_gen
            self._cond.notify_all()

    def _leave_journal(self) -> None:
        """Everything in the journal is delivered: remove it, and send from memory again."""
        journal, self._journal = self._journal, None
        self._journalling = False
        self._to_journal.clear()
        if journal is not None:
            try:
                journal.close(delete=True)
            except OSError:
                pass

    def _park(self, error: RPCError) -> None:
        """The client was closed: write and sync everything to the journal and leave it there
        (`tally sync` or the daemon at its start delivers it); the sender stops."""
        self._enter_journal()
        self._write_journal(0.0)
        journal, self._journal = self._journal, None
        safe = False
        if journal is not None and not self._to_journal:
            try:
                journal.close()
                safe = True
            except OSError:
                pass
        with self._lock:
            if safe and self._pending:
                self._offline_through = max(self._offline_through, self._pending[-1].seq)
            self._error = RPCError.from_status(error.code, f"{error.message}: run {self.id} cannot send any more"
                                               + (f"; its journal {self.journal_path} holds what was not delivered"
                                                  if safe and self._pending else ""))
            self._cond.notify_all()

    def _fail(self, error: RPCError) -> None:
        with self._lock:
            self._error = error
            self._cond.notify_all()

    # -- the environment (start_run(capture_env=True)) ------------------------------------------

    def _apply_env(self, request: tracking_pb2.StartRunRequest) -> None:
        """Adds the captured `env.` params to the start (sender thread; params given to
        `start_run` win). Waits for the capture, which never takes long (its commands have
        timeouts); whatever is not captured within 10 s is left out."""
        env = self._env
        if env is None:
            return
        for key, value in env.params(10.0).items():
            if key not in request.params:
                request.params[key].CopyFrom(_convert.param_value(value))

    def _upload_env(self, capture: "_env.Capture") -> None:
        """Uploads the environment's artifacts (capture thread) once the start is delivered;
        `end` waits for it. Skipped while the daemon cannot be reached (artifacts are not
        journalled); a failure leaves the artifact out."""
        self._env_ready.wait(5.0)
        if not capture.artifacts:
            return
        self._wait_started()
        entry = self._start_entry
        if entry is None or not entry.done or entry.error is not None or self._journalling:
            return
        for name, data, metadata in capture.artifacts:
            try:
                self._upload_bytes(name, data, type="other", metadata=metadata, timeout=30.0)
            except Exception:
                pass

    # -- system metrics (start_run(system_metrics=True)) --------------------------------------

    def _log_system(self, metrics: Mapping[str, float], step: int) -> bool:
        """Appends one row of system metrics (the sampler's thread). Never raises, never waits
        for room: a sample that does not fit under `max_buffered_points` is skipped. False once
        the run takes no more (ended, or its sender stopped)."""
        try:
            return self._append_columns(list(metrics), [[value] for value in metrics.values()], [step], internal=True)
        except Exception:
            return False

    # -- the rest of the run -------------------------------------------------------------------

    def _record_and_wait(self, kind: int, request: Any) -> _Entry:
        """Queues a record after everything logged so far and waits until it is settled (or
        journalled while the daemon cannot be reached); raises the daemon's refusal of it."""
        with self._lock:
            if self._thread is None:
                self._start_locked()
            entry = self._enqueue_locked(kind, request)
            self._wait_settled_locked(entry.seq, None)
            if entry.error is not None:
                # Reported here, not again by the next log, flush or end.
                if self._refusal is not None and not self._unreported_points and len(self._unreported_records) == 1:
                    self._take_refusal_locked()
                raise entry.error
        return entry

    def log_params(self, params: Mapping[str, Any]) -> int:
        """Logs params (nested dicts are flattened with "."); returns how many were new. While the
        daemon cannot be reached they are journalled (sent later, in order) and 0 is returned."""
        request = tracking_pb2.LogParamsRequest(run_id=self.id)
        for key, value in _convert.flatten_params(params).items():
            request.params[key].CopyFrom(_convert.param_value(value))
        entry = self._record_and_wait(_PARAMS, request)
        return entry.answer.stored if entry.answer is not None else 0

    def set_tags(self, tags: Union[Mapping[str, Any], Iterable[str]], remove: Iterable[str] = ()) -> None:
        """Adds or overwrites tags (a mapping, or labels with an empty value) and removes `remove`.
        While the daemon cannot be reached the change is journalled and sent later, in order."""
        request = tracking_pb2.SetRunTagsRequest(run_id=self.id, tags=_convert.tag_map(tags), remove_keys=list(remove))
        self._record_and_wait(_TAGS, request)

    def log_artifact(self, path: Union[str, "os.PathLike[str]"], name: Optional[str] = None, *, type: str = "other",
                     aliases: Iterable[str] = (), metadata: Optional[Mapping[str, str]] = None,
                     chunk_size: int = 1 << 20) -> tracking_pb2.Artifact:
        """Uploads a file, or a folder, as a new version of the artifact `name` (default: the
        file's or folder's name). The daemon checks the content against the SHA-256 computed here
        first. A folder is one version of every file below it, each checked and stored by its
        SHA-256, so files that did not change between versions are stored once; links to files
        count as the file, links to folders are not followed, empty folders are not kept.
        Artifacts are not journalled: while the daemon cannot be reached this raises
        `Unavailable`."""
        self._check_artifacts_possible()
        path = os.fspath(path)
        if _folders.is_folder(path):
            base = os.path.basename(os.path.normpath(os.path.abspath(path)))
            header = tracking_pb2.ArtifactHeader(
                run_id=self.id, name=name or base, type=_ARTIFACT_TYPES[type.lower()],
                metadata=dict(metadata or {}), aliases=list(aliases))
            files = _folders.walk(path, chunk_size)
            return self._upload(_folders.upload_requests(header, files, chunk_size))
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

        return self._upload(requests())

    def _check_artifacts_possible(self) -> None:
        if self._journalling:
            with self._lock:  # delivers the journal first if the daemon is back
                self._seal_locked()
                try:
                    self._wait_settled_locked(self._seq, None)
                except RPCError:
                    pass
            if self._journalling:
                raise Unavailable(f"the daemon cannot be reached: the artifact is not stored (artifacts are not "
                                  f"journalled; run {self.id}'s points and params are); log it again once the daemon "
                                  f"is back")

    def _upload(self, requests: Iterable[tracking_pb2.UploadArtifactRequest],
                timeout: Optional[float] = None) -> tracking_pb2.Artifact:
        try:
            return self.client.tracking.upload_artifact(requests, timeout=timeout)
        except Unavailable as exc:
            raise Unavailable(f"{exc.message} (artifacts are not journalled: log it again once the daemon is back)",
                              details=exc.details) from None

    def _upload_bytes(self, name: str, data: bytes, *, type: str = "other", metadata: Optional[Mapping[str, str]] = None,
                      timeout: Optional[float] = None, chunk_size: int = 1 << 20) -> tracking_pb2.Artifact:
        """Uploads `data` as a new version of the artifact `name` (see `log_artifact`)."""
        self._check_artifacts_possible()
        header = tracking_pb2.ArtifactHeader(
            run_id=self.id, name=name, type=_ARTIFACT_TYPES[type.lower()], metadata=dict(metadata or {}),
            expected_sha256=hashlib.sha256(data).hexdigest())
        view = memoryview(data)
        requests = [tracking_pb2.UploadArtifactRequest(header=header)] + [
            tracking_pb2.UploadArtifactRequest(chunk=bytes(view[i:i + chunk_size])) for i in range(0, len(data), chunk_size)]
        return self._upload(requests, timeout)

    # -- images and tables (tally._media) ------------------------------------------------------

    def log_image(self, key: str, image: Any, step: Optional[int] = None) -> tracking_pb2.Artifact:
        """Stores an image as the `figure` artifact `<key>/<step>.png` (or `.jpg`), with metadata
        `key`, `step`, `format`, `width` and `height`. `image` is a PNG or JPEG file path or its
        bytes, a PIL image, a NumPy array (HxW grayscale, HxWx1/3/4; uint8, or floats in 0-1,
        clipped) or a Matplotlib figure; `step` defaults to the key's next one (0, 1, …). Like
        `log_artifact`, it uploads before returning and raises `Unavailable` while the daemon
        cannot be reached."""
        return _media.log_image(self, key, image, step)

    def images(self, key: str) -> "List[_media.Image]":
        """The images logged under `key` by this run, in step order (the latest of each step)."""
        return _media.images(self.client, self.id, key)

    def log_table(self, key: str, rows: Any, step: Optional[int] = None, *,
                  format: Optional[str] = None) -> tracking_pb2.Artifact:
        """Stores a table (a list of dicts, or a pandas DataFrame) as the artifact
        `<key>/<step>.parquet` (Parquet when pyarrow is installed) or `<key>/<step>.jsonl` (JSON
        lines, one object per row), with metadata `key`, `step`, `format`, `rows` and
        `columns`; `format="parquet"` or `"jsonl"` chooses. `step` defaults to the key's next."""
        return _media.log_table(self, key, rows, step, format=format)

    def table(self, key: str, step: Optional[int] = None, *, as_pandas: bool = False) -> Any:
        """The table logged under `key` at `step` (default: the highest step) as a list of
        dicts, or a pandas DataFrame with `as_pandas=True`; `NotFound` when there is none."""
        return _media.table(self.client, self.id, key, step, as_pandas=as_pandas)

    def history(self, keys: Optional[Iterable[str]] = None, *, max_points: int = 0,
                min_step: int = 0, max_step: int = 0) -> "_convert.HistoryDict":
        """The run's stored metric history per key (see `Client.history`); `to_pandas()` on
        the result gives a long frame (key, step, value, timestamp)."""
        return self.client.history(self.id, keys, max_points=max_points, min_step=min_step, max_step=max_step)

    @property
    def experiment_id(self) -> str:
        """The run's experiment; waits for the start's answer (empty while the run is offline)."""
        if not self._experiment_id:
            self._wait_started()
        return self._experiment_id

    @property
    def note(self) -> str:
        """The run's note: free text about it, as an experiment has a description. Setting it
        (`run.note = "…"`, "" to clear) stores it at once (after the run's start is delivered),
        also once the run has ended."""
        return self._note

    @note.setter
    def note(self, text: str) -> None:
        self._wait_started()
        record = self.client.tracking.set_run_note(tracking_pb2.SetRunNoteRequest(run_id=self.id, note=str(text)))
        self._note = record.note

    def _wait_started(self) -> None:
        """Waits until the run's start is answered (or safe in the journal while the daemon cannot
        be reached): from then on other calls see the run. A refusal is left to `log`, `flush`
        and `end` to raise."""
        entry = self._start_entry
        if entry is None or entry.done or getattr(_local, "sender", False):
            return
        with self._lock:
            if entry.done or self._offline_through >= entry.seq or self._error is not None:
                return
            self._release_start_locked()
            try:
                self._wait_settled_locked(entry.seq, None)
            except RPCError:
                pass

    def info(self) -> Any:
        """The run as the daemon has it now (`RunInfo`)."""
        return self.client.get_run(self.id)

    def end(self, status: str = "completed", error: str = "", *, timeout: Optional[float] = None) -> None:
        """Delivers what was logged and ends the run with `status` ("completed", "failed",
        "killed"). When the daemon cannot be reached, the end is journalled with the points and
        synced to disk, and this returns: the journal is delivered later. A run some of whose
        points the daemon refused is recorded `failed` (with the count) instead of `completed`,
        and this then raises the refusal; it also raises what `flush` raises, and the daemon's
        refusal of the end itself (`FailedPrecondition` when the run had been ended already)."""
        if self._ended:
            return
        self._ended = True
        _open_runs.pop(self.id, None)
        _sysmetrics.sampler.unregister(self)
        if os.getpid() != self._owner_pid:  # a forked child flushes; the run is its parent's to end
            flush_error = self._stop(timeout)
            if flush_error is not None:
                raise flush_error
            return
        if self._env is not None:
            self._env.wait(60.0)  # its artifacts go before the end (an ended run takes none)
        request = tracking_pb2.EndRunRequest(run_id=self.id, status=_STATUS[status], error=error)
        with self._lock:
            if self._thread is None:
                self._start_locked()
            entry = self._enqueue_locked(_END, request)
            self._closing = True
            self._wait_settled_locked(entry.seq, timeout)
            refusal = self._take_refusal_locked() if self._refusal is not None else None
            if refusal is None and entry.error is None and status == "completed" and self.refused_points:
                refusal = RPCError.from_status(
                    self._first_refusal_code,
                    f"run {self.id} was recorded failed: {_count(self.refused_points)} "
                    f"{'was' if self.refused_points == 1 else 'were'} refused by the daemon: {self._first_refusal}")
            thread = self._thread
        if entry.done and thread is not None and thread.thread is not threading.current_thread():
            thread.join(1.0)
        if refusal is not None:
            raise refusal
        if entry.error is not None:
            raise entry.error

    def _stop(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """Flushes and stops the sender; returns what the flush raised. The run stays open."""
        self._ended = True
        _open_runs.pop(self.id, None)
        _sysmetrics.sampler.unregister(self)
        flush_error: Optional[BaseException] = None
        try:
            self.flush(timeout)
        except BaseException as exc:
            flush_error = exc
        with self._lock:
            self._closing = True
            thread = self._thread
        self._kick.set()
        if thread is not None and not self._journalling:  # a sender still delivering a journal goes on
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
        return f"<tally.Run {self.id} {self.name!r} experiment={self._experiment_id}>"

    def _after_fork(self) -> None:
        # The child starts with empty buffers: what the parent logged is the parent's to send. It
        # writes as a writer of its own (its batches are numbered from 1 again), and leaves the
        # parent's journal to the parent.
        journal = self._journal
        if journal is not None:
            journal.abandon()
        self._init_state()


def _undelivered(run_id: str) -> bool:
    """Whether `run_id` is a run of this process whose journal is not delivered yet."""
    return bool(run_id) and any(run.id == run_id and run._journalling for run in list(_live_runs))


_local = threading.local()  # `sender`: this thread is a run's sender
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
    exception ended the program (not a sweep trial's run: the daemon ends it with the trial).
    Runs that have ended but still hold points in memory are flushed (to the daemon, or to
    their journal)."""
    for run in list(_open_runs.values()):
        try:
            if os.getpid() == run._owner_pid and run._end_at_exit:
                run.end("failed", error=_escaped[-1]) if _escaped else run.end("completed", timeout=30)
            else:
                run.flush(timeout=30)
        except Exception as exc:
            print(f"tally: run {run.id} was not flushed at exit: {exc}", file=sys.stderr)
    for run in list(_live_runs):
        thread = run._thread
        if run._points and thread is not None and thread.is_alive() and run._error is None:
            try:
                run.flush(timeout=10)
            except Exception as exc:
                print(f"tally: run {run.id} was not flushed at exit: {exc}", file=sys.stderr)


def _deliver_starts_before_fork() -> None:
    # A forked child logs to its parent's runs: their starts must reach the daemon first.
    for run in list(_live_runs):
        run._wait_started()


def _reset_after_fork() -> None:
    _clock.after_fork()
    _senders.after_fork()
    _sysmetrics.sampler.after_fork()
    for run in list(_live_runs):
        run._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_deliver_starts_before_fork, after_in_child=_reset_after_fork)
