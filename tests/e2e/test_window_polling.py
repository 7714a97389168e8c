"""The browser polls the viewer's port every few seconds with no user action (issue 14).

A program on that port that answers with pickles must get nothing run: the window's
``ViewerLink`` polls it for real (its worker pool, its timer) and names it "another program".
"""

from __future__ import annotations

from polystore_gui.model import streaming
from tests.model.test_streaming import fake_viewer  # noqa: F401  (the fixture: a port answering with pickles)


def test_the_window_polling_a_port_that_answers_with_pickles_runs_none_of_them(qtbot, fake_viewer):  # noqa: F811
    from polystore_gui.qt.viewer_link import NAPARI, ViewerLink, note_for
    from polystore_gui.qt.workers import WorkerPool

    port, marker, served = fake_viewer
    pool = WorkerPool()
    link = ViewerLink(pool, napari_port=port, fiji_port=port)
    link._timer.setInterval(100)  # the window's 4 s, shortened: five polls in well under a second
    try:
        link.start()
        qtbot.waitUntil(lambda: len(served) >= 5 and NAPARI in link.states, timeout=20_000)
    finally:
        link.stop()
        pool.cancel_all(close=True)
        assert pool.wait(10_000)
    assert not marker.exists()
    assert link.states[NAPARI].running is streaming.Running.OTHER
    assert "taken by another program" in note_for(NAPARI, link.states[NAPARI])
