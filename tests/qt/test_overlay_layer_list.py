"""The chunk inspector's layers leave napari's layer list when it closes (issue 13).

The overlay hides its layers instead of removing them (removing them while the image
stays crashed Mesa: commit c3370a3); their rows must not stay in the layer list. Needs GL.
"""

from __future__ import annotations

import os

import pytest

from .helpers import inspect_and_show, overlay_settled

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def listed(window):
    """The names in napari's layer list widget as the user sees it (rows not hidden), top first."""
    view = window.preview.viewer.qt_viewer.layers
    model = view.model()
    names = []
    for row in range(model.rowCount()):
        if not view.isRowHidden(row) and view.visualRect(model.index(row, 0)).height() > 0:
            names.append(model.index(row, 0).data())
    return names


def test_closing_the_inspector_takes_its_layers_out_of_the_layer_list(qtbot, viewer_window, demo_dir):
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    assert listed(viewer_window) == ["chunk overlay", "sharded"]
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
        viewer_window.inspector.select_chunk((1, 0, 0))
    overlay_settled(qtbot, viewer_window)  # the chunk's plane: its raster built in a worker
    assert listed(viewer_window) == ["chunk overlay", "sharded"]  # the outline is drawn in the same layer
    viewer_window.set_inspector_visible(False)
    qtbot.waitUntil(lambda: listed(viewer_window) == ["sharded"], timeout=5_000)
    # Hidden, not removed (the Mesa crash fix stays), and the image is still shown.
    assert len(viewer.layers) > 1
    assert viewer.layers["sharded"].visible
    # Opened again on the same array: the same layers come back, listed.
    inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    qtbot.waitUntil(lambda: "chunk overlay" in listed(viewer_window), timeout=10_000)
    assert listed(viewer_window) == ["chunk overlay", "sharded"]


def test_the_overlay_turned_off_leaves_the_list_and_comes_back(qtbot, viewer_window, demo_dir):
    inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    viewer_window.inspector.grid_check.setChecked(False)
    assert listed(viewer_window) == ["chunk overlay", "sharded"]  # the heat map still shows
    viewer_window.inspector.heat_check.setChecked(False)
    assert listed(viewer_window) == ["sharded"]
    viewer_window.inspector.grid_check.setChecked(True)
    overlay_settled(qtbot, viewer_window)  # its raster built in a worker
    assert listed(viewer_window) == ["chunk overlay", "sharded"]
