"""The preview panel's one job for a selection: the preview, then the plate lookup.

Selecting an entry shows its preview and asks whether it is a plate (or a well of one),
which the plate view then shows instead. Both need a local folder's zarr node document:
this job reads it once (:mod:`.folder_node`) and hands it to both, so a plate's document
is read once per opening. The preview comes first (it is what every selection shows; the
plate lookup of a folder that is no plate may scan it for TIFF plate files). Each answer is
yielded as it is ready; a job quit after the preview (another selection) does not look
for a plate. A failure of one part is yielded as that part's answer: the other still runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .arrays import DEFAULT_SIZE_LIMIT
from .folder_node import FolderNode, read_folder_node

if TYPE_CHECKING:
    from .lazy import Preview


@dataclass(frozen=True, slots=True)
class SelectionAnswer:
    """One part of a selection's answer: ``value`` (a Preview; for ``plate``, (plate, well
    or None) or None when it is no plate nor well), or the ``error`` that part raised."""

    part: Literal["preview", "plate"]
    value: Any = None
    error: Exception | None = None


def _local_folder_node(backend: str, path: str) -> FolderNode | None:
    """The node document of ``backend:path`` when it is a folder of this machine read by a
    local adapter (disk, zarr stores); None otherwise (each part reads as it does)."""
    from .backends import adapter_for
    from .backends.local import LocalAdapter

    try:
        adapter = adapter_for(backend, path)
    except Exception:  # an unknown backend: the preview says why
        return None
    if isinstance(adapter, LocalAdapter) and os.path.isdir(path):
        return read_folder_node(path)
    return None


def read_selection(backend: str, path: str, *, size_limit: int = DEFAULT_SIZE_LIMIT, confirmed: bool = False,
                   listed: bool = False, opener: Callable[..., Preview] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Iterator[SelectionAnswer]:
    """The preview of ``backend:path`` (``opener``'s, when given, else ``lazy.open_preview``'s),
    then the plate or well there: two answers (see the module's docstring). ``cancelled``: the
    job's token, passed to both (a remote store's reads stop on the wire)."""
    from .backends.plate import plate_or_well_at
    from .lazy import open_preview

    node = _local_folder_node(backend, path)
    try:
        if opener is not None:
            preview = opener(backend, path, size_limit=size_limit, confirmed=confirmed, listed=listed,
                             cancelled=cancelled)
        else:
            preview = open_preview(backend, path, size_limit=size_limit, confirmed=confirmed, listed=listed,
                                   cancelled=cancelled, node=node)
    except Exception as exc:  # PreviewError, NeedsConfirmation, or anything unexpected: the panel says
        yield SelectionAnswer("preview", error=exc)
    else:
        yield SelectionAnswer("preview", preview)
    try:
        found = plate_or_well_at(backend, path, cancelled=cancelled, node=node)
    except Exception as exc:
        yield SelectionAnswer("plate", error=exc)
    else:
        yield SelectionAnswer("plate", found)
