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
