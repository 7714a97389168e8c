"""Exact statistics' memory (issue 15): LLVM's library pages handed back once the counting
loop is built, and tasks reading their four chunks two at a time. A fresh ``stats``
process peaked at 246-255 MiB (132-151 before issue 18's compiled loop): about 60 MiB of
LLVM's code pages touched by its import and the build, and about 45 MiB that malloc's
arenas kept of the four chunks each task read at once."""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import zarr

from polystore_gui.model import array_stats, count_loop, whole_array
from polystore_gui.model.whole_array import Engine, open_target


def _resident_kib(path: str) -> int:
    """KiB of ``path``'s mappings resident in this process."""
    return sum(rss for _start, _end, _writable, rss, _anonymous in count_loop.library_mappings(path))


def test_a_built_loop_leaves_llvms_pages_out_of_the_resident_set_and_still_counts():
    """In a fresh process, after the loop is built LLVM's library holds at most a few MiB of
    the process's memory (its written data; about 60 MiB before: the code pages that
    importing and compiling touched), the loop counts exactly, and LLVM still compiles
    afterwards (a second build: its code comes back from the page cache)."""
    script = textwrap.dedent("""
        import json, os
        import numpy as np
        import llvmlite.binding as llvm
        from polystore_gui.model import count_loop
        def _resident_kib(path):
            return sum(m[3] for m in count_loop.library_mappings(path))
        path = os.path.realpath(llvm.ffi.lib._name)
        imported = _resident_kib(path)
        loop = count_loop.build()
        built = _resident_kib(path)
        x = np.random.default_rng(3).integers(0, 65536, 100_000, dtype=np.uint16)
        out = np.zeros(65536, dtype=np.int64)
        first, last = loop(x, 0, out)
        again = count_loop.build()
        out2 = np.zeros(65536, dtype=np.int64)
        again(x, 0, out2)
        want = np.bincount(x, minlength=65536)
        print(json.dumps({"imported": imported, "built": built, "exact": bool((out == want).all()),
                          "ends": [first, last] == [int(np.flatnonzero(want)[0]), int(np.flatnonzero(want)[-1])],
                          "again": bool((out2 == want).all())}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["imported"] > 20 * 1024  # the import alone touches tens of MiB of LLVM's code
    assert found["built"] < 8 * 1024
    assert found["exact"] and found["ends"] and found["again"]


def test_releasing_a_library_drops_only_pages_never_written(tmp_path):
    """A read-only private mapping of a file leaves the resident set and reads the same
    bytes again; a private mapping written and then made read-only (as a library's
    relocated RELRO segment is) keeps its written bytes: it is not touched."""
    page = mmap.PAGESIZE
    path = tmp_path / "lib.so"
    path.write_bytes(bytes(range(256)) * (16 * page // 256))
    real = os.path.realpath(path)
    with open(path, "rb") as f:
        clean = mmap.mmap(f.fileno(), 16 * page, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    with open(path, "r+b") as f:
        written = mmap.mmap(f.fileno(), 16 * page, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        assert sum(clean[i * page] for i in range(16)) == 0  # every page faulted in (byte 0 of each is 0)
        for i in range(16):
            written[i * page] = 0xAB
        view = ctypes.c_char.from_buffer(written)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        assert libc.mprotect(ctypes.addressof(view), 16 * page, mmap.PROT_READ) == 0
        del view
        before = _resident_kib(real)
        assert before >= 2 * 16 * page // 1024
        released = count_loop.release_library_pages(real)
        assert released == 16 * page // 1024  # the clean mapping's pages, not the written one's
        assert _resident_kib(real) == before - released
        assert clean[:] == path.read_bytes()  # read again from the file
        assert all(written[i * page] == 0xAB for i in range(16))
    finally:
        clean.close()
        written.close()


def _v2_big_endian(tmp_path):
    """A zarr v2 array of big-endian uint16 in Fortran order, some chunks missing, the edge
    chunks cut by the shape."""
    data = np.random.default_rng(21).integers(0, 60000, (37, 53), dtype=np.uint16)
    a = zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 16), dtype=">u2", zarr_format=2,
                          fill_value=7, order="F")
    a[:24] = data[:24]
    return str(tmp_path / "a"), a[:]


def test_compiled_counts_read_each_task_two_chunks_at_a_time_and_stay_exact(tmp_path, monkeypatch):
    """Exact statistics of the v2 big-endian array counted by the compiled loop on two
    threads: each task (a row of four chunks) reads its region in pieces of two chunks (the
    last one cut by the shape), every chunk read once; numpy's figures."""
    path, data = _v2_big_endian(tmp_path)
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    monkeypatch.setattr(whole_array, "TASK_BYTES", 4 * 8 * 16 * 2)  # four 8 x 16 chunks of 2 bytes
    reads = []
    real_read = array_stats.read_region
    monkeypatch.setattr(array_stats, "read_region", lambda p, region: reads.append(region) or real_read(p, region))
    reports = []
    s = array_stats.array_statistics(open_target("disk", path), engine=Engine(num_workers=2), bins=32,
                                     progress=lambda *step: reports.append(step))["stats"]
    assert len(reports) == 5 and reports[-1] == ("reading", 20, 20)  # 5 tasks of a row of 4 chunks
    assert sorted(reads) == sorted(((y, min(y + 8, 37)), (x, min(x + 32, 53))) for y in range(0, 37, 8)
                                   for x in (0, 32))  # two chunks a read: 16 x 2 wide, then 16 + 5
    assert (s["count"], s["min"], s["max"]) == (data.size, int(data.min()), int(data.max()))
    assert s["mean"] == pytest.approx(data.astype(np.float64).mean(), rel=1e-12)
    assert s["std"] == pytest.approx(data.astype(np.float64).std(), rel=1e-12)
    assert list(s["percentiles"].values()) == pytest.approx(list(np.percentile(data, list(array_stats.PERCENTILES))),
                                                            rel=1e-12)
    assert s["histogram"]["counts"] == np.histogram(data, bins=32, range=(data.min(), data.max()))[0].tolist()
