"""A plate's wells read with the first well's level metadata (model/plate_level.py): a well
laid out otherwise (a missing level, another shape or dtype, an absent chunk) still gets the
thumbnail its own metadata gives, never the first well's idea of it."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from polystore_gui.model.plate_read import plate_at
from polystore_gui.model.plate_thumbs import plate_thumbnails
from tests.plates import rewrite_field, write_ome_plate, write_polystore_plate


def _alone(plate, well):
    """The thumbnail of ``well`` read on its own (its own metadata, nothing assumed)."""
    (thumb,) = plate_thumbnails(plate, wells=[well])
    return thumb


def _assert_as_read_alone(plate):
    together = {t.well: t for t in plate_thumbnails(plate)}
    for well in plate.wells:
        alone = _alone(plate, well)
        got = together[well.path]
        assert got.error is None and alone.error is None, (well.path, got.error, alone.error)
        assert (got.shape, got.dtype) == (alone.shape, alone.dtype), well.path
        assert np.array_equal(got.pixels, alone.pixels), well.path
    return together


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_wells_laid_out_otherwise_than_the_first_get_their_own_thumbnail(tmp_path, version):
    path = write_ome_plate(tmp_path / "p.zarr", version=version, wells=["A/1", "A/2", "A/3", "B/1", "B/2", "B/3"],
                           levels=3)
    rng = np.random.default_rng(3)
    # B/1: two levels only (the first well's lowest, "2", is missing)
    rewrite_field(path, "B/1", rng.integers(0, 900, (2, 64, 64)).astype(np.uint16), 2, version)
    # A/3: two levels, and a stray empty folder where the first well's lowest level is
    rewrite_field(path, "A/3", rng.integers(0, 900, (2, 64, 64)).astype(np.uint16), 2, version)
    (path / "A" / "3" / "0" / "s2").mkdir()
    # B/2: 68 pixels a side (its lowest level 17 x 17: metadata of the same length as 16 x 16)
    rewrite_field(path, "B/2", rng.integers(0, 900, (2, 68, 68)).astype(np.uint16), 3, version)
    # B/3: another dtype
    rewrite_field(path, "B/3", rng.integers(0, 2 ** 30, (2, 64, 64)).astype(np.uint32), 3, version)
    plate = plate_at("disk", str(path))
    together = _assert_as_read_alone(plate)
    assert together["B/1"].shape == together["A/3"].shape == (2, 32, 32) and together["B/2"].shape == (2, 17, 17)
    assert together["B/3"].dtype == "uint32" and together["A/2"].shape == (2, 16, 16)


def test_a_well_whose_chunk_is_absent_shows_its_fill_value_as_zarr_does(tmp_path):
    path = write_ome_plate(tmp_path / "p.zarr", version="0.5", wells=["A/1", "A/2"], levels=2)
    shutil.rmtree(path / "A" / "2" / "0" / "s1" / "c")  # the lowest level's chunks, never written
    plate = plate_at("disk", str(path))
    together = _assert_as_read_alone(plate)
    assert together["A/2"].pixels.max() == 0 and together["A/1"].pixels.max() == 255


def test_polystore_wells_of_another_size_than_the_first_get_their_own_thumbnail(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate", wells=(("A", "01"), ("A", "03")), edge=64)
    write_polystore_plate(folder, wells=(("B", "02"),), edge=48)
    plate = plate_at("disk", str(folder))
    assert [w.name for w in plate.wells] == ["A01", "A03", "B02"]
    together = _assert_as_read_alone(plate)
    assert together["A/03"].shape[-2:] == (64, 64) and together["B/02"].shape[-2:] == (48, 48)
    assert together["B/02"].pixels.shape == (48, 48)


def test_a_larger_well_whose_metadata_has_the_first_wells_length_is_not_cropped(tmp_path):
    """A well whose lowest level is 24 x 24 in chunks of 16 x 16 (the first well's: 16 x 16
    in one chunk): its metadata document has the same length and its chunk 0 decodes, yet
    its thumbnail is its whole level, not the first well's 16 x 16 corner of it."""
    import zarr

    path = write_ome_plate(tmp_path / "p.zarr", version="0.5", wells=["A/1", "A/2"], levels=3)
    level = path / "A" / "2" / "0" / "s2"
    first = path / "A" / "1" / "0" / "s2" / "zarr.json"
    shutil.rmtree(level)
    array = zarr.create_array(str(level), shape=(2, 24, 24), chunks=(2, 16, 16), dtype="uint16", fill_value=0,
                              dimension_names=["c", "y", "x"], compressors=zarr.codecs.ZstdCodec(level=0))
    array[:] = np.arange(2 * 24 * 24, dtype=np.uint16).reshape(2, 24, 24)
    assert os.path.getsize(level / "zarr.json") == os.path.getsize(first)  # what a size check cannot tell
    together = _assert_as_read_alone(plate_at("disk", str(path)))
    assert together["A/2"].shape == (2, 24, 24)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_consolidated_plate_is_summarised_from_its_one_document(tmp_path, monkeypatch, version):
    """The wells come from the plate's consolidated metadata (zarr.consolidate_metadata), not
    a document each; the summary is the same as when each well's own document is read."""
    import dataclasses
    import json

    import zarr

    from polystore_gui.model import zarr_nodes
    from polystore_gui.model.plate_read import LOCAL_NODES, read_zarr_plate
    from polystore_gui.model.zarr_nodes import read_node

    path = write_ome_plate(tmp_path / "p.zarr", version=version, levels=2, edge=16)  # 6 wells, 2 fields each
    zarr.consolidate_metadata(str(path))
    if version == "0.5":  # a well the document does not name (written since) is read from its own
        doc = json.loads((path / "zarr.json").read_text())
        members = doc["consolidated_metadata"]["metadata"]
        for key in [k for k in members if k == "B/3" or k.startswith("B/3/")]:
            del members[key]
        (path / "zarr.json").write_text(json.dumps(doc))
    opened = []
    real = zarr_nodes._load_json

    def load(name):
        opened.append(os.path.relpath(name, path))
        return real(name)

    monkeypatch.setattr(zarr_nodes, "_load_json", load)
    plate = plate_at("disk", str(path))
    own_documents = dataclasses.replace(LOCAL_NODES, consolidated=lambda _path: {})
    monkeypatch.setattr(zarr_nodes, "_load_json", real)
    assert plate == read_zarr_plate(str(path), read_node(str(path)), backend="disk", nodes=own_documents)
    assert len(plate.wells) == 6 and all(len(w.fields) == 2 for w in plate.wells) and not plate.notes
    wells_read = sorted({os.path.dirname(n) for n in opened if n.count(os.sep) == 2})
    assert wells_read == ([os.path.join("B", "3")] if version == "0.5" else []), opened
