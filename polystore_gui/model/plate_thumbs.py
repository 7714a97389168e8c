"""Thumbnails of a plate's wells: the first field, small, cheap to read, cached on disk.

A well's thumbnail is one plane (first time point, first channel, middle z) of its first
field, at the lowest resolution level when the image has a pyramid, else a strided
downsample of that plane (bounded to :data:`THUMB_EDGE` pixels a side). The first well's
image metadata says which level and axes; later wells are assumed to be laid out alike,
so each costs two object reads (the level's array metadata, then its chunk) and falls back
to reading its own image metadata when the assumption fails.

How the other wells are read depends on the first: when its plane can be read from the
prefix of one zlib/gzip (or raw) chunk (:mod:`.plate_plane`: polystore's one-chunk wells),
every well is read so on a few threads; otherwise (pyramids, blosc, zstd, shards) zarr
reads them BATCH at a time on its own event loop. Remote plates (URLs) are read on the
threads through the remote store (:mod:`.remote_zarr`), and cached on disk keyed by the
version their remote gives of the plate's metadata (see :class:`ThumbnailCache`).

Thumbnails are kept as 8-bit ``.npy`` files in the user cache folder, in one folder per
plate keyed by the plate's path and its metadata's modification time, one file per well
keyed by the well folder's modification time (polystore rewrites a well as a new folder),
so a reopened plate is drawn from the cache without reading the store.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .ome_meta import image_axes
from .plate_level import KnownLevel, check_local, known_level, local_store, read_known
from .plate_plane import codecs_unservable, read_plane
from .plate_summary import TIFF_PLATE, PlateSummary, WellSummary
from .zarr_nodes import CorruptMetadataError, ome_attributes, ome_member_path, read_node

THUMB_EDGE = 96
CACHE_FOLDER_NAME = "plate-thumbnails"


def default_cache_folder() -> str:
    """The user cache folder's thumbnail folder (platformdirs; Qt passes its own)."""
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("polystore-gui"), CACHE_FOLDER_NAME)


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """One well's thumbnail: 8-bit pixels, or why there are none."""

    well: str  # the well's path in the plate
    pixels: np.ndarray[Any, Any] | None
    error: str | None = None
    cached: bool = False
    shape: tuple[int, ...] | None = None  # of the level read
    dtype: str | None = None


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the first well's thumbnail came from: reused for the other wells."""

    level: str  # the lowest level's path in the field
    axes: tuple[str, ...] | None
    pyramid: bool
    zarr_format: int  # told to zarr, so that it does not look for the other format's documents
    known: KnownLevel | None = None  # the level's array metadata: the other wells read only their chunk


class ThumbnailCache:
    """Thumbnails on disk, per plate (path + metadata time) and well (folder time). A remote
    plate (a URL) is keyed by its URL and the version its remote gives of the plate's
    metadata object (ETag, Last-Modified: one HEAD request an opening), its wells by their
    path in it (a remote well has no time of its own without a request each)."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self._plate_folders: dict[tuple[str, Any, int], str | None] = {}  # a realpath per plate, not per well

    def _plate_folder(self, plate: PlateSummary, edge: int) -> str | None:
        if self.folder is None:
            return None
        memo = (plate.path, plate.metadata_mtime, edge)
        if memo not in self._plate_folders:
            if _remote(plate.path):
                from .plate_remote import remote_plate_version

                version = remote_plate_version(plate.path, plate.version)
                key = None if version is None else f"{plate.path}\0{version}\0{edge}".encode("utf-8", "surrogateescape")
            else:
                key = f"{os.path.realpath(plate.path)}\0{plate.metadata_mtime}\0{edge}".encode("utf-8", "surrogateescape")
            self._plate_folders[memo] = None if key is None else os.path.join(self.folder, hashlib.sha1(key).hexdigest()[:20])
        return self._plate_folders[memo]

    def _well_file(self, plate: PlateSummary, well: WellSummary, edge: int) -> str | None:
        folder = self._plate_folder(plate, edge)
        if folder is None:
            return None
        if _remote(plate.path):
            mtime = 0  # the plate's version stands for its wells
        else:
            try:
                mtime = os.stat(_well_source(plate, well)).st_mtime_ns
            except OSError:
                return None
        key = f"{well.path}\0{mtime}".encode("utf-8", "surrogateescape")
        return os.path.join(folder, hashlib.sha1(key).hexdigest()[:20] + ".npy")

    def get(self, plate: PlateSummary, well: WellSummary, edge: int = THUMB_EDGE) -> np.ndarray[Any, Any] | None:
        path = self._well_file(plate, well, edge)
        if path is None or not os.path.isfile(path):
            return None
        try:
            pixels = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return pixels if pixels.dtype == np.uint8 and pixels.ndim == 2 else None

    def put(self, plate: PlateSummary, well: WellSummary, pixels: np.ndarray[Any, Any], edge: int = THUMB_EDGE) -> None:
        path = self._well_file(plate, well, edge)
        if path is None:
            return
        temporary = None
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                np.save(out, pixels, allow_pickle=False)
            os.replace(temporary, path)
        except OSError:  # a cache that cannot be written only costs the next opening time
            if temporary is not None:  # a half-written file is not left in the cache folder
                try:
                    os.unlink(temporary)
                except OSError:
                    pass


def _well_source(plate: PlateSummary, well: WellSummary) -> str:
    if plate.kind == TIFF_PLATE and well.fields and well.fields[0].files:
        return well.fields[0].files[0]
    return os.path.join(plate.path, well.path)


def to_uint8(plane: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A plane stretched to 8 bits between its 0.5th and 99.5th percentiles (NaN as 0)."""
    data = np.asarray(plane)
    if data.dtype == bool:
        return data.astype(np.uint8) * 255
    if np.iscomplexobj(data):
        data = np.abs(data)
    data = data.astype(np.float64, copy=False)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.zeros(data.shape, np.uint8)
    low, high = np.percentile(finite, (0.5, 99.5))
    if high <= low:
        high = low + 1
    scaled = np.clip((np.nan_to_num(data, nan=low) - low) / (high - low), 0, 1)
    return np.asarray((scaled * 255).round(), dtype=np.uint8)


def _plane_key(shape: tuple[int, ...], axes: tuple[str, ...] | None, edge: int) -> tuple[Any, ...]:
    """One plane (first t, first c, middle z), strided down to at most ``edge`` a side."""
    names = axes if axes is not None and len(axes) == len(shape) else None
    key: list[Any] = []
    for i, size in enumerate(shape[:-2]):
        name = names[i] if names else ""
        key.append(size // 2 if name == "z" else 0)
    for size in shape[-2:]:
        key.append(slice(None, None, max(1, -(-size // edge))))
    return tuple(key)


def _remote(path: str) -> bool:
    from .remote_address import is_remote_path

    return is_remote_path(path)


def _member(field_path: str, level: str) -> str:
    """A level's path in its field (never outside it), local or a URL."""
    if _remote(field_path):
        from .plate_remote import _join

        return _join(field_path, level)
    return ome_member_path(field_path, level)


def _read_level(level_path: str, axes: tuple[str, ...] | None, edge: int, zarr_format: int,
                known: KnownLevel | None = None) -> tuple[Thumbnail, KnownLevel | None]:
    """A level's thumbnail, and its array metadata for the next wells. With ``known`` (the
    first well's), only the chunk is read; LayoutDiffers when the level is not alike."""
    import zarr

    if known is not None:
        return _read_known_level(level_path, axes, edge, known), known
    if _remote(level_path):  # through the remote store's cache and session (model/remote_zarr)
        from .remote_zarr import open_array

        array = open_array(level_path, zarr_format)
    else:
        array = zarr.open_array(level_path, mode="r", zarr_format=zarr_format)  # type: ignore[arg-type]
    shape = tuple(int(s) for s in array.shape)
    if len(shape) < 2 or 0 in shape:
        return Thumbnail("", None, f"not an image (shape {shape})", shape=shape, dtype=str(array.dtype)), None
    plane = np.asarray(array[_plane_key(shape, axes, edge)])
    thumb = Thumbnail("", to_uint8(plane), shape=shape, dtype=str(array.dtype))
    return thumb, known_level(array, level_path, zarr_format, remote=_remote(level_path))


def _read_known_level(level_path: str, axes: tuple[str, ...] | None, edge: int, known: KnownLevel) -> Thumbnail:
    from zarr.core.sync import sync

    if _remote(level_path):
        from .remote_zarr import array_store

        store = array_store(level_path)
    else:
        check_local(level_path, known)
        store = local_store(level_path)
    return _known_thumbnail(sync(_read_known_async(store, known, axes, edge)))


async def _read_known_async(store: Any, known: KnownLevel, axes: tuple[str, ...] | None,
                            edge: int) -> tuple[Any, tuple[int, ...], str]:
    shape = tuple(int(s) for s in known.metadata.shape)
    plane, dtype = await read_known(store, known, _plane_key(shape, axes, edge))
    return plane, shape, dtype


def _known_thumbnail(found: tuple[Any, tuple[int, ...], str]) -> Thumbnail:
    plane, shape, dtype = found
    return Thumbnail("", to_uint8(np.asarray(plane)), shape=shape, dtype=dtype)


def _layout(field_path: str) -> _Layout:
    if _remote(field_path):
        from .remote_zarr import node

        meta = node(field_path)
    else:
        meta = read_node(field_path)
    if meta is None:
        raise CorruptMetadataError("the field is not a zarr group")
    multiscales: Any = ome_attributes(meta.attributes).get("multiscales")
    try:
        datasets = multiscales[0]["datasets"]
        level = str(datasets[-1]["path"])
    except (TypeError, KeyError, IndexError) as exc:
        raise CorruptMetadataError("the field has no multiscales datasets") from exc
    _member(field_path, level)  # never outside the field
    axes, _, _ = image_axes(meta.attributes)
    return _Layout(level, axes, len(datasets) > 1, meta.zarr_format)


def _zarr_thumbnail(field_path: str, layout: _Layout | None, edge: int) -> tuple[Thumbnail, _Layout]:
    if layout is not None:
        level = _member(field_path, layout.level) if _remote(field_path) else os.path.join(field_path, layout.level)
        if _remote(field_path) or os.path.isdir(level):
            try:
                return _read_level(level, layout.axes, edge, layout.zarr_format, layout.known)[0], layout
            except Exception:  # laid out otherwise than the first well: read its own metadata
                pass
    own = _layout(field_path)
    thumb, known = _read_level(_member(field_path, own.level), own.axes, edge, own.zarr_format)
    return thumb, replace(own, known=known)


def _tiff_thumbnail(path: str, edge: int) -> Thumbnail:
    import tifffile

    from .safe_files import open_regular

    # Only a regular file: a FIFO's open waits for a writer for ever (the plate's thumbnails
    # never finished), a device is read for ever.
    with open_regular(path) as fh, tifffile.TiffFile(fh) as tif:
        page = tif.pages[0]
        data = page.asarray()
    shape = tuple(int(s) for s in data.shape)
    if data.ndim == 3 and shape[-1] in (3, 4):  # RGB(A): its first channel
        data = data[..., 0]
    while data.ndim > 2:
        data = data[0]
    step = max(1, -(-max(data.shape) // edge))
    return Thumbnail("", to_uint8(data[::step, ::step]), shape=shape, dtype=str(data.dtype))


def plate_thumbnails(plate: PlateSummary, *, cache: ThumbnailCache | None = None, edge: int = THUMB_EDGE,
                     wells: list[WellSummary] | None = None) -> Iterator[Thumbnail]:
    """One thumbnail per well (with fields), cached ones first, then read in plate order.

    A generator, so that a worker can hand them to the view as they come and stop early."""
    todo = []
    for well in wells if wells is not None else plate.wells:
        if not well.fields:
            continue
        pixels = cache.get(plate, well, edge) if cache is not None else None
        if pixels is not None:
            yield Thumbnail(well.path, pixels, cached=True)
        else:
            todo.append(well)
    by_path = {w.path: w for w in todo}
    found: Iterator[Thumbnail]
    if todo and plate.kind != TIFF_PLATE:
        # The first well sets the layout the others follow; when its plane can be read from
        # its chunk's prefix, the others are read so on DECODERS threads, else through zarr.
        first, layout = _one_thumbnail(plate, todo[0], edge, None)
        remote = _remote(todo[0].fields[0].path)  # remote wells: on the pool, through the remote store
        if layout is not None and not remote and not _plane_readable(todo[0].fields[0].path, layout, edge):
            found = _chain([first], _batched(todo[1:], layout, edge))
        else:
            found = _chain([first], _pooled(plate, todo[1:], edge, layout))
    else:
        found = _pooled(plate, todo, edge, None)
    for thumb in found:
        if thumb.pixels is not None and cache is not None:
            cache.put(plate, by_path[thumb.well], thumb.pixels, edge)
        yield thumb


def _chain(first: list[Thumbnail], rest: Iterator[Thumbnail]) -> Iterator[Thumbnail]:
    yield from first
    yield from rest


def _batched(wells: list[WellSummary], layout: _Layout, edge: int) -> Iterator[Thumbnail]:
    """Wells laid out as the first, BATCH at a time through zarr's own event loop."""
    for start in range(0, len(wells), BATCH):
        yield from _zarr_batch([(w.path, w.fields[0].path) for w in wells[start:start + BATCH]], layout, edge)


def _plane_readable(field_path: str, layout: _Layout, edge: int) -> bool:
    """Whether the first well's plane can be read from its chunk's prefix (plate_plane).
    zarr's parse of its level (``layout.known``) answers no without reading the level's
    document again where its codecs tell (one read less a plate)."""
    if layout.known is not None and codecs_unservable(layout.known.metadata):
        return False
    try:
        return _plane_thumbnail(field_path, layout, edge) is not None
    except Exception:
        return False


def _plane_thumbnail(field_path: str, layout: _Layout, edge: int) -> Thumbnail | None:
    """The plane read from its chunk's prefix. Each well's own level metadata is read: a
    prefix read cannot tell that a well's array is smaller than the first's (its chunk's
    first bytes inflate all the same), so nothing is assumed here."""
    level = ome_member_path(field_path, layout.level)
    plane = read_plane(level, layout.zarr_format, lambda shape: _plane_key(shape, layout.axes, edge))
    if plane is None:
        return None
    return Thumbnail("", to_uint8(plane.pixels), shape=plane.shape, dtype=plane.dtype)


def _pooled(plate: PlateSummary, wells: list[WellSummary], edge: int,
            layout: _Layout | None) -> Iterator[Thumbnail]:
    """Thumbnails read on DECODERS threads (zlib, file reads and TIFF decoding release the
    interpreter lock), at most two wells a thread in flight, handed on in plate order."""
    if not wells:
        return
    pool = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="plate-thumbs")
    try:
        pending: deque[Future[Thumbnail]] = deque()
        queued = iter(wells)
        for well in queued:
            pending.append(pool.submit(_pooled_one, plate, well, edge, layout))
            if len(pending) >= 2 * DECODERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # closed early (another plate): drop what is queued, wait for what runs
        pool.shutdown(wait=True, cancel_futures=True)


def _pooled_one(plate: PlateSummary, well: WellSummary, edge: int, layout: _Layout | None) -> Thumbnail:
    if layout is not None and not _remote(well.fields[0].path):
        try:
            found = _plane_thumbnail(well.fields[0].path, layout, edge)
        except Exception:  # laid out otherwise, or unreadable: the general reader says why
            found = None
        if found is not None:
            return Thumbnail(well.path, found.pixels, found.error, False, found.shape, found.dtype)
    return _one_thumbnail(plate, well, edge, layout)[0]


BATCH = 16  # wells whose thumbnails zarr reads at once (its own concurrency: decoding overlaps)
DECODERS = max(1, min(4, os.cpu_count() or 1))  # threads reading wells whose plane is read directly


def _one_thumbnail(plate: PlateSummary, well: WellSummary, edge: int,
                   layout: _Layout | None) -> tuple[Thumbnail, _Layout | None]:
    field = well.fields[0]
    try:
        if plate.kind == TIFF_PLATE or field.files:
            found = _tiff_thumbnail(field.files[0] if field.files else field.path, edge)
        else:
            found, layout = _zarr_thumbnail(field.path, layout, edge)
    except Exception as exc:  # any reader's failure is this well's, never the plate's
        return Thumbnail(well.path, None, f"{type(exc).__name__}: {exc}"[:300]), layout
    return Thumbnail(well.path, found.pixels, found.error, False, found.shape, found.dtype), layout


def _zarr_batch(fields: list[tuple[str, str]], layout: _Layout, edge: int) -> list[Thumbnail]:
    """Thumbnails of several fields laid out as the first, read concurrently by zarr's own
    event loop (two object reads each: the level's array metadata, then its chunk). A field
    laid out otherwise is read on its own afterwards."""
    import zarr.api.asynchronous as zarr_async
    from zarr.core.sync import sync

    async def one(field_path: str) -> Thumbnail:
        if layout.known is not None:  # the first well's metadata: only the chunk is read
            check_local(os.path.join(field_path, layout.level), layout.known)
            store = local_store(os.path.join(field_path, layout.level))
            return _known_thumbnail(await _read_known_async(store, layout.known, layout.axes, edge))
        array = await zarr_async.open_array(store=os.path.join(field_path, layout.level), mode="r",
                                            zarr_format=layout.zarr_format)  # type: ignore[arg-type]
        shape = tuple(int(s) for s in array.shape)
        if len(shape) < 2 or 0 in shape:
            return Thumbnail("", None, f"not an image (shape {shape})", shape=shape, dtype=str(array.dtype))
        plane = await array.getitem(_plane_key(shape, layout.axes, edge))
        return Thumbnail("", to_uint8(np.asarray(plane)), shape=shape, dtype=str(array.dtype))

    async def gather() -> list[Thumbnail | BaseException]:
        import asyncio

        return list(await asyncio.gather(*(one(p) for _, p in fields), return_exceptions=True))

    out = []
    for (well, field_path), found in zip(fields, sync(gather()), strict=True):
        if isinstance(found, Thumbnail):
            out.append(Thumbnail(well, found.pixels, found.error, False, found.shape, found.dtype))
            continue
        try:  # laid out otherwise than the first well: its own metadata says where
            own, _ = _zarr_thumbnail(field_path, None, edge)
            out.append(Thumbnail(well, own.pixels, own.error, False, own.shape, own.dtype))
        except Exception as exc:
            out.append(Thumbnail(well, None, f"{type(exc).__name__}: {exc}"[:300]))
    return out


def mosaic(plate: PlateSummary, thumbnails: dict[str, np.ndarray[Any, Any]], edge: int = THUMB_EDGE,
           gap: int = 2) -> np.ndarray[Any, Any]:
    """Every thumbnail at its well's place in one 8-bit image (empty wells black)."""
    cell = edge + gap
    out = np.zeros((max(1, len(plate.rows)) * cell, max(1, len(plate.columns)) * cell), np.uint8)
    for well in plate.wells:
        pixels = thumbnails.get(well.path)
        if pixels is None:
            continue
        y, x = well.row_index * cell, well.column_index * cell
        h, w = min(edge, pixels.shape[0]), min(edge, pixels.shape[1])
        if y + h <= out.shape[0] and x + w <= out.shape[1]:
            out[y:y + h, x:x + w] = pixels[:h, :w]
    return out
