"""Convert an OME-Zarr HCS plate (0.4 or 0.5) into an OME-Zarr plate, well by well.

Every field of view of every well the plate lists is converted by ``convert`` (its level 0
read, a pyramid written, level 0 verified against the source's checksum); the plate's and
each well's metadata are kept as they are (rows, columns, wells, acquisitions, field
count, name; each well's images and their acquisitions), only moved to where the target
version puts them (``ome`` with ``version`` for 0.5, ``version`` inside ``plate`` and
``well`` for 0.4). The whole plate is written under a hidden name beside DEST and renamed
into place at the end: a failure or a cancel leaves DEST as it was.

Not carried over: a field's labels, and anything in the plate that the plate metadata does
not list (the report's notes say so).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from typing import Any

from .convert import VERSIONS, _put_in_place, convert, plan_conversion
from .whole_array import Engine, WholeArrayError
from .zarr_nodes import CorruptMetadataError, ome_attributes, ome_member_path, read_node


def plate_attributes(path: str) -> dict[str, Any] | None:
    """The ``plate`` metadata of the zarr group at ``path``; None when it is not a plate."""
    if not os.path.isdir(path):
        return None
    try:
        meta = read_node(path)
    except CorruptMetadataError:
        return None
    if meta is None or meta.node_type != "group":
        return None
    plate = ome_attributes(meta.attributes).get("plate")
    return plate if isinstance(plate, dict) else None


def _versioned(key: str, body: dict[str, Any], version: str) -> dict[str, Any]:
    """``body`` as a group's attributes for ``version``: under ``ome`` for 0.5. A 0.5 plate
    also says its version inside ``plate`` (ome-zarr-models 1.7 warns without it;
    ome-zarr-py writes it too)."""
    body = {k: v for k, v in body.items() if k != "version"}
    if version == "0.5":
        return {"ome": {"version": "0.5", key: {**body, "version": "0.5"} if key == "plate" else body}}
    return {key: {**body, "version": version}}


def _well_images(well_dir: str, well_path: str) -> list[dict[str, Any]]:
    try:
        meta = read_node(well_dir)
    except CorruptMetadataError as exc:
        raise WholeArrayError(f"well {well_path}: {exc}") from None
    well = ome_attributes(meta.attributes).get("well") if meta is not None else None
    images = well.get("images") if isinstance(well, dict) else None
    if not isinstance(images, list) or not all(isinstance(i, dict) and "path" in i for i in images):
        raise WholeArrayError(f"well {well_path} of the plate has no well metadata listing its fields")
    return images


def plate_size(source: str) -> tuple[int, int]:
    """How many fields of view the wells of the plate at ``source`` list, and the bytes of
    their full-resolution levels (metadata only: for progress)."""
    import numpy as np

    from .ome_meta import level0_path
    from .whole_array import open_array

    plate = plate_attributes(os.path.abspath(source)) or {}
    fields = nbytes = 0
    for well in plate.get("wells") or []:
        try:
            well_dir = ome_member_path(source, well["path"])
            for image in _well_images(well_dir, str(well["path"])):
                fields += 1
                field_dir = ome_member_path(well_dir, image["path"])
                meta = read_node(field_dir)
                first = level0_path(meta.attributes) if meta is not None else None
                if first is not None:
                    arr = open_array(ome_member_path(field_dir, first))
                    nbytes += int(np.prod(arr.shape)) * np.dtype(arr.dtype).itemsize
        except (WholeArrayError, CorruptMetadataError, KeyError, TypeError):
            continue
    return fields, nbytes


def convert_plate(source: str, dest: str, *, version: str = "0.5", chunks: tuple[int, ...] | None = None,
                  shards: tuple[int, ...] | None = None, levels: int | None = None, overwrite: bool = False,
                  engine: Engine = Engine(), progress: Callable[[str, int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Write the plate at ``source`` as an OME-Zarr ``version`` plate at ``dest``; returns a
    report (wells, fields with their levels, each verified, notes). Raises WholeArrayError
    with a sentence for a request or a plate it cannot convert."""
    import zarr

    source = os.path.abspath(source)
    dest = os.path.abspath(dest)
    if version not in VERSIONS:
        raise WholeArrayError(f"OME-NGFF version {version!r} is not written here: choose one of {', '.join(VERSIONS)}")
    plate = plate_attributes(source)
    if plate is None:
        raise WholeArrayError(f"{source} is not an OME-Zarr plate (no plate metadata)")
    if os.path.lexists(dest) and not overwrite:
        raise WholeArrayError(f"{dest} exists: choose another name, or --overwrite to replace it")
    if not os.path.isdir(os.path.dirname(dest)):
        raise WholeArrayError(f"{os.path.dirname(dest)} is not a folder: the destination's parent must exist")
    wells = plate.get("wells")
    if not isinstance(wells, list) or not all(isinstance(w, dict) and "path" in w for w in wells):
        raise WholeArrayError(f"{source}: the plate metadata lists no wells")
    parent, name = os.path.split(dest)
    temp = os.path.join(parent, f".{name}.converting-{uuid.uuid4().hex[:8]}")
    fields: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        root = zarr.open_group(temp, mode="w-", zarr_format=3 if version == "0.5" else 2)
        for well in wells:
            try:
                well_dir = ome_member_path(source, well["path"])
                out_well = ome_member_path(temp, well["path"])
            except CorruptMetadataError as exc:
                raise WholeArrayError(f"{source}: {exc}") from None
            images = _well_images(well_dir, str(well["path"]))
            group = root
            for part in str(well["path"]).split("/"):
                group = group.require_group(part)
            group.attrs.update(_versioned("well", {"images": images}, version))
            for image in images:
                label = f"{well['path']}/{image['path']}"
                try:
                    field_src = ome_member_path(well_dir, image["path"])
                    field_dest = ome_member_path(out_well, image["path"])
                except CorruptMetadataError as exc:
                    raise WholeArrayError(f"{source}: {exc}") from None
                plan = plan_conversion("zarr", field_src, field_dest, version=version, chunks=chunks, shards=shards,
                                       levels=levels)
                step = None if progress is None else (
                    lambda what, done, total, label=label: progress(f"{label} {what}", done, total))
                report = convert(plan, engine=engine, progress=step, cancelled=cancelled)
                fields.append({"path": label, "levels": report["levels"], "verified": report["verified"]})
                if os.path.isdir(os.path.join(field_src, "labels")):
                    notes.append(f"{label}: labels are not converted")
        root.attrs.update(_versioned("plate", plate, version))
        _put_in_place(temp, dest)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return {"kind": "plate", "source": source, "dest": dest, "ome_zarr": version, "wells": len(wells),
            "fields": fields, "verified": True, "notes": notes}
