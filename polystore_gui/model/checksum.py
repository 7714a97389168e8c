"""Content checksums of zarr arrays and stores, independent of chunking and codecs.

An array's digest says its dtype, its shape and its values in C order, and nothing else:
a copy re-chunked, re-sharded, recompressed or moved between zarr v2 and v3 has the same
digest, and one changed value changes it.

How: the array's C-order element stream is cut into **tiles** that depend on the shape and
the dtype only, never on the storage chunks: tile axis ``d`` is the first axis whose
trailing block (``shape[d+1:]``) fits in TILE_BYTES, and a tile is ``k`` consecutive
indices along ``d`` (with every trailing axis whole, leading indices fixed), ``k`` as many
as fit in TILE_BYTES. Each tile is therefore one contiguous run of the C-order stream.
The digest is SHA-256 over a header (``{"dtype": ..., "shape": ...}``, the dtype
little-endian) followed by the SHA-256 of every tile in order. Tiles are hashed in
parallel on dask (see whole_array); a task reads several tiles at once when that lines
them up with the storage chunks along ``d`` (fewer chunks decoded twice), which changes
the work, not the digest.

A store's digest is SHA-256 over its sorted ``path<TAB>array digest`` lines.

A TIFF's digest is the array digest of its first series at full resolution, its axes put
in OME-NGFF's order (t, c, z, y, x) exactly as ``convert`` writes it: so ``checksum a.tif``
equals the digest of level 0 (``0``) of ``convert a.tif b.ome.zarr``. Further series and
the lower levels of a TIFF pyramid are not part of it (the result says how many series
the file has).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .whole_array import (Engine, Progress, Region, SourceSpec, WholeArrayError, build_tree, compute, open_array,
                          read_region)
from .safe_files import open_regular
from .tiff_facts import dimension_names, is_tiff_name, ngff_layout, read_tiff_facts
from .zarr_nodes import CorruptMetadataError, read_node

TILE_BYTES = 16 * 2**20
#: A task reads up to this many tiles at once to line up with the storage chunks.
MAX_TILES_PER_TASK = 8


@dataclass(frozen=True)
class Tiling:
    """The chunk-independent tiling of an array's C-order stream."""

    axis: int  # tiles run along this axis (-1: a 0-d array, one tile)
    rows: int  # indices along ``axis`` per tile


def canonical_dtype(dtype: Any) -> str:
    """The dtype as its little-endian numpy string (``<u2``, ``|u1``, ``<f8``)."""
    dt = np.dtype(dtype)
    return str(dt.newbyteorder("<").str if dt.itemsize > 1 else dt.str)


def tiling(shape: tuple[int, ...], itemsize: int, tile_bytes: int = TILE_BYTES) -> Tiling:
    """Where the tiles of an array of ``shape`` fall (depends on nothing else)."""
    if not shape:
        return Tiling(axis=-1, rows=1)
    for d in range(len(shape)):
        block = math.prod(shape[d + 1:]) * itemsize
        if block <= tile_bytes:
            return Tiling(axis=d, rows=max(1, tile_bytes // max(block, 1)))
    raise AssertionError("unreachable: the last axis always fits")  # pragma: no cover


def task_regions(shape: tuple[int, ...], t: Tiling, chunk_rows: int) -> Iterator[tuple[Region, int]]:
    """The regions tasks read, in C order, with the tile rows each is hashed by.

    A task covers a whole number of tiles; as many (up to MAX_TILES_PER_TASK) as span a
    storage chunk along the tile axis."""
    if t.axis < 0:
        yield (), 1
        return
    per_task = t.rows * min(MAX_TILES_PER_TASK, max(1, math.ceil(chunk_rows / t.rows)))
    leading = [range(n) for n in shape[:t.axis]]
    rest = tuple((0, n) for n in shape[t.axis + 1:])
    for index in _product(leading):
        for start in range(0, shape[t.axis], per_task):
            stop = min(start + per_task, shape[t.axis])
            yield tuple((i, i + 1) for i in index) + ((start, stop),) + rest, t.rows


def _product(ranges: list[range]) -> Iterator[tuple[int, ...]]:
    import itertools

    return iter(itertools.product(*ranges))


def hash_tiles(path: str | SourceSpec, region: Region, axis: int, rows: int, dtype: str) -> list[bytes]:
    """SHA-256 of each tile in ``region`` (a dask task: reads through zarr)."""
    values = np.asarray(read_region(path, region)).astype(dtype, copy=False)
    if axis < 0:
        return [hashlib.sha256(np.ascontiguousarray(values).tobytes()).digest()]
    digests = []
    for start in range(0, values.shape[axis], rows):
        where: list[slice] = [slice(None)] * values.ndim
        where[axis] = slice(start, start + rows)
        tile = np.ascontiguousarray(values[tuple(where)])  # a view already: leading axes are 1 long
        digests.append(hashlib.sha256(tile.data.cast("B")).digest())
    return digests


def concat(*parts: list[bytes]) -> list[bytes]:
    """Tile digests of consecutive tasks, in order."""
    return [d for part in parts for d in part]


def array_digest(path: str | SourceSpec, *, engine: Engine = Engine(), progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """The content digest of the zarr array at ``path``: dtype, shape, digest, tiling."""
    arr = open_array(path)
    try:
        dtype = canonical_dtype(arr.dtype)
    except TypeError:
        raise WholeArrayError(f"{path}: dtype {arr.dtype} has no checksum here (not a numeric dtype)") from None
    shape = tuple(int(n) for n in arr.shape)
    t = tiling(shape, np.dtype(dtype).itemsize, TILE_BYTES)
    chunk_rows = int(arr.chunks[t.axis]) if t.axis >= 0 else 1
    header = json.dumps({"dtype": dtype, "shape": list(shape)}, sort_keys=True).encode()
    digest = hashlib.sha256(header)
    if math.prod(shape) > 0:
        regions = list(task_regions(shape, t, chunk_rows))
        leaves = {("checksum-tiles", i): (hash_tiles, path, region, t.axis, rows, dtype)
                  for i, (region, rows) in enumerate(regions)}
        graph, keys = build_tree(leaves, concat, "checksum-tiles")
        for part in compute(graph, keys, leaves=len(regions), engine=engine, progress=progress, cancelled=cancelled):
            for tile_digest in part:
                digest.update(tile_digest)
    shown = path.path if isinstance(path, SourceSpec) else path
    return {"path": shown, "dtype": dtype, "shape": list(shape), "digest": "sha256:" + digest.hexdigest(),
            "tiling": {"axis": t.axis, "rows": t.rows}}


def _arrays_under(root: str) -> list[str]:
    """The arrays of the zarr group at ``root``, as paths relative to it, sorted."""
    import zarr

    try:
        group = zarr.open_group(root, mode="r")
        return sorted(name for name, node in group.members(max_depth=None) if isinstance(node, zarr.Array))
    except Exception as exc:  # zarr raises many kinds for bad metadata
        raise WholeArrayError(f"{root}: cannot list the zarr group: {exc}") from None


def checksum(path: str, *, engine: Engine = Engine(), progress: Callable[[str, int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """The checksum of a zarr array, or of every array in a zarr group (a store)."""
    path = os.path.abspath(path)
    if os.path.isfile(path) and is_tiff_name(path):
        return tiff_checksum(path, engine=engine, progress=progress, cancelled=cancelled)
    if not os.path.isdir(path):
        raise WholeArrayError(f"{path} does not exist" if not os.path.exists(path) else f"{path} is not a zarr array or group")
    try:
        meta = read_node(path)
    except CorruptMetadataError as exc:
        raise WholeArrayError(str(exc)) from None
    if meta is None:
        raise WholeArrayError(f"{path} is not a zarr array or group (no zarr.json, .zarray or .zgroup)")

    def step(label: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(label, done, total))

    if meta.node_type == "array":
        return {"kind": "array", **array_digest(path, engine=engine, progress=step(path), cancelled=cancelled)}
    arrays = []
    for name in _arrays_under(path):
        found = array_digest(os.path.join(path, name), engine=engine, progress=step(name), cancelled=cancelled)
        arrays.append({"path": name, "dtype": found["dtype"], "shape": found["shape"], "digest": found["digest"]})
    lines = "".join(f"{a['path']}\t{a['digest']}\n" for a in arrays).encode()
    return {"kind": "store", "path": path, "digest": "sha256:" + hashlib.sha256(lines).hexdigest(), "arrays": arrays}


def tiff_checksum(path: str, *, engine: Engine = Engine(), progress: Callable[[str, int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """The checksum of a TIFF's first series, full resolution, in OME-NGFF axis order
    (what ``convert`` writes as level 0); axes with no OME-NGFF name keep the file's order."""
    import tifffile

    try:
        facts = read_tiff_facts(path)
        with open_regular(path) as fh, tifffile.TiffFile(fh) as tif:
            series = len(tif.series)
    except Exception as exc:  # tifffile raises many kinds for files that are not TIFFs
        raise WholeArrayError(f"{path}: cannot read as a TIFF: {exc}") from None
    names = dimension_names(facts.axes)
    layout = ngff_layout(names)
    order: tuple[int, ...] | None = None
    axes = names
    if layout is not None:
        axes = layout[1]
        if layout[0] != tuple(range(len(layout[0]))):
            order = layout[0]
    spec = SourceSpec(path, "tiff", order)
    found = array_digest(spec, engine=engine, progress=None if progress is None else
                         (lambda done, total: progress(path, done, total)), cancelled=cancelled)
    compared = ("series 0 of " + str(series) + ", full resolution, axes " + ", ".join(axes)
                + (" (OME-NGFF order, as convert writes level 0)" if layout is not None
                   else " (the file's order: not all axes have OME-NGFF names)"))
    return {"kind": "tiff", **found, "axes": list(axes), "series": series, "compared": compared}
