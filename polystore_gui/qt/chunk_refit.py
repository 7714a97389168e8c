"""The preview's view fitted again when the chunk inspector narrows the canvas.

Opening the inspector takes its width from the preview: napari keeps its camera's zoom,
so an image fitted to the wider canvas had its right part cut until the user pressed Home.
What a user expects: a view still at the fit the preview made is fitted again to the
narrower canvas; a view the user zoomed or panned is left as it is. ``at_fit`` is asked
before the canvas narrows, ``refit`` after (in a later turn: the canvas has its new size).
Closing the inspector does the same for the wider canvas.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# How close (relative) the camera must be to napari's fit to count as "at the fit".
TOLERANCE = 1e-3
MARGIN = 0.05  # napari's reset_view's own


def at_fit(viewer: Any) -> bool:
    """Whether napari's 2D camera shows what ``reset_view()`` would show now (no user zoom or pan).

    napari's own helpers compute the fit (the ones ``fit_to_view`` uses); with none (another
    napari) or in 3D, the answer is False: the user's view is never changed on a guess."""
    if viewer is None or len(viewer.layers) == 0 or viewer.dims.ndisplay != 2:
        return False
    try:
        _extent, scene_size, corner = viewer._get_scene_parameters()
        center = np.asarray(viewer._calculate_view_center(corner, scene_size), float)[-2:]
        zoom = float(viewer._get_2d_camera_zoom(scene_size, 1 - MARGIN))
        camera = viewer.scene.camera
    except Exception as exc:  # napari's private helpers moved: leave the view alone
        log.info("the preview's fit could not be computed: %s", exc)
        return False
    here = np.asarray(camera.center, float)[-2:]
    scale = max(float(np.max(np.abs(np.asarray(scene_size, float)[-2:]))), 1.0)
    return (bool(np.all(np.abs(here - center) <= TOLERANCE * scale))
            and abs(float(camera.zoom) - zoom) <= TOLERANCE * abs(zoom))


def refit(viewer: Any) -> None:
    """Fit the view to the canvas again, as Home does."""
    if viewer is not None and len(viewer.layers):
        viewer.reset_view()
