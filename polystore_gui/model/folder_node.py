"""A local folder's zarr node document, read once for the one job of a selection.

Selecting a folder shows its preview and asks whether it is a plate (or a well of one): both
need the folder's node document (``zarr_nodes.read_node``). The preview panel's job
(:mod:`.selection_read`) reads it once, as this record, and hands it to the preview
(``arrays.local_info``) and to the plate lookup (``plate_read``): a plate's document is read
once per opening (issue 16: the object reads a well), with no cache, no timing window and no
stale read (each selection reads the folder afresh).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from .zarr_nodes import ZarrNodeMeta, read_node


@dataclass(frozen=True, slots=True)
class FolderNode:
    """What ``read_node(path)`` gave for one folder: its node (None: no zarr node), or what it raised."""

    path: str
    meta: ZarrNodeMeta | None
    error: Exception | None = None

    def read(self, path: str) -> ZarrNodeMeta | None:
        """``read_node(path)``, answered from this record when ``path`` is its folder (however
        spelled; the node then names ``path`` as given), read afresh otherwise. Raises what
        the read raised (each caller handles it as it handles its own reads)."""
        if os.path.abspath(path) != os.path.abspath(self.path):
            return read_node(path)
        if self.error is not None:
            raise self.error
        if self.meta is None or self.meta.path == path:
            return self.meta
        return dataclasses.replace(self.meta, path=path)


def read_folder_node(path: str) -> FolderNode:
    """The node document of the folder ``path``, read now (never raises: see ``FolderNode.read``)."""
    try:
        return FolderNode(path, read_node(path))
    except Exception as exc:  # corrupt metadata, an I/O error: each reader reports it its own way
        return FolderNode(path, None, exc)
