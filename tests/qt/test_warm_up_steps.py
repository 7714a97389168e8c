"""The warm-up's steps: each in an event-loop turn of its own, and its tiny layers removed as
a preview's are (napari_warmup).

A warm-up asked for by a build (a preview waits) chained its steps as 0 ms calls: Qt
delivers those before the timers due in the same turn, so two steps ran back to back (one
stall of two). Its clear was napari's ``layers.clear()`` in one turn (the dims reset at
each removal, the canvas's garbage collection and GL finish: 158 ms wall measured under
load); it now goes in the steps that remove a preview's layers, a turn each, and the dims
end as an empty viewer's.
"""

from __future__ import annotations

import pytest

from .helpers import preview_panel, start_viewer
from .test_next_turn import Between
from .test_viewer_start import pane, pytestmark  # noqa: F401  (the shown pane; needs GL)

# The warm-up's own steps and those of its clear (napari_layers' removal), each a turn.
STEPS = ("_warm_step", "_warm_draw", "_warm_clear", "_drop_old_controls", "_remove_all",
         "_settle_canvas", "_empty_dims", "_draw_real_size", "_map_ahead")


def _watch_steps(monkeypatch, pane) -> Between:
    between = Between()
    for name in STEPS:
        between.watch(monkeypatch, pane, name)
    return between


def test_an_asked_for_warm_up_lets_the_event_loop_turn_between_two_steps(qtbot, pane, monkeypatch):
    """A timer due when one warm-up step ends (the window's heartbeat, input) runs before
    the next step, and the tiny layers go in the removal's steps, one a turn."""
    between = _watch_steps(monkeypatch, pane)
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()  # a preview asks: the warm-up runs before ready, a step a turn
    steps = [entry for entry in between.log if entry != "timer"]
    clear = steps[steps.index("_warm_clear"):]
    # _remove_all drops the controls of layers added since its turn itself: not a step of its own
    assert [s for s in clear if s != "_drop_old_controls"] == [
        "_warm_clear", "_remove_all", "_settle_canvas", "_empty_dims", "_draw_real_size", "_map_ahead"]
    assert clear[1] == "_drop_old_controls"  # the first removal step: the controls
    assert [pair for pair in between.steps_back_to_back() if pair != ("_remove_all", "_drop_old_controls")] == []


def _empty_viewers_dims() -> tuple:
    from napari.components import ViewerModel

    dims = ViewerModel().dims
    return dims.ndim, dims.range, dims.point, dims.order, dims.margin_left, dims.margin_right


@pytest.mark.parametrize("ahead", [True, False], ids=["built ahead", "asked for"])
def test_after_the_warm_up_the_viewer_is_empty_and_the_first_preview_shows(qtbot, demo_dir, ahead):
    with preview_panel(qtbot, 900, 640) as panel:
        pane = panel.viewer
        start_viewer(qtbot, pane, ahead=ahead)
        viewer, qt_viewer = pane.viewer, pane.qt_viewer
        assert len(viewer.layers) == 0 and not qt_viewer.controls.widgets
        dims = viewer.dims
        assert (dims.ndim, dims.range, dims.point, dims.order, dims.margin_left,
                dims.margin_right) == _empty_viewers_dims()
        assert len(viewer.cursor.position) == 2
        assert not pane._canvas_unsettled  # the canvas's clean-up was done
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        layer = viewer.layers[0]
        assert [layer.name for layer in viewer.layers] == ["plain"] and layer.visible
        assert dims.ndim == layer.ndim
        assert len(qt_viewer.dims.slider_widgets) == layer.ndim
        assert dims.nsteps[: layer.ndim - 2] == tuple(layer.data.shape[: layer.ndim - 2])
        qtbot.waitUntil(lambda: layer.loaded and qt_viewer.canvas.native.isVisible(), timeout=30_000)


def test_an_asked_for_warm_up_clears_without_collecting_over_napari(qtbot, pane, monkeypatch):
    """The tiny layers' removal ends with napari's full ``gc.collect()`` (the canvas's
    clean-up): before ``ready`` froze napari's millions of objects out of the collector's
    sight, that one turn was 130-250 ms (measured under load). They are frozen before the
    asked-for warm-up starts, as they are before a warm-up built ahead."""
    import gc

    gc.unfreeze()  # as in a fresh process: an earlier viewer of this one froze them already
    frozen_at_clean_up = []
    real = pane._settle_canvas

    def settle() -> None:
        if pane._canvas_unsettled:
            frozen_at_clean_up.append(gc.get_freeze_count())
        real()

    monkeypatch.setattr(pane, "_settle_canvas", settle)
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()
    assert len(frozen_at_clean_up) == 1
    assert frozen_at_clean_up[0] > 100_000  # napari's modules' objects, out of the collection


@pytest.mark.parametrize("ahead", [True, False], ids=["built ahead", "asked for"])
def test_a_warm_up_layer_is_added_in_turns_of_its_own(qtbot, pane, monkeypatch, ahead):
    """napari's ``add_image`` makes a layer's controls, inserts it into the list and builds
    its vispy visual in one call: the warm-up's first layer was the start-up's longest GUI
    turn (57-63 ms of CPU measured under load, 94-113 ms profiled). The warm-up does these
    in three steps, each in an event-loop turn of its own (as a preview's layers are), and
    the tiny layers are still added, drawn and removed. Before them, the empty canvas is
    drawn once in a turn of its own: the first layer's draw paid what any first draw costs
    too (35-77 ms of CPU under load)."""
    from napari._qt.layer_controls.qt_layer_controls_container import QtLayerControlsContainer
    from napari._qt.qt_viewer import QtViewer
    from napari.components.layerlist import LayerList

    between = _watch_steps(monkeypatch, pane)
    for name in ("_warm_empty_draw", "_warm_insert", "_warm_visual"):
        between.watch(monkeypatch, pane, name)
    done: list[tuple[str, str, int]] = []  # (what, layer name, the step it ran in)

    def logged(cls, method, what):
        real = getattr(cls, method)

        def wrapper(self, *args, **kwargs):
            result = real(self, *args, **kwargs)
            value = args[-1] if args else None
            layer = getattr(value, "value", value)
            name = getattr(layer, "name", "")
            if name.startswith("warm-up"):
                done.append((what, name, len([s for s in between.log if s != "timer"])))
            return result

        monkeypatch.setattr(cls, method, wrapper)

    logged(QtLayerControlsContainer, "_add", "controls")
    logged(LayerList, "insert", "inserted")
    logged(QtViewer, "_add_layer", "visual")
    start_viewer(qtbot, pane, ahead=ahead)
    names = {name for _what, name, _step in done}
    assert names == {"warm-up image", "warm-up heat map"}  # both warm-up layers were added
    for name in names:
        steps = {what: step for what, layer, step in done if layer == name}
        assert set(steps) == {"controls", "inserted", "visual"}
        assert len(set(steps.values())) == 3, steps  # three steps, not one call
    steps = [s for s in between.log if s != "timer"]
    # the empty canvas drawn first (what any first draw costs), apart from the first layer's draw
    assert steps.index("_warm_empty_draw") < steps.index("_warm_step") < steps.index("_warm_draw")
    adding = {"_warm_empty_draw", "_warm_step", "_warm_insert", "_warm_visual", "_warm_draw"}
    assert [pair for pair in between.steps_back_to_back() if set(pair) & adding] == []  # each a turn of its own
    assert len(pane.viewer.layers) == 0 and not pane.qt_viewer.controls.widgets  # and all removed
