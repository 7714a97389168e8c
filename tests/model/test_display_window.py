"""Saving the display window in an OME-NGFF image's metadata (omero.window, issue 18)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import zarr

from polystore_gui.model.display_window import DisplayWindow, DisplayWindowError, save_display_window


def _image(path, version: str, channels: int = 2):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    data = np.arange(channels * 4 * 16 * 16, dtype="u2").reshape(channels, 4, 16, 16)
    fmt = FormatV04() if version == "0.4" else FormatV05()
    group = zarr.open_group(path, mode="w", zarr_format=2 if version == "0.4" else 3)
    write_image(data, group, axes="czyx", scale_factors=[], fmt=fmt)
    return path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_the_window_is_written_where_the_version_keeps_it_and_validates(tmp_path, version):
    from polystore_gui.model.arrays import inspect

    path = _image(tmp_path / "img.zarr", version)
    windows = [DisplayWindow(0, 2047, 0, 2047), DisplayWindow(10.5, 3000, 2048, 4095)]
    document = save_display_window(str(path), windows)
    with open(document) as fh:
        doc = json.load(fh)
    if version == "0.4":
        assert os.path.basename(document) == ".zattrs"
        omero = doc["omero"]
        from ome_zarr_models.v04.image import Image
    else:
        assert os.path.basename(document) == "zarr.json"
        omero = doc["attributes"]["ome"]["omero"]
        assert "omero" not in doc["attributes"]
        from ome_zarr_models.v05.image import Image
    assert [c["window"] for c in omero["channels"]] == [
        {"start": 0, "end": 2047, "min": 0, "max": 2047}, {"start": 10.5, "end": 3000, "min": 2048, "max": 4095}]
    Image.from_zarr(zarr.open_group(path, mode="r"))  # ome-zarr-models validates it
    info = inspect("ome_zarr", str(path))
    assert [c.window for c in info.ome.channels] == [(0.0, 2047.0), (10.5, 3000.0)]
    assert [p for p in os.listdir(path) if p.endswith(".tmp")] == []


def test_existing_channel_facts_are_kept_and_only_the_window_changes(tmp_path):
    path = _image(tmp_path / "img.zarr", "0.4")
    attrs = json.loads((path / ".zattrs").read_text())
    attrs["omero"] = {"name": "cells", "channels": [{"label": "DAPI", "color": "0000FF", "window":
                                                     {"start": 0, "end": 1, "min": 0, "max": 1}},
                                                    {"label": "GFP", "color": "00FF00"}]}
    (path / ".zattrs").write_text(json.dumps(attrs))
    save_display_window(str(path), [DisplayWindow(1, 2, 0, 9), DisplayWindow(3, 4, 0, 9)])
    omero = json.loads((path / ".zattrs").read_text())["omero"]
    assert omero["name"] == "cells"
    assert [(c["label"], c["color"], c["window"]["start"]) for c in omero["channels"]] == [
        ("DAPI", "0000FF", 1), ("GFP", "00FF00", 3)]
    assert json.loads((path / ".zattrs").read_text())["multiscales"] == attrs["multiscales"]


def test_consolidated_metadata_is_written_again(tmp_path):
    root = zarr.open_group(tmp_path / "plate.zarr", mode="w", zarr_format=2)
    _image(tmp_path / "plate.zarr" / "img", "0.4")
    zarr.consolidate_metadata(str(tmp_path / "plate.zarr"), zarr_format=2)
    del root
    save_display_window(str(tmp_path / "plate.zarr" / "img"), [DisplayWindow(5, 6, 0, 9), DisplayWindow(7, 8, 0, 9)])
    consolidated = json.loads((tmp_path / "plate.zarr" / ".zmetadata").read_text())["metadata"]
    assert consolidated["img/.zattrs"]["omero"]["channels"][1]["window"]["start"] == 7


def test_what_cannot_be_saved_says_why(tmp_path):
    zarr.create_array(tmp_path / "plain.zarr", shape=(4, 4), dtype="u1")
    with pytest.raises(DisplayWindowError, match="not an OME-NGFF image"):
        save_display_window(str(tmp_path / "plain.zarr"), [DisplayWindow(0, 1, 0, 1)])
    path = _image(tmp_path / "img.zarr", "0.4")
    with pytest.raises(DisplayWindowError, match="the image has 2 channels, but 1 window was given"):
        save_display_window(str(path), [DisplayWindow(0, 1, 0, 1)])
    with pytest.raises(DisplayWindowError, match="not a finite number"):
        save_display_window(str(path), [DisplayWindow(0, float("nan"), 0, 1)] * 2)
    before = (path / ".zattrs").read_text()
    (path / f".zattrs.{os.getpid()}.window.tmp").mkdir()  # where the new document is staged: in the way
    with pytest.raises(DisplayWindowError, match="cannot write"):
        save_display_window(str(path), [DisplayWindow(0, 1, 0, 1)] * 2)
    assert (path / ".zattrs").read_text() == before
