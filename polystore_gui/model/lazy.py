"""Opening data for display without reading it: lazy arrays and layer descriptions.

``open_preview(backend, path)`` returns a :class:`Preview`: the layers a viewer should
show (lazy arrays plus explicit contrast limits, scale, channel names) and notes for the
user. Nothing here reads more than metadata and one bounded sample:

- zarr arrays (v2/v3, sharded or not) open as ``zarr.Array`` — indexing one plane reads
  only that plane's chunks;
- OME-NGFF images open as a list of level arrays (a multiscale layer), channel axis and
  names from the metadata, scale/translation from the coordinate transformations, and
  ``labels/`` as label layers;
- TIFF/OME-TIFF through tifffile's zarr view (pages/tiles as chunks, pyramids as levels);
- NPY through a memory map; PNG/JPEG decoded (they are small by nature);
- memory-backend arrays as they are held;
- anything else only through polystore's own ``load`` — guarded by a size threshold,
  because that reads the whole thing.

Contrast limits come from the OME ``omero.window`` when present, else from a bounded
sample of the smallest level: its middle plane, and when that holds no contrast (a
sparse array), a few planes whose chunks are stored (``model.contrast``).
"""

from __future__ import annotations

import errno
import math
import os
import stat as stat_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .arrays import Info, inspect
from .ome_meta import ome_summary
from .contrast import contrast_note, contrast_samples, middle_index
from .entries import human_size
from .safe_files import NotRegularFileError, file_type_text
from .remote_address import is_remote_path
from .zarr_nodes import read_node

from .arrays import DEFAULT_SIZE_LIMIT  # noqa: E402  (kept importable from here)

# Tests (and benchmarks) wrap every zarr store opened here, e.g. to count the keys read.
StoreWrapper = Callable[[Any], Any]
_store_wrapper: StoreWrapper | None = None


def set_store_wrapper(wrapper: StoreWrapper | None) -> None:
    """Wrap every zarr store this module opens (None to stop). For tests and benchmarks."""
    global _store_wrapper
    _store_wrapper = wrapper


class PreviewError(Exception):
    """The address cannot be previewed; the message is for the user.

    ``info`` holds the facts already read about the address, when there are any.
    """

    info: Info | None = None


class NeedsConfirmation(Exception):
    """Showing this means reading ``nbytes`` into memory, above the size limit."""

    def __init__(self, nbytes: int, limit: int, what: str) -> None:
        super().__init__(f"{what} would read {human_size(nbytes)} into memory (the limit is {human_size(limit)})")
        self.nbytes = nbytes
        self.limit = limit


@dataclass(frozen=True)
class LayerSpec:
    """One napari layer to add: lazy data and everything napari must not compute itself."""

    kind: str  # "image" or "labels"
    name: str
    data: Any  # an array-like, or a list of them (largest first) when multiscale
    multiscale: bool = False
    contrast_limits: tuple[float, float] | list[tuple[float, float]] | None = None
    channel_axis: int | None = None
    channel_names: list[str] | None = None
    colormaps: list[str] | None = None
    scale: tuple[float, ...] | None = None
    translate: tuple[float, ...] | None = None
    rgb: bool = False
    axis_labels: tuple[str, ...] | None = None
    # One per channel (or one): True where the contrast sample found no contrast at all (a
    # sparse array's blank planes), so the limits are a placeholder for the viewer to replace.
    contrast_placeholder: tuple[bool, ...] = ()
    sources: tuple[SafeArray, ...] = ()  # the SafeArrays behind the data, for failure reports

    @property
    def shape(self) -> tuple[int, ...]:
        base = self.data[0] if self.multiscale else self.data
        return tuple(int(s) for s in base.shape)


@dataclass(frozen=True)
class Preview:
    backend: str
    path: str
    info: Info
    layers: tuple[LayerSpec, ...] = ()
    notes: tuple[str, ...] = field(default=())
    resources: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def is_array(self) -> bool:
        return bool(self.layers)

    def close(self) -> None:
        """Release open files (a TIFF's handle); call when the preview is no longer shown."""
        for resource in self.resources:
            try:
                resource.close()
            except Exception:  # closing twice or a vanished file: nothing left to release
                pass


# -- lazy views ----------------------------------------------------------------------------------


def _full_key(key: Any, ndim: int) -> tuple[Any, ...]:
    """``key`` as a tuple with one item per axis (Ellipsis expanded, missing axes whole)."""
    if not isinstance(key, tuple):
        key = (key,)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1 :]
    return tuple(key) + (slice(None),) * (ndim - len(key))


class _ArrayView:
    """What napari needs of an array-like besides ``shape``, ``dtype`` and ``__getitem__``."""

    shape: tuple[int, ...]

    def __getitem__(self, key: Any) -> Any:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self[...])
        return out.astype(dtype) if dtype is not None else out

    def __len__(self) -> int:
        return self.shape[0]


class TakeAxis(_ArrayView):
    """A lazy view of ``array`` with one axis fixed at an index (no data read until sliced)."""

    def __init__(self, array: Any, axis: int, index: int) -> None:
        self._array = array
        self._axis = axis
        self._index = index
        shape = tuple(int(s) for s in array.shape)
        self.shape = shape[:axis] + shape[axis + 1 :]
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(int(c) for i, c in enumerate(chunks) if i != axis) if chunks is not None else None

    def __getitem__(self, key: Any) -> Any:
        key = _full_key(key, self.ndim)
        return self._array[key[: self._axis] + (self._index,) + key[self._axis :]]


class Magnitude(_ArrayView):
    """A lazy view of a complex array's magnitude ``|z|`` (float32 for complex64, else
    float64): napari cannot show complex numbers, and the modulus is what silx's complex
    view shows first. Each slice reads only what the complex array's slice reads."""

    def __init__(self, array: Any) -> None:
        self._array = array
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = np.dtype(np.float32 if np.dtype(array.dtype).itemsize <= 8 else np.float64)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(int(c) for c in chunks) if chunks is not None else None

    def __getitem__(self, key: Any) -> Any:
        return np.abs(np.asarray(self._array[key])).astype(self.dtype, copy=False)


def _magnitude_if_complex(data: Any, name: str, notes: list[str]) -> tuple[Any, str]:
    """``data`` and its layer name, or, for complex values, its :class:`Magnitude` named
    ``|z| name``; the note says so."""
    if np.dtype(data.dtype).kind != "c":
        return data, name
    notes.append("complex values: shown as their magnitude |z| (napari cannot show complex numbers)")
    return Magnitude(data), f"|z| {name}"


class SafeArray(_ArrayView):
    """A zarr array whose unreadable chunks read as the fill value instead of failing.

    A selection is first read whole; if that raises (a truncated or corrupt chunk, a
    codec error), it is read again chunk by chunk, the failing chunks filled with the
    fill value and reported through ``on_failure(chunk_index, message)``. So one bad
    chunk costs the user that chunk, not the view.
    """

    def __init__(self, array: Any, on_failure: Callable[[tuple[int, ...], str], None] | None = None) -> None:
        self.array = array
        self.shape = tuple(int(n) for n in array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        self.chunks = tuple(int(c) for c in array.chunks)
        fill = array.fill_value
        self.fill_value = 0 if fill is None else fill
        self.failures: dict[tuple[int, ...], str] = {}
        self.on_failure = on_failure

    def __getitem__(self, key: Any) -> Any:
        try:
            return self.array[key]
        except (IndexError, TypeError):
            raise
        except Exception as exc:  # decode/IO failure somewhere in the selection
            box = _basic_box(key, self.shape)
            if box is None:
                raise
            return self._read_chunkwise(box, exc)

    def _read_chunkwise(self, box: list[tuple[int, int, bool]], first_error: Exception) -> np.ndarray:
        starts = [b[0] for b in box]
        stops = [b[1] for b in box]
        out = np.full([e - b for b, e in zip(starts, stops)], self.fill_value, dtype=self.dtype)
        ranges = [range(b // c, (e - 1) // c + 1) if e > b else range(0) for b, e, c in zip(starts, stops, self.chunks)]
        import itertools

        for index in itertools.product(*ranges):
            lo = [max(i * c, b) for i, c, b in zip(index, self.chunks, starts)]
            hi = [min((i + 1) * c, e) for i, c, e in zip(index, self.chunks, stops)]
            source = tuple(slice(a, z) for a, z in zip(lo, hi))
            target = tuple(slice(a - b, z - b) for a, z, b in zip(lo, hi, starts))
            try:
                out[target] = self.array[source]
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if index not in self.failures:
                    self.failures[index] = message
                    if self.on_failure is not None:
                        self.on_failure(index, message)
        squeeze = tuple(i for i, b in enumerate(box) if b[2])
        return out.reshape([n for i, n in enumerate(out.shape) if i not in squeeze]) if squeeze else out


def _basic_box(key: Any, shape: tuple[int, ...]) -> list[tuple[int, int, bool]] | None:
    """(start, stop, is_integer) per axis for basic indexing (ints, unit-step slices, ...)."""
    box = []
    for k, n in zip(_full_key(key, len(shape)), shape):
        if isinstance(k, (int, np.integer)):
            k = int(k) + n if int(k) < 0 else int(k)
            box.append((k, k + 1, True))
        elif isinstance(k, slice) and k.step in (None, 1):
            start, stop, _ = k.indices(n)
            box.append((start, max(start, stop), False))
        else:
            return None
    return box


def lazy_levels(levels: list[Any]) -> list[Any]:
    """Levels as dask arrays, one dask chunk per storage chunk.

    napari slices a multiscale level by the displayed region first, with every other
    axis whole, and picks the plane afterwards: it counts on lazily sliceable data. A
    zarr array reads eagerly, so each level goes behind dask (napari's own convention);
    reading still happens through SafeArray, chunk by chunk, only for what is shown.
    """
    import dask.array as da

    out = []
    for level in levels:
        chunks = _dask_chunks(level)
        out.append(da.from_array(level, chunks=chunks, asarray=True, fancy=False, lock=False, name=False))  # type: ignore[no-untyped-call]
    return out


def _dask_chunks(level: Any) -> Any:
    """Whole storage objects (shards when sharded), grown in-plane towards 2048 pixels.

    Each dask chunk is one read call; a call per small inner chunk of a shard costs more
    in overhead than the read itself.
    """
    inner = getattr(level, "chunks", None)
    if inner is None:
        return "auto"
    base = getattr(level, "array", level)
    outer = getattr(base, "shards", None) or inner
    if len(outer) != len(inner):
        outer = inner
    shape = tuple(int(n) for n in level.shape)
    grown = list(int(c) for c in outer)
    for axis in (-2, -1):
        if len(grown) >= 2:
            while grown[axis] < 2048 and grown[axis] < shape[axis]:
                grown[axis] *= 2
    return tuple(grown)


def plane_chunk_report(array: Any, path: str) -> tuple[int, int]:
    """(stored objects, missing objects) among the chunks (or shards) of the middle plane.

    Missing objects were never written: they read as the fill value. Checks at most
    10,000 keys (a plane of more is reported on its first 10,000).
    """
    shape = tuple(int(n) for n in array.shape)
    if len(shape) < 2 or 0 in shape or is_remote_path(path):  # remote: a request per key is not worth it
        return (0, 0)
    grid = tuple(int(c) for c in (array.shards or array.chunks))
    lead = [middle_index(n) // c for n, c in zip(shape[:-2], grid[:-2])]
    rows = range(-(-shape[-2] // grid[-2]))
    cols = range(-(-shape[-1] // grid[-1]))
    stored = missing = 0
    for r in rows:
        for c in cols:
            if stored + missing >= 10_000:
                return (stored, missing)
            key = array.metadata.encode_chunk_key((*lead, r, c))
            if os.path.exists(os.path.join(path, key)):
                stored += 1
            else:
                missing += 1
    return (stored, missing)


# -- opening ------------------------------------------------------------------------------------


def _open_zarr_array(path: str, zarr_format: int | None = None) -> Any:
    """A read-only ``zarr.Array``; knowing the format spares zarr probing for the other."""
    if is_remote_path(path):  # s3:// or http(s)://: through the remote store's cache
        from .remote_zarr import open_array

        return open_array(path, zarr_format)
    import zarr
    from zarr.storage import LocalStore

    if zarr_format is None:
        meta = read_node(path)
        zarr_format = meta.zarr_format if meta is not None else None
    store: Any = LocalStore(path, read_only=True)
    if _store_wrapper is not None:
        store = _store_wrapper(store)
    from .chunk_cache import ChunkCache  # zarr's import (~0.3 s): not at the window's start

    store = ChunkCache(_regular_files_only(store, path))
    return zarr.open_array(store=store, mode="r", zarr_format=3 if zarr_format == 3 else 2 if zarr_format == 2 else None)


_regular_class: type[Any] | None = None


def _regular_files_only(store: Any, root: str) -> Any:
    """``store`` (over the folder ``root``) reading only regular files: a key that is a FIFO,
    socket or device fails as an unreadable chunk (shown as the fill value, with the reason)
    instead of blocking the reading thread for ever, as zarr's LocalStore would."""
    global _regular_class
    if _regular_class is None:
        from zarr.storage import WrapperStore

        class RegularFilesOnly(WrapperStore[Any]):
            def __init__(self, inner: Any, folder: str) -> None:
                super().__init__(inner)
                self._folder = folder

            def _with_store(self, inner: Any) -> Any:
                return type(self)(inner, self._folder)

            def _check(self, key: str) -> None:
                file = os.path.join(self._folder, *key.split("/"))
                try:
                    mode = os.stat(file).st_mode
                except OSError:
                    return  # missing (the store answers None) or unreadable (the store says why)
                if not stat_module.S_ISREG(mode) and not stat_module.S_ISDIR(mode):
                    raise NotRegularFileError(errno.EINVAL, f"a {file_type_text(mode)}, not a chunk file", file)

            async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
                self._check(key)
                return await self._store.get(key, prototype, byte_range)

            async def get_partial_values(self, prototype: Any, key_ranges: Any) -> Any:
                key_ranges = list(key_ranges)
                for key, _range in key_ranges:
                    self._check(key)
                return await self._store.get_partial_values(prototype, key_ranges)

        _regular_class = RegularFilesOnly
    return _regular_class(store, root)


def _displayable(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf" and dtype.fields is None


def open_preview(backend: str, path: str, *, size_limit: int = DEFAULT_SIZE_LIMIT, confirmed: bool = False,
                 listed: bool = False) -> Preview:
    """What to show for ``backend:path``. Raises PreviewError / NeedsConfirmation.
    ``listed``: the address is a row the user saw listed (see ``arrays.inspect``).
    The address's adapter answers (``model/backends/``)."""
    from .backends import adapter_for
    from .backends.common import AdapterBase

    adapter = adapter_for(backend, path)
    if isinstance(adapter, AdapterBase):  # the built-in adapters word a vanished row apart
        return adapter.open_preview(backend, path, size_limit=size_limit, confirmed=confirmed, listed=listed)
    return adapter.open_preview(backend, path, size_limit=size_limit, confirmed=confirmed)


def local_preview(info: Info, backend: str, path: str, size_limit: int, confirmed: bool) -> Preview:
    """What to show for a local path (disk, or inside a zarr store) whose facts are ``info``."""
    try:
        return _local_preview(info, backend, path, size_limit, confirmed)
    except PreviewError as exc:
        exc.info = exc.info or info
        raise


def _local_preview(info: Info, backend: str, path: str, size_limit: int, confirmed: bool) -> Preview:
    if info.format == "polystore virtual file":
        return _virtual_file_preview(info)
    if os.path.isdir(path):
        if info.kind == "array":
            if info.error:
                raise PreviewError(info.error)
            return _zarr_array_preview(info, path, size_limit, confirmed)
        if info.kind == "group" and info.ome is not None:
            return _ome_preview(info, path)
        return Preview(backend, path, info)
    if info.error and info.kind != "array":
        return Preview(backend, path, info, notes=(info.error,))
    lower = path.lower()
    if lower.endswith((".tif", ".tiff")):
        return _tiff_preview(info, path)
    if lower.endswith(".npy"):
        data = np.load(path, mmap_mode="r")
        return _array_preview(info, data, "npy (memory-mapped)")
    if lower.endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif")):
        from PIL import Image

        with Image.open(path) as im:
            data = np.asarray(im)
        return _array_preview(info, data, None, rgb=data.ndim == 3 and data.shape[-1] in (3, 4))
    return Preview(backend, path, info)


def _not_an_image(info: Info, data: Any, notes: list[str]) -> Preview | None:
    """The preview of an array that cannot be an image layer (empty, 1-D, records, text)."""
    if 0 in tuple(data.shape):
        return Preview(info.backend, info.path, info, notes=("the array is empty (a zero-length axis)",))
    dtype = np.dtype(data.dtype)
    if not (_displayable(dtype) or dtype.kind == "c") or len(data.shape) <= 1:  # complex: |z| (Magnitude)
        return _table_preview(info, data, notes)
    return None


def _array_preview(info: Info, data: Any, note: str | None, *, rgb: bool = False) -> Preview:
    notes = [note] if note else []
    fallback = _not_an_image(info, data, notes)
    if fallback is not None:
        return fallback
    name = os.path.basename(info.path.rstrip("/")) or info.path
    data, name = _magnitude_if_complex(data, name, notes)
    contrast = None if rgb else contrast_samples([data])[0]
    layer = LayerSpec("image", name, data, contrast_limits=contrast.limits if contrast else None, rgb=rgb,
                      contrast_placeholder=(not contrast.from_data,) if contrast else ())
    return Preview(info.backend, info.path, info, (layer,), tuple(notes))


# A plane needing more chunk reads than this is not shown: each read costs ~0.25 ms however
# small the chunk (16,384 reads: about 4 s), and a viewer reads the whole plane of a level.
MAX_PLANE_CHUNKS = 16_384


def check_plane(shape: Sequence[int], chunks: Sequence[int] | None, dtype: Any, *, size_limit: int = DEFAULT_SIZE_LIMIT,
                confirmed: bool = False, what: str = "this array",
                hint: str = "; open a lower resolution level, or see its layout with 'polystore-gui chunks'") -> None:
    """Refuse, before anything is read, a plane (the last two axes) that would take more than
    ``MAX_PLANE_CHUNKS`` chunk reads (PreviewError), or more than ``size_limit`` bytes unless
    ``confirmed`` (NeedsConfirmation). The counts are plain integer arithmetic on the metadata:
    a 10^15 x 10^15 array of 1 x 1 chunks is refused at once, not after 10^30 reads."""
    shape = [int(n) for n in shape]
    if len(shape) < 2 or 0 in shape:
        return
    plane = shape[-2:]
    grid = [int(c) for c in chunks][-2:] if chunks is not None and len(chunks) >= 2 else plane
    reads = math.prod(-(-n // max(1, c)) for n, c in zip(plane, grid))
    if reads > MAX_PLANE_CHUNKS:
        raise PreviewError(
            f"{what} is too large to preview: one plane is {plane[0]:,} x {plane[1]:,} pixels in {reads:,} chunks "
            f"of {grid[0]:,} x {grid[1]:,} (the preview reads at most {MAX_PLANE_CHUNKS:,} chunks a plane)" + hint
        )
    try:
        itemsize = int(np.dtype(dtype).itemsize)
    except Exception:  # not a dtype numpy knows: the reader says so later
        return
    nbytes = math.prod(plane) * itemsize
    if nbytes > size_limit and not confirmed:
        raise NeedsConfirmation(nbytes, size_limit, f"showing one plane of {what}")


def _zarr_array_preview(info: Info, path: str, size_limit: int = DEFAULT_SIZE_LIMIT, confirmed: bool = False) -> Preview:
    if info.shape is not None:
        check_plane(info.shape, info.chunks, info.dtype, size_limit=size_limit, confirmed=confirmed)
    raw = _open_zarr_array(path, info.zarr_format)
    notes: list[str] = []
    fallback = _not_an_image(info, raw, notes)
    if fallback is not None:
        return fallback
    check_plane(raw.shape, raw.chunks, raw.dtype, size_limit=size_limit, confirmed=confirmed)
    safe = data = SafeArray(raw)
    stored, missing = plane_chunk_report(raw, path)
    if missing:
        what = "shards" if raw.shards else "chunks"
        notes.append(f"{missing} of {stored + missing} {what} of this plane missing (never written: shown as the fill value {safe.fill_value})")
    data, name = _magnitude_if_complex(safe, os.path.basename(path.rstrip("/")), notes)
    contrast = contrast_samples([data], level_path=path)[0]
    note = contrast_note(contrast)
    if note:
        notes.append(note)
    for index, message in safe.failures.items():
        notes.append(f"chunk {index} could not be read ({message}): shown as the fill value")
    labels = info.dimension_names if info.dimension_names and all(info.dimension_names) else None
    layer = LayerSpec("image", name, data, contrast_limits=contrast.limits, sources=(safe,),
                      contrast_placeholder=(not contrast.from_data,),
                      axis_labels=tuple(str(n) for n in labels) if labels and len(labels) == data.ndim else None)
    return Preview(info.backend, path, info, (layer,), tuple(notes))


def _virtual_file_preview(info: Info) -> Preview:
    """A polystore virtual file: its plane of the holding array, opened lazily.

    polystore's own ``load`` would read the whole field-of-view array to return one plane;
    slicing the array here reads only the chunks of that plane.
    """
    array_path = str(info.attributes["array"])
    coordinates = [int(c) for c in info.attributes["coordinates"]]
    if info.shape is not None:
        check_plane(info.shape, info.chunks, info.dtype, what=os.path.basename(info.path))
    safe = SafeArray(_open_zarr_array(array_path, info.zarr_format))
    data: Any = safe
    for coordinate in coordinates:
        data = TakeAxis(data, 0, coordinate)
    note = f"plane {coordinates} of array {os.path.relpath(array_path, os.path.dirname(info.path))}"
    chunks = info.attributes.get("array_chunks")
    notes = [note]
    data, name = _magnitude_if_complex(data, os.path.basename(info.path), notes)
    contrast = contrast_samples([data])[0]
    if chunks and coordinates and all(int(c) > 1 for c in chunks[: len(coordinates)]):
        notes.append(f"chunks {chunks} span several planes: showing one reads them all")
    layer = LayerSpec("image", name, data, contrast_limits=contrast.limits, sources=(safe,),
                      contrast_placeholder=(not contrast.from_data,))
    return Preview(info.backend, info.path, info, (layer,), tuple(notes))


TABLE_ROWS = 10_000


def _table_preview(info: Info, array: Any, notes: list[str]) -> Preview:
    """Structured, string and 1-D arrays: the first rows as a table (no image)."""
    shape = tuple(int(n) for n in array.shape)
    count = min(shape[0], TABLE_ROWS) if shape else 1
    data = np.asarray(array[:count] if shape else array[()])
    if data.ndim > 2:
        data = data.reshape(data.shape[0], -1)
    dtype = data.dtype
    if dtype.fields is not None:
        names = list(dtype.names or ())
        header = ["index", *names]
        rows = [[str(i), *(str(rec[n]) for n in names)] for i, rec in enumerate(data)]
    elif data.ndim == 2:
        header = ["index", *(str(j) for j in range(data.shape[1]))]
        rows = [[str(i), *(str(v) for v in row)] for i, row in enumerate(data)]
    else:
        header = ["index", "value"]
        rows = [[str(i), str(v)] for i, v in enumerate(np.atleast_1d(data))]
    truncated = bool(shape) and shape[0] > count
    table_info = replace(info, preview=[header, *rows], truncated=truncated)
    why = "a 1-D array" if len(shape) <= 1 and _displayable(dtype) or dtype.kind == "c" else f"dtype {array.dtype}"
    notes = [*notes, f"{why}: shown as a table"]
    return Preview(info.backend, info.path, table_info, (), tuple(notes))


def _ome_preview(info: Info, path: str) -> Preview:
    ome = info.ome
    assert ome is not None
    levels: list[Any] = []
    for lv in ome.levels:
        try:
            levels.append(SafeArray(_open_zarr_array(os.path.join(path, lv.path))))
        except Exception as exc:  # a level whose metadata zarr cannot read: say which
            raise PreviewError(f"level {lv.path!r} of this OME-NGFF image cannot be opened: {exc}") from exc
    if not levels:
        raise PreviewError("OME-NGFF image with no datasets")
    # The viewer shows a level the screen can hold; if even the smallest needs too many
    # chunk reads a plane, nothing can be shown.
    smallest = min(levels, key=lambda a: math.prod(a.shape))
    check_plane(smallest.shape, smallest.chunks, smallest.dtype, confirmed=True,
                what="the smallest level of this image")
    sources = tuple(levels)
    complex_notes: list[str] = []
    if np.dtype(levels[0].dtype).kind == "c":  # napari cannot show complex numbers: |z| per level
        levels = [_magnitude_if_complex(lv, "", complex_notes if i == 0 else [])[0] for i, lv in enumerate(levels)]
    axes = [a[0] for a in ome.axes]
    types = [a[1] for a in ome.axes]
    channel_axis = types.index("channel") if "channel" in types else (axes.index("c") if "c" in axes else None)
    scale = ome.levels[0].scale
    translate = ome.levels[0].translation
    if channel_axis is not None:
        scale = tuple(s for i, s in enumerate(scale) if i != channel_axis) if scale else None
        translate = tuple(t for i, t in enumerate(translate) if i != channel_axis) if translate else None
    n_channels = int(levels[0].shape[channel_axis]) if channel_axis is not None else 1
    windows = [c.window for c in ome.channels]
    placeholder: tuple[bool, ...] = ()
    if len(windows) == n_channels and all(w is not None for w in windows):
        limits: list[tuple[float, float]] = [w for w in windows if w is not None]
        note = "contrast from omero.window"
    else:
        samples = contrast_samples(levels, channel_axis, level_path=os.path.join(path, ome.levels[-1].path))
        limits = [c.limits for c in samples]
        placeholder = tuple(not c.from_data for c in samples)
        note = "contrast from a sample of the smallest level"
    names = [c.label for c in ome.channels] if len(ome.channels) == n_channels else None
    colors = [_colormap(c.color) for c in ome.channels] if len(ome.channels) == n_channels else None
    spatial = [a for i, a in enumerate(axes) if i != channel_axis]
    parts = path.rstrip("/").split("/")
    # A field of an HCS plate is named "0": say which well it belongs to.
    name = "/".join(parts[-3:]) if parts[-1].isdigit() and len(parts) >= 3 else parts[-1]
    if complex_notes:
        name = f"|z| {name}"
    if len(levels) > 1:
        levels = lazy_levels(levels)
    image = LayerSpec(
        "image", name, levels, multiscale=len(levels) > 1, sources=sources,
        contrast_limits=limits if channel_axis is not None else limits[0],
        channel_axis=channel_axis, channel_names=names, colormaps=colors,
        scale=scale, translate=translate, axis_labels=tuple(spatial), contrast_placeholder=placeholder,
    )
    if len(levels) == 1:
        image = LayerSpec(**{**image.__dict__, "data": levels[0]})
    layers = [image]
    for label_name in ome.labels:
        label_layer = _label_layer(os.path.join(path, "labels", label_name), label_name, channel_axis)
        if label_layer is not None:
            layers.append(label_layer)
    notes = [note, f"{len(levels)} resolution level{'s' if len(levels) != 1 else ''}", *complex_notes]
    return Preview(info.backend, path, info, tuple(layers), tuple(notes))


def _label_layer(path: str, name: str, channel_axis: int | None) -> LayerSpec | None:
    try:
        if is_remote_path(path):
            from .remote_zarr import node as remote_node

            meta = remote_node(path)
        else:
            meta = read_node(path)
    except Exception:
        return None
    if meta is None:
        return None
    summary = ome_summary(path, meta)
    if summary is None or not summary.levels:
        return None
    safe = [SafeArray(_open_zarr_array(os.path.join(path, lv.path))) for lv in summary.levels]
    axes_types = [a[1] for a in summary.axes]
    label_channel = axes_types.index("channel") if "channel" in axes_types else None
    scale = summary.levels[0].scale
    levels: list[Any] = list(safe)
    if label_channel is not None:
        levels = [TakeAxis(lv, label_channel, 0) for lv in safe]
        scale = tuple(s for i, s in enumerate(scale) if i != label_channel) if scale else None
    if len(levels) > 1:
        levels = lazy_levels(levels)
    return LayerSpec("labels", f"labels: {name}", levels if len(levels) > 1 else levels[0],
                     multiscale=len(levels) > 1, scale=scale, sources=tuple(safe))


def _colormap(color: str | None) -> str:
    table = {"0000FF": "blue", "00FF00": "green", "FF0000": "red", "FF00FF": "magenta",
             "00FFFF": "cyan", "FFFF00": "yellow", "FFFFFF": "gray"}
    return table.get((color or "FFFFFF").upper(), "gray")


def _tiff_preview(info: Info, path: str) -> Preview:
    import tifffile
    import zarr

    store = tifffile.imread(path, aszarr=True)
    try:
        from .chunk_cache import ChunkCache

        node = zarr.open(ChunkCache(store), mode="r")
    except Exception as exc:
        store.close()
        raise PreviewError(f"cannot open {os.path.basename(path)} lazily: {exc}") from exc
    arrays = [node[k] for k in node.array_keys()] if isinstance(node, zarr.Group) else [node]
    safe = [SafeArray(a) for a in sorted(arrays, key=lambda a: -math.prod(int(n) for n in a.shape))]
    if safe:  # pyramid or not, the smallest level must be showable (checked before any pixel is read)
        try:
            check_plane(safe[-1].shape, safe[-1].chunks, safe[-1].dtype, confirmed=True,
                        what="this TIFF" if len(safe) == 1 else "the smallest level of this TIFF", hint="")
        except PreviewError:
            store.close()
            raise
    notes: list[str] = []
    name = os.path.basename(path)
    shown: list[Any] = list(safe)
    if safe and np.dtype(safe[0].dtype).kind == "c":
        shown = [_magnitude_if_complex(a, name, notes if i == 0 else [])[0] for i, a in enumerate(safe)]
        name = f"|z| {name}"
    levels: list[Any] = lazy_levels(shown) if len(shown) > 1 else shown
    axes = str(info.attributes.get("axes", ""))
    rgb = axes.endswith("S") and int(levels[0].shape[-1]) in (3, 4)
    contrast = None if rgb else contrast_samples(levels)[0]
    layer = LayerSpec("image", name, levels if len(levels) > 1 else levels[0], multiscale=len(levels) > 1,
                      contrast_limits=contrast.limits if contrast else None, rgb=rgb, sources=tuple(safe),
                      contrast_placeholder=(not contrast.from_data,) if contrast else (),
                      axis_labels=tiff_axis_labels(axes, len(levels[0].shape), rgb=rgb))
    notes.insert(0, f"tiff read lazily ({axes})")
    return Preview(info.backend, path, info, (layer,), tuple(notes), resources=(store,))


def tiff_axis_labels(axes: str, ndim: int, *, rgb: bool = False) -> tuple[str, ...] | None:
    """Slider names from a TIFF series' axes (tifffile's ``"TCZYXS"`` letters), lower-cased
    as OME-NGFF names them; None when they do not describe the ``ndim`` axes shown.

    The samples axis (``S``) of an RGB image is the colour, not a slider: it is left out.
    """
    letters = axes[:-1] if rgb and axes.endswith("S") else axes
    if len(letters) != ndim - (1 if rgb else 0) or not letters.isalpha():
        return None
    return tuple(letter.lower() for letter in letters)


def _lazily_sliceable(value: Any) -> bool:
    """zarr and dask arrays (and the like) read only what a slice asks for."""
    module = type(value).__module__.split(".")[0]
    return module in ("zarr", "dask") and hasattr(value, "__getitem__")
