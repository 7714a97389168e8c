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

The scan lives here; the report it fills is ``chunk_report``, one chunk's detail
``chunk_detail``, the export ``chunk_export`` (their names stay importable from here).
"""

from __future__ import annotations

import math
import os
import stat as stat_module
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import chunk_find
from .chunk_detail import ChunkDetail, chunk_detail, explain_decode_error, open_for_decoding  # noqa: F401
from .chunk_export import CSV_COLUMNS, write_csv, write_json  # noqa: F401
from .chunk_layout import MAX_UINT_64, ChunkLayout, ChunkLayoutError, read_shard_index  # noqa: F401
from .chunk_report import (  # noqa: F401  (names others import from here)
    ERROR, MAX_GRID, MISSING, STATE_NAMES, STORED, UNKNOWN, WARN_AMPLIFICATION, WARN_CHUNK_LARGE, WARN_CHUNK_SMALL,
    WARN_OBJECTS, ChunkReport, ScanBatch, read_amplification, warnings,
)
from .remote_address import is_remote_path
from .safe_files import open_regular  # noqa: F401
from .zarr_nodes import V2_ARRAY, V3_META

BATCH_ENTRIES = 20_000
BATCH_SECONDS = 0.05


def scan(layout: ChunkLayout, *, should_stop: Any = None) -> Iterator[ScanBatch]:
    """Walk the array's directory and yield what is stored, in batches.

    ``should_stop()`` is asked between batches (a cancelled worker stops yielding).
    The last batch has ``final=True``; cancelling leaves the report incomplete.
    """
    if is_remote_path(layout.path):  # S3: from its listing (remote_chunks)
        from .remote_chunks import remote_scan

        yield from remote_scan(layout, should_stop=should_stop)
        return
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
            report.states_changed()
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

