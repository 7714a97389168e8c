"""Read a plate from its metadata: OME-Zarr HCS (0.4, 0.5), polystore / OpenHCS, TIFF folders.

Only metadata is read (never a pixel): the plate document, then one document per well.
``check_fields`` also reads each field's image and level-0 metadata, to say when fields
differ in shape or dtype (the CLI does; the plate view learns shapes from its thumbnails).
Anything wrong with a plate becomes a note on the summary; nothing here raises for bad
input except :class:`NotAPlate`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .plate_names import row_index, row_name, standard_grid, well_name, well_position
from .plate_summary import (
    OME_PLATE, POLYSTORE_PLATE, TIFF_PLATE, Acquisition, FieldSummary, PlateSummary, WellSummary,
)
from .ome_meta import PlateMeta, level0_path, ome_version, plate_from_attributes, well_from_attributes
from .plate_tiff import GIVE_UP_AFTER, MAX_TIFF_SCAN, read_tiff_plate  # noqa: F401 - also read from here
from .safe_files import FileTooLargeError, NotRegularFileError, read_capped
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta, has_zarr_marker, ome_attributes, ome_member_path, read_node

if TYPE_CHECKING:
    from .folder_node import FolderNode

# polystore's plate documents (polystore.metadata_writer.METADATA_CONFIG; OpenHCS's older name).
POLYSTORE_DOCUMENTS = ("polystore_metadata.json", "openhcs_metadata.json")
POLYSTORE_PLATE_NAME = "Polystore_Plate"  # polystore.zarr.DEFAULT_PLATE_NAME
MAX_NOTES_LISTED = 5


class NotAPlate(ValueError):
    """The address is not a plate (nor a well of one)."""


def _local_folder_node(backend: str, path: str,
                       node: FolderNode | None = None) -> tuple[str, ZarrNodeMeta | None] | None:
    """The absolute path of the local folder ``backend:path`` and its zarr node (None when
    it holds none, or metadata that cannot be read: no plate nor well then); None when it
    is not a local folder (plate_at and well_at). ``node``: its node document already read
    (``selection_read``: once for the preview and the plate lookup)."""
    # The caller (backends.plate.plate_at / well_at) has asked the adapter that ``backend:path``
    # is a path of this machine: this module is below the adapters and does not ask them back.
    if not os.path.isdir(path):
        return None
    path = os.path.abspath(path)
    try:
        return path, node.read(path) if node is not None else read_node(path)
    except (CorruptMetadataError, OSError):
        return path, None


def plate_at(backend: str, path: str, *, check_fields: bool = False,
             node: FolderNode | None = None) -> PlateSummary | None:
    """The plate rooted at ``backend:path``; None when it is not one (or not local).
    ``node``: see ``_local_folder_node``."""
    folder = _local_folder_node(backend, path, node)
    if folder is None:
        return None
    path, meta = folder
    if meta is not None:
        if meta.node_type == "group" and "plate" in ome_attributes(meta.attributes):
            return read_zarr_plate(path, meta, backend=backend, check_fields=check_fields)
        return None
    for name in POLYSTORE_DOCUMENTS:
        if os.path.isfile(os.path.join(path, name)):
            return read_polystore_folder(path, name, backend=backend, check_fields=check_fields)
    if has_zarr_marker(path):
        return None
    return read_tiff_plate(path, backend=backend)


def well_at(backend: str, path: str,
            node: FolderNode | None = None) -> tuple[PlateSummary | None, WellSummary] | None:
    """The well at ``backend:path`` (an OME-Zarr well group) and the plate holding it.
    ``node``: see ``_local_folder_node``."""
    folder = _local_folder_node(backend, path, node)
    if folder is None:
        return None
    path, meta = folder
    if meta is None or meta.node_type != "group" or "well" not in ome_attributes(meta.attributes):
        return None
    plate_root = os.path.dirname(os.path.dirname(path))
    plate = plate_at(backend, plate_root)
    if plate is not None:
        relative = os.path.relpath(path, plate_root).replace(os.sep, "/")
        found = next((w for w in plate.wells if w.path.strip("/") == relative), None)
        if found is not None:
            return plate, found
    row, column = os.path.basename(os.path.dirname(path)), os.path.basename(path)
    well, _ = _read_well(path, f"{row}/{column}", row, column, (0, 0), plate_mtime=None)
    return plate, well


# -- OME-Zarr HCS and polystore zarr plates ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlateNodes:
    """How a zarr plate's nodes are read: this machine's folders (the default), or a remote
    store's keys (model/plate_remote.py), where the wells are read concurrently."""

    join: Callable[[str, str], str]
    exists: Callable[[str], bool]  # whether a listed well or field is there (before reading it)
    read_many: Callable[[list[str]], list[ZarrNodeMeta | None | Exception]]
    polystore_document: Callable[[str], str | None]  # beside the plate: polystore's document
    # the plate's consolidated metadata, by path below it ("A/1"): its wells without a read each
    consolidated: Callable[[str], Mapping[str, ZarrNodeMeta]] = lambda _path: {}


def _read_local(paths: list[str]) -> list[ZarrNodeMeta | None | Exception]:
    out: list[ZarrNodeMeta | None | Exception] = []
    for path in paths:
        try:
            out.append(read_node(path))
        except (CorruptMetadataError, OSError) as exc:
            out.append(exc)
    return out


def _local_document(path: str) -> str | None:
    parent = os.path.dirname(path)
    return next((d for d in POLYSTORE_DOCUMENTS if os.path.isfile(os.path.join(parent, d))), None)


def _local_consolidated(path: str) -> Mapping[str, ZarrNodeMeta]:
    """The nodes a local plate's consolidated metadata describes (none without one). As
    zarr-python does, the document is trusted for the wells it names; a well it does not
    name (written since) is read from its own document."""
    from . import zarr_consolidated

    found = zarr_consolidated.read(path)
    return found.nodes if found is not None else {}


LOCAL_NODES = PlateNodes(os.path.join, os.path.isdir, _read_local, _local_document, _local_consolidated)


def read_zarr_plate(path: str, meta: ZarrNodeMeta, *, backend: str = "zarr", check_fields: bool = False,
                    polystore_document: str | None = None, nodes: PlateNodes = LOCAL_NODES) -> PlateSummary:
    """An OME-Zarr HCS plate (or polystore's, which is one) from its metadata and its wells'
    (read by :mod:`ome_meta`, the one OME-NGFF reader)."""
    notes: list[str] = []
    try:
        plate = plate_from_attributes(meta.attributes)
    except CorruptMetadataError as exc:
        plate = None
        notes.append(str(exc))
    if plate is None:
        plate = PlateMeta(ome_version(meta.attributes, "plate"), None, (), (), ())
    if polystore_document is None:
        polystore_document = nodes.polystore_document(path)
    polystore = polystore_document is not None or plate.name == POLYSTORE_PLATE_NAME
    acquisitions = tuple(Acquisition(a.id, a.name, a.maximum_field_count) for a in plate.acquisitions)
    wells: list[WellSummary] = []
    seen: set[str] = set()
    missing: list[str] = []
    present = [w for w in plate.wells if nodes.exists(nodes.join(path, w.path))]
    consolidated = nodes.consolidated(path) if present else {}
    read: dict[str, ZarrNodeMeta | None | Exception] = {
        w.path: consolidated[w.path.strip("/")] for w in present if w.path.strip("/") in consolidated}
    unread = [w for w in present if w.path not in read]
    read.update(zip((w.path for w in unread), nodes.read_many([nodes.join(path, w.path) for w in unread]),
                    strict=True))
    for listed in plate.wells:
        well_path, row, column = listed.path, listed.row, listed.column
        if well_path in seen:
            notes.append(f"well {well_path} is listed twice")
            continue
        seen.add(well_path)
        position = (listed.row_index, listed.column_index)
        if polystore:
            # polystore packs rowIndex/columnIndex (only rows and columns with wells count):
            # the name says where the well really is.
            position = well_position(f"{row}{column}") or position
        directory = nodes.join(path, well_path)
        if well_path not in read:
            missing.append(well_path)
            wells.append(WellSummary(_display_name(row, column, position), well_path, row, column, *position, (),
                                     notes=("listed by the plate but does not exist",)))
            continue
        well, well_notes = _read_well(directory, well_path, row, column, position, plate_mtime=meta.metadata_mtime,
                                      check_fields=check_fields, found=(read[well_path],), nodes=nodes)
        wells.append(well)
        notes.extend(well_notes)
    if missing:
        notes.append(_counted(missing, "well", "listed by the plate but missing", "wells"))
    empty = [w.path for w in wells if not w.fields and w.path not in missing]
    if empty:
        notes.append(_counted(empty, "well", "without fields", "wells"))
    rows, columns = list(plate.rows), list(plate.columns)
    if polystore:
        rows, columns = _grid_from_names(wells, rows, columns)
    notes.extend(_field_count_notes(plate.field_count, wells, acquisitions))
    return PlateSummary(
        POLYSTORE_PLATE if polystore else OME_PLATE, backend, path, plate.name, plate.version,
        tuple(rows), tuple(columns), tuple(sorted(wells, key=lambda w: (w.row_index, w.column_index))),
        plate.field_count, acquisitions, tuple(notes), meta.metadata_mtime,
    )


def _display_name(row: str, column: str, position: tuple[int, int]) -> str:
    if row_index(row) is not None and column.isdigit():
        return f"{row}{column.zfill(2)}"
    return f"{row}{column}" if row and column else well_name(*position)


def _grid_from_names(wells: list[WellSummary], rows: list[str], columns: list[str]) -> tuple[list[str], list[str]]:
    """The rows and columns of the standard plate holding every well (placed by name)."""
    n_rows, n_columns = standard_grid([(w.row_index, w.column_index) for w in wells])
    n_rows, n_columns = max(n_rows, len(rows)), max(n_columns, len(columns))
    width = max((len(w.column) for w in wells if w.column.isdigit()), default=2)
    by_row = {w.row_index: w.row for w in wells}
    by_column = {w.column_index: w.column for w in wells}
    return ([by_row.get(i, row_name(i)) for i in range(n_rows)],
            [by_column.get(i, f"{i + 1:0{width}d}") for i in range(n_columns)])


def _read_well(directory: str, well_path: str, row: str, column: str, position: tuple[int, int], *,
               plate_mtime: float | None, check_fields: bool = False, found: tuple[ZarrNodeMeta | None | Exception] | None = None,
               nodes: PlateNodes = LOCAL_NODES) -> tuple[WellSummary, list[str]]:
    """``found``: the well's node when it was read already (with the plate's other wells)."""
    name = _display_name(row, column, position)
    notes: list[str] = []
    meta = nodes.read_many([directory])[0] if found is None else found[0]
    if isinstance(meta, Exception):
        return WellSummary(name, well_path, row, column, *position, (), notes=(str(meta),)), [f"well {well_path}: {meta}"]
    if meta is None:
        return WellSummary(name, well_path, row, column, *position, (), notes=("not a zarr group",)), []
    try:
        well = well_from_attributes(meta.attributes)
    except CorruptMetadataError as exc:
        return WellSummary(name, well_path, row, column, *position, (), notes=(str(exc),)), [f"well {well_path}: {exc}"]
    if well is None:
        return WellSummary(name, well_path, row, column, *position, (), notes=("no well metadata",)), []
    attrs = ome_attributes(meta.attributes)
    fields: list[FieldSummary] = []
    for image in well.fields:
        field_directory = nodes.join(directory, image.path)
        if not nodes.exists(field_directory):
            notes.append(f"well {well_path}: field {image.path} is listed but missing")
            continue
        fields.append(FieldSummary(f"ome_zarr:{field_directory}", image.path, image.acquisition))
    extra = tuple(sorted((k, _text(v)) for k, v in meta.attributes.items() if k not in ("well", "ome")))
    extra += tuple(sorted((k, _text(v)) for k, v in attrs.items() if k not in ("well", "version") and attrs is not meta.attributes))
    if check_fields:
        notes.extend(_field_shape_notes(well_path, fields))
    acquisitions = tuple(sorted({f.acquisition for f in fields if f.acquisition is not None}))
    return WellSummary(name, well_path, row, column, *position, tuple(fields), acquisitions, extra,
                       tuple(n.split(": ", 1)[-1] for n in notes)), notes


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)[:200]


def field_level0(field_directory: str) -> ZarrNodeMeta | None:
    """The full-resolution array of an OME-NGFF image (its first dataset); None if unreadable."""
    try:
        image = read_node(field_directory)
        if image is None:
            return None
        level = level0_path(image.attributes)
        return None if level is None else read_node(ome_member_path(field_directory, level))
    except (CorruptMetadataError, OSError):
        return None


def _field_shape_notes(well_path: str, fields: list[FieldSummary]) -> list[str]:
    facts = []
    for f in fields:
        level = field_level0(f.path)
        if level is None or level.node_type != "array":
            return [f"well {well_path}: field {f.name} is not a readable OME-NGFF image"]
        facts.append((level.shape, level.dtype))
    kinds = Counter(facts)
    if len(kinds) <= 1:
        return []
    said = ", ".join(f"{'×'.join(map(str, s or ()))} {d}" for (s, d) in kinds)
    return [f"well {well_path}: fields differ in shape or dtype ({said})"]


def _field_count_notes(field_count: int | None, wells: list[WellSummary],
                       acquisitions: tuple[Acquisition, ...]) -> list[str]:
    most = max((len(w.fields) for w in wells), default=0)
    notes = []
    if field_count is not None and field_count != most and wells:
        fuller = [w.path for w in wells if len(w.fields) > field_count]
        if fuller:
            notes.append(f"the metadata says field_count {field_count}, but {_counted(fuller, 'well', f'has more', 'wells', verb_plural='have more')} (up to {most})")
        else:
            notes.append(f"the metadata says field_count {field_count}, but no well has more than {most}")
    for acquisition in acquisitions:
        if acquisition.maximum_field_count is None or acquisition.id is None:
            continue
        counted = max((sum(1 for f in w.fields if f.acquisition == acquisition.id) for w in wells), default=0)
        if counted > acquisition.maximum_field_count:
            notes.append(f"acquisition {acquisition.id} says at most {acquisition.maximum_field_count} fields a well, "
                         f"but a well has {counted}")
    return notes


def _counted(items: list[str], one: str, what: str, many: str, *, verb_plural: str | None = None) -> str:
    shown = ", ".join(items[:MAX_NOTES_LISTED]) + (f" and {len(items) - MAX_NOTES_LISTED} more" if len(items) > MAX_NOTES_LISTED else "")
    if len(items) == 1:
        return f"{one} {shown} {what}"
    return f"{len(items)} {many} {verb_plural or what} ({shown})"


# -- polystore / OpenHCS plate folders -------------------------------------------------------------


def read_polystore_folder(path: str, document: str, *, backend: str = "disk",
                          check_fields: bool = False) -> PlateSummary:
    """A plate folder holding polystore's (or OpenHCS's) metadata document: its main
    subdirectory's zarr plate, else its TIFFs."""
    notes: list[str] = []
    mtime: float | None = None
    subdirectories: dict[str, Any] = {}
    try:
        doc_path = os.path.join(path, document)
        mtime = os.stat(doc_path).st_mtime
        doc = json.loads(read_capped(doc_path))
        found = doc.get("subdirectories") if isinstance(doc, dict) else None
        if isinstance(found, dict):
            subdirectories = {str(k): v for k, v in found.items() if isinstance(v, dict)}
        else:
            notes.append(f"{document} lists no subdirectories")
    except (OSError, ValueError, NotRegularFileError, FileTooLargeError, RecursionError) as exc:
        notes.append(f"{document} cannot be read: {exc}")
    order = sorted(subdirectories, key=lambda k: (not subdirectories[k].get("main"), k))
    workspace = any(s.get("workspace_mapping") for s in subdirectories.values())
    for key in order:
        for candidate in (os.path.join(path, key) if key != "." else path, os.path.join(path, f"{key}.zarr")):
            if candidate == path or not os.path.isdir(candidate):
                continue
            try:
                meta = read_node(candidate)
            except (CorruptMetadataError, OSError):
                meta = None
            if meta is not None and meta.node_type == "group" and "plate" in ome_attributes(meta.attributes):
                plate = read_zarr_plate(candidate, meta, backend=backend, check_fields=check_fields,
                                        polystore_document=document)
                return _as_polystore(plate, path, subdirectories.get(key, {}), notes, workspace)
    for key in order:
        candidate = path if key == "." else os.path.join(path, key)
        if os.path.isdir(candidate):
            tiffs = read_tiff_plate(candidate, backend=backend)
            if tiffs is not None:
                return _as_polystore(tiffs, path, subdirectories.get(key, {}), notes, workspace)
    tiffs = read_tiff_plate(path, backend=backend)
    if tiffs is not None:
        return _as_polystore(tiffs, path, {}, notes, workspace)
    return PlateSummary(POLYSTORE_PLATE, backend, path, os.path.basename(path), None, (), (), (), None, (),
                        tuple(notes + ["no subdirectory holds a zarr plate or plate images"]), mtime,
                        f"virtual_workspace:{path}" if workspace else None)


def _as_polystore(plate: PlateSummary, root: str, subdirectory: dict[str, Any], notes: list[str],
                  workspace: bool = False) -> PlateSummary:
    """``plate`` as found in a polystore plate folder, with the document's per-well facts."""
    per_well = subdirectory.get("wells")
    wells = plate.wells
    if isinstance(per_well, dict):
        wells = tuple(
            _with_attributes(w, per_well.get(w.name) or per_well.get(w.path)) for w in wells
        )
    return PlateSummary(POLYSTORE_PLATE, plate.backend, plate.path, plate.name, plate.version, plate.rows,
                        plate.columns, wells, plate.field_count, plate.acquisitions,
                        tuple(notes) + plate.notes, plate.metadata_mtime,
                        f"virtual_workspace:{root}" if workspace else None)


def _with_attributes(well: WellSummary, facts: Any) -> WellSummary:
    if not isinstance(facts, dict):
        return well
    extra = tuple((str(k), _text(v)) for k, v in sorted(facts.items(), key=lambda kv: str(kv[0])))
    return WellSummary(well.name, well.path, well.row, well.column, well.row_index, well.column_index, well.fields,
                       well.acquisitions, well.attributes + extra, well.notes)
