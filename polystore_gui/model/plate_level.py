"""A well's thumbnail level opened with the first well's array metadata: its chunk is the
only object read.

Why: the wells of a plate are written alike (the same levels, shapes, dtype and codecs),
and reading every well's level metadata cost a plate of 384 wells 384 more reads (the
plate's summary already reads each well's document, the thumbnail its chunk). So once the
first well's level has been opened, the other wells' levels are opened from its metadata.

Whatever shows that a well is laid out otherwise raises :class:`LayoutDiffers`, and the
caller reads that well's own metadata (the thumbnail is then as if nothing were assumed):

- a local level whose metadata document is missing, or of another size than the first
  well's (``os.stat``, not a read);
- a chunk the store does not hold (zarr would silently give the fill value: a well
  without that level, or a smaller one);
- a chunk that does not decode as the first well's do (another dtype, chunk shape or
  codec: zarr's codecs raise).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .zarr_nodes import V2_ARRAY, V3_META


class LayoutDiffers(Exception):
    """This well's level is not laid out as the first well's: read its own metadata."""


@dataclass(frozen=True, slots=True)
class KnownLevel:
    """The first well's lowest level, as zarr parsed it, reused for the other wells."""

    metadata: Any  # zarr's ArrayV2Metadata / ArrayV3Metadata
    document_size: int | None  # a local level's metadata document (None: remote, not compared)


def document_size(level_path: str, zarr_format: int) -> int | None:
    """The size of a local level's array metadata document; None when it has none."""
    try:
        return os.stat(os.path.join(level_path, V3_META if zarr_format == 3 else V2_ARRAY)).st_size
    except OSError:
        return None


def known_level(array: Any, level_path: str, zarr_format: int, *, remote: bool) -> KnownLevel:
    """What the other wells reuse of the first well's opened level (a ``zarr.Array``)."""
    return KnownLevel(array.metadata, None if remote else document_size(level_path, zarr_format))


def check_local(level_path: str, known: KnownLevel) -> None:
    """LayoutDiffers when a local level's metadata document is absent or of another size."""
    if known.document_size is None:
        return
    found = document_size(level_path, int(known.metadata.zarr_format))
    if found != known.document_size:
        raise LayoutDiffers("no level laid out as the first well's" if found is None
                            else "its level's metadata differs from the first well's")


_watched_class: Any = None


def _watched(store: Any) -> Any:
    """``store`` wrapped so that a key it does not hold is remembered (``missing``)."""
    global _watched_class
    if _watched_class is None:
        from zarr.storage import WrapperStore

        class Watched(WrapperStore):  # type: ignore[type-arg]
            def __init__(self, inner: Any) -> None:
                super().__init__(inner)
                self.missing: list[str] = []

            async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
                found = await self._store.get(key, prototype, byte_range)
                if found is None:
                    self.missing.append(key)
                return found

        _watched_class = Watched
    return _watched_class(store)


def open_known(store: Any, known: KnownLevel) -> tuple[Any, Any]:
    """An ``AsyncArray`` reading ``store`` (rooted at the level) with the known metadata,
    and the watched store whose ``missing`` says which chunks were absent."""
    from zarr.core.array import AsyncArray
    from zarr.storage import StorePath

    watched = _watched(store)
    return AsyncArray(metadata=known.metadata, store_path=StorePath(watched, "")), watched


def local_store(level_path: str) -> Any:
    """A read-only zarr store rooted at a local level folder."""
    from zarr.storage import LocalStore

    return LocalStore(level_path, read_only=True)


async def read_known(store: Any, known: KnownLevel, key: tuple[Any, ...]) -> tuple[Any, str]:
    """The selection ``key`` of the level in ``store`` read with the known metadata, and
    the array's dtype; LayoutDiffers when one of its chunks is absent (or does not decode)."""
    array, watched = open_known(store, known)
    try:
        plane = await array.getitem(key)
    except Exception as exc:  # a chunk zarr's codecs cannot decode as the first well's
        raise LayoutDiffers(f"its chunk does not decode as the first well's: {exc}") from exc
    if watched.missing:
        raise LayoutDiffers(f"its level has no chunk {watched.missing[0]}")
    return plane, str(array.dtype)
