"""`cp` into zarr groups, arrays and memory, and `info` on consolidated groups, run as a user runs them."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import tifffile
import zarr

from .test_cli import run


def _consolidate(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not in the v3 spec yet
        zarr.consolidate_metadata(str(path))


@pytest.fixture
def image(tmp_path):
    data = np.arange(2 * 24 * 32, dtype=np.uint16).reshape(2, 24, 32)
    path = tmp_path / "image.ome.tif"
    tifffile.imwrite(path, data, photometric="minisblack")
    return path, data


def test_cp_into_the_memory_root_of_a_fresh_process_works(image):
    path, _ = image
    out = run("cp", str(path), "memory:/")
    assert out.returncode == 0, out.stderr
    assert "-> memory:/image.ome.tif" in out.stdout and "verified" in out.stdout


@pytest.mark.parametrize("fmt", [2, 3])
def test_cp_into_an_array_is_refused_with_the_reason(image, tmp_path, fmt):
    path, _ = image
    array = tmp_path / f"array_v{fmt}.zarr"
    zarr.create_array(str(array), shape=(4, 4), dtype="uint8", zarr_format=fmt)[:] = 3
    before = sorted(os.listdir(array))
    out = run("cp", str(path), f"zarr:{array}")
    assert out.returncode == 1
    assert "is a zarr array" in out.stderr and str(tmp_path) in out.stderr
    assert "verified" not in out.stdout
    assert sorted(os.listdir(array)) == before


@pytest.mark.parametrize("consolidated", [False, True], ids=["plain", "consolidated"])
@pytest.mark.parametrize("fmt", [2, 3])
def test_cp_into_a_group_leaves_a_member_zarr_lists_with_the_data(image, tmp_path, fmt, consolidated):
    path, data = image
    store = tmp_path / "g.zarr"
    zarr.open_group(str(store), mode="w", zarr_format=fmt).create_array("old", shape=(3,), dtype="int8")
    if consolidated:
        _consolidate(store)
    out = run("cp", str(path), f"zarr:{store}")
    assert out.returncode == 0, out.stderr
    assert f"written as a zarr v{fmt} array" in out.stdout
    group = zarr.open_group(str(store), mode="r")
    assert sorted(k for k, _ in group.members()) == ["image.ome.tif", "old"]
    np.testing.assert_array_equal(group["image.ome.tif"][...], data)
    info = json.loads(run("info", f"zarr:{store}", "--json").stdout)
    if consolidated:
        assert info["consolidated"]["fresh"] is True
        assert info["consolidated"]["members"]["image.ome.tif"] == {"kind": "array", "shape": [2, 24, 32],
                                                                    "dtype": "uint16"}
    else:
        assert info["consolidated"] is None


def test_cp_of_a_v3_array_into_a_v2_group_is_refused(tmp_path):
    zarr.create_array(str(tmp_path / "v3.zarr"), shape=(4,), dtype="uint8", zarr_format=3)
    store = tmp_path / "g2.zarr"
    zarr.open_group(str(store), mode="w", zarr_format=2)
    out = run("cp", f"zarr:{tmp_path / 'v3.zarr'}", f"zarr:{store}")
    assert out.returncode == 1
    assert "zarr v3 array" in out.stderr and "v2 group" in out.stderr
    assert sorted(os.listdir(store)) == [".zattrs", ".zgroup"]


def test_info_text_says_whether_a_group_is_consolidated_and_what_it_lacks(tmp_path):
    store = tmp_path / "g.zarr"
    zarr.open_group(str(store), mode="w", zarr_format=2).create_array("old", shape=(2, 8), dtype="uint8")
    out = run("info", f"zarr:{store}")
    assert out.returncode == 0, out.stderr
    assert any(line.split() == ["consolidated", "no"] for line in out.stdout.splitlines())
    _consolidate(store)
    zarr.create_array(str(store / "new"), shape=(3,), dtype="int32", zarr_format=2)
    out = run("info", f"zarr:{store}")
    assert f"consolidated  yes, stale ({store / '.zmetadata'})" in out.stdout
    assert "on disk, not listed: new" in out.stdout
    assert "old: array 2×8 uint8" in out.stdout
