"""A plain local zarr array's chunks read straight from their files (issue 19).

zarr-python reads each chunk through its event loop: a task, a file thread, a buffer, the
codec pipeline; about 150 µs of Python a chunk, shared by the loop's thread and six file
threads. A plane of 1,024 small chunks (the chunk inspector's array, 16² chunks) took
150-280 ms of CPU on those eight threads, every one of them taking the interpreter lock
from the GUI thread, while napari's slicing thread waited for the plane: a chunk clicked on
another plane stalled the window ~100 ms (the inspector step of ``bench_session``).

When a chunk's stored bytes are its values (zarr v2 or v3, no compressor, no filter, C
order, not sharded, a numeric dtype) in a folder of this machine, this reads them on the
calling thread (napari's slicing thread, or the preview's worker): a ``stat``, an ``open``
and a ``read`` a chunk, about 15 µs, stepping aside now and then (``pacing``) so that the
GUI thread gets the lock. The values are zarr's: a missing chunk (no file, a folder) reads
as the fill value; one that cannot be read (truncated, a FIFO or device, refused) reads as
the fill value and is reported, as :class:`~.lazy_views.SafeArray` does. Anything else
(compressed, sharded, remote, a store wrapped by a test) is read by zarr as before.
"""

from __future__ import annotations

import itertools
import math
import os
import stat as stat_module
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import pacing
from .safe_files import open_regular

# Larger chunks are zarr's to read (one ``read`` call returns at most about 2 GiB on Linux).
MAX_CHUNK_BYTES = 1 << 30

Failure = Callable[[tuple[int, ...], BaseException], None]


class RawChunks:
    """Reads boxes of an array whose chunk files hold the raw values (see the module)."""

    def __init__(self, folder: str, key: Callable[[tuple[int, ...]], str], shape: tuple[int, ...],
                 chunks: tuple[int, ...], stored: np.dtype) -> None:
        self.folder = folder
        self.key = key
        self.shape = shape
        self.chunks = chunks
        self.stored = stored  # the values' dtype as the files hold them (byte order included)
        self.nbytes = math.prod(chunks) * stored.itemsize

    @classmethod
    def of(cls, array: Any) -> RawChunks | None:
        """A reader for ``array`` (a ``zarr.Array``) when its chunks are raw values in local
        files; None for any other array (zarr reads those)."""
        try:
            folder = _local_folder(array.store)
            stored = _raw_dtype(array) if folder is not None else None
            if folder is None or stored is None or math.prod(array.chunks) * stored.itemsize > MAX_CHUNK_BYTES:
                return None
            return cls(folder, array.metadata.encode_chunk_key, tuple(int(n) for n in array.shape),
                       tuple(int(c) for c in array.chunks), stored)
        except Exception:  # not a zarr array, or one zarr describes otherwise: zarr reads it
            return None

    def chunk(self, index: tuple[int, ...]) -> np.ndarray | None:
        """Chunk ``index``'s values (chunk-shaped, read-only), None when it is not stored.
        Raises what makes it unreadable (OSError, or ValueError for a wrong size)."""
        path = os.path.join(self.folder, *self.key(index).split("/"))
        try:
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat_module.S_ISDIR(mode):
            return None  # as zarr's LocalStore: a folder where a chunk would be is no chunk
        # The project's hostile-file opener: a FIFO or device is never opened, and a name
        # swapped for one since the stat above is refused on the open descriptor.
        with open_regular(path) as f:
            data = f.read(self.nbytes + 1)
        if len(data) != self.nbytes:
            raise ValueError(f"{len(data)}{'+' if len(data) > self.nbytes else ''} bytes where a chunk "
                             f"holds {self.nbytes}")
        return np.frombuffer(data, self.stored).reshape(self.chunks)

    def read(self, box: list[tuple[int, int, bool]], dtype: np.dtype, fill: Any, failed: Failure) -> np.ndarray:
        """The values of ``box`` ((start, stop, is_integer) per axis, as ``_basic_box``
        gives), integer axes dropped; chunks not stored are ``fill``, unreadable ones too,
        each told to ``failed(chunk_index, exc)``."""
        for (start, stop, _integer), n in zip(box, self.shape):
            if not 0 <= start <= stop <= n:
                raise IndexError(f"index {start} is out of bounds for an axis of length {n}")
        starts = [b[0] for b in box]
        stops = [b[1] for b in box]
        out = np.full([e - b for b, e in zip(starts, stops)], fill, dtype=dtype)
        ranges = [range(b // c, (e - 1) // c + 1) if e > b else range(0)
                  for b, e, c in zip(starts, stops, self.chunks)]
        worked = time.perf_counter()
        for index in itertools.product(*ranges):
            lo = [max(i * c, b) for i, c, b in zip(index, self.chunks, starts)]
            hi = [min((i + 1) * c, e) for i, c, e in zip(index, self.chunks, stops)]
            try:
                values = self.chunk(index)
            except (OSError, ValueError) as exc:
                failed(index, exc)
                values = None
            if values is not None:
                out[tuple(slice(a - b, z - b) for a, z, b in zip(lo, hi, starts))] = \
                    values[tuple(slice(a - i * c, z - i * c) for a, z, i, c in zip(lo, hi, index, self.chunks))]
            if time.perf_counter() - worked > pacing.READ_PIECE_S:
                pacing.breathe()  # the GUI thread's turn with the interpreter lock
                worked = time.perf_counter()
        squeeze = [i for i, b in enumerate(box) if b[2]]
        return out.reshape([n for i, n in enumerate(out.shape) if i not in squeeze]) if squeeze else out


def _local_folder(store: Any) -> str | None:
    """The folder of ``store`` when it is zarr's ``LocalStore``, bare or behind wrappers that
    hand the files' bytes on unchanged (``reads_files_unchanged``: the preview's chunk cache
    and regular-files guard); None for anything else (a remote store, a wrapper of a test's
    that counts what is read)."""
    from zarr.storage import LocalStore

    while not isinstance(store, LocalStore):
        if not getattr(store, "reads_files_unchanged", False):
            return None
        store = store._store
    return str(store.root)


def _raw_dtype(array: Any) -> np.dtype | None:
    """The dtype (byte order included) of the values as ``array``'s chunk files hold them,
    when they hold nothing but the values; else None."""
    meta = array.metadata
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biufc" or dtype.fields is not None:
        return None
    if meta.zarr_format == 2:
        if meta.compressor is not None or meta.filters or meta.order != "C":
            return None
        native: np.dtype = np.dtype(meta.dtype.to_native_dtype())
        return native
    from zarr.codecs import BytesCodec

    if array.shards is not None or len(meta.codecs) != 1 or not isinstance(meta.codecs[0], BytesCodec):
        return None
    endian = meta.codecs[0].endian
    if endian is None:
        return dtype if dtype.itemsize == 1 else None
    ordered: np.dtype = dtype.newbyteorder("<" if getattr(endian, "value", endian) == "little" else ">")
    return ordered


__all__ = ["MAX_CHUNK_BYTES", "RawChunks"]
