"""The embedded napari viewer: the module of the browser that imports napari (its Qt side is
built from pieces by ``napari_build``; ``napari_layers`` makes its layers once it is loaded).

napari is imported in a worker (about 1.5-3 s of imports), together with what its first
image layer loads on first use (pint's unit registry, ``scipy.ndimage``), so that the
window never waits for it and the first preview costs what the second does. The viewer
itself is ``QtViewer(ViewerModel())`` — the supported way to embed napari: the model
(no Qt) is built in the worker too, and the Qt side on the GUI thread in short turns
(shortcuts bound; vispy canvas; QtViewer around it, see ``napari_build``; layer list and
controls; shown), so that no turn stalls the window long.
"""

from __future__ import annotations

import enum
import gc
import logging
import os
import weakref
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QPushButton, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from . import napari_build
from .canvas_readout import ContrastFollower, cursor_text
from .expose_repair import repaint_on_uncover
from .image_visuals import SpareImageNodes
from .later import call_later, next_turn
from .workers import WorkerPool
# The layers and warm-up halves of ViewerPane; their names stay importable from here (issue 15).
from .napari_layers import HISTOGRAM_DELAY_MS, HISTOGRAM_KEY, LayerShowMixin, _middle, _take
from .napari_warmup import PREPARE_STEP_MS, WARM_CANVAS_PIXELS, WarmUpMixin

if TYPE_CHECKING:
    from ..model.lazy import LayerSpec

log = logging.getLogger(__name__)

PREPARE_DELAY_MS = 500  # after napari's import, with no preview asking: the Qt side is built ahead


def _import_napari() -> Any:
    """Worker body: import napari's modules, warm what the first layer loads lazily, and
    build the viewer's model (pure Python, no Qt: ~40 ms that need not be the GUI thread's).

    With the cyclic collector paused, and what was loaded frozen after (issue 19): the
    import set off two or three full collections on this thread, each holding the
    interpreter lock for all of its length (45-71 ms stalls of the window)."""
    from ..model.backends.common import gc_paused

    # Async slicing keeps slider steps on lazy arrays off the GUI thread. Set through the
    # environment, so the user's napari settings file is never written.
    os.environ.setdefault("NAPARI_ASYNC", "1")
    with gc_paused(freeze=True):
        import numpy as np
        import napari._qt.layer_controls  # noqa: F401  (121 modules QtViewer.controls would import)
        from napari.components import ViewerModel  # noqa: F401
        from napari.layers import Image, Labels
        from napari.qt import QtViewer  # noqa: F401

        # A multiscale preview's levels are dask arrays (model.lazy_views.lazy_levels): dask's
        # array package is 0.3 s of pure Python to import, which the first such preview's
        # worker paid while the window painted its first results (a 90-120 ms stall in
        # bench_remote's window). Here the window is idle.
        import dask.array  # noqa: F401

        from ..model.lazy_views import threads_unless_configured

        threads_unless_configured()
        Image(np.zeros((4, 4), np.uint16), contrast_limits=(0, 1), scale=(1.0, 1.0))
        Labels(np.zeros((4, 4), np.uint8))
        model = ViewerModel(title="polystore-gui preview")
    napari_build.preload_gl_driver()  # the GL driver, loaded here rather than in the build's GL turn
    return model



class ViewerState(enum.Enum):
    """Where the embedded viewer is on its way to being shown (one state, never two flags)."""

    NOT_STARTED = "not started"  # napari not imported yet
    IMPORTING = "importing"  # napari's import runs in a worker
    IMPORTED = "imported"  # imported, its model built; the Qt side waits until a build is asked
    BUILDING = "building"  # the Qt side is built, a few event-loop turns
    BUILT = "built"  # shown: layers can be added
    FAILED = "failed"  # the import or the build failed: the pane says why, with Retry
    CLOSED = "closed"  # the window closed it (quitting): a build on its way stops, nothing more starts


STARTING_TEXT = "Starting the napari viewer…"


class ViewerPane(LayerShowMixin, WarmUpMixin, QWidget):
    """A napari canvas that appears when napari is ready, with a message until then.

    A build asked for in any state is remembered (``build()`` before napari's import has
    started, while it runs, or before the start-up timer fires) and happens as soon as
    napari is imported; a failure is shown with a Retry button.
    """

    imported = Signal()  # napari is imported and its model built (the Qt side not yet)
    ready = Signal()  # the viewer is built and shown: layers can be added
    failed = Signal(str)
    stateChanged = Signal(object)  # ViewerState
    prepared = Signal()  # built ahead and warmed (layer controls made, shaders linked) before any preview
    cursorMoved = Signal(str)  # the layer, position and value under the cursor ('' when none)

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerPane")
        napari_build.compose_gl_apart(self)  # the canvas's GL composition stays in the pane
        self.uncover_watch = repaint_on_uncover(self)  # no closed menu left drawn over it (X11 without compositor)
        self._workers = workers
        self.viewer: Any = None  # napari.components.ViewerModel, once its Qt side is built
        self.qt_viewer: Any = None
        self._model: Any = None
        self._state = ViewerState.NOT_STARTED
        self._build_wanted = False  # once asked for, a build stays wanted until it is done
        self._preparing = False  # building ahead of any preview (then warming up), not asked for
        self._warm_first = False  # a build asked for: warming up before it says ready (napari_warmup)
        self._body: QWidget | None = None  # the canvas and napari's side widgets, once built
        self._warm_layers: list[Any] = []  # the warm-up's tiny layers, until cleared
        self._staging = 0  # show_layers' steps run while this is the number they started with
        self._steps_left = (0, 0)  # (token, steps still to run) of the last _run_steps
        self._canvas_unsettled = False  # a removal's canvas clean-up held back (layer_removal)
        self._image_nodes = SpareImageNodes()  # an image layer's vispy nodes made ahead (image_visuals)
        self._showing_histogram = False  # the pane (not the user) is turning a histogram on
        self._warm_size: Any = None  # the canvas's size before the warm-up drew it small
        self._canvas: Any = None  # napari's vispy canvas, made a turn before its QtViewer
        self._gl: Any = None  # an OpenGL context opened a turn before the canvas (napari_build.open_gl)
        self._scene: Any = None  # vispy's scene canvas, made a turn before napari's canvas around it
        self.error: str | None = None
        self.contrast = ContrastFollower()  # widens image limits to the planes shown
        self._unlisted: weakref.WeakSet[Any] = weakref.WeakSet()  # layers kept out of the layer list
        self._stack = QStackedWidget(self)
        waiting = QWidget(self)
        waiting_layout = QVBoxLayout(waiting)
        waiting_layout.addStretch(1)
        self._message = QLabel(STARTING_TEXT, waiting)
        self._message.setObjectName("viewerMessage")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        waiting_layout.addWidget(self._message)
        self.retry_button = QPushButton("Retry", waiting)
        self.retry_button.setObjectName("viewerRetry")
        self.retry_button.setToolTip("Try to start the napari viewer again")
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.hide()
        waiting_layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        waiting_layout.addStretch(1)
        self._stack.addWidget(waiting)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    @property
    def state(self) -> ViewerState:
        return self._state

    @property
    def is_ready(self) -> bool:
        return self._state is ViewerState.BUILT

    @property
    def message(self) -> str:
        """What the pane says while the viewer is not shown (for tests and the preview)."""
        return str(self._message.text())

    def _set_state(self, state: ViewerState) -> None:
        if state is not self._state:
            self._state = state
            self.stateChanged.emit(state)

    def start(self, *, build: bool = True) -> None:
        """Import napari in the background (unless on its way or done already); then build the
        viewer when ``build`` or a :meth:`build` asked at any time wants it.

        Never takes back a build asked before: ``start(build=False)`` after ``build()`` still
        builds. After a failure, starts again (as :meth:`retry`).
        """
        if build:
            self._build_wanted = True
            self._preparing = False  # a build asked for: no warm-up after it
        if self._state is ViewerState.NOT_STARTED:
            self._begin_import()
        elif self._state is ViewerState.FAILED:
            self.retry()
        elif self._state is ViewerState.IMPORTED and self._build_wanted:
            self._build_canvas()

    def build(self) -> None:
        """Build the viewer as soon as napari is imported (now, if it is); ``ready`` follows.

        Starts napari's import when nothing has started it yet. After a failure, waits for
        Retry (the pane shows why).
        """
        self._build_wanted = True
        self._preparing = False  # a preview wants the viewer: no warm-up after the build
        if self._state is ViewerState.NOT_STARTED:
            self._begin_import()
        elif self._state is ViewerState.IMPORTED:
            self._build_canvas()

    def retry(self) -> None:
        """After a failure: import napari again (or, when it was imported, build again)."""
        if self._state is not ViewerState.FAILED:
            return
        self.error = None
        self.retry_button.hide()
        self._message.setText(STARTING_TEXT)
        self._message.setStyleSheet("")
        if self._model is not None:
            self._set_state(ViewerState.IMPORTED)
            if self._build_wanted:
                self._build_canvas()
        else:
            self._begin_import()

    def _begin_import(self) -> None:
        self._set_state(ViewerState.IMPORTING)
        self._workers.start(_import_napari, on_return=self._on_import_returned, on_error=self._on_import_errored)

    def _on_import_returned(self, model: Any) -> None:
        if self._state is not ViewerState.IMPORTING:
            return
        self._model = model
        self._set_state(ViewerState.IMPORTED)
        self.imported.emit()
        if self._build_wanted:
            self._build_canvas()
        else:
            call_later(self, PREPARE_DELAY_MS, self._prepare)

    # -- built ahead: the Qt side before the first preview, then the warm-up (napari_warmup) ----
    def _prepare(self) -> None:
        if self._state is ViewerState.IMPORTED and not self._build_wanted:
            self._preparing = True
            self._build_canvas()

    def _warming(self) -> bool:
        if self.qt_viewer is None or self._body is None:
            return False
        if self._state is ViewerState.BUILDING:  # a build asked for, warming before ready
            return self._warm_first
        return self._preparing and self._state is ViewerState.BUILT and self.viewer is not None

    def _warm_paused(self) -> bool:
        """Whether the warm-up pauses between its steps (built ahead: nobody waits for it);
        a build asked for takes one turn a step (``WarmUpMixin._warm_next``)."""
        return self._state is not ViewerState.BUILDING

    def _warm_done(self) -> None:
        if self._state is ViewerState.BUILDING and self._body is not None:  # asked for: ready now
            self._show_body(self._body)
        else:
            self._preparing = False
            self.prepared.emit()
            self._make_spare_nodes_later()  # for the first preview

    def _warm_first_start(self) -> None:
        if not self._warming():
            return
        try:
            self._warm_up()
        except Exception as exc:  # an optimisation: the viewer is shown without it
            log.warning("napari's warm-up could not start: %s", exc)
            self._warm_done()

    def _real_size_target(self) -> QWidget | None:
        """The viewer's body, given the size it will have when shown: the pane's page's
        when the pane is a hidden page of a stacked widget (the stack lays out only its
        current page), else the pane's own."""
        body = self._body
        stack = self.parentWidget()
        if body is None:
            return None
        if not self.isVisible() and isinstance(stack, QStackedWidget) and stack.isVisible():
            self.setGeometry(stack.contentsRect())  # where the stack will place it
        body.resize(self.size())  # the pane's layout and stack have no margins
        return body


    def _build_canvas(self) -> None:
        """Build the Qt side in steps, one event-loop turn each, so no turn stalls the window
        for long (``napari_build``): the shortcuts bound, the vispy canvas, napari's
        ``QtViewer`` around it, then napari's layer list and controls beside it."""
        self._set_state(ViewerState.BUILDING)
        self._warm_first = False
        try:
            napari_build.bind_shortcuts()
        except Exception as exc:  # the viewer binds them itself then
            log.warning("napari's shortcuts could not be bound ahead: %s", exc)
        next_turn(self, self._build_gl)

    def _build_gl(self) -> None:
        if self._state is not ViewerState.BUILDING:
            return
        try:
            self._gl = napari_build.open_gl()  # held until the canvas is made
        except Exception as exc:  # the canvas's own construction will say what is wrong
            log.warning("no OpenGL context could be opened ahead: %s", exc)
        next_turn(self, self._build_scene)

    def _build_scene(self) -> None:
        """vispy's scene canvas, a turn before napari's canvas around it (napari_build)."""
        if self._state is not ViewerState.BUILDING:
            self._gl = None
            return
        try:
            self._scene = napari_build.make_scene_canvas(self._model, self)
        except Exception as exc:  # the canvas's own construction (next turn) says what is wrong
            log.warning("vispy's scene canvas could not be made ahead: %s", exc)
        next_turn(self, self._build_vispy)

    def _build_vispy(self) -> None:
        scene, self._scene = self._scene, None
        if self._state is not ViewerState.BUILDING:
            self._gl = None
            if scene is not None:
                scene.close()
            return
        try:
            self._canvas = napari_build.make_canvas(self._model, self, scene=scene)
        except Exception as exc:  # no GL, a broken napari: said in the pane, with Retry
            self._fail("The napari viewer could not be built", exc)
            return
        finally:
            self._gl = None  # the canvas has its own context now (or failed)
        next_turn(self, self._build_qt_viewer)

    def _build_qt_viewer(self) -> None:
        canvas, self._canvas = self._canvas, None
        if self._state is not ViewerState.BUILDING:
            if canvas is not None:
                napari_build.discard_canvas(canvas)  # its model subscriptions too, not only its widget
            return
        try:
            self.qt_viewer = napari_build.make_qt_viewer(self._model, canvas)
            self.qt_viewer.setObjectName("napariCanvas")
            # A drop on the canvas goes to the window (a folder added to the tree), not to
            # napari's viewer widget, which opens a dropped file as a layer of its own and
            # raises on a folder it has no reader for.
            self.qt_viewer.setAcceptDrops(False)
        except Exception as exc:  # no GL, a broken napari: said in the pane, with Retry
            self._fail("The napari viewer could not be built", exc)
            return
        next_turn(self, self._build_side)

    def _build_side(self) -> None:
        if self.qt_viewer is None or self._state is not ViewerState.BUILDING:
            return
        try:
            # napari's own layer list and layer controls (contrast limits, colormap, opacity,
            # blending) beside the canvas: the same widgets napari's window docks.
            side = QSplitter(Qt.Orientation.Vertical, self)
            side.setObjectName("layerSide")
            side.addWidget(self.qt_viewer.controls)
            side.addWidget(self.qt_viewer.layers)
            side.setSizes([260, 140])
            body = QSplitter(Qt.Orientation.Horizontal, self)
            body.setObjectName("viewerSplitter")
            body.addWidget(self.qt_viewer)
            body.addWidget(side)
            body.setStretchFactor(0, 1)
            body.setSizes([600, 240])
            self._stack.addWidget(body)
        except Exception as exc:
            self._fail("The napari viewer could not be built", exc)
            return
        next_turn(self, lambda: self._show_body(body))  # never after the pane is destroyed

    def _show_body(self, body: QWidget) -> None:
        if self._state is not ViewerState.BUILDING:
            return
        self._body = body
        if self._build_wanted and not self._warm_first:
            # Asked for (a preview waits): warmed up first, in one-turn steps, the page
            # still saying "Starting…"; this runs again when the warm-up is done. napari's
            # objects are frozen first (as below): the warm-up's clear ends with napari's
            # full gc.collect(), 130-250 ms over them.
            self._warm_first = True
            gc.freeze()
            next_turn(self, self._warm_first_start)
            return
        self._warm_first = False
        self._stack.setCurrentWidget(body)
        self.viewer = self._model  # ready from here on: previews may add layers
        self.viewer.layers.selection.events.active.connect(self._on_active_layer_changed)
        self.viewer.cursor.events.position.connect(self._on_cursor_position_changed)
        rows = self.qt_viewer.layers.model()  # napari's list, reversed by a proxy: rows move on every change
        for signal in (rows.rowsInserted, rows.rowsMoved, rows.layoutChanged, rows.modelReset):
            signal.connect(self._apply_unlisted)
        self.viewer.events.mouse_over_canvas.connect(self._on_cursor_position_changed)
        self._build_wanted = False
        self._set_state(ViewerState.BUILT)
        # napari's import left millions of long-lived objects: take them out of the
        # collector's sight, so that listing a huge folder does not pay for full
        # collections over them (measured: 350 ms per 100,000 entries, 100 ms without).
        gc.freeze()
        self.ready.emit()
        if self._preparing and not len(self.viewer.layers):
            call_later(self, PREPARE_STEP_MS, self._warm_up)
        else:
            self._make_spare_nodes_later()  # for the first preview, unless it is on its way

    def _on_import_errored(self, exc: BaseException) -> None:
        if self._state is not ViewerState.IMPORTING:
            return
        self._fail("The napari viewer could not start", exc)

    def _fail(self, what: str, exc: BaseException) -> None:
        log.error("%s", what, exc_info=exc)
        if self.qt_viewer is not None:
            self.qt_viewer.deleteLater()
            self.qt_viewer = None
        self.error = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
        self._message.setText(f"{what}:\n{self.error}")
        self._message.setStyleSheet("color: #b91c1c;")
        self.retry_button.show()
        self._stack.setCurrentIndex(0)
        self._set_state(ViewerState.FAILED)
        self.failed.emit(self.error)

    def _on_cursor_position_changed(self, _event: object = None) -> None:
        viewer = self.viewer
        over = viewer is not None and viewer.mouse_over_canvas
        self.cursorMoved.emit(cursor_text(viewer) if over else "")

    def close_viewer(self) -> None:
        """Close the viewer for good (quitting); a build still on its way is abandoned, so its
        remaining steps never touch the closed (deleted) canvas. Once: a second call does nothing."""
        if self._state is ViewerState.CLOSED:
            return
        self._build_wanted = False
        self._staging += 1  # a preview's layers still to be added are not
        self._set_state(ViewerState.CLOSED)
        if self.qt_viewer is not None:
            # Hidden first: a frame drawn while the layers are torn down (a paint event
            # still queued for the canvas) crashed Mesa's GL in glDrawArrays.
            self.qt_viewer.canvas.native.setUpdatesEnabled(False)
            self.qt_viewer.hide()
            self._build_visuals()  # of a preview's layer still without one: napari's removal expects it
            self._image_nodes.drop()
            self._remove_at_close()  # napari's clear without its dims reset, collection and GL finish
            self.qt_viewer.close()
