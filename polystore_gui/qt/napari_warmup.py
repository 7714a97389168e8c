"""The embedded viewer's warm-up: napari's Qt side, its layer controls and shaders paid for
before the first preview.

QtViewer, the side widgets, an image layer's controls and vispy visual, and the shader
programs linked at the first draw (Mesa's glLinkProgram) cost the first preview 0.2-0.5 s
of GUI time otherwise. Here they are paid in short turns while the user has not asked for
anything yet: the canvas is built, tiny layers of the kinds the window shows (an image, the
chunk overlay's RGBA raster) are added one a turn, each drawn once into the
canvas's framebuffer, drawn small (the pane may still be hidden: QOpenGLWidget renders
offscreen), then cleared. A preview arriving meanwhile takes over (its layers replace them).

Split from ``napari_view`` (issue 15): a mixin of ``ViewerPane``, whose ``_warming()`` says
whether a warm-up may go on (``ViewerPane._prepare`` starts it). napari is imported by
``napari_view`` alone; this module only drives the viewer it built.
"""

from __future__ import annotations

import logging
from typing import Any

from .later import call_later

log = logging.getLogger(__name__)

WARM_CANVAS_PIXELS = 16  # the hidden canvas's size while the warm-up draws
PREPARE_STEP_MS = 40  # between the steps of that build and of the warm-up (one event-loop turn each)


class WarmUpMixin:
    """``ViewerPane``'s warm-up steps: tiny layers added, drawn once small, then cleared."""

    _preparing: bool
    _warm_layers: list[Any]
    _warm_size: Any
    viewer: Any
    qt_viewer: Any

    def _warm_up(self) -> None:
        import numpy as np

        viewer = self.viewer
        makers = [
            lambda: viewer.add_image(np.zeros((8, 8), np.uint16), contrast_limits=(0, 1), name="warm-up image"),
            # The chunk overlay's raster (one RGBA image since issue 19: no vectors layer to
            # warm any more).
            lambda: viewer.add_image(np.zeros((8, 8, 4), np.uint8), rgb=True, name="warm-up heat map"),
        ]
        # Drawn small: in software GL a draw costs per pixel, and the programs are linked
        # whatever the size. The layout gives the canvas its size back when it is shown.
        native = self.qt_viewer.canvas.native
        self._warm_size = native.size()
        native.resize(WARM_CANVAS_PIXELS, WARM_CANVAS_PIXELS)
        self._warm_step(makers)

    def _warm_step(self, makers: list[Any]) -> None:
        """Add the next tiny layer; it is drawn once sliced (one layer's programs a turn)."""
        if not self._warming():
            return
        if not makers:
            call_later(self, PREPARE_STEP_MS, self._warm_clear)
            return
        try:
            self._warm_layers.append(makers[0]())
        except Exception as exc:  # a warm-up is an optimisation: never an error for the user
            log.warning("napari's warm-up layer could not be added: %s", exc)
        call_later(self, PREPARE_STEP_MS, lambda: self._warm_draw(makers[1:], deadline=30))

    def _warm_draw(self, rest: list[Any], deadline: int) -> None:
        """Draw once the layer is sliced (async slicing), waiting a few turns at most."""
        if not self._warming():
            return
        if deadline > 0 and not all(getattr(layer, "loaded", True) for layer in self._warm_layers):
            call_later(self, PREPARE_STEP_MS, lambda: self._warm_draw(rest, deadline - 1))
            return
        try:
            self.qt_viewer.canvas.native.grabFramebuffer()  # compiles and links the new layer's programs
        except Exception as exc:
            log.warning("napari's warm-up draw failed: %s", exc)
        for layer in self._warm_layers:  # drawn once: the next draw is the next layer's alone
            layer.visible = False
        call_later(self, PREPARE_STEP_MS, lambda: self._warm_step(rest))

    def _warm_clear(self) -> None:
        if not self._warming():
            return
        self._preparing = False
        self._warm_layers = []
        self.viewer.layers.clear()  # only the warm-up's layers (a preview would have stopped it); one batch
        if self._warm_size is not None and not self.qt_viewer.isVisible():
            self.qt_viewer.canvas.native.resize(self._warm_size)
        self.prepared.emit()
