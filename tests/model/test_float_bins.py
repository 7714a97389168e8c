"""Float histograms of the second statistics pass (issue 18): the compiled loop gives
numpy's bins exactly (values on edges, NaN, infinities, a single value), its numpy fallback
too, and exact statistics of float arrays stay as numpy's whichever counts."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from polystore_gui.model import array_stats, float_bins
from polystore_gui.model.float_bins import histograms, warm

from .test_array_stats import _check_float, _stats

FLOATS = ["float32", "float64"]


def _numpy(values, bins, low, high):
    finite = values[np.isfinite(values)]
    return np.histogram(finite, bins=bins, range=(low, high))[0]


def _range(values):
    finite = values[np.isfinite(values)]
    return float(finite.min()), float(finite.max())


def _on_edges(dtype, seed):
    """Normal values, half of them moved exactly onto the fine bins' edges."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=4000).astype(dtype)
    edges = np.histogram_bin_edges(np.empty(0, dtype=dtype), bins=65536, range=_range(x))
    x[:2000] = rng.choice(edges, 2000)
    x[::97], x[5], x[6] = np.nan, np.inf, -np.inf
    return x


@pytest.fixture
def no_numba(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(float_bins._LOOP, "_compiled", [])


@pytest.fixture
def compiled_calls(monkeypatch):
    """Float statistics of any size bin in the compiled loop; its calls are recorded."""
    assert warm(np.dtype("float32")) and warm(np.dtype("float64")), "numba is a dependency"
    real = float_bins._LOOP.get()
    calls = []

    def spy(values, *rest):
        calls.append(values.size)
        return real(values, *rest)

    monkeypatch.setattr(float_bins._LOOP, "_compiled", [spy])
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    return calls


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("bins", [1, 17, 256, 65536])
@pytest.mark.parametrize("compiled", [True, False])
def test_bins_are_numpys_even_on_the_edges(dtype, bins, compiled):
    x = _on_edges(dtype, seed=bins)
    low, high = _range(x)
    assert warm(x.dtype)
    np.testing.assert_array_equal(histograms(x, (bins,), low, high, compiled)[0], _numpy(x, bins, low, high))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=1, max_size=60),
       bins=st.integers(1, 300), wide=st.booleans())
def test_any_values_give_numpys_bins(values, bins, wide):
    x = np.array(values, dtype=np.float64 if wide else np.float32)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return
    low, high = _range(x)
    try:
        want = _numpy(x, bins, low, high)
    except ValueError:  # numpy cannot make that many distinct edges over so narrow a range
        return
    assert warm(x.dtype)
    np.testing.assert_array_equal(histograms(x, (bins,), low, high, compiled=True)[0], want)


def test_one_value_is_binned_as_numpy_widens_its_range():
    x = np.full(50, 3.25, dtype=np.float32)
    assert warm(x.dtype)
    got = histograms(x, (4, 65536), 3.25, 3.25, compiled=True)
    for counts, bins in zip(got, (4, 65536)):
        np.testing.assert_array_equal(counts, np.histogram(x, bins=bins, range=(3.25, 3.25))[0])


def test_compiled_bins_make_no_copy_of_the_values():
    """numpy's histogram takes a keep mask, a cast, a float index array and corrections:
    15 ns an element for the pass's two histograms, three to four times zstd's decoding.
    The compiled loop reads the values once and allocates only the counts."""
    x = np.random.default_rng(3).normal(size=(1024, 1024)).astype(np.float32)
    low, high = _range(x)
    assert warm(x.dtype)
    tracemalloc.start()
    try:
        fine, coarse = histograms(x, (65536, 256), low, high, compiled=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 3 * 65536 * 8
    np.testing.assert_array_equal(coarse, _numpy(x, 256, low, high))


def test_float16_and_integers_are_binned_by_numpy():
    assert not warm(np.dtype("float16")) and not warm(np.dtype("int32"))
    x = np.random.default_rng(4).normal(size=500).astype(np.float16)
    low, high = _range(x)
    np.testing.assert_array_equal(histograms(x, (32,), low, high, compiled=True)[0], _numpy(x, 32, low, high))


def test_without_numba_bins_come_from_numpy(no_numba):
    x = _on_edges("float32", seed=5)
    low, high = _range(x)
    assert not warm(x.dtype)
    np.testing.assert_array_equal(histograms(x, (256,), low, high, compiled=True)[0], _numpy(x, 256, low, high))


def _float_with_nans_and_missing_chunks(tmp_path):
    rng = np.random.default_rng(4)
    a = zarr.create_array(tmp_path / "f", shape=(50, 40), chunks=(10, 10), dtype="f4", fill_value=-1.5)
    block = rng.normal(3, 2, (30, 40)).astype("f4")
    block[rng.random(block.shape) < 0.05] = np.nan
    block[0, :3] = np.inf
    a[:30] = block  # two rows of chunks missing: -1.5 there
    return a[:]


def test_compiled_float_statistics(tmp_path, compiled_calls):
    data = _float_with_nans_and_missing_chunks(tmp_path)
    s = _stats(tmp_path / "f", bins=64)["stats"]
    finite = data[np.isfinite(data)]
    assert s["max"] == np.inf and s["nan_count"] == int(np.isnan(data).sum())
    assert s["histogram"]["counts"] == np.histogram(finite, bins=64, range=(finite.min(), finite.max()))[0].tolist()
    assert sum(compiled_calls) >= 2 * data.size  # both histograms of every chunk, compiled


def test_compiled_float64_statistics_equal_numpys(tmp_path, compiled_calls):
    data = np.random.default_rng(9).normal(5, 3, (37, 29))
    data[3, 4] = np.nan
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 8), dtype="f8")[:] = data
    _check_float(_stats(tmp_path / "a", bins=33)["stats"], data, bins=33)
    assert compiled_calls


def test_float_statistics_without_numba(tmp_path, no_numba, monkeypatch):
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    data = np.random.default_rng(10).normal(size=(20, 20)).astype("f4")
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 8), dtype="f4")[:] = data
    _check_float(_stats(tmp_path / "a", bins=16)["stats"], data, bins=16)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_narrow_float32_range_is_binned_in_float64(tmp_path, monkeypatch, compiled):
    """float32 values 1000-1001: 65,536 fine bins are narrower than float32's spacing there,
    so numpy cannot make float32 edges ("Too many bins for data range", a traceback from
    `stats`). Such values are binned as float64, where the edges are distinct."""
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0 if compiled else 1 << 62)
    data = (1000 + np.random.default_rng(11).random((40, 30))).astype("f4")
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(16, 16), dtype="f4")[:] = data
    s = _stats(tmp_path / "a", bins=50)["stats"]
    wide = data.astype(np.float64)
    low, high = float(data.min()), float(data.max())
    assert s["histogram"]["counts"] == np.histogram(wide, bins=50, range=(low, high))[0].tolist()
    width = (high - low) / 65536
    assert s["percentile_bin_width"] == pytest.approx(width)
    for got, want in zip(s["percentiles"].values(), np.percentile(wide, [0.1, 1, 50, 99, 99.9])):
        assert abs(got - want) <= width * 1.0001


def test_a_range_too_narrow_even_for_float64_is_a_clear_error(tmp_path):
    from polystore_gui.model.whole_array import WholeArrayError

    data = np.array([[1e15, 1e15 + 1.0], [1e15 + 0.5, 1e15]])  # 65,536 bins of 1/65536 under float64's 0.125
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(1, 2), dtype="f8")[:] = data
    with pytest.raises(WholeArrayError, match="too narrow a range"):
        _stats(tmp_path / "a")
