"""Inspect Chunks from the tree's context menu (issue 13): the inspector opens on the array
and the array is previewed beside it. Needs GL (the preview): run under Xvfb."""

from __future__ import annotations

import os

import pytest

from .test_inspector_refit import _wide_window

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _select(window, qtbot, backend, path):
    """Make the tree row (backend, path) the current and only selected one, as a click would."""
    index = window.tree_model.find(backend, path)
    window.tree.selectionModel().setCurrentIndex(
        window.proxy.mapFromSource(index), window.tree.selectionModel().SelectionFlag.ClearAndSelect
        | window.tree.selectionModel().SelectionFlag.Rows)


def _demo_store_window(make_window, qtbot, demo_dir):
    """A shown window on the demo folder with its experiment.zarr expanded: (window, store)."""
    window = make_window([demo_dir], show=True)
    window.resize(1500, 900)
    return window, _wide_window(window, demo_dir, qtbot).parent


def _menu_action(window, text):
    menu = window.tree_context_menu()
    return menu, next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_inspect_chunks_opens_the_inspector_on_the_selected_array(make_window, qtbot, demo_dir):
    window, store = _demo_store_window(make_window, qtbot, demo_dir)
    _select(window, qtbot, "zarr", str(store / "sharded"))
    menu, action = _menu_action(window, "Inspect Chunks")
    assert action.isEnabled()
    menu.deleteLater()
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=60_000):
        action.trigger()
    assert window.inspector.isVisible() and window.inspector_action.isChecked()
    assert window.inspector.address == ("zarr", str(store / "sharded"))
    qtbot.waitUntil(lambda: window.preview.current is not None
                    and window.preview.current.path == str(store / "sharded"), timeout=60_000)


def test_compute_exact_statistics_is_in_an_array_s_context_menu(make_window, qtbot, demo_dir):
    """Right-click an array: Compute Exact Statistics, as in the View menu, on that array once
    it is shown; a folder's menu has it disabled."""
    window, store = _demo_store_window(make_window, qtbot, demo_dir)
    _select(window, qtbot, "disk", str(demo_dir / "stores"))
    menu, action = _menu_action(window, "Compute Exact Statistics")
    assert not action.isEnabled()
    menu.close()
    menu.deleteLater()
    _select(window, qtbot, "zarr", str(store / "plain"))
    qtbot.waitUntil(lambda: window.preview.current is not None
                    and window.preview.current.path == str(store / "plain"), timeout=60_000)
    menu, action = _menu_action(window, "Compute Exact Statistics")
    assert action.isEnabled()
    menu.deleteLater()
    with qtbot.waitSignal(window.exact_stats.finished, timeout=60_000) as done:
        action.trigger()
    assert done.args[0]["stats"]["max"] >= done.args[0]["stats"]["min"]
    assert "Exact statistics" in window.statusBar().currentMessage() or "contrast limits" in window.statusBar().currentMessage()
