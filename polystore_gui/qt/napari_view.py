"""The embedded napari viewer: the only module of the browser that imports napari.

napari is imported in a worker (about 1.5-3 s of imports), together with what its first
image layer loads on first use (pint's unit registry, ``scipy.ndimage``), so that the
window never waits for it and the first preview costs what the second does. The viewer
itself is ``QtViewer(ViewerModel())`` — the supported way to embed napari: the model
(no Qt) is built in the worker too, and the Qt side on the GUI thread in three short
turns (canvas; layer list and controls; shown), so that no turn stalls the window long.
"""

from __future__ import annotations

import gc
import logging
import os
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from .workers import WorkerPool

if TYPE_CHECKING:
    from ..model.lazy import LayerSpec

log = logging.getLogger(__name__)

HISTOGRAM_DELAY_MS = 300


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


class ViewerPane(QWidget):
    """A napari canvas that appears when napari is ready, with a message until then."""

    imported = Signal()  # napari is imported and its model built (the Qt side not yet)
    ready = Signal()  # the viewer is built and shown: layers can be added
    failed = Signal(str)

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerPane")
        self._workers = workers
        self.viewer: Any = None  # napari.components.ViewerModel, once its Qt side is built
        self.qt_viewer: Any = None
        self._model: Any = None
        self._build_when_imported = True
        self._building = False
        self._stack = QStackedWidget(self)
        self._message = QLabel("Starting the napari viewer…", self)
        self._message.setObjectName("viewerMessage")
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._stack.addWidget(self._message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    @property
    def is_ready(self) -> bool:
        return self.viewer is not None

    def start(self, *, build: bool = True) -> None:
        """Import napari in the background; then build the viewer (``build``), or only when
        :meth:`build` is first called (the first array to preview)."""
        self._build_when_imported = build
        self._workers.start(_import_napari, on_return=self._on_import_returned, on_error=self._on_import_errored)

    def build(self) -> None:
        """Build the viewer now if napari is imported, else as soon as it is; ``ready`` follows."""
        self._build_when_imported = True
        if self._model is not None and not self._building:
            self._build_canvas()

    def _on_import_returned(self, model: Any) -> None:
        self._model = model
        self.imported.emit()
        if self._build_when_imported:
            self._build_canvas()

    def _build_canvas(self) -> None:
        """Build the Qt side in steps, one event-loop turn each, so no turn stalls the window
        for long: the canvas first, then napari's layer list and controls beside it."""
        from napari.qt import QtViewer

        self._building = True
        model = self._model
        self.qt_viewer = QtViewer(model)
        self.qt_viewer.setObjectName("napariCanvas")
        QTimer.singleShot(0, self._build_side)

    def _build_side(self) -> None:
        if self.qt_viewer is None:
            return
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
        QTimer.singleShot(0, lambda: self._show_body(body))

    def _show_body(self, body: QWidget) -> None:
        self._stack.setCurrentWidget(body)
        self.viewer = self._model  # ready from here on: previews may add layers
        self.viewer.layers.selection.events.active.connect(self._on_active_layer_changed)
        # napari's import left millions of long-lived objects: take them out of the
        # collector's sight, so that listing a huge folder does not pay for full
        # collections over them (measured: 350 ms per 100,000 entries, 100 ms without).
        gc.freeze()
        self.ready.emit()

    def _on_import_errored(self, exc: BaseException) -> None:
        log.error("napari could not be started", exc_info=exc)
        self._message.setText(f"The napari viewer could not start:\n{exc}")
        self.failed.emit(str(exc))

    def clear(self) -> None:
        if self.viewer is not None:
            self.viewer.layers.clear()

    def show_layers(self, layers: tuple[LayerSpec, ...]) -> list[Any]:
        """Replace what is shown by ``layers``; napari is never asked to compute limits."""
        assert self.viewer is not None
        viewer = self.viewer
        viewer.layers.clear()
        added: list[Any] = []
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
            if spec.channel_axis is None:
                if spec.contrast_limits is not None:
                    kwargs["contrast_limits"] = spec.contrast_limits
                added.append(viewer.add_image(spec.data, **kwargs))
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
                added.append(viewer.add_image(views if spec.multiscale else views[0], **channel_kwargs))
        first = layers[0] if layers else None
        if first is not None and first.axis_labels and len(first.axis_labels) == viewer.dims.ndim:
            viewer.dims.axis_labels = first.axis_labels
        # Show the middle plane of every non-displayed axis: the plane the contrast sample
        # was taken from, so nothing else is read.
        steps = list(viewer.dims.current_step)
        for axis in viewer.dims.not_displayed:
            steps[axis] = _middle(viewer.dims.nsteps[axis])
        viewer.dims.current_step = tuple(steps)
        # Fit the view before anything is drawn: a multiscale layer picks its level from
        # the camera, and the camera before reset_view() would ask for full resolution.
        viewer.reset_view()
        for layer in added:
            layer.visible = True
        images = [layer for layer in added if type(layer).__name__ == "Image"]
        if images:
            viewer.layers.selection.active = images[0]  # its contrast controls beside the canvas
            # napari 0.9's histogram of the displayed data (contrast limits drawn on it and
            # draggable) costs ~0.2 s of GUI time to build: after the first frame, and only
            # for the layer whose controls are shown.
            QTimer.singleShot(HISTOGRAM_DELAY_MS, self._show_active_histogram)
        return added

    def _show_active_histogram(self) -> None:
        if self.viewer is None:
            return
        layer = self.viewer.layers.selection.active
        histogram = getattr(layer, "histogram", None)
        if histogram is not None and not histogram.enabled:
            histogram.mode = "canvas"
            histogram.enabled = True

    def _on_active_layer_changed(self, _event: object = None) -> None:
        QTimer.singleShot(0, self._show_active_histogram)

    def close_viewer(self) -> None:
        if self.qt_viewer is not None:
            # Hidden first: a frame drawn while the layers are torn down (a paint event
            # still queued for the canvas) crashed Mesa's GL in glDrawArrays.
            self.qt_viewer.canvas.native.setUpdatesEnabled(False)
            self.qt_viewer.hide()
            self._model.layers.clear()
            self.qt_viewer.close()
