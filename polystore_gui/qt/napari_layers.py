"""What the embedded viewer shows: a preview's layers (lazy channel views, axis names, the
middle plane), which layers napari's layer list lists, and the layer histogram the user asked
for (``HISTOGRAM_KEY``, remembered).

A preview's layers go on the canvas in short GUI turns (issue 19): what napari's
``add_layer`` does in one turn (the layer's controls, its insertion, its vispy visual: 0.1 s
and more a layer on a warm viewer, 0.3 s for a three-layer preview with the old layers'
removal) is split into one step a turn, and the old layers go in a turn of their own. The
chunk overlay's layers are added in the same turns (:meth:`LayerShowMixin.add_in_steps`).

Split from ``napari_view`` (issue 15): a mixin of ``ViewerPane``. napari is imported by
``napari_view`` alone (here only its layer classes, once a layer is made: napari is loaded by then).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..model.preview_types import axis_labels
from .contrast_later import ContrastLaterMixin
from .image_visuals import SPARE_DELAY_MS
from .layer_removal import DROPPED_CONTROLS, LayerRemovalMixin, _Inserted  # noqa: F401 (DROPPED_CONTROLS: importable here)
from .later import call_later, next_turn
from .slice_after_paint import slice_after_paint

SPARE_UNLOADED_LOOKS = 40  # a still view's slice awaited this many looks (10 s) for the nodes made ahead

if TYPE_CHECKING:
    from ..model.lazy import LayerSpec

log = logging.getLogger(__name__)

HISTOGRAM_DELAY_MS = 300
# Whether the user wants the layer histogram (napari's "histogram" button beside the contrast
# slider): remembered, so later previews show it too. Off until the user asks: each layer's
# histogram is a GL canvas of its own, 0.2-0.8 s of GUI time to build in software GL.
HISTOGRAM_KEY = "viewer/showHistogram"


def _middle(n: int) -> int:
    from ..model.lazy import middle_index

    return middle_index(n)


def _default_channel_colour(channel: int, channels: int) -> str:
    """napari's colour for a channel its metadata gives none (``stack_utils.split_channels``):
    magenta and green for two channels, cyan, magenta, yellow, blue, green, red in turn for
    more; grey layers blended one over the other would show only the top channel."""
    if channels == 1:
        return "gray"
    cycle = ("magenta", "green") if channels == 2 else ("cyan", "magenta", "yellow", "blue", "green", "red")
    return cycle[channel % len(cycle)]


def _take(array: Any, axis: int, index: int) -> Any:
    """``array`` with ``axis`` fixed at ``index``, without reading (dask slices lazily)."""
    if type(array).__module__.startswith("dask"):
        key: tuple[Any, ...] = (slice(None),) * axis + (index,)
        return array[key]
    from ..model.lazy import TakeAxis

    return TakeAxis(array, axis, index)


class LayerShowMixin(LayerRemovalMixin, ContrastLaterMixin):
    """``ViewerPane``'s layers: shown from a preview's specs, listed or not, their histograms."""

    viewer: Any
    qt_viewer: Any
    contrast: Any
    _model: Any
    _workers: Any
    _unlisted: Any
    _preparing: bool
    _warm_layers: list[Any]
    _showing_histogram: bool
    _staging: int  # bumped to abandon the steps of a show_layers on its way
    _steps_left: tuple[int, int]  # (token, steps still to run) of the last run
    _lay_out_hidden: Callable[[], None]  # WarmUpMixin's
    _draw_hidden: Callable[[], None]  # WarmUpMixin's
    _image_nodes: Any  # image_visuals.SpareImageNodes

    def clear(self) -> None:
        """Take every layer off: hidden at once (nothing more of them is read or drawn), then
        removed in the next GUI turn (issue 19: not in the turn that shows the next preview's
        first layer). A :meth:`show_layers` that follows takes the removal over; when none
        does, the dims are emptied as napari empties them, a turn after (:meth:`_empty_dims`)."""
        self._preparing = False
        self._warm_layers = []
        steps = [*self._removal_steps(), self._empty_dims]
        self._run_steps(steps, on_failed=lambda exc: log.warning("a layer could not be removed: %s", exc))

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

    def show_layers(self, layers: tuple[LayerSpec, ...], on_shown: Callable[[list[Any]], object],
                    on_failed: Callable[[Exception], object]) -> None:
        """Replace what is shown by ``layers``, in steps of one event-loop turn each (issue 19):
        the old layers hidden at once and removed in the next turn; each new layer added
        (hidden) in turns of its own (:meth:`_insert_steps`); then the dims set, the
        view fitted and the new layers made visible, and ``on_shown(added)``. ``on_failed(exc)`` instead when napari refuses
        the data. napari is never asked to compute limits.

        Adding a layer costs 40-70 ms of GUI time on a warm viewer (its vispy visual, layer
        controls and list row, built by napari's ``inserted`` event): with the removal of the
        last preview's layers, all in one turn, a three-channel preview stalled the window
        0.3 s. A later :meth:`show_layers` or :meth:`clear` takes over the steps still to run
        (the layers already added go with the old ones).
        """
        assert self.viewer is not None
        self._preparing = False  # a warm-up on its way stops: its tiny layers go with the clear
        self._warm_layers = []
        added: list[Any] = []
        followed: list[tuple[Any, bool]] = []  # image layers with limits, and whether those are a placeholder
        steps = self._removal_steps()
        for spec in layers:
            steps.extend(self._layer_steps(spec, added, followed))
        # While the viewer is hidden (its first preview, or after a table or text page), each
        # part of showing it gets a turn of its own (napari_warmup): laid out at its real
        # size; the layers shown; their first frame drawn; then the page switched to it.
        steps.append(self._lay_out_hidden)
        shown: list[list[Any]] = []
        steps.append(lambda: shown.append(self._finish_show(layers, added, followed)))
        steps.append(self._draw_hidden)
        steps.append(lambda: on_shown(shown[0]))
        self._run_steps(steps, on_failed)

    def add_in_steps(self, make: Callable[[], Any], on_inserted: Callable[[Any], object],
                     on_done: Callable[[], object], on_failed: Callable[[Exception], object]) -> int:
        """Add one layer that is not a preview's (the chunk overlay's) in the preview's
        turns (:meth:`_insert_steps`): ``on_inserted(layer)`` in the turn that inserts it,
        ``on_done()`` a turn after its visual. Returns the steps' token (see :meth:`steps_running`).

        Only when no steps are on their way (:meth:`steps_running` is False): these take
        the place of any. A later :meth:`show_layers` or :meth:`clear` takes these over as
        it does a preview's (the layer's controls dropped, its visual built before removal).
        """
        added: list[Any] = []
        steps = self._insert_steps(make, added, on_inserted)
        steps.append(on_done)
        return self._run_steps(steps, on_failed)

    def steps_running(self, token: int | None = None) -> bool:
        """Whether steps (of ``token``'s run, or of any) are still to run."""
        run, left = self._steps_left
        return left > 0 and run == self._staging and (token is None or token == run)

    def stop_steps(self, token: int) -> None:
        """Abandon the steps of ``token``'s run, if still on their way, leaving no half-added
        layer: the visual built of a layer inserted, the controls dropped of one not."""
        if not self.steps_running(token):
            return
        self._staging += 1
        self._build_visuals()
        self._drop_orphan_controls()
        self._start_contrast_searches()  # a layer of the abandoned show is never shown: its search goes

    def _run_steps(self, steps: list[Callable[[], object]], on_failed: Callable[[Exception], object]) -> int:
        """Run ``steps`` one an event-loop turn, from the next turn on, in place of the steps
        still to run from before; after a step that raises, ``on_failed(exc)`` and no more.
        Returns the run's token. Between two steps, what the event loop has due runs first
        (``later.next_turn``: the window's timers, input)."""
        self._staging += 1
        token = self._staging
        self._steps_left = (token, len(steps))

        def run(rest: list[Callable[[], object]]) -> None:
            if token != self._staging or self.viewer is None:
                return  # superseded (another preview, a clear, the viewer closed)
            self._steps_left = (token, len(rest) - 1)
            try:
                rest[0]()
            except Exception as exc:  # napari refusing the data: the caller says so
                self._staging += 1
                on_failed(exc)
                self._start_contrast_searches()
                return
            if len(rest) > 1:
                next_turn(self, lambda: run(rest[1:]))
            else:  # the run's end: a search whose layer is shown may start, one never shown goes
                self._start_contrast_searches()
                self._make_spare_nodes_later()

        if steps:
            next_turn(self, lambda: run(steps))
        return token

    _spare_waiting = False  # a look of _make_spare_nodes_later's is due

    def want_spare_image_nodes(self, count: int) -> None:
        """Keep up to ``count`` sets of image nodes made ahead from now on (the chunk
        overlay's layer wants one beside the next preview's), the next made in an idle turn."""
        self._image_nodes.want(count)
        self._make_spare_nodes_later()

    def _make_spare_nodes_later(self, seen: Any = None, unloaded_looks: int = 0) -> None:  # 0: a fresh wait
        """An image layer's vispy nodes made ahead for the next preview (``image_visuals``),
        in an idle turn a little later: never in a turn of a run of layer steps, nor while
        the view moves (a slider dragged or stepped, a pan or zoom: the 20-40 ms turn fell
        into the first slider steps after a preview), nor while a slice is on its way. Put
        off again until the view stood still for ``SPARE_DELAY_MS``. One wait at a time (a
        run's end while one waits leaves it to look at the new view), and a still view whose
        slice never arrives (a failed read) is looked at ``SPARE_UNLOADED_LOOKS`` times, then
        left until the next preview."""
        if seen is None and self._spare_waiting:
            return
        seen = self._view_state() if seen is None else seen
        unloaded_looks = unloaded_looks or SPARE_UNLOADED_LOOKS

        def make() -> None:
            self._spare_waiting = False
            if self.viewer is None or self.steps_running() or self._image_nodes.full:
                return
            now = self._view_state()
            if now != seen:  # the view moved: wait on
                self._make_spare_nodes_later(now, unloaded_looks)
            elif not now[-1]:  # still, a slice not in yet
                if unloaded_looks > 1:
                    self._make_spare_nodes_later(now, unloaded_looks - 1)
            else:
                self._image_nodes.make()
                if not self._image_nodes.full:  # another set wanted (the overlay's): a turn of its own
                    self._make_spare_nodes_later()

        if not self._image_nodes.full:
            self._spare_waiting = True
            call_later(self, SPARE_DELAY_MS, make)

    def _view_state(self) -> tuple[Any, ...]:
        """What a move of the view changes (the planes shown, the camera), and last whether
        every layer has its slice: two equal states a delay apart, loaded, are a still view."""
        viewer = self.viewer
        if viewer is None:
            return (None, True)
        scene = getattr(viewer, "scene", None)  # napari >= 0.9 (viewer.camera is deprecated there)
        camera = scene.camera if scene is not None else viewer.camera
        return (tuple(viewer.dims.current_step), tuple(camera.center), float(camera.zoom),
                all(getattr(layer, "loaded", True) for layer in viewer.layers))

    def _layer_steps(self, spec: LayerSpec, added: list[Any],
                     followed: list[tuple[Any, bool]]) -> list[Callable[[], object]]:
        """One step per napari layer ``spec`` makes (a layer per channel), each appending to ``added``."""
        # Added hidden: napari slices a visible layer at once, at whatever plane the
        # dims point to, which would read a plane nobody asked for.
        kwargs: dict[str, Any] = {"name": spec.name, "multiscale": spec.multiscale, "visible": False}
        if spec.scale is not None:
            kwargs["scale"] = spec.scale
        if spec.translate is not None:
            kwargs["translate"] = spec.translate
        if spec.kind == "labels":
            def make_labels() -> Any:
                from napari.layers import Labels

                labels = Labels(spec.data, **kwargs)
                labels.editable = False  # a preview never paints into the user's data
                return labels

            return self._insert_steps(make_labels, added)
        kwargs["rgb"] = spec.rgb
        placeholder = spec.contrast_placeholder
        if spec.channel_axis is None:
            if spec.contrast_limits is not None:
                kwargs["contrast_limits"] = spec.contrast_limits

            def follow_one(layer: Any) -> None:
                if placeholder and spec.contrast_limits is not None and not spec.rgb:  # sampled limits only
                    followed.append((layer, placeholder[0]))
                    if spec.contrast_later is not None:
                        self._take_contrast_later(weakref.ref(layer), spec.contrast_later)

            return self._insert_steps(lambda: self._make_image(spec.data, **kwargs), added, follow_one)
        # One layer per channel, split here with lazy views: napari's own split indexes
        # each level eagerly, which for a zarr array reads a whole channel at full size.
        levels = spec.data if spec.multiscale else [spec.data]
        channels = int(levels[0].shape[spec.channel_axis])
        limits = spec.contrast_limits if isinstance(spec.contrast_limits, list) else None

        def channel_kwargs(c: int) -> dict[str, Any]:
            these = dict(kwargs)
            these["name"] = spec.channel_names[c] if spec.channel_names else f"{spec.name} [{c}]"
            if limits is not None and c < len(limits):
                these["contrast_limits"] = limits[c]
            if spec.colormaps:
                these["colormap"] = spec.colormaps[c]
                these["blending"] = "additive"
            else:  # no colours in the metadata: napari's own for a channel axis, each channel seen
                these["colormap"] = _default_channel_colour(c, channels)
                these["blending"] = "translucent_no_depth" if c == 0 else "additive"
            return these

        def make_channel(c: int) -> Any:
            views = [_take(level, spec.channel_axis, c) for level in levels]
            return self._make_image(views if spec.multiscale else views[0], **channel_kwargs(c))

        def follow_channel(c: int, layer: Any) -> None:
            if "contrast_limits" in channel_kwargs(c) and c < len(placeholder):  # sampled, not omero.window
                followed.append((layer, placeholder[c]))

        steps: list[Callable[[], object]] = []
        for c in range(channels):
            steps.extend(self._insert_steps(lambda c=c: make_channel(c), added,
                                            lambda layer, c=c: follow_channel(c, layer)))
        return steps

    def _insert_steps(self, make: Callable[[], Any], added: list[Any],
                      then: Callable[[Any], object] | None = None) -> list[Callable[[], object]]:
        """Six turns for one layer (what napari's ``add_layer`` does in one): the layer made;
        its layer controls made (the largest part of the two, 10-13 ms: a turn of its own,
        issue 19); the dims given the layer's number of dimensions when it is the first
        (their slider widgets rebuilt); the layer inserted into napari's list (its model
        side: dims, selection, the list's row), napari's own builders of the controls and
        of the vispy visual held back; then its vispy visual built (:meth:`_build_visuals`),
        an image layer's vispy nodes (two thirds of its visual's turn, 30-100 ms under load)
        made in a turn of their own before it unless a set made ahead waits (issue 19: a
        preview, or the inspector's overlay, added before a still view let one be made)."""
        made: list[Any] = []

        def make_layer() -> None:
            made.append(make())

        def make_controls() -> None:
            # Built before the insertion: the container shows the controls of the active
            # layer, and the layer inserted becomes the active one.
            self.qt_viewer.controls._add(_Inserted(made[0]))

        def shape_dims() -> None:
            # napari rebuilds every dims slider widget when the number of dimensions changes
            # (35-40 ms): for a first layer on the empty list (2-D dims), in this turn rather
            # than in the insertion's. The insertion then only sets the sliders' ranges.
            # The dims an old preview left (see _remove_all) take this layer's shape, up or down.
            layer, dims = made[0], self.viewer.dims
            if not len(self.viewer.layers) and layer.ndim != dims.ndim:
                dims.ndim = layer.ndim

        def insert() -> None:
            inserted = self.viewer.layers.events.inserted
            with inserted.blocker(self.qt_viewer.controls._add), inserted.blocker(self.qt_viewer._on_add_layer_change):
                self.viewer.layers.append(made[0])
            # The value under a resting cursor follows each slice as it arrives: napari 0.9
            # signals a sliced plane with ``set_data`` (after the layer's ``loaded`` is set;
            # ``events.loaded`` is never emitted), later than the step that asked for it
            # when slicing is asynchronous.
            made[0].events.set_data.connect(self._on_cursor_position_changed)
            added.append(made[0])
            if then is not None:
                then(made[0])

        def make_nodes() -> None:
            if not self._image_nodes.ready and type(made[0]).__name__ == "Image":
                self._image_nodes.make()  # given to this layer's visual in the next turn

        return [make_layer, make_controls, shape_dims, insert, make_nodes, self._build_visuals]

    def _finish_show(self, layers: tuple[LayerSpec, ...], added: list[Any],
                     followed: list[tuple[Any, bool]]) -> list[Any]:
        """The last step: axis names, the middle plane, the view fitted, the layers made visible."""
        viewer = self.viewer
        # The sliders named by the data's axes (OME axes, zarr 3 dimension_names, TIFF
        # axes); "axis 0", "axis 1"… otherwise (model.preview_types.axis_labels), not
        # napari's "-3". Always set: napari keeps the last array's names for the axes the
        # next one has in common.
        first = layers[0] if layers else None
        viewer.dims.axis_labels = axis_labels(first.axis_labels if first is not None else None, viewer.dims.ndim)
        next_turn(self, self._fit_axis_labels)
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

    def _fit_axis_labels(self) -> None:
        """The sliders' axis names sized again, once the sliders are laid out: napari sizes
        them (at most a fifth of the slider) when their text changes, from a slider not yet
        laid out, and "axis 0" read "..." until the window was resized."""
        dims = getattr(self.qt_viewer, "dims", None)
        resize = getattr(dims, "_resize_axis_labels", None)  # napari 0.9's, private: skipped if gone
        if callable(resize):
            resize()

    def _make_image(self, data: Any, **kwargs: Any) -> Any:
        """What ``viewer.add_image`` makes for one layer, whose histogram is a
        :class:`SampledHistogram` (computed in a worker on a bounded sample; napari's own
        recomputes the whole plane on the GUI thread at every slice). The model is set before
        the layer's controls are made: they bind to it."""
        from napari.layers import Image

        from .layer_histogram import SampledHistogram

        kwargs.setdefault("colormap", "gray")  # add_image's defaults for one channel
        kwargs.setdefault("blending", "translucent_no_depth")
        layer = Image(data, **kwargs)
        histogram = SampledHistogram(layer)
        histogram.use_workers(self._workers.start)
        histogram.events.enabled.connect(lambda _e=None, h=weakref.ref(histogram): self._on_histogram_toggled(h))
        layer._histogram = histogram
        if layer.multiscale:  # its level and region still picked in the canvas's paint, sliced after it
            slice_after_paint(layer, lambda fn: next_turn(self, fn))
        return layer

    @staticmethod
    def histogram_wanted() -> bool:
        """Whether layer histograms are shown (the user turned one on last, not off)."""
        from . import settings_writes

        return settings_writes.read_bool(HISTOGRAM_KEY, False)

    def _on_histogram_toggled(self, ref: Any) -> None:
        histogram = ref()
        if histogram is None or self._showing_histogram:
            return
        from . import settings_writes

        # The user's own choice; the file's write and flush off the GUI thread (issue 19).
        settings_writes.write(HISTOGRAM_KEY, bool(histogram.enabled))

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