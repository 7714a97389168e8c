"""Entries: the frozen facts the tree shows, one per row."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any


class EntryKind(str, enum.Enum):
    """What a row is. ``info_kind`` folds these into the four kinds of ``info --json``."""

    BACKEND = "backend"
    ROOT = "root"
    DIRECTORY = "directory"
    FILE = "file"
    IMAGE_FILE = "image"
    ARRAY_FILE = "npy"
    TABLE_FILE = "table"
    TEXT_FILE = "text"
    ZARR_STORE = "zarr store"
    OME_ZARR = "ome-zarr image"
    GROUP = "group"
    ARRAY = "array"
    POLYSTORE_ARRAY = "polystore array"
    VIRTUAL_FILE = "virtual file"
    OBJECT = "object"
    ERROR = "error"

    @property
    def expandable(self) -> bool:
        return self in _EXPANDABLE

    @property
    def info_kind(self) -> str:
        if self in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR, EntryKind.GROUP):
            return "group"
        if self in (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.VIRTUAL_FILE):
            return "array"
        if self in (EntryKind.DIRECTORY, EntryKind.ROOT, EntryKind.BACKEND):
            return "directory"
        return "file"


_EXPANDABLE = frozenset(
    {
        EntryKind.BACKEND,
        EntryKind.ROOT,
        EntryKind.DIRECTORY,
        EntryKind.ZARR_STORE,
        EntryKind.OME_ZARR,
        EntryKind.GROUP,
        EntryKind.POLYSTORE_ARRAY,
    }
)

_EXTENSION_KINDS: dict[str, EntryKind] = {
    **dict.fromkeys((".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".gif"), EntryKind.IMAGE_FILE),
    ".npy": EntryKind.ARRAY_FILE,
    **dict.fromkeys((".csv", ".tsv"), EntryKind.TABLE_FILE),
    **dict.fromkeys(
        (".json", ".txt", ".md", ".xml", ".yaml", ".yml", ".log", ".ini", ".toml", ".py"),
        EntryKind.TEXT_FILE,
    ),
}


def kind_for_file_name(name: str) -> EntryKind:
    """The kind of a plain file, from its extension (cheap: no I/O)."""
    dot = name.rfind(".")
    if dot <= 0:
        return EntryKind.FILE
    return _EXTENSION_KINDS.get(name[dot:].lower(), EntryKind.FILE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing a backend holds, as far as it is known.

    ``path`` is what the backend takes (for disk it may hold surrogate escapes for bytes
    that are not UTF-8); ``name`` is always displayable text. Fields that cost I/O to learn
    (size, modified, shape, dtype) are ``None`` until a details pass fills them in.
    """

    backend: str
    path: str
    name: str
    kind: EntryKind
    size: int | None = None
    modified: float | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    detail: str = ""
    error: str | None = None

    @property
    def expandable(self) -> bool:
        return self.kind.expandable and self.error is None

    def with_details(self, **changes: Any) -> Entry:
        return replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "path": self.path,
            "name": self.name,
            "kind": self.kind.value,
            "size": self.size,
            "modified": self.modified,
            "shape": list(self.shape) if self.shape is not None else None,
            "dtype": self.dtype,
            "detail": self.detail or None,
            "error": self.error,
        }


def display_name(raw: str) -> str:
    """Text a person can read for a name that may carry surrogate escapes (non-UTF-8 bytes)."""
    try:
        raw.encode("utf-8")
        return raw
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
