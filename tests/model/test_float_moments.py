"""The first statistics pass over floats in a compiled loop (issue 18): NaN count, extremes
with and without infinities, mean and squared deviations as numpy gives them, and exact
statistics of float arrays unchanged whichever pass computed them."""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest
import zarr

from polystore_gui.model import array_stats, float_moments
from polystore_gui.model.array_stats import first_pass
from polystore_gui.model.float_moments import moments, warm

from . import test_array_stats as base
from .test_array_stats import _check_float, _stats


def _values(dtype, kind, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(7, 3, size=5000).astype(dtype)
    if kind == "nan":
        x[::13] = np.nan
    elif kind == "inf":
        x[3], x[8], x[::29] = np.inf, -np.inf, np.nan
    elif kind == "all-nan":
        x[:] = np.nan
    elif kind == "all-inf":
        x[:] = np.inf
        x[1] = np.nan
    elif kind == "one":
        x = x[:1]
    return x


def _numpy(x):
    v = x[~np.isnan(x)].astype(np.float64)
    finite = v[np.isfinite(v)]
    with np.errstate(invalid="ignore", over="ignore"):
        mean = v.mean() if v.size else 0.0
        m2 = np.square(v - mean).sum() if v.size else 0.0
    return (int(np.isnan(x).sum()), int(v.size), v.min() if v.size else None, v.max() if v.size else None,
            finite.min() if finite.size else None, finite.max() if finite.size else None, mean, m2)


@pytest.fixture
def compiled_calls(monkeypatch):
    assert warm(np.dtype("float32")) and warm(np.dtype("float64")), "numba is a dependency"
    real = float_moments._LOOP.get()
    calls = []

    def spy(values, out):
        calls.append(values.size)
        return real(values, out)

    monkeypatch.setattr(float_moments._LOOP, "_compiled", [spy])
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    return calls


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["plain", "nan", "inf", "one"])
def test_moments_are_numpys(dtype, kind):
    x = _values(dtype, kind)
    assert warm(x.dtype)
    got, want = moments(x, compiled=True), _numpy(x)
    assert got[:6] == want[:6]  # counts and extremes exactly
    for g, w in zip(got[6:], want[6:]):
        if np.isfinite(w):
            assert g == pytest.approx(w, rel=1e-12, abs=1e-12)
        else:  # an infinity among the values: inf or NaN, as numpy's
            assert (np.isnan(g) and np.isnan(w)) or g == w


@pytest.mark.parametrize("kind", ["all-nan", "all-inf"])
def test_no_finite_value(kind):
    x = _values("float32", kind)
    assert warm(x.dtype)
    got = moments(x, compiled=True)
    assert got[:2] == _numpy(x)[:2]
    assert got[4:6] == (None, None)


def test_the_compiled_pass_equals_numpys_pass():
    x = _values("float32", "inf", seed=3).reshape(50, 100)
    assert warm(x.dtype)
    a, b = first_pass(x), first_pass(x, compiled=True)
    assert (a.count, a.nan_count, a.n, a.min, a.max, a.finite_min, a.finite_max) == \
        (b.count, b.nan_count, b.n, b.min, b.max, b.finite_min, b.finite_max)


def test_compiled_pass_makes_no_copy_of_the_values():
    """numpy's pass makes a NaN mask, a NaN-free copy, a float64 copy, deviations and their
    squares (9 ns an element for float32); the compiled loop allocates nothing per element."""
    x = np.random.default_rng(4).normal(size=(1024, 1024)).astype(np.float32)
    x[::3] = np.nan
    assert warm(x.dtype)
    tracemalloc.start()
    try:
        p = first_pass(x, compiled=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 64 << 10
    assert p.nan_count == int(np.isnan(x).sum())


def test_other_dtypes_and_no_numba_fall_back(monkeypatch):
    assert not warm(np.dtype("float16"))
    assert moments(np.zeros(3, dtype=np.float16), compiled=True) is None
    assert moments(np.zeros(3, dtype=np.float32), compiled=False) is None
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setattr(float_moments._LOOP, "_compiled", [])
    assert not warm(np.dtype("float32"))
    assert moments(np.zeros(3, dtype=np.float32), compiled=True) is None


def test_compiled_float_statistics_with_nans_and_missing_chunks(tmp_path, compiled_calls):
    rng = np.random.default_rng(4)
    a = zarr.create_array(tmp_path / "f", shape=(50, 40), chunks=(10, 10), dtype="f4", fill_value=-1.5)
    block = rng.normal(3, 2, (30, 40)).astype("f4")
    block[rng.random(block.shape) < 0.05] = np.nan
    a[:30] = block
    data = a[:]
    _check_float(_stats(tmp_path / "f", bins=64)["stats"], data, bins=64)
    assert sum(compiled_calls) >= data.size


def test_compiled_statistics_of_infinities_and_all_nan(tmp_path, compiled_calls):
    """test_array_stats' cases of infinities and of NaN only, with the compiled pass."""
    for name in ("inf", "nan"):
        (tmp_path / name).mkdir()
    base.test_infinities_count_in_the_extremes_not_in_the_histogram(tmp_path / "inf")
    base.test_all_nan_chunks_and_empty_arrays_give_no_values(tmp_path / "nan")
    assert compiled_calls


def test_a_loop_numba_cannot_compile_leaves_numpys_passes(tmp_path, monkeypatch):
    """numba imports but its compilation fails (as in a bundle missing LLVM pieces): the
    statistics come from numpy's passes, with no error."""
    from polystore_gui.model import float_bins

    def broken(*args):
        raise RuntimeError("LLVM ERROR: no target")

    for module in (float_moments, float_bins):
        monkeypatch.setattr(module._LOOP, "_compiled", [broken])
    monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
    data = np.random.default_rng(13).normal(size=(20, 20)).astype("f4")
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 8), dtype="f4")[:] = data
    _check_float(_stats(tmp_path / "a", bins=16)["stats"], data, bins=16)
    assert float_moments._LOOP.get() is None and float_bins._LOOP.get() is None
