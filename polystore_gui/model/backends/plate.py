"""Plates wherever they are met: which reader recognises a plate (or a well) at an address.

A plate is not a backend of its own: it is a folder or zarr group that some backend holds
(disk, zarr, ome_zarr; remote stores once they can be read the same way). This module
answers "is this address a plate?" for any backend through the adapter's capabilities, so
the CLI, ``info`` and the window ask one place. The readers themselves are in
:mod:`..plate_read` (metadata only), thumbnails in :mod:`..plate_thumbs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .base import adapter_for

if TYPE_CHECKING:
    from ..plate_summary import PlateSummary, WellSummary

# Readers for stores that are not this machine's files, by backend key (e.g. a remote store's
# adapter may register one); local paths are read by plate_read.
PlateReader = Callable[[str, str, bool], "PlateSummary | None"]
_REMOTE_READERS: dict[str, PlateReader] = {}


def register_plate_reader(backend: str, reader: PlateReader) -> None:
    """A plate reader for a backend whose paths are not local files."""
    _REMOTE_READERS[backend] = reader


def _is_local(backend: str, path: str) -> bool:
    try:
        return adapter_for(backend, path).capabilities.local
    except Exception:  # an adapter that cannot even be built holds no plate we can read
        return False


def plate_at(backend: str, path: str, *, check_fields: bool = False) -> PlateSummary | None:
    """The plate rooted at ``backend:path``; None when it is not a plate."""
    if _is_local(backend, path):
        from ..plate_read import plate_at as local_plate_at

        return local_plate_at(backend, path, check_fields=check_fields)
    reader = _REMOTE_READERS.get(backend)
    return reader(backend, path, check_fields) if reader is not None else None


def well_at(backend: str, path: str) -> tuple[PlateSummary | None, WellSummary] | None:
    """The well at ``backend:path`` and the plate holding it; None when it is not a well."""
    if not _is_local(backend, path):
        return None
    from ..plate_read import well_at as local_well_at

    return local_well_at(backend, path)
