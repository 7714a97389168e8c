"""A remote sparse array's background contrast search, started once its layer's first frame
is drawn and its end carried to the GUI thread by a queued signal (issue 17; no polling).

Split from ``napari_layers`` (a mixin of its ``LayerShowMixin``): the layers' show decides
when a run of steps ends (``steps_running``); this module decides when a waiting search may
start, and takes its limits when it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class _ContrastRelay(QObject):
    """Carries a contrast search's end from its own thread to the GUI thread: ``post`` is
    called by the search's future when done; the queued ``done`` signal delivers it."""

    done = Signal(object, object)  # the layer's weakref, the search

    def post(self, ref: Any, search: Any) -> None:
        try:
            self.done.emit(ref, search)
        except RuntimeError:  # the pane is gone (its relay deleted): nothing to show it in
            pass


class ContrastLaterMixin:
    """The searches of ``ViewerPane``'s shown layers (see the module)."""

    viewer: Any
    contrast: Any
    _contrast_waiting: tuple[tuple[Any, Any], ...] = ()  # (layer ref, search) not started yet
    _contrast_relay: Any = None  # its searches' ends, carried to the GUI thread

    steps_running: Callable[..., bool]  # LayerShowMixin's: whether a run of layer steps is on its way

    def _take_contrast_later(self, ref: Any, search: Any) -> None:
        """A remote sparse array's search of other planes (``LayerSpec.contrast_later``, a
        ``ContrastSearch``) for the layer ``ref`` names (just inserted): started once the
        first frame is drawn (the show's steps done, the layer shown and its plane loaded),
        so that its requests never compete with the shown plane's; when done, its limits
        replace the layer's placeholder (``ContrastFollower.take_sampled``). Nothing polls:
        the start is looked at when a run of steps ends and when the layer's plane arrives
        (:meth:`_start_contrast_searches`), and the search's thread posts its end to this
        one through a queued signal (:meth:`_on_contrast_found`). A layer gone, or never
        shown, cancels it."""
        if self._contrast_relay is None:
            from qtpy.QtCore import Qt

            self._contrast_relay = _ContrastRelay(self)
            self._contrast_relay.done.connect(self._on_contrast_found, Qt.ConnectionType.QueuedConnection)
        self._contrast_waiting = (*self._contrast_waiting, (ref, search))
        layer = ref()
        if layer is not None:
            # napari 0.9 never emits ``events.loaded``; ``set_data`` follows each slice's arrival,
            # after the layer's ``loaded`` state is updated (QtViewer._on_slice_ready)
            layer.events.set_data.connect(self._start_contrast_searches)

    def _start_contrast_searches(self, _event: Any = None) -> None:
        """Start each waiting search whose layer's first frame is drawn; cancel those whose
        layer is gone or whose show ended without showing it; the rest wait on."""
        waiting: list[tuple[Any, Any]] = []
        for ref, search in self._contrast_waiting:
            layer = ref()
            if search.started or search.cancelled:
                continue
            if layer is None or self.viewer is None or layer not in self.viewer.layers:  # replaced meanwhile
                search.cancel()
            elif self.steps_running():
                waiting.append((ref, search))
            elif not layer.visible:  # its show ended (failed, stopped) without showing it
                search.cancel()
            elif not layer.loaded:  # its plane is on its way: the layer's ``set_data`` calls again
                waiting.append((ref, search))
            else:  # the first frame is drawn: now the other planes
                relay = self._contrast_relay
                search.start().add_done_callback(lambda _future, ref=ref, search=search: relay.post(ref, search))
        self._contrast_waiting = tuple(waiting)

    def _on_contrast_found(self, ref: Any, search: Any) -> None:
        """A search ended (delivered on the GUI thread): its limits replace the placeholder of
        a layer still shown, unless the user moved on or set limits."""
        layer = ref()
        if layer is None or self.viewer is None or layer not in self.viewer.layers or search.cancelled:
            return
        try:
            found = search.future.result()[0]
        except Exception as exc:  # the store failed meanwhile: the placeholder stays, the follower follows
            log.info("contrast search of %s failed: %s", getattr(layer, "name", "?"), exc)
            return
        if found.from_data:
            self.contrast.take_sampled(layer, found.limits)  # followed since its show ended
