"""Swapping previews resizes nothing (issue 19): the layer controls' panel takes the width it
keeps (the widest controls it showed) when a preview's layers are made, before their first
frame (it took it at the next preview's removal), and the notes line above the preview keeps
the tallest height its notes needed (cleared at each request, their lines changed its height):
the canvas, resized, was drawn again in those steps (software GL: a full frame)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
from qtpy.QtCore import QEvent, QObject

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


class _Resizes(QObject):
    def __init__(self, widget) -> None:
        super().__init__()
        self.seen: list[tuple[int, int]] = []
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize:
            self.seen.append((event.size().width(), event.size().height()))
        return False


@pytest.mark.parametrize("width", [1000, 520])  # 520: the notes above the preview wrap
def test_the_next_previews_resize_neither_the_canvas_nor_the_controls_panel(qtbot, tmp_path, width):
    # Large planes (shown through screen-sized levels): with these the panel widened, and the
    # canvas was resized, at the first swap.
    names = ("a", "b", "c")
    for n, name in enumerate(names):
        tifffile.imwrite(tmp_path / f"{name}.tif", np.full((2, 2048, 2048), n + 1, np.uint8))
    with preview_panel(qtbot, width, 800, start=True) as panel:
        with qtbot.waitSignal(panel.previewShown, timeout=60_000):
            panel.request("disk", str(tmp_path / "a.tif"))
        assert "large plane" in panel.status.text()  # a note: cleared at each request, set again
        qt_viewer = panel.viewer.qt_viewer
        canvas = _Resizes(qt_viewer.canvas.native)
        for name in names[1:]:
            with qtbot.waitSignal(panel.previewShown, timeout=60_000):
                panel.request("disk", str(tmp_path / f"{name}.tif"))
            qtbot.waitUntil(lambda: qt_viewer.canvas.native.isVisible(), timeout=5_000)
            qtbot.wait(200)  # the layouts the swap posted have run
            assert [layer.name for layer in panel.shown_layers] == [f"{name}.tif"]
        if width == 1000:
            assert canvas.seen == []
        else:  # narrow: its height kept (the notes' lines); its width may still move by a pixel
            height = qt_viewer.canvas.native.height()
            assert [h for _w, h in canvas.seen if h != height] == []
            assert all(abs(w - qt_viewer.canvas.native.width()) <= 1 for w, _h in canvas.seen)
