"""The chunk map of a remote zarr array: S3's listing gives every stored object and its size.

The layout is read from the array's metadata document as for a local array
(``chunk_layout``); the scan lists the array's keys page by page (one request per 1,000
objects) and turns each page into a :class:`ScanBatch`. A sharded array's inner chunks
come from each shard's index, read with one ranged request per shard (concurrently).
A plain HTTP server gives no listing: the scan says so instead of guessing (trying every
key of the grid would cost a request per chunk).
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .chunk_layout import MAX_UINT_64, ChunkLayout, ChunkLayoutError, _layout_v2, _layout_v3, array_of_node
from .chunk_report import ERROR, MISSING, STORED, ScanBatch
from .remote_nodes import parse_json, read_node
from .remote_store import RemoteStore, _zarr_sync
from .remote_zarr import locate
from .zarr_nodes import METADATA_NAMES, V2_ARRAY, V3_META

CHUNK_MAP_NEEDS_LISTING = ("the chunk map needs a listing, which a plain HTTP server does not give "
                           "(open the store over S3, or copy it with cp and inspect the copy)")
INDEX_CONCURRENCY = 32


def resolve_remote_array(path: str) -> tuple[str, str | None]:
    """The URL of the array ``path`` means (an OME-NGFF image: its level 0), and a note."""
    store, key, _ = locate(path)
    return array_of_node(path, read_node(store, key))


def remote_layout(path: str) -> ChunkLayout:
    """The chunk layout of the remote array at ``path`` (its metadata document, cached)."""
    store, key, _ = locate(path)
    raw = store.get(f"{key}/{V3_META}")
    if raw is not None:
        return _layout_v3(path, parse_json(raw, V3_META))
    raw = store.get(f"{key}/{V2_ARRAY}")
    if raw is not None:
        return _layout_v2(path, parse_json(raw, V2_ARRAY))
    raise ChunkLayoutError(f"{path} is not a zarr array (no zarr.json or .zarray)")


def _index_of(layout: ChunkLayout, name: str) -> tuple[int, ...] | None:
    """The object index a key below the array names; None for anything else."""
    sep = layout.separator
    if layout.prefix:
        head = layout.prefix + sep
        if not name.startswith(head):
            return None
        name = name[len(head):]
    try:
        index = tuple(int(p) for p in name.split(sep))
    except ValueError:
        return None
    if len(index) != len(layout.shape) or any(i < 0 or i >= n for i, n in zip(index, layout.object_grid)):
        return None
    return index


def _decode_index(layout: ChunkLayout, raw: bytes) -> np.ndarray | str:
    """A shard's (offset, length) table, or why it cannot be read."""
    fmt = layout.index
    assert fmt is not None
    n = math.prod(layout.per_shard)
    if len(raw) != fmt.nbytes:
        return f"shard index truncated: {len(raw):,} of {fmt.nbytes:,} bytes"
    if fmt.checksum:
        import google_crc32c

        body, stored_crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
        if google_crc32c.value(body) != stored_crc:
            return "shard index corrupt: its crc32c checksum does not match"
    else:
        body = raw
    return np.frombuffer(body, dtype=np.dtype(fmt.endian + "u8"), count=2 * n).reshape(n, 2).astype(np.uint64)


async def _shard_indexes(store: RemoteStore, layout: ChunkLayout, base: str, shards: list[tuple[tuple[int, ...], int]],
                         cancelled: Callable[[], bool]) -> list[np.ndarray | str]:
    import obstore as obs

    fmt = layout.index
    assert fmt is not None
    gate = asyncio.Semaphore(INDEX_CONCURRENCY)

    async def one(index: tuple[int, ...], size: int) -> np.ndarray | str:
        if size < fmt.nbytes:
            return f"shard index truncated: the object has {size:,} bytes, its index needs {fmt.nbytes:,}"
        start = 0 if fmt.location == "start" else size - fmt.nbytes
        key = f"{base}/{layout.key(index)}" if base else layout.key(index)
        async with gate:
            if cancelled():
                return "cancelled"
            store._counted()
            try:
                raw = bytes(await obs.get_range_async(store.client, key, start=start, end=start + fmt.nbytes))
            except Exception as exc:
                return str(store.error(exc, key))
        return _decode_index(layout, raw)

    return list(await asyncio.gather(*(one(i, s) for i, s in shards)))


def remote_scan(layout: ChunkLayout, *, should_stop: Any = None) -> Iterator[ScanBatch]:
    """What a remote array stores, in batches (one per listing page), like ``chunks.scan``."""
    store, key, url = locate(layout.path)
    if not store.can_list:
        raise ChunkLayoutError(CHUNK_MAP_NEEDS_LISTING)
    if layout.index is not None and layout.index.nbytes < 0:
        raise ChunkLayoutError("this shard index encoding is read from local copies only (copy the store with cp)")
    cancelled: Callable[[], bool] = should_stop if should_stop is not None else (lambda: False)
    total = max(1, layout.nobjects)
    seen = 0
    strays = 0
    grid = layout.grid
    per = np.array(layout.per_shard, np.int64)
    local = (np.stack(np.unravel_index(np.arange(math.prod(layout.per_shard)), layout.per_shard), axis=1)
             if layout.shards is not None and layout.shape else None)
    for page in store.walk(key, cancelled):
        found: list[tuple[int, ...]] = []
        sizes: list[int] = []
        for item in page:
            if item.key.rsplit("/", 1)[-1] in METADATA_NAMES:
                continue
            index = _index_of(layout, item.key)
            if index is None:
                strays += 1
                continue
            found.append(index)
            sizes.append(item.size)
        seen += len(found)
        yield _batch(store, layout, key, found, sizes, grid, per, local, min(0.99, seen / total), strays, cancelled)
        strays = 0
        if cancelled():
            return
    yield ScanBatch(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64),
                    np.zeros(0, np.int64), np.zeros(0, np.int8), {}, done=1.0, final=True)


def _ravel(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if len(rows) == 0 or not shape:
        return np.zeros(len(rows), np.int64)
    flat: np.ndarray = np.ravel_multi_index(tuple(rows.T), shape).astype(np.int64)
    return flat


def _batch(store: RemoteStore, layout: ChunkLayout, key: str, found: list[tuple[int, ...]], sizes: list[int],
           grid: tuple[int, ...], per: np.ndarray, local: np.ndarray | None, done: float, strays: int,
           cancelled: Callable[[], bool]) -> ScanBatch:
    ndim = len(layout.shape)
    rows = np.array(found, np.int64).reshape(len(found), ndim)
    objects = _ravel(rows, layout.object_grid)
    object_bytes = np.array(sizes, np.int64)
    object_state = np.full(len(found), STORED, np.int8)
    errors: dict[int, str] = {}
    if layout.shards is None or local is None:
        return ScanBatch(objects, object_bytes, object_state, objects, object_bytes, object_state, errors,
                         done=done, strays=strays)
    tables = _zarr_sync(_shard_indexes(store, layout, key, list(zip(found, sizes)), cancelled))
    chunk_parts, byte_parts, state_parts = [], [], []
    for i, (shard, table) in enumerate(zip(rows, tables)):
        coords = shard[None, :] * per + local
        inside = np.all(coords < np.array(grid, np.int64), axis=1)
        flat = _ravel(coords[inside], grid)
        if isinstance(table, str):
            object_state[i] = ERROR
            errors[int(objects[i])] = table
            chunk_parts.append(flat)
            byte_parts.append(np.zeros(len(flat), np.int64))
            state_parts.append(np.full(len(flat), ERROR, np.int8))
            continue
        starts, lengths = table[inside, 0], table[inside, 1]
        held = starts != np.uint64(MAX_UINT_64)
        chunk_parts.append(flat)
        byte_parts.append(np.where(held, lengths, 0).astype(np.int64))
        state_parts.append(np.where(held, STORED, MISSING).astype(np.int8))
    chunks = np.concatenate(chunk_parts) if chunk_parts else np.zeros(0, np.int64)
    chunk_bytes = np.concatenate(byte_parts) if byte_parts else np.zeros(0, np.int64)
    chunk_state = np.concatenate(state_parts) if state_parts else np.zeros(0, np.int8)
    return ScanBatch(chunks, chunk_bytes, chunk_state, objects, object_bytes, object_state, errors,
                     done=done, strays=strays)
