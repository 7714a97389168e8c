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
    """Image layers' vispy nodes made ahead (one set a turn), ``wanted`` of them at most,
    each handed out once. One for the next preview's image; two once the chunk inspector is
    made ahead (``want(2)``): its overlay is an image layer added after the preview's, often
    before a still view let a new set be made, and its visual then took 70-180 ms of one turn."""

    def __init__(self) -> None:
        self._spares: list[Any] = []
        self.wanted = 1
        self.made = 0  # sets made (for tests)
        self.used = 0  # sets given to a layer's visual (for tests)

    @property
    def ready(self) -> bool:
        """Whether a set is waiting for the next image layer."""
        return bool(self._spares)

    @property
    def full(self) -> bool:
        """Whether as many sets as wanted wait (none is to be made)."""
        return len(self._spares) >= self.wanted

    @property
    def waiting(self) -> tuple[Any, ...]:
        """The sets waiting, the next one handed out first."""
        return tuple(self._spares)

    def want(self, count: int) -> None:
        """Keep up to ``count`` sets waiting from now on (made in later idle turns)."""
        self.wanted = max(self.wanted, count)

    def make(self) -> None:
        """Make one set, unless as many as wanted wait. A failure only loses the head start."""
        if self.full:
            return
        try:
            from napari._vispy.layers.image import ImageLayerNode

            self._spares.append(ImageLayerNode(None, texture_format="auto"))  # what VispyImageLayer makes
        except Exception as exc:  # napari internals moved: its own visual build does it all
            log.debug("no image nodes made ahead: %s", exc)
            return
        self.made += 1

    def take(self) -> Any:
        """The first set waiting (no longer waiting), or None."""
        if not self._spares:
            return None
        self.used += 1
        return self._spares.pop(0)

    def drop(self) -> None:
        """Forget the waiting sets (the viewer is closing)."""
        self._spares.clear()


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
