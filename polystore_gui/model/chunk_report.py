"""A zarr array's chunk report: the facts a scan found, kept per chunk in numpy arrays
(state, stored bytes, shard facts), and what they add up to: the summary that ``chunks``
prints, the size histogram, read amplification and the warnings.

:class:`ScanBatch` is what ``chunks.scan`` yields; :meth:`ChunkReport.apply` folds it in.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .chunk_layout import ChunkLayout, ChunkLayoutError

# Chunk states, one int8 per chunk.
UNKNOWN, STORED, MISSING, ERROR = 0, 1, 2, 3
STATE_NAMES = {UNKNOWN: "scanning", STORED: "stored", MISSING: "missing", ERROR: "error"}

MAX_GRID = 16_000_000  # chunks held per array (17 bytes each): about 270 MB at most

WARN_AMPLIFICATION = 8.0
WARN_CHUNK_LARGE = 64 * 2**20
WARN_CHUNK_SMALL = 16 * 2**10
WARN_OBJECTS = 100_000


@dataclass(slots=True)
class ScanBatch:
    """Facts found since the previous batch. Flat indices are C-order over the grids."""

    chunks: np.ndarray  # flat chunk indices
    chunk_bytes: np.ndarray  # int64 stored bytes (index length for inner chunks)
    chunk_state: np.ndarray  # int8 state per listed chunk
    objects: np.ndarray  # flat object (shard or chunk) indices stored or failing
    object_bytes: np.ndarray  # int64 file sizes
    object_state: np.ndarray  # int8
    errors: dict[int, str]  # flat object index -> message
    swept: tuple[int, int] | None = None  # objects [a, b) along axis 0 now fully listed
    swept_ranges: tuple[tuple[int, int], ...] = ()  # more such ranges (parallel walks)
    done: float = 0.0  # fraction of the scan done
    final: bool = False
    strays: int = 0  # files that are not chunk keys of this array


@dataclass
class ChunkReport:
    """Everything known about an array's chunks; filled by applying scan batches."""

    layout: ChunkLayout
    state: np.ndarray  # int8 per chunk, grid shape
    stored: np.ndarray  # int64 stored bytes per chunk, grid shape
    object_state: np.ndarray  # int8 per object, object grid shape
    object_bytes: np.ndarray  # int64 per object
    errors: dict[int, str] = field(default_factory=dict)
    done: float = 0.0
    complete: bool = False
    strays: int = 0
    seconds: float = 0.0
    verified: bool = False  # every stored chunk was decoded (``verify``); else sizes only
    # Stored chunks per power-of-two size (bin k: 2**k <= bytes < 2**(k+1)), kept up to date
    # batch by batch: the summary is redrawn while a million chunks arrive, and a pass over
    # every size each time cost the GUI thread 15-40 ms. None: to be counted afresh.
    _bins: np.ndarray | None = field(default=None, repr=False)
    # The smallest and largest stored chunk size (hi < lo: none stored), kept batch by batch
    # for the heat map's colour range (``heat_span``): a pass over every chunk at each scan
    # refresh was the GUI thread's largest cost (36 ms for 6.5 million chunks). None: to be
    # found afresh (a batch re-reported a stored chunk, whose old size may have been the bound).
    _extent: tuple[int, int] | None = field(default=None, repr=False)
    revision: int = 0  # bumped by each ``apply``: what a cache of the report's derived facts keys on
    # The summary's counts, kept batch by batch like ``_bins``: chunks per state, objects per
    # state (4 each) and the objects' stored bytes. Counted over the whole array at each scan
    # refresh they cost the GUI thread a pass over every chunk. None: to be counted afresh.
    _tally: tuple[np.ndarray, np.ndarray, int] | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, layout: ChunkLayout) -> ChunkReport:
        if layout.nchunks > MAX_GRID:
            raise ChunkLayoutError(
                f"{layout.nchunks:,} chunks is more than this inspector holds ({MAX_GRID:,}): "
                "inspect a smaller array or a lower resolution level"
            )
        grid, objects = layout.grid, layout.object_grid
        return cls(layout,
                   np.zeros(grid, np.int8), np.zeros(grid, np.int64),
                   np.zeros(objects, np.int8), np.zeros(objects, np.int64), _bins=np.zeros(64, np.int64),
                   _extent=(0, -1), _tally=(np.array([math.prod(grid), 0, 0, 0], np.int64),
                                            np.array([math.prod(objects), 0, 0, 0], np.int64), 0))

    def apply(self, batch: ScanBatch) -> None:
        state, stored = self.state.reshape(-1), self.stored.reshape(-1)
        ostate, obytes = self.object_state.reshape(-1), self.object_bytes.reshape(-1)
        tally = self._tally
        # Only what the batch touches is counted, before and after it is written (a batch
        # names each chunk and object once, the collector's rule, as ``_bins`` relies on).
        chunks, objects = batch.chunks, batch.objects
        before, object_before = state[chunks], ostate[objects]
        # A scan's usual batch names chunks not known yet: nothing of theirs to take back.
        fresh, object_fresh = not before.any(), not object_before.any()
        if tally is not None:
            if fresh:
                tally[0][UNKNOWN] -= len(chunks)
            else:
                tally[0][:] -= _states(before)
            if object_fresh:
                tally[1][UNKNOWN] -= len(objects)
            else:
                tally[1][:] -= _states(object_before)
            total = tally[2] - int(obytes[objects].sum())
        if self._bins is not None and len(batch.chunks):
            # A batch names each chunk once (the collector's rule); the final batch recounts.
            if not fresh:
                self._bins -= _size_bins(stored[batch.chunks], before)
            self._bins += _size_bins(batch.chunk_bytes, batch.chunk_state)
        if self._extent is not None and len(batch.chunks):
            if not fresh and np.any(before == STORED):
                self._extent = None  # a bound may be overwritten: found afresh when next asked
            else:
                self._extent = _merge_extent(self._extent, batch.chunk_bytes[batch.chunk_state == STORED])
        self.revision += 1
        state[batch.chunks] = batch.chunk_state
        stored[batch.chunks] = batch.chunk_bytes
        ostate[batch.objects] = batch.object_state
        obytes[batch.objects] = batch.object_bytes
        if tally is not None:
            tally[0][:] += _states(state[chunks])
            tally[1][:] += _states(ostate[objects])
            self._tally = (tally[0], tally[1], total + int(obytes[objects].sum()))
        self.errors.update(batch.errors)
        self.strays += batch.strays
        ranges = (batch.swept, *batch.swept_ranges) if batch.swept is not None else batch.swept_ranges
        if self.layout.shape:
            per = self.layout.per_shard[0]
            for a, b in ranges:
                unknown = self.object_state[a:b] == UNKNOWN
                self.object_state[a:b][unknown] = MISSING
                rows = self.state[a * per:b * per]
                unknown_rows = rows == UNKNOWN
                rows[unknown_rows] = MISSING
                if self._tally is not None:
                    _move(self._tally[1], int(np.count_nonzero(unknown)))
                    _move(self._tally[0], int(np.count_nonzero(unknown_rows)))
        self.done = batch.done
        if batch.final:
            self._bins = None  # counted afresh once, when next asked
            self.state[self.state == UNKNOWN] = MISSING
            self.object_state[self.object_state == UNKNOWN] = MISSING
            if self._tally is not None:
                _move(self._tally[0], int(self._tally[0][UNKNOWN]))
                _move(self._tally[1], int(self._tally[1][UNKNOWN]))
            self.complete = True

    def states_changed(self) -> None:
        """Chunk states were changed in place, not by a batch (``verify`` marking a stored
        chunk unreadable): what is kept batch by batch is counted afresh when next asked."""
        self._bins = None
        self._extent = None
        self._tally = None
        self.revision += 1

    # -- what a user reads ----------------------------------------------------------------

    def summary(self, plane_axes: tuple[int, int] | None = None, point: Sequence[int] | None = None) -> dict[str, Any]:
        """The counts, sizes, amplification and warnings (the CLI's JSON, minus the list)."""
        layout = self.layout
        if self._tally is None:
            self._tally = (_states(self.state.reshape(-1)), _states(self.object_state.reshape(-1)),
                           int(self.object_bytes.sum()))
        counts, object_counts, stored_bytes = self._tally
        nstored, nerror = int(counts[STORED]), int(counts[ERROR])
        sharded = layout.shards is not None
        objects_stored = int(object_counts[STORED])
        decoded = layout.chunk_nbytes
        ratio = (nstored * decoded / stored_bytes) if decoded and stored_bytes else None
        amplification = read_amplification(layout, plane_axes, point)
        doc: dict[str, Any] = {
            "path": layout.path,
            "zarr_format": layout.zarr_format,
            "shape": list(layout.shape),
            "dtype": layout.dtype,
            "chunks": list(layout.chunks),
            "shards": list(layout.shards) if sharded and layout.shards else None,
            "codecs": list(layout.pipeline),
            "nchunks": layout.nchunks,
            "nchunks_initialized": nstored,
            "nchunks_missing": int(counts[MISSING]),
            "nchunks_error": nerror,
            "nshards": layout.nshards,
            "nshards_initialized": objects_stored if sharded else None,
            "nobjects_stored": objects_stored + int(object_counts[ERROR]),
            "stored_bytes": stored_bytes,
            "chunk_bytes_decoded": decoded,
            "compression_ratio": round(ratio, 3) if ratio else None,
            "read_amplification": round(amplification["ratio"], 3) if amplification else None,
            "plane_read": amplification,
            "size_histogram": self.size_histogram(),
            "complete": self.complete,
            "stray_files": self.strays,
            "decoded": self.verified,
            "errors": [self._error_doc(k, m) for k, m in sorted(self.errors.items())],
        }
        doc["warnings"] = warnings(doc, layout)
        return doc

    def _error_doc(self, flat: int, message: str) -> dict[str, Any]:
        grid = self.layout.object_grid
        obj = tuple(int(i) for i in np.unravel_index(flat, grid)) if grid else ()
        return {"object": list(obj), "key": self.layout.key(obj), "message": message}

    def size_histogram(self) -> list[dict[str, int]]:
        """Stored chunk sizes in power-of-two bins: [{"min": lo, "max": hi, "count": n}]."""
        if self._bins is None:
            self._bins = _size_bins(self.stored.reshape(-1), self.state.reshape(-1))
        used = np.flatnonzero(self._bins)
        if used.size == 0:
            return []
        lo, hi = int(used[0]), int(used[-1])
        return [{"min": 2 ** k, "max": 2 ** (k + 1), "count": int(self._bins[k])} for k in range(lo, hi + 1)]

    def heat_span(self) -> tuple[int, int]:
        """The heat map's colour range over the whole array (``heat_range`` of every stored
        chunk's size), from the extent kept batch by batch: no pass over the chunks unless a
        batch re-reported a stored one."""
        if self._extent is None:
            self._extent = _merge_extent((0, -1), self.stored[self.state == STORED])
        lo, hi = self._extent
        return heat_range(np.array([lo, hi], np.int64) if hi >= lo else np.zeros(0, np.int64))

    def chunk_rows(self) -> Iterator[dict[str, Any]]:
        """One object per chunk: index, key, present, stored_bytes, state (the CLI's chunk_list)."""
        layout = self.layout
        flat_state, flat_stored = self.state.reshape(-1).tolist(), self.stored.reshape(-1).tolist()
        grid = layout.grid
        if not grid:
            yield self.row((), flat_state[0], flat_stored[0])
            return
        columns = [c.tolist() for c in np.unravel_index(np.arange(len(flat_state)), grid)]
        for flat, index in enumerate(zip(*columns)):
            yield self.row(index, flat_state[flat], flat_stored[flat])

    def row(self, index: tuple[int, ...], state: int, stored: int) -> dict[str, Any]:
        layout = self.layout
        obj, inner = layout.object_of(index)
        row: dict[str, Any] = {
            "index": list(index),
            "key": layout.key(obj),
            "present": state == STORED,
            "stored_bytes": stored if state == STORED else 0,
            "state": STATE_NAMES[state],
        }
        if layout.shards is not None:
            row["shard"] = list(obj)
            row["inner_index"] = list(inner)
        if state == ERROR:
            oflat = int(np.ravel_multi_index(obj, layout.object_grid)) if obj else 0
            row["error"] = self.errors.get(oflat, "unreadable")
        return row


def _states(states: np.ndarray) -> np.ndarray:
    """How many of ``states`` are in each state (UNKNOWN, STORED, MISSING, ERROR)."""
    return np.bincount(states.astype(np.intp, copy=False), minlength=4)[:4].astype(np.int64)


def _move(counts: np.ndarray, n: int) -> None:
    """``n`` entries of ``counts`` gone from UNKNOWN to MISSING (a sweep, or the final batch)."""
    counts[UNKNOWN] -= n
    counts[MISSING] += n


def _merge_extent(extent: tuple[int, int], sizes: np.ndarray) -> tuple[int, int]:
    """``extent`` (smallest, largest; hi < lo: empty) widened to hold ``sizes``."""
    if sizes.size == 0:
        return extent
    lo, hi = int(sizes.min()), int(sizes.max())
    return (lo, hi) if extent[1] < extent[0] else (min(lo, extent[0]), max(hi, extent[1]))


def _size_bins(sizes: np.ndarray, states: np.ndarray) -> np.ndarray:
    """How many stored chunks (non-empty) fall in each power-of-two size bin (64 bins)."""
    sizes = sizes[(states == STORED) & (sizes > 0)]
    if sizes.size == 0:
        return np.zeros(64, np.int64)
    exps = np.frexp(sizes.astype(np.float64))[1] - 1  # exact floor(log2) for sizes below 2**53
    return np.bincount(exps, minlength=64).astype(np.int64)


def read_amplification(layout: ChunkLayout, plane_axes: tuple[int, int] | None = None,
                       point: Sequence[int] | None = None) -> dict[str, Any] | None:
    """What showing one whole plane at full resolution reads.

    ``chunks`` read, their decoded ``bytes`` against the plane's ``plane_bytes``; ``ratio``
    is the read amplification (chunks of (32, 256, 256) read 32x what a plane needs).
    Missing chunks count as read: a reader cannot know they are missing without asking.
    """
    if len(layout.shape) < 2 or layout.itemsize is None or 0 in layout.shape:
        return None
    ndim = len(layout.shape)
    y, x = plane_axes or (ndim - 2, ndim - 1)
    point = list(point) if point is not None else [(s - 1) // 2 for s in layout.shape]
    n_chunks = 1
    for axis in range(ndim):
        if axis in (y, x):
            n_chunks *= -(-layout.shape[axis] // layout.chunks[axis])
    decoded = n_chunks * math.prod(layout.chunks) * layout.itemsize
    plane = layout.shape[y] * layout.shape[x] * layout.itemsize
    return {"chunks": n_chunks, "bytes": decoded, "plane_bytes": plane, "ratio": decoded / plane,
            "plane_axes": [y, x], "point": [int(p) for p in point]}


def warnings(summary: dict[str, Any], layout: ChunkLayout) -> list[str]:
    """What a user can act on, in words."""
    out: list[str] = []
    amp = summary.get("read_amplification")
    if amp is not None and amp > WARN_AMPLIFICATION:
        span = [c for axis, c in enumerate(layout.chunks) if axis not in summary["plane_read"]["plane_axes"] and c > 1]
        why = f": each chunk spans {' x '.join(map(str, span))} planes" if span else ""
        out.append(f"Showing one plane reads {amp:.0f}x its bytes{why}. Chunk plane by plane (1 along the other axes) for viewing.")
    decoded = layout.chunk_nbytes
    if decoded is not None and decoded > WARN_CHUNK_LARGE:
        out.append(f"Chunks of {_mib(decoded)} decoded: every read decodes a whole chunk. Aim for 1-16 MiB.")
    if decoded is not None and decoded < WARN_CHUNK_SMALL:
        out.append(f"Chunks of {decoded:,} bytes decoded: per-object overhead dominates reads. Aim for 1-16 MiB"
                   + ("." if layout.shards else ", or shard them."))
    objects = summary.get("nobjects_stored") or 0
    if objects > WARN_OBJECTS:
        out.append(f"{objects:,} objects on disk: file systems and object stores slow down past 100,000. "
                   + ("Use larger shards." if layout.shards else "Shard the array (zarr v3) or use larger chunks."))
    missing = layout.missing_codecs()
    if missing:
        out.append(f"Codec {', '.join(repr(m) for m in missing)} is not installed: chunks cannot be decoded here "
                   "(presence and stored sizes are still shown).")
    if summary.get("errors"):
        out.append(f"{len(summary['errors'])} stored object(s) could not be read: see the errors.")
    return out


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def heat_range(sizes: np.ndarray) -> tuple[int, int]:
    """The stored-bytes range the heat map's colours span: the sizes' range, at least 4x wide.

    Chunks whose sizes differ by a few percent get nearly the same colour: a colour step
    means a real difference in storage.
    """
    if sizes.size == 0:
        return (1, 4)
    lo, hi = max(1, int(sizes.min())), max(1, int(sizes.max()))
    return (lo, max(hi, lo * 4))
