"""TIFF facts from the header (issue 13, item 14): shape, dtype and axes in a listing's
details pass and in `ls`, read by tifffile without reading pixels; TIFF axes kept as zarr 3
``dimension_names`` when a TIFF is copied into zarr. Files written by tifffile itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.listing import describe_disk_entry, entry_for_path
from polystore_gui.model.tiff_facts import dimension_names, read_tiff_facts
from tests.cli.test_cli import run


def _write_all(folder):
    """(file name → (shape, dtype, axes)) for TIFFs written the ways people write them."""
    tifffile.imwrite(folder / "cyx.tif", np.zeros((3, 64, 48), np.uint16), photometric="minisblack",
                     metadata={"axes": "CYX"})
    tifffile.imwrite(folder / "hyperstack.tif", np.zeros((2, 5, 3, 32, 40), np.uint8), imagej=True,
                     metadata={"axes": "TZCYX"})
    tifffile.imwrite(folder / "cells.ome.tif", np.zeros((2, 4, 16, 24), np.float32), ome=True,
                     metadata={"axes": "CZYX"})
    tifffile.imwrite(folder / "PLAIN.TIFF", np.zeros((20, 30), np.int16))
    tifffile.imwrite(folder / "rgb.tif", np.zeros((10, 12, 3), np.uint8), photometric="rgb")
    return {
        "cyx.tif": ((3, 64, 48), "uint16", "CYX"),
        "hyperstack.tif": ((2, 5, 3, 32, 40), "uint8", "TZCYX"),
        "cells.ome.tif": ((2, 4, 16, 24), "float32", "CZYX"),
        "PLAIN.TIFF": ((20, 30), "int16", "YX"),
        "rgb.tif": ((10, 12, 3), "uint8", "YXS"),
    }


def test_header_facts_of_tiffs_written_by_tifffile(tmp_path):
    for name, (shape, dtype, axes) in _write_all(tmp_path).items():
        facts = read_tiff_facts(str(tmp_path / name))
        assert (facts.shape, facts.dtype, facts.axes) == (shape, dtype, axes), name
    assert read_tiff_facts(str(tmp_path / "cells.ome.tif")).flavour == "OME-TIFF"
    assert read_tiff_facts(str(tmp_path / "hyperstack.tif")).flavour == "ImageJ"


def test_a_listings_details_pass_gives_tiff_shapes_and_dtypes(tmp_path):
    expected = _write_all(tmp_path)
    for name, (shape, dtype, axes) in expected.items():
        described = describe_disk_entry(Entry("disk", str(tmp_path / name), name, EntryKind.IMAGE_FILE))
        assert described.shape == shape and described.dtype == dtype, name
        assert axes in described.detail and described.size > 0 and described.error is None


def test_a_tiff_that_is_not_one_is_listed_without_facts_and_without_error(tmp_path):
    (tmp_path / "fake.tif").write_bytes(b"not a tiff at all")
    described = describe_disk_entry(entry_for_path("disk", str(tmp_path / "fake.tif")))
    assert described.shape is None and described.size == 17 and described.error is None
    assert "not a readable TIFF" in described.detail


def test_the_details_pass_reads_headers_not_pixels(tmp_path, monkeypatch):
    """Decoding anything (a page, a series, a segment of pixel data) fails the test."""
    _write_all(tmp_path)

    def never(*_args, **_kwargs):
        raise AssertionError("pixels were read")

    for owner, name in ((tifffile.TiffFile, "asarray"), (tifffile.TiffPage, "asarray"),
                        (tifffile.TiffPageSeries, "asarray"), (tifffile.FileHandle, "read_segments")):
        monkeypatch.setattr(owner, name, never)
    for name in ("cyx.tif", "hyperstack.tif", "cells.ome.tif", "PLAIN.TIFF", "rgb.tif"):
        described = describe_disk_entry(Entry("disk", str(tmp_path / name), name, EntryKind.IMAGE_FILE))
        assert described.shape is not None and described.detail != "not a readable TIFF", name


def test_ls_prints_tiff_shapes_and_dtypes(tmp_path):
    expected = _write_all(tmp_path)
    out = run("ls", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    listed = {e["name"]: e for e in json.loads(out.stdout)}
    for name, (shape, dtype, axes) in expected.items():
        assert listed[name]["shape"] == list(shape) and listed[name]["dtype"] == dtype, name
    text = run("ls", str(tmp_path)).stdout
    assert "2×5×3×32×40" in text and "uint8" in text


@pytest.mark.parametrize("axes, names", [("CYX", ("c", "y", "x")), ("TZCYX", ("t", "z", "c", "y", "x")),
                                         ("YXS", ("y", "x", "s")), ("QQYX", ("q", "q1", "y", "x"))])
def test_tiff_axes_become_dimension_names(axes, names):
    assert dimension_names(axes) == names


def test_headers_can_be_left_out_for_a_whole_huge_folder(tmp_path, monkeypatch):
    """Sorting a huge folder by size reads every entry's details: stat only, no TIFF header
    (0.2-0.3 ms a file would make a million files minutes)."""
    from polystore_gui.model import listing

    _write_all(tmp_path)
    from polystore_gui.model.backends import local_entries  # where a disk entry is described

    monkeypatch.setattr(local_entries, "read_tiff_facts", lambda path: (_ for _ in ()).throw(AssertionError(path)))
    entries = [Entry("disk", str(tmp_path / n), n, EntryKind.IMAGE_FILE) for n in ("cyx.tif", "rgb.tif")]
    described = [e for batch in listing.describe(entries, headers=False) for e in batch]
    assert [e.size > 0 and e.shape is None for e in described] == [True, True]


def test_info_gives_a_tiffs_axes_as_dimension_names(tmp_path):
    from polystore_gui.model.arrays import inspect

    _write_all(tmp_path)
    assert inspect("disk", str(tmp_path / "hyperstack.tif")).dimension_names == ("t", "z", "c", "y", "x")
    out = run("info", str(tmp_path / "cyx.tif"), "--json")
    assert json.loads(out.stdout)["dimension_names"] == ["c", "y", "x"]
    assert "dimensions    c, y, x" in run("info", str(tmp_path / "cyx.tif")).stdout
