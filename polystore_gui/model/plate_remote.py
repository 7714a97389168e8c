"""OME-Zarr HCS plates on S3 or HTTP(S): the same reader as for local plates, reading the
remote store's metadata documents (the plate's, then every well's at once, concurrently).

Registered with :func:`~.backends.plate.register_plate_reader` for the zarr backends'
URL paths, so ``plate ADDRESS``, ``info`` and the plate view recognise a remote plate as
they do a local one. Fields are not opened to check their presence (a request each): a
well's listed field that is missing says so when it is opened.
"""

from __future__ import annotations

from typing import Any

from .plate_read import PlateNodes, _read_well, read_zarr_plate
from .plate_summary import PlateSummary, WellSummary
from .zarr_nodes import ZarrNodeMeta, ome_attributes


def _join(base: str, name: str) -> str:
    from .remote_address import parse_url

    url = parse_url(base)
    for part in name.strip("/").split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"a plate member path leads outside the plate: {name!r}")
        url = url.child(part)
    return str(url)


def _read_many(paths: list[str]) -> list[ZarrNodeMeta | None | Exception]:
    from .remote_nodes import read_nodes
    from .remote_zarr import _cancelled, locate

    if not paths:
        return []
    store, _, _ = locate(paths[0])
    keys = [locate(p)[1] for p in paths]
    return read_nodes(store, keys, _cancelled())


REMOTE_NODES = PlateNodes(_join, lambda _path: True, _read_many, lambda _path: None)


def remote_plate_at(backend: str, path: str, check_fields: bool) -> PlateSummary | None:
    """The OME-Zarr HCS plate at the URL ``path``; None when it is no plate (or not a URL).
    RemoteError for a store that cannot be read (the caller says why)."""
    from .remote_address import is_remote_path
    from .remote_zarr import node

    if not is_remote_path(path):
        return None
    meta = node(path)
    if meta is None or meta.node_type != "group" or "plate" not in ome_attributes(meta.attributes):
        return None
    return read_zarr_plate(path, meta, backend=backend, check_fields=False, nodes=REMOTE_NODES)


def remote_well_at(backend: str, path: str) -> tuple[PlateSummary | None, WellSummary] | None:
    """The OME-Zarr well at the URL ``path`` and the plate two levels above it (as for a
    local well); None when it is no well. A well whose plate cannot be read (or does not
    list it) is still summarised from its own metadata, with no plate."""
    from .remote_address import is_remote_path, parse_url
    from .remote_zarr import node

    if not is_remote_path(path):
        return None
    meta = node(path)
    if meta is None or meta.node_type != "group" or "well" not in ome_attributes(meta.attributes):
        return None
    url = parse_url(path)
    row_url = url.parent()
    root = row_url.parent() if row_url is not None else None
    plate = remote_plate_at(backend, str(root), False) if root is not None else None
    if plate is not None and root is not None:
        relative = url.relative_to(root)
        found = next((w for w in plate.wells if w.path.strip("/") == relative), None)
        if found is not None:
            return plate, found
    row, column = (row_url.name if row_url is not None else ""), url.name
    well, _ = _read_well(path, f"{row}/{column}", row, column, (0, 0), plate_mtime=None, found=(meta,),
                         nodes=REMOTE_NODES)
    return plate, well


def remote_plate_version(path: str, version: str | None) -> str | None:
    """What the remote says of the plate's metadata object (its ETag, Last-Modified and
    size, from one HEAD request): the thumbnail cache's key for the plate at the URL
    ``path``, so that a plate written again is read again. None when the remote says
    neither an ETag nor a time, or cannot be asked (then nothing is cached)."""
    import obstore as obs

    from .remote_store import _zarr_sync
    from .remote_zarr import locate

    try:
        store, key, _ = locate(path)
    except Exception:  # not a URL this machine can reach: nothing to key a cache on
        return None
    names = ("zarr.json", ".zattrs") if version == "0.5" else (".zattrs", "zarr.json")  # v2 keeps attributes apart
    async def head(name: str) -> Any:
        return await obs.head_async(store.client, f"{key}/{name}" if key else name)

    for name in names:
        try:
            meta = _zarr_sync(head(name))
        except FileNotFoundError:
            continue
        except Exception as exc:  # obstore's NotFoundError, or the remote cannot be asked
            if type(exc).__name__ == "NotFoundError":
                continue
            return None
        tag, modified = meta.get("e_tag"), meta.get("last_modified")
        if not tag and modified is None:
            return None
        return f"{name} {tag or ''} {modified.isoformat() if modified is not None else ''} {meta.get('size')}"
    return None
