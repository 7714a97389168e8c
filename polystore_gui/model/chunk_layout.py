"""The chunk layout of a zarr array, read from its metadata document alone.

No zarr array is opened here: a store whose codec is not installed still has a layout,
and a shard's index is decoded straight from the file's bytes (zarr's own codec pipeline
is used only for index encodings other than zarr's default, bytes + crc32c).
"""

from __future__ import annotations

import functools
import json
import math
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .remote_address import is_remote_path
from .safe_files import open_regular
from .codec_text import codec_text
from .ome_meta import level0_path
from .zarr_nodes import V2_ARRAY, V3_META, CorruptMetadataError, ZarrNodeMeta, _load_json, _sizes, key_encoding_fields, ome_member_path

MAX_UINT_64 = 2**64 - 1


class ChunkLayoutError(ValueError):
    """The path is not a zarr array this inspector can read the layout of."""


@dataclass(frozen=True, slots=True)
class ShardIndexFormat:
    """Where a shard keeps its index of inner chunks, and how it is encoded."""

    location: str  # "start" or "end"
    nbytes: int
    endian: str  # "<" or ">"
    checksum: bool  # a trailing crc32c
    codecs: tuple[Any, ...]  # the metadata's index_codecs (for exotic encodings)


@dataclass(frozen=True)
class ChunkLayout:
    """The chunking of one zarr array, read from its metadata document."""

    path: str
    zarr_format: int
    shape: tuple[int, ...]
    dtype: str
    itemsize: int | None
    fill_value: Any
    chunks: tuple[int, ...]  # the unit of reading (inner chunks when sharded)
    shards: tuple[int, ...] | None
    separator: str
    prefix: str  # "c" for zarr v3's default key encoding
    pipeline: tuple[str, ...]  # the codecs, outermost first, as text
    codec_names: tuple[str, ...]  # every codec name the pipeline needs (for "is it installed?")
    index: ShardIndexFormat | None = None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    key_encoding: Any = field(default=None, repr=False, compare=False)  # zarr's ChunkKeyEncoding, made on first use

    # -- grids ----------------------------------------------------------------------------

    @property
    def grid(self) -> tuple[int, ...]:
        """Chunks per axis (inner chunks when sharded): zarr's ``cdata_shape``."""
        return tuple(-(-s // c) for s, c in zip(self.shape, self.chunks))

    @property
    def object_shape(self) -> tuple[int, ...]:
        """The shape one stored object covers: a shard, or a chunk when unsharded."""
        return self.shards or self.chunks

    @property
    def object_grid(self) -> tuple[int, ...]:
        return tuple(-(-s // c) for s, c in zip(self.shape, self.object_shape))

    @property
    def per_shard(self) -> tuple[int, ...]:
        """Inner chunks per shard along each axis (all ones when unsharded)."""
        if self.shards is None:
            return (1,) * len(self.shape)
        return tuple(s // c for s, c in zip(self.shards, self.chunks))

    @property
    def nchunks(self) -> int:
        return math.prod(self.grid)

    @property
    def nshards(self) -> int | None:
        return math.prod(self.object_grid) if self.shards is not None else None

    @property
    def nobjects(self) -> int:
        return math.prod(self.object_grid)

    @property
    def chunk_nbytes(self) -> int | None:
        """Decoded bytes of one chunk (zarr stores edge chunks at full size too)."""
        return None if self.itemsize is None else math.prod(self.chunks) * self.itemsize

    # -- keys -----------------------------------------------------------------------------

    def key(self, object_index: Sequence[int]) -> str:
        """The storage key of the object (shard or chunk) at ``object_index``, as zarr's own
        chunk key encoding spells it. (The scan's numpy fast path builds the same keys from
        ``prefix`` and ``separator``, which are read off that encoding.)"""
        encoding = self.key_encoding
        if encoding is None:  # made here, not in read_layout: zarr's import costs more than a scan
            from zarr.core.chunk_key_encodings import parse_chunk_key_encoding

            encoding = parse_chunk_key_encoding(
                {"name": "default" if self.prefix else "v2", "configuration": {"separator": self.separator}})
            object.__setattr__(self, "key_encoding", encoding)
        return str(encoding.encode_chunk_key(tuple(int(i) for i in object_index)))

    def object_of(self, chunk_index: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(object index, index inside the shard) of a chunk; the second is () unsharded."""
        if self.shards is None:
            return tuple(int(i) for i in chunk_index), ()
        per = self.per_shard
        return (tuple(int(i) // p for i, p in zip(chunk_index, per)),
                tuple(int(i) % p for i, p in zip(chunk_index, per)))

    def region(self, chunk_index: Sequence[int]) -> tuple[slice, ...]:
        """The part of the array a chunk covers (clipped at the array's edge)."""
        return tuple(slice(int(i) * c, min((int(i) + 1) * c, s))
                     for i, c, s in zip(chunk_index, self.chunks, self.shape))

    def missing_codecs(self) -> list[str]:
        """Codecs the pipeline names that this Python cannot decode."""
        return [name for name in self.codec_names if not _codec_installed(name, self.zarr_format)]


# -- reading the layout -------------------------------------------------------------------------

def chunk_inspectable(backend: str, path: str = "") -> bool:
    """Whether ``backend:path``'s zarr arrays can be scanned chunk by chunk here: its
    adapter says ``chunk_inspectable`` and its paths are this machine's files (this module
    reads them with ``os``; a remote store's chunks are not scanned by it)."""
    from .backends import adapter_for

    capabilities = adapter_for(backend, path).capabilities
    # A remote store's map comes from its listing (remote_chunks); over HTTP it says why not.
    return capabilities.chunk_inspectable and (capabilities.local or capabilities.remote)


def prepare() -> None:
    """Import ahead what the first inspection imports (the inspector runs this in a worker
    when it is built): polystore-gui's backend adapters (``chunk_inspectable``), zarr's chunk
    key encodings (``zarr_nodes.read_node``) and its codec registry (``missing_codecs``).
    In a fresh process that is 0.3 s on a quiet machine and 1.5 s on a busy one, and it
    delayed the first results on screen by as much (issue 15's check: 0.25 -> 0.38 s)."""
    import zarr.core.chunk_key_encodings  # noqa: F401

    chunk_inspectable("disk")
    _codec_installed("bytes", 3)


def resolve_array(backend: str, path: str) -> tuple[str, str | None]:
    """The directory of the zarr array that ``backend:path`` means, and a note on the choice.

    An OME-NGFF image means its full-resolution level; a polystore virtual file means the
    array that holds it. Raises ChunkLayoutError for anything else.
    """
    from .zarr_nodes import find_virtual_file, read_node

    if not chunk_inspectable(backend, path):
        raise ChunkLayoutError(f"chunks are inspected on zarr arrays on disk (this machine's files), not on {backend!r}")
    if is_remote_path(path):
        from .remote_chunks import resolve_remote_array

        return resolve_remote_array(path)
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        virtual = find_virtual_file(path) if not os.path.exists(path) else None
        if virtual is not None:
            return virtual.array.path, f"{os.path.basename(path)} is plane {list(virtual.coordinates)} of this array"
        raise ChunkLayoutError(f"{path} is not a zarr array" if os.path.exists(path) else f"{path} does not exist")
    return array_of_node(path, read_node(path))


def array_of_node(path: str, meta: ZarrNodeMeta | None) -> tuple[str, str | None]:
    """The array that the zarr node at ``path`` (its metadata ``meta``, None when there is
    none) means, and a note: an OME-NGFF image means its full-resolution level. Shared by
    local and remote stores (remote_chunks), so both refuse with the same words."""
    if meta is None:
        raise ChunkLayoutError(f"{path} is not a zarr array (no zarr.json or .zarray)")
    if meta.node_type == "group":
        first = level0_path(meta.attributes)
        if first is None:
            raise ChunkLayoutError(f"{path} is a zarr group, not an array: choose one of its arrays")
        return ome_member_path(path, first), f"full-resolution level {str(first)!r} of this OME-NGFF image"
    return path, None



def read_layout(path: str) -> ChunkLayout:
    """The chunk layout of the zarr array at directory ``path``.

    Raises ChunkLayoutError when ``path`` is not a zarr array (a group, nothing, or a
    grid this inspector does not know), CorruptMetadataError for unreadable metadata,
    and OSError for I/O failures.
    """
    if is_remote_path(path):
        from .remote_chunks import remote_layout

        return remote_layout(path)
    v3 = os.path.join(path, V3_META)
    if os.path.isfile(v3):
        return _layout_v3(path, _load_json(v3))
    v2 = os.path.join(path, V2_ARRAY)
    if os.path.isfile(v2):
        return _layout_v2(path, _load_json(v2))
    raise ChunkLayoutError(f"{path} is not a zarr array (no zarr.json or .zarray)")


def _itemsize(dtype: Any) -> int | None:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return None
    return None if dt.hasobject else int(dt.itemsize)


_codec_text = codec_text


def _layout_v3(path: str, doc: Any) -> ChunkLayout:
    if not isinstance(doc, dict) or doc.get("zarr_format") != 3:
        raise CorruptMetadataError("corrupt zarr metadata in zarr.json: not a zarr v3 document")
    if doc.get("node_type") != "array":
        raise ChunkLayoutError(f"{path} is a zarr group, not an array: choose one of its arrays")
    try:
        shape = _sizes(doc["shape"], "shape", V3_META, minimum=0)
        grid_doc = doc["chunk_grid"]
        if grid_doc.get("name") != "regular":
            raise ChunkLayoutError(f"chunk grid {str(grid_doc.get('name'))[:80]!r} is not supported (only 'regular')")
        outer = _sizes(grid_doc["configuration"]["chunk_shape"], "chunk shape", V3_META, minimum=1)
        codecs = list(doc.get("codecs") or [])
        data_type = doc.get("data_type")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: bad {exc}") from exc
    chunks, shards, index = outer, None, None
    pipeline: list[str] = []
    names: list[str] = []
    for codec in codecs:
        if isinstance(codec, dict) and codec.get("name") == "sharding_indexed" and shards is None:
            config = codec.get("configuration") or {}
            try:
                inner = _sizes(config["chunk_shape"], "inner chunk shape", V3_META, minimum=1)
            except (KeyError, TypeError) as exc:
                raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: sharding codec: bad {exc}") from exc
            if len(inner) != len(outer) or any(o % i for o, i in zip(outer, inner)):
                raise CorruptMetadataError(f"corrupt zarr metadata: shard shape {outer} is not a multiple of chunk shape {inner}")
            shards, chunks = outer, inner
            for field in ("index_codecs", "codecs"):
                listed = config.get(field)
                if listed is not None and not (isinstance(listed, list)
                                               and all(isinstance(c, dict) and isinstance(c.get("configuration") or {}, dict)
                                                       for c in listed)):
                    raise CorruptMetadataError(f"corrupt zarr metadata in zarr.json: sharding codec: {field} is not "
                                               "a list of codecs")
            index = _index_format(config, math.prod(s // c for s, c in zip(outer, inner)))
            where = config.get("index_location", "end")
            index_text = ", ".join(_codec_text(c) for c in config.get("index_codecs") or [])
            pipeline.append(f"sharding_indexed(index at {where}: {index_text})")
            names.append("sharding_indexed")
            for inner_codec in config.get("codecs") or []:
                pipeline.append(_codec_text(inner_codec))
                if isinstance(inner_codec, dict):
                    names.append(str(inner_codec.get("name")))
            continue
        pipeline.append(_codec_text(codec))
        if isinstance(codec, dict):
            names.append(str(codec.get("name")))
    if len(chunks) != len(shape):
        raise CorruptMetadataError(f"corrupt zarr metadata: chunk shape {chunks} does not match shape {shape}")
    name, separator = key_encoding_fields(doc, 3)
    prefix = "c" if name == "default" else ""
    if isinstance(data_type, dict):
        dtype = str(data_type.get("name", data_type))
    else:
        dtype = str(data_type)
    return ChunkLayout(path, 3, shape, dtype, _itemsize(data_type) if isinstance(data_type, str) else None,
                       doc.get("fill_value"), chunks, shards, separator, prefix, tuple(pipeline),
                       tuple(dict.fromkeys(names)), index, doc)


def _index_format(config: dict[str, Any], n: int) -> ShardIndexFormat:
    codecs = tuple(config.get("index_codecs") or [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}])
    location = str(config.get("index_location", "end"))
    names = [c.get("name") if isinstance(c, dict) else c for c in codecs]
    endian = "<"
    if names and names[0] == "bytes":
        endian = ">" if ((codecs[0].get("configuration") or {}).get("endian") == "big") else "<"
    checksum = names[1:] == ["crc32c"]
    simple = names[:1] == ["bytes"] and (len(names) == 1 or checksum)
    nbytes = 16 * n + (4 if checksum else 0)
    if not simple:
        nbytes = -1  # computed by zarr's own codec pipeline when first needed
    return ShardIndexFormat(location, nbytes, endian, checksum, codecs)


def _layout_v2(path: str, doc: Any) -> ChunkLayout:
    if not isinstance(doc, dict):
        raise CorruptMetadataError("corrupt zarr metadata in .zarray: not an object")
    try:
        shape = _sizes(doc["shape"], "shape", V2_ARRAY, minimum=0)
        chunks = _sizes(doc["chunks"], "chunks", V2_ARRAY, minimum=1)
        dtype = doc["dtype"]
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptMetadataError(f"corrupt zarr metadata in .zarray: bad {exc}") from exc
    if len(chunks) != len(shape):
        raise CorruptMetadataError(f"corrupt zarr metadata: chunk shape {chunks} does not match shape {shape}")
    pipeline: list[str] = []
    names: list[str] = []
    for codec in [*(doc.get("filters") or []), doc.get("compressor")]:
        if isinstance(codec, dict):
            pipeline.append(_codec_text(codec))
            names.append(str(codec.get("id")))
    if not pipeline:
        pipeline.append("uncompressed")
    dtype_text = dtype if isinstance(dtype, str) else json.dumps(dtype)
    _name, separator = key_encoding_fields(doc, 2)
    return ChunkLayout(path, 2, shape, dtype_text, _itemsize(dtype) if isinstance(dtype, str) else None,
                       doc.get("fill_value"), chunks, None, separator, "", tuple(pipeline), tuple(names), None, doc)


@functools.lru_cache(maxsize=64)
def _codec_installed(name: str, zarr_format: int) -> bool:
    """Asked on every summary refresh (each 150 ms while scanning): answered once per codec."""
    try:
        if zarr_format == 3:
            from zarr.registry import get_codec_class

            get_codec_class(name)
        else:
            import numcodecs

            numcodecs.get_codec({"id": name})
    except Exception:
        return False
    return True


# -- shard indexes ------------------------------------------------------------------------------


def read_shard_index(layout: ChunkLayout, path: str, size: int) -> tuple[np.ndarray | None, str | None]:
    """The decoded index of the shard file at ``path``: an (n, 2) uint64 array of
    (offset, length) per inner chunk in C order, or an error message (corrupt, truncated,
    unreadable). Offsets of MAX_UINT_64 mark chunks the shard does not hold.
    """
    fmt = layout.index
    assert fmt is not None
    n = math.prod(layout.per_shard)
    nbytes = fmt.nbytes if fmt.nbytes >= 0 else _zarr_index_nbytes(layout)
    if size < nbytes:
        return None, f"shard index truncated: the file has {size:,} bytes, its index needs {nbytes:,}"
    try:
        with open_regular(path) as fh:
            if fmt.location == "start":
                raw = fh.read(nbytes)
            else:
                fh.seek(size - nbytes)
                raw = fh.read(nbytes)
    except OSError as exc:
        return None, f"{exc.strerror or exc}: {path}"
    if len(raw) != nbytes:
        return None, f"shard index truncated: read {len(raw):,} of {nbytes:,} bytes (the file changed?)"
    if fmt.nbytes < 0:
        return _zarr_decode_index(layout, raw)
    if fmt.checksum:
        import google_crc32c

        body, stored_crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
        if google_crc32c.value(body) != stored_crc:
            return None, "shard index corrupt: its crc32c checksum does not match"
    else:
        body = raw
    table = np.frombuffer(body, dtype=np.dtype(fmt.endian + "u8"), count=2 * n).reshape(n, 2).astype(np.uint64)
    return table, _check_index(table, size, nbytes, fmt.location)


def _check_index(table: np.ndarray, size: int, index_nbytes: int, location: str) -> str | None:
    starts, lengths = table[:, 0], table[:, 1]
    empty = starts == np.uint64(MAX_UINT_64)
    if np.any(empty != (lengths == np.uint64(MAX_UINT_64))):
        return "shard index corrupt: an entry has an offset without a length (or the reverse)"
    s, ln = starts[~empty], lengths[~empty]
    low = index_nbytes if location == "start" else 0
    high = size if location == "start" else size - index_nbytes
    if s.size and (np.any(s < low) or np.any(s + ln > np.uint64(high)) or np.any(s + ln < s)):
        return "shard index corrupt: it points outside the shard's data"
    return None


def _zarr_index_nbytes(layout: ChunkLayout) -> int:
    codec = _sharding_codec(layout)
    return int(codec._shard_index_size(layout.per_shard))


def _zarr_decode_index(layout: ChunkLayout, raw: bytes) -> tuple[np.ndarray | None, str | None]:
    """Exotic index encodings: decoded by zarr's own sharding codec."""
    from zarr.core.buffer.cpu import Buffer
    from zarr.core.sync import sync

    try:
        index = sync(_sharding_codec(layout)._decode_shard_index(Buffer.from_bytes(raw), layout.per_shard))
    except Exception as exc:
        return None, f"shard index corrupt: {exc}"
    return index.offsets_and_lengths.reshape(-1, 2).astype(np.uint64), None


def _sharding_codec(layout: ChunkLayout) -> Any:
    from zarr.codecs.sharding import ShardingCodec

    for codec in layout.metadata.get("codecs") or []:
        if isinstance(codec, dict) and codec.get("name") == "sharding_indexed":
            return ShardingCodec.from_dict(codec)
    raise ChunkLayoutError("not a sharded array")
