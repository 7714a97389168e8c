"""One chunk, as the inspector shows it when clicked: where it is stored, its bytes, and
(when its codecs are installed) its decoded values' statistics; and how a decode failure
is explained to the user.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .chunk_layout import MAX_UINT_64, ChunkLayout, read_shard_index
from .chunk_report import ERROR, MISSING, STATE_NAMES, STORED, ChunkReport
from .safe_files import open_regular


@dataclass(frozen=True)
class ChunkDetail:
    """Everything about one chunk, as shown when it is clicked."""

    index: tuple[int, ...]
    key: str
    file: str
    shard: tuple[int, ...] | None
    inner_index: tuple[int, ...] | None
    state: int
    stored_bytes: int
    offset: int | None  # inside the shard
    decoded_bytes: int | None
    pipeline: tuple[str, ...]
    region: tuple[tuple[int, int], ...]
    read_seconds: float | None = None
    decode_seconds: float | None = None
    stats: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.decoded_bytes and self.stored_bytes and self.state == STORED:
            return self.decoded_bytes / self.stored_bytes
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "index": list(self.index), "key": self.key, "file": self.file,
            "shard": list(self.shard) if self.shard is not None else None,
            "inner_index": list(self.inner_index) if self.inner_index is not None else None,
            "state": STATE_NAMES[self.state], "stored_bytes": self.stored_bytes, "offset": self.offset,
            "decoded_bytes": self.decoded_bytes, "ratio": round(self.ratio, 3) if self.ratio else None,
            "codecs": list(self.pipeline), "region": [list(r) for r in self.region],
            "read_seconds": self.read_seconds, "decode_seconds": self.decode_seconds,
            "stats": self.stats, "error": self.error,
        }


def chunk_detail(layout: ChunkLayout, index: Sequence[int], *, array: Any = None,
                 report: ChunkReport | None = None) -> ChunkDetail:
    """The facts of the chunk at grid ``index``, decoding it (timed) when it is stored.

    ``array`` is an open read-only ``zarr.Array`` to decode with (opened here if None).
    """
    index = tuple(int(i) for i in index)
    if len(index) != len(layout.grid) or any(not 0 <= i < n for i, n in zip(index, layout.grid)):
        raise IndexError(f"chunk {list(index)} is outside the grid {list(layout.grid)}")
    obj, inner = layout.object_of(index)
    key = layout.key(obj)
    file = os.path.join(layout.path, *key.split("/")) if layout.separator == "/" else os.path.join(layout.path, key)
    region = layout.region(index)
    base: dict[str, Any] = dict(
        index=index, key=key, file=file, shard=obj if layout.shards else None,
        inner_index=inner if layout.shards else None, decoded_bytes=layout.chunk_nbytes,
        pipeline=layout.pipeline, region=tuple((r.start, r.stop) for r in region),
    )
    try:
        size = os.stat(file).st_size
    except FileNotFoundError:
        return ChunkDetail(state=MISSING, stored_bytes=0, offset=None,
                           stats=_fill_stats(layout, region), **base)
    except OSError as exc:
        return ChunkDetail(state=ERROR, stored_bytes=0, offset=None, error=f"{exc.strerror or exc}: {file}", **base)
    offset: int | None = None
    stored = size
    if layout.shards is not None:
        table, message = read_shard_index(layout, file, size)
        if message is not None or table is None:
            return ChunkDetail(state=ERROR, stored_bytes=0, offset=None, error=message, **base)
        local = int(np.ravel_multi_index(inner, layout.per_shard))
        start, length = (int(v) for v in table[local])
        if start == MAX_UINT_64:
            return ChunkDetail(state=MISSING, stored_bytes=0, offset=None,
                               stats=_fill_stats(layout, region), **base)
        offset, stored = start, length
    # Time the raw read alone, then zarr's read + decode of the same region.
    try:
        t0 = time.perf_counter()
        with open_regular(file) as fh:  # never a FIFO put where a chunk should be
            if offset is not None:
                fh.seek(offset)
            raw = fh.read(stored)
        read_seconds = time.perf_counter() - t0
    except OSError as exc:
        return ChunkDetail(state=ERROR, stored_bytes=stored, offset=offset, error=f"{exc.strerror or exc}: {file}", **base)
    del raw
    try:
        if array is None:
            array = open_for_decoding(layout)
        t0 = time.perf_counter()
        data = np.asarray(array[region])
        total = time.perf_counter() - t0
    except Exception as exc:
        return ChunkDetail(state=STORED, stored_bytes=stored, offset=offset, read_seconds=read_seconds,
                           error=explain_decode_error(layout, exc), **base)
    return ChunkDetail(state=STORED, stored_bytes=stored, offset=offset, read_seconds=read_seconds,
                       decode_seconds=max(0.0, total - read_seconds), stats=_stats(data, _fill_value(layout)), **base)


def open_for_decoding(layout: ChunkLayout) -> Any:
    """A read-only zarr array over the layout's directory, without caches (honest timings)."""
    import zarr
    from zarr.storage import LocalStore

    zarr_format: Any = layout.zarr_format
    return zarr.open_array(store=LocalStore(layout.path, read_only=True), mode="r", zarr_format=zarr_format)


def explain_decode_error(layout: ChunkLayout, exc: BaseException) -> str:
    missing = layout.missing_codecs()
    if missing:
        return (f"cannot decode: codec {', '.join(repr(m) for m in missing)} is not installed "
                f"({type(exc).__name__}: {exc})")
    return f"cannot decode: {type(exc).__name__}: {exc}"


def _fill_value(layout: ChunkLayout) -> Any:
    fill = layout.fill_value
    if isinstance(fill, str) and fill in ("NaN", "Infinity", "-Infinity"):
        return float(fill.replace("Infinity", "inf"))
    return fill


def _stats(data: np.ndarray, fill: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"count": int(data.size)}
    if data.size == 0 or not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        return out
    values = data.astype(np.float64) if data.dtype == bool else data
    out.update(min=_py(np.nanmin(values)), max=_py(np.nanmax(values)), mean=float(np.nanmean(values)))
    if fill is None:
        out["fill_count"] = None
    elif isinstance(fill, float) and math.isnan(fill):
        out["fill_count"] = int(np.count_nonzero(np.isnan(data)))
    else:
        try:
            out["fill_count"] = int(np.count_nonzero(data == fill))
        except (TypeError, ValueError):
            out["fill_count"] = None
    return out


def _fill_stats(layout: ChunkLayout, region: tuple[slice, ...]) -> dict[str, Any]:
    """A missing chunk reads as the fill value everywhere."""
    count = math.prod(r.stop - r.start for r in region)
    fill = _fill_value(layout)
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):
        return {"count": count, "min": fill, "max": fill, "mean": float(fill), "fill_count": count}
    return {"count": count, "fill_count": count}


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value

