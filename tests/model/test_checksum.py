"""Content checksums (issue 18): the same values give the same digest whatever the chunks,
shards, codecs, zarr format or byte order; one changed value changes it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, GzipCodec

from polystore_gui.model import checksum as checksum_module
from polystore_gui.model.checksum import checksum, tiling
from polystore_gui.model.whole_array import Engine, WholeArrayError


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """Tiles of 1,000 bytes: many tiles, none lined up with the chunks below."""
    monkeypatch.setattr(checksum_module, "TILE_BYTES", 1000)


def _digest(path):
    return checksum(str(path), engine=Engine(num_workers=2))["digest"]


def _copies(tmp_path, data):
    """The same values written six ways (chunks, shards, codecs, v2, big-endian v2)."""
    paths = []

    def make(name, **kw):
        a = zarr.create_array(tmp_path / name, shape=data.shape, dtype=kw.pop("dtype", data.dtype), **kw)
        a[:] = data
        paths.append(tmp_path / name)

    make("v3", chunks=(3, 7, 11))
    make("v3-other-chunks", chunks=(5, 5, 5), compressors=[GzipCodec()])
    make("sharded", chunks=(2, 4, 8), shards=(4, 8, 16), compressors=[BloscCodec()])
    make("one-chunk", chunks=data.shape)
    make("v2", chunks=(4, 9, 6), zarr_format=2)
    make("v2-big-endian", chunks=(6, 6, 6), zarr_format=2, dtype=data.dtype.newbyteorder(">"))
    return paths


def test_same_values_same_digest_whatever_the_storage(tmp_path):
    data = np.random.default_rng(31).integers(0, 65535, (9, 13, 17)).astype("u2")
    digests = {p.name: _digest(p) for p in _copies(tmp_path, data)}
    assert len(set(digests.values())) == 1, digests


def test_the_digest_is_the_c_order_stream_in_shape_tiles(tmp_path):
    """Computed again from numpy alone: header, then SHA-256 of each tile of the C-order bytes."""
    data = np.random.default_rng(32).normal(size=(4, 10, 30)).astype("f4")
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(3, 3, 7), dtype="f4")[:] = data
    t = tiling(data.shape, 4, 1000)
    assert (t.axis, t.rows) == (1, 8)  # 30 * 4 = 120 bytes a row, 8 rows a tile
    expected = hashlib.sha256(json.dumps({"dtype": "<f4", "shape": [4, 10, 30]}, sort_keys=True).encode())
    for i in range(4):
        for start in range(0, 10, 8):
            expected.update(hashlib.sha256(data[i, start:start + 8].tobytes()).digest())
    assert _digest(tmp_path / "a") == "sha256:" + expected.hexdigest()


def test_one_changed_value_changes_the_digest(tmp_path):
    data = np.arange(9 * 13 * 17, dtype="u2").reshape(9, 13, 17)
    zarr.create_array(tmp_path / "a", shape=data.shape, chunks=(4, 4, 4), dtype="u2")[:] = data
    before = _digest(tmp_path / "a")
    zarr.open_array(tmp_path / "a", mode="r+")[8, 12, 16] = 1
    assert _digest(tmp_path / "a") != before


def test_dtype_and_shape_are_part_of_the_digest(tmp_path):
    data = np.arange(24, dtype="u2")
    zarr.create_array(tmp_path / "u2", shape=(24,), chunks=(5,), dtype="u2")[:] = data
    zarr.create_array(tmp_path / "i2", shape=(24,), chunks=(5,), dtype="i2")[:] = data.astype("i2")
    zarr.create_array(tmp_path / "2d", shape=(4, 6), chunks=(2, 2), dtype="u2")[:] = data.reshape(4, 6)
    assert len({_digest(tmp_path / n) for n in ("u2", "i2", "2d")}) == 3


def test_missing_chunks_are_the_fill_value(tmp_path):
    a = zarr.create_array(tmp_path / "sparse", shape=(20, 20), chunks=(5, 5), dtype="u1", fill_value=4)
    a[:5, :5] = 1
    b = zarr.create_array(tmp_path / "dense", shape=(20, 20), chunks=(20, 20), dtype="u1", fill_value=0)
    b[:] = a[:]
    assert _digest(tmp_path / "sparse") == _digest(tmp_path / "dense")


def test_a_store_digest_lists_its_arrays_sorted(tmp_path):
    data = np.random.default_rng(33).integers(0, 255, (6, 7, 8)).astype("u1")
    for name, fmt, chunks in (("one", 3, (2, 3, 4)), ("two", 2, (6, 7, 8))):
        root = zarr.open_group(tmp_path / name, mode="w", zarr_format=fmt)
        root.create_group("b").create_array("img", shape=data.shape, chunks=chunks, dtype="u1")[:] = data
        root.create_array("a", shape=(3,), chunks=(2,), dtype="f8")[:] = [1.0, 2.0, 3.0]
    one = checksum(str(tmp_path / "one"))
    two = checksum(str(tmp_path / "two"))
    assert one["kind"] == "store" and [a["path"] for a in one["arrays"]] == ["a", "b/img"]
    assert one["digest"] == two["digest"]
    zarr.open_array(tmp_path / "two" / "a", mode="r+")[0] = 9.0
    assert checksum(str(tmp_path / "two"))["digest"] != one["digest"]


def test_not_zarr_says_why(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(WholeArrayError, match="not a zarr array or group"):
        checksum(str(tmp_path / "plain"))


# -- TIFFs (issue 18): a TIFF's checksum equals level 0 of the OME-Zarr it converts to ------------


def test_tiff_checksum_equals_level_0_of_its_conversion(tmp_path):
    """``checksum a.tif`` is the digest ``convert`` writes as level 0 (axes put in OME-NGFF
    order: ZCYX in the file, CZYX in the store), and a changed pixel changes it."""
    import tifffile

    from polystore_gui.model.convert import convert, plan_conversion

    data = np.arange(3 * 2 * 20 * 24, dtype=np.uint16).reshape(3, 2, 20, 24)
    tifffile.imwrite(tmp_path / "a.tif", data, metadata={"axes": "ZCYX"}, tile=(16, 16))
    found = checksum(str(tmp_path / "a.tif"), engine=Engine(num_workers=2))
    assert found["kind"] == "tiff"
    assert found["axes"] == ["c", "z", "y", "x"] and found["shape"] == [2, 3, 20, 24]
    assert found["series"] == 1 and "series 0" in found["compared"]
    convert(plan_conversion("disk", str(tmp_path / "a.tif"), str(tmp_path / "b.ome.zarr"), levels=2),
            engine=Engine(num_workers=2))
    level0 = checksum(str(tmp_path / "b.ome.zarr" / "0"), engine=Engine(num_workers=2))
    store = checksum(str(tmp_path / "b.ome.zarr"), engine=Engine(num_workers=2))
    assert found["digest"] == level0["digest"]
    assert found["digest"] == next(a["digest"] for a in store["arrays"] if a["path"] == "0")
    # the same values transposed to C-Z-Y-X by numpy, in a zarr array: the same digest
    z = zarr.create_array(tmp_path / "np.zarr", shape=(2, 3, 20, 24), chunks=(1, 2, 7, 9), dtype="uint16")
    z[:] = np.transpose(data, (1, 0, 2, 3))
    assert _digest(tmp_path / "np.zarr") == found["digest"]
    changed = data.copy()
    changed[2, 1, 19, 23] += 1
    tifffile.imwrite(tmp_path / "c.tif", changed, metadata={"axes": "ZCYX"}, tile=(16, 16))
    assert checksum(str(tmp_path / "c.tif"), engine=Engine(num_workers=2))["digest"] != found["digest"]


def test_tiff_checksum_cli_and_a_file_that_is_not_a_tiff(tmp_path, capsys):
    import tifffile

    from polystore_gui.cli import main

    tifffile.imwrite(tmp_path / "a.tif", np.ones((8, 9), dtype=np.uint8))
    assert main(["checksum", str(tmp_path / "a.tif"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "tiff" and out["shape"] == [8, 9] and out["dtype"] == "|u1"
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    assert main(["checksum", str(tmp_path / "bad.tif")]) == 1
    err = capsys.readouterr().err
    assert "cannot read as a TIFF" in err and "Traceback" not in err
