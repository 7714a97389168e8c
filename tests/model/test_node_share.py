"""A folder's zarr document read once for the preview and the plate lookup of one
selection (model/node_share.py): shared only for the same folder, however it is spelled,
and never once its files changed."""

from __future__ import annotations

import json
import os

from polystore_gui.model import node_share


def _group(path, attrs):
    path.mkdir(exist_ok=True)
    (path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attrs}))


def test_the_same_folder_spelled_otherwise_is_read_once(tmp_path, monkeypatch, documents):
    _group(tmp_path / "p.zarr", {"a": 1})
    opened = documents
    monkeypatch.chdir(tmp_path)
    first = node_share.shared_read_node(str(tmp_path / "p.zarr") + os.sep)  # as a listing may give it
    second = node_share.shared_read_node(os.path.abspath("p.zarr"))  # as plate_read gives it
    assert len(opened) == 1 and first.attributes == second.attributes == {"a": 1}
    assert (first.path, second.path) == (str(tmp_path / "p.zarr") + os.sep, str(tmp_path / "p.zarr"))


def test_a_rewritten_document_is_read_again(tmp_path, monkeypatch):
    _group(tmp_path / "q.zarr", {"a": 1})
    first = node_share.shared_read_node(str(tmp_path / "q.zarr"))
    _group(tmp_path / "q.zarr", {"a": 22})
    second = node_share.shared_read_node(str(tmp_path / "q.zarr"))
    assert first != second
