"""A small cache of recently read store objects, shared by one preview's readers.

Showing a plane reads its chunks twice if nothing remembers them: once for the contrast
sample (in the preview worker) and once more when napari slices the same plane. For a
TIFF whose pages are single chunks, that doubled the bytes read. Whole-object reads up
to ``max_item`` bytes are kept, least recently used first out, within ``max_bytes``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from zarr.storage import WrapperStore


class ChunkCache(WrapperStore[Any]):
    """Wraps a zarr store; ``get`` of a whole object is answered from memory when it can."""

    reads_files_unchanged = True  # the stored bytes, cached: raw_chunks may read the files beneath

    def __init__(self, store: Any, max_bytes: int = 128 << 20, max_item: int = 32 << 20) -> None:
        super().__init__(store)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._max_item = max_item
        self._lock = threading.Lock()  # napari slices in its own threads

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        if byte_range is not None:
            return await super().get(key, prototype, byte_range)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        value = await super().get(key, prototype, byte_range)
        if value is not None:
            size = len(value)
            if size <= self._max_item:
                with self._lock:
                    self._cache[key] = value
                    self._bytes += size
                    while self._bytes > self._max_bytes and self._cache:
                        _, old = self._cache.popitem(last=False)
                        self._bytes -= len(old)
        return value
