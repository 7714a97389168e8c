"""Calling a widget back a little later, never after the widget is gone.

``QTimer.singleShot(ms, callable)`` (PyQt6 has no overload with a context object) keeps a
plain Python callable and calls it even when the widget it works on was deleted in the
meantime: a window closed and destroyed while napari's canvas was being built in steps
had ``_show_body`` run in the next window's life, on a deleted ``QStackedWidget``.
``call_later`` starts a single-shot timer that is a child of ``owner``: destroyed with it,
so the call never happens once the owner is gone.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QObject, QTimer


def call_later(owner: QObject, msec: int, fn: Callable[[], object]) -> QTimer:
    """Call ``fn()`` on ``owner``'s thread after ``msec`` ms, unless ``owner`` is destroyed first."""
    timer = QTimer(owner)
    timer.setSingleShot(True)

    def fire() -> None:
        timer.deleteLater()
        fn()

    timer.timeout.connect(fire)
    timer.start(max(0, int(msec)))
    return timer
