"""The chunk inspector drawn over the napari canvas.

Four layers over the previewed image, all at chunk resolution (a million chunks is a
4 MB RGBA image, not a million shapes):

- ``chunk heat map``: an RGBA image of the whole chunk grid, one pixel per chunk, scaled to
  the chunk shape, so napari's own slicing shows the chunks of the displayed plane; stored
  chunks coloured by their stored bytes (viridis over log2 of the size), missing chunks grey,
  unreadable ones red, chunks not yet scanned clear;
- ``chunk grid`` and ``shard grid``: vectors along the chunk and shard boundaries of the
  last two axes (napari's default display);
- ``selected chunk``: a rectangle (four vectors) around the chunk chosen in the table or on
  the canvas.

A click on the canvas (press and release without a drag) selects the chunk under the
cursor in the inspector. Only the viewer object is used here, and napari's layer classes
once a layer is made (napari is loaded by then): napari itself is imported by ``napari_view``.
"""

from __future__ import annotations

import logging
import math
import weakref
from typing import Any

import numpy as np
from qtpy.QtCore import QObject

from ..model.chunk_heat import _reduce_axis, heat_rgba
from ..model.chunks import ChunkDetail
from .chunk_inspector import ChunkInspector
from .napari_view import ViewerPane

log = logging.getLogger(__name__)

HEAT = "chunk heat map"
GRID = "chunk grid"
SHARDS = "shard grid"
SELECTED = "selected chunk"
CHUNK_ONLY = "chunk "
MAX_LINES = 4000  # per axis; beyond that the grid is too dense to draw (the heat map still is)

def rectangle_lines(y0: float, x0: float, y1: float, x1: float) -> np.ndarray:
    """The four sides of a rectangle as napari vectors ((position, projection) per side).

    The selected chunk is outlined with a Vectors layer, not a Shapes rectangle: the vectors'
    programs are linked by the warm-up and the grid already, while a Shapes layer's first
    draw cost 0.35-2.3 s of GUI time in software GL (a stall at the first chunk clicked).
    """
    height, width = y1 - y0, x1 - x0
    return np.array([
        [[y0, x0], [0.0, width]], [[y1, x0], [0.0, width]],
        [[y0, x0], [height, 0.0]], [[y0, x1], [height, 0.0]],
    ], np.float64)


def _vectors(data: np.ndarray, **kwargs: Any) -> Any:
    """A napari Vectors layer, not added (what ``viewer.add_vectors`` makes)."""
    from napari.layers import Vectors

    return Vectors(data, **kwargs)


def _show(layer: Any) -> None:
    """Show ``layer``, if hidden. napari refreshes a layer (slices and redraws it, and tells
    the layer list) each time ``visible``, ``scale`` or ``translate`` is set, changed or not:
    set for each scan batch, that was several redraws a batch."""
    if not layer.visible:
        layer.visible = True


def _place(layer: Any, scale: np.ndarray, translate: np.ndarray) -> None:
    """Place ``layer``, if it is elsewhere (see ``_show``)."""
    if not (np.array_equal(layer.scale, scale) and np.array_equal(layer.translate, translate)):
        layer.scale, layer.translate = scale, translate


class ChunkOverlay(QObject):
    """Keeps the overlay layers in step with the inspector and the shown image."""

    def __init__(self, pane: ViewerPane, inspector: ChunkInspector, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.inspector = inspector
        self.image: Any = None  # the napari image layer the overlay sits on
        self.channel_axis: int | None = None
        self.channel: int = 0
        self._hooked = False
        self._hidden: list[Any] = []
        self._adding: int | None = None  # the pane's token of the layer addition on its way, if any
        self._selection_wanted: tuple[int, ...] | None = None  # a chunk chosen while its outline was on its way
        inspector.reportChanged.connect(self.update)
        inspector.overlayOptionsChanged.connect(self.update)
        inspector.chunkSelected.connect(self.show_selection)
        inspector.showChunkRequested.connect(self.show_chunk_only)
        inspector.showAllRequested.connect(self.show_all)

    @property
    def viewer(self) -> Any:
        return self.pane.viewer

    # -- attaching ---------------------------------------------------------------------------

    def attach(self, image_layer: Any, channel_axis: int | None = None, channel: int = 0) -> None:
        """Draw over ``image_layer`` (level-0 data coordinates of the inspected array)."""
        self.image = image_layer
        self.channel_axis = channel_axis
        self.channel = channel
        self._hidden = []
        if not self._hooked and self.viewer is not None:
            self.viewer.mouse_drag_callbacks.append(self._on_mouse)
            self.viewer.dims.events.current_step.connect(self._on_step)
            self._hooked = True
        self.update()

    def detach(self) -> None:
        self.image = None
        self._stop_adding()
        self._remove(HEAT, GRID, SHARDS, SELECTED)

    def _stop_adding(self) -> None:
        """Abandon a layer addition on its way (the inspector closed, or off the array): no
        layer controls or visual are left without their layer (``ViewerPane.stop_steps``)."""
        if self._adding is not None:
            self.pane.stop_steps(self._adding)
            self._adding = None
        self._selection_wanted = None

    def _layer(self, name: str) -> Any:
        viewer = self.viewer
        if viewer is None:
            return None
        for layer in viewer.layers:
            if layer.name == name:
                return layer
        return None

    def _remove(self, *names: str) -> None:
        viewer = self.viewer
        if viewer is None:
            return
        for layer in [lyr for lyr in viewer.layers if lyr.name in names or lyr.name.startswith(CHUNK_ONLY + "(")]:
            self._discard(layer)

    def _discard(self, layer: Any) -> None:
        """Take an overlay layer off the canvas by hiding it; it is reused when wanted again,
        and goes when the preview's layers are replaced.

        Removing the overlay's layers while the image stays (back to the image alone after
        an RGBA image and vectors had been there) made Mesa crash in glDrawArrays on a
        later draw, about one run in three; reproduced with napari alone, with or without
        one removal per frame. Hidden layers never did.
        """
        layer.visible = False

    def _track(self, layer: Any) -> None:
        """List an overlay layer in napari's layer list only while it shows: a layer turned
        off (or left when the inspector closes) is hidden, not removed (see ``_discard``),
        and must not linger in the list as a row the user never asked for."""
        ref = weakref.ref(layer)

        def on_visible(_event: Any = None) -> None:
            shown = ref()
            if shown is not None:
                self.pane.set_listed(shown, bool(shown.visible))

        layer.events.visible.connect(on_visible)
        on_visible()

    def _usable(self) -> bool:
        report = self.inspector.report
        if self.image is None or report is None or self.viewer is None or self.image not in self.viewer.layers:
            return False
        ndim = len(report.layout.grid) - (1 if self.channel_axis is not None else 0)
        return ndim == self.image.ndim and ndim >= 2

    def _geometry(self) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
        """(chunk shape, shard shape) over the image layer's axes, and the layer's scale/translate."""
        layout = self.inspector.report.layout  # type: ignore[union-attr]
        axes = [a for a in range(len(layout.chunks)) if a != self.channel_axis]
        chunks = np.array([layout.chunks[a] for a in axes], np.float64)
        shards = np.array([(layout.shards or layout.chunks)[a] for a in axes], np.float64)
        shape = [layout.shape[a] for a in axes]
        return chunks, shards, shape, axes

    # -- drawing -----------------------------------------------------------------------------

    def settled(self) -> bool:
        """Whether every overlay layer the options ask for is on the canvas (none on its way)."""
        return not self._adding_now()

    def _adding_now(self) -> bool:
        return self._adding is not None and self.pane.steps_running(self._adding)

    def _add(self, make: Any) -> None:
        """Start adding one overlay layer (``make()`` makes it, not added), unless one is on its way.

        A layer added costs napari's controls, a vispy visual and its first draw (about
        0.1 s each in software GL): the heat map, the two grids and the selection outline
        added at once stalled the GUI 0.3-0.5 s, and one a turn still 0.1 s a turn. Each is
        added in the preview's three turns (``ViewerPane.add_in_steps``: its controls, its
        insertion, its visual), one layer after another: when one is in, :meth:`update`
        starts the next. Not while a preview's layers are on their way (the overlay is
        attached again once they are shown).
        """
        if self._adding_now() or self.pane.steps_running():
            return
        self._adding = self.pane.add_in_steps(make, self._on_inserted, self._on_added, self._on_add_failed)

    def _on_inserted(self, layer: Any) -> None:
        self._track(layer)
        self._keep_image_active()

    def _on_added(self) -> None:
        self._adding = None
        self.update()  # the next layer wanted, and this one's data brought up to date
        if self._selection_wanted is not None and self._layer(SELECTED) is not None:
            chunk, self._selection_wanted = self._selection_wanted, None
            self.show_selection(chunk)

    def _on_add_failed(self, exc: Exception) -> None:
        self._adding = None
        log.warning("a chunk overlay layer could not be added: %s", exc)

    def update(self) -> None:
        if not self._usable():
            if self.inspector.report is None:
                self._stop_adding()
                self._remove(HEAT, GRID, SHARDS, SELECTED)
            return
        report = self.inspector.report
        assert report is not None
        scale = np.asarray(self.image.scale, np.float64)
        translate = np.asarray(self.image.translate, np.float64)
        chunks, shards, shape, _axes = self._geometry()
        state, stored = report.state, report.stored
        if self.channel_axis is not None:
            state, stored = _reduce_axis(state, stored, self.channel_axis)
        heat = self._layer(HEAT)
        if self.inspector.heat_check.isChecked():
            rgba = heat_rgba(state, stored)
            heat_scale = chunks * scale
            heat_translate = translate + (chunks / 2 - 0.5) * scale
            if heat is None:
                def make_heat() -> Any:
                    from napari.layers import Image

                    return Image(rgba, name=HEAT, rgb=True, scale=heat_scale, translate=heat_translate,
                                 opacity=0.55, blending="translucent_no_depth")

                self._add(make_heat)
            else:  # the same layer, kept (hidden) while off: new data, placed again
                if not np.array_equal(heat.data, rgba):
                    heat.data = rgba
                _place(heat, heat_scale, heat_translate)
                _show(heat)
        elif heat is not None:
            self._discard(heat)
        want_grid = self.inspector.grid_check.isChecked()
        self._draw_lines(GRID, chunks, shape, scale, translate, want_grid, "#e5e7eb", 0.7, 1.0)
        sharded = report.layout.shards is not None
        self._draw_lines(SHARDS, shards, shape, scale, translate, want_grid and sharded, "#f97316", 1.0, 3.0)
        if self._layer(SELECTED) is None:  # made ahead, hidden: the first chunk clicked only shows it
            self._add(lambda: self._make_selection(rectangle_lines(0.0, 0.0, 0.0, 0.0), scale, translate,
                                                   max(shape[-2], shape[-1]) / 250.0, visible=False))

    def _draw_lines(self, name: str, step: np.ndarray, shape: list[int], scale: np.ndarray, translate: np.ndarray,
                    wanted: bool, colour: str, opacity: float, width_factor: float) -> None:
        layer = self._layer(name)
        height, width = shape[-2], shape[-1]
        sy, sx = float(step[-2]), float(step[-1])
        ys = np.arange(0, height + sy, sy)
        xs = np.arange(0, width + sx, sx)
        ys[-1] = min(ys[-1], height)
        xs[-1] = min(xs[-1], width)
        if not wanted or len(ys) > MAX_LINES or len(xs) > MAX_LINES:
            if layer is not None:
                self._discard(layer)
            return
        if layer is not None and layer.metadata.get("key") == (sy, sx, height, width):
            _show(layer)
            return
        horizontal = np.stack([np.stack([ys - 0.5, np.full_like(ys, -0.5)], 1), np.stack([np.zeros_like(ys), np.full_like(ys, float(width))], 1)], 1)
        vertical = np.stack([np.stack([np.full_like(xs, -0.5), xs - 0.5], 1), np.stack([np.full_like(xs, float(height)), np.zeros_like(xs)], 1)], 1)
        vectors = np.concatenate([horizontal, vertical])
        edge = max(1.0, max(height, width) / 600.0) * width_factor
        if layer is not None:  # the same layer, with new lines
            layer.data = vectors
            layer.edge_width = edge
            _place(layer, scale[-2:], translate[-2:])
            layer.metadata["key"] = (sy, sx, height, width)
            _show(layer)
            return
        self._add(lambda: _vectors(
            vectors, name=name, edge_color=colour, edge_width=edge, opacity=opacity, vector_style="line",
            blending="translucent_no_depth",
            scale=scale[-2:], translate=translate[-2:], metadata={"key": (sy, sx, height, width)},
        ))

    def show_selection(self, chunk: tuple[int, ...]) -> None:
        if not self._usable():
            return
        chunks, _shards, shape, axes = self._geometry()
        chunk_full = chunk
        chunk = tuple(c for a, c in enumerate(chunk) if a != self.channel_axis)
        y0, x0 = chunk[-2] * chunks[-2] - 0.5, chunk[-1] * chunks[-1] - 0.5
        y1, x1 = min((chunk[-2] + 1) * chunks[-2], shape[-2]) - 0.5, min((chunk[-1] + 1) * chunks[-1], shape[-1]) - 0.5
        outline = rectangle_lines(y0, x0, y1, x1)
        scale = np.asarray(self.image.scale, np.float64)
        translate = np.asarray(self.image.translate, np.float64)
        layer = self._layer(SELECTED)
        edge = max(shape[-2], shape[-1]) / 250.0
        if layer is None and self._adding_now():  # shown once the layer on its way is in
            self._selection_wanted = chunk_full
            return
        if layer is None:
            self._track(self.viewer.add_layer(self._make_selection(outline, scale, translate, edge, visible=True)))
            self._keep_image_active()
        else:
            layer.data = outline
            if layer.edge_width != edge:
                layer.edge_width = edge
            _place(layer, scale[-2:], translate[-2:])
            _show(layer)
        # Bring the chunk's plane into view along the other axes.
        offset = self.viewer.dims.ndim - len(axes)
        for i in range(len(axes) - 2):
            axis = offset + i
            lo, hi = chunk[i] * chunks[i], (chunk[i] + 1) * chunks[i]
            data_pos = (self.viewer.dims.point[axis] - translate[i]) / scale[i]
            if not lo - 0.5 <= data_pos < hi - 0.5:
                self.viewer.dims.set_point(axis, translate[i] + lo * scale[i])

    def _make_selection(self, outline: np.ndarray, scale: np.ndarray, translate: np.ndarray, edge: float,
                        *, visible: bool) -> Any:
        return _vectors(
            outline, name=SELECTED, edge_color="#facc15", edge_width=edge, vector_style="line", visible=visible,
            scale=scale[-2:], translate=translate[-2:], blending="translucent_no_depth")

    def _keep_image_active(self) -> None:
        if self.image is not None and self.image in self.viewer.layers:
            self.viewer.layers.selection.active = self.image

    # -- one chunk alone ---------------------------------------------------------------------

    def show_chunk_only(self, detail: ChunkDetail) -> None:
        """Show the chunk's region by itself, framed, with the other images hidden."""
        if self.image is None or self.viewer is None or self.image not in self.viewer.layers:
            return
        self._remove()
        data = self.image.data[0] if getattr(self.image, "multiscale", False) else self.image.data
        region = [slice(a, b) for a, b in detail.region]
        if self.channel_axis is not None:
            region = [r for a, r in enumerate(region) if a != self.channel_axis]
        try:
            pixels = np.asarray(data[tuple(region)])
        except Exception as exc:  # the inspector's details already explain decode errors
            log.warning("chunk %s could not be read for display: %s", detail.index, exc)
            return
        scale = np.asarray(self.image.scale, np.float64)
        translate = np.asarray(self.image.translate, np.float64) + np.array([r.start for r in region]) * scale
        self._hidden = [lyr for lyr in self.viewer.layers if lyr.visible and lyr.name not in (GRID, SHARDS, SELECTED)]
        for layer in self._hidden:
            layer.visible = False
        limits = (float(pixels.min()), float(pixels.max())) if pixels.size and np.issubdtype(pixels.dtype, np.number) else None
        if limits is not None and limits[0] == limits[1]:
            limits = (limits[0], limits[0] + 1)
        kwargs: dict[str, Any] = {"contrast_limits": limits} if limits else {}
        name = CHUNK_ONLY + "(" + ", ".join(map(str, detail.index)) + ")"
        shown = [lyr for lyr in self.viewer.layers if lyr.name.startswith(CHUNK_ONLY + "(")]
        if shown and shown[0].ndim == pixels.ndim and shown[0].dtype == pixels.dtype:
            layer = shown[0]  # one layer for the chunk shown alone, reused
            layer.data = pixels
            layer.name, layer.scale, layer.translate = name, scale, translate
            if limits:
                layer.contrast_limits = limits
            layer.visible = True
        else:
            self._track(self.viewer.add_image(pixels, name=name, scale=scale, translate=translate, **kwargs))
        self._frame(region, scale, translate)
        self.inspector.show_all_button.setEnabled(True)

    def _frame(self, region: list[slice], scale: np.ndarray, translate: np.ndarray) -> None:
        scene = getattr(self.viewer, "scene", None)  # napari 0.9: the camera lives on the scene
        camera = scene.camera if scene is not None else self.viewer.camera
        height = (region[-2].stop - region[-2].start) * scale[-2]
        width = (region[-1].stop - region[-1].start) * scale[-1]
        center = (translate[-2] + height / 2 - 0.5 * scale[-2], translate[-1] + width / 2 - 0.5 * scale[-1])
        camera.center = center
        canvas = self.pane.qt_viewer.canvas.size if self.pane.qt_viewer is not None else (600, 600)
        camera.zoom = 0.9 * min(canvas[0] / max(height, 1e-9), canvas[1] / max(width, 1e-9))

    def show_all(self) -> None:
        self._remove()
        for layer in self._hidden:
            if layer in self.viewer.layers:
                layer.visible = True
        self._hidden = []
        self.inspector.show_all_button.setEnabled(False)
        self.viewer.reset_view()

    # -- events ------------------------------------------------------------------------------

    def _on_step(self, _event: Any = None) -> None:
        if self.image is None or self.viewer is None:
            return
        try:
            point = self.image.world_to_data(self.viewer.dims.point)
        except Exception:
            return
        report = self.inspector.report
        if report is None:
            return
        full = [int(round(p)) for p in point]
        if self.channel_axis is not None:
            full.insert(self.channel_axis, self.channel)
        self.inspector.set_plane_point(tuple(full))

    def chunk_at(self, world_position: Any) -> tuple[int, ...] | None:
        """The grid index of the chunk under a world position, or None outside the array."""
        report = self.inspector.report
        if report is None or self.image is None:
            return None
        data = np.asarray(self.image.world_to_data(world_position), np.float64)
        layout = report.layout
        axes = [a for a in range(len(layout.chunks)) if a != self.channel_axis]
        index: list[int] = []
        for d, a in zip(data, axes):
            pixel = math.floor(d + 0.5)
            if not 0 <= pixel < layout.shape[a]:
                return None
            index.append(pixel // layout.chunks[a])
        if self.channel_axis is not None:
            index.insert(self.channel_axis, self.channel // layout.chunks[self.channel_axis])
        return tuple(index)

    def _on_mouse(self, _viewer: Any, event: Any) -> Any:
        if event.type != "mouse_press" or getattr(event, "button", 1) != 1 or self.inspector.report is None:
            return
        start = event.position
        dragged = False
        yield
        while event.type == "mouse_move":
            dragged = True
            yield
        if not dragged:
            chunk = self.chunk_at(start)
            if chunk is not None:
                self.inspector.select_chunk(chunk)
