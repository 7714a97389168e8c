"""The chunk inspector is made ahead, hidden, in idle turns (issue 19): opening it does not
make it (the click that opened it paid its import and construction, ~80 ms)."""

from __future__ import annotations

import logging

from qtpy.QtCore import QObject, QTimer

from polystore_gui.qt import chunk_ahead, chunk_inspector


def _count_constructions(monkeypatch) -> list[object]:
    made: list[object] = []
    original = chunk_inspector.ChunkInspector.__init__

    def counting(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(chunk_inspector.ChunkInspector, "__init__", counting)
    return made


def _spy_chains(monkeypatch) -> list[list]:
    chains: list[list] = []
    original = chunk_ahead.run_ahead

    def spying(owner, steps, step_ms=None, **kwargs):
        chains.append(list(steps))
        original(owner, steps, step_ms, **kwargs)

    monkeypatch.setattr(chunk_ahead, "run_ahead", spying)
    return chains


def test_the_inspector_is_made_hidden_once_napari_is_prepared(make_window, qtbot, tmp_path, monkeypatch):
    made = _count_constructions(monkeypatch)
    chains = _spy_chains(monkeypatch)
    window = make_window([tmp_path], show=True)
    assert window._inspector is None  # nothing made at start: the window paints first
    window.preview.viewer.prepared.emit()  # napari's viewer built and warmed ahead
    qtbot.waitUntil(lambda: window._inspector is not None, timeout=10_000)
    assert len(made) == 1
    assert not window.inspector.isVisible() and not window.inspector_action.isChecked()
    assert window.splitter.indexOf(window.inspector) == 2  # in the inspector's place
    assert window.splitter.sizes()[2] == 0  # the preview keeps the width
    window.preview.viewer.prepared.emit()  # said again: nothing made again
    assert len(chains) == 1 and len(made) == 1


def test_opening_the_inspector_made_ahead_does_not_make_it(make_window, qtbot, tmp_path, monkeypatch):
    made = _count_constructions(monkeypatch)
    window = make_window([tmp_path], show=True)
    window.prepare_inspector()
    qtbot.waitUntil(lambda: window._inspector is not None, timeout=10_000)
    ahead = window.inspector
    window.inspector_action.trigger()  # View → Chunk Inspector
    assert window.inspector is ahead and window.inspector.isVisible()
    assert window.splitter.sizes()[2] > 0
    assert len(made) == 1


def test_the_inspector_asked_for_before_the_chain_is_through_is_made_once(make_window, qtbot, tmp_path, monkeypatch):
    made = _count_constructions(monkeypatch)
    chains = _spy_chains(monkeypatch)
    window = make_window([tmp_path], show=True)
    window.prepare_inspector()
    window.inspector_action.trigger()  # before the chain's steps: made on the spot
    assert window.inspector.isVisible() and len(made) == 1
    for step in chains[0]:  # the rest of the chain: nothing left to do
        step()
    assert len(made) == 1 and window.inspector.isVisible()


def test_each_step_ahead_is_a_turn_of_its_own(qtbot):
    """Between two steps the event loop runs what was due (input, timers, paints)."""
    owner = QObject()
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        QTimer.singleShot(0, lambda: seen.append("due"))

    chunk_ahead.run_ahead(owner, [first, lambda: seen.append("second"), lambda: seen.append("third")])
    qtbot.waitUntil(lambda: "third" in seen, timeout=5_000)
    assert seen == ["first", "due", "second", "third"]


def test_a_failing_step_ends_the_chain_with_a_log_line(qtbot, caplog):
    owner = QObject()
    seen: list[str] = []

    def broken() -> None:
        raise ImportError("no such module")

    with caplog.at_level(logging.INFO, logger="polystore_gui.qt.chunk_ahead"):
        chunk_ahead.run_ahead(owner, [broken, lambda: seen.append("after")])
        # A chain started beside it, one step longer: its last step comes after "after" would have.
        chunk_ahead.run_ahead(owner, [lambda: None, lambda: None, lambda: seen.append("beside")])
        qtbot.waitUntil(lambda: "beside" in seen, timeout=5_000)
    assert seen == ["beside"]
    assert "could not be made ahead" in caplog.text and "no such module" in caplog.text


def test_a_window_shut_down_makes_no_inspector_ahead(make_window, qtbot, tmp_path, monkeypatch):
    """Quitting while the chain runs: no panel made, so no job of its started on a closed pool."""
    made = _count_constructions(monkeypatch)
    chains = _spy_chains(monkeypatch)
    window = make_window([tmp_path], show=True)
    window.prepare_inspector()
    window.shutdown()
    beside: list[int] = []
    chunk_ahead.run_ahead(window, [lambda: None] * (len(chains[0]) + 1) + [lambda: beside.append(1)])
    qtbot.waitUntil(lambda: bool(beside), timeout=10_000)  # the window's chain's turns are past
    assert made == [] and window._inspector is None


def test_every_module_ahead_exists():
    """A name in the list that no longer exists would end the chain at its step."""
    import importlib

    for name in chunk_ahead.MODULES:
        importlib.import_module(name)
