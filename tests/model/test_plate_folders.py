"""A plain folder's row says "plate" when it is a polystore plate folder or a folder of plate
TIFFs (model/plate_folders.py), from a stat or a peek at its first entries."""

from __future__ import annotations

from polystore_gui.model.backends.local_entries import local_entry
from polystore_gui.model.plate_folders import PEEK, plate_folder_kind
from tests.plates import write_polystore_plate, write_tiff_plate


def test_polystore_and_tiff_plate_folders_say_plate_and_other_folders_do_not(tmp_path):
    polystore = write_polystore_plate(tmp_path / "screen", wells=(("A", "01"),), edge=8)
    openhcs = write_polystore_plate(tmp_path / "old", wells=(("A", "01"),), edge=8, document="openhcs_metadata.json")
    tiffs = write_tiff_plate(tmp_path / "tiffs", ["A01_s1_w1.tif", "A02_s1_w1.tif", "B01_s1_w2.tif"], edge=4)
    metaxpress = write_tiff_plate(tmp_path / "mx" / "TimePoint_1", ["A01_s1_w1.tif", "B02_s1_w1.tif"], edge=4).parent
    unrelated = write_tiff_plate(tmp_path / "photos", ["holiday.tif", "cat.tif", "A01_s1_w1.tif"], edge=4)
    # many TIFFs not named by well, a few that are: most of those seen are not a plate's
    mostly = write_tiff_plate(tmp_path / "mostly", [f"scan{i:03d}.tif" for i in range(2 * PEEK)]
                              + ["A01_s1_w1.tif", "B02_s1_w1.tif"], edge=2)
    (tmp_path / "empty").mkdir()
    kinds = {p.name: plate_folder_kind(str(p)) for p in (polystore, openhcs, tiffs, metaxpress, unrelated, mostly,
                                                          tmp_path / "empty", tmp_path / "missing")}
    assert kinds == {"screen": "polystore plate folder", "old": "polystore plate folder", "tiffs": "TIFF plate folder",
                     "mx": "TIFF plate folder", "photos": None, "mostly": None, "empty": None, "missing": None}
    row = local_entry("disk", str(tiffs))
    assert row.kind.value == "directory" and row.detail == "TIFF plate folder"
    assert not local_entry("disk", str(unrelated)).detail
