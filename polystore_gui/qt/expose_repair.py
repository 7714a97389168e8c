"""Repaint a native window's widgets when a part of it is uncovered.

The viewer pane has a native window of its own, composed through OpenGL
(``napari_build.compose_gl_apart``). On an X11 display without a compositing window manager
(Xvfb, VNC and X2Go sessions on a cluster, plain window managers), a menu, a dialog or
another window that closes over it leaves its pixels behind: the X server asks the window
to redraw what was uncovered (an Expose event), and Qt redraws the OpenGL canvas but not the
raster widgets composed with it (the pane's margins, napari's sliders and controls), so a
strip of the closed menu stays on screen until something else repaints there.

``repaint_on_uncover(widget)`` watches the widget's native window: a part of it to redraw
(an uncover) schedules a repaint of the widgets in that part, which Qt composes with the
canvas again. Mapping the window (its first show, a page switch: all of it to redraw) is
left alone: Qt paints it in full then anyway.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QEvent, QObject, QRect
from qtpy.QtGui import QRegion


def _deleted(window: Any) -> bool:
    # Qt replaces the pane's QWindow when the OpenGL canvas arrives (a new surface type).
    from qtpy import sip

    return bool(sip.isdeleted(window))


class _UncoverWatch(QObject):
    def __init__(self, widget: Any) -> None:
        super().__init__(widget)
        self._widget = widget
        self._window: Any = None
        self.repaints = 0  # uncovers answered (for tests)
        widget.installEventFilter(self)
        self._attach()

    def _attach(self) -> None:
        window = self._widget.windowHandle()
        if window is None or window is self._window:
            return
        if self._window is not None and not _deleted(self._window):
            self._window.removeEventFilter(self)
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if watched is self._widget:
            if kind == QEvent.Type.WinIdChange:
                self._attach()
        elif watched is self._window and kind == QEvent.Type.Paint and not _deleted(watched):
            # Qt 6 gives a window the region the platform asks to redraw as a paint event:
            # all of it when the window is mapped (Qt paints it whole then), a part of it
            # when something that covered that part goes.
            region = event.region()
            size = self._window.size()
            whole = QRegion(QRect(0, 0, size.width(), size.height()))
            if self._window.isExposed() and not whole.subtracted(region).isEmpty():
                self.repaints += 1
                self._widget.update(region)  # the widgets in it repainted, children included
        return False


def repaint_on_uncover(widget: Any) -> _UncoverWatch:
    """Watch ``widget``'s native window (made now or later) and repaint it when uncovered."""
    return _UncoverWatch(widget)


__all__ = ["repaint_on_uncover"]
