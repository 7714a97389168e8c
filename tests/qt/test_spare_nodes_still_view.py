"""The image nodes made ahead (qt/image_visuals.py) wait for a still view (issue 15/19).

They were made 250 ms after a preview's layer steps, whatever the user did meanwhile: a
user stepping the slider right after a preview got the 20-40 ms turn in the middle of the
steps (bench_preview's slider steps). Now they are made once the view has stood still,
every slice loaded, for that long.
"""

from __future__ import annotations

import os

import pytest

from .slider_steps import SliderSteps
from .test_layer_steps import panel, show  # noqa: F401 (panel: the fixture)

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]

TIFF = ("disk", "images/z_stack.tif")  # 24 planes


def test_no_nodes_are_made_while_the_slider_steps_and_one_set_after(qtbot, panel, demo_dir):
    pane = panel.viewer
    nodes = pane._image_nodes
    made_while = []
    sliders = []  # the slider stepping (made once the preview is shown)
    real_make = nodes.make

    def make():
        made_while.append(any(slider.running for slider in sliders))
        real_make()

    nodes.make = make
    show(qtbot, panel, TIFF[0], demo_dir / TIFF[1])
    viewer = pane.viewer
    axis = 0
    assert viewer.dims.nsteps[axis] == 24
    slider = SliderSteps(viewer, range(24), axis)  # stepped from the preview's end on (>= 0.7 s)
    sliders.append(slider)
    qtbot.waitUntil(lambda: not slider.running, timeout=30_000)
    assert not any(made_while)  # never while the slider moves
    qtbot.waitUntil(lambda: nodes.ready, timeout=10_000)  # made once the view stands still
    assert viewer.dims.current_step[axis] == 23


def test_one_wait_at_a_time_and_a_slice_that_never_arrives_is_given_up(qtbot, panel, demo_dir, monkeypatch):
    """Each run of layer steps asks for the nodes when it ends: while one wait is due, the
    next asks start none of their own (one look each 250 ms, not one more per preview), and
    a still view whose slice never arrives (a failed read leaves the layer not loaded) is
    looked at a bounded number of times, not every 250 ms for the rest of the session."""
    from polystore_gui.qt import napari_layers

    pane = panel.viewer
    show(qtbot, panel, TIFF[0], demo_dir / TIFF[1])
    qtbot.waitUntil(lambda: not pane._spare_waiting, timeout=10_000)

    class NoNodesYet:  # as before the nodes are made: asked for at each run's end
        ready = full = False

        def make(self) -> None:
            looks.append("made")

        def drop(self) -> None:  # the viewer closed
            pass

    monkeypatch.setattr(pane, "_image_nodes", NoNodesYet())
    monkeypatch.setattr(napari_layers, "SPARE_UNLOADED_LOOKS", 3)
    state = pane._view_state()
    monkeypatch.setattr(pane, "_view_state", lambda: (*state[:-1], False))  # a slice that never arrives
    looks: list[str] = []
    real_later = napari_layers.call_later

    def counting_later(owner, ms, fn):
        looks.append("look")
        return real_later(owner, ms, fn)

    monkeypatch.setattr(napari_layers, "call_later", counting_later)
    for _run_end in range(3):  # three runs' ends in a row
        pane._make_spare_nodes_later()
    assert looks == ["look"]  # one wait, not three
    qtbot.waitUntil(lambda: not pane._spare_waiting, timeout=10_000)
    qtbot.waitUntil(lambda: len(looks) == 3 and not pane._spare_waiting, timeout=10_000)
    qtbot.wait(600)  # two more delays: no look of its own any more
    assert looks == ["look", "look", "look"]  # given up after the bounded looks, never made
