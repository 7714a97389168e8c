"""Equal-width histograms of float32/float64 values, bin for bin as ``np.histogram``.

The second pass of exact statistics over a float array counts every finite value into two
histograms over [min, max] (65,536 fine bins for the percentiles, the output's bins).
``np.histogram`` takes 7 ns an element for each (a keep mask, a cast, a float index array,
two corrections, a bincount): 15 ns an element for the pass, three or four times what zstd
takes to decode it. A compiled loop (numba, see value_counts.jit) bins in one read of the
values with no temporaries.

When the bins are narrower than a float32's spacing (values 1000-1001 in 65,536 bins) numpy
cannot make float32 edges; such values are binned as float64 (numpy's bins of the float64
values).

Same bins as numpy: the edges are numpy's own (``np.histogram_bin_edges`` in the values'
dtype), each value's bin is first estimated from its position, then corrected against
those edges exactly as numpy corrects its estimate (a value on an edge goes to the bin that
edge opens; the last bin holds its right edge).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .value_counts import CompiledLoop, native, native_dtype
from .whole_array import WholeArrayError

COMPILED_DTYPES = ("float32", "float64")


def _bin_loop(values: np.ndarray, edges: np.ndarray, first: Any, denom: Any, nbins: Any, out: np.ndarray) -> None:
    """Count every value ``v`` with ``edges[0] <= v <= edges[-1]`` (so neither NaN nor
    infinities) into ``out``, as numpy's uniform-bin histogram: the estimate
    ``(v - first) / denom * nbins`` in the values' dtype (``first``, ``denom``, ``nbins``
    are scalars of that dtype, as numpy's weak Python scalars become), truncated, then moved
    by one when ``v`` lies below its bin's left edge or on or beyond its right edge."""
    n = out.size
    low, high = edges[0], edges[n]
    for i in range(values.size):
        v = values[i]
        if not (v >= low and v <= high):
            continue
        k = int((v - first) / denom * nbins)
        if k >= n:
            k = n - 1
        if v < edges[k]:
            k -= 1
        elif k != n - 1 and v >= edges[k + 1]:
            k += 1
        if 0 <= k < n:  # always, for values in the range (numpy would fail otherwise)
            out[k] += 1


def warm(dtype: np.dtype[Any]) -> bool:
    """Load numba and compile (or read from its cache) the loop for ``dtype``, waiting for
    it; True when ``histograms(..., compiled=True)`` then uses the compiled loop."""
    if np.dtype(dtype).name not in COMPILED_DTYPES:
        return False
    dtype = native_dtype(dtype)
    scalar = dtype.type  # the argument types of histograms' calls (read-only edges too)
    return _LOOP.warm(np.zeros(1, dtype=dtype), _edges(dtype.str, 1, 0.0, 1.0), scalar(0), scalar(1),
                      scalar(1), np.zeros(1, dtype=np.int64))


@functools.lru_cache(maxsize=32)
def _edges(dtype: str, bins: int, low: float, high: float) -> np.ndarray | None:
    """numpy's ``bins`` equal-width edges over [low, high] in ``dtype`` (made once per pass,
    not per chunk), or None when numpy cannot make them distinct in that dtype."""
    try:
        edges: np.ndarray = np.histogram_bin_edges(np.empty(0, dtype=dtype), bins=bins, range=(low, high))
    except ValueError:  # "Too many bins for data range"
        return None
    edges.flags.writeable = False
    return edges


def histograms(values: np.ndarray, bins: tuple[int, ...], low: float, high: float,
               compiled: bool = False) -> list[np.ndarray]:
    """``np.histogram(finite values, b, range=(low, high))[0]`` as int64 for each ``b`` in
    ``bins``; with the compiled loop when ``compiled`` and numba imports."""
    values = native(values)
    if values.dtype.kind == "f" and any(_edges(values.dtype.str, b, low, high) is None for b in bins):
        values = values.astype(np.float64)  # bins narrower than the dtype's spacing: numpy has no such edges
        if any(_edges(values.dtype.str, b, low, high) is None for b in bins):
            raise WholeArrayError(f"the finite values span too narrow a range ({low!r} to {high!r}) for "
                                  f"{max(bins)} equal bins, even as float64")
    loop = _LOOP.get() if compiled and values.dtype.name in COMPILED_DTYPES else None
    if loop is None:
        if values.dtype.kind == "f":
            values = values[np.isfinite(values)]
        return [np.histogram(values, bins=b, range=(low, high))[0].astype(np.int64) for b in bins]
    flat = np.ascontiguousarray(values).reshape(-1)
    scalar = values.dtype.type
    first, last = (low - 0.5, high + 0.5) if low == high else (low, high)  # numpy widens an empty range so
    out = []
    for b in bins:
        edges = _edges(values.dtype.str, b, low, high)
        counts = np.zeros(b, dtype=np.int64)
        loop(flat, edges, scalar(first), scalar(last - first), scalar(b), counts)
        out.append(counts)
    return out


_LOOP = CompiledLoop(_bin_loop)
