"""The Transfers panel is built while a drop's plan is on its way (issue 19).

Built the first time it was shown, the panel (its module imported, its widgets made) was
part of the turn that brings the plan back, with the dock's appearance and the canvas
beside it laid out again. It is now built in a turn of its own right after the drop, while
the plan is read in its worker; the plan's turn only shows it.
"""

from __future__ import annotations

import threading

from polystore_gui.model import transfers

from .test_drop_planning import _drop, _window_with_src_dst


def test_the_transfers_panel_is_built_while_the_drop_is_planned(make_window, qtbot, tmp_path, monkeypatch):
    window, src, dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    release = threading.Event()
    real_landing = transfers.landing

    def held_landing(destination):  # the plan held in its worker until the panel is checked
        assert release.wait(20), "never released"
        return real_landing(destination)

    monkeypatch.setattr(transfers, "landing", held_landing)
    assert window._transfer_queue is None
    try:
        assert _drop(window, [src / "a.txt"], dst)
        qtbot.waitUntil(lambda: window._transfer_queue is not None, timeout=10_000)
        assert not window.transfer_dock.isVisible()  # built, not shown before the plan says what
    finally:
        release.set()
    qtbot.waitUntil(lambda: (dst / "a.txt").exists() and window.transfer_dock.isVisible(), timeout=30_000)
    assert (dst / "a.txt").read_text() == "a"
