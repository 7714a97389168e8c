"""The chunk heat map's data side: a chunk report's states and stored bytes as RGBA pixels
(one per chunk of the plane's grid), coloured by stored size on a log scale (viridis),
missing chunks grey and unreadable ones red. Pure numpy: the napari overlay shows it.
"""

from __future__ import annotations

import math

import numpy as np

from .chunk_report import ERROR, MISSING, STORED, heat_range

# viridis, 9 stops (matplotlib's), interpolated to 256
_VIRIDIS_STOPS = np.array([
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
], np.float64)
_LUT = np.stack([np.interp(np.linspace(0, 8, 256), np.arange(9), _VIRIDIS_STOPS[:, c]) for c in range(3)], axis=1).astype(np.uint8)
MISSING_RGBA = (140, 140, 140, 150)
ERROR_RGBA = (220, 38, 38, 230)
STORED_ALPHA = 150
_LUT32 = np.concatenate([_LUT, np.full((256, 1), STORED_ALPHA, np.uint8)], axis=1).view(np.uint32)[:, 0]


def heat_rgba(state: np.ndarray, stored: np.ndarray, span: tuple[int, int] | None = None) -> np.ndarray:
    """The heat map's pixels: ``state`` and ``stored`` of the grid → RGBA uint8 (grid + (4,)).

    ``span``: the stored-bytes range the colours cover (``heat_range`` of the whole array,
    when ``state`` is one plane of it: every plane coloured alike, as the legend says);
    by default the range of ``stored`` itself."""
    # Texels as packed uint32 over a flat grid: a masked write of 4-byte values is several
    # times faster than of (n, 4) rows (a plane of 4 million chunks: about half the time).
    flat = np.zeros(state.size, np.uint32)
    states = state.reshape(-1)
    is_stored = states == STORED
    if is_stored.any():
        chosen = stored.reshape(-1)[is_stored]
        sizes = np.log2(np.maximum(chosen, 1).astype(np.float64))
        lo, hi = span if span is not None else heat_range(chosen)
        level = (sizes - math.log2(lo)) / (math.log2(hi) - math.log2(lo))
        flat[is_stored] = _LUT32[np.clip((level * 255).round().astype(np.int64), 0, 255)]
    flat[states == MISSING] = _packed(MISSING_RGBA)
    flat[states == ERROR] = _packed(ERROR_RGBA)
    return flat.view(np.uint8).reshape(*state.shape, 4)


def _packed(rgba: tuple[int, int, int, int]) -> np.uint32:
    """One RGBA colour as the uint32 whose bytes are r, g, b, a (in memory order)."""
    return np.array(rgba, np.uint8).view(np.uint32)[0]  # type: ignore[no-any-return]


def _reduce_axis(state: np.ndarray, stored: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Collapse the channel axis (split into layers by the preview): any stored chunk shows."""
    merged = np.where((state == STORED).any(axis), STORED,
                      np.where((state == ERROR).any(axis), ERROR, np.where((state == MISSING).all(axis), MISSING, 0)))
    return merged.astype(np.int8), stored.sum(axis)


def plane_chunks(state: np.ndarray, stored: np.ndarray, plane: tuple[int, ...],
                 channel_axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The states and stored bytes of one plane's chunks: ``plane`` indexes the leading axes
    of the grid without ``channel_axis``, which is collapsed as ``_reduce_axis`` does. Only
    the plane's chunks are read (the overlay's refresh costs the plane, not the array)."""
    if channel_axis is None:
        return state[plane], stored[plane]
    index: list[int | slice] = []
    leading = iter(plane)
    for axis in range(state.ndim):
        index.append(slice(None) if axis == channel_axis else next(leading, slice(None)))
    channel = sum(1 for axis, i in enumerate(index) if axis < channel_axis and isinstance(i, slice))
    return _reduce_axis(state[tuple(index)], stored[tuple(index)], channel)
