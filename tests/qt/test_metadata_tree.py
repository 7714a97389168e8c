"""The details pane reads an empty mapping or list as "none" (it showed "{0}" for an npy
file's empty attributes: a user trial, session 12)."""

from __future__ import annotations

import numpy as np
import zarr
from qtpy.QtCore import Qt

from polystore_gui.model.arrays import inspect
from polystore_gui.qt.metadata_tree import MetadataTree


def _children(item):
    return {item.child(i).text(0): item.child(i).text(1) for i in range(item.childCount())}


def test_empty_attributes_read_none(qtbot, tmp_path):
    path = tmp_path / "features.npy"
    np.save(path, np.zeros((4, 4), np.float32))
    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("disk", str(path)))
    rows = tree.rows()
    assert rows["attributes"] == "none"
    assert not any("{0}" in text or text == "[]" for text in rows.values()), rows


def test_empty_values_inside_attributes_read_none_and_the_rest_as_before(qtbot, tmp_path):
    path = tmp_path / "a.zarr"
    array = zarr.create_array(str(path), shape=(4, 4), chunks=(2, 2), dtype="u2")
    array.attrs.update({"empty_map": {}, "empty_list": [], "n": 3, "window": {"start": 0, "end": 9}})
    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("zarr", str(path)))
    (attributes,) = tree.findItems("attributes", Qt.MatchFlag.MatchExactly, 0)
    children = _children(attributes)
    assert children["empty_map"] == "none" and children["empty_list"] == "none"
    assert children["n"] == "3" and attributes.child(3).childCount() == 2


def test_codecs_read_as_a_pipeline_with_a_row_per_codec(qtbot, tmp_path):
    """The pane showed "codecs {3}" and, inside, zarr's JSON spread over seven rows (a user
    trial, session 12): the pipeline now reads as ``info`` prints it, one row per codec."""
    from zarr.codecs import BytesCodec, ZstdCodec

    path = tmp_path / "a.zarr"
    zarr.create_array(str(path), shape=(4, 6), chunks=(2, 3), dtype="u2",
                      serializer=BytesCodec(), compressors=[ZstdCodec(level=3)])
    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("zarr", str(path)))
    rows = tree.rows()
    assert rows["codecs"] == "bytes(endian=little) → zstd(level=3, checksum=false)"
    (codecs,) = tree.findItems("codecs", Qt.MatchFlag.MatchExactly, 0)
    assert [(codecs.child(i).text(0), codecs.child(i).text(1)) for i in range(codecs.childCount())] == [
        ("serializer", "bytes(endian=little)"), ("compressor", "zstd(level=3, checksum=false)")]
    assert all(codecs.child(i).childCount() == 0 for i in range(codecs.childCount()))
    # Shapes and sizes as info prints them, not as JSON lists and bare byte counts.
    assert rows["shape"] == "4 × 6" and rows["chunks"] == "2 × 3"
    assert rows["nbytes"] == "48 bytes"
    assert not any(text.startswith("{") and text.endswith("}") for text in rows.values()), rows


def test_members_and_dimension_names_read_as_words(qtbot, tmp_path):
    path = tmp_path / "g.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_array("a", shape=(4, 4), chunks=(2, 2), dtype="u1", dimension_names=["y", "x"])
    group.create_array("b", shape=(4,), chunks=(2,), dtype="u1")
    group.create_group("sub")
    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("zarr", str(path)))
    assert tree.rows()["members"] == "1 group, 2 arrays"
    tree.show_info(inspect("zarr", str(path / "a")))
    assert tree.rows()["dimension_names"] == "y, x"


def _all_items(tree):
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        yield item
        stack += [item.child(i) for i in range(item.childCount())]


def test_an_ome_image_reads_as_info_prints_it_and_no_row_reads_as_a_brace_count(qtbot, demo_dir):
    """Nested mappings and lists said in words ("3 entries", "4 items"), not "{3}" and "[4]";
    the OME summary as ``info`` prints it: axes with units, a row per level and channel."""
    import re

    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("ome_zarr", str(demo_dir / "stores" / "experiment.zarr" / "image")))
    texts = [item.text(1) for item in _all_items(tree)]
    assert not [t for t in texts if re.fullmatch(r"[{\[]\d+[}\]]", t)], texts
    (ome,) = tree.findItems("ome", Qt.MatchFlag.MatchExactly, 0)
    assert ome.text(1) == "version 0.5, axes c, z [micrometer], y [micrometer], x [micrometer]"
    rows = [(ome.child(i).text(0), ome.child(i).text(1)) for i in range(ome.childCount())]
    assert rows[0] == ("level 0", "shape 2 × 8 × 512 × 512, scale 1, 2, 0.325, 0.325")
    assert ("channel", "nuclei (0000FF) window 0–52000") in rows and ("labels", "nuclei") in rows
    (attributes,) = tree.findItems("attributes", Qt.MatchFlag.MatchExactly, 0)
    assert attributes.text(1) == "1 entry"


def test_an_address_that_cannot_be_read_is_given_no_kind(qtbot, tmp_path):
    """An unreachable remote store read "kind: file" beside its error (a new user's pass,
    session 13): the kind of what could not be read is not known, so none is shown."""
    tree = MetadataTree()
    qtbot.addWidget(tree)
    tree.show_info(inspect("zarr", "https://127.0.0.1:9/x.zarr"))
    rows = tree.rows()
    assert "connection refused" in rows["error"]
    assert "kind" not in rows
    tree.show_info(inspect("disk", str(tmp_path / "gone.tif")))
    assert "kind" not in tree.rows() and tree.rows()["error"]
