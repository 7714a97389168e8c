"""A TIFF copied into zarr keeps its axes (issue 13, item 14): zarr 3 ``dimension_names``
from tifffile's series axes ('CYX' → c, y, x); in a zarr v2 group, where arrays have no
dimension names, xarray's ``_ARRAY_DIMENSIONS`` attribute. TIFFs written by tifffile."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.zarr_nodes import read_node

from .test_transfers import copy


@pytest.fixture
def tiffs(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    data = {
        "cyx.tif": (np.arange(3 * 16 * 20, dtype=np.uint16).reshape(3, 16, 20), ("c", "y", "x")),
        "hyperstack.tif": (np.arange(2 * 3 * 2 * 8 * 8, dtype=np.uint8).reshape(2, 3, 2, 8, 8),
                           ("t", "z", "c", "y", "x")),
        "cells.ome.tif": (np.arange(2 * 4 * 8 * 12, dtype=np.float32).reshape(2, 4, 8, 12), ("c", "z", "y", "x")),
    }
    tifffile.imwrite(src / "cyx.tif", data["cyx.tif"][0], photometric="minisblack", metadata={"axes": "CYX"})
    tifffile.imwrite(src / "hyperstack.tif", data["hyperstack.tif"][0], imagej=True, metadata={"axes": "TZCYX"})
    tifffile.imwrite(src / "cells.ome.tif", data["cells.ome.tif"][0], ome=True, metadata={"axes": "CZYX"})
    return src, data


def test_tiffs_copied_into_a_zarr_folder_have_dimension_names(tiffs, tmp_path):
    src, data = tiffs
    out = tmp_path / "out"
    out.mkdir()
    outcomes = copy([Address("disk", str(src / name)) for name in data], Address("zarr", str(out)))
    assert [o.status for o in outcomes] == ["done"] * 3, [o.message for o in outcomes]
    for name, (pixels, names) in data.items():
        array = zarr.open_array(str(out / name), mode="r")
        assert array.metadata.zarr_format == 3
        assert array.metadata.dimension_names == names, name
        np.testing.assert_array_equal(array[...], pixels)
        assert read_node(str(out / name)).zarr_format == 3
    assert any("dimension names c, y, x" in note for note in outcomes[0].notes)


@pytest.mark.parametrize("fmt", [2, 3])
def test_into_a_zarr_group_of_either_format(tiffs, tmp_path, fmt):
    src, data = tiffs
    store = tmp_path / "g.zarr"
    zarr.open_group(str(store), mode="w", zarr_format=fmt)
    (outcome,) = copy([Address("disk", str(src / "hyperstack.tif"))], Address("zarr", str(store)))
    assert outcome.status == "done", outcome.message
    member = zarr.open_group(str(store), mode="r")["hyperstack.tif"]
    np.testing.assert_array_equal(member[...], data["hyperstack.tif"][0])
    if fmt == 3:
        assert member.metadata.dimension_names == ("t", "z", "c", "y", "x")
    else:  # zarr v2 has no dimension names: xarray's convention
        assert member.attrs["_ARRAY_DIMENSIONS"] == ["t", "z", "c", "y", "x"]


def test_a_folder_of_tiffs_into_zarr_keeps_each_ones_axes(tiffs, tmp_path):
    src, data = tiffs
    (tmp_path / "dest").mkdir()
    (outcome,) = copy([Address("disk", str(src))], Address("zarr", str(tmp_path / "dest")))
    assert outcome.status == "done", outcome.message
    group = zarr.open_group(str(tmp_path / "dest" / "src"), mode="r")
    for name, (pixels, names) in data.items():
        member = group[name]
        np.testing.assert_array_equal(member[...], pixels)
        if member.metadata.zarr_format == 3:
            assert member.metadata.dimension_names == names
        else:
            assert member.attrs["_ARRAY_DIMENSIONS"] == list(names)


def test_arrays_that_are_no_tiff_get_no_names(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 3), np.int8))
    (tmp_path / "out").mkdir()
    (outcome,) = copy([Address("disk", str(tmp_path / "a.npy"))], Address("zarr", str(tmp_path / "out")))
    assert outcome.status == "done"
    assert zarr.open_array(str(tmp_path / "out" / "a.npy"), mode="r").metadata.dimension_names is None
    assert transfers  # the module under test


@pytest.mark.parametrize("fmt, version", [(2, "0.4"), (3, "0.5")])
def test_into_an_ome_zarr_group_the_axes_are_ome_ngffs(tmp_path, fmt, version):
    """An OME-Zarr destination: axes in OME-NGFF's order and names (t, c, z, y, x; RGB
    samples are channels), the data transposed to match; axes NGFF cannot name are kept."""
    src = tmp_path / "src"
    src.mkdir()
    stack = np.arange(2 * 3 * 2 * 8 * 8, dtype=np.uint8).reshape(2, 3, 2, 8, 8)
    tifffile.imwrite(src / "hyperstack.tif", stack, imagej=True, metadata={"axes": "TZCYX"})
    rgb = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    tifffile.imwrite(src / "rgb.tif", rgb, photometric="rgb")
    plain = np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)
    tifffile.imwrite(src / "plain.tif", plain, photometric="minisblack")  # axes QYX: q has no NGFF name
    store = tmp_path / "plate.zarr"
    multiscales = [{"axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
                    "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}]}]
    ome = {"version": version, "multiscales": multiscales}
    zarr.open_group(str(store), mode="w", zarr_format=fmt, attributes={"ome": ome} if fmt == 3 else ome)
    outcomes = copy([Address("disk", str(src / n)) for n in ("hyperstack.tif", "rgb.tif", "plain.tif")],
                    Address("zarr", str(store)))
    assert [o.status for o in outcomes] == ["done"] * 3, [o.message for o in outcomes]
    group = zarr.open_group(str(store), mode="r")

    def names(member):
        return member.metadata.dimension_names if fmt == 3 else tuple(member.attrs["_ARRAY_DIMENSIONS"])

    assert names(group["hyperstack.tif"]) == ("t", "c", "z", "y", "x")
    np.testing.assert_array_equal(group["hyperstack.tif"][...], stack.transpose(0, 2, 1, 3, 4))
    assert names(group["rgb.tif"]) == ("c", "y", "x")
    np.testing.assert_array_equal(group["rgb.tif"][...], rgb.transpose(2, 0, 1))
    assert names(group["plain.tif"]) == ("q", "y", "x")
    np.testing.assert_array_equal(group["plain.tif"][...], plain)
    assert any("OME-NGFF's order" in n for n in outcomes[0].notes)
    assert any("not OME-NGFF's" in n for n in outcomes[2].notes)
