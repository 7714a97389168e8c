"""Quit (issue 19): the shown layers are taken off the closing viewer without napari's work
for a viewer that goes on (its dims reset for an empty list, a full garbage collection, a GL
finish): napari's ``layers.clear()`` was most of the quit's one 50-60 ms turn."""

from __future__ import annotations

import os

import pytest

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 800, 700, start=True) as panel:
        yield panel


def test_closing_the_viewer_takes_its_layers_off_without_resetting_collecting_or_finishing(
        qtbot, panel, demo_dir, monkeypatch):
    import gc

    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("disk", str(demo_dir / "images" / "z_stack.tif"))
    pane = panel.viewer
    viewer, qt_viewer = pane.viewer, pane.qt_viewer
    canvas, controls = qt_viewer.canvas, qt_viewer.controls
    layers = list(viewer.layers)
    assert [layer.name for layer in layers] == ["z_stack.tif"] and viewer.dims.ndim == 3
    visuals = [canvas.layer_to_visual[layer] for layer in layers]
    closed = []
    for visual in visuals:
        real = visual.close
        monkeypatch.setattr(visual, "close", lambda real=real: (closed.append(True), real())[1])
    work = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: (work.append("gc"), real_collect(*a))[1])
    context = canvas._scene_canvas.context
    real_finish = context.finish
    monkeypatch.setattr(context, "finish", lambda: (work.append("finish"), real_finish())[1])
    dims_reset = []
    viewer.dims.events.ndim.connect(lambda event: dims_reset.append(event.value))

    pane.close_viewer()

    assert not len(pane._model.layers)  # every layer taken off napari's list...
    assert closed == [True] and not canvas.layer_to_visual  # ...its visual closed...
    assert not controls.widgets  # ...and its controls gone
    assert work == []  # no full collection, no GL finish at quit
    assert dims_reset == [] and pane._model.dims.ndim == 3  # and the dims not rebuilt for an empty list
