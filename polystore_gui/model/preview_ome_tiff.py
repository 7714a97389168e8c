"""Previews of OME-NGFF images (levels as one multiscale layer, channels, labels) and of
TIFF files (tifffile's zarr view: pages and tiles as chunks, pyramids as levels).

Called by ``lazy.local_preview`` once the metadata said what the path holds.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .arrays import Info
from .contrast import contrast_samples
from .lazy_views import SafeArray, TakeAxis, _magnitude_if_complex, lazy_levels
from .ome_meta import ome_summary
from .preview_types import LayerSpec, Preview, PreviewError
from .remote_address import is_remote_path
from .zarr_nodes import read_node


def _ome_preview(info: Info, path: str) -> Preview:
    from .preview_open import _open_zarr_array, check_plane

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
    channel_axis = ome.channel_axis
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
    from .preview_open import _open_zarr_array

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
    label_channel = summary.channel_axis
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
    from .preview_open import _open_zarr_array, check_plane

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
