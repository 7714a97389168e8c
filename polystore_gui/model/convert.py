"""Conversion of a zarr array, an OME-NGFF image or a TIFF into an OME-Zarr image with a
pyramid (OME-NGFF 0.5 on zarr v3, or 0.4 on zarr v2), as dask graphs.

- Axes: an OME image keeps its axes (and units); a TIFF's axes are put in NGFF's order
  (t, c, z, y, x; RGB samples become channels); a zarr array uses its dimension names
  when they are NGFF's, else its last axes are taken as (t, c,) z, y, x by count.
- Level 0 is the source's values, written in whole write units (a shard when sharded,
  else a chunk) so that no two tasks ever write the same stored object.
- Each next level halves y and x (rounding up): the mean of each 2 x 2 block, computed in
  float64; integer means are rounded to the nearest integer (ties to even, numpy's
  ``rint``), which keeps faint structure that striding would drop; an odd last row or
  column repeats itself. A level is computed in memory from the block of the level above
  it that was just read or made (model.convert_blocks), so the source is read once.
- Atomic and verified: everything is written under a hidden name beside DEST
  (``.NAME.converting-XXXX``); each block of level 0 is read back right after it is
  written and must equal the source's values (model.convert_blocks) before the result is
  renamed to DEST. An existing DEST is refused unless ``overwrite``; then it is replaced
  only once the new image is complete.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checksum import canonical_dtype
from .convert_blocks import Pass, block_regions, plan_passes, total, write_block
from .tiff_facts import dimension_names, is_tiff_name, ngff_layout, read_tiff_facts
from .whole_array import Engine, SourceSpec, WholeArrayError, build_tree, compute, open_array, open_target

DEFAULT_CHUNK = 512
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
VERSIONS = ("0.5", "0.4")
DOWNSAMPLING = "polystore-gui convert: mean of 2x2 blocks in y/x, integers rounded to nearest"
VERIFICATION = "each block of level 0 read back after it was written and compared with the source's values"


@dataclass(frozen=True)
class ConvertPlan:
    """What a conversion reads and writes."""

    source: SourceSpec
    source_shown: str
    dest: str
    axes: tuple[str, ...]
    units: tuple[str | None, ...]
    shape: tuple[int, ...]
    dtype: str
    version: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    levels: int
    notes: tuple[str, ...]
    scale: tuple[float, ...] | None = None  # level 0's physical scale (an OME source's)


def _default_axes(ndim: int) -> tuple[str, ...]:
    if not 2 <= ndim <= 5:
        raise WholeArrayError(f"an OME-NGFF image has 2 to 5 axes; this array has {ndim}")
    return tuple("tczyx"[5 - ndim:])


def _unnamed_leading(axes: str) -> bool:
    """TIFF axes that are y and x after axes tifffile could not name (``Q``: pages with no
    axis metadata), which are then taken by count like a zarr array's unnamed axes."""
    return len(axes) >= 3 and axes.endswith("YX") and set(axes[:-2]) == {"Q"}


def _trailing(sizes: tuple[int, ...] | None, shape: tuple[int, ...], axes: tuple[str, ...], what: str
              ) -> tuple[int, ...] | None:
    """Sizes given for the trailing axes, completed with 1 on the leading ones."""
    if sizes is None:
        return None
    if len(sizes) > len(shape) or any(n < 1 for n in sizes):
        raise WholeArrayError(f"--{what} takes at most {len(shape)} sizes of at least 1 (axes {', '.join(axes)})")
    return (1,) * (len(shape) - len(sizes)) + tuple(sizes)


def plan_conversion(backend: str, path: str, dest: str, *, version: str = "0.5",
                    chunks: tuple[int, ...] | None = None, shards: tuple[int, ...] | None = None,
                    levels: int | None = None, overwrite: bool = False) -> ConvertPlan:
    """Check the request and say what will be done; raises WholeArrayError with a sentence."""
    if version not in VERSIONS:
        raise WholeArrayError(f"OME-NGFF version {version!r} is not written here: choose one of {', '.join(VERSIONS)}")
    if shards is not None and version != "0.5":
        raise WholeArrayError("shards need zarr v3, that is OME-NGFF 0.5 (--ome-zarr 0.5)")
    dest = os.path.abspath(dest)
    if os.path.lexists(dest) and not overwrite:
        raise WholeArrayError(f"{dest} exists: choose another name, or --overwrite to replace it")
    if not os.path.isdir(os.path.dirname(dest)):
        raise WholeArrayError(f"{os.path.dirname(dest)} is not a folder: the destination's parent must exist")
    notes: list[str] = []
    units: tuple[str | None, ...]
    scale: tuple[float, ...] | None = None
    from .backends import adapter_for

    if os.path.isfile(path) and is_tiff_name(path) and adapter_for(backend, path).capabilities.local:
        try:
            facts = read_tiff_facts(path)
        except Exception as exc:  # tifffile raises many kinds for files that are not TIFFs
            raise WholeArrayError(f"{path}: cannot read as a TIFF: {exc}") from None
        layout = ngff_layout(dimension_names(facts.axes))
        if layout is None and _unnamed_leading(facts.axes):  # a plain page stack (tifffile's Q): by count, as zarr
            layout = (tuple(range(len(facts.axes))), _default_axes(len(facts.axes)))
            notes.append(f"axes taken as {', '.join(layout[1])} (the TIFF names them {facts.axes}: "
                         "its leading axes unnamed)")
        if layout is None:
            raise WholeArrayError(f"{path}: axes {facts.axes} have no OME-NGFF names (t, c, z, y, x)")
        order, axes = layout
        source = SourceSpec(os.path.abspath(path), "tiff", order if order != tuple(range(len(order))) else None)
        if source.order is not None:
            notes.append(f"axes put in OME-NGFF's order: {', '.join(dimension_names(facts.axes))} -> {', '.join(axes)}")
        units = (None,) * len(axes)
    else:
        target = open_target(backend, path)
        source = SourceSpec(target.path)
        if target.axes is not None:
            axes = target.axes
            units, scale = _ome_facts(path, len(axes))
        else:
            names = getattr(open_array(target.path).metadata, "dimension_names", None)
            layout = ngff_layout(tuple(str(n) for n in names)) if names and all(names) else None
            if layout is not None and layout[0] == tuple(range(len(layout[0]))):
                axes = layout[1]
            else:
                axes = _default_axes(len(target.shape))
                notes.append(f"axes taken as {', '.join(axes)} (the array's last axes by count)")
            units = (None,) * len(axes)
    arr = open_array(source)
    shape = tuple(int(n) for n in arr.shape)
    if len(axes) != len(shape) or not {"y", "x"} <= set(axes):
        raise WholeArrayError(f"{path}: axes {', '.join(axes)} do not make an image with y and x")
    chunk_shape = _trailing(chunks, shape, axes, "chunks") or tuple(
        min(n, DEFAULT_CHUNK) if a in "yx" else 1 for a, n in zip(axes, shape))
    shard_shape = _trailing(shards, shape, axes, "shards")
    if shard_shape is not None and any(s % c for s, c in zip(shard_shape, chunk_shape)):
        raise WholeArrayError(f"--shards {shard_shape} must be whole multiples of the chunks {chunk_shape}")
    y, x = shape[axes.index("y")], shape[axes.index("x")]
    if levels is None:
        levels = 1
        while max(math.ceil(y / 2 ** levels), math.ceil(x / 2 ** levels)) >= 256 and levels < 8:
            levels += 1
    if levels < 1:
        raise WholeArrayError("--levels must be at least 1 (level 0 is the full resolution)")
    return ConvertPlan(source=source, source_shown=path, dest=dest, axes=tuple(axes), units=units, shape=shape,
                       dtype=str(np.dtype(arr.dtype)), version=version, chunks=chunk_shape, shards=shard_shape,
                       levels=levels, notes=tuple(notes), scale=scale)


def _ome_facts(path: str, ndim: int) -> tuple[tuple[str | None, ...], tuple[float, ...]]:
    """The units of an OME image's axes and the scale of its level 0 (1 where unsaid)."""
    from .ome_meta import level0_units_scale
    from .zarr_nodes import read_node

    meta = read_node(os.path.abspath(path))
    return level0_units_scale(meta.attributes if meta is not None else {}, ndim)


def level_shape(plan: ConvertPlan, level: int) -> tuple[int, ...]:
    return tuple(math.ceil(n / 2 ** level) if a in "yx" else n for a, n in zip(plan.axes, plan.shape))


def _level_layout(plan: ConvertPlan, level: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...] | None]:
    """A level's shape, chunks and shards (None: not sharded), as it is created."""
    shape = level_shape(plan, level)
    chunks = tuple(min(c, n) for c, n in zip(plan.chunks, shape))
    shards = None
    if plan.version == "0.5" and plan.shards is not None:
        shards = tuple(min(s, math.ceil(n / c) * c) for s, c, n in zip(plan.shards, chunks, shape))
    return shape, chunks, shards


def _create_level(group: Any, plan: ConvertPlan, level: int) -> Any:
    shape, chunks, shards = _level_layout(plan, level)
    kw: dict[str, Any] = {}
    if plan.version == "0.5":
        kw["dimension_names"] = plan.axes
        if shards is not None:
            kw["shards"] = shards
    else:
        kw["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
    return group.create_array(str(level), shape=shape, chunks=chunks, dtype=plan.dtype, fill_value=0, **kw)


def conversion_passes(plan: ConvertPlan) -> tuple[Pass, ...]:
    """The passes ``convert`` makes for ``plan`` (model.convert_blocks): one progress step each."""
    shapes, units = [], []
    for level in range(plan.levels):
        shape, chunks, shards = _level_layout(plan, level)
        shapes.append(shape)
        units.append(tuple(min(u, n) for u, n in zip(shards or chunks, shape)))
    yx = (plan.axes.index("y"), plan.axes.index("x"))
    return plan_passes(shapes, units, yx, np.dtype(plan.dtype).itemsize)


def _ome_metadata(plan: ConvertPlan) -> dict[str, Any]:
    axes = []
    for name, unit in zip(plan.axes, plan.units):
        axis: dict[str, Any] = {"name": name, "type": AXIS_TYPES[name]}
        if unit:
            axis["unit"] = unit
        axes.append(axis)
    base = plan.scale or (1.0,) * len(plan.axes)
    datasets = [{"path": str(i), "coordinateTransformations": [
        {"type": "scale", "scale": [s * 2.0 ** i if a in "yx" else s for a, s in zip(plan.axes, base)]}]}
        for i in range(plan.levels)]
    multiscale: dict[str, Any] = {"name": os.path.basename(plan.dest), "axes": axes, "datasets": datasets,
                                  "type": "mean", "metadata": {"description": DOWNSAMPLING}}
    if plan.version == "0.5":
        return {"ome": {"version": "0.5", "multiscales": [multiscale]}}
    return {"multiscales": [{"version": "0.4", **multiscale}]}


def convert(plan: ConvertPlan, *, engine: Engine = Engine(), progress: Callable[[str, int, int], None] | None = None,
            cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Write the image ``plan`` describes; returns a report (levels, digest, notes).

    On any failure or Cancelled, the hidden temporary image is removed and DEST is as it was.
    """
    import zarr

    parent, name = os.path.split(plan.dest)
    temp = os.path.join(parent, f".{name}.converting-{uuid.uuid4().hex[:8]}")
    try:
        dtype = canonical_dtype(plan.dtype)
    except TypeError:
        raise WholeArrayError(f"{plan.source_shown}: dtype {plan.dtype} cannot be converted (not a numeric dtype)") from None
    yx = (plan.axes.index("y"), plan.axes.index("x"))
    try:
        group = zarr.open_group(temp, mode="w-", zarr_format=3 if plan.version == "0.5" else 2)
        targets = [_create_level(group, plan, level) for level in range(plan.levels)]
        for step in conversion_passes(plan):
            source = plan.source if step.read < 0 else targets[step.read]
            regions = block_regions(level_shape(plan, max(step.read, 0)), step.block)
            name = f"convert-{step.label.replace(' ', '')}-{uuid.uuid4().hex}"
            leaves = {(name, i): (write_block, source, region, tuple(targets[k] for k in step.levels),
                                  step.read < 0, yx, dtype) for i, region in enumerate(regions)}
            graph, keys = build_tree(leaves, total, name)
            compute(graph, keys, leaves=len(leaves), engine=engine, cancelled=cancelled,
                    progress=None if progress is None else functools.partial(progress, step.label))
        shapes = [list(target.shape) for target in targets]
        group.attrs.update(_ome_metadata(plan))
        _put_in_place(temp, plan.dest)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return {"source": plan.source_shown, "dest": plan.dest, "ome_zarr": plan.version, "axes": list(plan.axes),
            "levels": shapes, "chunks": list(plan.chunks), "shards": list(plan.shards) if plan.shards else None,
            "verified": True, "verification": VERIFICATION, "notes": list(plan.notes),
            "downsampling": DOWNSAMPLING}


def _put_in_place(temp: str, dest: str) -> None:
    """Rename the finished image to ``dest``; an existing ``dest`` (asked to be overwritten)
    is moved aside first and deleted only once the new one is in place."""
    if not os.path.lexists(dest):
        os.rename(temp, dest)
        return
    aside = f"{temp}.replaced"
    os.rename(dest, aside)
    try:
        os.rename(temp, dest)
    except OSError:
        os.rename(aside, dest)
        raise
    if os.path.isdir(aside) and not os.path.islink(aside):
        shutil.rmtree(aside)
    else:
        os.remove(aside)
