"""Calling a widget back a little later, never after the widget is gone.

``QTimer.singleShot(ms, callable)`` with a plain Python callable (a lambda) calls it even
when the widget it works on was deleted in the meantime: a window closed and destroyed
while napari's canvas was being built in steps had ``_show_body`` run in the next window's
life, on a deleted ``QStackedWidget``. ``call_later`` hands Qt a bound method of a small
QObject that is a child of ``owner`` instead: PyQt then makes that object the call's
receiver, and Qt drops the call when the receiver is destroyed with its owner.

It stays a ``singleShot``, so a 0 ms call keeps its place among the other queued calls
of the event loop (a zero-interval ``QTimer`` would run at another moment).
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QObject, QTimer


class _Call(QObject):
    """One delayed call, owned by (and destroyed with) the object it works on."""

    def __init__(self, owner: QObject, fn: Callable[[], object]) -> None:
        super().__init__(owner)
        self._fn: Callable[[], object] | None = fn

    def run(self) -> None:
        fn, self._fn = self._fn, None
        self.deleteLater()
        if fn is not None:
            fn()


def call_later(owner: QObject, msec: int, fn: Callable[[], object]) -> None:
    """Call ``fn()`` after ``msec`` ms on the GUI thread, unless ``owner`` is destroyed first."""
    QTimer.singleShot(max(0, int(msec)), _Call(owner, fn).run)


# A step's next step is due this long after it (issue 19), not 0 ms: see next_turn.
TURN_MS = 1


def next_turn(owner: QObject, fn: Callable[[], object]) -> None:
    """Call ``fn()`` in an event-loop turn of its own, after what is due when it is asked
    for (timers, the window's heartbeat, input), unless ``owner`` is destroyed first: for
    the next step of work split into short GUI turns.

    A 0 ms ``singleShot`` is a posted event, and Qt delivers posted events before the
    timers that are due in the same turn: a chain of 0 ms steps ran two steps back to back
    whenever a timer was waiting (a 15 ms step and a 25 ms one, one 40 ms stall). A 1 ms
    timer takes its place among the timers, behind those already due."""
    call_later(owner, TURN_MS, fn)
