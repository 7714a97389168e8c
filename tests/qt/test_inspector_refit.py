"""Opening the chunk inspector narrows the canvas: a view still at the preview's fit is fitted
again (the image's right part was cut until Home was pressed); a view the user zoomed or
panned is left as it is (issue 19). Needs GL: run under Xvfb."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _previewed(qtbot, window, path):
    """The array's row selected (as a click): previewed and fitted."""
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        _select(window, path)
    viewer = window.preview.viewer.viewer
    qtbot.waitUntil(lambda: len(viewer.layers) > 0, timeout=10_000)
    return viewer


def _seen_world(viewer):
    """(top, left, bottom, right) of the plane's world coordinates the canvas shows."""
    camera = viewer.scene.camera
    height, width = (np.asarray(viewer.canvas.size, float) / camera.zoom)
    cy, cx = camera.center[-2:]
    return cy - height / 2, cx - width / 2, cy + height / 2, cx + width / 2


def _image_inside(viewer, image):
    top, left, bottom, right = _seen_world(viewer)
    (y0, x0), (y1, x1) = image.extent.world[0, -2:], image.extent.world[1, -2:]
    return top <= y0 and left <= x0 and bottom >= y1 and right >= x1


def _open_and_inspected(qtbot, window, path):
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=30_000):
        window.inspector_action.trigger()  # View → Chunk Inspector, the array selected
    assert window.inspector.address == ("zarr", str(path))


def _select(window, path):
    index = window.tree_model.find("zarr", str(path))
    assert index.isValid()
    window.tree.setCurrentIndex(window.proxy.mapFromSource(index))


def _wide_window(viewer_window, demo_dir, qtbot):
    from .helpers import expand

    store = demo_dir / "stores" / "experiment.zarr"
    expand(viewer_window, qtbot, "disk", str(demo_dir))
    expand(viewer_window, qtbot, "disk", str(demo_dir / "stores"))
    qtbot.waitUntil(lambda: viewer_window.tree_model.find("zarr", str(store)).isValid(), timeout=15_000)
    expand(viewer_window, qtbot, "zarr", str(store))
    return store / "sharded"


def _wide_window_at(qtbot, viewer_window, demo_dir, width):
    """The window ``width`` px wide (laid out so) on the demo store, expanded: its sharded array."""
    viewer_window.resize(width, 900)
    qtbot.waitUntil(lambda: viewer_window.width() == width, timeout=5_000)
    return _wide_window(viewer_window, demo_dir, qtbot)


def test_a_view_at_the_preview_fit_is_fitted_again_to_the_narrower_canvas(qtbot, viewer_window, demo_dir):
    path = _wide_window(viewer_window, demo_dir, qtbot)
    viewer = _previewed(qtbot, viewer_window, path)
    image = viewer.layers["sharded"]
    assert _image_inside(viewer, image)  # the preview's fit
    # After the first preview, the inspector is made ahead, hidden, before the user asks.
    qtbot.waitUntil(lambda: viewer_window._inspector is not None, timeout=10_000)
    assert not viewer_window._inspector.isVisible()
    width_before = viewer.canvas.size[1]
    _open_and_inspected(qtbot, viewer_window, path)
    qtbot.waitUntil(lambda: viewer.canvas.size[1] < width_before, timeout=5_000)
    # The whole image in the narrower canvas, as after Home.
    qtbot.waitUntil(lambda: _image_inside(viewer, image), timeout=5_000)


def test_a_view_the_user_zoomed_is_left_as_it_is(qtbot, viewer_window, demo_dir):
    path = _wide_window(viewer_window, demo_dir, qtbot)
    viewer = _previewed(qtbot, viewer_window, path)
    camera = viewer.scene.camera
    camera.zoom = camera.zoom * 2.5
    camera.center = (camera.center[0], camera.center[1] + 3.0, camera.center[2] + 5.0)
    zoom, center = camera.zoom, tuple(camera.center)
    width_before = viewer.canvas.size[1]
    _open_and_inspected(qtbot, viewer_window, path)
    qtbot.waitUntil(lambda: viewer.canvas.size[1] < width_before, timeout=5_000)
    assert camera.zoom == pytest.approx(zoom)
    assert tuple(camera.center) == pytest.approx(center)


def test_a_row_chosen_while_the_inspector_opens_is_the_one_it_shows(qtbot, viewer_window, demo_dir):
    """The inspection of the row selected at the click comes a turn or two later: a row
    chosen in between (here one that is no array) wins, not the one of the click."""
    from polystore_gui.qt.later import next_turn

    path = _wide_window(viewer_window, demo_dir, qtbot)
    _previewed(qtbot, viewer_window, path)
    readme = viewer_window.tree_model.find("disk", str(demo_dir / "README.txt"))
    assert readme.isValid()
    viewer_window.inspector_action.trigger()  # opens on the array
    viewer_window.tree.setCurrentIndex(viewer_window.proxy.mapFromSource(readme))  # at once, another row
    later: list[int] = []
    next_turn(viewer_window, lambda: next_turn(viewer_window, lambda: next_turn(viewer_window, lambda: later.append(1))))
    qtbot.waitUntil(lambda: bool(later), timeout=5_000)  # the opening's turns are through
    assert viewer_window.inspector.address is None
    assert "README.txt is not a zarr array" in viewer_window.inspector.summary.text()
