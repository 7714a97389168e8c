"""The chunk overlay's vispy nodes are made ahead, as the preview's image's are (issue 19).

The inspector's opening added the overlay layer after the preview's image had taken the one
set of nodes made ahead, and its visual's turn made its own nodes (70-180 ms of the GUI
thread in the inspector step). Once the inspector exists, two sets are kept waiting (made
in idle turns while the view stands still): the image's and the overlay's. Needs GL.
"""

from __future__ import annotations

import os

import pytest

from .helpers import inspect_and_show

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_the_inspectors_opening_draws_its_overlay_with_nodes_made_ahead(qtbot, viewer_window, demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    window = viewer_window
    pane = window.preview.viewer
    nodes = pane._image_nodes
    window.inspector  # noqa: B018 (made ahead, hidden, as the window's idle chain does)
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        window.preview.request("zarr", str(path))
    qtbot.waitUntil(lambda: len(nodes.waiting) == 2, timeout=15_000)  # the still view: both made
    made_ahead = nodes.waiting

    viewer = inspect_and_show(qtbot, window, path)  # the preview again, then the overlay
    canvas = pane.qt_viewer.canvas
    overlay_layer = window.overlay._layer("chunk overlay")
    image_layer = viewer.layers["sharded"]
    assert canvas.layer_to_visual[image_layer]._layer_node in made_ahead
    assert canvas.layer_to_visual[overlay_layer]._layer_node in made_ahead  # no nodes made in its turn
    window.set_inspector_visible(False)


def test_with_no_nodes_waiting_the_overlays_are_made_in_a_turn_before_its_visual(qtbot, viewer_window, demo_dir,
                                                                                  monkeypatch):
    """The inspector opened at once (its preview on its way, no still view yet): the overlay's
    nodes are made in a turn of the addition's own, not in its visual's turn by napari."""
    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    window = viewer_window
    pane = window.preview.viewer
    nodes = pane._image_nodes
    monkeypatch.setattr(pane, "_make_spare_nodes_later", lambda *args: None)  # no still view: none ahead
    nodes.drop()
    made = []  # (the set, whether the overlay's visual existed then)
    real_make = nodes.make

    def make():
        real_make()
        overlay_layer = window.overlay._layer("chunk overlay") if window._overlay is not None else None
        made.append((nodes.waiting[-1], overlay_layer is not None
                     and overlay_layer in pane.qt_viewer.canvas.layer_to_visual))

    monkeypatch.setattr(nodes, "make", make)
    inspect_and_show(qtbot, window, path)
    visual = pane.qt_viewer.canvas.layer_to_visual[window.overlay._layer("chunk overlay")]
    assert [(node, existed) for node, existed in made if node is visual._layer_node] == [(visual._layer_node, False)]
    window.set_inspector_visible(False)
