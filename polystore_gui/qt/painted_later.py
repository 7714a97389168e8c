"""Widget changes painted at the next event-loop turn, once, instead of at once, each.

``QProgressBar.setValue`` repaints the bar synchronously (``repaint()``, not ``update()``)
whenever its text or bar length changes, and every synchronous repaint flushes the whole
window. Once napari's canvas (a ``QOpenGLWidget``) is in the window, a flush composes the
window with the canvas through OpenGL: 30-120 ms per flush in software GL (Xvfb, llvmpipe),
against 0.5 ms for the same bar in a window without the canvas. A transfer's progress (two
bars every 100 ms) or a chunk scan's (a bar per batch) then froze the window for about
that long several times a second. (Since the canvas is composed in the viewer pane's own
native window, ``napari_build.compose_gl_apart``, a flush outside the pane is a raster one
again; one paint a turn instead of one per change still spares the repaints.)

``painted_later(widget)`` holds the widget's painting for the changes made inside it; when
it ends, the widget asks for one ordinary (deferred) update, which Qt merges with any other
pending paint into the next flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qtpy.QtWidgets import QWidget


@contextmanager
def painted_later(widget: QWidget) -> Iterator[None]:
    """Changes to ``widget`` (and its children) inside this block paint at the next
    event-loop turn, in one update, never synchronously."""
    if not widget.updatesEnabled():  # nested, or held by someone else: theirs to release
        yield
        return
    widget.setUpdatesEnabled(False)
    try:
        yield
    finally:
        widget.setUpdatesEnabled(True)  # schedules one update() of the widget
