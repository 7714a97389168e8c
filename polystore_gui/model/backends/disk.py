"""The ``disk`` backend: this machine's folders, scanned with ``os.scandir``.

A zarr store met on disk (a folder holding ``zarr.json``, ``.zgroup`` or ``.zarray``)
lists as a store (see :mod:`.zarr_store`), never as chunk folders.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..entries import Entry, EntryKind, display_name, kind_for_file_name
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .common import AdapterBase

if TYPE_CHECKING:
    from ..arrays import Info
    from ..lazy import Preview

STORE_KINDS = (EntryKind.ZARR_STORE, EntryKind.OME_ZARR)


def local_entry(backend: str, path: str) -> Entry:
    """The entry for a local path (disk, or inside a zarr store); never raises."""
    from ..listing import describe_disk_entry

    name = os.path.basename(path.rstrip("/")) or path
    shown = display_name(name)
    if not os.path.lexists(path):  # nothing says it ever existed: not "no longer exists"
        return Entry(backend, path, shown, EntryKind.ERROR, error=f"Does not exist: {display_name(path)}")
    kind = EntryKind.DIRECTORY if os.path.isdir(path) else kind_for_file_name(name)
    return describe_disk_entry(Entry(backend, path, shown, kind))


class LocalAdapter(AdapterBase):
    """What disk and zarr stores share: local paths, metadata read from files."""

    def entry(self, backend: str, path: str) -> Entry:
        return local_entry(backend, path)

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        from ..arrays import inspect

        return inspect(backend, path, listed=listed)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False) -> Preview:
        from ..lazy import open_preview

        return open_preview(backend, path, size_limit=size_limit, confirmed=confirmed, listed=listed)

    def exists(self, backend: str, path: str) -> bool:
        return os.path.lexists(path)

    def is_folder(self, backend: str, path: str) -> bool:
        return os.path.isdir(path)

    def delete(self, backend: str, path: str) -> None:
        """Remove a file, link or folder (with everything in it) for good; a link is removed,
        never followed. The caller writes the consolidated metadata above it again."""
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        else:
            raise FileNotFoundError(errno.ENOENT, "No such file or folder", path)


class DiskAdapter(LocalAdapter):
    name = "disk"
    capabilities = Capabilities(readable=True, writable=True, listable=True, local=True, holds_links=True,
                                renamable=True, chunk_inspectable=True)

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        from .. import listing

        if entry.kind in STORE_KINDS:
            from .zarr_store import list_group

            yield from list_group(entry, batch_size)
            return
        yield from listing._list_disk_entry(entry, batch_size, show_hidden, listing._read_node_for_listing(entry.path))

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        from ..listing import describe_disk_entry

        batch: list[Entry] = []
        for entry in entries:
            if entry.error is not None:
                continue
            updated = describe_disk_entry(entry, headers=headers)
            if updated is not entry:
                batch.append(updated)
            if len(batch) >= 512:
                yield batch
                batch = []
        if batch:
            yield batch


DISK = DiskAdapter()
register_adapter(DISK, keys=("disk",))
