"""An OME-NGFF image's display window saved in its own metadata (``omero.window``).

After *Compute Exact Statistics* the user may keep the contrast they now see, so that every
viewer (napari-ome-zarr, Fiji, this browser) opens the image right: per channel,
``omero.channels[i].window`` = ``{"start", "end", "min", "max"}`` (the display window and
the data's range). OME-NGFF 0.4 keeps ``omero`` among the group's attributes (``.zattrs``
for zarr v2, ``zarr.json``'s ``attributes`` for v3); 0.5 under ``attributes.ome``.

The document is written aside and renamed over the old one (a reader sees the old or the
new file, never half of one), and consolidated metadata that holds the group is written
again, as after any other change. Everything else in the document is kept as it was;
channels without a ``color`` get white (OME-NGFF requires one).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .zarr_nodes import CorruptMetadataError, ome_attributes, ome_member_path, read_node


class DisplayWindowError(Exception):
    """The window cannot be saved; the message is for the user."""


@dataclass(frozen=True)
class DisplayWindow:
    """One channel's window: what is shown from ``start`` to ``end``, data from ``min`` to ``max``."""

    start: float
    end: float
    min: float
    max: float

    def as_json(self) -> dict[str, float | int]:
        return {"start": _number(self.start), "end": _number(self.end), "min": _number(self.min),
                "max": _number(self.max)}


def _number(value: float) -> float | int:
    value = float(value)
    if not math.isfinite(value):
        raise DisplayWindowError(f"a window bound is not a finite number ({value})")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _document_of(group: str) -> tuple[str, int]:
    try:
        meta = read_node(group)
    except CorruptMetadataError as exc:
        raise DisplayWindowError(str(exc)) from None
    if meta is None or meta.node_type != "group" or not meta.is_ome:
        raise DisplayWindowError(f"{group} is not an OME-NGFF image (no multiscales in its metadata)")
    name = "zarr.json" if meta.zarr_format == 3 else ".zattrs"
    return os.path.join(group, name), meta.zarr_format


def image_channels(group: str) -> int:
    """How many channels the OME-NGFF image ``group`` has (the length of its channel axis in
    the first dataset; 1 without one)."""
    meta = read_node(group)
    ome = ome_attributes(meta.attributes) if meta is not None else {}
    multiscales = ome.get("multiscales")
    try:
        first = multiscales[0]  # type: ignore[index]
        axes = first.get("axes") or []
        kinds = [a.get("type") if isinstance(a, dict) else None for a in axes]
        names = [a.get("name") if isinstance(a, dict) else a for a in axes]
        axis = kinds.index("channel") if "channel" in kinds else names.index("c") if "c" in names else None
        if axis is None:
            return 1
        level = read_node(ome_member_path(group, first["datasets"][0]["path"]))
    except (TypeError, KeyError, IndexError, AttributeError, CorruptMetadataError):
        raise DisplayWindowError(f"the OME-NGFF metadata of {group} is malformed") from None
    if level is None or level.shape is None or axis >= len(level.shape):
        raise DisplayWindowError(f"the first dataset of {group} cannot be read")
    return int(level.shape[axis])


def save_display_window(group: str, windows: Sequence[DisplayWindow]) -> str:
    """Write one window per channel into the OME-NGFF image ``group``'s metadata; returns the
    document written. Raises DisplayWindowError (not an OME image, unreadable or read-only
    metadata, a channel count that does not match the metadata's)."""
    if not windows:
        raise DisplayWindowError("no channel window to save")
    document, zarr_format = _document_of(group)
    try:
        with open(document, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        doc = {}
    except (OSError, ValueError) as exc:
        raise DisplayWindowError(f"cannot read {document}: {exc}") from None
    if not isinstance(doc, dict):
        raise DisplayWindowError(f"{document} does not hold a JSON object")
    attrs = doc.setdefault("attributes", {}) if zarr_format == 3 else doc
    if not isinstance(attrs, dict):
        raise DisplayWindowError(f"the attributes in {document} are not an object")
    ome = ome_attributes(attrs)
    omero = ome.setdefault("omero", {})
    if not isinstance(omero, dict):
        raise DisplayWindowError(f"omero in {document} is not an object")
    expected = image_channels(group)
    if len(windows) != expected:
        given = f"{len(windows)} window was" if len(windows) == 1 else f"{len(windows)} windows were"
        raise DisplayWindowError(f"the image has {expected} channel{'s' if expected != 1 else ''}, but {given} given")
    channels = omero.get("channels")
    if not isinstance(channels, list) or not channels:
        channels = [{} for _ in windows]
    if len(channels) != expected or not all(isinstance(c, dict) for c in channels):
        raise DisplayWindowError(f"omero in {document} describes {len(channels)} channels, the image has {expected}")
    for channel, window in zip(channels, windows):
        channel["window"] = window.as_json()
        channel.setdefault("color", "FFFFFF")
        channel.setdefault("active", True)
    omero["channels"] = channels
    _write_atomically(document, doc)
    from .zarr_consolidated import holders, refresh

    if holders(group):
        refresh(group)
    return document


def _write_atomically(document: str, doc: dict[str, Any]) -> None:
    staged = f"{document}.{os.getpid()}.window.tmp"
    try:
        with open(staged, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(staged, document)
    except OSError as exc:
        try:
            os.unlink(staged)
        except OSError:
            pass
        raise DisplayWindowError(f"cannot write {document}: {exc.strerror or exc}") from None
