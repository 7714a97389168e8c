"""The chunk inspector drawn over the napari canvas.

One napari layer over the previewed image, ``chunk overlay``: an RGBA raster of the
displayed plane (``model/chunk_raster.py``, a few texels per chunk, at most about a million)
that holds

- the heat map: stored chunks coloured by their stored bytes (viridis over log2 of the size,
  one range for the whole array, as the legend says), missing chunks grey, unreadable ones
  red, chunks not yet scanned clear;
- the chunk grid and, for a sharded array, the shard grid (orange), along the boundaries of
  the last two axes (napari's default display), when the chunks are a few texels wide;
- the outline of the chunk chosen in the table or on the canvas (yellow).

It was four layers (an RGBA image and three vectors layers) until issue 19: each layer
added cost the GUI its controls, its vispy visual and a first draw in software GL, and each
chunk clicked rebuilt the outline's vectors mesh and redrew every layer. The raster follows
the dims: another plane along the other axes draws that plane's chunks.

A click on the canvas (press and release without a drag) selects the chunk under the
cursor in the inspector. "Show only this chunk" is ``chunk_alone.py``; every plane's raster
is built in a worker (``_build``). Only the viewer object is used here, and napari's layer classes
once a layer is made (napari is loaded by then): napari itself is imported by ``napari_view``.
"""

from __future__ import annotations

import logging
import math
import weakref
from typing import Any

import numpy as np
from qtpy.QtCore import QObject, Signal

from ..model.chunk_heat import _reduce_axis, plane_chunks
from ..model.chunk_raster import RasterGeometry, overlay_raster, raster_geometry, with_outline
from ..model.chunk_report import STORED, heat_range
from .chunk_alone import CHUNK_ONLY, ChunkAloneMixin
from .chunk_inspector import ChunkInspector
from .napari_view import ViewerPane

log = logging.getLogger(__name__)

OVERLAY = "chunk overlay"


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


def _same_source(new: tuple[Any, ...], old: tuple[Any, ...]) -> bool:
    """Whether two rasters' sources (report, plane, geometry, options, then the heat map's
    facts: see ``ChunkOverlay._drawn``) are the same: the same raster."""
    return (bool(new) and bool(old) and new[0] is old[0] and new[1:6] == old[1:6]
            and _same_facts(new[6:], old[6:]))


def _same_plane(new: tuple[Any, ...], old: tuple[Any, ...]) -> bool:
    """Whether two rasters' sources are of the same plane of the same array at the same
    geometry (the options and the chunks' facts may differ)."""
    return bool(new) and bool(old) and new[0] is old[0] and new[1:3] == old[1:3]


def _same_facts(new: tuple[Any, ...], old: tuple[Any, ...]) -> bool:
    """Whether a plane's (states, stored bytes, colour range) are those drawn (or both none)."""
    if len(new) != len(old):
        return False
    return not new or (np.array_equal(new[0], old[0]) and np.array_equal(new[1], old[1]) and new[2] == old[2])


class ChunkOverlay(ChunkAloneMixin, QObject):
    """Keeps the overlay layers in step with the inspector and the shown image."""

    rasterBuilt = Signal(object)  # the plane (chunk indices along the leading axes) whose raster a worker built, applied

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
        self._selected: tuple[int, ...] | None = None  # grid index of the chunk outlined
        self._report: Any = None  # the report the selection belongs to
        self._base: np.ndarray | None = None  # the plane's raster without outline (None: nothing to draw)
        self._raster: RasterGeometry | None = None
        self._plane: tuple[int, ...] | None = None  # the plane drawn: chunk indices along the leading axes
        # What ``_base`` was drawn from (report, plane, geometry, options, and with the heat map
        # the plane's states, stored bytes and colour range): a refresh that changes none of it
        # draws nothing again.
        self._drawn: tuple[Any, ...] = ()
        # A raster on its way from a worker: whether one is being built, and the source the
        # overlay wants now (a result built from another source is stale: dropped).
        self._building = False
        self._wanted: tuple[Any, ...] = ()
        self._span: tuple[Any, ...] = (None, None, None, None)  # (report, revision, channel axis, range)
        inspector.reportChanged.connect(self.update)
        inspector.overlayOptionsChanged.connect(self.update)
        inspector.chunkSelected.connect(self.show_selection)
        inspector.showChunkRequested.connect(self.show_chunk_only)
        inspector.showAllRequested.connect(self.show_all)
        # The overlay layer's vispy nodes made ahead too, beside the next preview's, in an idle
        # turn once the view stands still (image_visuals): its visual's turn, in the opening
        # of the inspector, then only wires them (it took 70-180 ms making them; issue 19).
        pane.want_spare_image_nodes(2)

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
        # The legend says the range the colours span: with the channels summed, this one's.
        self.inspector.set_heat_span_source(self._heat_span if channel_axis is not None else None)
        if not self._hooked and self.viewer is not None:
            self.viewer.mouse_drag_callbacks.append(self._on_mouse)
            self.viewer.dims.events.current_step.connect(self._on_step)
            # The raster is of the last two axes, in 2D: hidden while they are not the ones shown.
            self.viewer.dims.events.order.connect(lambda _event=None: self.update())
            self.viewer.dims.events.ndisplay.connect(lambda _event=None: self.update())
            self._hooked = True
        self.update()

    def detach(self) -> None:
        self.image = None
        self.inspector.set_heat_span_source(None)
        self._selected = self._base = self._plane = None
        self._drawn = self._wanted = ()
        self._stop_adding()
        self._remove(OVERLAY)

    def _stop_adding(self) -> None:
        """Abandon a layer addition on its way (the inspector closed, or off the array): no
        layer controls or visual are left without their layer (``ViewerPane.stop_steps``)."""
        if self._adding is not None:
            self.pane.stop_steps(self._adding)
            self._adding = None
            self.inspector.resume_scan()

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
        """Whether the overlay shows what the options ask for: its layer on the canvas (none on
        its way) and no raster being built."""
        return not self._adding_now() and not self._building

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
        # The scan's thread waits meanwhile: it took the interpreter lock from the GUI thread
        # at every release, and each of the addition's turns lasted 2-4 times its CPU time.
        self.inspector.hold_scan()
        self._adding = self.pane.add_in_steps(make, self._on_inserted, self._on_added, self._on_add_failed)

    def _on_inserted(self, layer: Any) -> None:
        self._track(layer)
        self._keep_image_active()

    def _on_added(self) -> None:
        self._adding = None
        self.inspector.resume_scan()
        self.update()  # the layer's data brought up to date (a chunk chosen meanwhile outlined)

    def _on_add_failed(self, exc: Exception) -> None:
        self._adding = None
        self.inspector.resume_scan()
        log.warning("the chunk overlay could not be added: %s", exc)

    def _reduced(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """A grid index over the image layer's axes (the channel axis, split into layers, left out)."""
        return tuple(c for a, c in enumerate(index) if a != self.channel_axis)

    def _shown_plane(self, grid: tuple[int, ...]) -> tuple[int, ...]:
        """The chunk indices, along the axes before the last two, of the plane the dims show."""
        chunks, _shards, _shape, _axes = self._geometry()
        lead = len(grid) - 2
        try:
            point = np.asarray(self.image.world_to_data(self.viewer.dims.point), np.float64)[-len(grid):]
        except Exception:  # not placed yet: the first plane
            return (0,) * lead
        return tuple(int(min(max(math.floor(p + 0.5) // int(chunks[a]), 0), grid[a] - 1))
                     for a, p in zip(range(lead), point[:lead]))

    def update(self) -> None:
        """Draw the shown plane's raster again from the report and the options (a scan refresh,
        an option toggled, the overlay attached, another plane shown)."""
        if not self._usable():
            if self.inspector.report is None:
                self._stop_adding()
                self._selected = self._base = self._plane = None
                self._drawn = self._wanted = ()
                self._remove(OVERLAY)
            return
        report = self.inspector.report
        assert report is not None
        if report is not self._report:  # another array, or the same scanned again: nothing chosen yet
            self._report, self._selected = report, None
        chunks, shards, shape, _axes = self._geometry()
        plane = self._shown_plane(self._reduced(tuple(report.layout.grid)))
        geometry = raster_geometry((shape[-2], shape[-1]), (int(chunks[-2]), int(chunks[-1])))
        heat_on, grid_on = self.inspector.heat_check.isChecked(), self.inspector.grid_check.isChecked()
        per_shard = None
        if report.layout.shards is not None:
            per_shard = (int(shards[-2] // chunks[-2]), int(shards[-1] // chunks[-1]))
        facts: tuple[Any, ...] = ()
        if heat_on:
            state, stored = self._plane_facts(report, plane)
            facts = (state, stored, self._heat_span(report))
        source = (report, plane, geometry, heat_on, grid_on, per_shard, *facts)
        self._raster, self._plane = geometry, plane
        if _same_source(source, self._drawn):
            self._wanted = ()  # what is drawn is wanted (a raster on its way, of another source, is dropped)
        else:
            # Something the shown plane shows changed: its raster again. Else (a scan refresh
            # of other planes' chunks, or none) the raster drawn stays.
            if not (heat_on or grid_on):
                self._base, self._drawn, self._wanted = None, source, ()
            else:
                # Built in a worker, whatever the plane's size: on the GUI thread even a plane
                # of 1,024 chunks was a few ms of the click that brings the plane, a turn that
                # already waits for the interpreter lock while napari's slice reads the plane.
                # Meanwhile the layer keeps what it shows (an option or a chunk's state changed:
                # the change shows when the raster arrives).
                if not _same_plane(source, self._drawn):
                    # Another plane: the layer keeps the last plane's raster until this one's
                    # comes, as napari's image keeps its last slice until the new one is read,
                    # then shows it with the outline in one draw (hiding the layer meanwhile, or
                    # an outline drawn alone first, was more GUI work in the click's turns).
                    self._base, self._drawn = None, ()
                self._build(source)
                return
        self._draw()

    @staticmethod
    def _built(source: tuple[Any, ...]) -> np.ndarray:
        """The raster of ``source`` (see ``_drawn``): built here, or in a worker (``_build``)."""
        _report, _plane, geometry, heat_on, grid_on, per_shard, *facts = source
        state, stored, span = facts if heat_on else (None, None, None)
        return overlay_raster(state, stored, span, geometry, grid=grid_on, shards=per_shard)

    def _build(self, source: tuple[Any, ...]) -> None:
        """Build the raster of ``source`` in a worker (one at a time: while one is built, the
        latest source wanted waits for it, and is built next unless it is the one built).
        The plane's facts are copies: the report's arrays change batch by batch meanwhile."""
        self._wanted = source
        if self._building:
            return
        self._building = True
        self.inspector.workers.start(self._built, source,
                                     on_return=lambda raster, s=source: self._on_built(s, raster),
                                     on_error=lambda exc, s=source: self._on_build_failed(s, exc))

    def _on_built(self, source: tuple[Any, ...], raster: np.ndarray) -> None:
        """A worker's raster: shown if it is of what the overlay wants now, else dropped
        (the plane, the array, an option or the chunks changed meanwhile) and the wanted
        one built."""
        self._building = False
        if not self._wanted:
            return  # detached, or the inspector cleared, meanwhile
        if not _same_source(source, self._wanted):
            self.update()
            return
        self._wanted = ()
        self._base, self._drawn = raster, source
        self._draw()
        self.rasterBuilt.emit(source[1])

    def _on_build_failed(self, source: tuple[Any, ...], exc: BaseException) -> None:
        """Logged; the raster wanted since (another plane, an option), if any, is built."""
        log.warning("the chunk overlay's raster could not be built: %s", exc)
        self._building = False
        if self._wanted and not _same_source(source, self._wanted):
            self.update()
        else:
            self._wanted = ()
            self._draw()  # without its raster: the last plane's is not left over this one

    def _plane_facts(self, report: Any, plane: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The states and stored bytes of the plane's chunks (copies: the report's arrays
        change in place batch by batch), the channel axis collapsed."""
        state, stored = plane_chunks(report.state, report.stored, plane, self.channel_axis)
        return state.copy(), stored.copy()

    def _heat_span(self, report: Any) -> tuple[int, int]:
        """The whole array's colour range (every plane coloured alike, as the legend says): the
        report's, kept batch by batch; with a channel axis collapsed (stored bytes summed over
        it), found once per report revision."""
        if self.channel_axis is None:
            return report.heat_span()  # type: ignore[no-any-return]
        key = (report, report.revision, self.channel_axis)
        if self._span[0] is not report or self._span[1:3] != key[1:]:
            state, stored = _reduce_axis(report.state, report.stored, self.channel_axis)
            self._span = (*key, heat_range(stored[state == STORED]))
        return self._span[3]  # type: ignore[no-any-return]

    def _draw(self) -> None:
        """The plane's raster, with the chosen chunk's outline when it lies in this plane, on
        the overlay layer (added in the preview's turns the first time; then, only when it
        changed: napari slices and redraws a layer at every set).

        A raster of the layer's shape (a chunk clicked, a scan refresh, another plane of the
        same array) is written into the layer's own array and the layer refreshed, without
        napari's work for a new array (its extent, the dims, the data event's listeners: half
        a click's GUI time, and most of a click that brings another plane)."""
        geometry, raster = self._raster, self._base
        if geometry is None or self._plane is None:
            return
        dims = self.viewer.dims
        if tuple(dims.displayed) != (dims.ndim - 2, dims.ndim - 1):  # rolled, or 3D: the raster is of the last two
            layer = self._layer(OVERLAY)
            if layer is not None:
                self._discard(layer)
            return
        if raster is None and self._wanted:
            return  # this plane's raster on its way: drawn with the outline when it comes
        if self._selected is not None:
            chosen = self._reduced(self._selected)
            if chosen[:-2] == self._plane:
                base = raster if raster is not None else np.zeros((*geometry.shape, 4), np.uint8)
                raster = with_outline(base, geometry, (chosen[-2], chosen[-1]))
        layer = self._layer(OVERLAY)
        if raster is None:
            if layer is not None:
                self._discard(layer)
            return
        if raster is self._base and (layer is None or layer.data.shape != raster.shape):
            raster = raster.copy()  # given to napari, whose array is written in place later: never the base
        image_scale = np.asarray(self.image.scale, np.float64)[-2:]
        texel = np.asarray(geometry.texel, np.float64)
        scale = texel * image_scale
        translate = np.asarray(self.image.translate, np.float64)[-2:] + (texel / 2 - 0.5) * image_scale
        if layer is None:
            def make() -> Any:
                from napari.layers import Image

                return Image(raster, name=OVERLAY, rgb=True, scale=scale, translate=translate,
                             blending="translucent_no_depth")

            self._add(make)
            return
        data = layer.data
        if isinstance(data, np.ndarray) and data.shape == raster.shape and data.dtype == raster.dtype:
            if not np.array_equal(data, raster):
                data[...] = raster
                if layer.visible:  # a hidden layer is refreshed by napari when shown (_show)
                    layer.refresh(extent=False)  # same shape and place: napari's extent stays
        elif data.shape != raster.shape or not np.array_equal(data, raster):
            layer.data = raster
        _place(layer, scale, translate)
        _show(layer)

    def show_selection(self, chunk: tuple[int, ...]) -> None:
        """Outline ``chunk`` (its grid index), bringing its plane into view along the other axes."""
        if not self._usable():
            return
        self._selected = tuple(chunk)
        chunks, _shards, _shape, axes = self._geometry()
        reduced = self._reduced(chunk)
        scale = np.asarray(self.image.scale, np.float64)
        translate = np.asarray(self.image.translate, np.float64)
        offset = self.viewer.dims.ndim - len(axes)
        for i in range(len(axes) - 2):
            axis = offset + i
            lo, hi = reduced[i] * chunks[i], (reduced[i] + 1) * chunks[i]
            data_pos = (self.viewer.dims.point[axis] - translate[i]) / scale[i]
            if not lo - 0.5 <= data_pos < hi - 0.5:
                self.viewer.dims.set_point(axis, translate[i] + lo * scale[i])  # _on_step draws that plane
        if self._adding_now():
            return  # outlined once the layer on its way is in (_on_added)
        if self._plane != reduced[:-2]:
            self.update()
        else:
            self._draw()

    def _keep_image_active(self) -> None:
        if self.image is not None and self.image in self.viewer.layers:
            self.viewer.layers.selection.active = self.image

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
        if self._plane is not None and self._usable():
            grid = self._reduced(tuple(report.layout.grid))
            if self._shown_plane(grid) != self._plane:
                self.update()  # another plane's chunks

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
