"""Plates read from metadata: OME-Zarr HCS 0.4 / 0.5, polystore / OpenHCS, TIFF folders."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from polystore_gui.model.plate_names import parse_plate_file, row_name, standard_grid, well_position
from polystore_gui.model.plate_read import plate_at, well_at
from polystore_gui.model.plate_thumbs import ThumbnailCache, mosaic, plate_thumbnails
from tests.plates import write_ome_plate, write_polystore_plate, write_tiff_plate


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_plate_written_by_ome_zarr(tmp_path, version):
    path = write_ome_plate(tmp_path / "plate.zarr", version=version, wells=["A/1", "A/3", "B/2"])
    plate = plate_at("disk", str(path))
    assert plate is not None and plate.kind == "ome-plate" and plate.version == version
    assert plate.rows == ("A", "B") and plate.columns == ("1", "2", "3")
    assert [(w.name, w.row_index, w.column_index) for w in plate.wells] == [("A01", 0, 0), ("A03", 0, 2), ("B02", 1, 1)]
    a1 = plate.well("A/1")
    assert [f.address for f in a1.fields] == [f"ome_zarr:{path}/A/1/0", f"ome_zarr:{path}/A/1/1"]
    assert a1.acquisition == 0 and plate.acquisitions[0].name == "first run"
    assert plate.field_count == 2 and plate.notes == ()
    found = well_at("zarr", str(path / "B" / "2"))
    assert found is not None and found[0].path == str(path) and found[1].name == "B02"


def test_polystore_plate_is_placed_by_well_names_not_packed_indices(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate")
    for address in (str(folder), str(folder / "images")):
        plate = plate_at("disk", address)
        assert plate is not None and plate.kind == "polystore-plate"
        # polystore wrote rows [A, C] and columns [01, 02, 03] with packed indices: C02 is
        # packed to row 1, but it is in the third row of the plate.
        assert plate.rows == ("A", "B", "C") and plate.columns == ("01", "02", "03", "04")
        assert {w.name: (w.row_index, w.column_index) for w in plate.wells} == {
            "A01": (0, 0), "A03": (0, 2), "C02": (2, 1)}
    plate = plate_at("disk", str(folder))
    assert dict(plate.well("C02").attributes)["condition"] == "dose 2"


def test_openhcs_document_name_is_a_polystore_plate_too(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate", wells=(("B", "05"),), document="openhcs_metadata.json")
    plate = plate_at("disk", str(folder))
    assert plate.kind == "polystore-plate" and plate.well("B05").fields


@pytest.mark.parametrize("names, wells, fields", [
    (["A01_s1_w1.tif", "A01_s1_w2.tif", "A01_s2_w1.tif", "B03_s1_w1.tif"], {"A01": 2, "B03": 1}, 3),
    (["A01_s1_c1_z1.tif", "A01_s1_c1_z2.tif", "H12_s1_c2_z1.tif"], {"A01": 1, "H12": 1}, 2),
    (["r01c01f01p01-ch1sk1fk1fl1.tiff", "r01c01f02p01-ch1sk1fk1fl1.tiff", "r16c24f01p01-ch2sk1fk1fl1.tiff"],
     {"A01": 2, "P24": 1}, 3),
])
def test_tiff_folders_named_by_well_site_channel(tmp_path, names, wells, fields):
    folder = write_tiff_plate(tmp_path / "tiffs", names)
    plate = plate_at("disk", str(folder))
    assert plate is not None and plate.kind == "tiff-plate"
    assert {w.name: len(w.fields) for w in plate.wells} == wells
    assert sum(len(f.files) for w in plate.wells for f in w.fields) == len(names)
    n_rows, n_columns = standard_grid([(w.row_index, w.column_index) for w in plate.wells])
    assert (len(plate.rows), len(plate.columns)) == (n_rows, n_columns)


def test_names():
    assert well_position("A01") == (0, 0) and well_position("P24") == (15, 23) and well_position("AF48") == (31, 47)
    assert well_position("r02c03") == (1, 2) and well_position("nothing") is None
    assert row_name(31) == "AF"
    assert parse_plate_file("Plate1_B02_s3_w2.TIF").site == 3
    assert parse_plate_file("notes.tif") is None
    assert standard_grid([(0, 0)]) == (2, 3) and standard_grid([(15, 23)]) == (16, 24) and standard_grid([(31, 47)]) == (32, 48)


def test_a_folder_of_unrelated_tiffs_is_no_plate(tmp_path):
    folder = write_tiff_plate(tmp_path / "t", ["scan.tif", "other.tif", "A01_s1_w1.tif"])
    assert plate_at("disk", str(folder)) is None
    assert plate_at("memory", "/x") is None


def test_bad_plates_are_shown_with_notes(tmp_path):
    import shutil

    path = write_ome_plate(tmp_path / "bad.zarr", version="0.5", wells=["A/1", "A/2", "B/1", "B/2"], field_count=1,
                           levels=1)
    shutil.rmtree(path / "B" / "1")  # listed but missing
    doc = json.loads((path / "A" / "2" / "zarr.json").read_text())
    doc["attributes"]["ome"]["well"]["images"] = []  # a well without fields
    (path / "A" / "2" / "zarr.json").write_text(json.dumps(doc))
    import zarr  # a field of another shape and dtype
    from ome_zarr.format import FormatV05

    other = zarr.open_group(str(path / "B" / "2" / "1"), mode="w", zarr_format=3)
    _writer = __import__("tests.plates", fromlist=["_writer"])._writer()
    _writer.write_image(np.zeros((2, 32, 32), np.float32), other, scale_factors=None, axes="cyx", fmt=FormatV05())
    plate = plate_at("disk", str(path), check_fields=True)
    text = "\n".join(plate.notes)
    assert "B/1 listed by the plate but missing" in text
    assert "A/2 without fields" in text
    assert "field_count 1" in text
    assert "differ in shape or dtype" in text
    assert len(plate.wells) == 4  # every listed well keeps its place
    thumbs = {t.well: t for t in plate_thumbnails(plate)}
    assert thumbs["A/1"].pixels is not None and "B/1" not in thumbs and "A/2" not in thumbs


def test_corrupt_plate_metadata_is_a_note(tmp_path):
    path = write_ome_plate(tmp_path / "c.zarr", wells=["A/1"], fields=1, levels=1)
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["plate"]["wells"] = "everything"
    (path / "zarr.json").write_text(json.dumps(doc))
    plate = plate_at("disk", str(path))
    assert plate is not None and plate.wells == () and "wells is not a list" in plate.notes[0]


def test_1536_well_plate(tmp_path):
    import zarr
    from ome_zarr.format import FormatV05

    writer = __import__("tests.plates", fromlist=["_writer"])._writer()
    rows = [row_name(i) for i in range(32)]
    columns = [str(c + 1) for c in range(48)]
    wells = [f"{r}/{c}" for r in rows for c in columns]
    root = zarr.open_group(str(tmp_path / "big.zarr"), mode="w", zarr_format=3)
    writer.write_plate_metadata(root, rows, columns, wells, fmt=FormatV05())
    for well in wells[:3]:
        r, c = well.split("/")
        writer.write_well_metadata(root.require_group(r).require_group(c), ["0"], fmt=FormatV05())
    plate = plate_at("disk", str(tmp_path / "big.zarr"))
    assert len(plate.rows) == 32 and len(plate.columns) == 48 and len(plate.wells) == 1536
    assert plate.well("AF/48").name == "AF48"
    assert any("1533 wells listed by the plate but missing" in n for n in plate.notes)


def test_thumbnails_read_the_lowest_level_and_are_cached(tmp_path):
    path = write_ome_plate(tmp_path / "p.zarr", version="0.4", wells=["A/1", "B/3"], levels=3, edge=64)
    plate = plate_at("disk", str(path))
    cache = ThumbnailCache(str(tmp_path / "cache"))
    first = list(plate_thumbnails(plate, cache=cache))
    assert [(t.well, t.shape, t.cached) for t in first] == [("A/1", (2, 16, 16), False), ("B/3", (2, 16, 16), False)]
    assert all(t.pixels.dtype == np.uint8 and t.pixels.max() == 255 for t in first)
    again = list(plate_thumbnails(plate, cache=cache))
    assert all(t.cached for t in again)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(first, again, strict=True))
    # A well written again (polystore replaces the folder) is read again.
    os.utime(path / "B" / "3", ns=(1, 1))
    third = {t.well: t.cached for t in plate_thumbnails(plate, cache=cache)}
    assert third == {"A/1": True, "B/3": False}
    image = mosaic(plate, {t.well: t.pixels for t in first}, edge=16, gap=0)
    assert image.shape == (2 * 16, 3 * 16) and image[16:, 32:].max() == 255 and image[:16, 16:32].max() == 0


def test_thumbnails_of_a_plate_without_pyramid_are_bounded(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate", wells=(("A", "01"),), edge=400)
    plate = plate_at("disk", str(folder))
    (thumb,) = plate_thumbnails(plate, edge=96)
    assert thumb.shape == (2, 2, 400, 400) and max(thumb.pixels.shape) <= 96


def test_tiff_plate_thumbnails(tmp_path):
    folder = write_tiff_plate(tmp_path / "t", ["A01_s1_w1.tif", "B02_s1_w1.tif"], edge=200)
    plate = plate_at("disk", str(folder))
    thumbs = list(plate_thumbnails(plate, edge=50))
    assert [t.well for t in thumbs] == ["A01", "B02"] and all(max(t.pixels.shape) <= 50 for t in thumbs)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_thumbnails_of_a_pyramided_plate_read_one_object_a_well_after_the_first(tmp_path, monkeypatch, version):
    """The first well: the lowest level's array metadata and its one chunk (zarr v2 keeps an
    array's metadata in two documents, .zarray and .zattrs), never the other zarr format's
    documents (zarr looks for both unless told the format); the other wells, laid out
    alike, only their chunk (the plate's summary has read their well documents)."""
    import zarr.storage

    path = write_ome_plate(tmp_path / "p.zarr", version=version, wells=["A/1", "A/2", "B/1", "B/3"], levels=3)
    plate = plate_at("disk", str(path))
    keys = []
    real_get = zarr.storage.LocalStore.get

    async def get(store, key, *args, **kwargs):
        keys.append(key)
        return await real_get(store, key, *args, **kwargs)

    monkeypatch.setattr(zarr.storage.LocalStore, "get", get)
    thumbs = list(plate_thumbnails(plate))
    assert len(thumbs) == 4 and all(t.pixels is not None for t in thumbs)
    documents = ["zarr.json"] if version == "0.5" else [".zarray", ".zattrs"]
    assert sorted(set(keys) - {k for k in keys if k[0].isdigit() or k.startswith("c/")}) == sorted(documents)
    assert len(keys) == len(documents) + 4
    assert [t.shape for t in thumbs] == [(2, 16, 16)] * 4


def test_a_large_folder_without_plate_tiffs_is_not_scanned_to_its_end(tmp_path, monkeypatch):
    """Every selected folder is asked whether it is a plate: a folder of many other files
    is given up after its first entries."""
    import polystore_gui.model.plate_read as plate_read

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1500):
        (folder / f"note_{i:05d}.txt").touch()
    seen = []
    real = os.scandir

    class Counting:
        def __init__(self, path):
            self.it = real(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            for entry in self.it:
                seen.append(entry.name)
                yield entry

    monkeypatch.setattr(plate_read.os, "scandir", Counting)
    assert plate_at("disk", str(folder)) is None
    assert len(seen) <= plate_read.GIVE_UP_AFTER + 1


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plate_stores_kind_says_plate(tmp_path, version):
    """A plate store's Kind column said "zarr store (zarr v2)"."""
    from polystore_gui.model.backends.local_entries import describe_disk_entry
    from polystore_gui.model.entries import EntryKind
    from polystore_gui.model.listing import entry_for_path

    ome = write_ome_plate(tmp_path / "p.zarr", version=version, wells=["A/1"], fields=1, levels=1)
    entry = describe_disk_entry(entry_for_path("disk", str(ome)))
    fmt = 2 if version == "0.4" else 3
    assert (entry.kind, entry.detail) == (EntryKind.PLATE, f"OME plate {version}, zarr v{fmt}")
    assert entry.kind.value == "plate" and entry.kind.expandable
    folder = write_polystore_plate(tmp_path / "screen")
    entry = describe_disk_entry(entry_for_path("disk", str(folder / "images")))
    assert (entry.kind, entry.detail) == (EntryKind.PLATE, "polystore plate, zarr v2")
    plain = tmp_path / "plain.zarr"
    import zarr

    zarr.open_group(str(plain), mode="w", zarr_format=2)
    assert describe_disk_entry(entry_for_path("disk", str(plain))).kind is EntryKind.ZARR_STORE


def test_a_tiff_plate_well_whose_file_is_a_fifo_fails_alone_without_hanging(tmp_path):
    """A well's TIFF that is a FIFO: opening it waited for a writer for ever, so the plate's
    thumbnails never finished (and closing the plate waited on that thread)."""
    import threading

    folder = write_tiff_plate(tmp_path / "p", ["A01_s1_w1.tif", "B02_s1_w1.tif", "C03_s1_w1.tif"])
    (folder / "B02_s1_w1.tif").unlink()
    os.mkfifo(folder / "B02_s1_w1.tif")
    plate = plate_at("disk", str(folder))
    got = []
    reader = threading.Thread(target=lambda: got.extend(plate_thumbnails(plate, cache=None)), daemon=True)
    reader.start()
    reader.join(15)
    if reader.is_alive():  # let the stuck reader go before failing
        os.close(os.open(folder / "B02_s1_w1.tif", os.O_WRONLY | os.O_NONBLOCK))
        reader.join(15)
        pytest.fail("the thumbnails waited on the FIFO")
    by_well = {t.well: t for t in got}
    assert by_well["A01"].pixels is not None and by_well["C03"].pixels is not None
    assert by_well["B02"].pixels is None and "not a regular file" in by_well["B02"].error


def test_a_thumbnail_cache_write_that_fails_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A full disk (or any write error) after the temporary file was made left a .tmp file
    in the user's cache folder for every well of every plate opened."""
    path = write_ome_plate(tmp_path / "p.zarr", version="0.4", wells=["A/1", "B/3"], levels=1, edge=16)
    plate = plate_at("disk", str(path))
    cache = ThumbnailCache(str(tmp_path / "cache"))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full_disk)
    found = list(plate_thumbnails(plate, cache=cache))
    assert [t.pixels is not None for t in found] == [True, True]
    left = [name for _, _, names in os.walk(tmp_path / "cache") for name in names]
    assert left == []
