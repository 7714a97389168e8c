"""Zarr hierarchy facts read straight from node metadata, without opening chunk data:
the one reader of zarr metadata documents (local ``read_node``; remote stores and
consolidated metadata hand their documents to ``node_from_v3`` / ``node_from_v2``).

Reading a node's ``zarr.json`` (v3) or ``.zarray``/``.zgroup``/``.zattrs`` (v2) is one or
two small file reads, so the tree can show shape and dtype for every member of a group
cheaply, and one corrupt member never hides its siblings (zarr's own ``members()``
fails for the whole group).

A document is judged by zarr-python's own metadata classes first (``ArrayV3Metadata``,
``ArrayV2Metadata``, ``GroupMetadata`` ``.from_dict``): what zarr accepts is what zarr
can open, and its parsed metadata rides along in ``ZarrNodeMeta.metadata``. Where zarr
raises — a codec or data type that is not installed, metadata zarr cannot parse — the
document is read by hand instead, so the node is still listed with its shape and dtype,
or its fault is said in a sentence (CorruptMetadataError). Our own limits (sizes below
2**63, chunk shapes matching the shape) hold either way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .safe_files import (
    MAX_JSON_DEPTH, MAX_METADATA_BYTES, FileTooLargeError, NotRegularFileError, json_depth_exceeds, read_capped,
)

V3_META = "zarr.json"
V2_ARRAY = ".zarray"
V2_GROUP = ".zgroup"
V2_ATTRS = ".zattrs"
MARKERS = (V3_META, V2_GROUP, V2_ARRAY)
#: every zarr metadata document's name (consolidated v2 metadata included): never a chunk
METADATA_NAMES = frozenset({V3_META, V2_ARRAY, V2_GROUP, V2_ATTRS, ".zmetadata"})
POLYSTORE_FILENAME_MAP = "polystore_filename_map"  # polystore.zarr_batch.ATTR_FILENAME_MAP


class CorruptMetadataError(ValueError):
    """A directory has zarr metadata that cannot be read or understood."""


@dataclass(frozen=True, slots=True)
class ZarrNodeMeta:
    """What one zarr node's metadata says."""

    path: str
    zarr_format: int
    node_type: str  # "array" or "group"
    attributes: dict[str, Any]
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    chunks: tuple[int, ...] | None = None
    shards: tuple[int, ...] | None = None
    metadata_mtime: float | None = None
    # zarr's parsed metadata (ArrayV3Metadata, ArrayV2Metadata, GroupMetadata; attributes
    # left out), or None when zarr could not parse the document and it was read by hand.
    metadata: Any = field(default=None, compare=False, repr=False)

    @property
    def is_ome(self) -> bool:
        """An OME-NGFF image (0.4: ``multiscales`` at top level; 0.5: under ``ome``)."""
        ome = self.attributes.get("ome")
        return "multiscales" in self.attributes or (isinstance(ome, dict) and "multiscales" in ome)

    @property
    def is_ome_container(self) -> bool:
        """An OME-NGFF node of any sort (image, plate, well, labels, bioformats2raw)."""
        attrs = self.attributes
        ome = attrs.get("ome", {}) if isinstance(attrs.get("ome"), dict) else {}
        keys = ("multiscales", "plate", "well", "labels", "bioformats2raw.layout")
        return any(k in attrs or k in ome for k in keys)

    @property
    def is_ome_plate_or_well(self) -> bool:
        """An OME-NGFF plate or well (0.4: top-level key; 0.5: under ``ome``): what the
        plate view shows instead of the group's member counts."""
        attrs = self.attributes
        ome = attrs.get("ome", {}) if isinstance(attrs.get("ome"), dict) else {}
        return any(isinstance(attrs.get(k), dict) or isinstance(ome.get(k), dict) for k in ("plate", "well"))

    @property
    def filename_map(self) -> dict[str, tuple[int, ...]] | None:
        """polystore's virtual files held by this array: file name -> leading-axis coordinates.

        polystore's zarr ``save_batch`` writes one array per field of view and records
        which plane each saved "file" became (attribute ``polystore_filename_map``).
        """
        mapping = self.attributes.get(POLYSTORE_FILENAME_MAP)
        if self.node_type != "array" or not isinstance(mapping, dict):
            return None
        try:
            found = {str(k): tuple(int(i) for i in v) for k, v in mapping.items()}
        except (TypeError, ValueError, OverflowError):
            return None
        # A name is a file directly under the store: never a path that leads elsewhere.
        return {k: v for k, v in found.items() if k not in ("", ".", "..") and "/" not in k and "\0" not in k}

    @property
    def nbytes(self) -> int | None:
        if self.shape is None or self.dtype is None:
            return None
        try:
            import numpy as np

            itemsize = int(np.dtype(self.dtype).itemsize)
        except Exception:  # not a dtype numpy knows (TypeError, ValueError, ...)
            return None
        n = 1
        for s in self.shape:
            n *= s
        return n * itemsize


def has_zarr_marker(directory: str) -> bool:
    """True when ``directory`` holds zarr metadata (it is a zarr group or array)."""
    return any(os.path.isfile(os.path.join(directory, m)) for m in MARKERS)


def _load_json(path: str) -> Any:
    """A metadata document, parsed. Raises CorruptMetadataError for anything but sane JSON
    (a FIFO, device or folder where the file should be, more than 64 MiB, nesting deeper
    than 200 levels, numbers Python refuses to convert), OSError for I/O failures."""
    name = os.path.basename(path)
    try:
        raw = read_capped(path, MAX_METADATA_BYTES)
    except (NotRegularFileError, FileTooLargeError) as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: {exc.strerror}") from exc
    return parse_metadata(raw, name)


def parse_metadata(raw: bytes, name: str) -> Any:
    """The metadata document ``name`` from its bytes, under the caps every store shares (a
    local file's, read by ``_load_json``, or a remote object's, read by remote_nodes).
    Raises CorruptMetadataError for anything but sane JSON."""
    if len(raw) > MAX_METADATA_BYTES:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: larger than {MAX_METADATA_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: {exc.msg} at line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: not UTF-8") from exc
    except RecursionError as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: {str(exc)[:200]}") from exc
    if json_depth_exceeds(doc, MAX_JSON_DEPTH):
        raise CorruptMetadataError(f"corrupt zarr metadata in {name}: nested more than {MAX_JSON_DEPTH} levels deep")
    return doc


def ome_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """Where a group's OME-NGFF metadata sits: under ``ome`` (0.5), else at the top (0.4)."""
    ome = attrs.get("ome")
    return ome if isinstance(ome, dict) else attrs


def ome_member_path(group_path: str, relative: Any) -> str:
    """``relative`` (an OME-NGFF dataset path from the metadata) under the group; never
    outside it (CorruptMetadataError for an absolute path, ``..``, an empty part or a NUL)."""
    text = str(relative)
    if not text or text.startswith("/") or any(p in ("", ".", "..") for p in text.split("/")) or "\0" in text:
        raise CorruptMetadataError(f"malformed OME-NGFF metadata: dataset path {text[:80]!r} is not a member path")
    return os.path.join(group_path, text)


def _attributes(value: Any, where: str) -> dict[str, Any]:
    """The ``attributes`` of a node: an object (absent means none); anything else is corrupt."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CorruptMetadataError(
            f"corrupt zarr metadata in {where}: attributes is {_json_type(value)}, not an object"
        )
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _sizes(value: Any, what: str, where: str, *, minimum: int) -> tuple[int, ...]:
    """A shape (``minimum`` 0) or chunk shape (``minimum`` 1): a list of whole numbers."""
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: {what} is not a list of whole numbers")
    if any(v < minimum for v in value):
        limit = "negative" if minimum == 0 else "below 1"
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: {what} {value} has a size {limit}")
    if any(v >= 2**63 for v in value):
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: {what} {value} has a size above 2**63")
    return tuple(value)


def _dtype_text(data_type: Any) -> str:
    if isinstance(data_type, str):
        try:
            import numpy as np

            return str(np.dtype(data_type))
        except Exception:  # numpy raises TypeError, ValueError and others for odd text
            return data_type[:200]
    if isinstance(data_type, dict):
        return str(data_type.get("name", data_type))[:200]
    return str(data_type)[:200]


def _for_zarr(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` for zarr's ``from_dict`` (a shallow copy: zarr copies what it changes; a deep
    copy cost a fifth of the parse), without the attributes (kept as read, however large)
    or a consolidated listing (each member is judged when it is opened)."""
    out = {k: v for k, v in doc.items() if k not in ("attributes", "consolidated_metadata")}
    out["attributes"] = {}
    return out


def _zarr_parsed(kind: str, doc: dict[str, Any]) -> Any:
    """zarr's metadata object for ``doc`` (``kind``: "v3", "v2" or "group"); None where zarr
    raises (a codec or data type not installed, a document it cannot parse)."""
    try:
        if kind == "group":
            from zarr.core.group import GroupMetadata

            return GroupMetadata.from_dict(_for_zarr(doc))
        if kind == "v3":
            from zarr.core.metadata.v3 import ArrayV3Metadata

            return ArrayV3Metadata.from_dict(_for_zarr(doc))
        from zarr.core.metadata.v2 import ArrayV2Metadata

        return ArrayV2Metadata.from_dict(_for_zarr(doc))
    except Exception:  # zarr raises many kinds for hostile input; the hand reader says why
        return None


def _native_dtype_text(parsed: Any, raw: Any) -> str:
    """The dtype zarr parsed, as numpy spells it; the document's own name for data types
    numpy has no plain spelling of (variable-length strings, objects)."""
    try:
        native = parsed.dtype.to_native_dtype()
        if getattr(native, "kind", "") in "biufcmMSUV":
            return str(native)
    except Exception:  # a data type zarr knows but cannot turn into numpy's
        pass
    return _dtype_text(raw)


def key_encoding_fields(doc: dict[str, Any], zarr_format: int) -> tuple[str, str]:
    """(name, separator) of an array document's chunk key encoding, held to zarr's rules
    (``default`` or ``v2``; separator '.' or '/': anything else would build keys that lead
    out of the array's folder) without importing zarr — the chunk scan reads a layout in
    processes where zarr's import would cost more than the scan. CorruptMetadataError
    otherwise. ``chunk_key_encoding`` gives zarr's own object."""
    where = V3_META if zarr_format == 3 else V2_ARRAY
    name: Any
    separator: Any
    if zarr_format == 2:
        name, separator = "v2", doc.get("dimension_separator") or "."
    else:
        found = doc.get("chunk_key_encoding")
        found = {"name": "default"} if found is None else ({"name": found} if isinstance(found, str) else found)
        if not isinstance(found, dict):
            raise CorruptMetadataError(f"corrupt zarr metadata in {where}: chunk_key_encoding is {_json_type(found)}")
        name = found.get("name")
        config = found.get("configuration")
        config = config if isinstance(config, dict) else {}
        separator = config.get("separator", found.get("separator", "/" if name == "default" else "."))
    if name not in ("default", "v2"):
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: chunk key encoding {str(name)[:40]!r} is not "
                                   "'default' or 'v2'")
    if separator not in (".", "/"):
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: chunk key separator {str(separator)[:40]!r} "
                                   "is not '.' or '/'")
    return str(name), str(separator)


def chunk_key_encoding(doc: dict[str, Any], zarr_format: int) -> Any:
    """zarr's own chunk key encoding for an array document (``DefaultChunkKeyEncoding`` or
    ``V2ChunkKeyEncoding``); CorruptMetadataError for one zarr refuses (a separator other
    than '.' or '/', which would build keys that lead out of the array's folder)."""
    from zarr.core.chunk_key_encodings import V2ChunkKeyEncoding, parse_chunk_key_encoding

    where = V3_META if zarr_format == 3 else V2_ARRAY
    try:
        if zarr_format == 2:
            return V2ChunkKeyEncoding(separator=doc.get("dimension_separator") or ".")
        found = doc.get("chunk_key_encoding")
        return parse_chunk_key_encoding(found if found is not None else {"name": "default"})
    except Exception as exc:  # ValueError, TypeError, KeyError for hostile forms
        raise CorruptMetadataError(f"corrupt zarr metadata in {where}: chunk key separator or encoding: "
                                   f"{str(exc)[:120]}") from exc


def _check_grid(shape: tuple[int, ...], chunks: tuple[int, ...], shards: tuple[int, ...] | None, where: str) -> None:
    if len(chunks) != len(shape) or (shards is not None and len(shards) != len(shape)):
        raise CorruptMetadataError(
            f"corrupt zarr metadata in {where}: chunk shape {list(chunks)} does not match shape {list(shape)}"
        )


def node_from_v3(path: str, doc: Any, *, mtime: float | None = None, parse_with_zarr: bool = True) -> ZarrNodeMeta:
    """The node a ``zarr.json`` document describes (``path``: its folder, or URL).

    ``parse_with_zarr`` False: our limits only, no zarr parsing (``metadata`` None) — for
    the thousands of members of a consolidated listing, where zarr's parse of each would
    cost tens of microseconds; a node is judged by zarr when it is opened on its own."""
    if not isinstance(doc, dict) or doc.get("zarr_format") != 3:
        raise CorruptMetadataError("corrupt zarr metadata in zarr.json: not a zarr v3 document")
    node_type = doc.get("node_type")
    attrs = _attributes(doc.get("attributes"), V3_META)
    if node_type == "group":
        parsed_group = _zarr_parsed("group", doc) if parse_with_zarr else None
        return ZarrNodeMeta(path, 3, "group", attrs, metadata_mtime=mtime, metadata=parsed_group)
    if node_type != "array":
        raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: node_type {str(node_type)[:80]!r}")
    # Our limits first (whole numbers, not booleans; below 2**63; matching lengths): zarr
    # accepts some of what they refuse. Then zarr's reading, where it can read it.
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
    _check_grid(shape, chunks, shards, V3_META)
    dtype = _dtype_text(doc.get("data_type"))
    if not parse_with_zarr:
        return ZarrNodeMeta(path, 3, "array", attrs, shape, dtype, chunks, shards, mtime)
    chunk_key_encoding(doc, 3)
    parsed = _zarr_parsed("v3", doc)
    if parsed is not None:
        from zarr.codecs import ShardingCodec

        shape = _sizes(list(parsed.shape), "shape", V3_META, minimum=0)
        chunks = shards_or_chunks = _sizes(list(parsed.chunk_grid.chunk_shape), "chunk shape", V3_META, minimum=1)
        shards = None
        if parsed.codecs and isinstance(parsed.codecs[0], ShardingCodec):
            shards = shards_or_chunks
            chunks = _sizes(list(parsed.codecs[0].chunk_shape), "inner chunk shape", V3_META, minimum=1)
        _check_grid(shape, chunks, shards, V3_META)
        dtype = _native_dtype_text(parsed, doc.get("data_type"))
    return ZarrNodeMeta(path, 3, "array", attrs, shape, dtype, chunks, shards, mtime, parsed)


def node_from_v2(path: str, zarray: Any, zgroup: Any, zattrs: Any, *, mtime: float | None = None,
                 parse_with_zarr: bool = True) -> ZarrNodeMeta:
    """The node that ``.zarray`` or ``.zgroup`` (with ``.zattrs``) describe (None for a
    document that is absent); ``parse_with_zarr`` as for ``node_from_v3``."""
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
                f"corrupt zarr metadata in .zarray: chunks {list(chunks)} do not match shape {list(shape)}"
            )
        if not parse_with_zarr:
            return ZarrNodeMeta(path, 2, "array", attrs, shape, dtype, chunks, None, mtime)
        chunk_key_encoding(zarray, 2)
        parsed = _zarr_parsed("v2", zarray)
        if parsed is not None:
            shape = _sizes(list(parsed.shape), "shape", V2_ARRAY, minimum=0)
            chunks = _sizes(list(parsed.chunks), "chunks", V2_ARRAY, minimum=1)
            dtype = _native_dtype_text(parsed, zarray.get("dtype"))
        return ZarrNodeMeta(path, 2, "array", attrs, shape, dtype, chunks, None, mtime, parsed)
    if not isinstance(zgroup, dict):
        raise CorruptMetadataError("corrupt zarr metadata in .zgroup: not an object")
    return ZarrNodeMeta(path, 2, "group", attrs, metadata_mtime=mtime,
                        metadata=_zarr_parsed("group", {"zarr_format": 2}) if parse_with_zarr else None)


def read_node(directory: str) -> ZarrNodeMeta | None:
    """The metadata of the zarr node at ``directory``; None when it is not a zarr node.

    Raises CorruptMetadataError for metadata that is present but unreadable, and OSError
    for I/O failures (permission denied, vanished).
    """
    v3 = os.path.join(directory, V3_META)
    if os.path.isfile(v3):
        doc = _load_json(v3)
        return node_from_v3(directory, doc, mtime=os.stat(v3).st_mtime)
    zarray = os.path.join(directory, V2_ARRAY)
    zgroup = os.path.join(directory, V2_GROUP)
    if not (os.path.isfile(zarray) or os.path.isfile(zgroup)):
        return None
    attrs_path = os.path.join(directory, V2_ATTRS)
    attrs = _load_json(attrs_path) if os.path.isfile(attrs_path) else {}
    if not isinstance(attrs, dict):
        raise CorruptMetadataError(f"corrupt zarr metadata in .zattrs: {_json_type(attrs)}, not an object")
    if os.path.isfile(zarray):
        return node_from_v2(directory, _load_json(zarray), None, attrs, mtime=os.stat(zarray).st_mtime)
    return node_from_v2(directory, None, _load_json(zgroup), attrs, mtime=os.stat(zgroup).st_mtime)


def store_root(path: str) -> str | None:
    """The outermost directory at or above ``path`` that is a zarr node, or None."""
    root = None
    current = os.path.abspath(path)
    while True:
        if os.path.isdir(current) and has_zarr_marker(current):
            root = current
        elif root is not None:
            return root
        parent = os.path.dirname(current)
        if parent == current:
            return root
        current = parent


@dataclass(frozen=True, slots=True)
class VirtualFile:
    """Where one of polystore's virtual files lives: an array and a plane in it."""

    path: str
    array: ZarrNodeMeta
    coordinates: tuple[int, ...]


def find_virtual_file(path: str, *, max_depth: int = 6) -> VirtualFile | None:
    """Resolve ``<store>/<name>`` the way polystore's zarr load does, from metadata only.

    polystore addresses a batch-written plane by a file name directly under the store
    folder; the array holding it says so in its filename map. None when no array does.
    """
    root = os.path.dirname(path)
    name = os.path.basename(path)
    if not has_zarr_marker(root):
        return None
    pending = [(root, 0)]
    while pending:
        directory, depth = pending.pop(0)
        try:
            meta = read_node(directory)
        except (CorruptMetadataError, OSError):
            continue
        if meta is None:
            continue
        if meta.node_type == "array":
            mapping = meta.filename_map
            if mapping and name in mapping:
                return VirtualFile(path, meta, mapping[name])
            continue
        if depth >= max_depth:
            continue
        try:
            with os.scandir(directory) as it:
                children = sorted(e.path for e in it if e.is_dir())
        except OSError:
            continue
        pending.extend((child, depth + 1) for child in children)
    return None
