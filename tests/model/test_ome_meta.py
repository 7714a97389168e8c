"""The one OME-NGFF metadata reader: plates, wells and images, 0.4 and 0.5, lenient on
departures from the specification (reported as problems), strict on paths that would
lead out of the group, and never a bare exception for hostile metadata."""

from __future__ import annotations

import json
import os
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polystore_gui.model.ome_meta import (
    PlateWell, image_axes, level0_path, level0_units_scale, ome_summary, plate_from_attributes, read_plate, read_well,
    well_from_attributes,
)
from polystore_gui.model.zarr_nodes import CorruptMetadataError, read_node

PLATE = {
    "name": "screen 1",
    "rows": [{"name": "A"}, {"name": "B"}],
    "columns": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
    "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}, {"path": "B/3", "rowIndex": 1, "columnIndex": 2}],
    "acquisitions": [{"id": 0, "name": "first", "maximumfieldcount": 2}, {"id": 1}],
    "field_count": 2,
}
WELL = {"images": [{"path": "0", "acquisition": 0}, {"path": "1", "acquisition": 0}, {"path": "2", "acquisition": 1}]}


def _v04(section: str, body: dict) -> dict:
    return {section: {"version": "0.4", **body}}


def _v05(section: str, body: dict) -> dict:
    return {"ome": {"version": "0.5", section: body}}


@pytest.mark.parametrize("wrap", [_v04, _v05], ids=["0.4", "0.5"])
def test_plate_rows_columns_wells_and_acquisitions(wrap) -> None:
    plate = plate_from_attributes(wrap("plate", PLATE), validate=True)
    assert plate is not None
    assert plate.version == ("0.4" if wrap is _v04 else "0.5")
    assert plate.name == "screen 1"
    assert plate.rows == ("A", "B") and plate.columns == ("1", "2", "3")
    assert plate.wells == (PlateWell("A/1", "A", "1", 0, 0), PlateWell("B/3", "B", "3", 1, 2))
    assert plate.well_at("B", "3") == plate.wells[1] and plate.well_at("A", "2") is None
    assert [(a.id, a.name, a.maximum_field_count) for a in plate.acquisitions] == [(0, "first", 2), (1, None, None)]
    assert plate.field_count == 2
    assert plate.problems == ()  # conforming metadata, as ome-zarr-models judges it


@pytest.mark.parametrize("wrap", [_v04, _v05], ids=["0.4", "0.5"])
def test_well_fields_in_order_with_acquisitions(wrap) -> None:
    well = well_from_attributes(wrap("well", WELL), validate=True)
    assert well is not None
    assert [f.path for f in well.fields] == ["0", "1", "2"]
    assert [f.path for f in well.fields_of(0)] == ["0", "1"]
    assert well.problems == ()


def test_a_plate_that_breaks_the_specification_is_still_read_with_its_problems() -> None:
    body = {**PLATE, "rows": [{"name": "A-1"}, {"name": "B"}],
            "wells": [{"path": "A-1/1", "rowIndex": 0, "columnIndex": 0}]}
    plate = plate_from_attributes(_v05("plate", body), validate=True)
    assert plate is not None and plate.rows == ("A-1", "B") and plate.wells[0].row == "A-1"
    assert any("rows" in p for p in plate.problems)


def test_not_a_plate_or_well() -> None:
    assert plate_from_attributes({"multiscales": []}) is None
    assert well_from_attributes({"ome": {"version": "0.5"}}) is None


@pytest.mark.parametrize("path", ["../../etc/passwd", "/abs/1", "A//1", "", "A/./1", None, 5])
def test_a_well_path_that_leaves_the_plate_is_corrupt(path) -> None:
    body = {**PLATE, "wells": [{"path": path, "rowIndex": 0, "columnIndex": 0}]}
    with pytest.raises(CorruptMetadataError, match="well path"):
        plate_from_attributes(_v04("plate", body))


def test_a_well_outside_the_grid_is_corrupt() -> None:
    body = {**PLATE, "wells": [{"path": "A/1", "rowIndex": 5, "columnIndex": 0}]}
    with pytest.raises(CorruptMetadataError, match="rows and columns"):
        plate_from_attributes(_v04("plate", body))


def test_indices_absent_are_found_from_the_path() -> None:
    body = {**PLATE, "wells": [{"path": "B/2"}]}
    plate = plate_from_attributes(_v04("plate", body))
    assert plate is not None and plate.wells == (PlateWell("B/2", "B", "2", 1, 1),)


def test_read_plate_and_well_from_disk(tmp_path) -> None:
    root = tmp_path / "plate.zarr"
    (root / "A" / "1").mkdir(parents=True)
    (root / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": _v05("plate", PLATE)}))
    (root / "A" / "1" / "zarr.json").write_text(json.dumps(
        {"zarr_format": 3, "node_type": "group", "attributes": _v05("well", WELL)}))
    plate = read_plate(str(root))
    assert plate is not None and plate.wells[0].path == "A/1"
    well = read_well(os.path.join(str(root), plate.wells[0].path))
    assert well is not None and len(well.fields) == 3
    assert read_plate(str(tmp_path)) is None  # not a zarr node


def test_image_helpers_on_the_demo(demo_dir) -> None:
    image = str(demo_dir / "stores" / "experiment.zarr" / "image")
    meta = read_node(image)
    assert meta is not None
    summary = ome_summary(image, meta)
    assert summary is not None and summary.levels
    names, channel, _labels = image_axes(meta.attributes)
    assert names is not None and len(names) == len(summary.axes)
    if channel is not None:
        assert summary.axes[channel][1] == "channel" or names[channel] == "c"
    assert level0_path(meta.attributes) == summary.levels[0].path
    units, scale = level0_units_scale(meta.attributes, len(names))
    assert len(units) == len(scale) == len(names)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


@settings(max_examples=200, deadline=None)
@given(body=json_values, v05=st.booleans())
def test_any_plate_or_well_document_gives_facts_or_our_error(body, v05) -> None:
    for section, read in (("plate", plate_from_attributes), ("well", well_from_attributes)):
        attrs = {"ome": {"version": "0.5", section: body}} if v05 else {section: body}
        try:
            read(attrs)
        except CorruptMetadataError:
            pass


def _write_image(path, axes, shape, *, labels=()):
    import numpy as np
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.create_array("0", data=np.ones(shape, dtype="uint8"), chunks=shape)
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [{"path": "0"}]}]
    if labels:
        holder = group.create_group("labels")
        holder.attrs["labels"] = list(labels)
        for name in labels:
            _write_image(path / "labels" / name, axes, shape)


def test_one_rule_for_the_channel_axis_of_images_and_their_labels(tmp_path) -> None:
    """0.4 axes may carry no type: ``c`` is then the channel axis for the image, its label
    layers and whole-array work alike (the label layer once kept its channel axis while the
    image split it off, so the two did not line up)."""
    from polystore_gui.model.lazy import open_preview

    axes = [{"name": "c"}, {"name": "y"}, {"name": "x"}]
    _write_image(tmp_path / "img.zarr", axes, (1, 16, 16), labels=("cells",))
    image, label = open_preview("ome_zarr", str(tmp_path / "img.zarr")).layers
    assert image.channel_axis == 0
    assert label.kind == "labels" and len(label.data.shape) == 2  # the channel axis taken off, as for the image
    meta = read_node(str(tmp_path / "img.zarr"))
    summary = ome_summary(str(tmp_path / "img.zarr"), meta)
    assert summary.channel_axis == 0 and image_axes(meta.attributes)[1] == 0


def test_image_conformance_is_judged_by_ome_zarr_models(demo_dir) -> None:
    from polystore_gui.model.ome_meta import ome_problems

    meta = read_node(str(demo_dir / "stores" / "experiment.zarr" / "image"))
    assert ome_problems(meta.attributes, "image") == ()
    broken = json.loads(json.dumps(meta.attributes))
    ms = broken["ome"]["multiscales"][0] if "ome" in broken else broken["multiscales"][0]
    ms["axes"] = ms["axes"][:-1]  # one axis fewer than the data has dimensions
    assert ome_problems(broken, "image")


def test_another_threads_warning_during_validation_is_not_an_ome_problem(demo_dir, monkeypatch) -> None:
    # Python 3.11's warning filters are the process's: validation used to record every
    # thread's warnings while it ran, so a warning elsewhere became the image's "problem".
    import threading

    from ome_zarr_models.v05 import image as i5

    from polystore_gui.model.ome_meta import ome_problems

    meta = read_node(str(demo_dir / "stores" / "experiment.zarr" / "image"))
    assert "ome" in meta.attributes
    validate = i5.ImageAttrs.model_validate.__func__  # type: ignore[attr-defined]
    elsewhere: list[BaseException] = []

    def warn_elsewhere() -> None:
        try:
            warnings.warn("a warning of another thread", UserWarning, stacklevel=1)
        except BaseException as exc:  # noqa: BLE001 - pytest's "error" filter: the thread's own affair
            elsewhere.append(exc)

    def validate_while_another_thread_warns(cls, doc, *args, **kwargs):
        thread = threading.Thread(target=warn_elsewhere)
        thread.start()
        thread.join(10)
        return validate(cls, doc, *args, **kwargs)

    monkeypatch.setattr(i5.ImageAttrs, "model_validate", classmethod(validate_while_another_thread_warns))
    with warnings.catch_warnings(record=True):  # what the other thread's warning becomes is not this test's
        assert ome_problems(meta.attributes, "image") == ()
