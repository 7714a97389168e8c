"""What the canvas tells the user beyond its pixels: the value under the cursor, and a
contrast that follows the planes the user moves to.

Only napari layer and viewer objects are used here (napari itself is imported by
``napari_view`` alone).

- :func:`cursor_text` says what napari's own status bar says (its
  ``ViewerModel._calc_status_from_cursor`` asks the active layer's ``get_value`` at
  ``viewer.cursor.position``, in world coordinates): the layer, the position in data
  pixels, named by the sliders' axis labels, and the value there. The value comes from
  the slice napari already holds: nothing is read from storage.
- :class:`ContrastFollower` widens an image layer's contrast limits when the slider
  moves to a plane whose values fall outside them (the first limits come from a bounded
  sample, see ``model.contrast.contrast_samples``), and stops for good once the user sets
  limits by hand (the contrast slider, the histogram, "auto" once or continuous): limits a
  user chose are never overridden.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from ..model.preview_types import unnamed_axis

log = logging.getLogger(__name__)

SAMPLE_VALUES = 512 * 512  # values of a shown plane looked at to follow its contrast


def _format_value(value: Any) -> str:
    import numpy as np  # not before the window paints (this module is imported at start)

    if value is None:
        return ""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (int, np.integer)):
        value = value[1]  # a multiscale layer answers (level, value)
    if value is None:
        return ""
    array = np.asarray(value)
    if array.ndim:  # RGB(A): one value per channel
        return "(" + ", ".join(_format_scalar(v) for v in array.ravel()) + ")"
    return _format_scalar(array.item())


def _format_scalar(value: Any) -> str:
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.6g}"


def _shown_layer(viewer: Any) -> Any:
    """The layer the readout is about: the active one if it is shown, else the top image."""
    active = viewer.layers.selection.active
    if active is not None and active.visible and hasattr(active, "get_value"):
        return active
    for layer in reversed(list(viewer.layers)):
        if layer.visible and type(layer).__name__ in ("Image", "Labels"):
            return layer
    return None


def cursor_text(viewer: Any) -> str:
    """``layer  z 3  y 120  x 45  value 1234`` for the cursor's position ('' when nothing is there)."""
    import numpy as np

    if viewer is None or not len(viewer.layers):
        return ""
    layer = _shown_layer(viewer)
    if layer is None or not layer.loaded:
        return ""
    position = np.asarray(viewer.cursor.position, np.float64)
    if position.size != viewer.dims.ndim:
        return ""
    try:
        value = layer.get_value(position, view_direction=viewer.cursor._view_direction,
                                dims_displayed=list(viewer.dims.displayed), world=True)
        data = np.asarray(layer.world_to_data(position), np.float64)
    except Exception as exc:  # a layer being replaced: no readout for this move
        log.debug("no cursor readout: %s", exc)
        return ""
    labels = list(viewer.dims.axis_labels)[-len(data):] if len(data) else []
    shape = getattr(layer, "level_shapes", None)
    extent = tuple(shape[0]) if shape is not None and len(shape) else tuple(getattr(layer.data, "shape", ()))
    pixels = [int(np.floor(d + 0.5)) for d in data]
    inside = len(extent) >= len(pixels) and all(0 <= p < n for p, n in zip(pixels, extent))
    where = _where(labels, pixels)
    if not inside:
        return f"{layer.name}  {where}  (outside the image)"
    shown = _format_value(value)
    return f"{layer.name}  {where}  value {shown}" if shown else f"{layer.name}  {where}"


def _where(labels: list[str], pixels: list[int]) -> str:
    """``z 3  y 120  x 45`` by the axes' names; ``[3, 120, 45]`` when the axes have none (the
    sliders' ``axis 0``…, or napari's -3, -2, -1, which beside a position read as negative
    numbers)."""
    if all(unnamed_axis(label) for label in labels):
        return "[" + ", ".join(str(p) for p in pixels) + "]"
    return "  ".join(f"{label} {p}" for label, p in zip(labels, pixels))


def _plane_range(layer: Any) -> tuple[float, float] | None:
    """(low, high) of the plane the layer shows now (its displayed slice, already in memory)."""
    import numpy as np

    try:
        raw = np.asarray(layer._slice.image.raw)
    except Exception:  # napari internals moved: no following, the first limits stay
        return None
    if raw.size == 0 or raw.dtype.kind not in "biuf":
        return None
    from ..model.contrast import limits_of
    from ..model.sampled_histogram import strided_sample

    raw = strided_sample(raw, SAMPLE_VALUES)  # a large plane: a strided view (GUI thread, no copy)
    # One value throughout (a plane never written): no limits, said by a min and a max rather
    # than a percentile pass (1-3 ms; 10 under load). Such a plane is looked at again at every
    # new slice, each pan or zoom that brings another level or region (its data may show in one).
    if raw.size and raw.min() == raw.max():
        return None
    return limits_of(raw)


def _plane_of(layer: Any) -> tuple[Any, ...] | None:
    """Which plane the layer's slice is of: its displayed axes and the point on the others
    (not the level nor the region: those follow the camera). None if napari cannot say."""
    try:
        given = layer._slice.slice_input
        shown = given.ndisplay
        point = given.world_slice.point
        return tuple(given.order[-shown:]), tuple(float(point[axis]) for axis in given.order[:-shown])
    except Exception:  # napari internals moved: every slice is looked at
        return None


class ContrastFollower:
    """Widens image layers' contrast limits to each plane shown, until the user sets them.

    ``follow(layer)`` starts following a layer (with explicit limits from the preview). When
    a newly shown plane's values (0.5th to 99.8th percentile, as the first sample) reach
    outside the limits, the limits grow to hold both; limits that came from a sample with
    no contrast at all (every value the same: a plane never written) are replaced.
    """

    def __init__(self) -> None:
        self._setting = False
        self._user_set: weakref.WeakSet[Any] = weakref.WeakSet()
        self._followed: weakref.WeakSet[Any] = weakref.WeakSet()
        self._flat: weakref.WeakSet[Any] = weakref.WeakSet()  # limits from a flat sample
        self._planes: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # looked at last

    def follow(self, layer: Any, *, flat: bool = False) -> None:
        if getattr(layer, "rgb", False) or not hasattr(layer, "contrast_limits"):
            return
        self._followed.add(layer)
        if flat:
            self._flat.add(layer)
        layer.events.contrast_limits.connect(lambda _e=None, r=weakref.ref(layer): self._on_limits_changed(r))
        # napari 0.9 signals each sliced plane with ``set_data`` (sync or async slicing, after
        # the layer's ``loaded`` is set); its ``events.loaded`` is declared but never emitted.
        layer.events.set_data.connect(lambda _e=None, r=weakref.ref(layer): self._on_loaded(r))

    def take_sampled(self, layer: Any, limits: tuple[float, float]) -> bool:
        """Limits a later sample found (a remote sparse array's other planes) replace the
        placeholder of a layer still showing it; left alone once the user set limits or a
        plane with data replaced them. False while the layer is not followed yet (ask again)."""
        if layer not in self._followed:
            return False
        if layer in self._flat and layer not in self._user_set:
            self._flat.discard(layer)
            self._set(layer, (float(limits[0]), float(limits[1])))
        return True

    def user_set(self, layer: Any) -> bool:
        """Whether the user set this layer's limits (they are then left alone)."""
        return layer in self._user_set

    def _on_limits_changed(self, ref: Any) -> None:
        layer = ref()
        if layer is not None and not self._setting:
            self._user_set.add(layer)

    def _on_loaded(self, ref: Any) -> None:
        layer = ref()
        if layer is None or layer not in self._followed or layer in self._user_set or not layer.loaded:
            return
        # Once a plane: napari slices again at every pan and zoom of a multiscale layer (a
        # level, a region), and a pass over the slice's values on the GUI thread each time
        # (5-10 ms) was what moving the camera cost beyond napari's own (issue 19).
        plane = _plane_of(layer)
        if plane is not None and self._planes.get(layer) == plane:
            return
        found = _plane_range(layer)
        if found is None:
            return
        if plane is not None:
            self._planes[layer] = plane
        lo, hi = (float(v) for v in layer.contrast_limits)
        new_lo, new_hi = found
        if new_hi <= new_lo:  # a flat plane (never written, or constant): nothing to learn
            return
        if layer in self._flat:
            self._flat.discard(layer)
            wanted = (new_lo, new_hi)
        elif new_lo >= lo and new_hi <= hi:
            return
        else:
            wanted = (min(lo, new_lo), max(hi, new_hi))
        self._set(layer, wanted)

    def _set(self, layer: Any, wanted: tuple[float, float]) -> None:
        self._setting = True
        try:
            low_range, high_range = layer.contrast_limits_range
            layer.contrast_limits_range = (min(low_range, wanted[0]), max(high_range, wanted[1]))
            layer.contrast_limits = wanted
        finally:
            self._setting = False
