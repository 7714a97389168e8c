"""Conversion to OME-Zarr (issue 18): the output validates with ome-zarr-models, reads back
with zarr-python and ome-zarr-py, level 0 holds the source's values, each level is the 2x2
mean of the one before, and the write is atomic (nothing at DEST unless complete)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model.convert import convert, plan_conversion
from polystore_gui.model.whole_array import Cancelled, Engine, WholeArrayError

ENGINE = Engine(num_workers=2)


def _halved(level: np.ndarray, y: int, x: int) -> np.ndarray:
    """The next level computed independently: pad odd edges, 2x2 means, integers rounded."""
    pad = [(0, 0)] * level.ndim
    pad[y] = (0, level.shape[y] % 2)
    pad[x] = (0, level.shape[x] % 2)
    p = np.pad(level, pad, mode="edge").astype(np.float64)
    p = (p.take(range(0, p.shape[y], 2), axis=y) + p.take(range(1, p.shape[y], 2), axis=y))
    p = (p.take(range(0, p.shape[x], 2), axis=x) + p.take(range(1, p.shape[x], 2), axis=x)) / 4
    return (np.rint(p) if level.dtype.kind in "iu" else p).astype(level.dtype)


def _no_leftovers(folder):
    assert not [n for n in os.listdir(folder) if n.startswith(".")], os.listdir(folder)


def _read_with_ome_zarr_py(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    nodes = list(Reader(parse_url(str(path)))())
    return [np.asarray(level) for level in nodes[0].data]


def test_v2_array_to_sharded_ome_zarr_05(tmp_path):
    from ome_zarr_models.v05.image import Image

    data = np.random.default_rng(41).integers(0, 60000, (3, 301, 257)).astype("u2")
    zarr.create_array(tmp_path / "src", shape=data.shape, chunks=(1, 64, 64), dtype="u2", zarr_format=2)[:] = data
    plan = plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), chunks=(64, 64),
                           shards=(128, 128), levels=3)
    report = convert(plan, engine=ENGINE)
    assert report["verified"] and report["levels"] == [[3, 301, 257], [3, 151, 129], [3, 76, 65]]

    group = zarr.open_group(tmp_path / "out.zarr", mode="r")
    image = Image.from_zarr(group)  # ome-zarr-models validates the metadata and the arrays
    assert [a.name for a in image.attributes.ome.multiscales[0].axes] == ["z", "y", "x"]
    assert group["0"].shards == (1, 128, 128) and group["0"].metadata.zarr_format == 3
    expected = data
    for level in range(3):
        np.testing.assert_array_equal(group[str(level)][:], expected)
        expected = _halved(expected, 1, 2)
    for got, level in zip(_read_with_ome_zarr_py(tmp_path / "out.zarr"), range(3)):
        np.testing.assert_array_equal(got, group[str(level)][:])
    _no_leftovers(tmp_path)


def test_tiff_to_ome_zarr_04_in_ngff_axis_order(tmp_path):
    from ome_zarr_models.v04.image import Image

    data = np.random.default_rng(42).random((4, 2, 50, 61)).astype("f4")  # Z, C, Y, X
    tifffile.imwrite(tmp_path / "in.tif", data, metadata={"axes": "ZCYX"}, tile=(16, 16))
    plan = plan_conversion("disk", str(tmp_path / "in.tif"), str(tmp_path / "out.zarr"), version="0.4", levels=2)
    report = convert(plan, engine=ENGINE)
    assert report["axes"] == ["c", "z", "y", "x"]
    assert any("OME-NGFF's order" in n for n in report["notes"])
    group = zarr.open_group(tmp_path / "out.zarr", mode="r")
    Image.from_zarr(group)
    assert group.metadata.zarr_format == 2
    level0 = np.transpose(data, (1, 0, 2, 3))
    np.testing.assert_array_equal(group["0"][:], level0)
    np.testing.assert_allclose(group["1"][:], _halved(level0, 2, 3), rtol=1e-6)
    np.testing.assert_array_equal(_read_with_ome_zarr_py(tmp_path / "out.zarr")[0], level0)
    _no_leftovers(tmp_path)


def test_ome_image_keeps_its_axes_units_and_scale(tmp_path):
    from ome_zarr.writer import write_image

    data = np.random.default_rng(43).integers(0, 255, (2, 40, 40)).astype("u1")
    write_image(data, zarr.open_group(tmp_path / "in.zarr", mode="w"), axes="cyx", scale_factors=[2],
                axes_units={"y": "micrometer", "x": "micrometer"}, scale={"c": 1.0, "y": 0.5, "x": 0.25})
    report = convert(plan_conversion("disk", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), levels=2),
                     engine=ENGINE)
    assert report["axes"] == ["c", "y", "x"]
    axes = zarr.open_group(tmp_path / "out.zarr", mode="r").attrs["ome"]["multiscales"][0]["axes"]
    assert axes[1] == {"name": "y", "type": "space", "unit": "micrometer"}
    datasets = zarr.open_group(tmp_path / "out.zarr", mode="r").attrs["ome"]["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"][0]["scale"] for d in datasets] == [[1.0, 0.5, 0.25], [1.0, 1.0, 0.5]]
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "out.zarr", mode="r")["0"][:], data)


def test_existing_destination_refused_unless_overwrite(tmp_path):
    zarr.create_array(tmp_path / "src", shape=(20, 20), chunks=(10, 10), dtype="u1")[:] = 7
    (tmp_path / "out.zarr").mkdir()
    (tmp_path / "out.zarr" / "keep.txt").write_text("mine")
    with pytest.raises(WholeArrayError, match="exists"):
        plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"))
    assert (tmp_path / "out.zarr" / "keep.txt").read_text() == "mine"
    convert(plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), overwrite=True), engine=ENGINE)
    assert not (tmp_path / "out.zarr" / "keep.txt").exists()
    assert (zarr.open_group(tmp_path / "out.zarr", mode="r")["0"][:] == 7).all()
    _no_leftovers(tmp_path)


def test_cancel_leaves_nothing_behind(tmp_path):
    zarr.create_array(tmp_path / "src", shape=(48, 512, 512), chunks=(16, 256, 256), dtype="u2")[:] = 3
    plan = plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), chunks=(256, 256), levels=2)
    seen = []
    with pytest.raises(Cancelled):
        convert(plan, engine=ENGINE, progress=lambda step, done, total: seen.append((done, total)),
                cancelled=lambda: len(seen) >= 1)
    assert seen and seen[0][0] < seen[0][1]  # stopped with blocks still to write
    assert not (tmp_path / "out.zarr").exists()
    _no_leftovers(tmp_path)


def _random_source(tmp_path, shape=(2, 96, 80), chunks=(1, 32, 32)):
    data = np.random.default_rng(44).integers(0, 60000, shape).astype("u2")
    zarr.create_array(tmp_path / "src", shape=data.shape, chunks=chunks, dtype="u2")[:] = data
    return data


def _level0_chunk(key):
    return key.startswith("0/c/")


def test_a_store_that_alters_what_it_is_given_is_caught(tmp_path, monkeypatch):
    """A store whose set() silently stores other (valid) bytes for level 0's chunks: every
    chunk becomes the first one written. The values read back differ from the source's:
    the conversion fails with a sentence and DEST is never made."""
    from zarr.storage import LocalStore

    _random_source(tmp_path)
    real_set = LocalStore.set
    first = {}

    async def altering_set(self, key, value):
        if _level0_chunk(key):
            value = first.setdefault("bytes", value)
        return await real_set(self, key, value)

    monkeypatch.setattr(LocalStore, "set", altering_set)
    plan = plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), chunks=(32, 32), levels=2)
    with pytest.raises(WholeArrayError, match="does not hold the source's values"):
        convert(plan, engine=ENGINE)
    assert not (tmp_path / "out.zarr").exists()
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("replacement", ["other values", "garbage"])
def test_a_chunk_changed_after_its_write_is_caught(tmp_path, monkeypatch, replacement):
    """The store writes what it is given, but something else replaces a level-0 chunk file
    right after (before the conversion could check it): with another chunk's valid bytes
    (values differ) or with bytes no codec can read. Either way the conversion fails with
    a sentence (no codec traceback) and DEST is never made."""
    from zarr.storage import LocalStore

    data = _random_source(tmp_path)
    other = zarr.create_array(tmp_path / "other", shape=(1, 32, 32), chunks=(1, 32, 32), dtype="u2")
    other[:] = data[:1, :32, :32] + 1
    stranger = (tmp_path / "other" / "c" / "0" / "0" / "0").read_bytes()
    if replacement == "garbage":
        stranger = b"\x28\xb5\x2f\xfd" + b"not a zstd frame" * 10
    real_set = LocalStore.set
    replaced = []

    async def set_then_replaced(self, key, value):
        await real_set(self, key, value)
        if _level0_chunk(key) and key.endswith("/1/1/1"):
            (self.root / key).write_bytes(stranger)
            replaced.append(key)

    monkeypatch.setattr(LocalStore, "set", set_then_replaced)
    plan = plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), chunks=(32, 32), levels=2)
    with pytest.raises(WholeArrayError, match="does not hold the source's values.*nothing was put in place"):
        convert(plan, engine=ENGINE)
    assert replaced
    assert not (tmp_path / "out.zarr").exists()
    _no_leftovers(tmp_path)


@pytest.mark.parametrize("shards", [None, (64, 64)])
def test_levels_made_in_memory_from_many_blocks_equal_the_chained_means(tmp_path, monkeypatch, shards):
    """Small blocks (a budget of 16 KiB) cut the image into many blocks per plane and the
    pyramid into several passes (levels made from a block in memory, then from the last
    level written): every level still equals the 2 x 2 means of the level before it over
    the whole array, odd edges included, and level 0 the source."""
    from polystore_gui.model import convert_blocks
    from polystore_gui.model.convert import conversion_passes

    data = np.random.default_rng(45).integers(0, 60000, (2, 301, 257)).astype("u2")
    zarr.create_array(tmp_path / "src", shape=data.shape, chunks=(1, 50, 60), dtype="u2")[:] = data
    monkeypatch.setattr(convert_blocks, "BLOCK_BYTES", 16 * 1024)
    plan = plan_conversion("disk", str(tmp_path / "src"), str(tmp_path / "out.zarr"), chunks=(16, 16),
                           shards=shards, levels=5)
    passes = conversion_passes(plan)
    assert len(passes) >= 2 and max(len(p.levels) for p in passes) >= 2
    assert [level for p in passes for level in p.levels] == list(range(5))
    report = convert(plan, engine=ENGINE)
    group = zarr.open_group(tmp_path / "out.zarr", mode="r")
    expected = data
    for level in range(5):
        assert list(group[str(level)].shape) == report["levels"][level]
        np.testing.assert_array_equal(group[str(level)][:], expected)
        expected = _halved(expected, 1, 2)
    _no_leftovers(tmp_path)


def test_a_plain_tiff_stack_converts_with_its_leading_axis_taken_as_z(tmp_path):
    """A multi-page TIFF without axis metadata (tifffile says QYX: the demo's z_stack.tif) is
    converted as the zarr arrays without names are, its axes taken by count, with a note."""
    data = np.random.default_rng(7).integers(0, 4000, (6, 40, 30), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "stack.tif", data, photometric="minisblack")
    with tifffile.TiffFile(tmp_path / "stack.tif") as tif:
        assert tif.series[0].axes == "QYX"
    plan = plan_conversion("disk", str(tmp_path / "stack.tif"), str(tmp_path / "out.zarr"), levels=1)
    report = convert(plan, engine=ENGINE)
    assert report["axes"] == ["z", "y", "x"]
    assert any("axes taken as z, y, x" in n and "QYX" in n for n in report["notes"])
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "out.zarr", mode="r")["0"][:], data)
    _no_leftovers(tmp_path)


def test_bad_requests_say_why(tmp_path):
    zarr.create_array(tmp_path / "src", shape=(20, 20), chunks=(10, 10), dtype="u1")
    zarr.create_array(tmp_path / "six", shape=(1,) * 6, chunks=(1,) * 6, dtype="u1")
    src, out = str(tmp_path / "src"), str(tmp_path / "out.zarr")
    with pytest.raises(WholeArrayError, match="zarr v3"):
        plan_conversion("disk", src, out, version="0.4", shards=(20, 20))
    with pytest.raises(WholeArrayError, match="multiples of the chunks"):
        plan_conversion("disk", src, out, chunks=(8, 8), shards=(12, 12))
    with pytest.raises(WholeArrayError, match="2 to 5 axes"):
        plan_conversion("disk", str(tmp_path / "six"), out)
    with pytest.raises(WholeArrayError, match="parent must exist"):
        plan_conversion("disk", src, str(tmp_path / "no" / "out.zarr"))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32"])
def test_integer_pyramid_levels_are_rounded_means_without_a_float_copy(dtype):
    """A level's 2 x 2 means of integers equal numpy's float64 mean rounded half to even
    (odd edges repeated), and are computed in a wider integer: the float64 copy of every
    block (8 bytes an element) made the pyramid the slowest step of bench_whole_array's
    conversion, 2x ome-zarr-py's write_image."""
    import tracemalloc

    from polystore_gui.model.convert_blocks import downsample

    info = np.iinfo(dtype)
    rng = np.random.default_rng(4)
    for shape in ((3, 64, 66), (2, 33, 35)):
        block = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
        padded = np.pad(block, [(0, 0), (0, shape[1] % 2), (0, shape[2] % 2)], mode="edge")
        means = padded.astype(np.float64).reshape(shape[0], padded.shape[1] // 2, 2, padded.shape[2] // 2, 2)
        expected = np.rint(means.mean(axis=(2, 4))).astype(dtype)
        np.testing.assert_array_equal(downsample(block, (1, 2)), expected)
    if np.dtype(dtype).itemsize > 2:
        return  # 32-bit values are summed in int64: no smaller than the float64 copy
    big = rng.integers(info.min, info.max, size=(1, 1024, 1024), dtype=dtype, endpoint=True)
    tracemalloc.start()
    try:
        downsample(big, (1, 2))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 6.5 * big.size  # the float64 route: at least 8 bytes an element, plus its means


def test_the_read_back_compares_values_bit_for_bit_in_any_byte_order():
    """Level 0's check counts a NaN as equal to itself, tells -0.0 from 0.0 (as the content
    checksum does) and compares big-endian source values with little-endian written ones."""
    from polystore_gui.model.convert_blocks import same_values

    floats = np.array([[0.0, np.nan, 1.5]], dtype="f4")
    assert same_values(floats, floats.copy(), "<f4")
    assert not same_values(floats, np.array([[-0.0, np.nan, 1.5]], dtype="f4"), "<f4")
    big = np.arange(12, dtype=">u2").reshape(3, 4)
    assert same_values(big, big.astype("<u2"), "<u2")
    assert not same_values(big, big.astype("<u2") + 1, "<u2")
    assert not same_values(big, big[:2], "<u2")
    assert same_values(np.ones((2, 3), "c16"), np.ones((2, 3), "c16"), "<c16")
