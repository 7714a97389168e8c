"""The ``disk`` backend: this machine's folders, scanned with ``os.scandir``.

Disk folders are scanned with ``os.scandir`` rather than polystore's disk ``list_dir``:
that returns one untyped list at once, and the tree must show the first rows of a
100,000-file folder within 100 ms and know folders from files without a ``stat`` each.
Listing gives names and kinds only; :meth:`DiskAdapter.describe` adds what costs a
``stat`` or a header read (size, time, zarr-store detection, a TIFF's shape).

A large folder's listing is a :class:`~.folder_names.FolderNames` (names, folders first;
an ``Entry`` made only when one is asked for), sorted by numpy from ``NUMPY_SORT_FROM``
names while the scan goes on (``RunSorter``). A zarr store met on disk (a folder holding
``zarr.json``, ``.zgroup`` or ``.zarray``) lists as a store (:mod:`.zarr_store`), never as
chunk folders. Everything that reads or writes data goes through polystore.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from ..entries import (
    NUMPY_SORT_FROM, Entry, EntryKind, RunSorter, casefold_order, display_name, kind_for_file_name, sort_names,
)
from ..hidden_names import visible_names
from ..safe_files import file_type_text
from ..zarr_nodes import ZarrNodeMeta
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .common import ListingError, os_error_text, sorted_batches
from .folder_names import FolderNames
from .local import LocalAdapter
from .local_entries import describe_disk_entry, local_entry, zarr_entry  # noqa: F401  (importable from here)
from .zarr_store import list_group, read_node_for_listing

STORE_KINDS = (EntryKind.ZARR_STORE, EntryKind.OME_ZARR, EntryKind.PLATE)


def _list_disk_entry(entry: Entry, batch_size: int, show_hidden: bool, meta: ZarrNodeMeta | None) -> Iterator[list[Entry]]:
    """A disk folder's children; ``meta``: its own zarr metadata, read by the caller (or None)."""
    if meta is not None:
        # A zarr store met while browsing disk expands as a store, never as chunk folders;
        # an array lists as it does under zarr (a leaf, or polystore's virtual files).
        yield from list_group(entry, batch_size, meta)
        return
    yield from _list_disk(entry.path, batch_size, show_hidden)


def _scan_disk(path: str, batch_size: int, show_hidden: bool) -> Iterator[tuple[list[str], list[str], dict[str, Entry]]]:
    """One ``scandir``, no ``stat``: (folder names, file names, odd entries by name) a batch at a time.

    This runs once per file of folders that hold millions, so it does one thing per entry,
    in a comprehension: keep the names of the plain files (by the directory entry's type).
    Folders, symbolic links, hidden and undecodable names (rare) are dealt with after it,
    a batch at a time.
    """
    try:
        iterator = os.scandir(path)
    except OSError as exc:
        raise ListingError(os_error_text(exc, path)) from exc
    prefix = path.rstrip("/") + "/"
    with iterator:
        try:
            while True:
                items = list(islice(iterator, batch_size))
                if not items:
                    return
                files = [item.name for item in items if item.is_file(follow_symlinks=False)]
                dirs: list[str] = []
                odd: list[os.DirEntry[str]] = []
                if len(files) < len(items):
                    for item in items:
                        if item.is_file(follow_symlinks=False):
                            continue
                        try:
                            is_dir = item.is_dir()  # a link to a folder is a folder
                        except OSError:  # a symbolic link loop (ELOOP), or one we may not follow
                            is_dir = False
                        if is_dir:
                            dirs.append(item.name)
                        else:
                            odd.append(item)
                special: dict[str, Entry] = {}
                for item in odd:
                    kind = kind_for_file_name(item.name)
                    files.append(item.name)
                    if item.is_symlink():
                        special[item.name] = _symlink_entry(item, kind)
                    else:  # a FIFO, socket or device: listed as what it is, never opened
                        special[item.name] = _special_file_entry(item)
                if not show_hidden:  # dot-names, and polystore's lock files (model/hidden_names)
                    dirs, files = visible_names(dirs, folders=True), visible_names(files, folders=False)
                _mark_undecodable(dirs, prefix, special, directory=True)
                _mark_undecodable(files, prefix, special, directory=False)
                yield dirs, files, special
                if len(items) < batch_size:
                    return
        except OSError as exc:  # the folder vanished or became unreadable mid-scan
            raise ListingError(os_error_text(exc, path)) from exc


def _mark_undecodable(names: list[str], prefix: str, special: dict[str, Entry], *, directory: bool) -> None:
    if "".join(names).isascii():
        return
    for name in names:
        if name.isascii() or name in special:
            continue
        shown = display_name(name)
        if shown != name:
            kind = EntryKind.DIRECTORY if directory else kind_for_file_name(name)
            special[name] = Entry("disk", prefix + name, shown, kind, detail="name is not valid UTF-8")


def _list_disk(path: str, batch_size: int, show_hidden: bool = True) -> Iterator[list[Entry]]:
    prefix = path.rstrip("/") + "/"
    for dirs, files, special in _scan_disk(path, batch_size, show_hidden):
        yield list(FolderNames("disk", prefix, dirs + files, len(dirs), special))


def _sorted_folder_names(prefix: str, dirs: list[str], files: RunSorter, special: dict[str, Entry],
                         descending: bool) -> FolderNames:
    """Folders first, then files, each sorted by name case-blind (as ``sort_entries`` does)."""
    names = files.names
    if len(dirs) + len(names) >= NUMPY_SORT_FROM:
        orders = [casefold_order(dirs, always=True), files.order()]
        if orders[1] is None:
            orders[1] = casefold_order(names, always=True)
        if orders[0] is not None and orders[1] is not None:
            import numpy as np

            if descending:
                orders = [o[::-1] for o in orders]
            order = np.concatenate([orders[0], orders[1] + len(dirs)])
            return FolderNames("disk", prefix, dirs + names, len(dirs), special, order=order)
    return FolderNames("disk", prefix, sort_names(dirs, descending) + sort_names(names, descending), len(dirs), special)


def sorted_disk_listing(entry: Entry, *, show_hidden: bool = True, field: str = "name", descending: bool = False,
                   batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[str, Any]]:
    """A folder's whole listing in order: ``("rows", [Entry])`` with the first entries read
    (to show at once), then ``("all", Sequence[Entry])``, sorted. Raises ListingError.

    A disk folder sorted by name comes as a :class:`FolderNames` (names only, sorted apart:
    folders first); anything else as a list of entries.
    """
    on_disk = entry.kind not in STORE_KINDS
    meta = read_node_for_listing(entry.path) if on_disk else None  # read once, for either way below
    if on_disk and meta is None and field == "name":
        prefix = entry.path.rstrip("/") + "/"
        dirs: list[str] = []
        files = RunSorter()  # sorts runs of names in a helper thread while the scan goes on
        special: dict[str, Entry] = {}
        try:
            for i, (d, f, s) in enumerate(_scan_disk(entry.path, batch_size, show_hidden)):
                if i == 0:
                    yield ("rows", list(FolderNames("disk", prefix, d + f, len(d), s)))
                dirs += d
                files.extend(f)
                if s:
                    special.update(s)
            listing = _sorted_folder_names(prefix, dirs, files, special, descending)
        finally:  # also when the scan fails or the listing is cancelled (the generator closed)
            files.close()
        yield ("all", listing)
        return
    batches = (_list_disk_entry(entry, batch_size, show_hidden, meta) if on_disk
               else list_group(entry, batch_size))  # a store met on disk lists as a store
    yield from sorted_batches(batches, field, descending)


def _symlink_entry(item: os.DirEntry[str], kind: EntryKind) -> Entry:
    try:
        target = os.readlink(item.path)
    except OSError:
        target = "?"
    shown = display_name(item.name)
    try:
        st = os.stat(item.path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Entry("disk", item.path, shown, EntryKind.ERROR, error=f"Symbolic link loop → {display_name(target)}")
        if isinstance(exc, FileNotFoundError):
            return Entry("disk", item.path, shown, kind, error=f"Broken symbolic link → {display_name(target)}")
        return Entry("disk", item.path, shown, EntryKind.ERROR,
                     error=f"{os_error_text(exc, item.path)} (symbolic link → {display_name(target)})")
    if not stat_module.S_ISREG(st.st_mode) and not stat_module.S_ISDIR(st.st_mode):
        return Entry("disk", item.path, shown, EntryKind.FILE,
                     detail=f"→ {display_name(target)}, a {file_type_text(st.st_mode)}: not opened")
    return Entry("disk", item.path, shown, kind, detail=f"→ {display_name(target)}")


def _special_file_entry(item: os.DirEntry[str]) -> Entry:
    """A FIFO, socket or device: a plain "file" row that says what it is (it is never opened)."""
    shown = display_name(item.name)
    try:
        mode = item.stat(follow_symlinks=False).st_mode
    except OSError as exc:
        return Entry("disk", item.path, shown, EntryKind.ERROR, error=os_error_text(exc, item.path))
    return Entry("disk", item.path, shown, EntryKind.FILE, detail=f"{file_type_text(mode)}: not opened")


class DiskAdapter(LocalAdapter):
    """This machine's folders (see the module docstring)."""

    name = "disk"
    capabilities = Capabilities(readable=True, writable=True, listable=True, local=True, holds_links=True,
                                renamable=True, chunk_inspectable=True)

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        if entry.kind in STORE_KINDS:
            yield from list_group(entry, batch_size)
            return
        yield from _list_disk_entry(entry, batch_size, show_hidden, read_node_for_listing(entry.path))

    def sorted_listing(self, entry: Entry, *, show_hidden: bool = True, field: str = "name",
                       descending: bool = False, batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[str, Any]]:
        """A folder's whole listing in order, the quick way (see ``listing.sorted_listing``)."""
        return sorted_disk_listing(entry, show_hidden=show_hidden, field=field, descending=descending,
                                   batch_size=batch_size)

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        """Size and time (``stat``), whether a folder is a zarr store (and then its facts);
        with ``headers``, a TIFF's shape, dtype and axes from its header (0.2-0.3 ms a file
        against a few microseconds for a ``stat``: right for the rows on screen, not for
        every file of a huge folder). Unchanged entries are not yielded; a vanished one
        comes back with its error set."""
        batch: list[Entry] = []
        for entry in entries:
            if entry.error is not None:
                continue
            updated = describe_disk_entry(entry, headers=headers)
            if updated is not entry:
                batch.append(updated)
            if len(batch) >= DESCRIBE_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


DESCRIBE_BATCH = 512
DISK = DiskAdapter()
register_adapter(DISK, keys=("disk",))
