"""The exact per-value count of 8/16-bit integers (issue 18): the compiled loop (numba) and
its numpy fallback give the same counts, and exact statistics stay equal to numpy's on the
whole array whichever of the two counts."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest
import zarr

from polystore_gui.model import array_stats, value_counts
from polystore_gui.model.value_counts import compiled_available, count_small_integers

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


@pytest.fixture
def no_numba(monkeypatch):
    """numba cannot be imported (not installed, or LLVM failing to load in a bundle)."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(value_counts, "_kernel", [])


@pytest.fixture
def compiled_calls(monkeypatch):
    """Every array statistics run counts with the compiled loop; the loop's calls are recorded."""
    real = value_counts._compiled_kernel()
    assert real is not None, "numba is a dependency: the compiled loop must load"
    calls = []

    def spy(values, base, out):
        calls.append(values.size)
        real(values, base, out)

    monkeypatch.setattr(value_counts, "_kernel", [spy])
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    return calls


def test_numba_loads():
    assert compiled_available()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("compiled", [True, False])
def test_counts_are_exact(dtype, compiled):
    x = _data(dtype)
    offset, counts = count_small_integers(x, compiled=compiled)
    want_offset, want = _reference(x)
    assert offset == want_offset
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, want)


@pytest.mark.parametrize("compiled", [True, False])
def test_strided_and_multidimensional_values(compiled):
    x = _data("int16", shape=(6, 40, 50), seed=4)[:, ::3, 1::2]  # not contiguous
    offset, counts = count_small_integers(x, compiled=compiled)
    want_offset, want = _reference(x)
    assert offset == want_offset
    np.testing.assert_array_equal(counts, want)


def test_one_value_and_no_values():
    assert count_small_integers(np.full(10, 7, dtype=np.uint16), compiled=True)[0] == 7
    np.testing.assert_array_equal(count_small_integers(np.full(10, 7, dtype=np.uint16), compiled=True)[1], [10])
    assert count_small_integers(np.empty(0, dtype=np.uint16), compiled=True) == (0, None)


def test_wide_integers_are_refused():
    with pytest.raises(TypeError, match="8- and 16-bit"):
        count_small_integers(np.zeros(3, dtype=np.int32), compiled=True)


@pytest.mark.parametrize("dtype", ["uint16", "int16"])
def test_compiled_count_makes_no_copy_of_the_values(dtype):
    """numpy's bincount widens every value to intp (8 bytes an element, and holds the GIL
    while it counts: 2.2-2.5 ns an element, as long as zstd takes to decode it, so exact
    statistics took 1.3-2.1x the decode floor). The compiled loop counts in place: it
    allocates the 65,536 counts and nothing per element."""
    x = _data(dtype, shape=(2048, 1024), seed=5)
    count_small_integers(x[:2], compiled=True)  # loaded and compiled for this dtype first
    tracemalloc.start()
    try:
        offset, counts = count_small_integers(x, compiled=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 2 * 65536 * 8 + (64 << 10)
    assert (offset, counts.sum()) == (int(x.min()), x.size)


def test_without_numba_counts_come_from_numpy(no_numba):
    assert not compiled_available()
    x = _data("uint16", seed=6)
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


def test_statistics_without_numba_stay_exact(tmp_path, no_numba, monkeypatch):
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    data = _uint16_with_missing_chunks(tmp_path)
    _check_exact(_stats(tmp_path / "a")["stats"], data)
