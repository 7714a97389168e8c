"""napari's layer controls stay readable when the chunk inspector narrows the preview: the
values of opacity and gamma, "continuous", the blending's name (they were cut off on the
right: a user trial, session 12). Needs GL: run under Xvfb."""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QPoint
from qtpy.QtWidgets import QWidget

from .test_inspector_refit import _open_and_inspected, _previewed, _wide_window_at

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _cut_off(controls):
    """The current layer controls' visible widgets not wholly shown: narrower on screen than
    laid out (clipped by the panel, the side splitter or the preview pane around them)."""
    panel = controls.currentWidget()
    cut = []
    for child in [panel, *panel.findChildren(QWidget)]:
        if not child.isVisible() or child.width() <= 0:
            continue
        seen = child.visibleRegion().boundingRect()
        left = child.mapTo(child.window(), QPoint(0, 0)).x()
        edge = controls.window().width()
        if seen.width() < child.width() or left + child.width() > edge:
            cut.append((type(child).__name__, child.objectName(), seen.width(), child.width()))
    return cut


@pytest.mark.parametrize("width", [1500, 1280])
def test_the_layer_controls_are_not_cut_off_with_the_inspector_open(qtbot, viewer_window, demo_dir, width):
    path = _wide_window_at(qtbot, viewer_window, demo_dir, width)
    _previewed(qtbot, viewer_window, path)
    controls = viewer_window.preview.viewer.qt_viewer.controls
    qtbot.waitUntil(lambda: controls.currentWidget() is not None and controls.currentWidget().isVisible(), timeout=10_000)
    _open_and_inspected(qtbot, viewer_window, path)
    qtbot.waitUntil(lambda: viewer_window.inspector.isVisible(), timeout=5_000)
    qtbot.waitUntil(lambda: not _cut_off(controls), timeout=3_000)
    assert viewer_window.preview.viewer.qt_viewer.canvas.size[1] > 100  # the canvas still shown


def test_the_layer_controls_are_not_cut_off_when_an_array_is_shown_with_the_inspector_open(qtbot, viewer_window, demo_dir):
    path = _wide_window_at(qtbot, viewer_window, demo_dir, 1280)
    viewer_window.set_inspector_visible(True)  # open first, nothing previewed yet
    qtbot.waitUntil(lambda: viewer_window.inspector.isVisible(), timeout=5_000)
    _previewed(qtbot, viewer_window, path)
    controls = viewer_window.preview.viewer.qt_viewer.controls
    qtbot.waitUntil(lambda: controls.currentWidget() is not None and controls.currentWidget().isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: not _cut_off(controls), timeout=3_000)
    sizes = viewer_window.splitter.sizes()
    assert sizes[0] >= viewer_window._left.minimumWidth() and sizes[2] > 0  # the tree and the inspector stay


@pytest.mark.parametrize("width", [1500, 1280])
def test_moving_to_another_array_with_the_inspector_open_overlaps_nothing(qtbot, viewer_window, demo_dir, width):
    """The preview never grows over the inspector (its minimum capped by the room there is:
    at 1280 px the three panes' minimums do not all fit); where there is room, the controls
    are whole."""
    path = _wide_window_at(qtbot, viewer_window, demo_dir, width)
    _previewed(qtbot, viewer_window, path)
    _open_and_inspected(qtbot, viewer_window, path)
    _previewed(qtbot, viewer_window, path.parent / "plain")  # its sliders' row wants more room
    splitter, preview, inspector = viewer_window.splitter, viewer_window.preview, viewer_window.inspector
    qtbot.waitUntil(lambda: preview.geometry().right() < inspector.geometry().left(), timeout=3_000)
    assert inspector.geometry().right() < splitter.width()
    if width == 1500:
        qtbot.waitUntil(lambda: not _cut_off(viewer_window.preview.viewer.qt_viewer.controls), timeout=3_000)
