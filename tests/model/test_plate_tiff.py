"""TIFF plates: TimePoint_N / ZStep_N subfolders gathered, a site opened as one stack."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from polystore_gui.model.plate_read import plate_at
from polystore_gui.model.plate_tiff import site_preview


def _tiff(path, value, shape=(12, 10), dtype=np.uint16):
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, np.full(shape, value, dtype))


def test_metaxpress_timepoint_folders_are_gathered(tmp_path):
    """MetaXpress writes plate/TimePoint_N/A01_s1_w1.tif (and ZStep_N inside for z): one
    plate, the folders giving the time point and z."""
    plate_folder = tmp_path / "MX plate"
    for t in (1, 2, 3):
        for well in ("A01", "B02"):
            for w in (1, 2):
                _tiff(plate_folder / f"TimePoint_{t}" / f"{well}_s1_w{w}.tif", t * 100 + w)
    for z in (1, 2):
        _tiff(plate_folder / "TimePoint_1" / f"ZStep_{z}" / "C03_s2_w1.tif", z)
    (plate_folder / "TimePoint_2" / "notes.txt").write_text("not an image")
    plate = plate_at("disk", str(plate_folder))
    assert plate is not None and plate.kind == "tiff-plate"
    wells = {w.name: w for w in plate.wells}
    assert sorted(wells) == ["A01", "B02", "C03"]
    (field,) = wells["A01"].fields
    assert len(field.files) == 6 and field.files[0] == str(plate_folder / "TimePoint_1" / "A01_s1_w1.tif")
    assert dict(wells["A01"].attributes)["time points"] == "3"
    (field,) = wells["C03"].fields
    assert field.name == "s2" and [f.rsplit("/", 2)[-2] for f in field.files] == ["ZStep_1", "ZStep_2"]
    assert dict(wells["C03"].attributes)["z planes"] == "2"


def test_a_folder_of_timepoint_folders_without_plate_tiffs_is_no_plate(tmp_path):
    for t in (1, 2):
        _tiff(tmp_path / "x" / f"TimePoint_{t}" / f"photo_{t}.tif", t)
    assert plate_at("disk", str(tmp_path / "x")) is None


def test_a_site_opens_as_channels_of_z_stacks_read_when_shown(tmp_path, monkeypatch):
    from polystore_gui.model import plate_tiff

    folder = tmp_path / "plate"
    for c in (1, 2):
        for z in (1, 2, 3):
            _tiff(folder / f"A01_s1_c{c}_z{z}.tif", c * 10 + z)
    _tiff(folder / "B01_s1_c1_z1.tif", 0)
    plate = plate_at("disk", str(folder))
    field = plate.wells[0].fields[0]
    reads = []
    real = plate_tiff._read_plane
    monkeypatch.setattr(plate_tiff, "_read_plane", lambda p: reads.append(p) or real(p))
    preview = site_preview(field.backend, field.path, files=field.files)
    (layer,) = preview.layers
    assert layer.shape == (2, 3, 12, 10) and layer.channel_axis == 0
    assert layer.channel_names == ["A01 s1 c1", "A01 s1 c2"] and layer.axis_labels == ("z", "y", "x")
    assert preview.info.shape == (2, 3, 12, 10) and "2 channels" in preview.info.format
    reads.clear()
    plane = np.asarray(layer.data[1, 2])
    assert (plane == 23).all() and reads == [str(folder / "A01_s1_c2_z3.tif")]


def test_a_site_with_a_missing_plane_and_time_points(tmp_path):
    folder = tmp_path / "plate"
    for t in (1, 2):
        for z in (1, 2):
            if (t, z) != (2, 2):
                _tiff(folder / f"TimePoint_{t}" / f"A01_s1_w1_z{z}.tif", t * 10 + z)
    plate = plate_at("disk", str(folder))
    field = plate.wells[0].fields[0]
    preview = site_preview(field.backend, field.path, files=field.files)
    (layer,) = preview.layers
    assert layer.shape == (2, 2, 12, 10) and layer.channel_axis is None and layer.axis_labels == ("t", "z", "y", "x")
    assert preview.notes == ("1 planes of this site have no file: shown as 0",)
    assert (np.asarray(layer.data[1, 1]) == 0).all() and (np.asarray(layer.data[1, 0]) == 21).all()


def test_files_not_named_as_plate_tiffs_are_refused_clearly(tmp_path):
    _tiff(tmp_path / "x.tif", 1)
    with pytest.raises(ValueError, match="none of the field's files is named as a plate TIFF"):
        site_preview("disk", str(tmp_path / "x.tif"), files=(str(tmp_path / "x.tif"),))


def test_a_site_plane_of_another_shape_dtype_or_gone_shows_as_zeros_not_an_error(tmp_path):
    """A field's planes are read when shown, in napari's slicing: a file whose plane is not
    the first file's shape or dtype, garbage, or removed since the plate was read raised
    there (a traceback in napari's slicing thread, the canvas left on the last plane)."""
    folder = tmp_path / "plate"
    for z in (1, 2, 3, 4):
        _tiff(folder / f"A01_s1_w1_z{z}.tif", z)
    _tiff(folder / "B01_s1_w1_z1.tif", 0)
    _tiff(folder / "A01_s1_w1_z2.tif", 2, shape=(5, 7))
    _tiff(folder / "A01_s1_w1_z3.tif", 3, dtype=np.float32)
    plate = plate_at("disk", str(folder))
    field = plate.wells[0].fields[0]
    preview = site_preview(field.backend, field.path, files=field.files)
    (folder / "A01_s1_w1_z4.tif").write_bytes(b"not a tiff")
    (layer,) = preview.layers
    assert layer.shape == (4, 12, 10)
    assert (np.asarray(layer.data[0]) == 1).all()
    for z in (1, 2, 3):
        plane = np.asarray(layer.data[z])
        assert plane.shape == (12, 10) and plane.dtype == np.uint16 and (plane == 0).all()
    (folder / "A01_s1_w1_z1.tif").unlink()
    assert (np.asarray(layer.data[0]) == 0).all()


def test_a_site_of_rgb_files_shows_its_first_file_in_colour_and_says_why(tmp_path):
    """RGB plate TIFFs (brightfield colour cameras) are (y, x, 3): taking the last two axes
    as the plane stacked (x, 3) planes that read as zeros, and the site showed black."""
    folder = tmp_path / "plate"
    rgb = np.zeros((12, 10, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    for w in (1, 2):
        folder.mkdir(exist_ok=True)
        tifffile.imwrite(folder / f"A01_s1_w{w}.tif", rgb, photometric="rgb")
    field = plate_at("disk", str(folder)).wells[0].fields[0]
    preview = site_preview(field.backend, field.path, files=field.files)
    try:
        (layer,) = [layer for layer in preview.layers if layer.kind == "image"]
        shown = np.asarray(layer.data[0] if layer.multiscale else layer.data)
        np.testing.assert_array_equal(shown, rgb)  # the colours, not zeros
        assert any("RGB" in note and "first file" in note for note in preview.notes)
    finally:
        preview.close()
