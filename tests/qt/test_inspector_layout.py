"""With the chunk inspector open the canvas keeps a useful share of the window: the user is
there to see the chunks on the image. At 1600 px it was about 350 px wide, narrower than
the tree beside it (a user trial, session 12). Closing the inspector gives the tree back
the width it had. Needs GL: run under Xvfb."""

from __future__ import annotations

import os

import pytest

from .test_controls_width import _cut_off
from .test_inspector_refit import _open_and_inspected, _previewed, _wide_window, _wide_window_at

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _canvas_width(window) -> int:
    return window.preview.viewer.qt_viewer.canvas.native.width()


@pytest.mark.parametrize("width", [1600, 1280])
def test_the_canvas_gets_the_room_with_the_inspector_open(qtbot, viewer_window, demo_dir, width):
    path = _wide_window_at(qtbot, viewer_window, demo_dir, width)
    _previewed(qtbot, viewer_window, path)
    tree_before = viewer_window.splitter.sizes()[0]
    _open_and_inspected(qtbot, viewer_window, path)
    qtbot.waitUntil(lambda: viewer_window.inspector.isVisible(), timeout=5_000)
    tree, _preview, inspector = viewer_window.splitter.sizes()

    def canvas_widest() -> bool:
        canvas = _canvas_width(viewer_window)
        if width < 1600:  # the three panes' minimums take most of it: wider than the tree at least
            return canvas >= tree and canvas >= 0.24 * width
        return canvas >= tree and canvas >= inspector and canvas >= 0.3 * width

    qtbot.waitUntil(canvas_widest, timeout=5_000)
    assert tree >= viewer_window._left.minimumWidth()  # the tree keeps Name and Kind
    controls = viewer_window.preview.viewer.qt_viewer.controls
    qtbot.waitUntil(lambda: not _cut_off(controls), timeout=3_000)
    viewer_window.set_inspector_visible(False)
    qtbot.waitUntil(lambda: viewer_window.inspector.isHidden(), timeout=5_000)
    qtbot.waitUntil(lambda: abs(viewer_window.splitter.sizes()[0] - tree_before) <= 2, timeout=5_000)
    assert viewer_window.splitter.sizes()[2] == 0


def test_a_plain_array_s_controls_are_whole_at_1280_with_the_inspector_open(qtbot, viewer_window, demo_dir):
    """At 1280 px about 50 px of a plain array's layer controls were clipped (session 12)."""
    path = _wide_window_at(qtbot, viewer_window, demo_dir, 1280)
    _previewed(qtbot, viewer_window, path)
    _open_and_inspected(qtbot, viewer_window, path)
    _previewed(qtbot, viewer_window, path.parent / "plain")  # its sliders' row wants more room
    preview, inspector = viewer_window.preview, viewer_window.inspector
    qtbot.waitUntil(lambda: preview.geometry().right() < inspector.geometry().left(), timeout=3_000)
    qtbot.waitUntil(lambda: not _cut_off(viewer_window.preview.viewer.qt_viewer.controls), timeout=3_000)


def test_closing_the_inspector_fits_a_view_at_the_fit_to_the_wider_canvas(qtbot, viewer_window, demo_dir):
    """Closing it left the image at the narrow canvas's size in the wide one (a new user's
    pass, session 13): a view still at the fit is fitted again, as on opening."""
    from polystore_gui.qt import chunk_refit

    path = _wide_window(viewer_window, demo_dir, qtbot)
    viewer = _previewed(qtbot, viewer_window, path)
    _open_and_inspected(qtbot, viewer_window, path)
    qtbot.waitUntil(lambda: chunk_refit.at_fit(viewer), timeout=5_000)  # fitted to the narrow canvas
    narrow = viewer.canvas.size[1]
    viewer_window.set_inspector_visible(False)
    qtbot.waitUntil(lambda: viewer.canvas.size[1] > narrow, timeout=5_000)
    qtbot.waitUntil(lambda: chunk_refit.at_fit(viewer), timeout=5_000)
