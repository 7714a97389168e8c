"""Contrast limits for a lazy array, from a bounded sample that finds the data.

napari is never asked to compute limits over a lazy array (it would read all of it).
The preview samples instead, and this module says where:

1. the middle plane of the smallest level (the plane shown first), a centred crop of at
   most ``SAMPLE_EDGE``² values per channel, every channel in one selection (a remote
   store fetches their chunks together). When it holds any contrast, that is the answer,
   and nothing but the shown plane was read. That level's plane is what napari reads for
   the layer's thumbnail anyway: on a remote store the sample costs no extra request,
   since the store's cache answers napari.
2. when it holds none (every value the same: a sparse array whose middle plane was never
   written, or a blank plane), up to ``EXTRA_PLANES`` more planes are sampled: for a zarr
   array on disk the planes whose chunks are stored (found by checking at most
   ``PROBE_KEYS`` chunk keys, never by listing the store), else planes spread evenly
   along the non-displayed axes. They are read at once (a thread each: one round trip on a
   remote store). The limits then come from the values that differ from the fill value,
   widened to include it. A remote zarr array's preview does not wait for this search
   (:func:`contrast_at_once`): it opens with the middle plane's placeholder, the viewer
   starts the search once the first frame is drawn, and its limits replace the
   placeholder when they arrive.

A sample that still finds no contrast says so (``Contrast.from_data`` False): the viewer
replaces such placeholder limits by the first plane with data that the user moves to.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cancel import Cancelled
from .contrast_search import ContrastSearch, Scope

SAMPLE_EDGE = 512
EXTRA_PLANES = 6  # planes sampled beyond the middle one when it holds no contrast
PROBE_KEYS = 4096  # chunk keys checked for existence, at most, to find stored planes
SLAB_PLANES = 8  # planes read, at most, across one chunk's (or shard's) depth along a non-displayed axis
ONE_READ_BYTES = 64 << 20  # every channel's middle crop is read in one selection up to this size


@dataclass(frozen=True)
class Contrast:
    """Contrast limits of one channel, and where they came from."""

    limits: tuple[float, float]
    from_data: bool  # False: the sample held no contrast; ``limits`` are a placeholder
    planes: int  # how many planes (or chunk slabs) were sampled


def contrast_note(contrast: Contrast) -> str | None:
    """What the preview says about where its limits came from, when not the middle plane."""
    if not contrast.from_data:
        return "no sampled plane holds data yet: the contrast follows the first plane with data shown"
    if contrast.planes > 1:
        return f"contrast from {contrast.planes - 1} planes that hold data (the middle plane holds none)"
    return None


def _never() -> bool:
    return False


def middle_index(n: int) -> int:
    """The plane shown first along a non-displayed axis (the viewer is set to it too)."""
    return max(0, (int(n) - 1) // 2)


def limits_of(sample: np.ndarray, fill: Any = None) -> tuple[float, float] | None:
    """(0.5th, 99.8th percentile) of ``sample``, or None when it holds no contrast.

    With ``fill``, the values equal to it are left out (a sparse sample is mostly fill
    value: its percentiles would be the fill) and the limits widened to include it.
    """
    if sample.dtype == bool or sample.dtype.kind not in "biuf":
        return None
    values = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample.ravel()
    fill_value = None
    if fill is not None and values.size:
        try:
            fill_value = float(fill)
        except (TypeError, ValueError):
            fill_value = None
        if fill_value is not None and math.isfinite(fill_value):
            values = values[values != fill_value]
        else:
            fill_value = None
    if values.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(values, [0.5, 99.8]))
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if fill_value is not None:
        lo, hi = min(lo, fill_value), max(hi, fill_value)
    if hi <= lo:
        return None
    return (lo, hi)


def placeholder_limits(sample: np.ndarray) -> tuple[float, float]:
    """Limits for a sample with no contrast: around its one value (0-1 for bool or empty)."""
    if sample.dtype == bool or sample.dtype.kind not in "biuf" or sample.size == 0:
        return (0.0, 1.0)
    values = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample.ravel()
    if values.size == 0:
        return (0.0, 1.0)
    lo = float(values.min())
    return (lo, lo + 1.0)


def _axes(ndim: int, channel_axis: int | None) -> tuple[list[int], list[int]]:
    """(non-displayed axes, displayed axes): the last two non-channel axes are displayed."""
    others = [a for a in range(ndim) if a != channel_axis]
    return others[:-2], others[-2:]


def _crop(n: int) -> slice:
    start = max(0, n // 2 - SAMPLE_EDGE // 2)
    return slice(start, min(n, start + SAMPLE_EDGE))


def _read(array: Any, shape: tuple[int, ...], channel_axis: int | None, channel: int,
          lead: dict[int, Any]) -> np.ndarray:
    key: list[Any] = []
    for axis, n in enumerate(shape):
        if axis == channel_axis:
            key.append(channel)
        elif axis in lead:
            key.append(lead[axis])
        else:
            key.append(_crop(n))
    return np.asarray(array[tuple(key)])


def _middle_planes(array: Any, shape: tuple[int, ...], channel_axis: int | None, channels: int,
                   middle: dict[int, Any]) -> list[np.ndarray] | None:
    """The middle plane's crop of every channel, read in one selection, so that a remote
    store fetches the chunks of all channels at once (one round trip, not one a channel);
    None when there is one channel or the crops would exceed ``ONE_READ_BYTES``."""
    if channel_axis is None or channels < 2:
        return None
    crop = math.prod(min(n, SAMPLE_EDGE) for a, n in enumerate(shape) if a != channel_axis and a not in middle)
    if channels * crop * np.dtype(array.dtype).itemsize > ONE_READ_BYTES:
        return None
    key = [slice(None) if axis == channel_axis else middle[axis] if axis in middle else _crop(n)
           for axis, n in enumerate(shape)]
    block = np.asarray(array[tuple(key)])
    axis = sum(1 for a in range(channel_axis) if a not in middle)  # the channel axis among the kept ones
    return [np.take(block, c, axis=axis) for c in range(channels)]


def _read_planes(array: Any, shape: tuple[int, ...], channel_axis: int | None, channel: int,
                 planes: list[dict[int, Any]], cancelled: Callable[[], bool] = _never) -> list[np.ndarray]:
    """The crops of ``planes``, read at once (a thread each): a remote store fetches their
    chunks in one round trip instead of one a plane, and local decoding overlaps. Each
    thread runs in a copy of the caller's context (a remote read scope set there holds in
    it too); a plane whose turn comes after ``cancelled()`` turned true is not read."""
    def one(plane: dict[int, Any]) -> np.ndarray:
        if cancelled():
            raise Cancelled("the contrast search was cancelled")
        return _read(array, shape, channel_axis, channel, plane)

    if len(planes) < 2:
        return [one(p) for p in planes]
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    contexts = [contextvars.copy_context() for _ in planes]
    with ThreadPoolExecutor(max_workers=len(planes), thread_name_prefix="contrast-sample") as pool:
        return list(pool.map(lambda item: item[0].run(one, item[1]), zip(contexts, planes)))


def _spread_planes(shape: tuple[int, ...], lead_axes: list[int], count: int) -> list[dict[int, Any]]:
    """``count`` planes spread evenly along every non-displayed axis at once."""
    planes: list[dict[int, Any]] = []
    for i in range(count):
        plane = {a: min(shape[a] - 1, int((i + 0.5) * shape[a] / count)) for a in lead_axes}
        if plane not in planes:
            planes.append(plane)
    return planes


def stored_planes(array: Any, path: str, lead_axes: list[int], channel_axis: int | None = None,
                  channel: int = 0, *, budget: int = PROBE_KEYS) -> list[dict[int, Any]] | None:
    """The chunk slabs (along ``lead_axes``) that hold at least one stored chunk.

    ``array`` is a ``zarr.Array`` on disk at ``path``. Checks at most ``budget`` chunk
    keys (``os.path.exists`` each: no store listing); slabs beyond the budget are sampled
    evenly. Each slab comes back as slices over its planes (at most ``SLAB_PLANES`` of
    them), so a chunk several planes deep is sampled across its depth. None when the
    array's keys cannot be probed (not a zarr array on disk).
    """
    metadata = getattr(array, "metadata", None)
    if metadata is None or not hasattr(metadata, "encode_chunk_key") or not os.path.isdir(path):
        return None
    shape = tuple(int(n) for n in array.shape)
    grid = tuple(int(c) for c in (getattr(array, "shards", None) or array.chunks))
    _, shown = _axes(len(shape), channel_axis)
    counts = {a: -(-shape[a] // grid[a]) for a in lead_axes}
    in_plane = [range(-(-shape[a] // grid[a])) for a in shown]
    per_slab = max(1, math.prod(len(r) for r in in_plane))
    slabs_total = math.prod(counts.values())
    affordable = max(1, min(slabs_total, budget // per_slab))
    if affordable >= slabs_total:
        slabs: Any = itertools.product(*(range(counts[a]) for a in lead_axes))
    else:  # spread over the flat slab numbering
        slabs = (np.unravel_index(int((i + 0.5) * slabs_total / affordable), [counts[a] for a in lead_axes])
                 for i in range(affordable))
    found: list[dict[int, Any]] = []
    checked = 0
    for slab in slabs:
        for cell in itertools.product(*in_plane):
            checked += 1
            coords = [0] * len(shape)
            for a, i in zip(lead_axes, slab):
                coords[a] = int(i)
            for a, i in zip(shown, cell):
                coords[a] = int(i)
            if channel_axis is not None:
                coords[channel_axis] = channel // grid[channel_axis]
            if os.path.exists(os.path.join(path, metadata.encode_chunk_key(tuple(coords)))):
                found.append({a: _slab_planes(int(i) * grid[a], grid[a], shape[a]) for a, i in zip(lead_axes, slab)})
                break
            if checked >= budget:
                return found or None  # nothing found within the budget: sample evenly instead
    return found


def _slab_planes(start: int, depth: int, n: int) -> Any:
    stop = min(n, start + depth)
    if stop - start <= 1:
        return start
    return slice(start, stop, max(1, -(-(stop - start) // SLAB_PLANES)))


def _pick(candidates: list[dict[int, Any]], count: int) -> list[dict[int, Any]]:
    """At most ``count`` of ``candidates``, spread over the list."""
    if len(candidates) <= count:
        return candidates
    return [candidates[int((i + 0.5) * len(candidates) / count)] for i in range(count)]


def contrast_samples(levels: Sequence[Any], channel_axis: int | None = None, *,
                     level_path: str | None = None) -> list[Contrast]:
    """Contrast of each channel (one when ``channel_axis`` is None) of the smallest level.

    ``level_path``: the folder of the smallest level when it is a zarr array on disk (its
    stored chunks are then probed to find planes with data).
    """
    array = levels[-1]
    shape = tuple(int(s) for s in array.shape)
    if 0 in shape:
        return [Contrast((0.0, 1.0), False, 0)]
    first, search = _middle_samples(array, channel_axis, level_path)
    return [search(c, _never) if search is not None and not contrast.from_data else contrast
            for c, contrast in enumerate(first)]


def _middle_samples(array: Any, channel_axis: int | None, level_path: str | None,
                    ) -> tuple[list[Contrast], Callable[[int, Callable[[], bool]], Contrast] | None]:
    """(each channel's contrast from the middle plane alone, a function searching other
    planes for channel ``c`` that stops reading once its second argument, ``cancelled()``,
    turns true; or None when there are no other planes). ``array``'s shape holds no 0."""
    shape = tuple(int(s) for s in array.shape)
    channels = shape[channel_axis] if channel_axis is not None else 1
    lead_axes, _shown = _axes(len(shape), channel_axis)
    middle = {a: middle_index(shape[a]) for a in lead_axes}
    first = _middle_planes(array, shape, channel_axis, channels, middle)
    samples = [first[c] if first is not None else _read(array, shape, channel_axis, c, middle) for c in range(channels)]
    out = []
    for sample in samples:
        limits = limits_of(sample)
        out.append(Contrast(limits or placeholder_limits(sample), limits is not None, 1))
    if not lead_axes:
        return out, None

    def search(c: int, cancelled: Callable[[], bool]) -> Contrast:
        sample = samples[c]
        candidates = None
        if level_path is not None:
            raw = getattr(array, "array", array)  # the zarr array behind a SafeArray
            candidates = stored_planes(raw, level_path, lead_axes, channel_axis, c)
        if candidates is None:
            candidates = _spread_planes(shape, lead_axes, EXTRA_PLANES + 1)
        candidates = _pick([p for p in candidates if p != middle], EXTRA_PLANES)
        parts = [sample.ravel(), *(p.ravel() for p in _read_planes(array, shape, channel_axis, c, candidates, cancelled))]
        limits = limits_of(np.concatenate(parts), _fill_value(array))
        return Contrast(limits or placeholder_limits(sample), limits is not None, 1 + len(candidates))

    return out, search


def contrast_at_once(levels: Sequence[Any], channel_axis: int | None = None, *,
                     scope: Scope | None = None) -> tuple[list[Contrast], ContrastSearch[Contrast] | None]:
    """Like :func:`contrast_samples`, without waiting for the search of other planes.

    Returns the middle plane's contrast of each channel at once and, when some channel's
    middle plane holds none, the search of every channel's contrast in other planes, *not
    started* (:class:`~.contrast_search.ContrastSearch`); None when no search is needed. A
    remote preview uses this: the viewer starts the search once the first frame is drawn,
    so that the sparse array's other planes are not fetched beside the shown plane's
    chunks, and takes the searched limits when they arrive, unless the user set limits or
    moved to a plane with data meanwhile (the shown plane is flat, mostly the fill value at
    the low end of both limits: no visible jump). ``scope``: see ``ContrastSearch``.
    """
    array = levels[-1]
    if 0 in tuple(int(s) for s in array.shape):
        return [Contrast((0.0, 1.0), False, 0)], None
    first, search = _middle_samples(array, channel_axis, None)
    if search is None or all(c.from_data for c in first):
        return first, None

    def run(cancelled: Callable[[], bool]) -> list[Contrast]:
        return [c if c.from_data else search(i, cancelled) for i, c in enumerate(first)]

    return first, ContrastSearch(run, scope)


def array_limits(data: Any, channel_axis: int | None = None) -> tuple[float, float]:
    """The limits an array opens with, wherever it is shown: the preview and the persistent
    viewer both call this (through ``contrast_samples``), so one array looks the same in
    both windows. A placeholder (around the one value, or 0-1) when it holds no contrast."""
    return contrast_samples([data], channel_axis)[0].limits


def _fill_value(array: Any) -> Any:
    fill = getattr(array, "fill_value", None)
    if fill is None:
        fill = getattr(getattr(array, "array", None), "fill_value", None)
    return 0 if fill is None else fill
