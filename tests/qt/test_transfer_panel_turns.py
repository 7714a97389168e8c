"""A drop's Transfers panel appears in one turn and its rows and job start in the next (issue 19).

The dock's first appearance lays the window out again: the tree's name column is refitted,
the canvas beside it resized and redrawn. With the queue's rows added and its job started
in the same turn, the turn that brings a drop's plan back stalled the window 50-65 ms in
the session benchmark. When the panel is on screen already, nothing waits a turn.
"""

from __future__ import annotations

from qtpy.QtCore import QTimer

from .test_drop_planning import _drop, _window_with_src_dst


def _after_show(window, then):
    """``then()`` in a 0 ms call queued right after the dock's ``show()``."""
    dock = window.transfer_dock
    real_show = dock.show

    def show() -> None:
        real_show()
        QTimer.singleShot(0, then)

    dock.show = show


def _started_inside_the_show(window):
    """For each start of the queue: whether it ran inside the call that showed the dock (the
    showing function's frame still on the stack), i.e. in the same event-loop turn."""
    import sys

    showing: list = []
    inside: list[bool] = []
    dock, queue = window.transfer_dock, window.transfer_queue
    real_show, real_start = dock.show, queue.start

    def show() -> None:
        showing.append(sys._getframe(1))  # the function that shows the panel
        real_show()

    def start(items) -> None:
        frame, stack = sys._getframe(1), []
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back
        inside.append(any(f is shower for f in stack for shower in showing))
        real_start(items)

    dock.show, queue.start = show, start
    return inside


def test_the_rows_of_a_first_drop_come_a_turn_after_the_panel(make_window, qtbot, tmp_path):
    window, src, dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    inside = _started_inside_the_show(window)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        assert _drop(window, [src / "a.txt"], dst)
    assert inside == [False]  # started after the showing call returned to the event loop
    assert window.transfer_dock.isVisible()
    assert finished.args[0].done == 1
    assert [row.status for row in window.transfer_queue.rows] == ["done"]
    assert (dst / "a.txt").read_text() == "a"


def test_a_drop_with_the_panel_shown_starts_in_the_plans_turn(make_window, qtbot, tmp_path):
    window, src, dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert _drop(window, [src / "a.txt"], dst)
    assert window.transfer_dock.isVisible()
    started = []
    queue = window.transfer_queue
    real_start = queue.start
    queue.start = lambda items: started.append(window.transfer_dock.isVisible()) or real_start(items)
    with qtbot.waitSignal(queue.transferFinished, timeout=30_000):
        assert _drop(window, [src / "a.txt"], tmp_path)  # a second drop, elsewhere
    assert started == [True]
    assert (tmp_path / "a.txt").read_text() == "a"


def test_nothing_starts_when_the_window_shuts_down_between_the_panel_and_the_rows(make_window, qtbot, tmp_path):
    window, src, dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    shown = []
    _after_show(window, lambda: shown.append(True) or window.shutdown())  # File → Quit before the rows' turn
    assert _drop(window, [src / "a.txt"], dst)
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    qtbot.waitUntil(lambda: window._shut_down, timeout=10_000)
    qtbot.wait(50)  # several turns: the rows' turn has come and gone
    assert window.transfer_queue.rows == []
    assert not (dst / "a.txt").exists()


def test_queues_asked_for_while_the_panel_appears_start_in_the_order_asked(make_window, qtbot, tmp_path):
    """Two plans arriving in the turns between the panel's appearance and its rows' turn:
    the first asked starts first (its rows on top), never the second one ahead of it."""
    window, _src, _dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    assert not window.transfer_dock.isVisible()
    order: list[str] = []
    window._show_panel_then(lambda: order.append("first"))
    window._show_panel_then(lambda: order.append("second"))  # the panel is visible already
    assert order == []  # both wait for the turn after the panel's appearance
    qtbot.waitUntil(lambda: len(order) == 2, timeout=10_000)
    assert order == ["first", "second"]
