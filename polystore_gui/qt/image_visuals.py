"""An image layer's vispy visual built from nodes made ahead, in an idle turn (issue 19).

napari builds an image layer's visual (``VispyImageLayer``) when the layer is added: first
its three vispy nodes (``ImageLayerNode``: an image, a tiled image and a volume node, each
parsing and composing its GLSL shader functions), then the visual's own wiring (events,
transforms, the first empty texture). The nodes are about two thirds of it (8-10 ms of the
GUI thread on this machine, 2-3x that under load) and depend on nothing of the layer: no
data, no GL object is made before the first draw. So one set is made ahead, in a turn of
its own while nothing is on its way (:class:`SpareImageNodes`), and the next preview's image
layer is given it (:func:`add_image_visual`): its visual's turn (``_build_visuals``) does the
wiring only. A layer that is not a plain napari ``Image``, or a viewer with napari's
experimental ``QtPoll``, gets napari's own ``QtViewer._add_layer``.

napari is imported by ``napari_view`` alone: its classes are imported here on first use,
when it is loaded.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# The spare nodes are made this long after a run of layer steps ends (or the viewer is
# ready), when the event loop is idle: never in a turn of a preview's own steps.
SPARE_DELAY_MS = 250


class SpareImageNodes:
    """At most one set of an image layer's vispy nodes, made ahead and handed out once."""

    def __init__(self) -> None:
        self._spare: Any = None
        self.made = 0  # sets made (for tests)
        self.used = 0  # sets given to a layer's visual (for tests)

    @property
    def ready(self) -> bool:
        """Whether a set is waiting for the next image layer."""
        return self._spare is not None

    def make(self) -> None:
        """Make a set, unless one is waiting. A failure only loses the head start."""
        if self._spare is not None:
            return
        try:
            from napari._vispy.layers.image import ImageLayerNode

            self._spare = ImageLayerNode(None, texture_format="auto")  # what VispyImageLayer makes
        except Exception as exc:  # napari internals moved: its own visual build does it all
            log.debug("no image nodes made ahead: %s", exc)
            return
        self.made += 1

    def take(self) -> Any:
        """The waiting set (then none waits), or None."""
        spare, self._spare = self._spare, None
        if spare is not None:
            self.used += 1
        return spare

    def drop(self) -> None:
        """Forget the waiting set (the viewer is closing)."""
        self._spare = None


def _takes_spare(qt_viewer: Any, layer: Any) -> bool:
    """Whether ``layer``'s visual is napari's plain ``VispyImageLayer`` with default nodes."""
    from napari._vispy.layers.image import VispyImageLayer
    from napari._vispy.utils.visual import layer_to_visual
    from napari.layers import Image

    return (type(layer) is Image and layer_to_visual.get(Image) is VispyImageLayer
            and getattr(qt_viewer, "_qt_poll", None) is None)


def add_image_visual(qt_viewer: Any, layer: Any, spares: SpareImageNodes) -> None:
    """What napari's ``QtViewer._add_layer`` does for ``layer``, its vispy nodes taken from
    ``spares`` when they fit (a plain image layer) and one set waits."""
    node = spares.take() if spares.ready and _takes_spare(qt_viewer, layer) else None
    if node is None:
        qt_viewer._add_layer(layer)
        return
    from napari._vispy.layers.image import VispyImageLayer

    def made_ahead(custom_node: Any = None, texture_format: Any = None) -> Any:
        return node

    canvas = qt_viewer.canvas
    visual = VispyImageLayer(layer, layer_node_class=made_ahead, font_info=canvas.font_info())
    canvas.add_layer_visual_mapping(layer, visual)


__all__ = ["SPARE_DELAY_MS", "SpareImageNodes", "add_image_visual"]
