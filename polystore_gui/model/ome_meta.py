"""OME-NGFF metadata, read in one place: images (multiscales, omero channels, labels),
plates and wells, versions 0.4 (keys at the top of the attributes) and 0.5 (under ``ome``).

Everything here turns a group's attributes into frozen facts. The readers are lenient the
way a browser must be: a plate whose row names break the specification is still shown,
with what is wrong in ``problems``. Conformance is judged by ome-zarr-models' own models
(``HCSAttrs``, ``WellAttrs``, ``ImageAttrs`` of ``v04`` / ``v05``), imported only when a
validation is asked for (it brings pydantic: call it from a worker, not the GUI thread).

A dataset or well path from the metadata is never followed out of its group
(``ome_member_path``). Metadata of the wrong shape raises CorruptMetadataError with a
sentence, never a bare TypeError.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

from .warning_state import recorded_warnings
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta, ome_attributes, ome_member_path, read_node

__all__ = [
    "OmeLevel", "OmeChannel", "OmeSummary", "ome_summary", "image_axes", "channel_axis_of", "level0_path", "level0_units_scale",
    "PlateWell", "PlateAcquisition", "PlateMeta", "WellField", "WellMeta",
    "plate_from_attributes", "well_from_attributes", "read_plate", "read_well", "ome_version", "ome_problems",
    "ome_attributes", "ome_member_path",
]

_SHAPE_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError)


def ome_version(attrs: dict[str, Any], section: str) -> str | None:
    """The OME-NGFF version a group declares: ``ome.version`` (0.5), else the section's own
    ``version`` (0.4 puts it in ``plate``, ``well`` or each multiscale)."""
    ome = attrs.get("ome")
    if isinstance(ome, dict) and ome.get("version"):
        return str(ome["version"])
    body = ome_attributes(attrs).get(section)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict) and body.get("version"):
        return str(body["version"])
    return None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _malformed(what: str) -> CorruptMetadataError:
    return CorruptMetadataError(f"malformed OME-NGFF metadata: {what}")


# -- images -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OmeLevel:
    path: str
    shape: tuple[int, ...] | None
    scale: tuple[float, ...] | None
    translation: tuple[float, ...] | None


@dataclass(frozen=True, slots=True)
class OmeChannel:
    label: str
    color: str | None
    window: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class OmeSummary:
    version: str | None
    axes: tuple[tuple[str, str | None, str | None], ...]  # (name, type, unit)
    levels: tuple[OmeLevel, ...]
    channels: tuple[OmeChannel, ...]
    labels: tuple[str, ...]

    @property
    def channel_axis(self) -> int | None:
        """The channel axis (see ``channel_axis_of``)."""
        return channel_axis_of([n for n, _t, _u in self.axes], [t for _n, t, _u in self.axes])

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "axes": [{"name": n, "type": t, "unit": u} for n, t, u in self.axes],
            "levels": [
                {
                    "path": lv.path,
                    "shape": list(lv.shape) if lv.shape else None,
                    "scale": list(lv.scale) if lv.scale else None,
                    "translation": list(lv.translation) if lv.translation else None,
                }
                for lv in self.levels
            ],
            "channels": [
                {"label": c.label, "color": c.color, "window": list(c.window) if c.window else None}
                for c in self.channels
            ],
            "labels": list(self.labels),
        }


def ome_summary(group_path: str, meta: ZarrNodeMeta) -> OmeSummary | None:
    """The OME-NGFF facts of an image group (0.4: top-level keys; 0.5: under ``ome``).

    None when the group has no ``multiscales``; CorruptMetadataError when what it has is
    not OME-NGFF (wrong types, a dataset path leading out of the group, and so on).
    """
    try:
        return _ome_summary(group_path, meta)
    except _SHAPE_ERRORS as exc:
        if isinstance(exc, CorruptMetadataError):
            raise
        raise _malformed(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _finite_pair(start: Any, end: Any) -> tuple[float, float] | None:
    lo, hi = float(start), float(end)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and lo < hi else None


def _first_multiscale(attrs: dict[str, Any]) -> dict[str, Any] | None:
    multiscales = ome_attributes(attrs).get("multiscales")
    if not multiscales:
        return None
    if not isinstance(multiscales, list) or not isinstance(multiscales[0], dict):
        raise _malformed("multiscales is not a list of objects")
    return multiscales[0]


def _ome_summary(group_path: str, meta: ZarrNodeMeta) -> OmeSummary | None:
    attrs = meta.attributes
    ome = ome_attributes(attrs)
    ms = _first_multiscale(attrs)
    if ms is None:
        return None
    version = ome.get("version") or ms.get("version")
    axes = tuple(
        (str(a.get("name", "?")), _text_or_none(a.get("type")), _text_or_none(a.get("unit")))
        if isinstance(a, dict) else (str(a), None, None)
        for a in ms.get("axes") or []
    )
    levels = []
    for ds in ms.get("datasets") or []:
        scale = translation = None
        for t in ds.get("coordinateTransformations") or []:
            if t.get("type") == "scale":
                scale = tuple(float(v) for v in t.get("scale") or [])
            elif t.get("type") == "translation":
                translation = tuple(float(v) for v in t.get("translation") or [])
        level_path = ome_member_path(group_path, ds.get("path", ""))
        try:
            level_meta = read_node(level_path)
            shape = level_meta.shape if level_meta is not None else None
        except (CorruptMetadataError, OSError):
            shape = None
        levels.append(OmeLevel(str(ds.get("path", "")), shape, scale, translation))
    channels = []
    omero = ome.get("omero")
    for ch in (omero.get("channels") or [] if isinstance(omero, dict) else []):
        if not isinstance(ch, dict):
            continue
        found_window = ch.get("window")
        window: dict[str, Any] = found_window if isinstance(found_window, dict) else {}
        w = _finite_pair(window["start"], window["end"]) if "start" in window and "end" in window else None
        channels.append(OmeChannel(str(ch.get("label", "")), _text_or_none(ch.get("color")), w))
    return OmeSummary(str(version) if version else None, axes, tuple(levels), tuple(channels),
                      _label_names(group_path))


def _label_names(group_path: str) -> tuple[str, ...]:
    """The names listed by ``<image>/labels`` (only plain member names; none when unreadable)."""
    labels_path = os.path.join(group_path, "labels")
    try:
        labels_meta = read_node(labels_path) if os.path.isdir(labels_path) else None
    except (CorruptMetadataError, OSError):
        labels_meta = None
    if labels_meta is None:
        return ()
    found = ome_attributes(labels_meta.attributes).get("labels") or []
    return tuple(str(x) for x in (found if isinstance(found, list) else [])
                 if "/" not in str(x) and str(x) not in ("", ".", ".."))


def channel_axis_of(names: list[str], types: list[str | None]) -> int | None:
    """The one rule for an image's channel axis: the axis of type ``channel``; else, where
    no axis says its type so (0.4 makes types optional), the axis named ``c``."""
    if "channel" in types:
        return types.index("channel")
    return names.index("c") if "c" in names else None


def image_axes(attrs: dict[str, Any]) -> tuple[tuple[str, ...] | None, int | None, tuple[str, ...] | None]:
    """An image group's axis names, its channel axis (type ``channel`` or named ``c``) and
    its channel labels (``omero.channels``); None for each that the metadata does not say."""
    ome = ome_attributes(attrs)
    try:
        raw = ome["multiscales"][0]["axes"]
        names = tuple(str(a["name"]) if isinstance(a, dict) else str(a) for a in raw)
    except (KeyError, IndexError, TypeError):
        return None, None, None
    types = [_text_or_none(a.get("type")) if isinstance(a, dict) else None for a in raw]
    channel = channel_axis_of(list(names), types)
    labels: tuple[str, ...] | None = None
    try:
        labels = tuple(str(c.get("label", "")) for c in ome["omero"]["channels"])
    except (KeyError, TypeError, AttributeError):
        labels = None
    return names, channel, labels


def level0_path(attrs: dict[str, Any]) -> str | None:
    """The relative path of an image's full-resolution dataset; None when it names none."""
    multiscales: Any = ome_attributes(attrs).get("multiscales")
    try:
        return str(multiscales[0]["datasets"][0]["path"])
    except (TypeError, KeyError, IndexError):
        return None


def level0_units_scale(attrs: dict[str, Any], ndim: int) -> tuple[tuple[str | None, ...], tuple[float, ...]]:
    """The units of an image's axes and the scale of its level 0 (None / 1 where unsaid)."""
    units: tuple[str | None, ...] = (None,) * ndim
    scale = (1.0,) * ndim
    try:
        multiscale: Any = ome_attributes(attrs)["multiscales"][0]
        units = tuple((a.get("unit") if isinstance(a, dict) else None) for a in multiscale["axes"])[:ndim]
        for t in multiscale["datasets"][0].get("coordinateTransformations", []):
            if t.get("type") == "scale" and len(t.get("scale", [])) == ndim:
                scale = tuple(float(v) for v in t["scale"])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        pass
    return units, scale


# -- plates and wells ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlateWell:
    """One well the plate lists: its path (``row/column``) and where it sits in the grid."""

    path: str
    row: str
    column: str
    row_index: int
    column_index: int


@dataclass(frozen=True, slots=True)
class PlateAcquisition:
    """One acquisition (a run of the microscope over the plate)."""

    id: int
    name: str | None = None
    maximum_field_count: int | None = None
    description: str | None = None
    start_time: int | None = None
    end_time: int | None = None


@dataclass(frozen=True, slots=True)
class PlateMeta:
    """What a plate group's ``plate`` metadata says.

    ``problems`` lists where it departs from the specification (judged by ome-zarr-models
    when the reader was asked to validate); a plate with problems is still described.
    """

    version: str | None
    name: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[PlateWell, ...]
    acquisitions: tuple[PlateAcquisition, ...] = ()
    field_count: int | None = None
    problems: tuple[str, ...] = ()

    def well_at(self, row: str, column: str) -> PlateWell | None:
        for well in self.wells:
            if well.row == row and well.column == column:
                return well
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version, "name": self.name, "rows": list(self.rows), "columns": list(self.columns),
            "wells": [{"path": w.path, "row": w.row, "column": w.column, "row_index": w.row_index,
                       "column_index": w.column_index} for w in self.wells],
            "acquisitions": [{"id": a.id, "name": a.name, "maximum_field_count": a.maximum_field_count,
                              "description": a.description, "start_time": a.start_time,
                              "end_time": a.end_time} for a in self.acquisitions],
            "field_count": self.field_count, "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class WellField:
    """One field of view (an image group) of a well, and the acquisition it belongs to."""

    path: str
    acquisition: int | None = None


@dataclass(frozen=True, slots=True)
class WellMeta:
    """What a well group's ``well`` metadata says: its fields of view, in order."""

    version: str | None
    fields: tuple[WellField, ...]
    problems: tuple[str, ...] = ()

    def fields_of(self, acquisition: int) -> tuple[WellField, ...]:
        return tuple(f for f in self.fields if f.acquisition == acquisition)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "fields": [{"path": f.path, "acquisition": f.acquisition} for f in self.fields],
                "problems": list(self.problems)}


def _member(value: Any, what: str) -> str:
    """A path from the metadata that stays inside its group (one or more plain parts)."""
    text = value if isinstance(value, str) else None
    if not text or text.startswith("/") or "\0" in text or any(p in ("", ".", "..") for p in text.split("/")):
        raise _malformed(f"{what} {str(value)[:80]!r} is not a member path")
    return text


def _optional_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _malformed(f"plate {what} is not a list")
    out = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise _malformed(f"plate {what} has an entry without a name")
        out.append(name)
    return tuple(out)


def plate_from_attributes(attrs: dict[str, Any], *, validate: bool = False) -> PlateMeta | None:
    """The plate a group's attributes describe; None when they hold no ``plate``.

    Rows and columns are required; a well that names a row or column outside the lists,
    or a path that leaves the group, makes the metadata corrupt (CorruptMetadataError).
    ``validate``: also judge the metadata by ome-zarr-models (imports pydantic).
    """
    plate = ome_attributes(attrs).get("plate")
    if plate is None:
        return None
    if not isinstance(plate, dict):
        raise _malformed("plate is not an object")
    rows = _names(plate.get("rows"), "rows")
    columns = _names(plate.get("columns"), "columns")
    raw_wells = plate.get("wells")
    if not isinstance(raw_wells, list):
        raise _malformed("plate wells is not a list")
    wells = []
    for item in raw_wells:
        if not isinstance(item, dict):
            raise _malformed("plate wells holds something that is not an object")
        path = _member(item.get("path"), "well path")
        row_index, column_index = _optional_int(item.get("rowIndex")), _optional_int(item.get("columnIndex"))
        parts = path.split("/")
        if row_index is None and len(parts) == 2 and parts[0] in rows:
            row_index = rows.index(parts[0])  # 0.3 and earlier did not record the indices
        if column_index is None and len(parts) == 2 and parts[1] in columns:
            column_index = columns.index(parts[1])
        if row_index is None or column_index is None or not (0 <= row_index < len(rows)) \
                or not (0 <= column_index < len(columns)):
            raise _malformed(f"well {path[:80]!r} is not in the plate's rows and columns")
        wells.append(PlateWell(path, rows[row_index], columns[column_index], row_index, column_index))
    acquisitions = []
    raw_acq = plate.get("acquisitions") or []
    for item in raw_acq if isinstance(raw_acq, list) else []:
        ident = _optional_int(item.get("id")) if isinstance(item, dict) else None
        if ident is None:
            continue
        acquisitions.append(PlateAcquisition(
            ident, _text_or_none(item.get("name")), _optional_int(item.get("maximumfieldcount")),
            _text_or_none(item.get("description")), _optional_int(item.get("starttime")),
            _optional_int(item.get("endtime")),
        ))
    problems = _validate(attrs, "hcs") if validate else ()
    return PlateMeta(ome_version(attrs, "plate"), _text_or_none(plate.get("name")), rows, columns, tuple(wells),
                     tuple(acquisitions), _optional_int(plate.get("field_count")), problems)


def well_from_attributes(attrs: dict[str, Any], *, validate: bool = False) -> WellMeta | None:
    """The fields of view a well group's attributes list; None when they hold no ``well``."""
    well = ome_attributes(attrs).get("well")
    if well is None:
        return None
    if not isinstance(well, dict) or not isinstance(well.get("images"), list):
        raise _malformed("well has no list of images")
    fields = []
    for item in well["images"]:
        if not isinstance(item, dict):
            raise _malformed("well images holds something that is not an object")
        fields.append(WellField(_member(item.get("path"), "field path"), _optional_int(item.get("acquisition"))))
    problems = _validate(attrs, "well") if validate else ()
    return WellMeta(ome_version(attrs, "well"), tuple(fields), problems)


def read_plate(group_path: str, *, validate: bool = False) -> PlateMeta | None:
    """The plate at a local group directory (None: not a zarr node, or not a plate)."""
    meta = read_node(group_path)
    return None if meta is None else plate_from_attributes(meta.attributes, validate=validate)


def read_well(group_path: str, *, validate: bool = False) -> WellMeta | None:
    """The well at a local group directory (None: not a zarr node, or not a well)."""
    meta = read_node(group_path)
    return None if meta is None else well_from_attributes(meta.attributes, validate=validate)


# -- conformance, by ome-zarr-models ------------------------------------------------------------


def ome_problems(attrs: dict[str, Any], kind: str) -> tuple[str, ...]:
    """Where a group's attributes depart from OME-NGFF 0.4 / 0.5 as ome-zarr-models judges
    them (``kind``: "image", "hcs" or "well"); () when they conform. Imports pydantic and
    ome-zarr-models: call it from a worker."""
    if kind not in ("image", "hcs", "well"):
        raise ValueError(f"kind {kind!r} is not image, hcs or well")
    return _validate(attrs, kind)


def _validate(attrs: dict[str, Any], kind: str) -> tuple[str, ...]:
    """Where ``attrs`` depart from OME-NGFF, as ome-zarr-models judges (``kind``: "hcs",
    "well" or "image"); () when they conform. Its warnings count as problems too."""
    version = ome_version(attrs, {"hcs": "plate", "well": "well", "image": "multiscales"}[kind])
    v05 = isinstance(attrs.get("ome"), dict)
    if v05:
        from ome_zarr_models.v05 import hcs as h5, image as i5, well as w5

        model: Any = {"hcs": h5.HCSAttrs, "well": w5.WellAttrs, "image": i5.ImageAttrs}[kind]
        doc: Any = attrs["ome"]
    else:
        from ome_zarr_models.v04 import hcs as h4, image as i4, well as w4

        model = {"hcs": h4.HCSAttrs, "well": w4.WellAttrs, "image": i4.ImageAttrs}[kind]
        doc = attrs
    if version not in (None, "0.4", "0.5"):
        return (f"OME-NGFF version {version[:20]!r} is not one this browser checks (0.4, 0.5)",)
    from pydantic import ValidationError

    with recorded_warnings() as caught:  # on a worker: one such block at a time
        warnings.simplefilter("always")
        try:
            model.model_validate(doc)
        except ValidationError as exc:
            found = [f"{'.'.join(str(p) for p in err['loc']) or kind}: {err['msg']}" for err in exc.errors()]
            return tuple(found[:20])
    # ome-zarr-models' 0.5 Plate warns that its own ``version`` is missing, but 0.5 keeps the
    # version in ``ome.version`` alone (checked above by BaseOMEAttrs): not a problem.
    return tuple(str(w.message)[:200] for w in caught if not (v05 and "'version' field not specified" in str(w.message)))
