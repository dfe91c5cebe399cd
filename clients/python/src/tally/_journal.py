"""The offline journal: where a run's writes wait while the daemon cannot take them.

One append-only file per run and writer, `<folder>/<run_id>-<writer_id>.journal`, in the folder
`journal_dir()` names. Its format is tracking.proto's (RunWrite): the 8 bytes `TALLYJ1\\n`, then records of
`<u32 LE length><u32 LE CRC-32 of the payload><payload>`, each payload a serialized
`tally.v1.RunWrite`. A record that runs past the end of the file or fails its checksum ends
the journal (it was being written when the process died): it and anything after it are dropped.

`JournalWriter` appends; it holds an exclusive `flock` on the file for as long as it has it open,
so that the daemon and `tally sync` leave a journal in use by a live process alone. `read_journal`
reads one back; `deliver` sends one to the daemon (what `tally sync` and the daemon at start do
for journals that nobody holds) and removes it once every record is acknowledged.
"""

import fcntl
import os
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from tally.errors import DataLoss, RPCError
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client

MAGIC = b"TALLYJ1\n"
SUFFIX = ".journal"
_HEADER = struct.Struct("<II")
_METRICS_TAG = b"\x12"  # RunWrite.metrics: field 2, length-delimited

STREAM_METRICS = "/tally.v1.Tracking/StreamMetrics"

# Statuses that may clear by themselves: the write is kept (journalled) and sent again later.
# Every other status is a refusal that cannot clear.
CLEARABLE = frozenset({14, 8, 10, 4, 13, 2})  # UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN
CANCELLED = 1
NOT_FOUND = 5
FAILED_PRECONDITION = 9


def may_clear(error: RPCError) -> bool:
    """Whether a write that failed with `error` may succeed later (it is kept and sent again). A
    request too large for the connection's frame limit is refused here and never will."""
    return error.code in CLEARABLE and not (error.code == 8 and "frame limit" in error.message)


def retried(error: RPCError) -> bool:
    """Whether a delivery that failed with `error` stops and keeps what it has for later:
    a status that may clear, or CANCELLED (the client was closed)."""
    return may_clear(error) or error.code == CANCELLED


def data_home(environ: Optional[Mapping[str, str]] = None) -> str:
    """The daemon's default data folder: `$TALLY_HOME`, else `$XDG_DATA_HOME/tally`, else
    `$HOME/.local/share/tally` (empty variables count as unset, as for the daemon)."""
    env = os.environ if environ is None else environ
    if env.get("TALLY_HOME"):
        return env["TALLY_HOME"]
    if env.get("XDG_DATA_HOME"):
        return os.path.join(env["XDG_DATA_HOME"], "tally")
    return os.path.join(env.get("HOME") or "/tmp", ".local", "share", "tally")


def journal_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    """Where journals go: `$TALLY_JOURNAL`, else the `journal` folder of the daemon's default data folder."""
    env = os.environ if environ is None else environ
    return env.get("TALLY_JOURNAL") or os.path.join(data_home(env), "journal")


def journal_dir_for(address: Any, environ: Optional[Mapping[str, str]] = None) -> str:
    """The folder of the journals of runs on the daemon at `address` (a `tally._address.Address`):
    `journal_dir()` for a Unix socket, where that daemon (at start) and `tally sync` look;
    `journal_dir()/remote/<host>_<port>` for a daemon over TCP, so that a daemon on this machine
    never takes in the runs of another host's daemon (`tally sync FOLDER` with `TALLY_URL`
    delivers them there)."""
    base = journal_dir(environ)
    if address is None or not getattr(address, "remote", False):
        return base
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{address.host}_{address.port}")
    return os.path.join(base, "remote", name)


def journal_path(run_id: str, writer_id: str, directory: Optional[str] = None) -> str:
    return os.path.join(directory or journal_dir(), f"{run_id}-{writer_id}{SUFFIX}")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _make_dirs(path: str) -> None:
    """Creates `path` and its missing parents with mode 0700."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass


class JournalLocked(Exception):
    """Another open file description holds the journal's lock: a live process writes or delivers it."""


class JournalWriter:
    """Appends records to one journal file, created 0600 (its folders 0700), and holds an
    exclusive `flock` on it until `close`. A write that fails (a full disk) is cut back off the
    file, so that the journal always ends with a whole record; the error is raised."""

    def __init__(self, path: str) -> None:
        self.path = path
        _make_dirs(os.path.dirname(path) or ".")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalLocked(f"the journal {path} is in use by another process") from None
            size = os.fstat(fd).st_size
            if size:  # an existing journal of this writer: keep its whole records, drop a torn tail
                good = _scan(_read_all(fd), path)[2]
                if good != size:
                    os.ftruncate(fd, good)
                size = good
            if size == 0:
                _write_all(fd, [MAGIC])
                size = len(MAGIC)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.size = size  # bytes of whole records (and the magic)
        self._dir_synced = False

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def append(self, record: bytes) -> int:
        """Appends a serialized `RunWrite`; returns the offset of its payload."""
        return self._append([record], len(record), zlib.crc32(record))

    def append_metrics(self, batch: bytes) -> Tuple[int, int]:
        """Appends a metrics record around an already serialized `MetricBatch` (without
        re-encoding it); returns the offset and length of the batch in the file."""
        prefix = _METRICS_TAG + _varint(len(batch))
        offset = self._append([prefix, batch], len(prefix) + len(batch), zlib.crc32(batch, zlib.crc32(prefix)))
        return offset + len(prefix), len(batch)

    def _append(self, parts: List[bytes], length: int, crc: int) -> int:
        if self._fd < 0:
            raise OSError(9, "the journal is closed")
        start = self.size
        try:
            _write_all(self._fd, [_HEADER.pack(length, crc & 0xFFFFFFFF), *parts])
        except OSError:
            try:
                os.ftruncate(self._fd, start)  # leave no torn record behind
            except OSError:
                pass
            raise
        self.size = start + _HEADER.size + length
        return start + _HEADER.size

    def read(self, offset: int, length: int) -> bytes:
        """Bytes written before, e.g. a batch to send again."""
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise DataLoss(f"the journal {self.path} is shorter than written ({offset}+{length})")
        return data

    def sync(self) -> None:
        os.fsync(self._fd)
        if not self._dir_synced:  # the file's name, too, survives a power loss
            try:
                dfd = os.open(os.path.dirname(self.path) or ".", os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            except OSError:
                pass
            self._dir_synced = True

    def close(self, delete: bool = False) -> None:
        """Syncs and closes the file, which releases the lock; `delete` removes it first (while
        still holding the lock, so that nobody delivers it again in between)."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            if delete:
                os.unlink(self.path)
            else:
                os.fsync(fd)
        finally:
            os.close(fd)

    def abandon(self) -> None:
        """Closes this copy of the file without syncing (a forked child's copy of its parent's)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                os.close(fd)
            except OSError:
                pass


def _write_all(fd: int, parts: List[bytes]) -> None:
    total = sum(len(p) for p in parts)
    written = os.writev(fd, parts)
    if written < total:  # rare: a short write; finish it from where it stopped
        rest = b"".join(parts)[written:]
        while rest:
            n = os.write(fd, rest)
            rest = rest[n:]


def _read_all(fd: int) -> bytes:
    chunks: List[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


# ---------------------------------------------------------------------------------------------
# Reading


class Torn(NamedTuple):
    """The journal's tail that was dropped: from `offset` to the end of the file (`dropped`
    bytes), and why (`reason`)."""

    offset: int
    dropped: int
    reason: str


def _scan(data: bytes, path: str) -> Tuple[List[Tuple[int, int]], Optional[Torn], int]:
    """(offset, length) of each whole record's payload, the torn tail, and where it begins."""
    if len(data) < len(MAGIC):
        if MAGIC.startswith(data):
            return [], (Torn(0, len(data), "the file ends inside its header") if data else None), 0
        raise DataLoss(f"{path} is not a Tally journal (it does not start with {MAGIC!r})")
    if not data.startswith(MAGIC):
        raise DataLoss(f"{path} is not a Tally journal (it does not start with {MAGIC!r})")
    spans: List[Tuple[int, int]] = []
    pos = len(MAGIC)
    end = len(data)
    view = memoryview(data)
    while pos < end:
        if end - pos < _HEADER.size:
            return spans, Torn(pos, end - pos, "the last record's header runs past the end of the file"), pos
        length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        if start + length > end:
            return spans, Torn(pos, end - pos, f"the last record ({length} bytes) runs past the end of the file"), pos
        if zlib.crc32(view[start:start + length]) != crc:
            return spans, Torn(pos, end - pos, "a record fails its checksum"), pos
        spans.append((start, length))
        pos = start + length
    return spans, None, pos


def read_journal(path: str) -> Tuple[List[tracking_pb2.RunWrite], Optional[Torn]]:
    """The whole records of a journal, in order, and its torn tail (None when it has none). The
    first record that runs past the end of the file or fails its checksum is dropped with
    everything after it. Raises `DataLoss` for a file that is not a journal, or a record that
    passes its checksum but cannot be decoded."""
    with open(path, "rb") as f:
        data = f.read()
    return _records(data, path)


def _records(data: bytes, path: str) -> Tuple[List[tracking_pb2.RunWrite], Optional[Torn]]:
    spans, torn, _ = _scan(data, path)
    return [_decode(data, offset, length, path) for offset, length in spans], torn


def _decode(data: bytes, offset: int, length: int, path: str) -> tracking_pb2.RunWrite:
    """A whole record (its checksum matched): one that does not decode is not a torn write, so
    the journal is kept and reported as unreadable."""
    try:
        record = tracking_pb2.RunWrite.FromString(data[offset:offset + length])
    except Exception as exc:
        raise DataLoss(f"record at byte {offset - _HEADER.size} of {path} cannot be decoded: {exc}") from None
    if record.WhichOneof("write") is None:
        raise DataLoss(f"record at byte {offset - _HEADER.size} of {path} is of a kind this client does not know")
    return record


def journals(directory: Optional[str] = None) -> List[str]:
    """The journal files of a folder (default `journal_dir()`), oldest first."""
    folder = directory or journal_dir()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(SUFFIX)]
    except FileNotFoundError:
        return []
    paths = [os.path.join(folder, n) for n in names]
    stamped = []
    for p in paths:
        try:
            stamped.append((os.stat(p).st_mtime_ns, p))
        except FileNotFoundError:
            pass
    return [p for _, p in sorted(stamped)]


# ---------------------------------------------------------------------------------------------
# Sending records (shared by a run's sender and `deliver`)


def refusal_end(request: tracking_pb2.EndRunRequest, refused_points: int, first: str) -> tracking_pb2.EndRunRequest:
    """The end to record for a run some of whose points were refused: `completed` becomes
    `failed`, with an error naming the count."""
    if refused_points <= 0 or request.status != tracking_pb2.RUN_STATUS_COMPLETED:
        return request
    out = tracking_pb2.EndRunRequest()
    out.CopyFrom(request)
    out.status = tracking_pb2.RUN_STATUS_FAILED
    out.error = f"{refused_points} {_points(refused_points)} were refused by the daemon: {first}"
    return out


def _points(n: int) -> str:
    return "point" if n == 1 else "points"


def send_record(client: "Client", record: tracking_pb2.RunWrite, *, timeout: Optional[float] = None,
                ended_is_done: bool = True) -> Any:
    """Sends one record that is not a metrics batch with its unary call; returns the answer.
    With `ended_is_done`, an end of a run that has already ended is done: returns None."""
    kind = record.WhichOneof("write")
    tracking = client.tracking
    if kind == "start_run":
        return tracking.start_run(record.start_run, timeout=timeout)
    if kind == "resume_run":
        return tracking.resume_run(record.resume_run, timeout=timeout)
    if kind == "params":
        return tracking.log_params(record.params, timeout=timeout)
    if kind == "tags":
        return tracking.set_run_tags(record.tags, timeout=timeout)
    if kind == "end_run":
        try:
            return tracking.end_run(record.end_run, timeout=timeout)
        except RPCError as exc:
            if ended_is_done and exc.code == FAILED_PRECONDITION and "already ended" in exc.message:
                return None
            raise
    raise DataLoss(f"unknown journal record {kind!r}")


# ---------------------------------------------------------------------------------------------
# Delivering a journal nobody holds


@dataclass
class Delivery:
    """What `deliver` did with one journal."""

    path: str
    run_id: str = ""
    # Whether every record was acknowledged (or refused) and the file removed.
    delivered: bool = False
    # Not delivered because a live process holds the journal (it delivers it itself).
    in_use: bool = False
    records: int = 0
    acknowledged_points: int = 0
    duplicate_points: int = 0
    refused_points: int = 0
    # The daemon's status and message for each refused record (points, params, tags, …).
    refusals: List[str] = field(default_factory=list)
    torn: Optional[Torn] = None


def deliver(path: str, client: Optional["Client"] = None, *, timeout: Optional[float] = 60.0) -> Delivery:
    """Sends a journal's records to the daemon in order and removes the file once every one is
    acknowledged or refused: the run's start with its client-made id, its batches with their
    original writer and sequence (the daemon stores a batch it already has only once), params,
    tags, and its end (an end of a run that has already ended counts as done; `completed`
    becomes `failed` when points were refused). A journal a live process holds is left alone
    (`in_use`). Raises the daemon's error, keeping the journal, when a status that may clear
    (`Unavailable`, …) stops it; sending it again later is safe."""
    if client is None:
        from tally._api import default_client

        client = default_client()
    result = Delivery(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        result.delivered = True  # delivered (and removed) by someone else meanwhile
        return result
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            result.in_use = True
            return result
        if os.fstat(fd).st_nlink == 0:  # removed by its writer just before we locked it
            result.delivered = True
            return result
        data = _read_all(fd)
        spans, result.torn, _ = _scan(data, path)
        _Replay(client, result, timeout).run(data, spans)
        os.unlink(path)
        result.delivered = True
        return result
    finally:
        os.close(fd)


def deliver_all(client: Optional["Client"] = None, directory: Optional[str] = None,
                *, timeout: Optional[float] = 60.0) -> List[Delivery]:
    """`deliver` for every journal of a folder (default `journal_dir()`), oldest first."""
    return [deliver(path, client, timeout=timeout) for path in journals(directory)]


_BATCHES_PER_CALL = 64


class _Replay:
    def __init__(self, client: "Client", result: Delivery, timeout: Optional[float]) -> None:
        self.client = client
        self.result = result
        self.timeout = timeout
        self.first_refusal = ""

    def refuse(self, what: str, error: RPCError, points: int = 0) -> None:
        self.result.refused_points += points
        text = f"{what}: {error.code_name}: {error.message}"
        self.result.refusals.append(text)
        if not self.first_refusal:
            self.first_refusal = f"{error.code_name}: {error.message}"

    def run(self, data: bytes, spans: List[Tuple[int, int]]) -> None:
        batches: List[Tuple[bytes, int, int]] = []  # (payload, sequence, points) of consecutive metrics records
        for offset, length in spans:
            self.result.records += 1
            record = _decode(data, offset, length, self.result.path)
            if record.WhichOneof("write") == "metrics":
                batch = record.metrics
                if not self.result.run_id:
                    self.result.run_id = batch.run_id
                batches.append((batch.SerializeToString(), batch.sequence, len(batch.values)))
                continue
            if batches:
                self.send_batches(batches)
                batches = []
            self.send_other(record)
        if batches:
            self.send_batches(batches)

    def send_batches(self, batches: List[Tuple[bytes, int, int]]) -> None:
        # Several calls for a long journal, so that each call's deadline bounds a bounded amount of work.
        for start in range(0, len(batches), _BATCHES_PER_CALL):
            self._send_batches(batches[start:start + _BATCHES_PER_CALL])

    def send_other(self, record: tracking_pb2.RunWrite) -> None:
        kind = record.WhichOneof("write")
        request = getattr(record, kind) if kind else None
        if request is not None and not self.result.run_id:
            self.result.run_id = request.run_id
        if kind == "end_run":
            adjusted = refusal_end(record.end_run, self.result.refused_points, self.first_refusal)
            if adjusted is not record.end_run:
                record = tracking_pb2.RunWrite(end_run=adjusted)
        try:
            send_record(self.client, record, timeout=self.timeout)
        except RPCError as exc:
            if retried(exc):
                raise
            self.refuse(kind or "record", exc)

    def _send_batches(self, batches: List[Tuple[bytes, int, int]]) -> None:
        """Sends batches on one StreamMetrics call; after a refusal ends it, sends the batches
        not acknowledged one by one, so that exactly the refused ones are counted."""
        acked = 0
        try:
            stream = self.client.channel.open_call(STREAM_METRICS, timeout=self.timeout)
            for payload, _, _ in batches:
                stream.send(payload)
                acked = self._take_acks(stream, batches, acked, block=False)
            stream.half_close()
            while acked < len(batches):
                before = acked
                acked = self._take_acks(stream, batches, acked, block=True)
                if acked == before:
                    break  # the stream ended without acknowledging the rest
        except RPCError as exc:
            if retried(exc):
                raise
        for payload, _, points in batches[acked:]:
            try:
                ack = self.client.tracking.log_metrics(tracking_pb2.MetricBatch.FromString(payload), timeout=self.timeout)
                self._count(ack, points)
            except RPCError as exc:
                if retried(exc):
                    raise
                self.refuse(f"{points} {_points(points)}", exc, points)

    def _take_acks(self, stream: Any, batches: List[Tuple[bytes, int, int]], acked: int, block: bool) -> int:
        while acked < len(batches):
            payload = stream.recv(block=block)
            if payload is None:
                return acked
            ack = tracking_pb2.LogMetricsResponse.FromString(payload)
            while acked < len(batches) and batches[acked][1] <= ack.sequence:
                if batches[acked][1] == ack.sequence:
                    self._count(ack, batches[acked][2])
                else:
                    self.result.acknowledged_points += batches[acked][2]
                acked += 1
            if block:
                return acked
        return acked

    def _count(self, ack: tracking_pb2.LogMetricsResponse, points: int) -> None:
        self.result.acknowledged_points += points
        if ack.duplicate:
            self.result.duplicate_points += points


def iter_batches(records: List[tracking_pb2.RunWrite]) -> Iterator[tracking_pb2.MetricBatch]:
    """The metric batches of a journal's records (for tests and tools)."""
    for record in records:
        if record.WhichOneof("write") == "metrics":
            yield record.metrics
