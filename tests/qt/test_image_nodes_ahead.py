"""An image layer's vispy nodes are made ahead, in an idle turn, and the next preview's
image layer is drawn with them (issue 19: its visual's turn then only wires them up).

napari builds an image layer's three vispy nodes (image, tiled image, volume; their GLSL
functions parsed and composed) in the turn that builds its visual: about two thirds of it.
They depend on nothing of the layer, so the viewer makes one set while nothing is on its
way (qt/image_visuals.py) and hands it to the next image layer.
"""

from __future__ import annotations

import os

import pytest

from .test_layer_steps import IMAGE, PLAIN, panel, show  # noqa: F401 (panel: the fixture)

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]

TIFF = ("disk", "images/z_stack.tif")


def drawn(qtbot, canvas):
    """A frame of the canvas drawn from now on (with every layer's visual)."""
    frames = []
    scene = canvas._scene_canvas
    scene.events.draw.connect(lambda _e: frames.append(1))
    scene.update()
    qtbot.waitUntil(lambda: bool(frames), timeout=10_000)


def test_the_next_image_layer_is_drawn_with_nodes_made_while_nothing_was_on_its_way(qtbot, panel, demo_dir):
    pane = panel.viewer
    nodes = pane._image_nodes
    made_during_steps = []
    real_make = nodes.make

    def make():
        made_during_steps.append(pane.steps_running())
        real_make()

    nodes.make = make
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    qtbot.waitUntil(lambda: nodes.ready, timeout=10_000)
    # The set waiting was made in an idle turn (one made in a step, with none waiting, went
    # to that step's layer at once: see test_overlay_nodes_ahead).
    assert made_during_steps and made_during_steps[-1] is False
    spare = nodes.waiting[0]

    show(qtbot, panel, TIFF[0], demo_dir / TIFF[1])
    canvas = pane.qt_viewer.canvas
    (layer,) = list(pane.viewer.layers)
    visual = canvas.layer_to_visual[layer]
    assert visual._layer_node is spare  # the nodes made ahead, not new ones
    assert layer.visible and visual.node.parent is canvas.view.scene
    drawn(qtbot, canvas)
    assert visual.node.visible
    # The plane's texture is the TIFF's page (nothing of the spare's placeholder left).
    assert tuple(visual.node._data.shape[-2:]) == tuple(layer.data.shape[-2:])
    qtbot.waitUntil(lambda: nodes.ready, timeout=10_000)  # a new set for the preview after
    assert spare not in nodes.waiting


def test_one_set_goes_to_one_image_layer_and_the_others_get_napari_own(qtbot, panel, demo_dir):
    """A preview of two channels and a labels layer: the set waiting goes to the first image
    layer; the second image and the labels layer get their visuals as napari builds them;
    each is drawn."""
    from napari._vispy.layers.labels import VispyLabelsLayer

    pane = panel.viewer
    nodes = pane._image_nodes
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    qtbot.waitUntil(lambda: nodes.ready, timeout=10_000)
    spare, used = nodes.waiting[0], nodes.used

    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    canvas = pane.qt_viewer.canvas
    layers = list(pane.viewer.layers)
    assert [layer.name for layer in layers] == ["nuclei", "membrane", "labels: nuclei"]
    visuals = [canvas.layer_to_visual[layer] for layer in layers]
    assert nodes.used == used + 2  # the second image's set made in a turn of its own, before its visual's
    assert visuals[0]._layer_node is spare
    assert visuals[1]._layer_node is not spare
    assert isinstance(visuals[2], VispyLabelsLayer)
    drawn(qtbot, canvas)
    assert all(v.node.parent is canvas.view.scene for v in visuals)
