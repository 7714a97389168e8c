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
from .safe_files import MAX_JSON_DEPTH, MAX_METADATA_BYTES, json_depth_exceeds
from .zarr_nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, CorruptMetadataError, ZarrNodeMeta
from .zarr_nodes import _attributes, _dtype_text, _json_type, _sizes


def _join(key: str, name: str) -> str:
    return f"{key}/{name}" if key else name


def parse_json(raw: bytes, name: str) -> Any:
    """A metadata document, parsed under the same caps as a local one."""
    if len(raw) > MAX_METADATA_BYTES:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: larger than {MAX_METADATA_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: {exc.msg} at line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: not UTF-8") from exc
    except (RecursionError, ValueError) as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: {str(exc)[:120]}") from exc
    if json_depth_exceeds(doc, MAX_JSON_DEPTH):
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: nested more than {MAX_JSON_DEPTH} levels deep")
    return doc


def node_from_v3(path: str, doc: Any) -> ZarrNodeMeta:
    if not isinstance(doc, dict) or doc.get("zarr_format") != 3:
        raise CorruptMetadataError("corrupt zarr metadata in zarr.json: not a zarr v3 document")
    node_type = doc.get("node_type")
    attrs = _attributes(doc.get("attributes"), V3_META)
    if node_type == "group":
        return ZarrNodeMeta(path, 3, "group", attrs)
    if node_type != "array":
        raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: node_type {str(node_type)[:80]!r}")
    try:
        shape = _sizes(doc["shape"], "shape", V3_META, minimum=0)
        chunks = _sizes(doc["chunk_grid"]["configuration"]["chunk_shape"], "chunk shape", V3_META, minimum=1)
    except (KeyError, TypeError, AttributeError) as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: bad {str(exc)[:80]}") from exc
    shards = None
    codecs = doc.get("codecs") or []
    for codec in codecs if isinstance(codecs, list) else []:
        if isinstance(codec, dict) and codec.get("name") == "sharding_indexed":
            shards = chunks
            try:
                inner = codec["configuration"]["chunk_shape"]
            except (KeyError, TypeError) as exc:
                raise CorruptMetadataError("corrupt zarr metadata in zarr.json: sharding codec has no chunk_shape") from exc
            chunks = _sizes(inner, "inner chunk shape", V3_META, minimum=1)
    if len(chunks) != len(shape) or (shards is not None and len(shards) != len(shape)):
        raise CorruptMetadataError(
            f"corrupt zarr metadata in zarr.json: chunk shape {list(chunks)} does not match shape {list(shape)}")
    return ZarrNodeMeta(path, 3, "array", attrs, shape, _dtype_text(doc.get("data_type")), chunks, shards)


def node_from_v2(path: str, zarray: Any, zgroup: Any, zattrs: Any) -> ZarrNodeMeta:
    attrs = zattrs if zattrs is not None else {}
    if not isinstance(attrs, dict):
        raise CorruptMetadataError(f"corrupt zarr metadata in .zattrs: {_json_type(attrs)}, not an object")
    if zarray is not None:
        if not isinstance(zarray, dict):
            raise CorruptMetadataError(f"corrupt zarr metadata in .zarray: {_json_type(zarray)}, not an object")
        try:
            shape = _sizes(zarray["shape"], "shape", V2_ARRAY, minimum=0)
            chunks = _sizes(zarray["chunks"], "chunks", V2_ARRAY, minimum=1)
            dtype = _dtype_text(zarray["dtype"]) if isinstance(zarray["dtype"], str) else str(zarray["dtype"])[:200]
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptMetadataError(f"corrupt zarr metadata in .zarray: bad {str(exc)[:80]}") from exc
        if len(chunks) != len(shape):
            raise CorruptMetadataError(
                f"corrupt zarr metadata in .zarray: chunks {list(chunks)} do not match shape {list(shape)}")
        return ZarrNodeMeta(path, 2, "array", attrs, shape, dtype, chunks, None)
    if not isinstance(zgroup, dict):
        raise CorruptMetadataError("corrupt zarr metadata in .zgroup: not an object")
    return ZarrNodeMeta(path, 2, "group", attrs)


async def read_node_async(store: RemoteStore, key: str,
                          cancelled: Callable[[], bool] = lambda: False) -> ZarrNodeMeta | None:
    """The node at ``key`` (relative to the bucket or host); None when it is not a zarr node."""
    path = str(store.url(key))
    raw = await store.get_async(_join(key, V3_META), cancelled)
    if raw is not None:
        return node_from_v3(path, parse_json(raw, V3_META))
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


def read_nodes(store: RemoteStore, keys: Sequence[str],
               cancelled: Callable[[], bool] = lambda: False) -> list[ZarrNodeMeta | None | Exception]:
    """Many nodes at once (concurrent); a node whose metadata is corrupt or unreadable
    gives its exception in its place, so one bad member never hides its siblings."""
    async def all_of() -> list[ZarrNodeMeta | None | Exception]:
        found = await asyncio.gather(*(read_node_async(store, k, cancelled) for k in keys), return_exceptions=True)
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
