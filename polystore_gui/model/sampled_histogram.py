"""A histogram for display, from a bounded, strided sample of data already in memory.

napari 0.9's layer histogram looks at every value of the plane shown (``np.isfinite``, a
boolean mask and a random choice over all of them: about 0.5 s for an 8192² plane), on
the GUI thread, at every slider step. What a histogram of 256 bins drawn 100 pixels high
needs is far less: :func:`strided_sample` keeps every n-th value along each axis (a view:
nothing is copied), at most about ``SAMPLE_VALUES`` of them, and :func:`display_histogram`
counts those (in a worker; a few milliseconds). A regular grid can alias with a pattern
of the same period; for a display histogram that is an acceptable price for a cost that
does not grow with the plane.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SAMPLE_VALUES = 512 * 512  # values looked at, at most (about), for one displayed histogram
LUMINANCE = (0.2126, 0.7152, 0.0722)  # ITU-R BT.709, as napari's own histogram of RGB data


def strided_sample(array: Any, max_values: int = SAMPLE_VALUES, *, keep_last: bool = False) -> np.ndarray:
    """``array`` seen through one step along each of its axes, so that it holds at most about
    ``max_values`` values; ``array`` itself (as an ndarray) when it is small enough.

    ``keep_last``: the last axis is not strided (the colour of an RGB(A) plane).
    """
    data = np.asarray(array)
    values = data.size // (data.shape[-1] if keep_last and data.ndim else 1)
    if values <= max_values or data.ndim == 0:
        return data
    axes = [i for i, n in enumerate(data.shape) if n > 1 and not (keep_last and i == data.ndim - 1)]
    step = max(2, math.ceil((values / max_values) ** (1.0 / max(1, len(axes)))))
    while math.prod(-(-data.shape[i] // step) for i in axes) > max_values:
        step += 1
    key = tuple(slice(None, None, step) if i in axes else slice(None) for i in range(data.ndim))
    return data[key]


def display_histogram(sample: np.ndarray, bins: int, low: float | None, high: float | None, *,
                      integer: bool, rgb: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, counts) of ``sample`` in ``bins`` equal bins over [low, high], as float32.

    ``low``/``high`` None: the sample's own finite range. NaN and infinities are left out;
    RGB(A) samples are counted as their luminance. A range of one value is widened by half
    a step (integers) or 1 % (floats), as napari does, so that the value has a bin.
    """
    values = np.asarray(sample)
    if rgb and values.ndim and values.shape[-1] in (3, 4):
        values = values[..., :3].astype(np.float32) @ np.asarray(LUMINANCE, np.float32)
    values = values.ravel()
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if low is None or high is None:
        if not values.size:
            return np.array([0.0, 1.0], np.float32), np.zeros(1, np.float32)
        low, high = float(values.min()), float(values.max())
    low, high = float(low), float(high)
    if low == high:
        delta = 0.5 if integer else (max(0.5, abs(low) * 0.01) if low else 0.5)
        low, high = low - delta, high + delta
    if high < low:
        low, high = high, low
    counts, edges = np.histogram(values, bins=max(1, int(bins)), range=(low, high))
    return edges.astype(np.float32), counts.astype(np.float32)


def log_counts(counts: np.ndarray) -> np.ndarray:
    """Counts on napari's log scale: ``log10(counts + 1)``."""
    logged: np.ndarray = np.log10(np.maximum(counts, 0) + 1).astype(np.float32)
    return logged
