"""A preview's layers go on the canvas one a GUI turn, after the last preview's are off (issue 19).

Adding one napari layer builds its vispy visual, its layer controls and its list row
(40-70 ms of GUI time on a warm viewer), and removing the last preview's layers tears
theirs down and collects garbage. Done in one event-loop turn, a three-layer OME-Zarr
stalled the window 0.3 s. These tests watch napari's layer list and assert that no turn
adds more than one layer, nor adds one and removes the old ones, while the preview still
ends with its layers shown.
"""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QTimer

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


class TurnLog:
    """Each layer inserted into or removed from napari's list, with the event-loop turn it
    happened in: a 0 ms timer queued at every change moves the turn on, so two changes that
    see the same turn number were made without the event loop running between them."""

    def __init__(self, viewer):
        self.turn = 0
        self.changes: list[tuple[str, str, int]] = []
        viewer.layers.events.inserted.connect(lambda e: self._note("+", e.value.name))
        viewer.layers.events.removed.connect(lambda e: self._note("-", e.value.name))

    def _note(self, what: str, name: str) -> None:
        self.changes.append((what, name, self.turn))
        QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        self.turn += 1

    def turns_adding_more_than_one(self) -> list[int]:
        turns = [turn for what, _name, turn in self.changes if what == "+"]
        return sorted({turn for turn in turns if turns.count(turn) > 1})

    def turns_adding_and_removing(self) -> list[int]:
        added = {turn for what, _name, turn in self.changes if what == "+"}
        return sorted(added & {turn for what, _name, turn in self.changes if what == "-"})


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 800, 700, start=True) as panel:
        yield panel


def show(qtbot, panel, backend, path):
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request(backend, str(path))


IMAGE = ("ome_zarr", "stores/experiment.zarr/image")  # nuclei, membrane and a labels layer
PLAIN = ("zarr", "stores/experiment.zarr/plain")


def test_each_layer_of_a_preview_is_added_in_a_turn_of_its_own(qtbot, panel, demo_dir):
    log = TurnLog(panel.viewer.viewer)
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    assert [what for what, _name, _turn in log.changes] == ["+", "+", "+"]
    assert log.turns_adding_more_than_one() == []
    # Shown once all are in: previewShown reports them, visible, with their controls.
    layers = list(panel.viewer.viewer.layers)
    assert [layer.name for layer in layers] == ["nuclei", "membrane", "labels: nuclei"]
    assert panel.shown_layers == layers
    assert all(layer.visible for layer in layers)
    assert panel.stack.currentWidget() is panel.viewer


def test_the_next_preview_removes_the_old_layers_before_and_apart_from_its_own(qtbot, panel, demo_dir):
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    log = TurnLog(panel.viewer.viewer)
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    assert [(what, name) for what, name, _turn in log.changes] == [
        ("-", "plain"), ("+", "nuclei"), ("+", "membrane"), ("+", "labels: nuclei")]
    assert log.turns_adding_and_removing() == []
    assert log.turns_adding_more_than_one() == []
    assert [layer.name for layer in panel.viewer.viewer.layers] == ["nuclei", "membrane", "labels: nuclei"]


def test_old_layers_are_hidden_as_soon_as_another_preview_replaces_them(qtbot, panel, demo_dir):
    """Removed a turn later, the old layers are hidden at once: nothing more of a closed
    preview is read or drawn in between."""
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    old = list(panel.viewer.viewer.layers)
    panel.viewer.clear()  # what the next preview's arrival does first
    assert all(layer in panel.viewer.viewer.layers for layer in old)  # not yet removed...
    assert not any(layer.visible for layer in old)  # ...but no longer shown
    qtbot.waitUntil(lambda: len(panel.viewer.viewer.layers) == 0, timeout=10_000)


def test_a_preview_asked_while_another_is_being_added_replaces_it(qtbot, panel, demo_dir):
    """Selecting another array while the last one's layers are still going on: only the
    new one's layers stay, and previewShown says only the new one."""
    shown = []
    panel.previewShown.connect(lambda preview: shown.append(preview.path))
    viewer = panel.viewer.viewer
    # The moment the first layer of the OME-Zarr is in, the plain array is asked for.
    asked = []

    def on_inserted(_event):
        if not asked:
            asked.append(True)
            panel.request(PLAIN[0], str(demo_dir / PLAIN[1]))

    viewer.layers.events.inserted.connect(on_inserted)
    panel.request(IMAGE[0], str(demo_dir / IMAGE[1]))
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    viewer.layers.events.inserted.disconnect(on_inserted)
    qtbot.waitUntil(lambda: [layer.name for layer in viewer.layers] == ["plain"], timeout=10_000)
    assert shown == [str(demo_dir / PLAIN[1])]
    assert [layer.name for layer in panel.shown_layers] == ["plain"]


def test_napari_refusing_a_layer_is_said_in_the_pane(qtbot, panel, demo_dir, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise ValueError("no such colormap")

    monkeypatch.setattr(panel.viewer, "_make_image", refuse)
    with qtbot.waitSignal(panel.previewFailed, timeout=30_000) as failed:
        panel.request(PLAIN[0], str(demo_dir / PLAIN[1]))
    assert failed.args[0] == "napari cannot show this array: no such colormap"
    assert panel.stack.currentWidget() is panel.message
    assert "no such colormap" in panel.message.text()


def test_a_layers_controls_come_before_it_and_its_visual_a_turn_after(qtbot, panel, demo_dir):
    """napari's add_layer builds the layer's controls and vispy visual in the turn that
    inserts it; here the controls are made in the turn before (the inserted layer becomes
    the active one, whose controls show) and the visual in a turn after."""
    qt_viewer = panel.viewer.qt_viewer
    at_insert = []

    def on_inserted(event):
        layer = event.value
        at_insert.append((layer.name, layer in qt_viewer.controls.widgets, layer in qt_viewer.canvas.layer_to_visual))

    panel.viewer.viewer.layers.events.inserted.connect(on_inserted)
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    assert at_insert == [("nuclei", True, False), ("membrane", True, False), ("labels: nuclei", True, False)]
    layers = list(panel.viewer.viewer.layers)
    assert all(layer in qt_viewer.canvas.layer_to_visual for layer in layers)
    assert set(qt_viewer.controls.widgets) == set(layers)
    assert qt_viewer.controls.currentWidget() is qt_viewer.controls.widgets[layers[0]]  # nuclei's, active


def test_a_layer_is_made_in_a_turn_before_its_controls(qtbot, panel, demo_dir, monkeypatch):
    """The layer's controls (napari's QtImageControls: the larger part of making a layer
    and its controls) are built in a turn of their own, after the layer is made and
    before it is inserted."""
    pane = panel.viewer
    controls = pane.qt_viewer.controls
    log = TurnLog(pane.viewer)
    real_make, real_add = pane._make_image, controls._add
    monkeypatch.setattr(pane, "_make_image", lambda *a, **k: log._note("made", "") or real_make(*a, **k))
    monkeypatch.setattr(controls, "_add", lambda event: log._note("controls", event.value.name) or real_add(event))
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    turns = {what: [turn for w, _name, turn in log.changes if w == what] for what in ("made", "controls", "+")}
    assert len(turns["made"]) == len(turns["controls"]) == len(turns["+"]) == 1
    assert turns["made"][0] < turns["controls"][0] < turns["+"][0]
    layer = pane.viewer.layers[0]
    assert layer.visible and controls.currentWidget() is controls.widgets[layer]


@pytest.mark.parametrize("hops", [0, 5])
def test_a_preview_stopped_halfway_leaves_no_controls_or_visual_behind(qtbot, panel, demo_dir, hops):
    """The next preview's clear arriving right after the first layer is inserted (its
    visual not built yet: hops=0), or after the second layer's controls are made but
    before it is inserted (hops=5: five turns later, the first layer's vispy nodes and its
    visual, the second layer and its controls made in turns of their own; each hop taken as the steps take theirs,
    ``later.next_turn``, so that each hop runs between two steps): napari's canvas and
    controls end empty, with no error."""
    from polystore_gui.qt.later import next_turn

    viewer = panel.viewer.viewer
    qt_viewer = panel.viewer.qt_viewer
    seen = []

    def clear_after(n):
        if n:
            next_turn(panel, lambda: clear_after(n - 1))
            return
        seen.append(([layer.name for layer in viewer.layers], [layer.name for layer in qt_viewer.canvas.layer_to_visual],
                     sorted(layer.name for layer in qt_viewer.controls.widgets)))
        panel.viewer.clear()

    def on_inserted(_event):
        viewer.layers.events.inserted.disconnect(on_inserted)
        clear_after(hops)

    viewer.layers.events.inserted.connect(on_inserted)
    panel.request(IMAGE[0], str(demo_dir / IMAGE[1]))
    qtbot.waitUntil(lambda: bool(seen) and len(viewer.layers) == 0, timeout=30_000)
    if hops == 0:
        assert seen == [(["nuclei"], [], ["nuclei"])]  # inserted, no visual yet
    else:
        assert seen == [(["nuclei"], ["nuclei"], ["membrane", "nuclei"])]  # membrane's controls, not inserted
    assert not qt_viewer.canvas.layer_to_visual and not qt_viewer.controls.widgets
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])  # and the next preview shows as usual
    assert [layer.name for layer in viewer.layers] == ["plain"]


def test_the_dims_take_the_first_layers_shape_in_a_turn_before_its_insertion(qtbot, panel, demo_dir):
    """napari rebuilds every slider widget of its dims when their number changes (35-40 ms):
    a preview's first layer, on the emptied 2-D viewer, used to pay it in its insertion's
    turn. The sliders are made a turn before; the insertion finds them."""
    viewer = panel.viewer.viewer
    log = TurnLog(viewer)
    viewer.dims.events.ndim.connect(lambda e: log._note("ndim", str(e.value)))
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    assert viewer.dims.ndim == 3
    changes = [(what, name) for what, name, _turn in log.changes]
    assert changes == [("ndim", "3"), ("+", "plain")]  # shaped first, once
    assert len({turn for _what, _name, turn in log.changes}) == 2  # in turns of their own
    assert len(panel.viewer.qt_viewer.dims.slider_widgets) == 3
    assert panel.viewer.qt_viewer.dims._displayed_sliders == [True, False, False]  # the plane slider


def test_dims_shaped_for_a_layer_never_inserted_are_reset_by_the_clear(qtbot, panel, demo_dir):
    """A preview stopped between the dims' shaping and its layer's insertion leaves no
    slider behind once the viewer is cleared."""
    viewer = panel.viewer.viewer
    shaped = []

    def on_ndim(_event):
        if not shaped:
            shaped.append(True)
            panel.viewer.clear()  # the preview is closed the moment the dims take its shape

    viewer.dims.events.ndim.connect(on_ndim)
    panel.request(PLAIN[0], str(demo_dir / PLAIN[1]))
    qtbot.waitUntil(lambda: bool(shaped) and not panel.viewer.steps_running(), timeout=30_000)
    viewer.dims.events.ndim.disconnect(on_ndim)
    assert len(viewer.layers) == 0
    assert viewer.dims.ndim == 2 and len(panel.viewer.qt_viewer.dims.slider_widgets) == 2


@pytest.mark.parametrize("first, second", [
    ((16, 64, 64), (64, 64)),
    ((16, 64, 64), (2, 8, 64, 64)),
    ((2, 8, 64, 64), (16, 64, 64)),
])
def test_a_swap_between_previews_of_different_dimensions_ends_with_the_new_ones_sliders(
        qtbot, panel, tmp_path, first, second):
    """The old layers go before the new ones come (a layer removed while another image
    stays has crashed Mesa on a later draw: see ``ChunkOverlay._discard``); the swap ends
    with the new layer alone, shown, with one slider per dimension."""
    import numpy as np
    import zarr

    for name, shape in (("first", first), ("second", second)):
        array = zarr.create_array(str(tmp_path / f"{name}.zarr"), shape=shape, chunks=shape, dtype="uint8")
        array[...] = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape) % 251
    viewer = panel.viewer.viewer
    show(qtbot, panel, "zarr", tmp_path / "first.zarr")
    log = TurnLog(viewer)
    show(qtbot, panel, "zarr", tmp_path / "second.zarr")
    assert [what for what, _name, _turn in log.changes] == ["-", "+"]
    assert len(viewer.layers) == 1 and viewer.layers[0].data.shape == second and viewer.layers[0].visible
    assert viewer.dims.ndim == len(second)
    assert len(panel.viewer.qt_viewer.dims.slider_widgets) == len(second)


def test_thirty_previews_across_2d_3d_4d_and_rgb_end_each_with_its_own_layer(qtbot, panel, tmp_path):
    """Swaps between arrays of the same and of different dimensions, RGB among them, one
    after another: each preview ends with its own layer alone, shown, its sliders one per
    dimension, and no visual or controls left of the last one."""
    import numpy as np
    import zarr

    shapes = {"a2": (64, 64), "b3": (6, 64, 64), "c4": (2, 4, 64, 64), "d3": (5, 48, 48), "rgb": (64, 64, 3)}
    for name, shape in shapes.items():
        array = zarr.create_array(str(tmp_path / f"{name}.zarr"), shape=shape, chunks=shape, dtype="uint8")
        array[...] = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape) % 251
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    order = ["b3", "d3", "b3", "a2", "a2", "c4", "c4", "d3", "rgb", "rgb", "b3", "a2", "rgb", "c4", "d3"] * 2
    for name in order:
        show(qtbot, panel, "zarr", tmp_path / f"{name}.zarr")
        assert len(viewer.layers) == 1 and viewer.layers[0].visible, name
        layer = viewer.layers[0]
        assert layer.data.shape == shapes[name]
        assert len(qt_viewer.dims.slider_widgets) == layer.ndim == viewer.dims.ndim
        assert set(qt_viewer.canvas.layer_to_visual) == {layer} and set(qt_viewer.controls.widgets) == {layer}


def test_the_contrast_search_poll_stops_when_the_layers_show_ended_without_following_it(
        qtbot, panel, monkeypatch):
    """Review: a remote array's later contrast limits (``contrast_later``) were polled
    every 25 ms until taken; a layer whose show failed or was stopped after its insertion
    is never followed, and the poll must not go on every 25 ms for as long as it stays.
    (Since issue 15's finding nothing polls at all: test_contrast_search_signal.py.)"""
    import weakref
    from types import SimpleNamespace

    import numpy as np

    from polystore_gui.model.contrast_search import ContrastSearch
    from polystore_gui.qt import napari_layers

    pane = panel.viewer
    layer = pane.viewer.add_image(np.zeros((4, 4), dtype=np.uint8), name="not followed")
    done = ContrastSearch(lambda cancelled: [SimpleNamespace(from_data=True, limits=(0.0, 9.0))])
    done.result(timeout=10)
    polled_again: list[object] = []
    monkeypatch.setattr(napari_layers, "call_later", lambda _owner, _ms, fn: polled_again.append(fn))
    assert not pane.steps_running()
    pane._take_contrast_later(weakref.ref(layer), done)
    assert polled_again == []


def test_the_old_layers_go_in_three_turns_controls_list_then_the_canvas_clean_up(qtbot, panel, demo_dir, monkeypatch):
    """napari's ``clear`` of a preview's layers takes down their controls, removes them and
    ends with a full garbage collection and a GL finish, all in one turn (50-75 ms for
    a two-channel preview). Here: the controls in a turn of their own, then the list in
    one batch, then the canvas's clean-up; the next preview is shown as before, and no
    control or visual of the old one is left."""
    import gc

    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    log = TurnLog(viewer)
    qt_viewer.controls.widgetRemoved.connect(lambda _i: log._note("controls", ""))
    with_controls = []  # whether a removed layer still had its real controls (napari's have .layer)
    viewer.layers.events.removed.connect(
        lambda e: with_controls.append(hasattr(qt_viewer.controls.widgets.get(e.value), "layer")))
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: log._note("gc", "") or real(*a))
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    turns = {what: {turn for w, _name, turn in log.changes if w == what} for what in ("controls", "-", "gc", "+")}
    assert [name for what, name, _turn in log.changes if what == "-"] == ["labels: nuclei", "membrane", "nuclei"]
    assert with_controls == [False, False, False]  # taken down before
    assert len(turns["-"]) == 1  # the list cleared in one batch...
    assert min(turns["controls"]) < min(turns["-"])  # ...after a turn taking down the controls
    assert len(turns["gc"]) == 1 and min(turns["gc"]) > max(turns["-"])  # the clean-up after it, once
    assert max(turns["gc"]) < min(turns["+"])  # and all before the new layer
    assert [layer.name for layer in viewer.layers] == ["plain"] and viewer.layers[0].visible
    assert set(qt_viewer.controls.widgets) == set(viewer.layers) == set(qt_viewer.canvas.layer_to_visual)
    assert qt_viewer.controls.currentWidget() is qt_viewer.controls.widgets[viewer.layers[0]]


def test_the_canvas_clean_up_collects_in_one_turn_and_finishes_gl_in_the_next(qtbot, panel, demo_dir, monkeypatch):
    """napari's clean-up after a removal is a full garbage collection then a GL finish (a
    wait for the GL pipeline) and the scene graph's update: in one turn, 25-130 ms. Here
    the collection has a turn of its own, the finish the turn after it; both once, after
    the old layers went and before the new preview's first layer."""
    import gc

    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    log = TurnLog(viewer)
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: log._note("gc", "") or real_collect(*a))
    context = qt_viewer.canvas._scene_canvas.context
    real_finish = context.finish
    monkeypatch.setattr(context, "finish", lambda: log._note("finish", "") or real_finish())
    show(qtbot, panel, PLAIN[0], demo_dir / PLAIN[1])
    turns = {what: [turn for w, _name, turn in log.changes if w == what] for what in ("-", "gc", "finish", "+")}
    assert len(turns["gc"]) == 1 and len(turns["finish"]) == 1
    assert max(turns["-"]) < turns["gc"][0] < turns["finish"][0] < min(turns["+"])
    assert not qt_viewer.canvas._pause_scene_graph
    assert [layer.name for layer in viewer.layers] == ["plain"] and viewer.layers[0].visible
    assert set(qt_viewer.canvas.layer_to_visual) == set(viewer.layers)


def test_steps_stopped_between_the_removal_and_the_clean_up_settle_the_canvas(qtbot, panel, demo_dir):
    """The canvas's clean-up held back by a removal is never lost: the show's steps stopped
    right after its old layers are gone (before the clean-up's turn) run it, and the next
    preview's layer is drawn."""
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    pane = panel.viewer
    viewer, canvas = pane.viewer, pane.qt_viewer.canvas
    stopped = []

    def on_removed(_event):
        if not stopped and not len(viewer.layers):
            stopped.append(canvas._pause_scene_graph)
            token = pane._staging
            QTimer.singleShot(0, lambda: pane.stop_steps(token))  # before the clean-up's turn: it never runs

    viewer.layers.events.removed.connect(on_removed)
    panel.request(PLAIN[0], str(demo_dir / PLAIN[1]))
    qtbot.waitUntil(lambda: bool(stopped) and not pane.steps_running(), timeout=30_000)
    viewer.layers.events.removed.disconnect(on_removed)
    assert stopped == [True]  # the clean-up was held back when the steps stopped...
    assert not canvas._pause_scene_graph  # ...and ran all the same
    show(qtbot, panel, "disk", demo_dir / "images" / "z_stack.tif")
    assert [layer.name for layer in viewer.layers] == ["z_stack.tif"]
    layer = viewer.layers[0]
    assert layer.visible and canvas.layer_to_visual[layer].node.parent is canvas.view.scene


def test_quitting_between_the_controls_turn_and_the_clear_leaves_nothing_broken(qtbot, panel, demo_dir):
    """The old layers' controls are taken down a turn before the layers: a quit (or any
    other removal) in between removes the layers without looking for those controls."""
    show(qtbot, panel, IMAGE[0], demo_dir / IMAGE[1])
    pane = panel.viewer
    viewer, controls = pane.viewer, pane.qt_viewer.controls
    closed = []

    def on_controls_removed(_index):
        if not closed:
            closed.append(len(viewer.layers))
            QTimer.singleShot(0, pane.close_viewer)  # the turn after the controls', before the clear's

    controls.widgetRemoved.connect(on_controls_removed)
    panel.request(PLAIN[0], str(demo_dir / PLAIN[1]))
    qtbot.waitUntil(lambda: bool(closed) and not len(pane._model.layers), timeout=30_000)
    assert closed == [3]  # the old layers were all still listed when the quit came
    assert not controls.widgets  # napari's removal took the stand-ins too
