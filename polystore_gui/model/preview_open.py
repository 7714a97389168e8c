"""What a preview opens, and the rule checked before it reads: a zarr array opened read-only
(regular files only, through the chunk cache; a URL through the remote store's cache), and
the plane guard (:func:`check_plane`). The local and OME/TIFF previews both use them, so
they live below both (lazy imports preview_ome_tiff, which no longer imports lazy back).
"""

from __future__ import annotations

import errno
import math
import os
import stat as stat_module
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arrays import DEFAULT_SIZE_LIMIT
from .preview_types import NeedsConfirmation, PreviewError
from .remote_address import is_remote_path
from .safe_files import NotRegularFileError, file_type_text
from .zarr_nodes import read_node

# Tests (and benchmarks) wrap every zarr store opened here, e.g. to count the keys read.
StoreWrapper = Callable[[Any], Any]


_store_wrapper: StoreWrapper | None = None


def set_store_wrapper(wrapper: StoreWrapper | None) -> None:
    """Wrap every zarr store this module opens (None to stop). For tests and benchmarks."""
    global _store_wrapper
    _store_wrapper = wrapper


# -- opening ------------------------------------------------------------------------------------


def _open_zarr_array(path: str, zarr_format: int | None = None) -> Any:
    """A read-only ``zarr.Array``; knowing the format spares zarr probing for the other."""
    if is_remote_path(path):  # s3:// or http(s)://: through the remote store's cache
        from .remote_zarr import open_array

        return open_array(path, zarr_format)
    import zarr
    from zarr.storage import LocalStore

    if zarr_format is None:
        meta = read_node(path)
        zarr_format = meta.zarr_format if meta is not None else None
    store: Any = LocalStore(path, read_only=True)
    if _store_wrapper is not None:
        store = _store_wrapper(store)
    from .chunk_cache import ChunkCache  # zarr's import (~0.3 s): not at the window's start

    store = ChunkCache(_regular_files_only(store, path))
    return zarr.open_array(store=store, mode="r", zarr_format=3 if zarr_format == 3 else 2 if zarr_format == 2 else None)


_regular_class: type[Any] | None = None


def _regular_files_only(store: Any, root: str) -> Any:
    """``store`` (over the folder ``root``) reading only regular files: a key that is a FIFO,
    socket or device fails as an unreadable chunk (shown as the fill value, with the reason)
    instead of blocking the reading thread for ever, as zarr's LocalStore would."""
    global _regular_class
    if _regular_class is None:
        from zarr.storage import WrapperStore

        class RegularFilesOnly(WrapperStore[Any]):
            reads_files_unchanged = True  # a check before each read: raw_chunks makes the same one

            def __init__(self, inner: Any, folder: str) -> None:
                super().__init__(inner)
                self._folder = folder

            def _with_store(self, inner: Any) -> Any:
                return type(self)(inner, self._folder)

            def _check(self, key: str) -> None:
                file = os.path.join(self._folder, *key.split("/"))
                try:
                    mode = os.stat(file).st_mode
                except OSError:
                    return  # missing (the store answers None) or unreadable (the store says why)
                if not stat_module.S_ISREG(mode) and not stat_module.S_ISDIR(mode):
                    raise NotRegularFileError(errno.EINVAL, f"a {file_type_text(mode)}, not a chunk file", file)

            async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
                self._check(key)
                return await self._store.get(key, prototype, byte_range)

            async def get_partial_values(self, prototype: Any, key_ranges: Any) -> Any:
                key_ranges = list(key_ranges)
                for key, _range in key_ranges:
                    self._check(key)
                return await self._store.get_partial_values(prototype, key_ranges)

        _regular_class = RegularFilesOnly
    return _regular_class(store, root)


# A plane needing more chunk reads than this is not shown: each read costs ~0.25 ms however
# small the chunk (16,384 reads: about 4 s), and a viewer reads the whole plane of a level.
MAX_PLANE_CHUNKS = 16_384


def check_plane(shape: Sequence[int], chunks: Sequence[int] | None, dtype: Any, *, size_limit: int = DEFAULT_SIZE_LIMIT,
                confirmed: bool = False, what: str = "this array",
                hint: str = "; open a lower resolution level, or see its layout with 'polystore-gui chunks'") -> None:
    """Refuse, before anything is read, a plane (the last two axes) that would take more than
    ``MAX_PLANE_CHUNKS`` chunk reads (PreviewError), or more than ``size_limit`` bytes unless
    ``confirmed`` (NeedsConfirmation). The counts are plain integer arithmetic on the metadata:
    a 10^15 x 10^15 array of 1 x 1 chunks is refused at once, not after 10^30 reads."""
    shape = [int(n) for n in shape]
    if len(shape) < 2 or 0 in shape:
        return
    plane = shape[-2:]
    grid = [int(c) for c in chunks][-2:] if chunks is not None and len(chunks) >= 2 else plane
    reads = math.prod(-(-n // max(1, c)) for n, c in zip(plane, grid))
    if reads > MAX_PLANE_CHUNKS:
        raise PreviewError(
            f"{what} is too large to preview: one plane is {plane[0]:,} x {plane[1]:,} pixels in {reads:,} chunks "
            f"of {grid[0]:,} x {grid[1]:,} (the preview reads at most {MAX_PLANE_CHUNKS:,} chunks a plane)" + hint
        )
    try:
        itemsize = int(np.dtype(dtype).itemsize)
    except Exception:  # not a dtype numpy knows: the reader says so later
        return
    nbytes = math.prod(plane) * itemsize
    if nbytes > size_limit and not confirmed:
        raise NeedsConfirmation(nbytes, size_limit, f"showing one plane of {what}")
