"""The 8/16-bit per-value counting loop as machine code, built with llvmlite in ~10 ms.

Exact statistics of 8- and 16-bit integers count how often each value occurs (see
value_counts); the count is the only pass over the decoded values, so it must cost well
under zstd's decode (about 3 ns an element). numpy's ``bincount`` takes 1.4-2.5 ns (it
widens every value to intp first). A plain loop compiled by LLVM takes 0.4 ns.

That loop used to be compiled by numba, whose cached machine code still cost each fresh
process 0.45 s of CPU (0.5-0.9 s wall) to load: importing numba and filling its typing and
lowering registries (scipy.linalg included), all holding the GIL while the first chunks were
being read; the first ``polystore-gui stats`` of a session, or the GUI's first exact
statistics, paid it inside the user's wait (issue 18: 1.3-1.6x the decode floor on 1 GiB).
numba itself is not needed for 20 lines of LLVM IR: llvmlite (numba's own LLVM binding,
installed with it) parses and compiles them in about 10 ms after a 30 ms import, and ctypes
calls the function without the GIL, so two threads count at once.

``build()`` returns the Kernel (``kernel(values, base, out) -> (first, last)``) or None
when llvmlite cannot be imported or LLVM cannot compile here; numpy counts then.

LLVM's library is large (82 MiB of code in llvmlite 0.50): importing it and compiling the
loop touch about 60 MiB of its pages, which then stayed in the process's resident set for
good (a fresh ``stats`` process peaked at 246-255 MiB, 132-151 before the loop; issue 15).
Once built, the loop needs none of them (its machine code lives in the engine's own
memory), so ``build()`` hands the library's clean, read-only pages back to the kernel
(``release_library_pages``): they stay in the page cache and come back on a fault if
LLVM runs again (numba's float loops), as after any reclaim under memory pressure.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from typing import Any

import numpy as np

#: One function per value width. ``count{bits}(values, n, flip, out, last) -> first``: adds
#: one to ``out[v ^ flip]`` for each of the ``n`` values (``flip`` is the sign bit for
#: signed values: their order as unsigned indices, index = value - dtype's minimum), then
#: returns the first index of ``out`` that is not zero and stores the last one in ``*last``
#: (both 0 when every count is zero). Typed-pointer syntax: LLVM 14 (llvmlite 0.43, numba
#: 0.60's) needs it, later LLVMs read it as opaque pointers.
_IR = """
define i64 @count{bits}(i{bits}* noalias nocapture readonly %values, i64 %n, i64 %flip64,
                        i64* noalias nocapture %out, i64* noalias nocapture %last_out) {{
entry:
  %flip = trunc i64 %flip64 to i{bits}
  %any = icmp sgt i64 %n, 0
  br i1 %any, label %count, label %first.test
count:
  %i = phi i64 [0, %entry], [%i.next, %count]
  %p = getelementptr inbounds i{bits}, i{bits}* %values, i64 %i
  %v = load i{bits}, i{bits}* %p, align 1
  %u = xor i{bits} %v, %flip
  %k = zext i{bits} %u to i64
  %q = getelementptr inbounds i64, i64* %out, i64 %k
  %c = load i64, i64* %q, align 8
  %c.next = add i64 %c, 1
  store i64 %c.next, i64* %q, align 8
  %i.next = add nuw nsw i64 %i, 1
  %more = icmp slt i64 %i.next, %n
  br i1 %more, label %count, label %first.test
first.test:
  %f = phi i64 [0, %entry], [0, %count], [%f.next, %first.step]
  %f.inside = icmp ult i64 %f, {top}
  br i1 %f.inside, label %first.load, label %last.test
first.load:
  %fp = getelementptr inbounds i64, i64* %out, i64 %f
  %fc = load i64, i64* %fp, align 8
  %fz = icmp eq i64 %fc, 0
  br i1 %fz, label %first.step, label %last.test
first.step:
  %f.next = add nuw nsw i64 %f, 1
  br label %first.test
last.test:
  %l = phi i64 [{top}, %first.test], [{top}, %first.load], [%l.next, %last.step]
  %l.inside = icmp ugt i64 %l, %f
  br i1 %l.inside, label %last.load, label %done
last.load:
  %lp = getelementptr inbounds i64, i64* %out, i64 %l
  %lc = load i64, i64* %lp, align 8
  %lz = icmp eq i64 %lc, 0
  br i1 %lz, label %last.step, label %done
last.step:
  %l.next = sub nuw nsw i64 %l, 1
  br label %last.test
done:
  %first = select i1 %f.inside, i64 %f, i64 0
  %last = select i1 %f.inside, i64 %l, i64 0
  store i64 %last, i64* %last_out, align 8
  ret i64 %first
}}
"""

_SIGNATURE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p,
                              ctypes.c_void_p)


class CountLoop:
    """The compiled loops for 8- and 16-bit values, with value_counts' Kernel face. Holds
    LLVM's execution engine: the machine code lives as long as this object."""

    def __init__(self, engine: Any, functions: dict[int, Any]) -> None:
        self._engine = engine
        self._functions = functions

    def __call__(self, values: np.ndarray, base: int, out: np.ndarray) -> tuple[int, int]:
        """Add the counts of 1-D contiguous native ``values`` to ``out`` (``2**bits`` int64,
        ``out[v - base]``) and return the first and last index of ``out`` not zero."""
        bits = 8 * values.dtype.itemsize
        if (values.ndim != 1 or not values.flags.c_contiguous or not values.dtype.isnative
                or values.dtype.kind not in "iu" or bits not in self._functions):
            raise TypeError(f"the counting loop takes 1-D contiguous 8/16-bit integers, not {values.dtype}")
        if out.dtype != np.int64 or out.shape != (1 << bits,) or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"the counting loop needs {1 << bits} writable int64 counts")
        if base not in (0, -(1 << (bits - 1))):
            raise ValueError(f"the counting loop counts from 0 or from the signed minimum, not from {base}")
        if (base != 0) != (values.dtype.kind == "i"):  # else other values would be reported than counted
            raise ValueError(f"the counting loop counts {values.dtype} from "
                             f"{'the signed minimum' if values.dtype.kind == 'i' else '0'}, not from {base}")
        flip = 1 << (bits - 1) if base else 0
        last = ctypes.c_int64(0)
        first = self._functions[bits](values.ctypes.data, values.size, flip, out.ctypes.data, ctypes.addressof(last))
        return int(first), int(last.value)


def build() -> CountLoop | None:
    """Compile the loops for this machine's CPU (about 40 ms with llvmlite's import, once a
    process); None when llvmlite cannot be imported or LLVM fails here."""
    try:
        import llvmlite.binding as llvm
    except Exception:  # ImportError, or llvmlite failing to load its LLVM library
        return None
    binding: Any = llvm  # untyped
    library = _library_path(binding)
    release_library_pages(library)  # the pages its import touched (its static initialisers), ~35 MiB
    try:
        _initialize(binding)
        target = binding.Target.from_default_triple()
        machine = target.create_target_machine(opt=3, cpu=binding.get_host_cpu_name(),
                                               features=binding.get_host_cpu_features().flatten())
        source = "".join(_IR.format(bits=bits, top=(1 << bits) - 1) for bits in (8, 16))
        module = binding.parse_assembly(source)
        module.verify()
        engine = binding.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        functions = {bits: _SIGNATURE(engine.get_function_address(f"count{bits}")) for bits in (8, 16)}
    except Exception:  # LLVM's errors (a missing target in a bundle, a CPU it does not know)
        return None
    finally:
        release_library_pages(library)  # the pages compiling touched, ~40 MiB (the import's among them)
    return CountLoop(engine, functions)


def _library_path(llvm: Any) -> str | None:
    """The file of LLVM's library as loaded (llvmlite's ``ffi.lib``), or None."""
    try:
        return os.path.realpath(str(llvm.ffi.lib._name))
    except Exception:  # another llvmlite layout: nothing is released
        return None


_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+ +(.*)$")
_MADV_DONTNEED = 4  # Linux, every architecture Python runs on


def library_mappings(path: str) -> list[tuple[int, int, bool, int, int]]:
    """This process's mappings of the file ``path`` (Linux's /proc/self/smaps): (start, end,
    writable, resident KiB, anonymous KiB) each. Raises OSError where there is no smaps."""
    found: list[list[Any]] = []
    current: list[Any] | None = None
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            head = _MAPPING.match(line)
            if head:
                current = None
                if head.group(4) == path:
                    current = [int(head.group(1), 16), int(head.group(2), 16), "w" in head.group(3), 0, 0]
                    found.append(current)
            elif current is not None and line.startswith(("Rss:", "Anonymous:")):
                current[3 if line.startswith("Rss:") else 4] = int(line.split()[1])
    return [(int(a), int(b), bool(w), int(rss), int(anon)) for a, b, w, rss, anon in found]


def release_library_pages(path: str | None) -> int:
    """Drop the pages of the shared library ``path`` that this process maps read-only and
    never wrote (Linux; elsewhere nothing) from its resident set; returns the KiB dropped.

    ``madvise(MADV_DONTNEED)`` on a private file mapping unmaps its pages: a later access
    reads them again from the file (the page cache), so for pages never written it changes
    nothing but the resident set, whichever thread runs that code meanwhile. Only mappings
    without write permission and without one anonymous (copied-on-write, e.g. relocated
    RELRO) page are touched: those pages would revert to the file's bytes."""
    if path is None or not sys.platform.startswith("linux"):
        return 0
    try:
        found = library_mappings(path)
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        madvise.restype = ctypes.c_int
    except (OSError, AttributeError, ValueError):
        return 0
    released = 0
    for start, end, writable, rss, anonymous in found:
        if not writable and anonymous == 0 and rss and madvise(start, end - start, _MADV_DONTNEED) == 0:
            released += rss
    return released


def _initialize(llvm: Any) -> None:
    """LLVM's native target, as numba initializes it (``initialize()`` itself is deprecated
    and raises in llvmlite 0.45 and later, where LLVM initializes its core by itself)."""
    try:
        llvm.initialize()
    except Exception:  # RuntimeError in llvmlite >= 0.45: nothing to do
        pass
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
