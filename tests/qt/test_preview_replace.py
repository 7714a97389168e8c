"""Replacing one preview by the next on the GUI thread: napari runs a full garbage
collection at every ``layers.clear()``, even of an empty list (a Windows driver workaround
in its canvas); the preview clears once, not twice."""

from __future__ import annotations

import gc
import os

import pytest

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_the_next_preview_collects_garbage_once(qtbot, demo_dir, monkeypatch):
    with preview_panel(qtbot, 800, 600) as panel:
        with qtbot.waitSignal(panel.viewer.ready, timeout=120_000):
            panel.viewer.start()
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        collections = []
        real = gc.collect
        monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or real(*a))
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("disk", str(demo_dir / "images" / "z_stack.tif"))
        assert [layer.name for layer in panel.viewer.viewer.layers] == ["z_stack.tif"]
        assert len(collections) == 1
