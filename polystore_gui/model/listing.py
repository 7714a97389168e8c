"""Listing what a backend holds: generators of entry batches, and a details pass.

Both are generators so that a worker can run them, hand each batch to the GUI as it
comes, and stop between batches when the user cancels (closing the generator).

Listing is cheap by design: names and kinds only (one ``scandir`` for disk, metadata
files for zarr). What costs a ``stat`` or a metadata read per entry (size, modified,
zarr-store detection, shape and dtype) comes from :func:`describe`, run afterwards.

Disk directories are scanned with ``os.scandir`` rather than the disk backend's
``list_dir``: that returns one untyped list at once, and the tree must show the first
rows of a 100,000-file folder within 100 ms. Memory goes through polystore's memory
backend; zarr hierarchies are read from their node metadata (``zarr_nodes``).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import threading
import stat as stat_module
from collections.abc import Iterable, Iterator
from typing import Any

from .entries import _EXTENSION_KINDS, Entry, EntryKind, display_name, kind_for_file_name
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node

DEFAULT_BATCH = 2048


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic garbage collection while listing a large folder (any thread may nest this).

    A listing makes an object per entry: a million of them made the collector traverse a
    growing heap again and again (listing 1,000,000 files took 3-7 s instead of 1.5 s, and
    each full collection froze the GUI thread for 0.1-0.5 s). ``freeze``: move what exists
    out of the collector's sight when the pause ends, so that the first collection after it
    does not traverse the new objects either (they are freed by reference counting as usual).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if freeze:
                gc.freeze()
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class ListingError(Exception):
    """A listing failed as a whole; the message is meant for the user."""


def _os_error_text(exc: OSError, path: str) -> str:
    shown = display_name(path)
    if isinstance(exc, PermissionError):
        return f"Permission denied: {shown}"
    if isinstance(exc, FileNotFoundError):
        return f"No longer exists: {shown}"
    if isinstance(exc, NotADirectoryError):
        return f"Not a folder: {shown}"
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
    return f"{reason}: {shown}"


def _read_node_for_listing(path: str) -> ZarrNodeMeta | None:
    try:
        return read_node(path)
    except CorruptMetadataError as exc:
        raise ListingError(str(exc)) from exc
    except OSError as exc:
        raise ListingError(_os_error_text(exc, path)) from exc


def list_children(
    entry: Entry, *, batch_size: int = DEFAULT_BATCH, show_hidden: bool = True
) -> Iterator[list[Entry]]:
    """Yield the children of ``entry`` in batches. Raises ListingError when it cannot list.

    ``show_hidden=False`` leaves out disk names starting with a dot.
    """
    if entry.backend == "memory":
        yield from _list_memory(entry.path, batch_size)
        return
    if entry.backend in ("zarr", "ome_zarr") or entry.kind in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR):
        yield from _list_zarr_group(entry, batch_size)
        return
    if entry.backend == "disk":
        meta = _read_node_for_listing(entry.path)
        if meta is not None:
            # A zarr store met while browsing disk expands as a store, never as chunk folders.
            if meta.node_type == "array":
                return
            yield from _list_zarr_group(entry, batch_size, meta)
            return
        yield from _list_disk(entry.path, batch_size, show_hidden)
        return
    yield from _list_generic(entry, batch_size)


# -- disk ---------------------------------------------------------------------------------


def _list_disk(path: str, batch_size: int, show_hidden: bool = True) -> Iterator[list[Entry]]:
    """One ``scandir``: names and kinds from the directory entry types, no ``stat``.

    This loop runs once per file of folders that hold millions, so it stays plain:
    kinds by extension from a dict, entries built positionally, symlinks and odd
    names (rare) handled off the fast path.
    """
    try:
        iterator = os.scandir(path)
    except OSError as exc:
        raise ListingError(_os_error_text(exc, path)) from exc
    directory = EntryKind.DIRECTORY
    plain_file = EntryKind.FILE
    kinds = _EXTENSION_KINDS
    by_extension: dict[str, EntryKind] = {}
    # Entry(...) through the NamedTuple's Python __new__ costs twice what the tuple itself
    # does; the fields in order: backend, path, name, kind, size, modified, shape, dtype,
    # detail, error.
    new = tuple.__new__
    entry_type = Entry
    prefix = path.rstrip("/") + "/"
    with iterator:
        batch: list[Entry] = []
        append = batch.append
        left = batch_size
        try:
            for item in iterator:
                name = item.name
                if not show_hidden and name[0] == ".":
                    continue
                if item.is_dir():
                    kind = directory
                else:
                    dot = name.rfind(".")
                    if dot > 0:
                        extension = name[dot:]
                        known = by_extension.get(extension)
                        if known is None:  # once per extension met, whatever its case
                            known = by_extension[extension] = kinds.get(extension.lower(), plain_file)
                        kind = known
                    else:
                        kind = plain_file
                    if item.is_symlink():
                        append(_symlink_entry(item, kind))
                        continue
                if name.isascii():
                    append(new(entry_type, ("disk", prefix + name, name, kind, None, None, None, None, "", None)))
                else:
                    append(_unusual_name_entry(item, kind))
                left -= 1
                if not left:
                    yield batch
                    batch = []
                    append = batch.append
                    left = batch_size
        except OSError as exc:  # the folder vanished or became unreadable mid-scan
            raise ListingError(_os_error_text(exc, path)) from exc
        if batch:
            yield batch


def _symlink_entry(item: os.DirEntry[str], kind: EntryKind) -> Entry:
    try:
        target = os.readlink(item.path)
    except OSError:
        target = "?"
    shown = display_name(item.name)
    if not os.path.exists(item.path):
        return Entry("disk", item.path, shown, kind, error=f"Broken symbolic link → {display_name(target)}")
    return Entry("disk", item.path, shown, kind, detail=f"→ {display_name(target)}")


def _unusual_name_entry(item: os.DirEntry[str], kind: EntryKind) -> Entry:
    shown = display_name(item.name)
    detail = "" if shown == item.name else "name is not valid UTF-8"
    return Entry("disk", item.path, shown, kind, detail=detail)


# -- zarr ---------------------------------------------------------------------------------


def zarr_entry(meta: ZarrNodeMeta, backend: str, name: str, *, top_level: bool = False) -> Entry:
    """The entry for a zarr node whose metadata has been read."""
    if meta.node_type == "array":
        kind = EntryKind.POLYSTORE_ARRAY if meta.filename_map else EntryKind.ARRAY
    elif meta.is_ome:
        kind = EntryKind.OME_ZARR
    elif top_level:
        kind = EntryKind.ZARR_STORE
    else:
        kind = EntryKind.GROUP
    detail = f"zarr v{meta.zarr_format}"
    if meta.shards is not None:
        detail += ", sharded"
    if meta.filename_map:
        detail += f", {len(meta.filename_map)} virtual files"
    return Entry(
        backend,
        meta.path,
        name,
        kind,
        size=meta.nbytes,
        modified=meta.metadata_mtime,
        shape=meta.shape,
        dtype=meta.dtype,
        detail=detail,
    )


def _zarr_backend_for(entry: Entry, meta: ZarrNodeMeta | None) -> str:
    if entry.backend in ("zarr", "ome_zarr"):
        return entry.backend
    if entry.kind is EntryKind.OME_ZARR or (meta is not None and meta.is_ome_container):
        return "ome_zarr"
    return "zarr"


def _list_zarr_group(
    entry: Entry, batch_size: int, meta: ZarrNodeMeta | None = None
) -> Iterator[list[Entry]]:
    if meta is None:
        meta = _read_node_for_listing(entry.path)
        if meta is None:
            raise ListingError(f"Not a zarr group (no zarr.json or .zgroup): {display_name(entry.path)}")
    if meta.node_type == "array":
        # An array is a leaf: chunk keys are never children. The one exception is an
        # array written by polystore's save_batch: its children are polystore's "files".
        if meta.filename_map:
            yield from _list_virtual_files(entry, meta, batch_size)
        return
    backend = _zarr_backend_for(entry, meta)
    try:
        iterator = os.scandir(entry.path)
    except OSError as exc:
        raise ListingError(_os_error_text(exc, entry.path)) from exc
    batch: list[Entry] = []
    with iterator:
        for item in iterator:
            try:
                if not item.is_dir():
                    continue
            except OSError:
                continue
            name = display_name(item.name)
            try:
                child = read_node(item.path)
            except CorruptMetadataError as exc:
                batch.append(Entry(backend, item.path, name, EntryKind.ERROR, error=str(exc)))
                continue
            except OSError as exc:
                batch.append(
                    Entry(backend, item.path, name, EntryKind.ERROR, error=_os_error_text(exc, item.path))
                )
                continue
            if child is None:
                continue  # not a member (stray folder inside a group)
            batch.append(zarr_entry(child, backend, name))
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _list_virtual_files(entry: Entry, meta: ZarrNodeMeta, batch_size: int) -> Iterator[list[Entry]]:
    """polystore's virtual files of one array, addressed as polystore addresses them."""
    from .zarr_nodes import store_root

    mapping = meta.filename_map or {}
    root = store_root(entry.path) or os.path.dirname(entry.path)
    backend = entry.backend if entry.backend in ("zarr", "ome_zarr") else "zarr"
    plane = meta.shape[-2:] if meta.shape is not None and len(meta.shape) >= 2 else None
    itemsize = None
    if meta.dtype is not None and plane is not None:
        import numpy as np

        itemsize = int(np.dtype(meta.dtype).itemsize)
    batch: list[Entry] = []
    for name, coords in sorted(mapping.items()):
        batch.append(
            Entry(
                backend,
                os.path.join(root, name),
                name,
                EntryKind.VIRTUAL_FILE,
                size=plane[0] * plane[1] * itemsize if plane and itemsize else None,
                modified=meta.metadata_mtime,
                shape=plane,
                dtype=meta.dtype,
                detail=f"plane {list(coords)} of {os.path.relpath(entry.path, root)}",
            )
        )
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- memory -------------------------------------------------------------------------------


def memory_backend() -> Any:
    """polystore's in-process memory backend (the registry's cached instance), rooted at ``/``."""
    from polystore.backend_registry import get_backend_instance

    backend = get_backend_instance("memory")
    if not backend.exists("/"):
        backend.ensure_directory("/")
    return backend


def memory_entry(backend: Any, path: str) -> Entry:
    name = path.rstrip("/").rsplit("/", 1)[-1] or "/"
    try:
        value = backend.load(path)
    except IsADirectoryError:
        return Entry("memory", path, name, EntryKind.DIRECTORY)
    except FileNotFoundError:
        return Entry("memory", path, name, EntryKind.ERROR, error=f"No longer exists: {path}")
    return _memory_value_entry(path, name, value)


def _memory_value_entry(path: str, name: str, value: Any) -> Entry:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        try:
            nbytes = int(getattr(value, "nbytes"))
        except (TypeError, ValueError, AttributeError):
            nbytes = None
        return Entry(
            "memory", path, name, EntryKind.ARRAY,
            size=nbytes, shape=tuple(int(s) for s in shape), dtype=str(dtype),
            detail=type(value).__name__,
        )
    if isinstance(value, (bytes, bytearray)):
        return Entry("memory", path, name, kind_for_file_name(name), size=len(value), detail="bytes")
    if isinstance(value, str):
        return Entry("memory", path, name, EntryKind.TEXT_FILE, size=len(value.encode()), detail="text")
    return Entry("memory", path, name, EntryKind.OBJECT, detail=type(value).__name__)


def _list_memory(path: str, batch_size: int) -> Iterator[list[Entry]]:
    backend = memory_backend()
    try:
        names = sorted(n for n in backend.list_dir(path) if n)
    except FileNotFoundError as exc:
        raise ListingError(f"No longer exists: memory:{path}") from exc
    except NotADirectoryError as exc:
        raise ListingError(f"Not a folder: memory:{path}") from exc
    prefix = path.rstrip("/") + "/"
    batch: list[Entry] = []
    for name in names:
        batch.append(memory_entry(backend, prefix + name))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- other backends -------------------------------------------------------------------------


def _list_generic(entry: Entry, batch_size: int) -> Iterator[list[Entry]]:
    """Any other readable backend, through its own ``list_dir``/``is_dir``."""
    from polystore.backend_registry import get_backend_instance

    try:
        backend = get_backend_instance(entry.backend)
        names = sorted(backend.list_dir(entry.path))
    except Exception as exc:  # a backend's own failure is shown, never raised through
        raise ListingError(f"{entry.backend} cannot list {entry.path}: {exc}") from exc
    prefix = entry.path.rstrip("/") + "/"
    batch: list[Entry] = []
    for name in names:
        child = prefix + name
        try:
            is_dir = bool(backend.is_dir(child))
        except Exception:
            is_dir = False
        kind = EntryKind.DIRECTORY if is_dir else kind_for_file_name(name)
        batch.append(Entry(entry.backend, child, name, kind))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- details --------------------------------------------------------------------------------


def describe(entries: Iterable[Entry], *, batch_size: int = 512) -> Iterator[list[Entry]]:
    """Yield, in batches, the entries whose details could be learnt, with those details.

    For disk: size and modified time (``lstat``/``stat``), and whether a directory is a
    zarr store (and then its shape/dtype if it is an array). Entries that did not change
    are not yielded. A vanished entry comes back with its error set.
    """
    batch: list[Entry] = []
    for entry in entries:
        if entry.backend != "disk" or entry.error is not None:
            continue
        updated = describe_disk_entry(entry)
        if updated is not entry:
            batch.append(updated)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def describe_disk_entry(entry: Entry) -> Entry:
    """``entry`` (a file or folder on disk) with its size, time, and zarr facts if it is a node."""
    try:
        st = os.stat(entry.path)
    except OSError as exc:
        return entry.with_details(error=_os_error_text(exc, entry.path))
    if stat_module.S_ISDIR(st.st_mode):
        try:
            meta = read_node(entry.path)
        except CorruptMetadataError as exc:
            return entry.with_details(kind=EntryKind.ZARR_STORE, modified=st.st_mtime, error=str(exc))
        except OSError:
            meta = None  # unreadable folder: the listing will say why when expanded
        if meta is not None:
            described = zarr_entry(meta, entry.backend, entry.name, top_level=True)
            return described.with_details(modified=st.st_mtime)
        return entry.with_details(modified=st.st_mtime)
    return entry.with_details(size=st.st_size, modified=st.st_mtime)


def entry_for_path(backend: str, path: str) -> Entry:
    """The entry for one address (used for roots and by the CLI); never raises."""
    name = os.path.basename(path.rstrip("/")) or path
    if backend == "memory":
        if path == "/":
            memory_backend()
            return Entry("memory", "/", "/", EntryKind.ROOT)
        return memory_entry(memory_backend(), path)
    if backend in ("disk", "zarr", "ome_zarr"):
        shown = display_name(name)
        if not os.path.lexists(path):
            return Entry(backend, path, shown, EntryKind.ERROR, error=f"No longer exists: {display_name(path)}")
        kind = EntryKind.DIRECTORY if os.path.isdir(path) else kind_for_file_name(name)
        return describe_disk_entry(Entry(backend, path, shown, kind))
    return Entry(backend, path, name, EntryKind.DIRECTORY)
