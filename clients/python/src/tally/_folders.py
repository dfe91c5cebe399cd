"""Folder artifacts: walking a folder for an upload, and restoring one from a download.

A folder version is uploaded as its header (with `folder=True`) followed, for every file, by an
`ArtifactFile` part (path, size, SHA-256) and the file's chunks. The daemon stores each file as
a blob of its own (so unchanged files are stored once across versions) and a manifest as the
version's content. A download sends the record, then each file's part and chunks in path order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
from typing import IO, Iterable, Iterator, List, NamedTuple, Optional

from tally.errors import DataLoss
from tally.v1 import tracking_pb2


class LocalFile(NamedTuple):
    """A file below an uploaded folder: its "/"-separated path relative to the folder, where it
    is on disk, its size and SHA-256."""
    relative: str
    path: str
    size: int
    sha256: str


def walk(root: str, chunk_size: int = 1 << 20) -> List[LocalFile]:
    """Every regular file below `root`, sorted by the bytes of its relative path. Links to files
    count as the file they point to; links to folders are not followed; empty folders and
    special files are left out."""
    found: List[LocalFile] = []

    def visit(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = f"{prefix}/{entry.name}" if prefix else entry.name
                if entry.is_dir(follow_symlinks=False):
                    visit(entry.path, relative)
                elif entry.is_file(follow_symlinks=True):
                    found.append(_hashed(entry.path, relative, chunk_size))

    visit(root, "")
    found.sort(key=lambda f: f.relative.encode("utf-8", "surrogateescape"))
    return found


def _hashed(path: str, relative: str, chunk_size: int) -> LocalFile:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
            size += len(block)
    return LocalFile(relative, path, size, digest.hexdigest())


def upload_requests(header: tracking_pb2.ArtifactHeader, files: Iterable[LocalFile],
                    chunk_size: int = 1 << 20) -> Iterator[tracking_pb2.UploadArtifactRequest]:
    """The messages of a folder upload: the header, then each file's part and chunks."""
    header.folder = True
    yield tracking_pb2.UploadArtifactRequest(header=header)
    for file in files:
        yield tracking_pb2.UploadArtifactRequest(
            file=tracking_pb2.ArtifactFile(path=file.relative, size=file.size, sha256=file.sha256))
        with open(file.path, "rb") as f:
            for block in iter(lambda: f.read(chunk_size), b""):
                yield tracking_pb2.UploadArtifactRequest(chunk=block)


def is_safe(path: str) -> bool:
    """A relative "/"-separated path with no empty, "." or ".." segment, NUL or backslash."""
    return (bool(path) and not path.startswith("/") and "\0" not in path and "\\" not in path
            and all(part not in ("", ".", "..") for part in path.split("/")))


class FolderDownload:
    """Writes a folder version's files into a temporary folder next to `target`, checks each
    against its size and SHA-256, and renames the folder into place once all are verified.
    An existing `target` is refused (FileExistsError) unless `replace`."""

    def __init__(self, record: tracking_pb2.Artifact, target: str, replace: bool = False) -> None:
        self.record = record
        self.target = target
        self.replace = replace
        if os.path.lexists(target) and not replace:
            raise FileExistsError(f"{target} exists; a folder artifact is not merged into an existing path")
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.tally-{os.getpid()}-{threading.get_ident()}-",
                                    dir=parent)
        os.chmod(self.tmp, 0o777 & ~_UMASK)
        self._file: Optional[tracking_pb2.ArtifactFile] = None
        self._out: Optional[IO[bytes]] = None
        self._digest = hashlib.sha256()
        self._size = 0
        self._count = 0

    def start(self, file: tracking_pb2.ArtifactFile) -> None:
        self._finish_file()
        if not is_safe(file.path):
            raise DataLoss(f"the daemon sent an unsafe file path {file.path!r}")
        path = os.path.join(self.tmp, *file.path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._file = file
        self._out = open(path, "xb")
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, chunk: bytes) -> None:
        if self._out is None:
            raise DataLoss("content arrived before the first file of a folder")
        self._digest.update(chunk)
        self._size += len(chunk)
        self._out.write(chunk)

    def _finish_file(self) -> None:
        if self._out is None or self._file is None:
            return
        out, file = self._out, self._file
        self._out = None
        out.flush()
        os.fsync(out.fileno())
        out.close()
        if self._digest.hexdigest() != file.sha256 or self._size != file.size:
            raise DataLoss(f"{file.path} arrived with SHA-256 {self._digest.hexdigest()} and {self._size} bytes; "
                           f"expected {file.sha256} and {file.size} bytes")
        self._count += 1

    def finish(self) -> None:
        self._finish_file()
        if self._count != self.record.file_count:
            raise DataLoss(f"{self._count} files arrived; artifact {self.record.id} has {self.record.file_count}")
        if os.path.lexists(self.target):
            if not self.replace:
                raise FileExistsError(f"{self.target} exists; a folder artifact is not merged into an existing path")
            if os.path.isdir(self.target) and not os.path.islink(self.target):
                shutil.rmtree(self.target)
            else:
                os.remove(self.target)
        os.rename(self.tmp, self.target)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide


def is_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False
