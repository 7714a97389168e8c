"""napari's Qt side is built in pieces, one event-loop turn each (issue 19).

``QtViewer(model)`` was one 100-130 ms GUI turn, built ahead at start-up: the start-up's
longest stall. Now its shortcut bindings, a first GL context, its vispy canvas and the
``QtViewer`` around that canvas come in turns of their own (qt/napari_build.py). These tests
check the turns, that the viewer built so still answers its keys (the canvas's key-map
handler is the one that follows the active layer), and that a pane closed halfway leaves no
canvas behind.
"""

from __future__ import annotations

import warnings

import numpy as np
from qtpy.QtCore import Qt, QTimer

from polystore_gui.qt import napari_build
from polystore_gui.qt.napari_view import ViewerState

from .test_viewer_start import pane, pytestmark  # noqa: F401  (the shown pane; needs GL)


class Turns:
    """The event-loop turn each watched call ran in: a 0 ms timer queued at every call moves
    the turn on, so two calls that see the same number ran without the loop between them."""

    def __init__(self):
        self.turn = 0
        self.calls: list[tuple[str, int]] = []

    def watch(self, monkeypatch, module, name):
        real = getattr(module, name)

        def watched(*args, **kwargs):
            self.calls.append((name, self.turn))
            QTimer.singleShot(0, self._next)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, watched)

    def _next(self):
        self.turn += 1


def test_the_shortcuts_gl_canvas_and_qtviewer_are_made_in_turns_of_their_own(qtbot, pane, monkeypatch):
    import napari._qt.qt_viewer as qt_viewer_module
    import napari._vispy.canvas as canvas_module

    turns = Turns()
    for name in ("bind_shortcuts", "open_gl"):
        turns.watch(monkeypatch, napari_build, name)
    turns.watch(monkeypatch, canvas_module.NapariSceneCanvas, "__init__")
    turns.watch(monkeypatch, canvas_module.VispyCanvas, "__init__")
    turns.watch(monkeypatch, qt_viewer_module.QtViewer, "__init__")
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()
    names = [name for name, _turn in turns.calls]
    # shortcuts, GL, vispy's scene canvas (the canvas's GL widget), napari's canvas around it, QtViewer
    assert names == ["bind_shortcuts", "open_gl", "__init__", "__init__", "__init__"]
    assert len({turn for _name, turn in turns.calls}) == 5  # each in a turn of its own
    assert pane.qt_viewer.canvas.native.isVisible()  # laid out in the viewer, shown


def test_the_viewer_built_in_pieces_answers_its_keys(qtbot, pane):
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()
    viewer = pane.viewer
    labels = viewer.add_labels(np.zeros((16, 16), np.uint8), name="labels")
    assert viewer.layers.selection.active is labels
    native = pane.qt_viewer.canvas.native
    qtbot.keyClick(native, Qt.Key.Key_P)  # napari's paint mode, a shortcut of the active layer
    assert labels.mode == "paint"
    qtbot.keyClick(native, Qt.Key.Key_E)
    assert labels.mode == "erase"
    qtbot.keyClick(native, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # the viewer's: 3D view
    assert viewer.dims.ndisplay == 3


def test_a_pane_closed_after_its_canvas_is_made_leaves_no_canvas(qtbot, pane, monkeypatch):
    from qtpy import sip

    made = []
    real = napari_build.make_canvas

    def make_then_close(model, parent, **kwargs):
        canvas = real(model, parent, **kwargs)
        made.append(canvas)
        QTimer.singleShot(0, pane.close_viewer)  # runs before the QtViewer's turn, queued after
        return canvas

    monkeypatch.setattr(napari_build, "make_canvas", make_then_close)
    with qtbot.captureExceptions() as exceptions:
        pane.build()
        qtbot.waitUntil(lambda: pane.state is ViewerState.CLOSED, timeout=120_000)
        # The build's next step drops the canvas it finds on a closed pane, and builds nothing.
        qtbot.waitUntil(lambda: bool(made) and sip.isdeleted(made[0].native), timeout=10_000)
    assert [str(e[1]) for e in exceptions] == []
    assert pane.qt_viewer is None and pane.state is ViewerState.CLOSED


def test_the_shortcuts_are_bound_ahead_for_real(qtbot, pane, monkeypatch):
    """Review: bound outside a QtViewer, napari's actions could not resolve their
    ``QtViewer`` type hints (an in_n_out UserWarning at every start; under pytest's
    warnings-as-errors the ahead binding stopped halfway and the QtViewer turn bound them
    all again, the stall this step exists to move)."""
    monkeypatch.setattr(napari_build, "_shortcuts_bound", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        napari_build.bind_shortcuts()
    assert napari_build._shortcuts_bound


def _called(emitter):
    """The objects whose bound methods ``emitter`` (napari's, or a psygnal signal) calls."""
    slots = getattr(emitter, "_slots", None)
    if slots is not None:  # psygnal
        return [getattr(s.dereference(), "__self__", None) for s in slots]
    return [cb[0]() for cb in emitter.callbacks if isinstance(cb, tuple)]


def test_a_canvas_the_fallback_discards_gets_no_more_of_the_models_events(qtbot, pane, monkeypatch):
    """Issue 15 (last session's final read): when napari's QtViewer refuses the canvas made
    ahead, the fallback builds its own; the discarded canvas (and its camera) kept their
    subscriptions to the viewer model (napari drops some when the widget is destroyed, never
    the camera's, the dims', the grid's nor the zoom box's), so every zoom moved it too."""
    import napari.qt

    made = []
    real_make = napari_build.make_canvas
    monkeypatch.setattr(napari_build, "make_canvas",
                        lambda model, parent, **kw: made.append(real_make(model, parent, **kw)) or made[-1])

    class RefusesCanvas(napari.qt.QtViewer):  # a napari whose constructor takes no canvas_class
        def __init__(self, *args, **kwargs):
            if "canvas_class" in kwargs:
                raise TypeError("__init__() got an unexpected keyword argument 'canvas_class'")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(napari.qt, "QtViewer", RefusesCanvas)
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.build()
    (discarded,) = made
    model = pane.viewer
    assert pane.qt_viewer.canvas is not discarded  # napari's own, made by the fallback
    camera = model.scene.camera
    parts = {id(discarded), id(discarded.camera)}
    for emitter in (model.events.theme, model.dims.events.ndisplay, camera.events.zoom, camera.events.center,
                    camera.events.angles, model.canvas.grid.events.enabled, model.layers.events.removed,
                    model.cursor.events.style, model.canvas.events.size,
                    model.canvas.overlays._zoom_box.events.zoom_area):
        assert not parts & {id(o) for o in _called(emitter)}, emitter
    # And so nothing of it runs when the model changes.
    ran = []
    monkeypatch.setattr(discarded.camera, "_on_zoom_change", lambda *a: ran.append("zoom"))
    monkeypatch.setattr(discarded, "_on_bgcolor_change", lambda *a: ran.append("theme"))
    camera.zoom = camera.zoom * 1.5
    model.events.theme(value=model.theme)
    assert ran == []
    assert pane.qt_viewer.canvas.camera.zoom == camera.zoom  # the viewer's own canvas follows


def test_a_pane_closed_after_its_scene_canvas_is_made_builds_nothing_around_it(qtbot, pane, monkeypatch):
    made, canvases = [], []
    real_scene, real_canvas = napari_build.make_scene_canvas, napari_build.make_canvas

    def scene_then_close(model, parent):
        scene = real_scene(model, parent)
        made.append(scene)
        QTimer.singleShot(0, pane.close_viewer)  # runs before the canvas's turn, queued after
        return scene

    monkeypatch.setattr(napari_build, "make_scene_canvas", scene_then_close)
    monkeypatch.setattr(napari_build, "make_canvas", lambda *a, **k: canvases.append(real_canvas(*a, **k)))
    with qtbot.captureExceptions() as exceptions:
        pane.build()
        qtbot.waitUntil(lambda: pane.state is ViewerState.CLOSED, timeout=120_000)
        qtbot.waitUntil(lambda: bool(made) and not made[0].native.isVisible(), timeout=10_000)
        qtbot.waitUntil(lambda: pane._scene is None, timeout=10_000)  # the canvas's turn came and took it
    assert [str(e[1]) for e in exceptions] == []
    assert canvases == [] and pane.qt_viewer is None  # no canvas made around the closed pane's scene
