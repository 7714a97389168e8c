"""The embedded viewer's warm-up: napari's Qt side, its layer controls and shaders paid for
before the first preview.

QtViewer, the side widgets, an image layer's controls and vispy visual, and the shader
programs linked at the first draw (Mesa's glLinkProgram) cost the first preview 0.2-0.5 s
of GUI time otherwise. Here they are paid in short turns while the user has not asked for
anything yet: the canvas is built, tiny layers of the kinds the window shows (an image, the
chunk overlay's RGBA raster) are added one a turn, each drawn once into the
canvas's framebuffer, drawn small (the pane may still be hidden: QOpenGLWidget renders
offscreen), then cleared. A preview arriving meanwhile takes over (its layers replace them).

The same warm-up runs inside a build that a preview asked for (the user clicked an array
before the build ahead was done, or ``start()`` asked for it directly), before ``ready``, with
one turn between its steps (``later.next_turn``'s) rather than ``PREPARE_STEP_MS``: the first preview then never
pays the compiles either (issue 17: they were 6-12 ms of the remote window's longest stall).
Either way the warm-up ends by drawing the canvas once at the size it will be shown at
(:meth:`WarmUpMixin._draw_real_size`, a turn of its own), so the first preview does not pay
the first full-size draw (its framebuffers allocated, a full-size frame rasterised), and by
mapping the pane's native window once out of sight (:meth:`WarmUpMixin._map_ahead`), so it
does not pay that window's first composition either. A preview shown in a hidden viewer is
laid out and drawn offscreen in steps of its own too (:meth:`WarmUpMixin._lay_out_hidden`,
:meth:`WarmUpMixin._draw_hidden`), so the turn that shows it only paints.

Split from ``napari_view`` (issue 15): a mixin of ``ViewerPane``, whose ``_warming()`` says
whether a warm-up may go on and ``_warm_paused()`` whether it pauses between its steps
(``ViewerPane._prepare`` and ``ViewerPane._show_body`` start it). The tiny layers are removed
by the steps that remove a preview's (``napari_layers``), a turn each. napari is imported by
``napari_view`` alone; this module only drives the viewer it built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .later import call_later, next_turn

log = logging.getLogger(__name__)

WARM_CANVAS_PIXELS = 16  # the hidden canvas's size while the warm-up draws
PREPARE_STEP_MS = 40  # between the steps of a warm-up built ahead (nobody waits for it)


class WarmUpMixin:
    """``ViewerPane``'s warm-up steps: tiny layers added, drawn once small, then cleared."""

    _preparing: bool
    _warm_layers: list[Any]
    _warm_size: Any
    _model: Any
    _body: Any  # the canvas and napari's side widgets (ViewerPane's)
    _stack: Any  # the pane's pages: the message, the viewer
    qt_viewer: Any
    _removal_steps: Callable[[], list[Any]]  # LayerRemovalMixin's: the shown layers' removal, a step a turn
    _empty_dims: Callable[[], None]  # LayerRemovalMixin's

    def _warming(self) -> bool:  # ViewerPane's
        raise NotImplementedError

    def _warm_paused(self) -> bool:  # ViewerPane's
        raise NotImplementedError


    def _warm_done(self) -> None:  # ViewerPane's: what follows the warm-up
        raise NotImplementedError

    def _real_size_target(self) -> Any:  # ViewerPane's: the widget drawn at the size it will be shown at
        raise NotImplementedError

    def _warm_up(self) -> None:
        import numpy as np
        from napari.layers import Image

        # The layers ``add_image`` would make, added in steps (``_warm_step``).
        makers = [
            lambda: Image(np.zeros((8, 8), np.uint16), contrast_limits=(0, 1), name="warm-up image"),
            # The chunk overlay's raster (one RGBA image since issue 19: no vectors layer to
            # warm any more).
            lambda: Image(np.zeros((8, 8, 4), np.uint8), rgb=True, name="warm-up heat map"),
        ]
        # Drawn small: in software GL a draw costs per pixel, and the programs are linked
        # whatever the size. The layout gives the canvas its size back when it is shown.
        native = self.qt_viewer.canvas.native
        self._warm_size = native.size()
        native.resize(WARM_CANVAS_PIXELS, WARM_CANVAS_PIXELS)
        self._warm_next(lambda: self._warm_empty_draw(makers))

    def _warm_empty_draw(self, makers: list[Any]) -> None:
        """The empty canvas drawn once, before any layer: what a first draw costs whatever
        it shows (the framebuffer, vispy's GL state and its overlays' programs) in a turn of
        its own, apart from the first layer's programs (the first layer's draw was 35-77 ms
        of CPU under load with both)."""
        if not self._warming():
            return
        try:
            self.qt_viewer.canvas.native.grabFramebuffer()
        except Exception as exc:
            log.warning("napari's warm-up draw failed: %s", exc)
        self._warm_next(lambda: self._warm_step(makers))

    def _warm_step(self, makers: list[Any]) -> None:
        """Make the next tiny layer and its layer controls; it is inserted, given its vispy
        visual and drawn once sliced in the next steps (one layer's programs a turn).

        What napari's ``add_image`` does in one call is three steps here, a turn each (issue
        19: the first layer's was the start-up's longest turn, 57-63 ms of CPU under load):
        the layer and its controls; its insertion into the list (napari's builders of the
        controls and of the visual held back: the dims, the selection, the list's row); its
        vispy visual (:meth:`_warm_visual`)."""
        if not self._warming():
            return
        if not makers:
            self._warm_next(self._warm_clear)
            return
        from .layer_removal import _Inserted

        try:
            layer = makers[0]()
            # Before the insertion, as a preview's: the layer inserted becomes the active one,
            # whose controls the container shows.
            self.qt_viewer.controls._add(_Inserted(layer))
        except Exception as exc:  # a warm-up is an optimisation: never an error for the user
            log.warning("napari's warm-up layer could not be added: %s", exc)
            self._warm_next(lambda: self._warm_step(makers[1:]))
            return
        self._warm_next(lambda: self._warm_insert(layer, makers[1:]))

    def _warm_insert(self, layer: Any, rest: list[Any]) -> None:
        """The tiny layer inserted into napari's list, its controls (made) and visual (the
        next step) held back. A preview that took over meanwhile drops the controls of a
        layer never inserted (``LayerRemovalMixin._drop_orphan_controls``)."""
        if not self._warming():
            return
        inserted = self._model.layers.events.inserted
        try:
            with inserted.blocker(self.qt_viewer.controls._add), inserted.blocker(self.qt_viewer._on_add_layer_change):
                self._model.layers.append(layer)
            self._warm_layers.append(layer)
        except Exception as exc:
            log.warning("napari's warm-up layer could not be inserted: %s", exc)
        self._warm_next(lambda: self._warm_visual(layer, rest))

    def _warm_visual(self, layer: Any, rest: list[Any]) -> None:
        """The tiny layer's vispy visual, as napari's ``QtViewer`` builds it at an insertion.
        A preview that took over meanwhile builds it before removing the layer
        (``LayerRemovalMixin._build_visuals``)."""
        if not self._warming():
            return
        try:
            if layer in self._model.layers and layer not in self.qt_viewer.canvas.layer_to_visual:
                self.qt_viewer._add_layer(layer)
        except Exception as exc:
            log.warning("napari's warm-up layer could not be drawn: %s", exc)
        self._warm_next(lambda: self._warm_draw(rest, deadline=30))

    def _warm_draw(self, rest: list[Any], deadline: int) -> None:
        """Draw once the layer is sliced (async slicing), waiting a few turns at most."""
        if not self._warming():
            return
        if deadline > 0 and not all(getattr(layer, "loaded", True) for layer in self._warm_layers):
            self._warm_next(lambda: self._warm_draw(rest, deadline - 1))
            return
        try:
            self.qt_viewer.canvas.native.grabFramebuffer()  # compiles and links the new layer's programs
        except Exception as exc:
            log.warning("napari's warm-up draw failed: %s", exc)
        for layer in self._warm_layers:  # drawn once: the next draw is the next layer's alone
            layer.visible = False
        self._warm_next(lambda: self._warm_step(rest))

    def _warm_next(self, step: Any) -> None:
        """The warm-up's next step: in the next event-loop turn while a preview waits for it
        (``later.next_turn``: a 0 ms call would run before the timers due, two steps back to
        back), else after a pause (``PREPARE_STEP_MS``: built ahead, nobody waits)."""
        if self._warm_paused():
            call_later(self, PREPARE_STEP_MS, step)
        else:
            next_turn(self, step)

    def _warm_clear(self) -> None:
        """The tiny layers removed as a preview's are (``LayerRemovalMixin._removal_steps``, a
        step a turn: their controls, the list in one batch without napari's dims reset at
        each removal, the canvas's clean-up), then the dims made an empty viewer's, the
        canvas given its size back. napari's ``layers.clear()`` did it all in one turn (33-82 ms
        built ahead, measured under load; steps of 7-23 ms now). A preview taking over
        meanwhile removes what is left."""
        if not self._warming():
            return
        self._warm_layers = []  # only the warm-up's layers are on the list (a preview would have stopped it)
        steps = [*self._removal_steps(), self._empty_dims, self._warm_size_back, self._draw_real_size]
        self._warm_next(lambda: self._warm_steps(steps))

    def _warm_steps(self, steps: list[Any]) -> None:
        """Run ``steps`` one a warm-up step each while the warm-up goes on; one that fails is
        logged and the rest run (a warm-up is an optimisation: the build must still end)."""
        if not self._warming() or not steps:
            return
        try:
            steps[0]()
        except Exception as exc:
            log.warning("a step of napari's warm-up failed: %s", exc)
        if len(steps) > 1:
            self._warm_next(lambda: self._warm_steps(steps[1:]))

    def _warm_size_back(self) -> None:
        """The canvas given back the size it had before the warm-up drew it small (hidden)."""
        if self._warm_size is not None and not self.qt_viewer.isVisible():
            self.qt_viewer.canvas.native.resize(self._warm_size)

    def _lay_out_hidden(self) -> None:
        """A preview's step before the one that shows its layers (issue 17): while the viewer
        is still hidden, lay it out and draw it once at the size it will be shown at, its new
        layers' sliders and controls in place (they are still invisible: the frame is
        cheap). Showing it then resizes nothing: a ``QOpenGLWidget`` resized redraws at
        once, inside the turn that shows the first frame (twice, as the sliders and
        the controls settle)."""
        self._grab_hidden()

    def _draw_hidden(self) -> None:
        """A preview's step after its layers are made visible, while the viewer is still
        hidden: their first frame drawn offscreen (their shader programs built, their
        textures filled), so that the turn that shows the viewer only paints."""
        native = self.qt_viewer.canvas.native if self.qt_viewer is not None else None
        if native is not None and not native.isVisible():
            try:
                native.grabFramebuffer()
            except Exception as exc:  # an optimisation: the frame is drawn when shown anyway
                log.warning("the first frame could not be drawn ahead: %s", exc)

    def _grab_hidden(self) -> None:
        """Lay the hidden viewer out at its real size and paint it offscreen (the canvas
        through its framebuffer): ``QWidget.grab`` delivers the hidden widgets' pending
        resizes first."""
        target = self._real_size_target()
        if target is not None and not target.isVisible():
            try:
                from qtpy.QtWidgets import QSplitter

                # A hidden splitter puts off dividing its width (the layer controls' new
                # minimum) until it is shown: asked now, so that the grab lays that out too.
                for splitter in [target, *target.findChildren(QSplitter)]:
                    if isinstance(splitter, QSplitter):
                        splitter.refresh()
                target.grab()
            except Exception as exc:  # an optimisation: the first frame is drawn when shown anyway
                log.warning("the viewer could not be drawn ahead at its size: %s", exc)

    def _draw_real_size(self) -> None:
        """Draw the (still hidden) viewer once at the size it will be shown at: the canvas's
        framebuffers made at that size and a full-size frame drawn, napari's side widgets
        laid out and painted. The first preview's frame then costs what the next ones do."""
        if not self._warming():
            return
        self._grab_hidden()
        self._warm_next(self._map_ahead)

    def _map_ahead(self) -> None:
        """While the pane is hidden: map its native window once (``compose_gl_apart``), at its
        real size with the viewer on its page, all of it but one pixel outside the main
        window (X clips a child window to its top-level), so that the window's first
        composition (its swap chain, the compositor's programs, the first swap: ~20 ms) is
        paid here and not in the turn that shows the first preview; unmapped a moment later."""
        if not self._warming():
            return
        pane: Any = self
        parent, top = pane.parentWidget(), pane.window()
        body = self._body
        if pane.isVisible() or parent is None or top is pane or not top.isVisible() or body is None:
            self._warm_done()  # shown already (mapped), or nowhere to map it out of sight
            return
        from qtpy.QtCore import QPoint

        geometry = pane.geometry()  # its real place (``_real_size_target`` set it)
        page = self._stack.currentWidget()
        self._stack.setCurrentWidget(body)  # what it will show
        pane.move(parent.mapFrom(top, QPoint(top.width() - 1, top.height() - 1)))
        pane.show()
        call_later(self, PREPARE_STEP_MS, lambda: self._unmap_ahead(geometry, page))

    def _unmap_ahead(self, geometry: Any, page: Any) -> None:
        pane: Any = self
        stack = pane.parentWidget()
        if not (hasattr(stack, "currentWidget") and stack.currentWidget() is pane):
            pane.hide()  # else a preview made it the current page meanwhile: it stays shown
        pane.setGeometry(geometry)
        if self._warming():
            if page is not None and page is not self._body:
                self._stack.setCurrentWidget(page)  # a build asked for: "Starting…" until ready
            self._warm_done()
