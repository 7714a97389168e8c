"""Exact per-value counts of 8- and 16-bit integers: the inner loop of exact statistics.

Every statistic of a uint16 array (min, max, mean, std, percentiles, histogram) follows
exactly from how many times each of its 65,536 values occurs, so counting is the only pass
over the decoded values. numpy's ``bincount`` widens every value to ``intp`` first and
holds the GIL while it counts: 2.2-2.5 ns an element, as much as zstd takes to decode it,
and the two dask threads count one after the other. A compiled loop (numba, ``nogil``)
counts in 0.3-0.6 ns an element on both cores at once (bench_whole_array, issue 18).

numba is optional at run time: it is imported on first use, and when it cannot be (not
installed, a frozen bundle without LLVM, ...) numpy's ``bincount`` gives the same counts.
Loading it costs a few tenths of a second per process (compiling once per machine and dtype
costs about as much again; numba caches the machine code beside this file, or in the user's
cache folder when that is not writable), so callers use it for large arrays only
(``COMPILED_FROM``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

#: Arrays of at least this many elements are counted with the compiled loop (when numba
#: imports): below it, numpy's bincount finishes before numba would have loaded.
COMPILED_FROM = 1 << 26

_lock = threading.Lock()
_kernel: list[Callable[[np.ndarray, int, np.ndarray], None] | None] = []  # [] until tried; [None]: no numba


def _compiled_kernel() -> Callable[[np.ndarray, int, np.ndarray], None] | None:
    """The compiled counting loop, built on first call (None when numba cannot be imported)."""
    with _lock:
        if not _kernel:
            _kernel.append(_build_kernel())
        return _kernel[0]


def _build_kernel() -> Callable[[np.ndarray, int, np.ndarray], None] | None:
    try:
        import numba
    except Exception:  # ImportError, or llvmlite failing to load its library
        return None
    nb: Any = numba  # untyped
    kernel: Callable[[np.ndarray, int, np.ndarray], None] = nb.njit(cache=True, nogil=True)(_count_loop)
    return kernel


def _count_loop(values: np.ndarray, base: int, out: np.ndarray) -> None:
    """``out[v - base] += 1`` for every value ``v`` (compiled by numba; 1-D ``values``)."""
    for i in range(values.size):
        out[values[i] - base] += 1


def compiled_available() -> bool:
    """Whether the compiled loop can be used in this process (imports numba on first call)."""
    return _compiled_kernel() is not None


def count_small_integers(x: np.ndarray, compiled: bool = False) -> tuple[int, np.ndarray | None]:
    """Exact per-value counts of 8/16-bit integers (or bool) ``x``: ``(offset, counts)``
    where ``counts[i]`` (int64) is how often ``offset + i`` occurs, trimmed to the values
    present; ``(0, None)`` for no values. ``compiled``: use the compiled loop if numba imports."""
    if x.size == 0:
        return 0, None
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    if x.dtype.kind not in "iu" or x.dtype.itemsize > 2:
        raise TypeError(f"count_small_integers counts 8- and 16-bit integers, not {x.dtype}")
    bits = 8 * x.dtype.itemsize
    base = -(1 << (bits - 1)) if x.dtype.kind == "i" else 0
    kernel = _compiled_kernel() if compiled else None
    if kernel is not None:
        counts = np.zeros(1 << bits, dtype=np.int64)
        kernel(np.ascontiguousarray(x).reshape(-1), base, counts)
    else:
        if base:
            # signed values flipped to unsigned order by their top bit (no arithmetic): bincount
            # of the values themselves. Widening first and subtracting the minimum made this 6x
            # slower than zarr decoding the chunk (15.7 ms against 2.2 ms for a 2 MiB chunk).
            unsigned = np.dtype(f"u{x.dtype.itemsize}")
            x = np.ascontiguousarray(x).view(unsigned) ^ unsigned.type(1 << (bits - 1))
        counts = np.bincount(x.reshape(-1))
    present = np.flatnonzero(counts)
    first, last = int(present[0]), int(present[-1])
    return base + first, counts[first:last + 1].astype(np.int64, copy=False)
