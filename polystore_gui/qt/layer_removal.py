"""How the embedded viewer's layers go: a preview's, the warm-up's (issue 19).

napari's ``layers.clear()`` of a preview's layers was 50-75 ms of GUI time in one turn, and
reset the dims to 2-D for the next preview to shape again. Here the removal is four short
steps (:meth:`LayerRemovalMixin._removal_steps`): the layer controls taken down, the list
cleared in one batch with napari's dims reset held back, then the canvas's clean-up (its
garbage collection, then its GL finish and scene-graph update). Both
``LayerShowMixin`` (a preview replacing another, a clear) and ``WarmUpMixin`` (its tiny
layers) remove layers this way. Split from ``napari_layers`` (issue 15): a mixin of
``ViewerPane``; napari is imported by ``napari_view`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The object name of an empty stand-in for a layer's controls taken down before the layer's
# removal (see LayerRemovalMixin._drop_old_controls).
DROPPED_CONTROLS = "droppedLayerControls"


class _Inserted:
    """What napari's layer-controls container reads of an ``inserted``/``removed`` event."""

    def __init__(self, value: Any) -> None:
        self.value = value


class LayerRemovalMixin:
    """``ViewerPane``'s layer removal in short steps, and the clean-ups it relies on."""

    viewer: Any
    qt_viewer: Any
    _model: Any
    _canvas_unsettled: bool  # a removal's canvas clean-up held back (see _settle_canvas)
    _removed_collected = False  # its garbage collection ran already (see _collect_removed)
    _image_nodes: Any  # image_visuals.SpareImageNodes: an image layer's vispy nodes made ahead

    def _removal_steps(self) -> list[Callable[[], object]]:
        """The shown layers hidden now, and the three steps that remove them (issue 19:
        napari's ``clear`` of a preview's layers was 50-75 ms of GUI time in one turn):
        their layer controls first (:meth:`_drop_old_controls`); then the list cleared, its
        canvas's clean-up held back (:meth:`_remove_all`); then that clean-up in two turns:
        napari's full garbage collection (:meth:`_collect_removed`), then its GL finish and
        the scene graph's update (:meth:`_settle_canvas`).

        The list is cleared in one turn, as one batch: removed one a turn, a row of napari's
        layer list painted between two removals raised in its delegate, and removing layers
        while an image stays has crashed Mesa (see ``ChunkOverlay._discard``).
        """
        # The model, not ``viewer``: the warm-up removes its layers so before ``ready`` too.
        layers = list(self._model.layers) if self._model is not None else []
        for layer in layers:
            layer.visible = False
        return [self._drop_old_controls, self._remove_all, self._collect_removed, self._settle_canvas]

    def _drop_old_controls(self) -> None:
        """The listed layers' controls taken down before the layers go, each replaced by an
        empty stand-in that napari's own removal then takes away (whoever removes the
        layer: the next turn's clear, a quit, the chunk overlay). The selection is emptied
        first: napari's container shows its empty panel."""
        from qtpy.QtWidgets import QFrame

        if not len(self._model.layers):
            return
        self._model.layers.selection.clear()
        controls = self.qt_viewer.controls
        self._keep_controls_width(controls)
        for layer in list(self._model.layers):
            widget = controls.widgets.get(layer)
            if widget is not None and widget.objectName() != DROPPED_CONTROLS:
                controls._remove(_Inserted(layer))
                stand_in = QFrame()
                stand_in.setObjectName(DROPPED_CONTROLS)
                controls.addWidget(stand_in)
                controls.widgets[layer] = stand_in

    @staticmethod
    def _keep_controls_width(controls: Any) -> None:
        """The layer controls' panel keeps at least the width of the widest controls it has
        shown (issue 19). Without it, napari's side panel narrowed to its first width when
        the old layers' controls went and widened again when the next preview's came: the
        canvas beside it was resized, and redrawn whole in software GL, twice a preview."""
        wanted = controls.minimumSizeHint().width()
        if wanted > controls.minimumWidth():
            controls.setMinimumWidth(wanted)

    def _remove_all(self) -> None:
        """Clear napari's list in one batch, without the canvas's clean-up at its end
        (napari's ``gc.collect()`` and GL finish: :meth:`_collect_removed` and
        :meth:`_settle_canvas`, the next turns);
        the controls' stand-ins (:meth:`_drop_old_controls`) go with their layers.

        The dims are left as they are (issue 19): napari's removal resets them to 2-D once the
        list is empty (its slider widgets taken down, 20-30 ms) and the next preview's first
        layer shaped them again (rebuilt, 20 ms more), both for nothing between two arrays of
        the same dimensions. The viewer's own removal handler is held back for that; what
        else it does, disconnecting the layer from the viewer, is done here. The next
        preview's first layer gives the dims its shape (``shape_dims``), a :meth:`clear`
        that nothing follows empties them (:meth:`_empty_dims`)."""
        from napari.utils.events.event_utils import disconnect_events

        self._build_visuals()  # of layers a newer preview stopped halfway (a held-back clean-up first)
        if len(self._model.layers):  # napari runs a full gc.collect() at every clear, even of an empty list
            self._drop_old_controls()  # of layers added since its turn (a newer preview's first steps)
            canvas = self.qt_viewer.canvas
            self._canvas_unsettled = True
            self._removed_collected = False  # these layers' visuals are not collected yet
            viewer, layers = self._model, list(self._model.layers)
            events = viewer.layers.events
            with events.end_batch.blocker(canvas._resume_scene_graph_update), \
                    events.removed.blocker(viewer._on_remove_layer):
                viewer.layers.clear()
            for layer in layers:  # the rest of napari's ViewerModel._on_remove_layer
                disconnect_events(layer.events, viewer)
                disconnect_events(layer.events, viewer.layers)
        self._drop_orphan_controls()

    def _remove_at_close(self) -> None:
        """The layers taken off a viewer that closes for good (quitting), in the quit's one
        turn: as :meth:`_remove_all` (the list cleared in one batch, each layer's visual
        closed and the layer disconnected from the viewer), without what only a viewer
        that goes on needs: napari's dims reset for an empty list (its slider widgets
        rebuilt), its full garbage collection and its GL finish with the scene graph's
        update (the canvas closes next; its scene graph stays paused). napari's
        ``layers.clear()`` there was most of the quit's 50-60 ms turn (issue 19)."""
        self._remove_all()
        self._canvas_unsettled = False  # nothing to settle on a canvas that closes
        self._removed_collected = False

    def _empty_dims(self) -> None:
        """The dims of an empty viewer as napari makes them when its list empties (2-D,
        reset, the cursor's position trimmed), after a :meth:`clear` that no preview
        followed (the warm-up's too); also of dims shaped for a first layer that a newer
        preview kept out. Already 2-D, the reset only sets ranges back: no slider to rebuild."""
        if self._model is not None and not len(self._model.layers):
            self._model._on_layers_change()

    def _collect_removed(self) -> None:
        """The first half of the canvas's clean-up held back by :meth:`_remove_all`: napari's
        full garbage collection (the removed visuals' GL objects freed), in a turn of its
        own (issue 19: with the GL finish after it, one turn stalled 25-130 ms). Nothing
        when nothing is held back or it ran already."""
        if self._canvas_unsettled and not self._removed_collected:
            import gc

            self._removed_collected = True
            gc.collect()

    def _settle_canvas(self) -> None:
        """What napari's canvas does at the end of a batch removal, when :meth:`_remove_all`
        held it back (``_clean_and_update_scenegraph``): a full garbage collection, unless
        :meth:`_collect_removed` ran it, a GL finish, the scene graph updated. Nothing when
        nothing is held back."""
        if not self._canvas_unsettled:
            return
        self._canvas_unsettled = False
        collected, self._removed_collected = self._removed_collected, False
        if self.qt_viewer is None:
            return
        canvas = self.qt_viewer.canvas
        if not (collected and hasattr(canvas, "_pause_scene_graph") and hasattr(canvas, "_update_scenegraph")):
            canvas._resume_scene_graph_update()  # napari's own, collection included
            return
        import contextlib

        canvas._pause_scene_graph = False
        with contextlib.suppress(Exception):  # as napari: a context that cannot finish is left
            canvas._scene_canvas.context.finish()
        canvas._update_scenegraph()

    def _build_visuals(self) -> None:
        """Build the vispy visual of each listed layer that has none yet (what napari's
        ``QtViewer`` does at an insertion; an image layer's nodes made ahead when a set
        waits, see ``image_visuals``). Before any removal too: napari's canvas expects
        a visual for every layer it is told is removed."""
        if self.qt_viewer is None or self.viewer is None:
            return
        from .image_visuals import add_image_visual

        self._settle_canvas()  # a removal's clean-up still held back comes first
        canvas = self.qt_viewer.canvas
        for layer in list(self.viewer.layers):
            if layer not in canvas.layer_to_visual:
                add_image_visual(self.qt_viewer, layer, self._image_nodes)  # nodes made ahead, if any
        # The controls' panel takes the width it keeps (see _keep_controls_width) now, with
        # the layer's controls made, before the first frame: at the next preview's removal,
        # it widened then, and the canvas beside it was resized and drawn again (issue 19).
        self._keep_controls_width(self.qt_viewer.controls)

    def _drop_orphan_controls(self) -> None:
        """Layer controls made for a layer that a newer preview kept from being inserted."""
        controls = self.qt_viewer.controls if self.qt_viewer is not None else None
        if controls is None or self.viewer is None:
            return
        for layer in [layer for layer in controls.widgets if layer not in self.viewer.layers]:
            controls._remove(_Inserted(layer))
