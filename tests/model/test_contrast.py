"""Contrast limits from a bounded sample that finds the data (issue 13, item 7).

The arrays are written by zarr-python (and tifffile, numpy); each test checks that the
limits a preview opens with hold the data's real range, and that the read stays bounded.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model import contrast, lazy
from polystore_gui.model.lazy import open_preview

from ..fakes import CountingStore


def _holds(limits, lo, hi):
    """The limits hold the data's range [lo, hi] (the top within the 99.8th percentile)."""
    low, high = limits
    return low <= lo and high >= lo + 0.99 * (hi - lo)


@pytest.fixture
def sparse(tmp_path):
    """(64, 256, 256) uint16, chunks (1, 64, 64), fill 0: only planes 5 and 50 written
    (values 1000-2000 and 2000-3000); the middle plane (31) was never written."""
    rng = np.random.default_rng(0)
    a = zarr.create_array(str(tmp_path / "sparse.zarr"), shape=(64, 256, 256), chunks=(1, 64, 64),
                          dtype="uint16", fill_value=0)
    a[5] = rng.integers(1000, 2001, (256, 256), dtype=np.uint16)
    a[50] = rng.integers(2000, 3001, (256, 256), dtype=np.uint16)
    return tmp_path / "sparse.zarr"


def test_a_sparse_zarr_array_opens_with_its_datas_range(sparse):
    preview = open_preview("zarr", str(sparse))
    (layer,) = preview.layers
    assert _holds(layer.contrast_limits, 1000, 3000), layer.contrast_limits
    assert layer.contrast_placeholder == (False,)
    assert "contrast from 2 planes that hold data" in " ".join(open_preview("zarr", str(sparse)).notes)


def test_the_sample_reads_the_stored_planes_only_and_a_bounded_number_of_chunks(sparse):
    stores = []

    def wrap(store):
        stores.append(CountingStore(store))
        return stores[-1]

    lazy.set_store_wrapper(wrap)
    try:
        open_preview("zarr", str(sparse))
    finally:
        lazy.set_store_wrapper(None)
    chunk_keys = {k for s in stores for k in s.keys if k.startswith("c/")}
    planes = {int(k.split("/")[1]) for k in chunk_keys}
    # The middle plane (never written: its keys are asked for and missing), then planes 5
    # and 50, found by probing keys rather than by reading planes at random.
    assert planes <= {31, 5, 50}, sorted(planes)
    assert {5, 50} <= planes
    assert len(chunk_keys) <= 3 * 16  # three planes of 4 x 4 chunks


def test_a_sharded_sparse_array_finds_the_plane_inside_its_shard(tmp_path):
    """Shards 8 planes deep, one plane written: the shard's planes are sampled across."""
    a = zarr.create_array(str(tmp_path / "sharded.zarr"), shape=(32, 128, 128), chunks=(1, 64, 64),
                          shards=(8, 128, 128), dtype="float32", fill_value=np.nan)
    a[21] = np.linspace(-5.0, 5.0, 128 * 128, dtype=np.float32).reshape(128, 128)
    (layer,) = open_preview("zarr", str(tmp_path / "sharded.zarr")).layers
    low, high = layer.contrast_limits
    assert low <= -4.9 and high >= 4.9, layer.contrast_limits


def test_a_never_written_array_says_its_limits_are_a_placeholder(tmp_path):
    zarr.create_array(str(tmp_path / "empty.zarr"), shape=(8, 64, 64), chunks=(1, 64, 64), dtype="uint8", fill_value=3)
    (layer,) = open_preview("zarr", str(tmp_path / "empty.zarr")).layers
    assert layer.contrast_placeholder == (True,)
    assert layer.contrast_limits == (3.0, 4.0)


def test_without_a_probe_planes_spread_along_the_axes_are_sampled(tmp_path):
    """An NPY (no chunks to probe) whose middle plane is blank: evenly spread planes."""
    data = np.zeros((64, 96, 96), np.uint16)
    data[10:20] = np.arange(96 * 96, dtype=np.uint16).reshape(96, 96) % 500 + 100  # 100-599
    np.save(tmp_path / "stack.npy", data)
    (layer,) = open_preview("disk", str(tmp_path / "stack.npy")).layers
    assert _holds(layer.contrast_limits, 100, 599), layer.contrast_limits


def test_a_tiff_whose_middle_page_is_blank(tmp_path):
    data = np.zeros((9, 64, 64), np.uint16)
    data[0] = 4000
    data[0, :32] = 9000
    tifffile.imwrite(tmp_path / "blank-middle.tif", data, photometric="minisblack")
    preview = open_preview("disk", str(tmp_path / "blank-middle.tif"))
    try:
        (layer,) = preview.layers
        assert _holds(layer.contrast_limits, 4000, 9000), layer.contrast_limits
    finally:
        preview.close()


def test_a_dense_middle_plane_is_the_whole_sample(tmp_path):
    """The common case costs what it did: the middle plane's chunks only."""
    a = zarr.create_array(str(tmp_path / "dense.zarr"), shape=(5, 64, 64), chunks=(1, 64, 64), dtype="uint16")
    a[:] = np.arange(5 * 64 * 64, dtype=np.uint16).reshape(5, 64, 64)
    stores = []
    lazy.set_store_wrapper(lambda s: stores.append(CountingStore(s)) or stores[-1])
    try:
        open_preview("zarr", str(tmp_path / "dense.zarr"))
    finally:
        lazy.set_store_wrapper(None)
    assert {k for s in stores for k in s.keys if k.startswith("c/")} == {"c/2/0/0"}


def test_ome_channels_sampled_each_from_their_stored_planes(tmp_path):
    """An OME-NGFF image without omero windows: each channel's limits hold its data."""
    root = zarr.open_group(str(tmp_path / "img.ome.zarr"), mode="w", zarr_format=3)
    level = root.create_array("0", shape=(2, 16, 64, 64), chunks=(1, 1, 64, 64), dtype="uint16", fill_value=0)
    level[0, 2] = 500
    level[0, 2, :10] = 700
    level[1, 13] = 30000
    level[1, 13, :10] = 40000
    root.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
                 {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1, 1]}]}],
    }]}
    (image,) = open_preview("ome_zarr", str(tmp_path / "img.ome.zarr")).layers
    first, second = image.contrast_limits
    assert _holds(first, 500, 700), first
    assert _holds(second, 30000, 40000), second


def test_limits_of_leaves_the_fill_value_out_but_includes_it():
    sample = np.zeros(10_000, np.uint16)
    sample[:50] = np.arange(1000, 1050)
    assert contrast.limits_of(sample) is not None  # percentiles: all but the top are 0
    low, high = contrast.limits_of(sample, fill=0)
    assert low == 0 and high >= 1049 * 0.99
    assert contrast.limits_of(np.full(10, 5, np.uint8)) is None
    assert contrast.limits_of(np.array([np.nan, np.nan], np.float32)) is None


def test_a_sparse_sharded_array_written_by_tensorstore(tmp_path):
    """tensorstore's sharded zarr v3 writer (another implementation): only plane 45 of 48
    written; the middle shard holds nothing."""
    import tensorstore as ts  # in the test extras

    spec = {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(tmp_path / "ts.zarr")},
        "metadata": {
            "shape": [48, 128, 128], "data_type": "uint16", "fill_value": 0,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8, 128, 128]}},
            "codecs": [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": [1, 64, 64], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]}}],
        },
        "create": True,
    }
    array = ts.open(spec).result()
    plane = (np.arange(128 * 128, dtype=np.uint16).reshape(128, 128) % 1000) + 5000  # 5000-5999
    array[45].write(plane).result()
    (layer,) = open_preview("zarr", str(tmp_path / "ts.zarr")).layers
    assert _holds(layer.contrast_limits, 5000, 5999), layer.contrast_limits


@pytest.mark.parametrize("shape", [(300, 400), (9, 200, 300)], ids=["plane", "stack"])
def test_the_preview_and_the_persistent_viewer_give_an_array_the_same_limits(tmp_path, shape):
    """One contrast helper: an array with a few bright outliers opens with the same limits in
    the preview (from its zarr copy) and in the persistent viewer (streamed in memory), so
    it looks the same in both windows (the viewer once took min/max, the preview percentiles)."""
    from polystore_gui.viewer.server import contrast as viewer_contrast

    rng = np.random.default_rng(3)
    data = rng.normal(1000, 50, shape).astype(np.uint16)
    data.reshape(-1)[:: 997] = 60000  # hot pixels: min/max would hide the image behind them
    zarr.create_array(str(tmp_path / "a.zarr"), data=data, chunks=shape)
    (layer,) = open_preview("zarr", str(tmp_path / "a.zarr")).layers
    assert viewer_contrast(data) == tuple(layer.contrast_limits)
    assert layer.contrast_limits[1] < 60000  # the percentiles, not the outliers


def test_array_limits_of_a_blank_or_odd_array():
    assert contrast.array_limits(np.full((4, 4), 7, dtype=np.uint8)) == (7.0, 8.0)
    assert contrast.array_limits(np.zeros((3, 3), dtype=bool)) == (0.0, 1.0)
    assert contrast.array_limits(np.full((2, 2), np.nan)) == (0.0, 1.0)
    assert contrast.array_limits(np.zeros((0, 5), dtype=np.float32)) == (0.0, 1.0)
