"""The entries of this machine's paths: a file, a folder, a zarr node (disk's and the local
zarr stores' adapters share them; kept apart from both so neither imports the other back).

:func:`local_entry` describes a typed path or a root; :func:`describe_disk_entry` adds what
costs a ``stat`` or a header read; :func:`zarr_entry` makes the row of a zarr node whose
metadata has been read.
"""

from __future__ import annotations

import os
import stat as stat_module

from ..entries import Entry, EntryKind, display_name, kind_for_file_name
from ..tiff_facts import is_tiff_name, read_tiff_facts
from ..zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node
from .common import os_error_text


def zarr_entry(meta: ZarrNodeMeta, backend: str, name: str, *, top_level: bool = False) -> Entry:
    """The entry for a zarr node whose metadata has been read."""
    if meta.node_type == "array":
        kind = EntryKind.POLYSTORE_ARRAY if meta.filename_map else EntryKind.ARRAY
    elif meta.is_ome:
        kind = EntryKind.OME_ZARR
    elif top_level:
        kind = EntryKind.ZARR_STORE
    else:
        kind = EntryKind.GROUP
    detail = f"zarr v{meta.zarr_format}"
    plate = _plate_kind(meta) if kind is EntryKind.ZARR_STORE else None
    if plate is not None:  # its Kind says what it is: "plate (OME plate 0.5, zarr v3)"
        kind, detail = EntryKind.PLATE, f"{plate}, {detail}"
    if meta.shards is not None:
        detail += ", sharded"
    if meta.filename_map:
        detail += f", {len(meta.filename_map)} virtual files"
    return Entry(
        backend,
        meta.path,
        name,
        kind,
        size=meta.nbytes,
        modified=meta.metadata_mtime,
        shape=meta.shape,
        dtype=meta.dtype,
        detail=detail,
    )


def _plate_kind(meta: ZarrNodeMeta) -> str | None:
    """"OME plate 0.5" or "polystore plate" for a group whose attributes describe a plate
    (polystore's save_batch writes OME 0.4 plate metadata named Polystore_Plate); None else."""
    from ..ome_meta import ome_version
    from ..zarr_nodes import ome_attributes

    plate = ome_attributes(meta.attributes).get("plate")
    if not isinstance(plate, dict):
        return None
    if plate.get("name") == "Polystore_Plate":  # plate_read.POLYSTORE_PLATE_NAME
        return "polystore plate"
    version = ome_version(meta.attributes, "plate")
    return f"OME plate {version}" if version else "OME plate"


def describe_disk_entry(entry: Entry, *, headers: bool = True) -> Entry:
    """``entry`` (a file or folder on disk) with its size, time, and zarr facts if it is a
    node; with ``headers``, a TIFF's facts (see :func:`describe`)."""
    try:
        st = os.stat(entry.path)
    except OSError as exc:
        return entry.with_details(error=os_error_text(exc, entry.path))
    if stat_module.S_ISDIR(st.st_mode):
        try:
            meta = read_node(entry.path)
        except CorruptMetadataError as exc:
            return entry.with_details(kind=EntryKind.ZARR_STORE, modified=st.st_mtime, error=str(exc))
        except OSError:
            meta = None  # unreadable folder: the listing will say why when expanded
        if meta is not None:
            described = zarr_entry(meta, entry.backend, entry.name, top_level=True)
            return described.with_details(modified=st.st_mtime)
        from ..plate_folders import plate_folder_kind

        plate = plate_folder_kind(entry.path)  # a polystore or TIFF plate folder: its Kind says plate
        return entry.with_details(modified=st.st_mtime, **({"detail": plate} if plate else {}))
    if headers and stat_module.S_ISREG(st.st_mode) and st.st_size >= 8 and is_tiff_name(entry.path):  # 8: its header
        return _with_tiff_facts(entry.with_details(size=st.st_size, modified=st.st_mtime))
    return entry.with_details(size=st.st_size, modified=st.st_mtime)


def _with_tiff_facts(entry: Entry) -> Entry:
    """A TIFF's shape, dtype and axes, from its header (no pixel read; see tiff_facts)."""
    try:
        facts = read_tiff_facts(entry.path)
    except Exception:  # not what its name says, or unreadable: listed as a file; `info` says why
        return entry.with_details(detail="not a readable TIFF")
    return entry.with_details(shape=facts.shape, dtype=facts.dtype, detail=facts.detail)


def local_entry(backend: str, path: str) -> Entry:
    """The entry for a local path (disk, or inside a zarr store; a root, a typed address);
    never raises."""
    name = os.path.basename(path.rstrip("/")) or path
    shown = display_name(name)
    if not os.path.lexists(path):  # nothing says it ever existed: not "no longer exists"
        return Entry(backend, path, shown, EntryKind.ERROR, error=f"Does not exist: {display_name(path)}")
    kind = EntryKind.DIRECTORY if os.path.isdir(path) else kind_for_file_name(name)
    return describe_disk_entry(Entry(backend, path, shown, kind))
