"""How a zarr array is really stored: which chunks exist, and how many bytes each takes.

Everything here works from the array's metadata document and the file system, never
through zarr's chunk reading, so a store whose codec is not installed is still
inspected (only decoding a chunk needs the codec), and one corrupt shard never stops the
scan. The scan is a generator of batches (:class:`ScanBatch`) that a consumer applies to
a :class:`ChunkReport`; the Qt inspector applies them on the GUI thread as they arrive,
the CLI applies them all at once.

Counting rules (the ``chunks`` CLI prints them):

- unsharded: one stored object per chunk; ``nchunks_initialized`` is the number of chunk
  objects stored, which is zarr's own ``nchunks_initialized``.
- sharded: the stored objects are shards; ``nshards_initialized`` equals zarr's own count
  of shards, and a chunk is stored when the shard's index holds it (zarr counts every
  inner chunk of a stored shard as initialized).
"""

from __future__ import annotations

import json
import math
import os
import stat as stat_module
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import chunk_find
from .chunk_layout import (
    MAX_UINT_64,
    ChunkLayout,
    ChunkLayoutError,
    read_shard_index,
)
from .safe_files import open_regular
from .zarr_nodes import V2_ARRAY, V3_META

# Chunk states, one int8 per chunk.
UNKNOWN, STORED, MISSING, ERROR = 0, 1, 2, 3
STATE_NAMES = {UNKNOWN: "scanning", STORED: "stored", MISSING: "missing", ERROR: "error"}

MAX_GRID = 16_000_000  # chunks held per array (17 bytes each): about 270 MB at most
BATCH_ENTRIES = 20_000
BATCH_SECONDS = 0.05

WARN_AMPLIFICATION = 8.0
WARN_CHUNK_LARGE = 64 * 2**20
WARN_CHUNK_SMALL = 16 * 2**10
WARN_OBJECTS = 100_000


# -- scanning -----------------------------------------------------------------------------------


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
                   np.zeros(objects, np.int8), np.zeros(objects, np.int64), _bins=np.zeros(64, np.int64))

    def apply(self, batch: ScanBatch) -> None:
        state, stored = self.state.reshape(-1), self.stored.reshape(-1)
        if self._bins is not None and len(batch.chunks):
            # A batch names each chunk once (the collector's rule); the final batch recounts.
            self._bins -= _size_bins(stored[batch.chunks], state[batch.chunks])
            self._bins += _size_bins(batch.chunk_bytes, batch.chunk_state)
        state[batch.chunks] = batch.chunk_state
        stored[batch.chunks] = batch.chunk_bytes
        ostate, obytes = self.object_state.reshape(-1), self.object_bytes.reshape(-1)
        ostate[batch.objects] = batch.object_state
        obytes[batch.objects] = batch.object_bytes
        self.errors.update(batch.errors)
        self.strays += batch.strays
        ranges = (batch.swept, *batch.swept_ranges) if batch.swept is not None else batch.swept_ranges
        if self.layout.shape:
            per = self.layout.per_shard[0]
            for a, b in ranges:
                unknown = self.object_state[a:b] == UNKNOWN
                self.object_state[a:b][unknown] = MISSING
                rows = self.state[a * per:b * per]
                rows[rows == UNKNOWN] = MISSING
        self.done = batch.done
        if batch.final:
            self._bins = None  # counted afresh once, when next asked
            self.state[self.state == UNKNOWN] = MISSING
            self.object_state[self.object_state == UNKNOWN] = MISSING
            self.complete = True

    # -- what a user reads ----------------------------------------------------------------

    def summary(self, plane_axes: tuple[int, int] | None = None, point: Sequence[int] | None = None) -> dict[str, Any]:
        """The counts, sizes, amplification and warnings (the CLI's JSON, minus the list)."""
        layout = self.layout
        nstored = int(np.count_nonzero(self.state == STORED))
        nerror = int(np.count_nonzero(self.state == ERROR))
        stored_bytes = int(self.object_bytes.sum())
        sharded = layout.shards is not None
        objects_stored = int(np.count_nonzero(self.object_state == STORED))
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
            "nchunks_missing": int(np.count_nonzero(self.state == MISSING)),
            "nchunks_error": nerror,
            "nshards": layout.nshards,
            "nshards_initialized": objects_stored if sharded else None,
            "nobjects_stored": objects_stored + int(np.count_nonzero(self.object_state == ERROR)),
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


def scan(layout: ChunkLayout, *, should_stop: Any = None) -> Iterator[ScanBatch]:
    """Walk the array's directory and yield what is stored, in batches.

    ``should_stop()`` is asked between batches (a cancelled worker stops yielding).
    The last batch has ``final=True``; cancelling leaves the report incomplete.
    """
    if not os.path.isdir(layout.path):
        raise FileNotFoundError(f"{layout.path} is gone")
    collector = _Collector(layout)
    for batch in collector.walk():
        yield batch
        if should_stop is not None and should_stop():
            return


class _Collector:
    """Accumulates found objects and turns them into batches (vectorised per batch)."""

    def __init__(self, layout: ChunkLayout) -> None:
        self.layout = layout
        self.ndim = len(layout.shape)
        self.object_grid = layout.object_grid
        self.grid = layout.grid
        self._reset()
        self.last = time.perf_counter()
        self.uid = os.geteuid() if hasattr(os, "geteuid") else 0
        if layout.shards is not None:
            per = layout.per_shard
            self.local = np.stack(np.unravel_index(np.arange(math.prod(per)), per), axis=1) if per else np.zeros((1, 0), np.int64)

    def _reset(self) -> None:
        self.found: list[tuple[int, ...]] = []
        self.sizes: list[int] = []
        self.failed: list[tuple[tuple[int, ...], int, str]] = []
        self.inner: list[tuple[tuple[int, ...], np.ndarray]] = []
        self.leaves: list[tuple[tuple[int, ...], list[int], list[int]]] = []
        self.failed_dirs: list[tuple[tuple[int, ...], str]] = []
        self.arrays: list[tuple[np.ndarray, np.ndarray]] = []  # (index rows, sizes) from find
        self.swept: list[tuple[int, int]] = []
        self.strays = 0

    # -- walking ------------------------------------------------------------------------

    def walk(self) -> Iterator[ScanBatch]:
        layout = self.layout
        root = layout.path
        if self.ndim == 0:
            self._visit_file(os.path.join(root, layout.key(())), ())
            yield self._batch(done=1.0, final=True)
            return
        if layout.separator == "/":
            top = os.path.join(root, layout.prefix) if layout.prefix else root
            first = self._int_entries(top, want_dirs=self.ndim > 1)
            first.sort(key=lambda e: e[0])
            n0 = self.object_grid[0]
            if self.ndim > 1 and layout.shards is None and chunk_find.use_find(layout.nobjects):
                yield from self._walk_with_find(top, [i for i, _ in first])
                return
            swept_from = 0
            for i0, entry in first:
                if self.ndim == 1:
                    self._visit_entry(entry, (i0,))
                else:
                    self._walk_nested(entry.path, (i0,))
                if self._due():
                    yield self._batch(done=min(1.0, (i0 + 1) / n0), swept=(swept_from, i0 + 1))
                    swept_from = i0 + 1
            yield self._batch(done=1.0, final=True)
            return
        # Flat keys: "0.1.2" (zarr v2) or "c.0.1.2" (v3 with '.' separator).
        total = max(1, self.layout.nobjects)
        seen = 0
        sep = layout.separator
        prefix = layout.prefix + sep if layout.prefix else ""
        try:
            it = os.scandir(root)
        except OSError as exc:
            raise OSError(f"cannot list {root}: {exc.strerror or exc}") from exc
        with it:
            for entry in it:
                name = entry.name
                if prefix:
                    if not name.startswith(prefix):
                        self._stray(name)
                        continue
                    name = name[len(prefix):]
                try:
                    index = tuple(int(p) for p in name.split(sep))
                except ValueError:
                    self._stray(entry.name)
                    continue
                if len(index) != self.ndim:
                    self.strays += 1
                    continue
                self._visit_entry(entry, index)
                seen += 1
                if self._due():
                    yield self._batch(done=min(0.99, seen / total))
        yield self._batch(done=1.0, final=True)

    def _walk_with_find(self, top: str, tops: list[int]) -> Iterator[ScanBatch]:
        """Unsharded, nested keys: ``find`` processes give names and sizes (see chunk_find)."""
        for block in chunk_find.walk_nested(top, tops, self.ndim, self.object_grid):
            if len(block.rows):
                self.arrays.append((block.rows, block.sizes))
            for index, path in block.careful:  # not a plain readable file: as the Python walk does
                self._visit_path(path, index)
            self.strays += block.strays
            self.failed_dirs.extend(block.failed_dirs)
            self.swept.extend(block.swept)
            if self._due() or block.idle:  # idle: a batch all the same, so a cancelled scan stops
                yield self._batch(done=min(0.99, block.done))
        yield self._batch(done=1.0, final=True)

    def _visit_path(self, path: str, index: tuple[int, ...]) -> None:
        """One entry where a chunk file should be, checked as ``_visit_entry`` checks a DirEntry."""
        try:
            st = os.stat(path)
        except OSError as exc:
            if os.path.lexists(path):  # a broken symlink, a loop, no permission: flagged
                self._fail(index, 0, f"{exc.strerror or exc}: {path}")
            return  # gone since find listed it: missing
        self._visit_stat(path, index, st)

    def _stray(self, name: str) -> None:
        if name not in (V3_META, V2_ARRAY, ".zattrs", ".zgroup", ".zmetadata") and not name.startswith("."):
            self.strays += 1

    def _int_entries(self, directory: str, *, want_dirs: bool) -> list[tuple[int, os.DirEntry[str]]]:
        out = []
        try:
            it = os.scandir(directory)
        except FileNotFoundError:
            return []  # nothing written yet
        with it:
            for entry in it:
                try:
                    out.append((int(entry.name), entry))
                except ValueError:
                    self._stray(entry.name)
        return out

    def _walk_nested(self, directory: str, prefix: tuple[int, ...]) -> None:
        last = len(prefix) == self.ndim - 1
        try:
            it = os.scandir(directory)
        except OSError as exc:
            if not isinstance(exc, (FileNotFoundError, NotADirectoryError)):
                self.failed_dirs.append((prefix, f"cannot list {directory}: {exc.strerror or exc}"))
            return
        with it:
            if last and self.layout.shards is None:
                self._leaf(it, prefix)
                return
            for entry in it:
                try:
                    i = int(entry.name)
                except ValueError:
                    self.strays += 1
                    continue
                if last:
                    self._visit_entry(entry, (*prefix, i))
                else:
                    self._walk_nested(entry.path, (*prefix, i))

    def _leaf(self, it: Iterator[os.DirEntry[str]], prefix: tuple[int, ...]) -> None:
        """The innermost folder of an unsharded array: the hot loop, one stat per chunk."""
        xs: list[int] = []
        sizes: list[int] = []
        check_access = self.uid != 0
        for entry in it:
            try:
                i = int(entry.name)
            except ValueError:
                self.strays += 1
                continue
            try:
                st = entry.stat()
            except OSError as exc:
                self._fail((*prefix, i), 0, f"{exc.strerror or exc}: {entry.path}")
                continue
            mode = st.st_mode
            if mode & 0o170000 != 0o100000 or (check_access and mode & 0o444 != 0o444):
                self._visit_stat(entry.path, (*prefix, i), st)  # the careful path: not a file, permissions
                continue
            xs.append(i)
            sizes.append(st.st_size)
        if xs:
            self.leaves.append((prefix, xs, sizes))

    def _visit_entry(self, entry: os.DirEntry[str], index: tuple[int, ...]) -> None:
        try:
            st = entry.stat()
        except OSError as exc:
            self._fail(index, 0, f"{exc.strerror or exc}: {entry.path}")
            return
        self._visit_stat(entry.path, index, st)

    def _visit_file(self, path: str, index: tuple[int, ...]) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._fail(index, 0, f"{exc.strerror or exc}: {path}")
            return
        self._visit_stat(path, index, st)

    def _visit_stat(self, path: str, index: tuple[int, ...], st: os.stat_result) -> None:
        if any(i >= n for i, n in zip(index, self.object_grid)):
            self.strays += 1
            return
        if not stat_module.S_ISREG(st.st_mode):
            self._fail(index, 0, f"not a file: {path}")
            return
        if self.uid != 0 and (st.st_mode & 0o444) != 0o444 and not os.access(path, os.R_OK):
            self._fail(index, st.st_size, f"Permission denied: {path}")
            return
        if self.layout.shards is None:
            self.found.append(index)
            self.sizes.append(st.st_size)
            return
        offsets, message = read_shard_index(self.layout, path, st.st_size)
        if message is not None or offsets is None:
            self._fail(index, st.st_size, message or "shard index unreadable")
            return
        self.found.append(index)
        self.sizes.append(st.st_size)
        self.inner.append((index, offsets))

    def _fail(self, index: tuple[int, ...], size: int, message: str) -> None:
        if any(i >= n for i, n in zip(index, self.object_grid)):
            self.strays += 1
            return
        self.failed.append((index, size, message))

    def _due(self) -> bool:
        pending = (len(self.found) + len(self.failed) + sum(len(xs) for _p, xs, _s in self.leaves)
                   + sum(len(rows) for rows, _s in self.arrays))
        if self.layout.shards is not None:
            pending = pending * max(1, math.prod(self.layout.per_shard)) // 4
        return pending >= BATCH_ENTRIES or (pending > 0 and time.perf_counter() - self.last > BATCH_SECONDS)

    # -- batches ------------------------------------------------------------------------

    def _batch(self, *, done: float, final: bool = False, swept: tuple[int, int] | None = None) -> ScanBatch:
        layout = self.layout
        og, grid = self.object_grid, self.grid
        found = np.array(self.found, np.int64).reshape(len(self.found), self.ndim)
        sizes = np.array(self.sizes, np.int64)
        if self.leaves:
            found, sizes = self._leaf_facts(found, sizes)
        if self.arrays:
            found = np.concatenate([found, *(rows for rows, _s in self.arrays)])
            sizes = np.concatenate([sizes, *(s for _r, s in self.arrays)])
        for prefix, message in self.failed_dirs:  # every object under a folder that cannot be listed
            rest = self.object_grid[len(prefix):]
            for sub in np.ndindex(*rest) if math.prod(rest) <= 1_000_000 else ():
                self.failed.append(((*prefix, *sub), 0, message))
        failed = np.array([f[0] for f in self.failed], np.int64).reshape(len(self.failed), self.ndim)
        objects = np.concatenate([_ravel(found, og), _ravel(failed, og)])
        object_bytes = np.concatenate([sizes, np.array([f[1] for f in self.failed], np.int64)])
        object_state = np.concatenate([np.full(len(found), STORED, np.int8), np.full(len(failed), ERROR, np.int8)])
        errors = {int(k): f[2] for k, f in zip(objects[len(found):], self.failed)}
        if layout.shards is None:
            chunks, chunk_bytes, chunk_state = objects, object_bytes, object_state
        else:
            chunks, chunk_bytes, chunk_state = self._inner_facts(failed)
        batch = ScanBatch(chunks, chunk_bytes, chunk_state, objects, object_bytes, object_state, errors,
                          swept=swept, swept_ranges=tuple(self.swept), done=done, final=final, strays=self.strays)
        if grid == ():  # 0-d: one chunk
            batch.chunks = batch.chunks[:1]
        self._reset()
        self.last = time.perf_counter()
        return batch

    def _leaf_facts(self, found: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chunks found by the hot loop, as index rows (out-of-grid names become strays)."""
        counts = [len(xs) for _p, xs, _s in self.leaves]
        last = np.fromiter((x for _p, xs, _s in self.leaves for x in xs), np.int64, sum(counts))
        leaf_sizes = np.fromiter((v for _p, _x, vs in self.leaves for v in vs), np.int64, sum(counts))
        prefixes = np.repeat(np.array([p for p, _x, _s in self.leaves], np.int64).reshape(len(counts), self.ndim - 1),
                             counts, axis=0)
        rows = np.concatenate([prefixes, last[:, None]], axis=1)
        inside = np.all(rows < np.array(self.object_grid, np.int64), axis=1)
        self.strays += int(np.count_nonzero(~inside))
        return np.concatenate([found, rows[inside]]), np.concatenate([sizes, leaf_sizes[inside]])

    def _inner_facts(self, failed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inner chunk facts of the shards in this batch, from their decoded indexes."""
        per = np.array(self.layout.per_shard, np.int64)
        grid = self.grid
        parts_idx, parts_bytes, parts_state = [], [], []
        if self.inner:
            shards = np.array([s for s, _ in self.inner], np.int64).reshape(-1, self.ndim)
            coords = shards[:, None, :] * per + self.local[None, :, :]
            tables = np.stack([table for _, table in self.inner])  # (shards, n_local, 2)
            starts, lengths = tables[:, :, 0], tables[:, :, 1]
            present = starts != np.uint64(MAX_UINT_64)
            inside = np.all(coords < np.array(grid, np.int64), axis=2)
            coords, present, lengths = coords[inside], present[inside], lengths[inside]
            parts_idx.append(np.ravel_multi_index(tuple(coords.T), grid).astype(np.int64))
            parts_bytes.append(np.where(present, lengths, 0).astype(np.int64))
            parts_state.append(np.where(present, STORED, MISSING).astype(np.int8))
        if len(failed):
            coords = failed[:, None, :] * per + self.local[None, :, :]
            coords = coords[np.all(coords < np.array(grid, np.int64), axis=2)]
            parts_idx.append(np.ravel_multi_index(tuple(coords.T), grid).astype(np.int64))
            parts_bytes.append(np.zeros(len(coords), np.int64))
            parts_state.append(np.full(len(coords), ERROR, np.int8))
        if not parts_idx:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8)
        return np.concatenate(parts_idx), np.concatenate(parts_bytes), np.concatenate(parts_state)


def _ravel(indices: np.ndarray, grid: tuple[int, ...]) -> np.ndarray:
    if len(indices) == 0:
        return np.zeros(0, np.int64)
    if not grid:
        return np.zeros(len(indices), np.int64)
    flat: np.ndarray = np.ravel_multi_index(tuple(indices.T), grid).astype(np.int64)
    return flat


def verify(report: ChunkReport, *, array: Any = None, should_stop: Any = None) -> Iterator[tuple[int, int]]:
    """Decode every stored chunk of a complete report; those that fail become unreadable.

    A scan learns which chunks exist and their sizes, not whether they decode: a truncated
    or garbage unsharded chunk is a file like any other (and a viewer shows it as the fill
    value). This pass reads each stored chunk through zarr, as a viewer would, and marks a
    chunk that fails with ERROR and its reason. Yields (decoded, total) now and then;
    ``report.verified`` is set when every stored chunk was tried.
    """
    layout = report.layout
    flat_state = report.state.reshape(-1)
    todo = np.flatnonzero(flat_state == STORED)
    total = int(todo.size)
    if array is None:
        array = open_for_decoding(layout)
    grid = layout.grid
    last = time.perf_counter()
    for done, flat in enumerate(todo.tolist()):
        if should_stop is not None and should_stop():
            return
        index = tuple(int(i) for i in np.unravel_index(flat, grid)) if grid else ()
        try:
            np.asarray(array[layout.region(index)])
        except Exception as exc:  # any decode or read failure is this chunk's fact
            flat_state[flat] = ERROR
            obj, _inner = layout.object_of(index)
            oflat = int(np.ravel_multi_index(obj, layout.object_grid)) if obj else 0
            where = f"chunk {list(index)}: " if layout.shards is not None else ""
            report.errors.setdefault(oflat, where + explain_decode_error(layout, exc))
            report._bins = None
        if time.perf_counter() - last > BATCH_SECONDS:
            last = time.perf_counter()
            yield (done + 1, total)
    report.verified = True
    yield (total, total)


def scan_report(layout: ChunkLayout, *, decode: bool = False) -> ChunkReport:
    """The complete report, scanned in this thread (the CLI and tests)."""
    report = ChunkReport.empty(layout)
    started = time.perf_counter()
    for batch in scan(layout):
        report.apply(batch)
    if decode:
        for _progress in verify(report):
            pass
    report.seconds = time.perf_counter() - started
    return report


# -- one chunk ----------------------------------------------------------------------------------


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


# -- export -------------------------------------------------------------------------------------

CSV_COLUMNS = ("index", "key", "state", "present", "stored_bytes", "ratio", "shard", "inner_index", "error")


def write_csv(report: ChunkReport, path: str) -> int:
    """The chunk table as CSV (one row per chunk of the grid); returns the rows written."""
    import csv

    decoded = report.layout.chunk_nbytes
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in report.chunk_rows():
            stored = row["stored_bytes"]
            writer.writerow([
                " ".join(map(str, row["index"])), row["key"], row["state"], int(row["present"]), stored,
                f"{decoded / stored:.4f}" if decoded and stored else "",
                " ".join(map(str, row.get("shard", []))), " ".join(map(str, row.get("inner_index", []))),
                row.get("error", ""),
            ])
            rows += 1
    return rows


def write_json(report: ChunkReport, path: str) -> int:
    """The CLI's ``chunks --json`` document; returns the chunks written."""
    doc = report.summary()
    doc["chunk_list"] = list(report.chunk_rows())
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
    return len(doc["chunk_list"])
