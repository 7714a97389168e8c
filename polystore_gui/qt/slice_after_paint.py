"""A multiscale layer's slice asked for after the frame, not inside it (issue 19: pan/zoom).

napari picks a multiscale layer's level and region in its canvas's draw: ``VispyCanvas.on_draw``
calls each layer's ``_update_draw``, which, when a camera move brought a new level or a region
beyond the one loaded, calls ``refresh`` there, inside the paint: the slice request is made on
the GUI thread (1.2-1.6 ms) and napari's slicing thread starts reading while the paint still
runs. Each GL call of the rest of the paint then gives the interpreter lock away and waits to
get it back from the reader (the paint of such a move: 4-17 ms of wall time for 4 ms of the GUI
thread's CPU, measured; 2-3 ms for a move that slices nothing). napari alone, on a plain array
loaded whole, never slices on a camera move.

:func:`slice_after_paint` leaves the choice of level and region to napari, in the paint as
before, with the layer's refresh blocked there; when the level or the region changed, the
refresh (the slice request) is asked for in an event-loop turn after the paint. The frame of
the move shows the slice held at the new camera, as napari's asynchronous slicing does anyway
until the new slice arrives; several paints before that turn ask for one refresh, of the level
and region of the last of them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any


def slice_after_paint(layer: Any, later: Callable[[Callable[[], object]], object]) -> bool:
    """Make ``layer`` (a napari multiscale image) ask for its slice through ``later(fn)`` (a
    call in a later event-loop turn) instead of inside the canvas's draw. False, and the
    layer left as napari made it, when its napari has no such hook to take over."""
    update_draw = getattr(type(layer), "_update_draw", None)
    if update_draw is None or not hasattr(layer, "_block_refresh") or not hasattr(layer, "corner_pixels"):
        return False
    import numpy as np  # not at import: the window paints before numpy is loaded

    ref = weakref.ref(layer)  # the layer's own attribute must not keep it alive
    pending = [False]

    def refresh() -> None:
        pending[0] = False
        this = ref()
        if this is not None:
            this.refresh(extent=False, thumbnail=False)  # what _update_level_and_corners asks for

    def update_draw_outside(scale_factor: Any, corner_pixels_displayed: Any, shape_threshold: Any) -> None:
        this = ref()
        if this is None:
            return
        level, corners = getattr(this, "_data_level", None), np.array(this.corner_pixels, copy=True)
        with this._block_refresh():
            update_draw(this, scale_factor, corner_pixels_displayed, shape_threshold)
        changed = getattr(this, "_data_level", None) != level or not np.array_equal(this.corner_pixels, corners)
        if changed and not pending[0]:
            pending[0] = True
            later(refresh)

    layer._update_draw = update_draw_outside
    return True


__all__ = ["slice_after_paint"]
