"""The chunk inspector's "Show only this chunk" and "Show whole array": the chosen chunk's
region alone on the canvas, framed, the other layers hidden, then everything as it was.
A mixin of ``ChunkOverlay`` (``chunk_overlay.py``), whose layers and viewer it uses.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..model.chunks import ChunkDetail

log = logging.getLogger(__name__)

CHUNK_ONLY = "chunk "  # the name of the layer showing one chunk: "chunk (0, 1, 2)"


class ChunkAloneMixin:
    """One chunk shown by itself; needs the overlay's ``viewer``, ``pane``, ``inspector``,
    ``image``, ``channel_axis``, ``_hidden``, ``_remove``, ``_track`` and ``update``."""

    viewer: Any
    pane: Any
    inspector: Any
    image: Any
    channel_axis: int | None
    _hidden: list[Any]

    def show_chunk_only(self, detail: ChunkDetail) -> None:
        """Show the chunk's region by itself, framed, with the other images hidden."""
        if self.image is None or self.viewer is None or self.image not in self.viewer.layers:
            return
        self._remove()
        data = self.image.data[0] if getattr(self.image, "multiscale", False) else self.image.data
        region = [slice(a, b) for a, b in detail.region]
        if self.channel_axis is not None:
            region = [r for a, r in enumerate(region) if a != self.channel_axis]
        try:
            pixels = np.asarray(data[tuple(region)])
        except Exception as exc:  # the inspector's details already explain decode errors
            log.warning("chunk %s could not be read for display: %s", detail.index, exc)
            return
        scale = np.asarray(self.image.scale, np.float64)
        translate = np.asarray(self.image.translate, np.float64) + np.array([r.start for r in region]) * scale
        self._hidden = [lyr for lyr in self.viewer.layers if lyr.visible]
        for layer in self._hidden:
            layer.visible = False
        limits = (float(pixels.min()), float(pixels.max())) if pixels.size and np.issubdtype(pixels.dtype, np.number) else None
        if limits is not None and limits[0] == limits[1]:
            limits = (limits[0], limits[0] + 1)
        kwargs: dict[str, Any] = {"contrast_limits": limits} if limits else {}
        name = CHUNK_ONLY + "(" + ", ".join(map(str, detail.index)) + ")"
        shown = [lyr for lyr in self.viewer.layers if lyr.name.startswith(CHUNK_ONLY + "(")]
        if shown and shown[0].ndim == pixels.ndim and shown[0].dtype == pixels.dtype:
            layer = shown[0]  # one layer for the chunk shown alone, reused
            layer.data = pixels
            layer.name, layer.scale, layer.translate = name, scale, translate
            if limits:
                layer.contrast_limits = limits
            layer.visible = True
        else:
            self._track(self.viewer.add_image(pixels, name=name, scale=scale, translate=translate, **kwargs))
        self._frame(region, scale, translate)
        self.inspector.show_all_button.setEnabled(True)

    def _frame(self, region: list[slice], scale: np.ndarray, translate: np.ndarray) -> None:
        scene = getattr(self.viewer, "scene", None)  # napari 0.9: the camera lives on the scene
        camera = scene.camera if scene is not None else self.viewer.camera
        height = (region[-2].stop - region[-2].start) * scale[-2]
        width = (region[-1].stop - region[-1].start) * scale[-1]
        center = (translate[-2] + height / 2 - 0.5 * scale[-2], translate[-1] + width / 2 - 0.5 * scale[-1])
        camera.center = center
        canvas = self.pane.qt_viewer.canvas.size if self.pane.qt_viewer is not None else (600, 600)
        camera.zoom = 0.9 * min(canvas[0] / max(height, 1e-9), canvas[1] / max(width, 1e-9))

    def show_all(self) -> None:
        self._remove()
        for layer in self._hidden:
            if layer in self.viewer.layers:
                layer.visible = True
        self._hidden = []
        self.inspector.show_all_button.setEnabled(False)
        self.viewer.reset_view()
        self.update()  # the overlay as the options say (it was hidden with the image)
