"""Exact statistics of whole arrays (issue 18): every figure compared with numpy on the whole
array, read back as zarr reads it (missing chunks as the fill value)."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polystore_gui.model.array_stats import PERCENTILES, array_statistics
from polystore_gui.model.whole_array import Cancelled, Engine, WholeArrayError, open_target

QS = list(PERCENTILES)


def _stats(path, **kw):
    return array_statistics(open_target("disk", str(path)), engine=Engine(num_workers=2), **kw)


def _check_exact(s, data, bins=256):
    """Every statistic equals numpy's on ``data`` (an integer array with exact counts)."""
    assert s["count"] == data.size
    assert s["nan_count"] == 0
    assert s["min"] == data.min() and s["max"] == data.max()
    assert s["mean"] == pytest.approx(data.astype(np.float64).mean(), rel=1e-12, abs=1e-12)
    assert s["std"] == pytest.approx(data.astype(np.float64).std(), rel=1e-12, abs=1e-12)
    assert s["percentiles_exact"] is True
    assert list(s["percentiles"].values()) == pytest.approx(list(np.percentile(data, QS)), rel=1e-12, abs=1e-9)
    counts, edges = np.histogram(data, bins=bins, range=(data.min(), data.max()))
    assert s["histogram"]["counts"] == counts.tolist()
    assert s["histogram"]["edges"] == pytest.approx(edges.tolist())


def _check_float(s, data, bins=256):
    finite = data[np.isfinite(data)]
    assert s["count"] == data.size
    assert s["nan_count"] == int(np.isnan(data).sum())
    assert s["min"] == pytest.approx(float(np.nanmin(data)))
    assert s["max"] == pytest.approx(float(np.nanmax(data)))
    assert s["mean"] == pytest.approx(np.nanmean(data.astype(np.float64)), rel=1e-9, abs=1e-12)
    assert s["std"] == pytest.approx(np.nanstd(data.astype(np.float64)), rel=1e-9)
    assert s["percentiles_exact"] is False
    width = s["percentile_bin_width"]
    assert width == pytest.approx((finite.max() - finite.min()) / 65536)
    for got, want in zip(s["percentiles"].values(), np.percentile(finite, QS)):
        assert abs(got - want) <= width * 1.0001
    counts, _ = np.histogram(finite, bins=bins, range=(float(finite.min()), float(finite.max())))
    assert s["histogram"]["counts"] == counts.tolist()


def test_uint16_with_missing_chunks_counts_the_fill_value(tmp_path):
    rng = np.random.default_rng(1)
    a = zarr.create_array(tmp_path / "a", shape=(70, 45), chunks=(16, 16), dtype="u2", fill_value=9)
    a[:32, :32] = rng.integers(100, 60000, (32, 32), dtype=np.uint16)  # 4 of 15 chunks stored
    data = a[:]
    result = _stats(tmp_path / "a")
    _check_exact(result["stats"], data)
    assert result["missing"] == {"unit": "chunks", "count": 11, "of": 15,
                                 "note": "missing chunks are counted as the fill value"}
    assert result["fill_value"] == 9
    assert result["channels"] is None


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "bool"])
def test_small_integers_are_exact(tmp_path, dtype):
    rng = np.random.default_rng(2)
    info = np.iinfo(dtype) if dtype != "bool" else None
    data = (rng.integers(info.min, int(info.max) + 1, (33, 20)) if info else rng.integers(0, 2, (33, 20))).astype(dtype)
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(8, 7), dtype=dtype)[:] = data
    s = _stats(tmp_path / "a", bins=17)["stats"]
    _check_exact(s, data.astype(np.int64) if dtype == "bool" else data, bins=17)


def test_wide_integers_small_range_exact_large_range_binned(tmp_path):
    rng = np.random.default_rng(3)
    small = rng.integers(-1_000_000, -990_000, (30, 30)).astype("i4")
    zarr.create_array(tmp_path / "small", shape=small.shape, chunks=(7, 9), dtype="i4")[:] = small
    _check_exact(_stats(tmp_path / "small")["stats"], small)
    large = rng.integers(-2**40, 2**40, (30, 30)).astype("i8")
    zarr.create_array(tmp_path / "large", shape=large.shape, chunks=(7, 9), dtype="i8")[:] = large
    s = _stats(tmp_path / "large")["stats"]
    assert (s["min"], s["max"]) == (int(large.min()), int(large.max()))
    _check_float(s, large.astype(np.float64))


def test_float_with_nans_and_missing_chunks(tmp_path):
    rng = np.random.default_rng(4)
    a = zarr.create_array(tmp_path / "f", shape=(50, 40), chunks=(10, 10), dtype="f4", fill_value=-1.5)
    block = rng.normal(3, 2, (30, 40)).astype("f4")
    block[rng.random(block.shape) < 0.05] = np.nan
    a[:30] = block  # two rows of chunks missing: -1.5 there
    data = a[:]
    result = _stats(tmp_path / "f", bins=64)
    _check_float(result["stats"], data, bins=64)
    assert result["missing"]["count"] == 8


def test_all_nan_chunks_and_empty_arrays_give_no_values(tmp_path):
    zarr.create_array(tmp_path / "nan", shape=(10, 10), chunks=(5, 5), dtype="f8", fill_value=np.nan)
    s = _stats(tmp_path / "nan")["stats"]
    assert (s["count"], s["nan_count"], s["mean"], s["histogram"]) == (100, 100, None, None)


def test_sharded_v3_array(tmp_path):
    rng = np.random.default_rng(5)
    a = zarr.create_array(tmp_path / "s", shape=(64, 64), chunks=(8, 8), shards=(32, 32), dtype="u2", fill_value=0)
    a[:32, :32] = rng.integers(0, 4000, (32, 32))
    a[40:48, 40:48] = 12345  # one inner chunk in a second shard
    data = a[:]
    result = _stats(tmp_path / "s")
    _check_exact(result["stats"], data)
    assert result["missing"]["unit"] == "shards"
    assert (result["missing"]["count"], result["missing"]["of"]) == (2, 4)
    assert result["chunks_total"] == 64


def test_v2_array(tmp_path):
    rng = np.random.default_rng(6)
    a = zarr.create_array(tmp_path / "v2", shape=(20, 31), chunks=(6, 6), dtype="<f8", zarr_format=2, fill_value=0.0)
    a[:12] = rng.random((12, 31))
    _check_float(_stats(tmp_path / "v2")["stats"], a[:])


def test_ome_image_per_channel(tmp_path):
    """An image written by ome-zarr-py: statistics per channel of level 0 (the c axis)."""
    from ome_zarr.writer import write_image

    rng = np.random.default_rng(7)
    data = rng.integers(0, 1000, (3, 4, 32, 32)).astype("u2")
    data[1] += 5000
    group = zarr.open_group(tmp_path / "img.zarr", mode="w")
    write_image(data, group, axes="czyx", scale_factors=[2], storage_options={"chunks": (2, 2, 16, 16)})
    result = _stats(tmp_path / "img.zarr")
    assert result["axes"] == ["c", "z", "y", "x"] and result["channel_axis"] == 0
    assert result["stats"] is None
    assert [c["channel"] for c in result["channels"]] == [0, 1, 2]
    for c in result["channels"]:
        _check_exact(c, data[c["channel"]])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.tuples(st.integers(1, 23), st.integers(1, 23)), chunks=st.tuples(st.integers(1, 9), st.integers(1, 9)),
       seed=st.integers(0, 2**16))
def test_any_chunking_gives_numpys_figures(tmp_path_factory, shape, chunks, seed):
    path = tmp_path_factory.mktemp("h") / "a"
    data = np.random.default_rng(seed).integers(-300, 300, shape).astype("i2")
    zarr.create_array(path, shape=shape, chunks=chunks, dtype="i2")[:] = data
    _check_exact(_stats(path, bins=10)["stats"], data, bins=10)


def test_cancel_stops_between_chunks(tmp_path, monkeypatch):
    from polystore_gui.model import whole_array

    monkeypatch.setattr(whole_array, "TASK_BYTES", 100)  # a chunk a task
    zarr.create_array(tmp_path / "a", shape=(100, 100), chunks=(10, 10), dtype="u1", fill_value=1)
    seen = []

    def progress(step, done, total):
        seen.append(done)

    with pytest.raises(Cancelled):
        array_statistics(open_target("disk", str(tmp_path / "a")), engine=Engine(num_workers=1), progress=progress,
                         cancelled=lambda: len(seen) >= 3)
    assert 3 <= max(seen) < 100


def test_not_an_array_says_why(tmp_path):
    zarr.open_group(tmp_path / "g", mode="w")
    with pytest.raises(WholeArrayError, match="not an array"):
        open_target("disk", str(tmp_path / "g"))
    with pytest.raises(WholeArrayError, match="does not exist"):
        open_target("disk", str(tmp_path / "nothing"))
    with pytest.raises(WholeArrayError, match="whole-array work reads zarr arrays on disk"):
        open_target("memory", "/results")


def test_an_array_rewritten_at_the_same_path_is_read_anew(tmp_path):
    """The per-process cache of opened arrays (so workers open each array once) must not
    answer for an array replaced since (the GUI is a long-lived process)."""
    zarr.create_array(tmp_path / "a", shape=(10, 10), chunks=(5, 5), dtype="u1", fill_value=1)
    assert _stats(tmp_path / "a")["stats"]["count"] == 100
    data = np.arange(600, dtype="u2").reshape(20, 30)
    zarr.create_array(tmp_path / "a", shape=(20, 30), chunks=(7, 7), dtype="u2", overwrite=True)[:] = data
    _check_exact(_stats(tmp_path / "a")["stats"], data)


def test_infinities_count_in_the_extremes_not_in_the_histogram(tmp_path):
    data = np.random.default_rng(8).random((10, 10))
    data[0, 0], data[9, 9], data[5, 5] = np.inf, -np.inf, np.nan
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(5, 5), dtype="f8")[:] = data
    s = _stats(tmp_path / "a", bins=16)["stats"]
    finite = data[np.isfinite(data)]
    assert (s["min"], s["max"], s["nan_count"]) == (-np.inf, np.inf, 1)
    with np.errstate(invalid="ignore"):
        assert np.isnan(s["mean"]) and np.isnan(np.nanmean(data))  # inf - inf, as numpy's
    assert s["histogram"]["counts"] == np.histogram(finite, bins=16, range=(finite.min(), finite.max()))[0].tolist()


def test_small_chunks_are_read_several_to_a_task(tmp_path, monkeypatch):
    """Tasks read whole chunks, several at once when they are small (a task per tiny chunk
    cost a millisecond each in overhead); progress still counts chunks, and the figures
    are the same whatever the task size."""
    from polystore_gui.model import whole_array

    data = np.random.default_rng(9).integers(0, 60000, (12, 40, 40)).astype("u2")
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(1, 8, 8), dtype="u2")[:] = data
    assert whole_array.task_shape(data.shape, (1, 8, 8), 2, target=4096) == (1, 32, 40)
    for size in (100, 4096, 2**20):
        monkeypatch.setattr(whole_array, "TASK_BYTES", size)
        seen = []
        result = _stats(tmp_path / "a", progress=lambda step, done, total: seen.append((done, total)))
        _check_exact(result["stats"], data)
        assert seen[-1] == (300, 300)


def test_uint64_beyond_int64_with_a_small_range_is_exact(tmp_path):
    data = (np.uint64(2**64 - 70_000) + np.random.default_rng(10).integers(0, 60_000, (20, 20)).astype("u8"))
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(6, 6), dtype="u8")[:] = data
    s = _stats(tmp_path / "a", bins=8)["stats"]
    assert (s["min"], s["max"]) == (int(data.min()), int(data.max()))
    assert s["percentiles_exact"] is True
    assert list(s["percentiles"].values()) == pytest.approx(list(np.percentile(data, QS)), rel=1e-15)
    assert s["histogram"]["counts"] == np.histogram(data, bins=8, range=(data.min(), data.max()))[0].tolist()


def test_a_tiff_per_channel(tmp_path):
    """A TIFF written by tifffile (tiled): its first series through tifffile's zarr store,
    per channel along its C axis."""
    import tifffile

    data = np.random.default_rng(12).integers(0, 60000, (3, 50, 70)).astype("u2")
    data[2] //= 100
    tifffile.imwrite(tmp_path / "a.tif", data, metadata={"axes": "CYX"}, tile=(16, 16), photometric="minisblack")
    result = _stats(tmp_path / "a.tif")
    assert result["axes"] == ["c", "y", "x"] and result["channel_axis"] == 0
    for c in result["channels"]:
        _check_exact(c, data[c["channel"]])
    floats = np.random.default_rng(13).normal(size=(40, 30)).astype("f4")
    tifffile.imwrite(tmp_path / "f.tif", floats)
    _check_float(_stats(tmp_path / "f.tif")["stats"], floats)


@pytest.mark.parametrize("dtype", ["uint16", "int16", "int8"])
def test_per_value_counts_make_no_widened_copies(dtype):
    """The one-pass count of 8/16-bit chunks is a bincount of the values, not of a widened,
    shifted copy (that made counting 6x slower than zarr decoding the chunk, so exact
    statistics took 2.4x the decode floor in bench_whole_array). Measured as the memory
    the count allocates: bincount's own intp buffer is 8 bytes an element (and 2 for a
    signed chunk's unsigned view); the widened copies were at least 4 + 8. The counts
    themselves stay exact from the chunk's minimum."""
    import tracemalloc

    from polystore_gui.model.array_stats import _counts

    info = np.iinfo(dtype)
    x = np.random.default_rng(3).integers(info.min, info.max, size=(2048, 1024), dtype=dtype, endpoint=True)
    tracemalloc.start()
    try:
        offset, counts = _counts(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 10.5 * x.size + (1 << 20)
    assert offset == int(x.min())
    np.testing.assert_array_equal(counts, np.bincount((x.astype(np.int64) - offset).ravel()))
