"""Inspect Chunks from the tree's context menu (issue 13): the inspector opens on the array
and the array is previewed beside it. Needs GL (the preview): run under Xvfb."""

from __future__ import annotations

import os

import pytest

from .helpers import expand

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_inspect_chunks_opens_the_inspector_on_the_selected_array(make_window, qtbot, demo_dir):
    window = make_window([demo_dir], show=True)
    window.resize(1500, 900)
    store = demo_dir / "stores" / "experiment.zarr"
    expand(window, qtbot, "disk", str(demo_dir))
    expand(window, qtbot, "disk", str(demo_dir / "stores"))
    qtbot.waitUntil(lambda: window.tree_model.find("zarr", str(store)).isValid(), timeout=15_000)
    expand(window, qtbot, "zarr", str(store))
    index = window.tree_model.find("zarr", str(store / "sharded"))
    window.tree.selectionModel().setCurrentIndex(
        window.proxy.mapFromSource(index), window.tree.selectionModel().SelectionFlag.ClearAndSelect
        | window.tree.selectionModel().SelectionFlag.Rows)
    menu = window.tree_context_menu()
    action = next(a for a in menu.actions() if a.text().replace("&", "") == "Inspect Chunks")
    assert action.isEnabled()
    menu.deleteLater()
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=60_000):
        action.trigger()
    assert window.inspector.isVisible() and window.inspector_action.isChecked()
    assert window.inspector.address == ("zarr", str(store / "sharded"))
    qtbot.waitUntil(lambda: window.preview.current is not None
                    and window.preview.current.path == str(store / "sharded"), timeout=60_000)
