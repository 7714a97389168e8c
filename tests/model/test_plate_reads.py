"""The object reads of a plate's opening (issue 16): the generic preview of a plate or a
well, which the plate view replaces, reads no member's document; other groups still say
what they hold."""

from __future__ import annotations

import json
import os

import pytest

from polystore_gui.model.arrays import inspect
from polystore_gui.model.backends.plate import plate_or_well_at
from polystore_gui.model.lazy import open_preview
from polystore_gui.model.selection_read import read_selection
from polystore_gui.model.zarr_nodes import read_node
from tests.plates import write_ome_plate


@pytest.mark.parametrize(("version", "backend"), [("0.4", "disk"), ("0.5", "disk"), ("0.5", "zarr")])
def test_a_plates_preview_reads_only_its_own_document(tmp_path, documents, version, backend):
    path = write_ome_plate(tmp_path / "p.zarr", version=version)
    documents.clear()
    preview = open_preview(backend, str(path), listed=True)
    assert preview.info.kind == "group" and not preview.info.error
    assert all(os.path.dirname(name) == str(path) for name in documents), documents
    assert not preview.info.members  # counting the rows would be work the plate view never shows


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_wells_preview_reads_no_field_document(tmp_path, documents, version):
    path = write_ome_plate(tmp_path / "p.zarr", version=version)
    well = os.path.join(str(path), "A", "1")
    documents.clear()
    preview = open_preview("disk", well, listed=True)
    assert preview.info.kind == "group" and not preview.info.error
    assert all(os.path.dirname(name) == well for name in documents), documents


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plates_info_and_other_groups_previews_still_count_members(tmp_path, version):
    path = write_ome_plate(tmp_path / "p.zarr", version=version)
    assert inspect("disk", str(path)).members == {"groups": 2, "arrays": 0}  # `info` says it
    row = open_preview("disk", os.path.join(str(path), "A"), listed=True)
    assert row.info.members == {"groups": 3, "arrays": 0}


def _root_documents(documents, path):
    return [name for name in documents if os.path.dirname(name) == str(path)]


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plates_document_is_read_once_for_its_preview_and_its_plate_lookup(tmp_path, documents, version):
    path = write_ome_plate(tmp_path / "p.zarr", version=version)
    one_read = len(_root_documents(_read_root(path, documents), path))  # v0.4: .zattrs and .zgroup
    documents.clear()
    # As the preview panel does: one job for the selection, its preview then its plate lookup.
    preview, plate = read_selection("disk", str(path), listed=True)
    assert preview.part == "preview" and preview.error is None and preview.value.info.attributes
    assert plate.part == "plate" and plate.error is None
    found, well = plate.value
    assert len(found.wells) == 6 and well is None
    assert len(_root_documents(documents, path)) == one_read, documents


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_wells_document_is_read_once_for_its_preview_and_its_well_lookup(tmp_path, documents, version):
    path = write_ome_plate(tmp_path / "p.zarr", version=version)
    well_path = os.path.join(str(path), "A", "1")
    one_read = len(_read_root(well_path, documents))
    documents.clear()
    preview, plate = read_selection("disk", well_path, listed=True)
    assert preview.error is None and plate.error is None
    found, well = plate.value
    assert well is not None and well.path.strip("/") == "A/1" and len(found.wells) == 6
    # Once for the preview and the well lookup, once more as one of the plate's wells (read
    # with the plate, which the plate view shows): not once each for the preview and the lookup.
    assert len([n for n in documents if os.path.dirname(n) == well_path]) == 2 * one_read, documents


def _read_root(path, documents):
    documents.clear()
    read_node(str(path))
    return list(documents)


def test_a_plate_rewritten_after_its_preview_is_read_again(tmp_path, documents):
    path = write_ome_plate(tmp_path / "p.zarr", version="0.5")
    open_preview("disk", str(path), listed=True)
    doc = json.loads((path / "zarr.json").read_text())
    doc["attributes"]["ome"]["plate"]["name"] = "renamed, and longer than before"
    (path / "zarr.json").write_text(json.dumps(doc))
    assert plate_or_well_at("disk", str(path))[0].name == "renamed, and longer than before"


def test_a_plate_rewritten_between_two_selections_shows_its_new_document(tmp_path):
    """Each selection reads the plate afresh: a document rewritten at once with the same size
    and modification time (a copy keeping times, a coarse clock) is not taken for the old one."""
    path = write_ome_plate(tmp_path / "p.zarr", version="0.5")
    document = path / "zarr.json"
    doc = json.loads(document.read_text())
    doc["attributes"]["ome"]["plate"]["name"] = "first"
    document.write_text(json.dumps(doc))
    before = os.stat(document)
    [first, plate] = read_selection("disk", str(path), listed=True)
    assert plate.value[0].name == "first"
    doc["attributes"]["ome"]["plate"]["name"] = "other"  # the same length
    document.write_text(json.dumps(doc))
    os.utime(document, ns=(before.st_atime_ns, before.st_mtime_ns))
    first.value.close()
    [second, plate] = read_selection("disk", str(path), listed=True)
    second.value.close()
    assert plate.value[0].name == "other"
    assert second.value.info.attributes["ome"]["plate"]["name"] == "other"


def test_a_zstd_plates_thumbnails_read_no_level_document_besides_zarrs(tmp_path, monkeypatch):
    from polystore_gui.model import plate_plane
    from polystore_gui.model.plate_read import plate_at
    from polystore_gui.model.plate_thumbs import plate_thumbnails

    path = write_ome_plate(tmp_path / "p.zarr", version="0.5")  # ome-zarr-py's default codec: zstd
    plate = plate_at("disk", str(path))
    read: list[str] = []
    real = plate_plane.read_document
    monkeypatch.setattr(plate_plane, "read_document", lambda name: read.append(name) or real(name))
    thumbs = list(plate_thumbnails(plate))
    assert len(thumbs) == 6 and all(t.pixels is not None and t.error is None for t in thumbs)
    assert read == []  # zarr's parse of the first well's level said its chunk is not a plain stream
