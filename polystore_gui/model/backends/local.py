"""What the adapters of local storage share (disk, and zarr stores on this machine):
paths are file paths, metadata is read from files, and deleting removes files."""

from __future__ import annotations

import errno
import os
import shutil
from typing import TYPE_CHECKING

from ..entries import Entry
from .common import AdapterBase

if TYPE_CHECKING:
    from ..arrays import Info
    from ..folder_node import FolderNode
    from ..lazy import Preview


class LocalAdapter(AdapterBase):
    """Local paths: entries, metadata and previews read from files on this machine."""

    def entry(self, backend: str, path: str) -> Entry:
        from .local_entries import local_entry

        return local_entry(backend, path)

    def info(self, backend: str, path: str, *, listed: bool = False, for_preview: bool = False,
             node: FolderNode | None = None) -> Info:
        """``for_preview``: the facts the preview shows; ``node``: the folder's node document
        already read (see ``arrays.local_info``)."""
        from ..arrays import local_info

        return local_info(backend, path, listed=listed, for_preview=for_preview, node=node)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False, node: FolderNode | None = None) -> Preview:
        """``node``: the folder's node document, read once by the selection's job for this
        preview and its plate lookup (``selection_read``)."""
        from ..lazy import local_preview

        # A plate's or a well's members are not counted (the plate view shows it instead).
        info = self.info(backend, path, listed=listed, for_preview=True, node=node)
        return local_preview(info, backend, path, size_limit, confirmed)

    def exists(self, backend: str, path: str) -> bool:
        return os.path.lexists(path)

    def is_folder(self, backend: str, path: str) -> bool:
        return os.path.isdir(path)

    def delete(self, backend: str, path: str) -> None:
        """Remove a file, link or folder (with everything in it) for good; a link is removed,
        never followed. The caller writes the consolidated metadata above it again
        (``transfers.refresh_consolidated``)."""
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        else:
            raise FileNotFoundError(errno.ENOENT, "No such file or folder", path)
