"""Plates converted as plates (issue 18): an OME-Zarr HCS plate written by ome-zarr-py
becomes an OME-Zarr 0.5 plate with every well's fields converted (pyramids), plate and
well metadata kept, validated by ome-zarr-models' HCS and read by ome-zarr-py."""

from __future__ import annotations

import json
import os

import pytest
import zarr

from tests.plates import write_ome_plate
from polystore_gui.model.checksum import checksum
from polystore_gui.model.convert_plate import convert_plate
from polystore_gui.model.whole_array import Cancelled, Engine, WholeArrayError
from polystore_gui.model.zarr_nodes import ome_attributes

ENGINE = Engine(num_workers=2)


def _plate(path):
    body = dict(ome_attributes(zarr.open_group(str(path), mode="r").attrs.asdict())["plate"])
    body.pop("version", None)
    return body


def _images(path):
    return ome_attributes(zarr.open_group(str(path), mode="r").attrs.asdict())["well"]["images"]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plate_becomes_an_ome_zarr_05_plate(tmp_path, version):
    from ome_zarr_models.v05.hcs import HCS

    source = write_ome_plate(tmp_path / "in.zarr", version=version, rows="AB", columns=2,
                             wells=["A/1", "A/2", "B/2"], fields=2, levels=2, edge=64)
    dest = tmp_path / "out.ome.zarr"
    report = convert_plate(str(source), str(dest), levels=3, engine=ENGINE)
    assert report["kind"] == "plate" and report["wells"] == 3 and len(report["fields"]) == 6
    assert sorted(os.listdir(tmp_path)) == ["in.zarr", "out.ome.zarr"]  # no hidden temporary left
    root = zarr.open_group(str(dest), mode="r")
    assert root.metadata.zarr_format == 3 and root.attrs["ome"]["version"] == "0.5"
    assert _plate(dest) == _plate(source)  # rows, columns, wells, acquisitions, name, field count
    HCS.from_zarr(root)  # ome-zarr-models validates the plate and each well (warnings are errors)
    for well in ("A/1", "A/2", "B/2"):
        assert _images(dest / well) == _images(source / well)
        for field in ("0", "1"):
            image = dest / well / field
            levels = [d["path"] for d in ome_attributes(zarr.open_group(str(image)).attrs.asdict())
                      ["multiscales"][0]["datasets"]]
            assert [zarr.open_array(str(image / p)).shape for p in levels] == [(2, 64, 64), (2, 32, 32), (2, 16, 16)]
            level0 = ome_attributes(zarr.open_group(str(source / well / field)).attrs.asdict())["multiscales"][0]
            src0 = source / well / field / level0["datasets"][0]["path"]
            assert checksum(str(image / levels[0]), engine=ENGINE)["digest"] == checksum(str(src0), engine=ENGINE)["digest"]


def test_ome_zarr_py_reads_the_converted_plate(tmp_path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Plate, Reader

    source = write_ome_plate(tmp_path / "in.zarr", version="0.5", rows="A", columns=2, fields=1, levels=1, edge=32)
    convert_plate(str(source), str(tmp_path / "out.ome.zarr"), levels=2, engine=ENGINE)
    nodes = list(Reader(parse_url(str(tmp_path / "out.ome.zarr")))())
    plate = next(n for n in nodes if any(isinstance(s, Plate) for s in n.specs))
    assert plate.data[0].shape[-2:] == (32, 64)  # ome-zarr-py stitches the two wells side by side


def test_cancel_or_a_taken_name_leaves_the_destination_as_it_was(tmp_path):
    source = write_ome_plate(tmp_path / "in.zarr", version="0.5", rows="A", columns=2, fields=2, levels=1, edge=32)
    dest = tmp_path / "out.ome.zarr"
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3  # partway through the first fields

    with pytest.raises(Cancelled):
        convert_plate(str(source), str(dest), levels=1, engine=ENGINE, cancelled=cancelled)
    assert sorted(os.listdir(tmp_path)) == ["in.zarr"]
    dest.mkdir()
    with pytest.raises(WholeArrayError, match="exists"):
        convert_plate(str(source), str(dest), engine=ENGINE)
    with pytest.raises(WholeArrayError, match="not an OME-Zarr plate"):
        convert_plate(str(source / "A" / "1" / "0"), str(tmp_path / "x.ome.zarr"), engine=ENGINE)


def test_cli_converts_a_plate(tmp_path, capsys):
    from polystore_gui.cli import main

    source = write_ome_plate(tmp_path / "in.zarr", version="0.4", rows="A", columns=2, fields=1, levels=1, edge=32)
    assert main(["convert", str(source), str(tmp_path / "out.ome.zarr"), "--levels", "2"]) == 0
    out = capsys.readouterr().out
    assert "converted plate" in out and "2 wells, 2 fields" in out
    assert main(["convert", str(source), str(tmp_path / "out2.ome.zarr"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "plate" and [f["path"] for f in report["fields"]] == ["A/1/0", "A/2/0"]


def test_a_plate_dropped_for_conversion_is_converted_as_a_plate(tmp_path):
    """The drop menu's Convert to OME-Zarr 0.5 (model.convert_items, run in a worker) takes a
    plate to a plate, with progress in source bytes up to the whole."""
    from polystore_gui.model import convert_items
    from polystore_gui.model.address import Address

    source = write_ome_plate(tmp_path / "in.zarr", version="0.4", rows="A", columns=2, fields=2, levels=1, edge=32)
    (tmp_path / "into").mkdir()
    [item] = convert_items.plan([Address("zarr", str(source))], Address("disk", str(tmp_path / "into")))
    seen = []
    outcome = convert_items.run(item, cancelled=lambda: False, progress=lambda done, total: seen.append((done, total)))
    assert outcome.status == "done", outcome.message
    assert "plate, 2 wells, 4 fields" in outcome.notes[0]
    assert seen[-1] == (4 * 2 * 32 * 32 * 2,) * 2 and [d for d, _ in seen] == sorted(d for d, _ in seen)
    _plate(tmp_path / "into" / "in.ome.zarr")  # a plate's metadata is there
    assert _images(tmp_path / "into" / "in.ome.zarr" / "A" / "2") == _images(source / "A" / "2")
