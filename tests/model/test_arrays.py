"""info: metadata facts for arrays, groups, OME-NGFF images, files — and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from polystore_gui.model.arrays import inspect


def test_zarr_v3_sharded_array_facts(demo_dir):
    info = inspect("zarr", str(demo_dir / "stores" / "experiment.zarr" / "sharded"))
    assert info.kind == "array"
    assert info.shape == (4, 1024, 1024) and info.dtype == "uint16"
    assert info.chunks == (1, 128, 128) and info.shards == (1, 512, 512)
    assert info.zarr_format == 3 and info.fill_value == 0
    assert info.nbytes == 4 * 1024 * 1024 * 2
    assert info.codecs["compressors"][0]["name"] == "zstd"
    doc = info.as_json()
    json.dumps(doc)
    for key in ("kind", "shape", "dtype", "chunks", "shards", "zarr_format", "fill_value", "attributes"):
        assert key in doc


def test_zarr_v2_array_has_no_shards(tmp_path):
    arr = zarr.create_array(str(tmp_path / "v2"), shape=(10, 20), chunks=(5, 5), dtype="float32",
                            zarr_format=2, fill_value=np.nan)
    arr.attrs["units"] = "um"
    info = inspect("zarr", str(tmp_path / "v2"))
    assert info.zarr_format == 2 and info.shards is None and info.chunks == (5, 5)
    assert info.attributes == {"units": "um"}
    doc = info.as_json()
    assert doc["shards"] is None and doc["fill_value"] == "nan"
    json.dumps(doc)


def test_ome_ngff_summary(demo_dir):
    info = inspect("ome_zarr", str(demo_dir / "stores" / "experiment.zarr" / "image"))
    assert info.kind == "group"
    ome = info.ome
    assert ome is not None and ome.version == "0.5"
    assert [a[0] for a in ome.axes] == ["c", "z", "y", "x"]
    assert ome.axes[3][2] == "micrometer"
    assert [lv.shape for lv in ome.levels] == [(2, 8, 512, 512), (2, 8, 256, 256), (2, 8, 128, 128)]
    assert ome.levels[1].scale == (1.0, 2.0, 0.65, 0.65)
    assert [c.label for c in ome.channels] == ["nuclei", "membrane"]
    assert ome.channels[0].window == (0.0, 52000.0)
    assert ome.labels == ("nuclei",)


def test_files(demo_dir):
    tif = inspect("disk", str(demo_dir / "images" / "tiled_timelapse.ome.tif"))
    assert tif.kind == "array" and tif.shape == (10, 512, 512) and tif.chunks == (128, 128)
    assert tif.format == "ome-tiff"
    png = inspect("disk", str(demo_dir / "images" / "cells.png"))
    assert png.kind == "array" and png.shape == (256, 256) and png.dtype == "uint8"
    npy = inspect("disk", str(demo_dir / "tables" / "features.npy"))
    assert npy.shape == (16, 128, 128) and npy.dtype == "float32"
    csv = inspect("disk", str(demo_dir / "tables" / "measurements.csv"))
    assert csv.format == "csv" and csv.preview[0] == ["well", "site", "cell_count", "mean_intensity"]
    js = inspect("disk", str(demo_dir / "tables" / "experiment.json"))
    assert js.format == "json" and '"plate": "demo-plate-001"' in js.preview
    folder = inspect("disk", str(demo_dir / "images"))
    assert folder.kind == "directory" and folder.members == {"folders": 0, "files": 3}
    group = inspect("zarr", str(demo_dir / "stores" / "experiment.zarr"))
    assert group.kind == "group" and group.members == {"groups": 1, "arrays": 2}


def test_text_preview_is_capped(tmp_path):
    big = tmp_path / "log.txt"
    big.write_text("x" * 200_000)
    info = inspect("disk", str(big))
    assert info.truncated and len(info.preview) == 64 * 1024


def test_memory_array_info():
    from polystore_gui.model.listing import memory_backend

    memory_backend().ensure_directory("/info_test")
    memory_backend().save(np.zeros((3, 4, 5), np.int16), "/info_test/a")
    info = inspect("memory", "/info_test/a")
    assert info.kind == "array" and info.shape == (3, 4, 5) and info.dtype == "int16"
    assert inspect("memory", "/info_test").kind == "directory"


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,text", [("zarr.json", '{"zarr_format": 3,'), (".zarray", '{"shape": "no"}')]
)
def test_corrupt_zarr_metadata_is_reported(tmp_path, name, text):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / name).write_text(text)
    info = inspect("zarr", str(bad))
    assert info.error and "corrupt zarr metadata" in info.error


def test_a_tiff_that_is_not_a_tiff(tmp_path):
    fake = tmp_path / "fake.tif"
    fake.write_bytes(b"this is not a tiff at all" * 10)
    info = inspect("disk", str(fake))
    assert info.kind == "file" and info.error and "fake.tif" in info.error


def test_unknown_codec_keeps_the_metadata(tmp_path):
    arr = zarr.create_array(str(tmp_path / "odd"), shape=(4,), chunks=(2,), dtype="uint8")
    arr[:] = 1
    meta = json.loads((tmp_path / "odd" / "zarr.json").read_text())
    meta["codecs"].append({"name": "no_such_codec_xyz", "configuration": {}})
    (tmp_path / "odd" / "zarr.json").write_text(json.dumps(meta))
    info = inspect("zarr", str(tmp_path / "odd"))
    assert info.shape == (4,) and info.dtype == "uint8"
    assert info.error and "cannot open" in info.error
    assert "no_such_codec_xyz" in json.dumps(info.codecs)


@pytest.mark.parametrize(
    "shape,dtype",
    [((0, 5), "uint8"), ((7,), "float64"), ((3,), [("x", "<f4"), ("y", "<i2")])],
)
def test_odd_shapes_and_dtypes(tmp_path, shape, dtype):
    zarr.create_array(str(tmp_path / "a"), shape=shape, chunks=shape if 0 not in shape else (1, 5),
                            dtype=dtype, zarr_format=2)
    info = inspect("zarr", str(tmp_path / "a"))
    assert info.shape == shape
    json.dumps(info.as_json())


def test_vanished_file(tmp_path):
    """Typed by the user, it "does not exist"; a row that was listed "no longer exists"."""
    info = inspect("disk", str(tmp_path / "gone.tif"))
    assert info.error and "Does not exist" in info.error
    info = inspect("disk", str(tmp_path / "gone.tif"), listed=True)
    assert info.error and "No longer exists" in info.error
