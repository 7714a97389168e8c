"""Which napari layer each streamed image belongs to, and the array each layer shows.

No Qt and no napari here: the viewer process feeds batches in and applies the updates
that come out. The rules are polystore's display-config contract:

- ``display_config.component_order`` lists the components every item's ``metadata``
  carries (well, site, channel, z, source, …); ``component_modes`` says, per component,
  ``stack`` (one axis of the layer, values in order) or anything else, usually ``slice``
  (one layer per value).
- The layer key is polystore's own ``build_route_key`` over the producer identity, the
  slice components and the data type, so two producers never write into one layer.
- Items accumulate across batches: a later item at the same stack coordinate replaces
  the earlier plane; an item whose image shape differs from the layer's starts the layer
  again (the newest data wins, the old planes cannot share its axes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SLICE = "slice"
STACK = "stack"


@dataclass
class LayerState:
    key: str
    name: str
    stack_components: tuple[str, ...]
    planes: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    @property
    def plane_shape(self) -> tuple[int, ...] | None:
        first = next(iter(self.planes.values()), None)
        return None if first is None else tuple(first.shape)

    def axis_values(self) -> list[list[Any]]:
        return [sorted({coords[i] for coords in self.planes}, key=_order_key) for i in range(len(self.stack_components))]

    def array(self) -> np.ndarray:
        """The layer's data: stack axes first (in component order), then the image axes."""
        if not self.stack_components:
            return next(iter(self.planes.values()))
        values = self.axis_values()
        index = [{v: i for i, v in enumerate(vals)} for vals in values]
        first = next(iter(self.planes.values()))
        out = np.zeros(tuple(len(v) for v in values) + tuple(first.shape), dtype=np.result_type(*self.planes.values()))
        for coords, plane in self.planes.items():
            out[tuple(index[i][c] for i, c in enumerate(coords))] = plane
        return out

    def axis_labels(self) -> tuple[str, ...]:
        ndim_image = len(self.plane_shape or ())
        image_axes = ("y", "x") if ndim_image == 2 else tuple(f"axis {i}" for i in range(ndim_image))
        return tuple(self.stack_components) + image_axes


@dataclass(frozen=True)
class LayerUpdate:
    key: str
    name: str
    data: np.ndarray
    axis_labels: tuple[str, ...]
    stack_values: tuple[tuple[Any, ...], ...]


def _order_key(value: Any) -> tuple[str, Any]:
    """Sort numbers numerically and everything else as text, never comparing across types."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    return ("s", str(value))


def _short(value: Any) -> str:
    text = str(value)
    if "/" in text:
        parts = [p for p in text.rstrip("/").split("/") if p]
        text = "/".join(parts[-2:]) if len(parts) > 1 else (parts[0] if parts else text)
    return text


def layer_name(producer_key: str, labels: Sequence[tuple[str, Any]]) -> str:
    """A readable layer name: the slice components' values, else the producer."""
    if not labels:
        return producer_key
    if len(labels) == 1:
        return _short(labels[0][1])
    return " · ".join(f"{component} {_short(value)}" for component, value in labels)


class BatchError(ValueError):
    """A batch that does not follow the display-config contract; the message goes back to the sender."""


class LayerBook:
    """Every streamed layer's planes, by layer key."""

    def __init__(self) -> None:
        self.layers: dict[str, LayerState] = {}

    def forget(self, key: str) -> None:
        """The user deleted the layer in napari: the next item for it starts afresh."""
        self.layers.pop(key, None)

    def add_batch(self, items: Sequence[Mapping[str, Any]], display_config: Mapping[str, Any]) -> list[LayerUpdate]:
        """Put each item (``data`` already an ndarray) into its layer; the changed layers come back."""
        from polystore.streaming.identity import StreamProducerIdentity
        from polystore.streaming.receivers.napari import build_route_key
        from polystore.streaming_constants import StreamingDataType

        order = [str(c) for c in display_config.get("component_order") or ()]
        modes = {str(k): str(v) for k, v in (display_config.get("component_modes") or {}).items()}
        # "stack" makes an axis; any other mode ("slice", a producer's own "window"…) splits layers.
        slice_components = [c for c in order if modes.get(c, STACK) != STACK]
        stack_components = tuple(c for c in order if modes.get(c, STACK) == STACK)
        changed: dict[str, LayerState] = {}
        for item in items:
            metadata = item.get("metadata") or {}
            data = item.get("data")
            if not isinstance(data, np.ndarray):
                raise BatchError(f"item {item.get('path')!r} carries no image data")
            missing = [c for c in order if c not in metadata]
            if missing:
                raise BatchError(f"item {item.get('path')!r} lacks component(s) {missing} declared in component_order")
            try:
                producer = StreamProducerIdentity.from_payload(item.get("producer_identity") or {})
                data_type = StreamingDataType(item.get("data_type") or StreamingDataType.IMAGE.value)
                key = build_route_key(producer, metadata, slice_components, data_type)
            except (TypeError, ValueError) as exc:
                raise BatchError(f"item {item.get('path')!r}: {exc}") from exc
            state = self.layers.get(key)
            if state is None or state.stack_components != stack_components:
                labels = [(c, metadata[c]) for c in slice_components]
                state = LayerState(key, layer_name(producer.output_key, labels), stack_components)
                self.layers[key] = state
            if state.plane_shape is not None and state.plane_shape != tuple(data.shape):
                log.info("layer %s: image shape %s replaces %s", state.name, data.shape, state.plane_shape)
                state.planes.clear()
            coords = tuple(metadata[c] for c in stack_components)
            coords = tuple(tuple(c) if isinstance(c, list) else c for c in coords)
            state.planes[coords] = data
            changed[key] = state
        return [
            LayerUpdate(s.key, s.name, s.array(), s.axis_labels(), tuple(tuple(v) for v in s.axis_values()))
            for s in changed.values()
        ]
