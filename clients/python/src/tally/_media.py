"""Images and tables logged to a run, stored as artifacts (docs/python-data.md).

An image is the `figure` artifact `<key>/<step>.png` (or `.jpg` for JPEG given as such); a table
is the `other` artifact `<key>/<step>.parquet` (Parquet, when pyarrow is installed) or
`<key>/<step>.jsonl` (JSON lines: one object per row). Their metadata say what they are:
`kind` ("image" or "table"), `key`, `step`, `format`, and `width`/`height` or `rows`/`columns`.

Nothing heavy is imported here: an object's type is recognised by its module's name first, and
Pillow, NumPy, Matplotlib, pandas and pyarrow are imported only to handle an object of theirs
(or, for pyarrow, to write and read Parquet).
"""

import datetime
import importlib.util
import io
import json
import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple

from tally.errors import NotFound
from tally.v1 import tracking_pb2

if TYPE_CHECKING:
    from tally._api import Client
    from tally._run import Run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"


def _root_module(value: Any) -> str:
    return (type(value).__module__ or "").split(".")[0]


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# -- images -------------------------------------------------------------------------------------

def encode_png(width: int, height: int, channels: int, pixels: bytes) -> bytes:
    """A PNG of 8-bit samples, rows of `width * channels` bytes top to bottom (1: grayscale, 2:
    grayscale and alpha, 3: RGB, 4: RGBA), every row with filter 0, compressed by zlib."""
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    stride = width * channels
    if len(pixels) != stride * height:
        raise ValueError(f"{len(pixels)} bytes for a {width}x{height} image of {channels} channels")
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _sniff(data: bytes) -> Tuple[str, int, int]:
    """The format ("png" or "jpeg") and size of encoded image bytes (0x0 when the size cannot be read)."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "png", width, height
        return "png", 0, 0
    if data.startswith(_JPEG_SIGNATURE):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return "jpeg", width, height
            i += 2 + length
        return "jpeg", 0, 0
    raise ValueError("log_image takes PNG or JPEG data (the bytes or file given are neither)")


def _array_png(array: Any, pillow: Optional[bool] = None) -> Tuple[bytes, int, int]:
    import numpy as np  # the caller gave a NumPy array: NumPy is imported already
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)) or 0 in a.shape:
        raise ValueError(f"log_image takes an array of shape HxW or HxWxC with C 1, 2, 3 or 4, not {a.shape}")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        a = (np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif a.dtype.kind in "iu":
        if a.dtype != np.uint8:
            if a.min() < 0 or a.max() > 255:
                raise ValueError(f"log_image takes integers in 0-255 (uint8) or floats in 0-1; this {a.dtype} array "
                                 f"holds {a.min()} to {a.max()}")
            a = a.astype(np.uint8)
    else:
        raise TypeError(f"log_image cannot make an image of a {a.dtype} array")
    a = np.ascontiguousarray(a)
    height, width = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    if pillow is None:
        pillow = installed("PIL")
    if pillow:
        from PIL import Image
        buffer = io.BytesIO()
        Image.fromarray(a).save(buffer, format="PNG")
        return buffer.getvalue(), width, height
    return encode_png(width, height, channels, a.tobytes()), width, height


def encode_image(image: Any, pillow: Optional[bool] = None) -> Tuple[bytes, str, int, int]:
    """`image` as (encoded bytes, "png" or "jpeg", width, height). PNG and JPEG files and bytes
    are stored as they are; everything else becomes a PNG."""
    if isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as f:
            data = f.read()
        return (data, *_sniff(data))
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        return (data, *_sniff(data))
    root = _root_module(image)
    if root == "PIL":
        buffer = io.BytesIO()
        picture = image
        if picture.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            picture = picture.convert("RGBA")
        picture.save(buffer, format="PNG")
        return buffer.getvalue(), "png", picture.width, picture.height
    if root == "numpy":
        data, width, height = _array_png(image, pillow)
        return data, "png", width, height
    if root == "torch" and hasattr(image, "detach"):
        data, width, height = _array_png(image.detach().cpu().numpy(), pillow)
        return data, "png", width, height
    if root == "matplotlib":
        figure = image if hasattr(image, "savefig") else getattr(image, "figure", None)
        if figure is not None and hasattr(figure, "savefig"):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            data = buffer.getvalue()
            return (data, *_sniff(data))
    raise TypeError(f"log_image takes a PNG or JPEG file path or bytes, a PIL image, a NumPy array or a Matplotlib "
                    f"figure, not {type(image).__module__}.{type(image).__qualname__}")


@dataclass
class Image:
    """An image of a run (`run.images(key)`): the artifact version `artifact_id` named `name`
    (`<key>/<step>.png`); download it with `tally.download_artifact(path, image.artifact_id)`."""

    key: str
    step: int
    artifact_id: str
    name: str
    format: str
    width: int
    height: int
    version: int
    proto: Optional[tracking_pb2.Artifact] = field(default=None, repr=False)


def _next_step(run: "Run", kind: str, key: str, step: Optional[int]) -> int:
    slot = f"{kind}:{key}"
    known = run._image_steps.get(slot)
    if step is None:
        if known is None:
            known = 0
            if run._start_entry is None:  # a run started elsewhere (resumed): continue after what it has
                stored = [a for a in _latest(run.client, run.id, kind, key)]
                known = max((s for s, _ in stored), default=-1) + 1
        step = known
    elif not isinstance(step, int) or isinstance(step, bool):
        step = int(step)
    run._image_steps[slot] = max(known or 0, step + 1)
    return step


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise TypeError(f"{what} takes a key: a non-empty string (the artifact is named <key>/<step>.<ext>)")
    return key


def log_image(run: "Run", key: str, image: Any, step: Optional[int] = None) -> tracking_pb2.Artifact:
    _check_key(key, "log_image")
    data, fmt, width, height = encode_image(image)
    step = _next_step(run, "image", key, step)
    metadata = {"kind": "image", "key": key, "step": str(step), "format": fmt, "width": str(width),
                "height": str(height)}
    return run._upload_bytes(f"{key}/{step}.{'jpg' if fmt == 'jpeg' else 'png'}", data, type="figure",
                             metadata=metadata)


def _latest(client: "Client", run_id: str, kind: str, key: str) -> List[Tuple[int, tracking_pb2.Artifact]]:
    """(step, artifact) of the run's `kind` artifacts of `key`: the highest version of each step."""
    listed = client.tracking.list_artifacts(tracking_pb2.ListArtifactsRequest(run_id=run_id)).artifacts
    best: Dict[int, tracking_pb2.Artifact] = {}
    for artifact in listed:
        meta = artifact.metadata
        if meta.get("kind") != kind or meta.get("key") != key:
            continue
        try:
            step = int(meta.get("step", ""))
        except ValueError:
            continue
        held = best.get(step)
        if held is None or (artifact.created_at_ms, artifact.version) > (held.created_at_ms, held.version):
            best[step] = artifact
    return sorted(best.items(), key=lambda item: item[0])


def images(client: "Client", run_id: str, key: str) -> List[Image]:
    out = []
    for step, artifact in _latest(client, client.run_id(run_id), "image", key):
        meta = artifact.metadata
        out.append(Image(key=key, step=step, artifact_id=artifact.id, name=artifact.name,
                         format=meta.get("format", ""), width=int(meta.get("width", "0") or 0),
                         height=int(meta.get("height", "0") or 0), version=artifact.version, proto=artifact))
    return out


# -- tables -------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A value as JSON holds it: NaN and infinities as null, NumPy scalars as numbers, times as
    ISO 8601 text, mappings and sequences element by element, anything else as its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if _root_module(value) in ("numpy", "pandas"):
        if hasattr(value, "isoformat"):  # a pandas Timestamp (NaT is handled below)
            try:
                return value.isoformat() if value == value else None
            except (TypeError, ValueError):
                pass
        if hasattr(value, "tolist"):
            return _plain(value.tolist())
        if hasattr(value, "item"):
            return _plain(value.item())
        if str(value) in ("NaT", "nan", "<NA>"):
            return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _rows(rows: Any) -> Tuple[List[Dict[str, Any]], List[str], Any]:
    """(rows as dicts, column names in order, the DataFrame or None)."""
    if _root_module(rows) == "pandas" and hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        columns = [str(c) for c in rows.columns]
        records = rows.to_dict(orient="records")
        return [{str(k): v for k, v in r.items()} for r in records], columns, rows
    out: List[Dict[str, Any]] = []
    names: Dict[str, None] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"log_table takes a list of dicts or a pandas DataFrame; a row is a {type(row).__name__}")
        record = {str(k): v for k, v in row.items()}
        out.append(record)
        for k in record:
            names.setdefault(k, None)
    return out, list(names), None


def encode_table(rows: Any, format: Optional[str] = None) -> Tuple[bytes, str, int, List[str]]:
    """(content, "parquet" or "jsonl", number of rows, column names)."""
    if format is None:
        format = "parquet" if installed("pyarrow") else "jsonl"
    if format not in ("parquet", "jsonl"):
        raise ValueError(f'log_table writes format "parquet" or "jsonl", not {format!r}')
    records, columns, frame = _rows(rows)
    if format == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError(f"log_table(format=\"parquet\") needs pyarrow (pip install pyarrow): {exc}") from None
        if frame is not None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        else:
            table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in records])
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue(), format, table.num_rows, [str(c) for c in table.column_names]
    lines = [json.dumps(_plain(r), ensure_ascii=False, allow_nan=False, separators=(",", ":")) for r in records]
    return "".join(line + "\n" for line in lines).encode("utf-8"), format, len(records), columns


def log_table(run: "Run", key: str, rows: Any, step: Optional[int] = None, *,
              format: Optional[str] = None) -> tracking_pb2.Artifact:
    _check_key(key, "log_table")
    data, fmt, count, columns = encode_table(rows, format)
    step = _next_step(run, "table", key, step)
    listed = json.dumps(columns, ensure_ascii=False)
    metadata = {"kind": "table", "key": key, "step": str(step), "format": fmt, "rows": str(count),
                "columns": listed if len(listed) <= 5000 else listed[:4996] + " ..."}
    return run._upload_bytes(f"{key}/{step}.{fmt}", data, type="other", metadata=metadata)


def decode_table(data: bytes, format: str, *, as_pandas: bool = False, columns: Optional[Iterable[str]] = None) -> Any:
    if format == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError(f"this table is stored as Parquet: reading it needs pyarrow (pip install pyarrow): "
                              f"{exc}") from None
        # One thread: pyarrow's thread pool can abort the interpreter at exit ("terminate called
        # without an active exception") once it has read, and a table is small work.
        table = pq.read_table(io.BytesIO(data), use_threads=False)
        return table.to_pandas(use_threads=False) if as_pandas else table.to_pylist()
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    if not as_pandas:
        return rows
    import pandas as pd
    names = list(columns or [])
    return pd.DataFrame(rows, columns=names or None)


def table(client: "Client", run_id: str, key: str, step: Optional[int] = None, *, as_pandas: bool = False) -> Any:
    run_id = client.run_id(run_id)
    stored = _latest(client, run_id, "table", key)
    if step is not None:
        stored = [item for item in stored if item[0] == step]
    if not stored:
        at = "" if step is None else f" at step {step}"
        raise NotFound(f'run {run_id} has no table "{key}"{at}')
    artifact = stored[-1][1]
    with tempfile.TemporaryDirectory(prefix="tally-table-") as folder:
        path = os.path.join(folder, "table")
        client.download_artifact(path, artifact.id)
        with open(path, "rb") as f:
            data = f.read()
    try:
        columns = json.loads(artifact.metadata.get("columns", "[]"))
    except ValueError:
        columns = None
    return decode_table(data, artifact.metadata.get("format", "jsonl"), as_pandas=as_pandas,
                        columns=columns if isinstance(columns, list) else None)
