"""The viewer pane's own native window is mapped once during the build, out of sight (issue 17).

Its first composition (swap chain, compositor programs, first swap: ~20 ms) is then paid
before the first preview rather than inside the turn that shows it. The user must not see
it: it is mapped with all but one pixel outside the window, the page the user sees does not
change, and afterwards the pane is hidden, in its place, and works as before.
"""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QEvent, QObject, QPoint, QRect

from .helpers import preview_panel, start_viewer

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


class _Shows(QObject):
    """At each show of the pane: the part of it inside its window, and the page the user saw."""

    def __init__(self, panel) -> None:
        super().__init__()
        self.panel = panel
        self.seen: list[tuple[int, object]] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show:
            top = obj.window()
            inside = QRect(obj.mapTo(top, QPoint(0, 0)), obj.size()).intersected(top.rect())
            area = max(inside.width(), 0) * max(inside.height(), 0)
            self.seen.append((area, self.panel.stack.currentWidget()))
        return False


@pytest.mark.parametrize("ahead", [True, False], ids=["built ahead", "asked for"])
def test_the_pane_window_is_mapped_once_out_of_sight_then_shown_in_place(qtbot, demo_dir, ahead):
    with preview_panel(qtbot, 900, 640) as panel:
        pane = panel.viewer
        page_before = panel.stack.currentWidget()
        shows = _Shows(panel)
        pane.installEventFilter(shows)
        start_viewer(qtbot, pane, ahead=ahead)
        # Mapped once, one pixel of it inside the window, the user's page unchanged.
        assert shows.seen == [(1, page_before)]
        assert not pane.isVisible() and panel.stack.currentWidget() is page_before
        assert pane.geometry() == panel.stack.contentsRect()  # back in its place
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        native = pane.qt_viewer.canvas.native
        qtbot.waitUntil(lambda: native.isVisible() and pane.viewer.layers[0].loaded, timeout=30_000)
        assert pane.geometry() == panel.stack.contentsRect()
        assert pane.mapTo(panel, QPoint(0, 0)) == panel.stack.mapTo(panel, QPoint(0, 0))
        assert shows.seen[-1] == (pane.width() * pane.height(), pane)  # the whole pane, for real now
        # Hidden for another page and shown again, as before.
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("disk", str(demo_dir / "README.txt"))
        assert not pane.isVisible()
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        assert pane.isVisible() and native.isVisible() and pane.geometry() == panel.stack.contentsRect()
        pane.removeEventFilter(shows)


def test_closing_while_the_pane_is_mapped_ahead_leaves_it_hidden(qtbot):
    with preview_panel(qtbot, 900, 640) as panel:
        pane = panel.viewer
        closed = []

        class CloseOnShow(QObject):
            def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
                if event.type() == QEvent.Type.Show and not closed:
                    closed.append(True)
                    pane.close_viewer()  # quitting while the window is mapped ahead
                return False

        closer = CloseOnShow()
        pane.installEventFilter(closer)
        with qtbot.captureExceptions() as exceptions:
            pane.start()
            qtbot.waitUntil(lambda: bool(closed), timeout=120_000)
            qtbot.waitUntil(lambda: not pane.isVisible(), timeout=10_000)
        pane.removeEventFilter(closer)
        assert [str(e[1]) for e in exceptions] == []
        assert not pane.is_ready
