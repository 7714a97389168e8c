"""Quit (issue 19): the preview is hidden before its layers are taken down, so that napari's
widgets are not laid out again (and drawn) once per layer removed while the window closes."""

from __future__ import annotations


def test_quit_hides_the_preview_before_its_layers_go(make_window, qtbot, monkeypatch):
    window = make_window([], show=True)
    assert window.preview.isVisible()
    seen = []
    real_close = window.preview.close_preview
    monkeypatch.setattr(window.preview, "close_preview",
                        lambda: (seen.append(window.preview.isVisible()), real_close()))
    real_close_viewer = window.preview.viewer.close_viewer
    monkeypatch.setattr(window.preview.viewer, "close_viewer",
                        lambda: (seen.append(window.preview.isVisible()), real_close_viewer()))
    with qtbot.waitSignal(window.shutdownFinished, timeout=10_000):
        window.close()
    assert seen == [False, False]


def test_quit_hides_the_window_before_it_awaits_the_jobs_still_running(make_window, qtbot, monkeypatch):
    """A job that cannot stop at once (the viewer link's probe waits up to a second for an
    answer) is awaited at quit: the window must be gone from the screen by then, not stay
    there frozen."""
    window = make_window([], show=True)
    assert window.isVisible()
    seen = []
    real_wait = window.workers.wait
    monkeypatch.setattr(window.workers, "wait",
                        lambda *args, **kwargs: (seen.append(window.isVisible()), real_wait(*args, **kwargs))[1])
    with qtbot.waitSignal(window.shutdownFinished, timeout=10_000):
        window.close()
    assert seen == [False]
