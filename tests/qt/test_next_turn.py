"""Work split into short GUI turns lets the event loop in between (issue 19, ``later.next_turn``).

A step that queued the next one as a 0 ms call had it delivered before the timers due in
the same turn (a posted event): the window's timers, and the session benchmark's heartbeat,
saw two steps as one stall. These tests start a timer in each step (a real one, due at
once) and check that it fires before the next step runs.
"""

from __future__ import annotations

from qtpy.QtCore import QObject, QTimer

from polystore_gui.qt import napari_build
from polystore_gui.qt.later import call_later, next_turn

from .test_viewer_start import pane, pytestmark  # noqa: F401  (the shown pane; needs GL)


class Between:
    """A log of ``step`` and ``timer`` entries: at each watched call a zero-interval timer
    is started, which logs ``timer`` when the event loop runs it."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(lambda: self.log.append("timer"))

    def step(self, name: str = "step") -> None:
        self.log.append(name)
        self.timer.start()

    def watch(self, monkeypatch, owner, name: str) -> None:
        real = getattr(owner, name)

        def watched(*args, **kwargs):
            self.step(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, watched)

    def steps_back_to_back(self) -> list[tuple[str, str]]:
        return [(a, b) for a, b in zip(self.log, self.log[1:]) if "timer" not in (a, b)]


def chain(qtbot, schedule) -> Between:
    between = Between()
    owner = QObject()
    done = []

    def run(left: int) -> None:
        between.step()
        if left:
            schedule(owner, lambda: run(left - 1))
        else:
            done.append(True)

    schedule(owner, lambda: run(4))
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)
    qtbot.waitUntil(lambda: between.log[-1] == "timer", timeout=5_000)
    return between


def test_next_turn_lets_the_timers_due_run_between_two_steps(qtbot):
    between = chain(qtbot, next_turn)
    assert between.log == ["step", "timer"] * 5


def test_a_0_ms_call_does_not_which_is_why_next_turn_exists(qtbot):
    """What next_turn is for (Qt's behaviour, kept here so a change in Qt is noticed)."""
    between = chain(qtbot, lambda owner, fn: call_later(owner, 0, fn))
    assert between.steps_back_to_back()


def test_the_viewer_builds_in_turns_the_event_loop_gets_between(qtbot, pane, monkeypatch):
    import napari._qt.qt_viewer as qt_viewer_module
    import napari._vispy.canvas as canvas_module

    between = Between()
    between.watch(monkeypatch, napari_build, "open_gl")
    between.watch(monkeypatch, canvas_module.VispyCanvas, "__init__")
    between.watch(monkeypatch, qt_viewer_module.QtViewer, "__init__")
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()
    assert [entry for entry in between.log if entry != "timer"] == ["open_gl", "__init__", "__init__"]
    assert between.steps_back_to_back() == []
