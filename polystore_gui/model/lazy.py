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

Contrast limits come from the OME ``omero.window`` when present, else from a sample of
at most ``SAMPLE_EDGE``² values of the middle plane of the smallest level.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arrays import Info, inspect, ome_summary
from .zarr_nodes import read_node

SAMPLE_EDGE = 512
DEFAULT_SIZE_LIMIT = 1 << 30  # bytes materialised without asking

# Tests (and benchmarks) wrap every zarr store opened here, e.g. to count the keys read.
StoreWrapper = Callable[[Any], Any]
_store_wrapper: StoreWrapper | None = None


def set_store_wrapper(wrapper: StoreWrapper | None) -> None:
    """Wrap every zarr store this module opens (None to stop). For tests and benchmarks."""
    global _store_wrapper
    _store_wrapper = wrapper


class PreviewError(Exception):
    """The address cannot be previewed; the message is for the user."""


class NeedsConfirmation(Exception):
    """Showing this means reading ``nbytes`` into memory, above the size limit."""

    def __init__(self, nbytes: int, limit: int, what: str) -> None:
        super().__init__(f"{what} would read {nbytes / 2**30:.1f} GiB into memory (limit {limit / 2**30:.1f} GiB)")
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


class TakeAxis:
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

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        if Ellipsis in key:
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (self.ndim - len(key) + 1) + key[i + 1 :]
        key = key + (slice(None),) * (self.ndim - len(key))
        full = key[: self._axis] + (self._index,) + key[self._axis :]
        return self._array[full]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self[...])
        return out.astype(dtype) if dtype is not None else out

    def __len__(self) -> int:
        return self.shape[0]


# -- opening ------------------------------------------------------------------------------------


def _open_zarr_array(path: str, zarr_format: int | None = None) -> Any:
    """A read-only ``zarr.Array``; knowing the format spares zarr probing for the other."""
    import zarr
    from zarr.storage import LocalStore

    if zarr_format is None:
        meta = read_node(path)
        zarr_format = meta.zarr_format if meta is not None else None
    store: Any = LocalStore(path, read_only=True)
    if _store_wrapper is not None:
        store = _store_wrapper(store)
    return zarr.open_array(store=store, mode="r", zarr_format=3 if zarr_format == 3 else 2 if zarr_format == 2 else None)


def middle_index(n: int) -> int:
    """The plane shown first along a non-displayed axis (the viewer is set to it too)."""
    return max(0, (int(n) - 1) // 2)


def sample_contrast(levels: Sequence[Any], channel_axis: int | None = None) -> list[tuple[float, float]]:
    """Contrast limits from a bounded sample of the middle plane of the smallest level.

    Reads at most ``SAMPLE_EDGE``² values per channel (a centred crop), whatever the
    array's size. Returns one (low, high) per channel (one when ``channel_axis`` is None).
    """
    array = levels[-1]
    shape = tuple(int(s) for s in array.shape)
    if 0 in shape:
        return [(0.0, 1.0)]
    channels = shape[channel_axis] if channel_axis is not None else 1
    out = []
    for c in range(channels):
        key: list[Any] = []
        for axis, n in enumerate(shape):
            if axis == channel_axis:
                key.append(c)
            elif axis >= len(shape) - 2:
                start = max(0, n // 2 - SAMPLE_EDGE // 2)
                key.append(slice(start, min(n, start + SAMPLE_EDGE)))
            else:
                key.append(middle_index(n))
        sample = np.asarray(array[tuple(key)])
        out.append(_limits(sample))
    return out


def _limits(sample: np.ndarray) -> tuple[float, float]:
    if sample.dtype == bool:
        return (0.0, 1.0)
    values = sample[np.isfinite(sample)] if np.issubdtype(sample.dtype, np.floating) else sample.ravel()
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(values, [0.5, 99.8]).tolist()
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1.0
    return (float(lo), float(hi))


def _displayable(dtype: np.dtype) -> bool:
    return dtype.kind in "biuf" and dtype.fields is None


def open_preview(backend: str, path: str, *, size_limit: int = DEFAULT_SIZE_LIMIT, confirmed: bool = False) -> Preview:
    """What to show for ``backend:path``. Raises PreviewError / NeedsConfirmation."""
    info = inspect(backend, path)
    if backend == "memory":
        return _memory_preview(info, path, size_limit, confirmed)
    if os.path.isdir(path):
        if info.kind == "array":
            if info.error:
                raise PreviewError(info.error)
            return _zarr_array_preview(info, path)
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


def _array_preview(info: Info, data: Any, note: str | None, *, rgb: bool = False) -> Preview:
    dtype = np.dtype(data.dtype)
    if not _displayable(dtype) or data.ndim == 0:
        why = f"dtype {dtype} cannot be shown as an image" if data.ndim else "a 0-d array"
        return Preview(info.backend, info.path, info, notes=(f"{why}: see the table below",))
    if 0 in data.shape:
        return Preview(info.backend, info.path, info, notes=("the array is empty (a zero-length axis)",))
    notes = [note] if note else []
    if data.ndim == 1:
        nbytes = int(data.size * dtype.itemsize)
        if nbytes > DEFAULT_SIZE_LIMIT:
            raise NeedsConfirmation(nbytes, DEFAULT_SIZE_LIMIT, "this 1-D array")
        data = np.asarray(data).reshape(1, -1)
        notes.append("1-D array shown as one row")
    limits = None if rgb else sample_contrast([data])[0]
    name = os.path.basename(info.path.rstrip("/")) or info.path
    layer = LayerSpec("image", name, data, contrast_limits=limits, rgb=rgb)
    return Preview(info.backend, info.path, info, (layer,), tuple(notes))


def _zarr_array_preview(info: Info, path: str) -> Preview:
    data = _open_zarr_array(path, info.zarr_format)
    dtype = np.dtype(data.dtype) if not isinstance(data.dtype, np.dtype) else data.dtype
    notes = []
    if not _displayable(dtype):
        return Preview(info.backend, path, info, notes=(f"dtype {dtype} cannot be shown as an image",))
    if 0 in data.shape:
        return Preview(info.backend, path, info, notes=("the array is empty (a zero-length axis)",))
    if data.ndim == 1:
        if data.nbytes > DEFAULT_SIZE_LIMIT:
            raise NeedsConfirmation(int(data.nbytes), DEFAULT_SIZE_LIMIT, "this 1-D array")
        data = np.asarray(data[:]).reshape(1, -1)
        notes.append("1-D array shown as one row")
    limits = sample_contrast([data])[0]
    name = os.path.basename(path.rstrip("/"))
    labels = info.dimension_names if info.dimension_names and all(info.dimension_names) else None
    layer = LayerSpec("image", name, data, contrast_limits=limits,
                      axis_labels=tuple(str(n) for n in labels) if labels and len(labels) == data.ndim else None)
    return Preview(info.backend, path, info, (layer,), tuple(notes))


def _ome_preview(info: Info, path: str) -> Preview:
    ome = info.ome
    assert ome is not None
    levels = [_open_zarr_array(os.path.join(path, lv.path)) for lv in ome.levels]
    if not levels:
        raise PreviewError("OME-NGFF image with no datasets")
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
    if len(windows) == n_channels and all(w is not None for w in windows):
        limits: list[tuple[float, float]] = [w for w in windows if w is not None]
        note = "contrast from omero.window"
    else:
        limits = sample_contrast(levels, channel_axis)
        note = "contrast from a sample of the smallest level"
    names = [c.label for c in ome.channels] if len(ome.channels) == n_channels else None
    colors = [_colormap(c.color) for c in ome.channels] if len(ome.channels) == n_channels else None
    spatial = [a for i, a in enumerate(axes) if i != channel_axis]
    name = os.path.basename(path.rstrip("/"))
    image = LayerSpec(
        "image", name, levels, multiscale=len(levels) > 1,
        contrast_limits=limits if channel_axis is not None else limits[0],
        channel_axis=channel_axis, channel_names=names, colormaps=colors,
        scale=scale, translate=translate, axis_labels=tuple(spatial),
    )
    if len(levels) == 1:
        image = LayerSpec(**{**image.__dict__, "data": levels[0]})
    layers = [image]
    for label_name in ome.labels:
        label_layer = _label_layer(os.path.join(path, "labels", label_name), label_name, channel_axis)
        if label_layer is not None:
            layers.append(label_layer)
    notes = [note, f"{len(levels)} resolution levels"]
    return Preview(info.backend, path, info, tuple(layers), tuple(notes))


def _label_layer(path: str, name: str, channel_axis: int | None) -> LayerSpec | None:
    try:
        meta = read_node(path)
    except Exception:
        return None
    if meta is None:
        return None
    summary = ome_summary(path, meta)
    if summary is None or not summary.levels:
        return None
    levels: list[Any] = [_open_zarr_array(os.path.join(path, lv.path)) for lv in summary.levels]
    axes_types = [a[1] for a in summary.axes]
    label_channel = axes_types.index("channel") if "channel" in axes_types else None
    scale = summary.levels[0].scale
    if label_channel is not None:
        levels = [TakeAxis(lv, label_channel, 0) for lv in levels]
        scale = tuple(s for i, s in enumerate(scale) if i != label_channel) if scale else None
    return LayerSpec("labels", f"labels: {name}", levels if len(levels) > 1 else levels[0],
                     multiscale=len(levels) > 1, scale=scale)


def _colormap(color: str | None) -> str:
    table = {"0000FF": "blue", "00FF00": "green", "FF0000": "red", "FF00FF": "magenta",
             "00FFFF": "cyan", "FFFF00": "yellow", "FFFFFF": "gray"}
    return table.get((color or "FFFFFF").upper(), "gray")


def _tiff_preview(info: Info, path: str) -> Preview:
    import tifffile
    import zarr

    store = tifffile.imread(path, aszarr=True)
    try:
        node = zarr.open(store, mode="r")
    except Exception as exc:
        store.close()
        raise PreviewError(f"cannot open {os.path.basename(path)} lazily: {exc}") from exc
    levels: list[Any]
    if isinstance(node, zarr.Group):
        levels = [node[k] for k in node.array_keys()]
        levels.sort(key=lambda a: -int(np.prod(a.shape)))
    else:
        levels = [node]
    axes = str(info.attributes.get("axes", ""))
    rgb = axes.endswith("S") and int(levels[0].shape[-1]) in (3, 4)
    limits = None if rgb else sample_contrast(levels)[0]
    name = os.path.basename(path)
    layer = LayerSpec("image", name, levels if len(levels) > 1 else levels[0], multiscale=len(levels) > 1,
                      contrast_limits=limits, rgb=rgb)
    notes = [f"tiff read lazily ({axes})"]
    return Preview(info.backend, path, info, (layer,), tuple(notes), resources=(store,))


def _memory_preview(info: Info, path: str, size_limit: int, confirmed: bool) -> Preview:
    if info.kind != "array":
        return Preview("memory", path, info, notes=(info.error,) if info.error else ())
    from .listing import memory_backend

    data = memory_backend().load(path)
    if not isinstance(data, np.ndarray):
        nbytes = int(getattr(data, "nbytes", 0))
        if nbytes > size_limit and not confirmed:
            raise NeedsConfirmation(nbytes, size_limit, f"converting this {type(data).__name__}")
        data = np.asarray(data)
    return _array_preview(info, data, "held by polystore's memory backend")
