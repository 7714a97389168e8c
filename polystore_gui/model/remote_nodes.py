"""Zarr node metadata read from a remote store: ``zarr.json`` (v3), else ``.zarray`` /
``.zgroup`` / ``.zattrs`` (v2), fetched concurrently and cached.

The documents are judged as :mod:`.zarr_nodes` judges local ones (the same limits and
the same sentences for corrupt metadata); the node's ``path`` is its URL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from .remote_store import RemoteStore, _zarr_sync
from . import zarr_nodes
from .zarr_nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, CorruptMetadataError, ZarrNodeMeta


def _join(key: str, name: str) -> str:
    return f"{key}/{name}" if key else name


# A remote metadata document is parsed under the same caps and words as a local one.
parse_json = zarr_nodes.parse_metadata


def node_from_v3(path: str, doc: Any) -> ZarrNodeMeta:
    """A remote ``zarr.json``, judged by the one reader (zarr_nodes: zarr's classes first)."""
    return zarr_nodes.node_from_v3(path, doc)


def node_from_v2(path: str, zarray: Any, zgroup: Any, zattrs: Any) -> ZarrNodeMeta:
    """Remote ``.zarray`` / ``.zgroup`` / ``.zattrs``, judged by the one reader (zarr_nodes)."""
    return zarr_nodes.node_from_v2(path, zarray, zgroup, zattrs)


async def read_node_async(store: RemoteStore, key: str, cancelled: Callable[[], bool] = lambda: False, *,
                          zarr_format: int | None = None) -> ZarrNodeMeta | None:
    """The node at ``key`` (relative to the bucket or host); None when it is not a zarr node.

    ``zarr_format``: the format the node must have when it exists (a member of a v3 group
    is v3): the other format's documents are not asked for (each ask is a round trip)."""
    path = str(store.url(key))
    if zarr_format != 2:
        raw = await store.get_async(_join(key, V3_META), cancelled)
        if raw is not None:
            return node_from_v3(path, parse_json(raw, V3_META))
        if zarr_format == 3:
            return None
    zarray, zgroup, zattrs = await asyncio.gather(
        *(store.get_async(_join(key, name), cancelled) for name in (V2_ARRAY, V2_GROUP, V2_ATTRS)))
    if zarray is None and zgroup is None:
        return None
    return node_from_v2(
        path,
        parse_json(zarray, V2_ARRAY) if zarray is not None else None,
        parse_json(zgroup, V2_GROUP) if zgroup is not None else None,
        parse_json(zattrs, V2_ATTRS) if zattrs is not None else None,
    )


def read_node(store: RemoteStore, key: str, cancelled: Callable[[], bool] = lambda: False) -> ZarrNodeMeta | None:
    return _zarr_sync(read_node_async(store, key, cancelled))


def read_nodes(store: RemoteStore, keys: Sequence[str], cancelled: Callable[[], bool] = lambda: False, *,
               zarr_format: int | None = None) -> list[ZarrNodeMeta | None | Exception]:
    """Many nodes at once (concurrent); a node whose metadata is corrupt or unreadable
    gives its exception in its place, so one bad member never hides its siblings."""
    async def all_of() -> list[ZarrNodeMeta | None | Exception]:
        found = await asyncio.gather(*(read_node_async(store, k, cancelled, zarr_format=zarr_format) for k in keys),
                                     return_exceptions=True)
        out: list[ZarrNodeMeta | None | Exception] = []
        for item in found:
            if isinstance(item, BaseException) and not isinstance(item, Exception):
                raise item
            out.append(item)
        return out

    return _zarr_sync(all_of())


def consolidated_members(store: RemoteStore, key: str, meta: ZarrNodeMeta,
                         cancelled: Callable[[], bool] = lambda: False) -> dict[str, ZarrNodeMeta] | None:
    """The members a group's consolidated metadata names (relative path -> node), or None
    when it has none: v3 ``consolidated_metadata`` in ``zarr.json``, v2 ``.zmetadata``."""
    base = str(store.url(key))
    out: dict[str, ZarrNodeMeta] = {}
    if meta.zarr_format == 3:
        raw = store.get(_join(key, V3_META), cancelled)
        doc = parse_json(raw, V3_META) if raw is not None else None
        consolidated = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
        if not isinstance(consolidated, dict) or not isinstance(consolidated.get("metadata"), dict):
            return None
        for name, member in consolidated["metadata"].items():
            try:
                out[str(name)] = node_from_v3(_join(base, str(name)), member)
            except CorruptMetadataError:
                continue
        return out
    raw = store.get(_join(key, ".zmetadata"), cancelled)
    if raw is None:
        return None
    doc = parse_json(raw, ".zmetadata")
    documents = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(documents, dict):
        return None
    names = {k.rsplit("/", 1)[0] for k in documents if "/" in k and k.rsplit("/", 1)[1] in (V2_ARRAY, V2_GROUP)}
    for name in names:
        try:
            out[name] = node_from_v2(_join(base, name), documents.get(f"{name}/{V2_ARRAY}"),
                                     documents.get(f"{name}/{V2_GROUP}"), documents.get(f"{name}/{V2_ATTRS}"))
        except CorruptMetadataError:
            continue
    return out


def prime_from_consolidated(store: RemoteStore, key: str, meta: ZarrNodeMeta,
                            cancelled: Callable[[], bool] = lambda: False) -> dict[str, ZarrNodeMeta] | None:
    """The members a v3 group's own ``zarr.json`` names in its consolidated metadata, each
    member's document also put in the store's cache as its ``zarr.json`` (where not cached
    already): reading a member's metadata, or zarr opening it, then costs no request.

    None when the group has no consolidated metadata (or is v2: ``.zmetadata`` would be one
    more request, as dear as the members' own documents). The group's ``zarr.json`` was read
    to make ``meta``, so this asks the server nothing (the cache answers)."""
    if meta.zarr_format != 3:
        return None
    raw = store.get(_join(key, V3_META), cancelled)
    doc = parse_json(raw, V3_META) if raw is not None else None
    consolidated = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
    documents = consolidated.get("metadata") if isinstance(consolidated, dict) else None
    if not isinstance(documents, dict):
        return None
    base = str(store.url(key))
    out: dict[str, ZarrNodeMeta] = {}
    for name, member in documents.items():
        try:
            out[str(name)] = node_from_v3(_join(base, str(name)), member)
        except CorruptMetadataError:
            continue
        if any(part in ("", ".", "..") for part in str(name).split("/")):
            continue  # a name that is no plain member path primes nothing (its own key is asked)
        member_key = _join(_join(key, str(name)), V3_META)
        if store.cache.get(member_key) is None:
            store.cache.put(member_key, json.dumps(member).encode())
    return out
