"""One plane of a zarr array read straight from its chunk file, decompressing only up to it.

Why: polystore writes each well of a plate as one array of one chunk (every channel and
plane, zlib), without a pyramid. zarr decodes that whole chunk (2 MiB for 2 channels x
2 z of 512 x 512 uint16) to hand back one plane. zlib and gzip are streams: the plane's
bytes are a prefix of the decompressed chunk (C order), so reading and inflating stops at
the plane's end, and nothing past it is read from disk. Memory stays one plane plus one
read block. zlib and file reads release the interpreter lock, so several wells decode at
once on different cores.

Only a narrow, common case is served (local files, one chunk holding whole planes, no
filters, C order, zlib, gzip or no compression; zarr v2, or v3 with ``bytes`` and an
optional ``gzip`` codec); :func:`read_plane` returns None for anything else and the caller
reads through zarr.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .safe_files import NotRegularFileError, open_regular
from .zarr_nodes import V2_ARRAY, V3_META, CorruptMetadataError, _load_json, chunk_key_encoding

READ_BLOCK = 1 << 18  # compressed bytes read at a time
_ANY_HEADER = 32 + zlib.MAX_WBITS  # zlib or gzip header, detected


@dataclass(frozen=True, slots=True)
class Plane:
    """A plane read from a chunk: its pixels and the array it came from."""

    pixels: np.ndarray[Any, Any]
    shape: tuple[int, ...]  # the array's
    dtype: str


@dataclass(frozen=True, slots=True)
class _Array:
    """What the plane reader needs of an array's metadata."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    compressed: bool
    fill_value: Any
    encoding: Any  # zarr's chunk key encoding


def read_document(path: str) -> Any:
    """A metadata document, parsed (one object read; CorruptMetadataError as zarr_nodes says)."""
    return _load_json(path)


def open_chunk(path: str) -> Any:
    """A chunk file opened for reading (one object read); FileNotFoundError when absent,
    CorruptMetadataError when it is no regular file (a FIFO would block the open until a
    writer came, a device read for ever)."""
    try:
        return open_regular(path)
    except NotRegularFileError as exc:
        raise CorruptMetadataError(f"chunk {os.path.basename(path)} is not a file: {exc.strerror}") from exc


def _simple_dtype(text: Any) -> np.dtype[Any] | None:
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        return None
    return dtype if dtype.kind in "biuf" and dtype.fields is None and dtype.itemsize > 0 else None


def _ints(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return None
    return tuple(value)


def _v2(doc: Any) -> _Array | None:
    if not isinstance(doc, dict) or doc.get("order", "C") != "C" or doc.get("filters") not in (None, []):
        return None
    compressor = doc.get("compressor")
    if compressor is not None and not (isinstance(compressor, dict) and compressor.get("id") in ("zlib", "gzip")):
        return None
    dtype = _simple_dtype(doc.get("dtype"))
    shape, chunks = _ints(doc.get("shape")), _ints(doc.get("chunks"))
    if dtype is None or shape is None or chunks is None:
        return None
    return _Array(shape, chunks, dtype, compressor is not None, doc.get("fill_value"), chunk_key_encoding(doc, 2))


def _v3(doc: Any) -> _Array | None:
    if not isinstance(doc, dict) or doc.get("node_type") != "array":
        return None
    grid = doc.get("chunk_grid")
    if not isinstance(grid, dict) or grid.get("name") != "regular":
        return None
    chunks = _ints((grid.get("configuration") or {}).get("chunk_shape"))
    codecs = doc.get("codecs")
    if not isinstance(codecs, list) or not codecs or not all(isinstance(c, dict) for c in codecs):
        return None
    names = [c.get("name") for c in codecs]
    if names not in (["bytes"], ["bytes", "gzip"]):
        return None
    endian = (codecs[0].get("configuration") or {}).get("endian", "little")
    dtype = _simple_dtype(doc.get("data_type")) if isinstance(doc.get("data_type"), str) else None
    shape = _ints(doc.get("shape"))
    if dtype is None or shape is None or chunks is None or endian not in ("little", "big"):
        return None
    dtype = dtype.newbyteorder("<" if endian == "little" else ">") if dtype.itemsize > 1 else dtype
    return _Array(shape, chunks, dtype, names[-1] == "gzip", doc.get("fill_value"), chunk_key_encoding(doc, 3))


def codecs_unservable(metadata: Any) -> bool:
    """True when zarr's parsed metadata of a v3 array (``ArrayV3Metadata``) names codecs
    this reader cannot serve (only ``bytes``, or ``bytes`` then ``gzip``), so that its
    document need not be read to find that out; False when it may be served (or is v2)."""
    codecs = getattr(metadata, "codecs", None)
    if getattr(metadata, "zarr_format", None) != 3 or codecs is None:
        return False
    try:
        names = [codec.to_dict().get("name") for codec in codecs]
    except Exception:  # a codec zarr parses but cannot describe: read the document
        return False
    return names not in (["bytes"], ["bytes", "gzip"])


def _array(level_path: str, zarr_format: int) -> _Array | None:
    name = V3_META if zarr_format == 3 else V2_ARRAY
    doc = read_document(os.path.join(level_path, name))
    return _v3(doc) if zarr_format == 3 else _v2(doc)


def _prefix_bytes(handle: Any, compressed: bool, start: int, length: int) -> bytes | None:
    """Bytes ``start`` to ``start + length`` of the chunk's decoded stream; None when it
    ends before them. Reads and inflates no further than their end."""
    out = bytearray()
    if not compressed:  # read a block at a time: a hostile declared size is never one allocation
        handle.seek(start)
        while len(out) < length:
            block = handle.read(min(READ_BLOCK, length - len(out)))
            if not block:
                return None
            out += block
        return bytes(out)
    inflate = zlib.decompressobj(_ANY_HEADER)
    skip, need = start, length
    pending = b""
    at_end = False
    while need:
        if not pending:
            if inflate.eof:
                return None
            pending = handle.read(READ_BLOCK)
            at_end = at_end or not pending
        # Skipped planes are inflated a bounded piece at a time, not all held at once.
        piece = inflate.decompress(pending, min(skip, 4 * READ_BLOCK) if skip else need)
        pending = inflate.unconsumed_tail
        if not piece and at_end:  # the file ended and zlib holds no more output
            return None
        if skip:
            dropped = min(skip, len(piece))
            piece, skip = piece[dropped:], skip - dropped
        taken = piece[:need]
        out += taken
        need -= len(taken)
    return bytes(out)


def read_plane(level_path: str, zarr_format: int,
               key_for: Callable[[tuple[int, ...]], tuple[Any, ...]]) -> Plane | None:
    """The plane ``key_for(shape)`` (ints for the leading axes, then two slices) of the local
    zarr array at ``level_path``, read from its chunk's prefix; None when the array is not of
    the kind served here (the caller reads it through zarr).

    Raises CorruptMetadataError for a chunk that ends too soon or does not inflate, and
    OSError for I/O failures."""
    array = _array(level_path, zarr_format)
    if array is None or len(array.shape) < 2 or len(array.chunks) != len(array.shape):
        return None
    if 0 in array.shape or 0 in array.chunks or any(c < s for c, s in zip(array.chunks[-2:], array.shape[-2:], strict=True)):
        return None  # a plane spread over several chunks: zarr assembles it
    key = key_for(array.shape)
    if len(key) != len(array.shape):
        return None
    leading = [int(k) for k in key[:-2]]
    if any(not 0 <= k < s for k, s in zip(leading, array.shape, strict=False)):
        return None
    coords = tuple(k // c for k, c in zip(leading, array.chunks, strict=False)) + (0, 0)
    inner = [k % c for k, c in zip(leading, array.chunks, strict=False)]
    plane_index = int(np.ravel_multi_index(inner, array.chunks[:-2])) if inner else 0
    height, width = array.chunks[-2:]
    plane_bytes = height * width * array.dtype.itemsize
    path = os.path.join(level_path, *array.encoding.encode_chunk_key(coords).split("/"))
    try:
        handle = open_chunk(path)
    except FileNotFoundError:  # never written: the fill value throughout
        fill = array.fill_value if isinstance(array.fill_value, int | float) else 0
        full = np.broadcast_to(np.asarray(fill, array.dtype), array.shape[-2:])  # no plane-sized allocation
        return Plane(np.ascontiguousarray(full[key[-2], key[-1]]), array.shape, str(array.dtype))
    try:
        with handle:
            data = _prefix_bytes(handle, array.compressed, plane_index * plane_bytes, plane_bytes)
    except zlib.error as exc:
        raise CorruptMetadataError(f"chunk {os.path.basename(path)} does not inflate: {exc}") from exc
    if data is None:
        raise CorruptMetadataError(f"chunk {os.path.basename(path)} ends before the plane")
    plane = np.frombuffer(data, array.dtype).reshape(height, width)[: array.shape[-2], : array.shape[-1]]
    return Plane(np.ascontiguousarray(plane[key[-2], key[-1]]), array.shape, str(array.dtype))
