"""The shown plane of a remote array, fetched once for the contrast sample and the first frame.

A remote array's preview samples the middle of the shown plane for its contrast, then
napari reads that plane to draw it. Done apart, the two cost rounds of 50-100 ms each: on
a sharded array the sample asks for the shard indexes of the shards it touches, then for
its chunks, then napari asks for the same shards whole (4 rounds after the metadata, where
zarr-python reading the plane by itself makes one). :func:`shown_plane_ahead` reads the
shown plane once, whole (every chunk or shard in one gather), and :class:`PlaneAhead`
answers the sample and napari's reads of that plane (the plane, a part, a screen level's
stride) from it: the first frame is the metadata and one round.

The plane is held only until a read covers it whole (napari's first frame) or another
plane, or a selection across planes, is read (the slider moved, a 3D view); planes over
:data:`AHEAD_BYTES` are not read ahead (the reads happen as before, a chunk at a time into
the slice napari asks for).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from .contrast import middle_index
from .lazy_views import _ArrayView, _full_key
from .screen_levels import levels_skip_chunks

AHEAD_BYTES = 256 << 20  # a shown plane larger than this is not read ahead (held in memory meanwhile)


class PlaneAhead(_ArrayView):
    """A view of ``source`` (a ``SafeArray``) holding plane ``lead`` (the indices of every
    axis before the last two) read ahead; reads of other planes go to ``source``."""

    def __init__(self, source: Any, lead: tuple[int, ...], plane: np.ndarray) -> None:
        self._source = source
        self.array = getattr(source, "array", source)  # the zarr array, as a SafeArray's
        self.shape = tuple(int(n) for n in source.shape)
        self.dtype = np.dtype(source.dtype)
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)
        self.chunks = getattr(source, "chunks", None)
        self.fill_value = getattr(source, "fill_value", None)
        self._lead = lead
        self._plane: np.ndarray | None = plane
        self._lock = threading.Lock()

    @property
    def holding(self) -> bool:
        """Whether the plane read ahead is still held (not yet handed over or dropped)."""
        return self._plane is not None

    def release(self) -> None:
        with self._lock:
            self._plane = None

    def close(self) -> None:  # a Preview resource: the preview is gone, so is the plane
        self.release()

    def __getitem__(self, key: Any) -> Any:
        held = self._from_plane(key)
        return held if held is not None else self._source[key]

    def _from_plane(self, key: Any) -> np.ndarray | None:
        """The read ``key`` answered from the held plane, or None (it is read from ``source``)."""
        plane = self._plane
        if plane is None:
            return None
        try:
            full = _full_key(key, self.ndim)
        except (TypeError, ValueError):
            return None
        if len(full) != self.ndim:
            return None
        lead, within = full[:-2], full[-2:]
        if not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in lead):
            # A selection across planes (napari's 3D view, other axes displayed, a projection):
            # read as asked, and the plane let go (it would be held for the preview's life).
            self.release()
            return None
        at = tuple(int(k) + n if int(k) < 0 else int(k) for k, n in zip(lead, self.shape))
        if at != self._lead:
            self.release()  # another plane: the one read ahead is no longer the one shown
            return None
        if not all((isinstance(s, slice) and (s.step is None or s.step > 0))
                   or (isinstance(s, (int, np.integer)) and not isinstance(s, bool)) for s in within):
            return None  # fancy indexing or a reversed slice: read as asked (zarr says what it takes)
        try:
            out = plane[within]
        except IndexError:
            return None  # out of bounds: the array raises its own error
        whole = all(isinstance(s, slice) and s.indices(n)[:2] == (0, n) for s, n in zip(within, plane.shape))
        if whole:
            self.release()  # napari's frame has it now; a later read of the plane asks again
        return plane if out.shape == plane.shape else np.array(out)  # a part: not a view keeping the plane


def shown_plane_ahead(source: Any) -> Any:
    """``source`` (a remote ``SafeArray``) with its shown plane (``middle_index`` of every axis
    before the last two) read now, whole: a :class:`PlaneAhead`, or ``source`` itself when
    the plane is larger than :data:`AHEAD_BYTES`, is shown at a screen level that reads only
    some of its chunks, or the array has fewer than two axes."""
    shape = tuple(int(n) for n in source.shape)
    if len(shape) < 2 or 0 in shape:
        return source
    if math.prod(shape[-2:]) * np.dtype(source.dtype).itemsize > AHEAD_BYTES:
        return source
    if levels_skip_chunks(shape, getattr(source, "chunks", None)):
        return source  # shown at a screen level reading some of its chunks: the plane whole costs more
    lead = tuple(middle_index(n) for n in shape[:-2])
    plane = np.asarray(source[lead + (slice(None), slice(None))])
    return PlaneAhead(source, lead, plane)
