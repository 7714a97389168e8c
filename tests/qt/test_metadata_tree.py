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
