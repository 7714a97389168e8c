"""A well's thumbnail level opened with the first well's array metadata: its chunk is the
only object read.

Why: the wells of a plate are written alike (the same levels, shapes, dtype and codecs),
and reading every well's level metadata cost a plate of 384 wells 384 more reads (the
plate's summary already reads each well's document, the thumbnail its chunk). So once the
first well's level has been opened, the other wells' levels are opened from its metadata.

Whatever shows that a well is laid out otherwise raises :class:`LayoutDiffers`, and the
caller reads that well's own metadata (the thumbnail is then as if nothing were assumed):

- a local level whose metadata document is missing, or not byte for byte the first
  well's (one read of a small file, no parse: a size alone let a 24 x 24 level pass as the
  first well's 16 x 16, whose document has the same length, and showed its corner);
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
    document: bytes | None  # a local level's metadata document (None: remote, not compared)


def document_bytes(level_path: str, zarr_format: int) -> bytes | None:
    """A local level's array metadata document as stored; None when it has none, it is
    no regular file (a FIFO in its place is not opened) or it is over _DOCUMENT_LIMIT."""
    from .safe_files import open_regular

    try:
        with open_regular(os.path.join(level_path, V3_META if zarr_format == 3 else V2_ARRAY)) as f:
            found = f.read(_DOCUMENT_LIMIT + 1)
    except OSError:
        return None
    return found if len(found) <= _DOCUMENT_LIMIT else None


_DOCUMENT_LIMIT = 1 << 20  # an array document is a few hundred bytes; a larger one is not shared


def known_level(array: Any, level_path: str, zarr_format: int, *, remote: bool) -> KnownLevel:
    """What the other wells reuse of the first well's opened level (a ``zarr.Array``)."""
    if remote:
        return KnownLevel(array.metadata, None)
    # b"" when it cannot be read again: no well then matches it (each reads its own)
    return KnownLevel(array.metadata, document_bytes(level_path, zarr_format) or b"")


def check_local(level_path: str, known: KnownLevel) -> None:
    """LayoutDiffers when a local level's metadata document is absent or not the first's."""
    if known.document is None:
        return
    found = document_bytes(level_path, int(known.metadata.zarr_format))
    if found != known.document:
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
