"""The viewer's slider names its axis in full ("axis 0", "z"): after a preview the label
read "..." (napari sized it from the slider's width before the slider was laid out; a new
user's pass, session 13). Needs GL: run under Xvfb."""

from __future__ import annotations

import os

import pytest
from qtpy.QtWidgets import QLineEdit

from .test_inspector_refit import _previewed, _wide_window

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _shown_labels(window):
    """(full text, text shown) of each displayed slider's axis label."""
    dims = window.preview.viewer.qt_viewer.dims
    return [(slider.axis_label.text(), QLineEdit.text(slider.axis_label))
            for index, slider in enumerate(dims.slider_widgets) if dims._displayed_sliders[index]]


def test_the_slider_s_axis_name_is_shown_whole(qtbot, viewer_window, demo_dir):
    path = _wide_window(viewer_window, demo_dir, qtbot)
    for name in ("sharded", "plain"):
        _previewed(qtbot, viewer_window, path.parent / name)
        qtbot.waitUntil(lambda: bool(_shown_labels(viewer_window)), timeout=5_000)
        qtbot.waitUntil(lambda: all(full == shown for full, shown in _shown_labels(viewer_window)), timeout=3_000)
        assert _shown_labels(viewer_window) == [("axis 0", "axis 0")]
