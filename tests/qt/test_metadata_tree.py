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
