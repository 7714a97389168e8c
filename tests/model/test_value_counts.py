"""The exact per-value count of 8/16-bit integers (issue 18): the compiled loop (count_loop,
built with llvmlite) and its numpy fallback give the same counts, and exact statistics stay
equal to numpy's on the whole array whichever of the two counts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
import zarr

from polystore_gui.model import array_stats, value_counts
from polystore_gui.model.value_counts import compiled_available, count_small_integers, warm

from .test_array_stats import _check_exact, _stats

DTYPES = ["uint8", "int8", "uint16", "int16", "bool"]


def _data(dtype, shape=(257, 129), seed=0):
    if dtype == "bool":
        return np.random.default_rng(seed).integers(0, 2, shape).astype(bool)
    info = np.iinfo(dtype)
    x = np.random.default_rng(seed).integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    x.flat[0], x.flat[-1] = info.min, info.max  # both ends of the dtype's range
    return x


def _reference(x):
    values, counts = np.unique(x.astype(np.int64), return_counts=True)
    full = np.zeros(int(values[-1] - values[0]) + 1, dtype=np.int64)
    full[values - values[0]] = counts
    return int(values[0]), full


def _fresh(monkeypatch):
    """value_counts as in a new process: the compiled loop not built yet."""
    monkeypatch.setattr(value_counts, "_kernel", [])


@pytest.fixture
def no_llvm(monkeypatch):
    """llvmlite cannot be imported (not installed, or LLVM failing to load in a bundle)."""
    monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    _fresh(monkeypatch)


@pytest.fixture
def compiled_calls(monkeypatch):
    """The compiled loop is ready for every small dtype and every array statistics run may
    use it; its calls (the number of values counted) are recorded."""
    real = value_counts._compiled_kernel()
    assert real is not None, "llvmlite (numba's) is a dependency: the compiled loop must build"
    calls = []

    def spy(values, base, out):
        calls.append(values.size)
        return real(values, base, out)

    _fresh(monkeypatch)
    monkeypatch.setattr(value_counts, "_kernel", [spy])
    for dtype in DTYPES:
        assert warm(np.dtype(dtype))
    calls.clear()
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    return calls


def test_the_compiled_loop_builds():
    assert compiled_available()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compiled", [True, False])
def test_counts_are_exact(dtype, compiled):
    x = _data(dtype)
    if compiled:
        assert warm(x.dtype)
    offset, counts = count_small_integers(x, compiled=compiled)
    want_offset, want = _reference(x)
    assert offset == want_offset
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, want)


@pytest.mark.parametrize("compiled", [True, False])
def test_strided_and_multidimensional_values(compiled):
    x = _data("int16", shape=(6, 40, 50), seed=4)[:, ::3, 1::2]  # not contiguous
    assert warm(x.dtype)
    offset, counts = count_small_integers(x, compiled=compiled)
    want_offset, want = _reference(x)
    assert offset == want_offset
    np.testing.assert_array_equal(counts, want)


def test_one_value_and_no_values():
    assert warm(np.dtype(np.uint16))
    assert count_small_integers(np.full(10, 7, dtype=np.uint16), compiled=True)[0] == 7
    np.testing.assert_array_equal(count_small_integers(np.full(10, 7, dtype=np.uint16), compiled=True)[1], [10])
    assert count_small_integers(np.empty(0, dtype=np.uint16), compiled=True) == (0, None)


def test_wide_integers_are_refused():
    with pytest.raises(TypeError, match="8- and 16-bit"):
        count_small_integers(np.zeros(3, dtype=np.int32), compiled=True)


@pytest.mark.parametrize("dtype", ["uint16", "int16"])
def test_compiled_count_makes_no_copy_of_the_values(dtype):
    """numpy's bincount widens every value to intp (8 bytes an element; 2.2-2.5 ns an
    element, as long as zstd takes to decode it, so exact statistics took 1.3-2.1x the
    decode floor). The compiled loop counts in place: it allocates the 65,536 counts and
    nothing per element."""
    x = _data(dtype, shape=(2048, 1024), seed=5)
    assert warm(x.dtype)
    count_small_integers(x[:2], compiled=True)  # this thread's count buffer made first
    tracemalloc.start()
    try:
        offset, counts = count_small_integers(x, compiled=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 65536 * 8 + (64 << 10)  # the counts returned, nothing per element
    assert (offset, counts.sum()) == (int(x.min()), x.size)
    again = count_small_integers(x[:7], compiled=True)  # the reused buffer was zeroed
    want_offset, want = _reference(x[:7])
    assert again[0] == want_offset
    np.testing.assert_array_equal(again[1], want)


def test_first_statistics_in_a_fresh_process_count_compiled_without_loading_numba(tmp_path):
    """A fresh process's first exact statistics paid numba's load inside the user's wait:
    0.45 s of CPU (0.5-0.9 s wall) importing numba and its registries while the first chunks
    were read and counted by numpy meanwhile, so the first ``stats`` of 1 GiB took 1.3-1.6x
    the decode floor. The counting loop is now built with llvmlite in tens of
    milliseconds: every chunk, the first included, is counted by it, and numba is not
    imported for 8/16-bit integers."""
    data = np.random.default_rng(11).integers(0, 4096, (64, 96), dtype=np.uint16)
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(16, 32), dtype="u2")[:] = data
    script = textwrap.dedent(f"""
        import json, sys, time
        import numpy as np
        from polystore_gui.model import array_stats, count_loop, value_counts
        from polystore_gui.model.whole_array import open_target
        counted = []
        real = count_loop.CountLoop.__call__
        def spy(self, values, base, out):  # the chunks' counts (warm's tries count one value)
            if values.size > 1:
                counted.append(values.size)
            return real(self, values, base, out)
        count_loop.CountLoop.__call__ = spy
        array_stats.COMPILED_FROM = 0  # the loop used however small the array
        target = open_target("zarr", {str(tmp_path / "a")!r})
        cpu = time.process_time()
        value_counts.warm(np.dtype("uint16"))
        cpu = time.process_time() - cpu
        s = array_stats.array_statistics(target)["stats"]
        print(json.dumps({{"numba": "numba" in sys.modules, "counted": sum(counted), "build_cpu": cpu,
                          "min": s["min"], "max": s["max"], "count": s["count"]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["numba"] is False
    assert found["counted"] == data.size  # every element by the compiled loop
    assert (found["min"], found["max"], found["count"]) == (int(data.min()), int(data.max()), data.size)
    assert found["build_cpu"] < 0.25  # numba's load: 0.45 s of CPU


def test_threads_asking_at_once_share_one_build(monkeypatch):
    """Every thread counting at the start waits for the one build (tens of milliseconds)
    and then counts with the compiled loop."""
    import threading

    _fresh(monkeypatch)
    builds = []
    real_build = value_counts.count_loop.build
    monkeypatch.setattr(value_counts.count_loop, "build", lambda: builds.append(1) or real_build())
    x = _data("uint16", shape=(300, 200), seed=13)
    want_offset, want = _reference(x)
    results = []
    threads = [threading.Thread(target=lambda: results.append(count_small_integers(x, compiled=True)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert builds == [1]
    assert len(results) == 4
    for offset, counts in results:
        assert offset == want_offset
        np.testing.assert_array_equal(counts, want)


def test_without_llvm_counts_come_from_numpy(no_llvm):
    x = _data("uint16", seed=6)
    assert not compiled_available()
    assert not warm(x.dtype)
    offset, counts = count_small_integers(x, compiled=True)
    want_offset, want = _reference(x)
    assert offset == want_offset
    np.testing.assert_array_equal(counts, want)


def _uint16_with_missing_chunks(tmp_path):
    rng = np.random.default_rng(7)
    a = zarr.create_array(tmp_path / "a", shape=(70, 45), chunks=(16, 16), dtype="u2", fill_value=9)
    a[:32, :32] = rng.integers(100, 60000, (32, 32), dtype=np.uint16)
    a[64:, 40:] = 65535
    return a[:]


def test_large_arrays_are_counted_compiled_and_stay_exact(tmp_path, compiled_calls):
    data = _uint16_with_missing_chunks(tmp_path)
    result = _stats(tmp_path / "a")
    _check_exact(result["stats"], data)
    assert sum(compiled_calls) >= data.size  # every element went through the compiled loop


def test_small_arrays_are_counted_by_numpy(tmp_path, compiled_calls, monkeypatch):
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 70 * 45 + 1)
    data = _uint16_with_missing_chunks(tmp_path)
    _check_exact(_stats(tmp_path / "a")["stats"], data)
    assert compiled_calls == []


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "bool"])
def test_compiled_statistics_of_every_small_dtype(tmp_path, compiled_calls, dtype):
    data = _data(dtype, shape=(33, 20), seed=8)
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 7), dtype=dtype)[:] = data
    s = _stats(tmp_path / "a", bins=17)["stats"]
    _check_exact(s, data.astype(np.int64) if dtype == "bool" else data, bins=17)
    assert compiled_calls


def test_compiled_statistics_per_channel(tmp_path, compiled_calls):
    from ome_zarr.writer import write_image

    data = _data("int16", shape=(3, 4, 32, 32), seed=9)
    group = zarr.open_group(tmp_path / "img.zarr", mode="w")
    write_image(data, group, axes="czyx", scale_factors=[2], storage_options={"chunks": (2, 2, 16, 16)})
    result = _stats(tmp_path / "img.zarr")
    for c in result["channels"]:
        _check_exact(c, data[c["channel"]])
    assert compiled_calls


def test_statistics_without_llvm_stay_exact(tmp_path, no_llvm, monkeypatch):
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    data = _uint16_with_missing_chunks(tmp_path)
    _check_exact(_stats(tmp_path / "a")["stats"], data)


def test_a_loop_that_fails_leaves_numpy_counting(monkeypatch):
    """The loop builds but fails to run (as LLVM pieces missing in a bundle would): the
    counts come from numpy, with no error."""
    _fresh(monkeypatch)

    def broken(*args):
        raise RuntimeError("LLVM ERROR: no target")

    monkeypatch.setattr(value_counts, "_kernel", [broken])
    x = _data("uint16", seed=12)
    assert not warm(x.dtype)
    assert not compiled_available()
    offset, counts = count_small_integers(x, compiled=True)
    want_offset, want = _reference(x)
    assert offset == want_offset
    np.testing.assert_array_equal(counts, want)


def test_a_loop_with_no_source_file_is_compiled_without_a_cache():
    """numba caches machine code beside the source file or in the user's cache; code with no
    source file (a frozen bundle's) cannot be cached: it is compiled in each process."""
    namespace = {}
    exec("def twice(values, out):\n    for i in range(values.size):\n        out[i] = 2 * values[i]\n", namespace)
    loop = value_counts.jit(namespace["twice"])
    out = np.zeros(3)
    loop(np.arange(3.0), out)
    np.testing.assert_array_equal(out, [0, 2, 4])


def test_big_endian_values_use_the_compiled_loops_and_never_turn_them_off():
    """numba compiles no loop for a byte-swapped dtype (zarr v2's '>u2', '>f4'): warming
    for one turned the compiled loops off for the whole process, and a big-endian chunk
    given to a loop compiled for the native dtype raised numba's TypingError (the
    statistics failed with its traceback)."""
    pytest.importorskip("numba")
    from polystore_gui.model import float_bins, float_moments, value_counts

    ints = np.arange(-300, 700, dtype=">i2")
    floats = np.linspace(-5, 5, 1001).astype(">f4")
    assert value_counts.warm(np.dtype("<i2")) and float_moments.warm(np.dtype("<f4"))
    assert float_bins.warm(np.dtype("<f4"))
    offset, counts = value_counts.count_small_integers(ints, compiled=True)
    assert offset == -300 and (counts == 1).all()
    native = floats.astype("<f4")
    assert float_moments.moments(floats, compiled=True) == float_moments.moments(native, compiled=True)
    assert [list(h) for h in float_bins.histograms(floats, (7,), -5.0, 5.0, compiled=True)] == [
        list(np.histogram(native, 7, (-5.0, 5.0))[0])]
    assert value_counts.warm(np.dtype(">u2")) and float_moments.warm(np.dtype(">f4"))
    assert float_bins.warm(np.dtype(">f8"))
    assert value_counts.warm(np.dtype("<u2")) and float_moments.warm(np.dtype("<f4"))
    assert float_bins.warm(np.dtype("<f4"))


@pytest.mark.parametrize("compiled", [True, False])
def test_compiled_counts_read_several_chunks_per_task(tmp_path, compiled_calls, monkeypatch, compiled):
    """Tasks were sized for numpy's 8-byte working copies (intp) even when the compiled loop
    counts in place, so a uint16 array of 2 MiB chunks ran one dask task per chunk: dask's
    per-task work was 0.15-0.25 s of CPU on 1 GiB, about a tenth of the decode. Counted
    compiled, a task reads 4x the elements (the values' own 2 bytes); counted by numpy it
    stays one chunk; the statistics are exact either way."""
    from polystore_gui.model import whole_array

    if not compiled:
        monkeypatch.setattr(array_stats, "COMPILED_FROM", 1 << 62)
    monkeypatch.setattr(whole_array, "TASK_BYTES", 16 * 16 * 8 * 2 - 1)  # under 2 chunks of 8-byte copies
    data = np.random.default_rng(14).integers(0, 60000, (64, 128), dtype=np.uint16)
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(16, 16), dtype="u2")[:] = data
    reports = []
    result = array_statistics_with_progress(tmp_path / "a", reports)
    _check_exact(result["stats"], data)
    tasks = len(reports)
    assert reports[-1] == ("reading", 32, 32)
    assert tasks == (8 if compiled else 32)
    assert (sum(compiled_calls) >= data.size) if compiled else not compiled_calls


def array_statistics_with_progress(path, reports):
    from polystore_gui.model.whole_array import Engine, open_target

    return array_stats.array_statistics(open_target("disk", str(path)), engine=Engine(num_workers=2),
                                        progress=lambda *step: reports.append(step))


def test_the_loop_itself_counts_every_width_and_refuses_what_it_cannot_read():
    """count_loop's machine code: the counts of both ends of every 8/16-bit dtype's range,
    the first and last non-zero index, nothing counted for no values, and a clear error
    (never a wild write) for values or counts of the wrong shape."""
    from polystore_gui.model import count_loop

    loop = count_loop.build()
    assert loop is not None
    for dtype in ["uint8", "int8", "uint16", "int16"]:
        x = _data(dtype, shape=(1000,), seed=15)
        bits = 8 * x.dtype.itemsize
        base = int(np.iinfo(dtype).min)
        out = np.zeros(1 << bits, dtype=np.int64)
        first, last = loop(x, base, out)
        np.testing.assert_array_equal(out, np.bincount(x.astype(np.int64) - base, minlength=1 << bits))
        assert (first, last) == (0, (1 << bits) - 1)  # both ends of the range are in _data
        out[:] = 0
        assert loop(np.array([5, 9, 5], dtype=dtype), base, out) == (5 - base, 9 - base)
        assert loop(np.empty(0, dtype=dtype), base, np.zeros(1 << bits, dtype=np.int64)) == (0, 0)
    with pytest.raises(TypeError, match="1-D contiguous"):
        loop(np.zeros(8, dtype=np.uint16)[::2], 0, np.zeros(65536, dtype=np.int64))
    with pytest.raises(TypeError, match="1-D contiguous"):
        loop(np.zeros(8, dtype=np.int32), 0, np.zeros(65536, dtype=np.int64))
    with pytest.raises(ValueError, match="from 0 or from the signed minimum"):
        loop(np.zeros(8, dtype=np.int16), -5, np.zeros(65536, dtype=np.int64))
    with pytest.raises(ValueError, match="65536 writable int64"):
        loop(np.zeros(8, dtype=np.uint16), 0, np.zeros(256, dtype=np.int64))


def test_the_loop_counts_unaligned_values_and_refuses_a_base_of_the_other_signedness():
    """Values at an odd address (a view into a byte buffer) are counted exactly; a base
    that does not match the values' signedness (which would report other values than
    those counted) is refused with a clear error."""
    from polystore_gui.model import count_loop

    loop = count_loop.build()
    assert loop is not None
    raw = np.random.default_rng(19).integers(0, 256, 2 * 5000 + 1, dtype=np.uint8).tobytes()
    x = np.frombuffer(raw, dtype=np.int16, offset=1, count=5000)
    assert not x.flags.aligned
    out = np.zeros(65536, dtype=np.int64)
    loop(x, -32768, out)
    np.testing.assert_array_equal(out, np.bincount(x.astype(np.int64) + 32768, minlength=65536))
    with pytest.raises(ValueError, match="counts uint8 from 0, not from -128"):
        loop(np.zeros(8, dtype=np.uint8), -128, np.zeros(256, dtype=np.int64))
    with pytest.raises(ValueError, match="counts int8 from the signed minimum, not from 0"):
        loop(np.zeros(8, dtype=np.int8), 0, np.zeros(256, dtype=np.int64))
