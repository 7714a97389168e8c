"""Discovery's answer fills the tree in a turn with no worker importing beside it: the
viewers' probe and the recovery of interrupted transfers (both import modules in
workers) start once the filled tree has been painted, as napari's import does, and they
still start. Measured: a worker importing while the tree lays out and paints made every
call from Qt into the model wait for the interpreter lock (start-up stalls of 60-120 ms
with another thread importing napari)."""

from __future__ import annotations

from polystore_gui.qt import main_window
from polystore_gui.qt.main_window import MainWindow

from .helpers import PaintCounter


def test_the_viewer_probe_and_the_transfer_recovery_wait_for_the_filled_trees_paint(qtbot, monkeypatch):
    started: dict[str, int] = {}  # what started -> the tree's paints by then
    window = MainWindow([])
    qtbot.addWidget(window)
    painted = PaintCounter([window.tree.viewport()])
    monkeypatch.setattr(main_window, "_recover_interrupted_transfers",
                        lambda: (started.setdefault("recovery", painted.count), [])[1])
    monkeypatch.setattr(window.viewer_link, "start", lambda: started.setdefault("probe", painted.count))
    at_fill: list[tuple[dict[str, int], int]] = []
    window.discoveryFinished.connect(lambda _d: at_fill.append((dict(started), painted.count)))
    window.show()
    qtbot.waitExposed(window)
    try:
        window.start_background(viewer=False)
        qtbot.waitUntil(lambda: bool(at_fill), timeout=60_000)
        assert at_fill[0][0] == {}  # nothing started in the turn that fills the tree
        qtbot.waitUntil(lambda: "probe" in started and "recovery" in started, timeout=10_000)
        # ... and by the time they started, the filled tree had been painted.
        assert min(started.values()) > at_fill[0][1]
        assert window.tree_model.rowCount() > 0
    finally:
        window.shutdown()


def test_a_window_quit_before_the_delay_starts_neither(qtbot, monkeypatch, discovery):
    started: list[str] = []
    window = MainWindow([])
    qtbot.addWidget(window)
    monkeypatch.setattr(main_window, "_recover_interrupted_transfers", lambda: started.append("recovery") or [])
    monkeypatch.setattr(window.viewer_link, "start", lambda: started.append("probe"))
    window.shutdown()
    window._after_tree_painted(discovery)  # the delayed call, arriving after the quit
    assert started == []
