"""The first statistics pass over float32/float64 values in a compiled loop.

What a chunk contributes before its histogram can be counted: its NaN count, extremes (with
and without infinities), mean and sum of squared deviations (float64). numpy needs a pass
and often a temporary for each (``isnan``, a NaN-free copy, a float64 copy, the mean, the
deviations, their squares, min, max): 7 ns an element for float32, more than zstd takes to
decode it. The compiled loop (numba, see value_counts.jit) reads the values twice (sums,
then squared deviations from the mean) with no temporaries.

The sums are taken in blocks of 1,024 values added to a running total, so rounding grows
with the number of blocks, not of values (numpy sums pairwise; both stay far within the
1e-9 relative agreement the tests ask of float means and deviations).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .value_counts import CompiledLoop, native, native_dtype

COMPILED_DTYPES = ("float32", "float64")
BLOCK = 1024


def _moments_loop(values: np.ndarray, out: np.ndarray) -> None:
    """``out`` = [NaN count, non-NaN count, min, max, finite min, finite max, mean, m2]
    of 1-D ``values`` (min/max NaN when there is no such value)."""
    nan = 0
    n = 0
    lo = np.inf
    hi = -np.inf
    flo = np.inf
    fhi = -np.inf
    total = 0.0
    for start in range(0, values.size, BLOCK):  # sums by blocks (see the module's docstring)
        part = 0.0
        for i in range(start, min(start + BLOCK, values.size)):
            v = values[i]
            if v != v:
                nan += 1
                continue
            n += 1
            lo = min(lo, v)
            hi = max(hi, v)
            if v - v == 0:  # finite
                flo = min(flo, v)
                fhi = max(fhi, v)
            part += v
        total += part
    mean = total / n if n else 0.0
    m2 = 0.0
    for start in range(0, values.size, BLOCK):
        part = 0.0
        for i in range(start, min(start + BLOCK, values.size)):
            v = values[i]
            if v == v:  # NaN values skipped
                d = v - mean
                part += d * d
        m2 += part
    out[0] = nan
    out[1] = n
    out[2] = lo if n else np.nan
    out[3] = hi if n else np.nan
    out[4] = flo if flo <= fhi else np.nan
    out[5] = fhi if flo <= fhi else np.nan
    out[6] = mean
    out[7] = m2


def warm(dtype: np.dtype[Any]) -> bool:
    """Load numba and compile (or read from its cache) the loop for ``dtype``, waiting for
    it; True when ``moments(..., compiled=True)`` then uses the compiled loop."""
    if np.dtype(dtype).name not in COMPILED_DTYPES:
        return False
    return _LOOP.warm(np.zeros(1, dtype=native_dtype(dtype)), np.empty(8, dtype=np.float64))


def moments(values: np.ndarray, compiled: bool = False) -> tuple[int, int, float, float, float | None, float | None,
                                                                  float, float] | None:
    """``(nan_count, n, min, max, finite_min, finite_max, mean, m2)`` of float32/float64
    ``values`` from the compiled loop (finite extremes None when no value is finite), or
    None when it cannot be used (another dtype, ``compiled`` False, numba not importable)."""
    loop = _LOOP.get() if compiled and values.dtype.name in COMPILED_DTYPES else None
    if loop is None:
        return None
    out = np.empty(8, dtype=np.float64)
    loop(np.ascontiguousarray(native(values)).reshape(-1), out)
    nan, n, lo, hi, flo, fhi, mean, m2 = (float(v) for v in out)
    return (int(nan), int(n), lo, hi, None if math.isnan(flo) else flo, None if math.isnan(fhi) else fhi, mean, m2)


_LOOP = CompiledLoop(_moments_loop)
