"""Lower resolutions made on the fly for a single-resolution array whose planes are larger
than a screen, so that the viewer shows (and uploads as a texture) a screen-sized plane.

napari draws a single-resolution 8192² plane by uploading all 64 M pixels as one texture
at every slider step (in Mesa's software GL, most of a 0.4-0.5 s step). Given a pyramid,
it picks the level that the canvas can show and uploads only that. This module gives it
one, lazily: level ``k`` is the array seen every ``2**k``-th pixel along the plane's two
axes (:class:`StridedLevel`; a stride, not a block mean: nothing is computed, values are
real pixels, and fine detail may alias until the user zooms in, where napari switches to
the full resolution and reads only the region shown).

The trade-off, said plainly: a strided level of a chunked array touches every chunk of
the plane (a chunk is decoded whole even for one pixel in 8), so stepping the slider
decodes as much as the full plane would. No level can read fewer chunks and still cover
the plane. What it saves is the texture (screen-sized instead of plane-sized) and memory
(the level's pixels, not the plane's). To decode each plane once however many levels are
shown, the planes of levels of at most ``MEMO_PIXELS`` are read whole and kept (the last
few), and a coarser level is taken from a finer one already read (napari reads the
thumbnail level right after the shown level, for the same plane). A plane is first read at
the finest level kept whole (every 4th pixel of an 8192² plane, 2048²), whichever level
napari asked for: the same chunks are decoded, and zooming in from the level shown to that
finer level then reads nothing (it decoded the whole plane again, in the slicing thread,
while the user zoomed). The price: up to 2048² pixels kept per plane where the level shown
alone would keep 1024².
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np

SCREEN_EDGE = 2048  # planes whose larger side reaches this get levels
SMALLEST_EDGE = 256  # the coarsest level keeps at least this many pixels on its larger side
MEMO_PIXELS = 2048 * 2048  # level planes this small are read whole once and kept
MEMO_PLANES = 6  # level planes kept, at most (a few levels of the last plane or two)
TILE_EDGE = 256  # a level kept whole is sliced by napari in tiles this large (see StridedLevel.chunks)


def level_factors(plane: tuple[int, ...]) -> list[int]:
    """The strides of the levels a plane of this shape gets (none when it fits a screen)."""
    edge = max(int(n) for n in plane)
    if edge < SCREEN_EDGE:
        return []
    factors = []
    factor = 2
    while -(-edge // factor) >= SMALLEST_EDGE:
        factors.append(factor)
        factor *= 2
    return factors


def kept_whole(plane: tuple[int, ...], factor: int) -> bool:
    """Whether the level of stride ``factor`` of a plane of this shape is read whole and kept."""
    return factor > 1 and math.prod(-(-int(n) // factor) for n in plane[-2:]) <= MEMO_PIXELS


def plane_chunk_edge(chunks: Any, ndim: int) -> int | None:
    """The narrower side of a chunk along the plane's two axes, or None when not known."""
    if chunks is None or len(chunks) != ndim:
        return None
    return min(min(c) if isinstance(c, tuple) else int(c) for c in chunks[-2:])


def levels_skip_chunks(shape: tuple[int, ...], chunks: Any) -> bool:
    """Whether the screen levels of an array of this shape and chunking read fewer of a
    plane's chunks than the plane has: chunks narrower than the stride of the finest level
    kept whole (a strided read skips them). Reading such a plane whole costs more than
    showing it (rows stored one a chunk, shown every 4th row: 4 times the bytes)."""
    factors = level_factors(tuple(shape[-2:]))
    edge = plane_chunk_edge(chunks, len(shape))
    if not factors or edge is None:
        return False
    kept = [f for f in factors if kept_whole(tuple(shape[-2:]), f)]
    return edge < (kept[0] if kept else factors[0])


def screen_levels(data: Any) -> list[Any] | None:
    """``[data, data every 2nd pixel, every 4th, ...]`` (lazy views: nothing is read here),
    or None when the plane (the last two axes) fits a screen.

    The full resolution is a view too (stride 1): napari slices a level's displayed region
    first, with the other axes whole, and a zarr array would read all of them at once."""
    shape = tuple(int(n) for n in data.shape)
    if len(shape) < 2 or 0 in shape:
        return None
    factors = level_factors(shape[-2:])
    if not factors:
        return None
    pyramid = _Pyramid(data)
    return [StridedLevel(pyramid, f) for f in (1, *factors)]


def with_screen_levels(layers: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """``layers`` (model.lazy.LayerSpec) with levels given to single-resolution, non-RGB image
    layers whose planes exceed a screen; and how many got them."""
    out = []
    given = 0
    for spec in layers:
        levels = None if spec.kind != "image" or spec.multiscale or spec.rgb else screen_levels(spec.data)
        if levels is None:
            out.append(spec)
            continue
        out.append(replace(spec, data=levels, multiscale=True))
        given += 1
    return tuple(out), given


class _Pyramid:
    """The full-resolution array and the level planes read whole lately (shared by the levels)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.shape = tuple(int(n) for n in base.shape)
        self.dtype = np.dtype(base.dtype)
        self._memo: OrderedDict[tuple[int, tuple[int, ...]], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # napari slices in its own thread(s)

    def memoised(self, factor: int) -> bool:
        return kept_whole(self.shape, factor)

    def plane(self, factor: int, lead: tuple[int, ...]) -> np.ndarray:
        """The whole plane ``lead`` of the level of stride ``factor`` (kept for the next call)."""
        with self._lock:
            hit = self._memo.get((factor, lead))
            if hit is not None:
                self._memo.move_to_end((factor, lead))
                return hit
            finer = [(g, p) for (g, at), p in self._memo.items() if at == lead and g < factor and factor % g == 0]
        if not finer:
            # Nothing finer of this plane kept: read the finest level that is kept whole. A
            # strided read decodes every chunk of the plane when the chunks are at least as
            # wide as the stride, so this costs no more decoding, and a zoom from the level
            # shown into a finer one kept whole then reads nothing again (it decoded the
            # whole plane a second time).
            finest = self.whole_read_factor(factor)
            h, w = self.shape[-2:]
            source = self.read_base(lead, range(0, -(-h // finest)), range(0, -(-w // finest)), finest)
            finer = [(finest, source)]
            if finest != factor:
                self._keep(finest, lead, source)
        g, source = max(finer, key=lambda item: item[0])
        step = factor // g
        plane = source if step == 1 else np.ascontiguousarray(source[::step, ::step])
        self._keep(factor, lead, plane)
        return plane

    def whole_read_factor(self, factor: int) -> int:
        """The stride to read a plane at for a level of stride ``factor`` kept whole: the
        smallest stride kept whole, unless the base's chunks are narrower than ``factor``
        (a read at ``factor`` then skips chunks that a finer one would decode: chunks 4
        pixels wide read every 4th pixel are all decoded, every 8th pixel one in 2 a side)."""
        finest = 2
        while finest < factor and not self.memoised(finest):
            finest *= 2
        edge = plane_chunk_edge(getattr(self.base, "chunks", None), len(self.shape))
        return factor if edge is not None and edge < factor else finest

    def _keep(self, factor: int, lead: tuple[int, ...], plane: np.ndarray) -> None:
        with self._lock:
            self._memo[(factor, lead)] = plane
            self._memo.move_to_end((factor, lead))
            while len(self._memo) > MEMO_PLANES:
                self._memo.popitem(last=False)

    def read_base(self, lead: tuple[int, ...], rows: range, cols: range, factor: int) -> np.ndarray:
        """Level pixels ``rows`` x ``cols`` (level coordinates, positive steps) of plane ``lead``."""
        key = lead + (slice(rows.start * factor, rows.stop * factor, rows.step * factor),
                      slice(cols.start * factor, cols.stop * factor, cols.step * factor))
        try:
            return np.asarray(self.base[key])
        except (IndexError, TypeError):
            raise
        except Exception:
            # A strided read failed (a corrupt chunk): read the region with unit steps, which a
            # SafeArray reads chunk by chunk with the bad chunks as the fill value, then stride.
            box = lead + (slice(rows.start * factor, rows.stop * factor), slice(cols.start * factor, cols.stop * factor))
            return np.asarray(self.base[box])[..., :: rows.step * factor, :: cols.step * factor]

    def read(self, factor: int, lead: tuple[int, ...], rows: range, cols: range) -> np.ndarray:
        if self.memoised(factor):
            plane = self.plane(factor, lead)
            return plane[rows.start:rows.stop:rows.step, cols.start:cols.stop:cols.step]
        return self.read_base(lead, rows, cols, factor)


class StridedLevel:
    """A lazy view of the array every ``factor``-th pixel along the plane's two axes.

    Indexing composes (a window of the level, in level coordinates) until every axis before
    the plane is fixed; then the pixels are read. ``np.asarray`` reads what the view holds.
    """

    def __init__(self, pyramid: _Pyramid, factor: int, window: tuple[int | range, ...] | None = None) -> None:
        self._pyramid = pyramid
        self.factor = factor
        full = pyramid.shape[:-2] + tuple(-(-n // factor) for n in pyramid.shape[-2:])
        self._window: tuple[int | range, ...] = window if window is not None else tuple(range(n) for n in full)
        self.shape = tuple(len(w) for w in self._window if isinstance(w, range))
        self.dtype = pyramid.dtype
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)
        # What one read decodes, in this level's pixels: napari widens the region it asks for
        # to these boundaries, and uploads that region as the texture. A level kept whole is
        # read whole once, so its regions cost no decoding: tiles of TILE_EDGE, so that a zoom
        # into it uploads about the region shown, not the whole 2048² plane (12 ms of the
        # GUI thread's frame in Mesa's software GL, the longest stall of a zoom). Any other
        # level is the base's chunks seen through the stride (one per plane along the other axes).
        plane_axes = len(self._window) - 2
        base_chunks = getattr(pyramid.base, "chunks", None)
        grain: list[int] = []
        for i, w in enumerate(self._window):
            if not isinstance(w, range):
                continue
            if i < plane_axes:
                grain.append(1)
            elif pyramid.memoised(factor):
                grain.append(max(1, min(len(w), TILE_EDGE)))
            elif base_chunks is None or len(base_chunks) != len(self._window):
                grain.append(max(1, len(w)))
            else:
                grain.append(max(1, int(base_chunks[i]) // factor))
        self.chunks = tuple(grain)

    @property
    def base(self) -> Any:
        """The full-resolution array this level is a view of."""
        return self._pyramid.base

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<StridedLevel every {self.factor} pixels, shape {self.shape}>"

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is None or isinstance(k, (list, np.ndarray)) for k in key) or key.count(Ellipsis) > 1:
            return np.asarray(self)[key]  # fancy indexing: on what this view holds
        if Ellipsis in key:
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (self.ndim - len(key) + 1) + key[i + 1:]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices: {len(key)} for {self.ndim} dimensions")
        key = key + (slice(None),) * (self.ndim - len(key))
        free = iter(key)
        window: list[int | range] = []
        for w in self._window:
            if not isinstance(w, range):
                window.append(w)
                continue
            k = next(free)
            if isinstance(k, (int, np.integer)):
                window.append(w[int(k)])  # IndexError when out of range, as numpy
            elif isinstance(k, slice):
                window.append(w[k])
            else:
                raise TypeError(f"cannot index a level with {type(k).__name__}")
        view = StridedLevel(self._pyramid, self.factor, tuple(window))
        if all(not isinstance(w, range) for w in window[:-2]):
            return np.asarray(view)  # one plane (or a region of it): read it now
        return view

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        lead_axes = self._window[:-2]
        rows, cols = self._window[-2:]
        lead_ranges = [w if isinstance(w, range) else range(w, w + 1) for w in lead_axes]
        planes = [self._read_plane(tuple(lead), rows, cols) for lead in itertools.product(*lead_ranges)]
        shape = tuple(len(r) for r in lead_ranges) + planes[0].shape if planes else (0,)
        out = np.stack(planes).reshape(shape) if planes else np.empty(self.shape, self.dtype)
        squeeze = tuple(i for i, w in enumerate(lead_axes) if not isinstance(w, range))
        out = out.reshape([n for i, n in enumerate(out.shape) if i not in squeeze]) if squeeze else out
        return out.astype(dtype) if dtype is not None else out

    def _read_plane(self, lead: tuple[int, ...], rows: int | range, cols: int | range) -> np.ndarray:
        r = rows if isinstance(rows, range) else range(rows, rows + 1)
        c = cols if isinstance(cols, range) else range(cols, cols + 1)
        flip_r, flip_c = r.step < 0, c.step < 0
        if flip_r:
            r = r[::-1]
        if flip_c:
            c = c[::-1]
        if not len(r) or not len(c):
            plane = np.empty((len(r), len(c)), self.dtype)
        else:
            plane = self._pyramid.read(self.factor, lead, r, c)
        if flip_r or flip_c:
            plane = plane[:: -1 if flip_r else 1, :: -1 if flip_c else 1]
        if not isinstance(rows, range):
            plane = plane[0]
        if not isinstance(cols, range):
            plane = plane[..., 0]
        return plane
