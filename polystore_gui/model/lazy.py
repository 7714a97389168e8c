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

Where the parts live: the preview's types in ``preview_types``, the lazy array views in
``lazy_views``, OME-NGFF and TIFF previews in ``preview_ome_tiff``; which code previews an
address is its adapter's choice (``model/backends/``: memory previews its own values).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import Info, inspect  # noqa: F401  (inspect: kept importable from here)
from .contrast import contrast_at_once, contrast_note, contrast_samples, middle_index  # noqa: F401
from .lazy_views import Magnitude, SafeArray, TakeAxis, _full_key, _magnitude_if_complex, lazy_levels  # noqa: F401
from .preview_open import (  # noqa: F401  (importable from here, as before)
    MAX_PLANE_CHUNKS, StoreWrapper, _open_zarr_array, _regular_files_only, check_plane, set_store_wrapper,
)
from .preview_types import LayerSpec, NeedsConfirmation, Preview, PreviewError, axis_labels  # noqa: F401
from .remote_address import is_remote_path

from .arrays import DEFAULT_SIZE_LIMIT  # noqa: E402  (kept importable from here)

if TYPE_CHECKING:
    from .folder_node import FolderNode


def plane_chunk_report(array: Any, path: str, point: tuple[int, ...] | None = None) -> tuple[int, int]:
    """(stored objects, missing objects) among the chunks (or shards) of one plane: the
    one through ``point`` (its indices along the leading axes), by default the middle one.

    Missing objects were never written: they read as the fill value. Checks at most
    10,000 keys (a plane of more is reported on its first 10,000).
    """
    shape = tuple(int(n) for n in array.shape)
    if len(shape) < 2 or 0 in shape or is_remote_path(path):  # remote: a request per key is not worth it
        return (0, 0)
    grid = tuple(int(c) for c in (array.shards or array.chunks))
    at = point if point is not None else tuple(middle_index(n) for n in shape[:-2])
    lead = [min(max(int(p), 0), n - 1) // c for p, n, c in zip(at, shape[:-2], grid[:-2])]
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


class PlaneNote:
    """The note of a zarr array's preview that says how many chunks (or shards) of the plane
    shown were never written: ``note(point)`` for the plane through ``point`` (indices along
    the leading axes; None: the middle plane), or None when none is missing. It checks up to
    10,000 keys on disk: the preview asks it in a worker each time another plane is shown."""

    PHRASE = " of this plane missing"  # how a note of this kind is known among a preview's notes

    def __init__(self, array: Any, path: str, fill_value: Any) -> None:
        self.array, self.path, self.fill_value = array, path, fill_value

    def __call__(self, point: tuple[int, ...] | None) -> str | None:
        stored, missing = plane_chunk_report(self.array, self.path, point)
        if not missing:
            return None
        what = "shards" if self.array.shards else "chunks"
        return (f"{missing} of {stored + missing} {what}{self.PHRASE} "
                f"(never written: shown as the fill value {self.fill_value})")


def _displayable(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf" and dtype.fields is None


def open_preview(backend: str, path: str, *, size_limit: int = DEFAULT_SIZE_LIMIT, confirmed: bool = False,
                 listed: bool = False, cancelled: Callable[[], bool] | None = None,
                 node: FolderNode | None = None) -> Preview:
    """What to show for ``backend:path``. Raises PreviewError / NeedsConfirmation.
    ``listed``: the address is a row the user saw listed (see ``arrays.inspect``).
    ``cancelled``: the job's cancel token; a remote store's reads stop on the wire when it
    is cancelled (local previews are quick and do not check it).
    ``node``: the folder's node document, already read by the selection's job, which gives
    it only for a local adapter's folder (``selection_read``).
    The address's adapter answers (``model/backends/``)."""
    from .backends import adapter_for
    from .backends.common import AdapterBase

    adapter = adapter_for(backend, path)
    if node is not None:  # a LocalAdapter (not imported here: backends.local imports this module)
        return adapter.open_preview(backend, path, size_limit=size_limit, confirmed=confirmed,  # type: ignore[call-arg]
                                    listed=listed, node=node)
    if cancelled is not None and adapter.capabilities.remote:
        return adapter.open_preview(backend, path, size_limit=size_limit, confirmed=confirmed,  # type: ignore[call-arg]
                                    cancelled=cancelled)
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
    plane_note = PlaneNote(raw, path, safe.fill_value)
    first = plane_note(None)
    if first:
        notes.append(first)
    shown: Any = safe
    if is_remote_path(path):  # the shown plane fetched once, for the sample and napari's first frame
        from .remote_plane import shown_plane_ahead

        shown = shown_plane_ahead(safe)
    data, name = _magnitude_if_complex(shown, os.path.basename(path.rstrip("/")), notes)
    later = None
    if is_remote_path(path):  # the first frame is not kept waiting for a sparse array's search
        from .remote_cancel import reads_stopped_by

        contrasts, later = contrast_at_once([data], scope=reads_stopped_by)
        contrast = contrasts[0]
    else:
        contrast = contrast_samples([data], level_path=path)[0]
    note = contrast_note(contrast) if later is None else \
        "the middle plane holds no data: the contrast comes from other planes, sampled after the first frame"
    if note:
        notes.append(note)
    for index, message in safe.failures.items():
        notes.append(f"chunk {index} could not be read ({message}): shown as the fill value")
    labels = info.dimension_names if info.dimension_names and any(info.dimension_names) else None
    layer = LayerSpec("image", name, data, contrast_limits=contrast.limits, sources=(safe,),
                      contrast_placeholder=(not contrast.from_data,), contrast_later=later,
                      axis_labels=axis_labels(labels, data.ndim) if labels and len(labels) == data.ndim else None)
    # Closing the preview stops its search (the viewer starts it after the first frame).
    resources = ((later,) if later else ()) + ((shown,) if shown is not safe else ())
    return Preview(info.backend, path, info, (layer,), tuple(notes), resources=resources, plane_note=plane_note)


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


def _lazily_sliceable(value: Any) -> bool:
    """zarr and dask arrays (and the like) read only what a slice asks for."""
    module = type(value).__module__.split(".")[0]
    return module in ("zarr", "dask") and hasattr(value, "__getitem__")


# Last: these modules use the helpers above (``_open_zarr_array``, ``check_plane``).
from .preview_ome_tiff import _ome_preview, _tiff_preview, tiff_axis_labels  # noqa: E402,F401

__all__ = [
    "DEFAULT_SIZE_LIMIT", "MAX_PLANE_CHUNKS", "TABLE_ROWS", "LayerSpec", "Magnitude", "NeedsConfirmation", "Preview",
    "PreviewError", "SafeArray", "TakeAxis", "_array_preview", "_full_key", "_lazily_sliceable", "_magnitude_if_complex",
    "_ome_preview", "_open_zarr_array", "_tiff_preview", "check_plane", "contrast_note", "contrast_samples", "inspect",
    "lazy_levels", "local_preview", "middle_index", "open_preview", "plane_chunk_report", "set_store_wrapper",
    "tiff_axis_labels",
]
