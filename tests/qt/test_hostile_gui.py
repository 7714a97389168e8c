"""Hostile entries in the window (issue 14, items 6 and 7): FIFOs never block a worker, and
one bad entry is one row saying what is wrong while its siblings list as usual."""

from __future__ import annotations

import json
import os

from polystore_gui.model.entries import EntryKind
from polystore_gui.qt.tree_model import ENTRY_ROLE, ROW_KIND_ROLE

from .helpers import expand


def _rows(model, index):
    return {model.index(r, 0, index).data(): model.index(r, 0, index) for r in range(model.rowCount(index))}


def test_a_folder_of_fifos_a_link_loop_and_a_bad_store_lists_and_previews_without_blocking(make_window, qtbot,
                                                                                            tmp_path):
    for i in range(7):  # more FIFOs than the pool has threads
        os.mkfifo(tmp_path / f"pipe{i}.tif")
    os.symlink("loop", tmp_path / "loop")
    (tmp_path / "ok.json").write_text('{"a": 1}')
    store = tmp_path / "s.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    (store / "bad").mkdir()
    (store / "bad" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": [1]}))
    (store / "good").mkdir()
    (store / "good" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')

    window = make_window([tmp_path])
    model = window.tree_model
    root = expand(window, qtbot, "disk", str(tmp_path))
    rows = _rows(model, root)
    assert {"loop", "ok.json", "s.zarr", *(f"pipe{i}.tif" for i in range(7))} <= set(rows)
    loop = rows["loop"].data(ENTRY_ROLE)
    assert loop.kind is EntryKind.ERROR and loop.error.startswith("Symbolic link loop")
    pipe = rows["pipe0.tif"].data(ENTRY_ROLE)
    assert pipe.kind is EntryKind.FILE and "FIFO" in pipe.detail
    assert rows["ok.json"].data(ROW_KIND_ROLE) == "entry"

    members = _rows(model, expand(window, qtbot, "disk", str(store)))
    assert set(members) == {"bad", "good"}
    assert "attributes is a list" in members["bad"].data(ENTRY_ROLE).error
    assert members["good"].data(ENTRY_ROLE).error is None

    # Each FIFO previewed in turn: each answers (it says what the entry is), none holds a worker.
    answers: list[str] = []
    window.preview.previewShown.connect(lambda preview: answers.append(" ".join(preview.notes)))
    window.preview.previewFailed.connect(answers.append)
    for i in range(7):
        with qtbot.waitSignals([window.preview.previewShown], timeout=15_000):
            window.preview.request("disk", str(tmp_path / f"pipe{i}.tif"))
    assert len(answers) == 7 and all("named pipe (FIFO)" in a for a in answers), answers
    with qtbot.waitSignal(window.preview.previewShown, timeout=15_000) as shown:
        window.preview.request("disk", str(tmp_path / "ok.json"))
    assert shown.args[0].info.preview.startswith("{")
    qtbot.waitUntil(lambda: window.workers.active_threads() == 0, timeout=15_000)
