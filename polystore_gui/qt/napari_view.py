"""The embedded napari viewer: the only module of the browser that imports napari.

napari is imported in a worker (about 1.5-3 s of imports), together with what its first
image layer loads on first use (pint's unit registry, ``scipy.ndimage``), so that the
window never waits for it and the first preview costs what the second does. The viewer
itself is ``QtViewer(ViewerModel())`` — the supported way to embed napari: the model
(no Qt) is built in the worker too, and the Qt side on the GUI thread in three short
turns (canvas; layer list and controls; shown), so that no turn stalls the window long.
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

from .canvas_readout import ContrastFollower, cursor_text
from .later import call_later
from .workers import WorkerPool

if TYPE_CHECKING:
    from ..model.lazy import LayerSpec

log = logging.getLogger(__name__)

HISTOGRAM_DELAY_MS = 300
# Whether the user wants the layer histogram (napari's "histogram" button beside the contrast
# slider): remembered, so later previews show it too. Off until the user asks: each layer's
# histogram is a GL canvas of its own, 0.2-0.8 s of GUI time to build in software GL.
HISTOGRAM_KEY = "viewer/showHistogram"
PREPARE_DELAY_MS = 500  # after napari's import, with no preview asking: the Qt side is built ahead
WARM_CANVAS_PIXELS = 16  # the hidden canvas's size while the warm-up draws
PREPARE_STEP_MS = 40  # between the steps of that build and of the warm-up (one event-loop turn each)


def _import_napari() -> Any:
    """Worker body: import napari's modules, warm what the first layer loads lazily, and
    build the viewer's model (pure Python, no Qt: ~40 ms that need not be the GUI thread's)."""
    # Async slicing keeps slider steps on lazy arrays off the GUI thread. Set through the
    # environment, so the user's napari settings file is never written.
    os.environ.setdefault("NAPARI_ASYNC", "1")
    import numpy as np
    import napari._qt.layer_controls  # noqa: F401  (121 modules QtViewer.controls would import)
    from napari.components import ViewerModel  # noqa: F401
    from napari.layers import Image, Labels
    from napari.qt import QtViewer  # noqa: F401

    Image(np.zeros((4, 4), np.uint16), contrast_limits=(0, 1), scale=(1.0, 1.0))
    Labels(np.zeros((4, 4), np.uint8))
    return ViewerModel(title="polystore-gui preview")


def _middle(n: int) -> int:
    from ..model.lazy import middle_index

    return middle_index(n)


def _take(array: Any, axis: int, index: int) -> Any:
    """``array`` with ``axis`` fixed at ``index``, without reading (dask slices lazily)."""
    if type(array).__module__.startswith("dask"):
        key: tuple[Any, ...] = (slice(None),) * axis + (index,)
        return array[key]
    from ..model.lazy import TakeAxis

    return TakeAxis(array, axis, index)


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


class ViewerPane(QWidget):
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
        self._workers = workers
        self.viewer: Any = None  # napari.components.ViewerModel, once its Qt side is built
        self.qt_viewer: Any = None
        self._model: Any = None
        self._state = ViewerState.NOT_STARTED
        self._build_wanted = False  # once asked for, a build stays wanted until it is done
        self._preparing = False  # building ahead of any preview (then warming up), not asked for
        self._warm_layers: list[Any] = []  # the warm-up's tiny layers, until cleared
        self._showing_histogram = False  # the pane (not the user) is turning a histogram on
        self._warm_size: Any = None  # the canvas's size before the warm-up drew it small
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

    # -- built ahead: napari's Qt side, its layer controls and shaders before the first preview ----
    # QtViewer, the side widgets, an image layer's controls and vispy visual, and the shader
    # programs linked at the first draw (Mesa's glLinkProgram) cost the first preview 0.2-0.5 s
    # of GUI time otherwise. Here they are paid in short turns while the user has not asked for
    # anything yet: the canvas is built, tiny layers of the kinds the window shows (an image, the
    # chunk overlay's RGB heat map and grid lines) are added one a turn, each drawn once into the
    # canvas's framebuffer, drawn small (the pane may still be hidden: QOpenGLWidget renders
    # offscreen), then cleared. A preview arriving meanwhile takes over (its layers replace them).

    def _prepare(self) -> None:
        if self._state is ViewerState.IMPORTED and not self._build_wanted:
            self._preparing = True
            self._build_canvas()

    def _warm_up(self) -> None:
        import numpy as np

        viewer = self.viewer
        makers = [
            lambda: viewer.add_image(np.zeros((8, 8), np.uint16), contrast_limits=(0, 1), name="warm-up image"),
            lambda: viewer.add_image(np.zeros((8, 8, 4), np.uint8), rgb=True, name="warm-up heat map"),
            lambda: viewer.add_vectors(np.array([[[0.0, 0.0], [0.0, 8.0]]]), vector_style="line",
                                       name="warm-up lines"),
            # Not the chunk overlay's selection rectangle (a Shapes layer): its first draw took
            # 0.35 s alone and 2.3 s within a session in software GL, in one turn that cannot be
            # split; a stall that long at start-up is worse than at the first chunk clicked.
        ]
        # Drawn small: in software GL a draw costs per pixel, and the programs are linked
        # whatever the size. The layout gives the canvas its size back when it is shown.
        native = self.qt_viewer.canvas.native
        self._warm_size = native.size()
        native.resize(WARM_CANVAS_PIXELS, WARM_CANVAS_PIXELS)
        self._warm_step(makers)

    def _warming(self) -> bool:
        return self._preparing and self._state is ViewerState.BUILT and self.viewer is not None

    def _warm_step(self, makers: list[Any]) -> None:
        """Add the next tiny layer; it is drawn once sliced (one layer's programs a turn)."""
        if not self._warming():
            return
        if not makers:
            call_later(self, PREPARE_STEP_MS, self._warm_clear)
            return
        try:
            self._warm_layers.append(makers[0]())
        except Exception as exc:  # a warm-up is an optimisation: never an error for the user
            log.warning("napari's warm-up layer could not be added: %s", exc)
        call_later(self, PREPARE_STEP_MS, lambda: self._warm_draw(makers[1:], deadline=30))

    def _warm_draw(self, rest: list[Any], deadline: int) -> None:
        """Draw once the layer is sliced (async slicing), waiting a few turns at most."""
        if not self._warming():
            return
        if deadline > 0 and not all(getattr(layer, "loaded", True) for layer in self._warm_layers):
            call_later(self, PREPARE_STEP_MS, lambda: self._warm_draw(rest, deadline - 1))
            return
        try:
            self.qt_viewer.canvas.native.grabFramebuffer()  # compiles and links the new layer's programs
        except Exception as exc:
            log.warning("napari's warm-up draw failed: %s", exc)
        for layer in self._warm_layers:  # drawn once: the next draw is the next layer's alone
            layer.visible = False
        call_later(self, PREPARE_STEP_MS, lambda: self._warm_step(rest))

    def _warm_clear(self) -> None:
        if not self._warming():
            return
        self._preparing = False
        self._warm_layers = []
        self.viewer.layers.clear()  # only the warm-up's layers (a preview would have stopped it); one batch
        if self._warm_size is not None and not self.qt_viewer.isVisible():
            self.qt_viewer.canvas.native.resize(self._warm_size)
        self.prepared.emit()

    def _build_canvas(self) -> None:
        """Build the Qt side in steps, one event-loop turn each, so no turn stalls the window
        for long: the canvas first, then napari's layer list and controls beside it."""
        self._set_state(ViewerState.BUILDING)
        try:
            from napari.qt import QtViewer

            self.qt_viewer = QtViewer(self._model)
            self.qt_viewer.setObjectName("napariCanvas")
        except Exception as exc:  # no GL, a broken napari: said in the pane, with Retry
            self._fail("The napari viewer could not be built", exc)
            return
        call_later(self, 0, self._build_side)

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
        call_later(self, 0, lambda: self._show_body(body))  # never after the pane is destroyed

    def _show_body(self, body: QWidget) -> None:
        if self._state is not ViewerState.BUILDING:
            return
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

    def clear(self) -> None:
        self._preparing = False
        self._warm_layers = []
        # napari runs a full gc.collect() at every clear, even of an empty list
        if self.viewer is not None and len(self.viewer.layers):
            self.viewer.layers.clear()

    def set_listed(self, layer: Any, listed: bool) -> None:
        """Show or hide ``layer``'s row in napari's layer list (the layer itself stays).

        For the chunk overlay's layers while they are off: they are hidden rather than
        removed (removing them while the image stays crashed Mesa, see
        ``ChunkOverlay._discard``), and a hidden layer's row would still be listed.
        """
        if listed:
            self._unlisted.discard(layer)
        else:
            self._unlisted.add(layer)
        self._apply_unlisted()

    def listed_layers(self) -> list[Any]:
        """The layers whose rows napari's layer list shows, top first (for tests)."""
        view = self.qt_viewer.layers if self.qt_viewer is not None else None
        if view is None or self.viewer is None:
            return []
        return [layer for row, layer in self._layer_rows(view) if not view.isRowHidden(row)]

    def _layer_rows(self, view: Any) -> list[tuple[int, Any]]:
        proxy = view.model()
        source = proxy.sourceModel()
        rows = []
        for row in range(proxy.rowCount()):
            index = proxy.mapToSource(proxy.index(row, 0))
            rows.append((row, source.getItem(index)))
        return rows

    def _apply_unlisted(self, *_args: Any) -> None:
        view = self.qt_viewer.layers if self.qt_viewer is not None else None
        if view is None or self.viewer is None:
            return
        for row, layer in self._layer_rows(view):
            view.setRowHidden(row, layer in self._unlisted)

    def show_layers(self, layers: tuple[LayerSpec, ...]) -> list[Any]:
        """Replace what is shown by ``layers``; napari is never asked to compute limits."""
        assert self.viewer is not None
        viewer = self.viewer
        self._preparing = False  # a warm-up on its way stops: its tiny layers go with the clear
        self._warm_layers = []
        if len(viewer.layers):  # napari runs a full gc.collect() at every clear, even of an empty list
            viewer.layers.clear()
        added: list[Any] = []
        followed: list[tuple[Any, bool]] = []  # image layers with limits, and whether those are a placeholder
        for spec in layers:
            # Added hidden: napari slices a visible layer at once, at whatever plane the
            # dims point to, which would read a plane nobody asked for.
            kwargs: dict[str, Any] = {"name": spec.name, "multiscale": spec.multiscale, "visible": False}
            if spec.scale is not None:
                kwargs["scale"] = spec.scale
            if spec.translate is not None:
                kwargs["translate"] = spec.translate
            if spec.kind == "labels":
                labels = viewer.add_labels(spec.data, **kwargs)
                labels.editable = False  # a preview never paints into the user's data
                added.append(labels)
                continue
            kwargs["rgb"] = spec.rgb
            placeholder = spec.contrast_placeholder
            if spec.channel_axis is None:
                if spec.contrast_limits is not None:
                    kwargs["contrast_limits"] = spec.contrast_limits
                added.append(self._add_image(spec.data, **kwargs))
                if placeholder and spec.contrast_limits is not None and not spec.rgb:  # sampled limits only
                    followed.append((added[-1], placeholder[0]))
                continue
            # One layer per channel, split here with lazy views: napari's own split indexes
            # each level eagerly, which for a zarr array reads a whole channel at full size.
            levels = spec.data if spec.multiscale else [spec.data]
            channels = int(levels[0].shape[spec.channel_axis])
            limits = spec.contrast_limits if isinstance(spec.contrast_limits, list) else None
            for c in range(channels):
                views = [_take(level, spec.channel_axis, c) for level in levels]
                channel_kwargs = dict(kwargs)
                channel_kwargs["name"] = spec.channel_names[c] if spec.channel_names else f"{spec.name} [{c}]"
                if limits is not None and c < len(limits):
                    channel_kwargs["contrast_limits"] = limits[c]
                if spec.colormaps:
                    channel_kwargs["colormap"] = spec.colormaps[c]
                    channel_kwargs["blending"] = "additive"
                added.append(self._add_image(views if spec.multiscale else views[0], **channel_kwargs))
                if "contrast_limits" in channel_kwargs and c < len(placeholder):  # sampled, not omero.window
                    followed.append((added[-1], placeholder[c]))
        # The sliders named by the data's axes (OME axes, zarr 3 dimension_names, TIFF
        # axes); napari's own numbers otherwise. Always set: napari keeps the last array's
        # names for the axes the next one has in common.
        first = layers[0] if layers else None
        ndim = viewer.dims.ndim
        if first is not None and first.axis_labels and len(first.axis_labels) == ndim:
            viewer.dims.axis_labels = tuple(first.axis_labels)
        else:
            viewer.dims.axis_labels = tuple(str(i) for i in range(-ndim, 0))
        # Show the middle plane of every non-displayed axis: the plane the contrast sample
        # was taken from, so nothing else is read.
        steps = list(viewer.dims.current_step)
        for axis in viewer.dims.not_displayed:
            steps[axis] = _middle(viewer.dims.nsteps[axis])
        viewer.dims.current_step = tuple(steps)
        # Fit the view before anything is drawn: a multiscale layer picks its level from
        # the camera, and the camera before reset_view() would ask for full resolution.
        viewer.reset_view()
        for layer, placeholder in followed:  # before the first slice: it may widen the limits
            self.contrast.follow(layer, flat=placeholder)
        for layer in added:
            layer.visible = True
        images = [layer for layer in added if type(layer).__name__ == "Image"]
        if images:
            viewer.layers.selection.active = images[0]  # its contrast controls beside the canvas
            # napari 0.9's histogram of the displayed data (contrast limits drawn on it and
            # draggable) costs 0.2-0.8 s of GUI time to build: only when the user wants it,
            # after the first frame, and only for the layer whose controls are shown.
            call_later(self, HISTOGRAM_DELAY_MS, self._show_active_histogram)
        return added

    def _add_image(self, data: Any, **kwargs: Any) -> Any:
        """``viewer.add_image`` for one layer, whose histogram is a :class:`SampledHistogram`
        (computed in a worker on a bounded sample; napari's own recomputes the whole plane on
        the GUI thread at every slice). The model is set before the layer joins the viewer:
        napari's layer controls bind to it when the layer is inserted."""
        from napari.layers import Image

        from .layer_histogram import SampledHistogram

        kwargs.setdefault("colormap", "gray")  # add_image's defaults for one channel
        kwargs.setdefault("blending", "translucent_no_depth")
        layer = Image(data, **kwargs)
        histogram = SampledHistogram(layer)
        histogram.use_workers(self._workers.start)
        histogram.events.enabled.connect(lambda _e=None, h=weakref.ref(histogram): self._on_histogram_toggled(h))
        layer._histogram = histogram
        self.viewer.layers.append(layer)
        return layer

    @staticmethod
    def histogram_wanted() -> bool:
        """Whether layer histograms are shown (the user turned one on last, not off)."""
        from qtpy.QtCore import QSettings

        return bool(QSettings().value(HISTOGRAM_KEY, False, type=bool))

    def _on_histogram_toggled(self, ref: Any) -> None:
        histogram = ref()
        if histogram is None or self._showing_histogram:
            return
        from qtpy.QtCore import QSettings

        QSettings().setValue(HISTOGRAM_KEY, bool(histogram.enabled))  # the user's own choice

    def _show_active_histogram(self) -> None:
        if self.viewer is None or not self.histogram_wanted():
            return
        layer = self.viewer.layers.selection.active
        # Only a layer this pane made (the chunk overlay's layers keep napari's own model, off).
        histogram = getattr(layer, "_histogram", None)
        if histogram is not None and type(histogram).__name__ == "SampledHistogram" and not histogram.enabled:
            if not histogram.exact:  # an exact whole-array histogram stays in "full" mode
                histogram.mode = "canvas"
            self._showing_histogram = True
            try:
                histogram.enabled = True
            finally:
                self._showing_histogram = False

    def _on_active_layer_changed(self, _event: object = None) -> None:
        call_later(self, 0, self._show_active_histogram)
        self._on_cursor_position_changed()

    def _on_cursor_position_changed(self, _event: object = None) -> None:
        viewer = self.viewer
        over = viewer is not None and viewer.mouse_over_canvas
        self.cursorMoved.emit(cursor_text(viewer) if over else "")

    def close_viewer(self) -> None:
        """Close the viewer for good (quitting); a build still on its way is abandoned, so its
        remaining steps never touch the closed (deleted) canvas."""
        self._build_wanted = False
        self._set_state(ViewerState.CLOSED)
        if self.qt_viewer is not None:
            # Hidden first: a frame drawn while the layers are torn down (a paint event
            # still queued for the canvas) crashed Mesa's GL in glDrawArrays.
            self.qt_viewer.canvas.native.setUpdatesEnabled(False)
            self.qt_viewer.hide()
            self._model.layers.clear()
            self.qt_viewer.close()
