"""Exact per-value counts of 8- and 16-bit integers: the inner loop of exact statistics.

Every statistic of a uint16 array (min, max, mean, std, percentiles, histogram) follows
exactly from how many times each of its 65,536 values occurs, so counting is the only pass
over the decoded values. numpy's ``bincount`` widens every value to ``intp`` first: 1.4-2.5
ns an element, about half what zstd takes to decode it (and two threads counted no faster
than one here). A compiled loop (count_loop: LLVM IR built with llvmlite, called without
the GIL) counts in about 0.4 ns an element, in place, on both cores at once
(bench_whole_array, issue 18).

The compiled loop is optional at run time: it is built on first use (about 40 ms, once per
process), and when it cannot be (llvmlite not installed, a frozen bundle without LLVM, ...)
numpy's ``bincount`` gives the same counts. It is used for large arrays only
(``COMPILED_FROM``). This module also holds the numba helpers of the float loops
(``jit``, ``CompiledLoop``: float_moments, float_bins).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from . import count_loop

#: Arrays of at least this many elements are counted (and their floats reduced) with the
#: compiled loops: below it, numpy finishes about as soon as numba (the float loops) loads.
COMPILED_FROM = 1 << 26

#: ``kernel(values, base, out)`` adds one to ``out[v - base]`` for every value ``v`` and
#: returns the first and last index of ``out`` that are not zero.
Kernel = Callable[[np.ndarray, int, np.ndarray], tuple[int, int]]

_lock = threading.Lock()  # held while the counting loop is built (about 40 ms, once)
_kernel: list[Kernel | None] = []  # [] until tried; [None]: it cannot be built or run here
_buffers = threading.local()  # a zeroed count buffer per thread and width, reused


def native(values: np.ndarray) -> np.ndarray:
    """``values`` in the machine's byte order (a copy when byte-swapped, as zarr v2's '>u2'
    or '>f4' chunks are): numba compiles no loop for a byte-swapped dtype, and a view of
    swapped bytes as native numbers counts other values."""
    return values if values.dtype.isnative else values.astype(values.dtype.newbyteorder("="))


def native_dtype(dtype: Any) -> np.dtype[Any]:
    """``dtype`` in the machine's byte order (the dtype the compiled loops are warmed for)."""
    found: np.dtype[Any] = np.dtype(dtype)
    return found if found.isnative else found.newbyteorder("=")


def _compiled_kernel() -> Kernel | None:
    """The compiled counting loop (count_loop), built on first call (None when llvmlite
    cannot be imported or LLVM cannot compile here). Threads asking meanwhile wait for it:
    the build takes about 40 ms, once per process."""
    with _lock:
        if not _kernel:
            _kernel.append(count_loop.build())
        return _kernel[0]


def jit(loop: Callable[..., Any]) -> Any:
    """``loop`` compiled by numba (``nogil``, machine code cached), or None when numba
    cannot be imported. Compilation itself happens at the first call per argument types.
    Where numba finds no folder to cache in (a frozen bundle's code has no source file
    beside it), the loop is compiled in each process instead."""
    try:
        import numba
    except Exception:  # ImportError, or llvmlite failing to load its library
        return None
    nb: Any = numba  # untyped
    try:
        return nb.njit(cache=True, nogil=True)(loop)
    except Exception:  # RuntimeError: "cannot cache function ...: no locator available"
        return nb.njit(nogil=True)(loop)


class CompiledLoop:
    """A loop compiled by numba on first use, once per process (see jit); ``get()`` is None
    when numba cannot be imported."""

    def __init__(self, loop: Callable[..., Any]) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._compiled: list[Any] = []  # [] until tried

    def get(self) -> Any:
        with self._lock:
            if not self._compiled:
                self._compiled.append(jit(self._loop))
            return self._compiled[0]

    def warm(self, *sample: Any) -> bool:
        """Compile (or read from the cache) the loop for ``sample``'s types by calling it on
        them; False, and the loop not used again, when that fails (numpy's path then)."""
        loop = self.get()
        if loop is None:
            return False
        try:
            loop(*sample)
        except Exception:  # numba's compile errors (e.g. LLVM missing pieces in a bundle)
            with self._lock:
                self._compiled[:] = [None]
            return False
        return True


def compiled_available() -> bool:
    """Whether the compiled loop can be used in this process (built on first call)."""
    return _compiled_kernel() is not None


def warm(dtype: np.dtype[Any]) -> bool:
    """Build the compiled loop (once per process) and try it on ``dtype``; True when it is
    then used for every 8/16-bit dtype, False (numpy counts, from now on) when it cannot be
    built or fails."""
    kernel = _compiled_kernel()
    if kernel is None:
        return False
    dtype = native_dtype(np.uint8 if np.dtype(dtype).kind == "b" else dtype)
    try:
        kernel(np.zeros(1, dtype=dtype), 0 if dtype.kind == "u" else -(1 << (8 * dtype.itemsize - 1)),
               np.zeros(1 << (8 * dtype.itemsize), dtype=np.int64))
    except Exception:  # a loop that does not run here: numpy counts instead, from now on
        with _lock:
            _kernel[:] = [None]
        return False
    return True


def _buffer(bits: int) -> np.ndarray:
    """This thread's zeroed buffer of 2**bits counts (allocated once: a fresh one per chunk
    cost page faults on every chunk)."""
    buf: np.ndarray | None = getattr(_buffers, f"b{bits}", None)
    if buf is None:
        buf = np.zeros(1 << bits, dtype=np.int64)
        setattr(_buffers, f"b{bits}", buf)
    return buf


def count_small_integers(x: np.ndarray, compiled: bool = False) -> tuple[int, np.ndarray | None]:
    """Exact per-value counts of 8/16-bit integers (or bool) ``x``: ``(offset, counts)``
    where ``counts[i]`` (int64) is how often ``offset + i`` occurs, trimmed to the values
    present; ``(0, None)`` for no values. ``compiled``: use the compiled loop (built on first
    use); numpy's bincount when it cannot be built."""
    if x.size == 0:
        return 0, None
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    x = native(x)
    if x.dtype.kind not in "iu" or x.dtype.itemsize > 2:
        raise TypeError(f"count_small_integers counts 8- and 16-bit integers, not {x.dtype}")
    bits = 8 * x.dtype.itemsize
    base = -(1 << (bits - 1)) if x.dtype.kind == "i" else 0
    kernel = _compiled_kernel() if compiled else None
    if kernel is not None:
        buf = _buffer(bits)
        try:
            first, last = kernel(np.ascontiguousarray(x).reshape(-1), base, buf)
        except BaseException:
            buf[:] = 0
            raise
        counts = buf[first:last + 1].copy()
        buf[first:last + 1] = 0  # zeroed again for the next chunk
        return base + first, counts
    if base:
        # signed values flipped to unsigned order by their top bit (no arithmetic): bincount
        # of the values themselves. Widening first and subtracting the minimum made this 6x
        # slower than zarr decoding the chunk (15.7 ms against 2.2 ms for a 2 MiB chunk).
        unsigned = np.dtype(f"u{x.dtype.itemsize}")
        x = np.ascontiguousarray(x).view(unsigned) ^ unsigned.type(1 << (bits - 1))
    all_counts = np.bincount(x.reshape(-1))
    present = np.flatnonzero(all_counts)
    first, last = int(present[0]), int(present[-1])
    return base + first, all_counts[first:last + 1].astype(np.int64, copy=False)
