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

import errno
import os
import stat as stat_module
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from .entries import (
    NUMPY_SORT_FROM, Entry, EntryKind, RunSorter, casefold_order, display_name, kind_for_file_name, sort_entries,
    sort_names,
)
from . import pacing
from .safe_files import file_type_text
from .tiff_facts import is_tiff_name, read_tiff_facts
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node

from .backends.common import ListingError, gc_paused
from .backends.common import os_error_text as _os_error_text

DEFAULT_BATCH = 2048


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
        yield from _list_disk_entry(entry, batch_size, show_hidden, _read_node_for_listing(entry.path))
        return
    yield from _list_generic(entry, batch_size)


def _list_disk_entry(entry: Entry, batch_size: int, show_hidden: bool, meta: ZarrNodeMeta | None) -> Iterator[list[Entry]]:
    """A disk folder's children; ``meta``: its own zarr metadata, read by the caller (or None)."""
    if meta is not None:
        # A zarr store met while browsing disk expands as a store, never as chunk folders;
        # an array lists as it does under zarr (a leaf, or polystore's virtual files).
        yield from _list_zarr_group(entry, batch_size, meta)
        return
    yield from _list_disk(entry.path, batch_size, show_hidden)


# -- disk ---------------------------------------------------------------------------------


class FolderNames(Sequence[Entry]):
    """A disk folder's listing held as names, in order: an Entry is made when one is asked for.

    Scanning a million names costs about 0.6 s here; making an Entry for each (a path string
    and a tuple) cost as much again, and sorting them more, while a view only ever shows a
    screenful. The ``i``-th entry is named ``names[i]``, or ``names[order[i]]`` when a numpy
    ``order`` is given (a large folder's sort: the names are never moved). The first
    ``folders`` entries are folders, the rest files (kinds from extensions). ``special``
    holds, by raw name, the entries that need more than a name (symbolic links, names that
    are not valid UTF-8). Slicing gives a view, never a copy.
    """

    __slots__ = ("backend", "prefix", "names", "order", "folders", "special", "_shared", "_start", "_stop")

    def __init__(self, backend: str, prefix: str, names: list[str], folders: int,
                 special: dict[str, Entry] | None = None, *, order: Any = None,
                 start: int = 0, stop: int | None = None, shared: dict[str, Any] | None = None) -> None:
        self._shared = {} if shared is None else shared  # what its views share: the folded names
        self.backend = backend
        self.prefix = prefix
        self.names = names
        self.order = order
        self.folders = folders
        self.special = special or {}
        self._start = start
        self._stop = len(names) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return [self._make(self._start + j) for j in range(start, stop, step)]
            return FolderNames(self.backend, self.prefix, self.names, self.folders, self.special, order=self.order,
                               start=self._start + start, stop=self._start + max(start, stop), shared=self._shared)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._make(self._start + i)

    def __iter__(self) -> Iterator[Entry]:
        return map(self._make, range(self._start, self._stop))

    def _make(self, j: int) -> Entry:
        name = self.names[j if self.order is None else self.order[j]]
        if self.special:
            entry = self.special.get(name)
            if entry is not None:
                return entry
        kind = EntryKind.DIRECTORY if j < self.folders else kind_for_file_name(name)
        return tuple.__new__(Entry, (self.backend, self.prefix + name, name, kind, None, None, None, None, "", None))

    def name_list(self) -> list[str]:
        """The raw names, in order."""
        return self._names_between(self._start, self._stop)

    def _names_between(self, lo: int, hi: int) -> list[str]:
        """The raw names of entries ``lo`` to ``hi`` of the whole listing, in order."""
        if self.order is None:
            return self.names[lo:hi]
        return list(map(self.names.__getitem__, self.order[lo:hi].tolist()))

    def prepare_folded(self) -> None:
        """Work out every name case-folded, in order, for the filter (a worker's job: a million
        names take 0.4 s, a freeze at the first key typed if the GUI thread did it). Shared
        with the views of this listing made before or after.

        It goes a thousand names at a time, with a pause between: the GUI thread is
        painting the listing meanwhile, and each of its calls into Python waits for the
        interpreter lock while a worker computes (a fold in one go froze it for 0.5 s).
        """
        if "folded" in self._shared:
            return
        import numpy as np

        folded: list[str] = []
        step = 1024  # ~0.4 ms of work: the GUI thread never waits long for the lock
        steps = range(0, len(self.names), step)
        for i in steps:
            block = self._names_between(i, i + step)
            parts = "\0".join(block).casefold().split("\0")
            folded += parts if len(parts) == len(block) else [n.casefold() for n in block]
            pacing.breathe()  # the GUI thread may be painting: let it have the lock
        self._shared["folded"] = folded
        # ...and as a numpy array, which numpy searches 7x quicker than a Python loop.
        width = 1
        for i in steps:
            width = max(width, max(map(len, folded[i:i + step]), default=1))
        try:
            array = np.empty(len(folded), dtype=f"<U{width}")
        except (ValueError, MemoryError):
            return
        for i in steps:
            array[i:i + step] = folded[i:i + step]
            pacing.breathe()  # the GUI thread may be painting: let it have the lock
        self._shared["folded_array"] = array

    def match_positions(self, needle: str, offset: int = 0) -> list[int] | None:
        """The positions (plus ``offset``) of the entries whose case-folded name holds
        ``needle`` (case-folded), searched by numpy; None until :meth:`prepare_folded` ran."""
        array = self._shared.get("folded_array")
        if array is None:
            return None
        import numpy as np

        find = getattr(np, "strings", np.char).find
        found: list[int] = (np.flatnonzero(find(array[self._start:self._stop], needle) >= 0) + offset).tolist()
        return found

    def folded_names(self) -> list[str] | None:
        """The case-folded names in order, once :meth:`prepare_folded` has run (else None)."""
        folded: list[str] | None = self._shared.get("folded")
        return None if folded is None else folded[self._start:self._stop]

    def folder_count(self) -> int:
        """How many of these (the first ones) are folders."""
        return max(0, min(self.folders, self._stop) - self._start)

    def position(self, path: str) -> int | None:
        """Where the entry of ``path`` is (None when it is not one of these)."""
        if not path.startswith(self.prefix):
            return None
        name = path[len(self.prefix):]
        try:
            if self.order is None:
                return self.names.index(name, self._start, self._stop) - self._start
            at = self.names.index(name)
        except ValueError:
            return None
        import numpy as np

        found = np.flatnonzero(self.order[self._start:self._stop] == at)
        return int(found[0]) if len(found) else None


def listing_names(entries: Sequence[Entry]) -> list[str]:
    """The names of a listing, in order; quick for a :class:`FolderNames` (and what holds them)."""
    names = getattr(entries, "name_list", None)
    return names() if names is not None else [e.name for e in entries]


def folded_names(entries: Sequence[Entry]) -> list[str]:
    """The names of a listing case-folded, in order (what the filter matches): prepared in
    the worker for a large disk folder, worked out here for anything else."""
    prepared = getattr(entries, "folded_names", None)
    folded: list[str] | None = prepared() if prepared is not None else None
    return folded if folded is not None else [n.casefold() for n in listing_names(entries)]


def match_positions(entries: Sequence[Entry], needle: str, offset: int = 0) -> list[int]:
    """Where (plus ``offset``) the entries whose names hold ``needle`` are (case-blind), in order."""
    needle = needle.casefold()
    matcher = getattr(entries, "match_positions", None)
    found: list[int] | None = matcher(needle, offset) if matcher is not None else None
    if found is not None:
        return found
    return [i + offset for i, name in enumerate(folded_names(entries)) if needle in name]


def listing_position(entries: Sequence[Entry], path: str) -> int | None:
    """Where the entry of ``path`` is in a listing (None when it is not there)."""
    position = getattr(entries, "position", None)
    if position is not None:
        found: int | None = position(path)
        return found
    return next((i for i, e in enumerate(entries) if e.path == path), None)


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
        raise ListingError(_os_error_text(exc, path)) from exc
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
                if not show_hidden:
                    dirs, files = _not_hidden(dirs), _not_hidden(files)
                _mark_undecodable(dirs, prefix, special, directory=True)
                _mark_undecodable(files, prefix, special, directory=False)
                yield dirs, files, special
                if len(items) < batch_size:
                    return
        except OSError as exc:  # the folder vanished or became unreadable mid-scan
            raise ListingError(_os_error_text(exc, path)) from exc


def _not_hidden(names: list[str]) -> list[str]:
    joined = "\0".join(names)
    if joined.startswith(".") or "\0." in joined:
        return [n for n in names if not n.startswith(".")]
    return names


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


def sorted_listing(entry: Entry, *, show_hidden: bool = True, field: str = "name", descending: bool = False,
                   batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[str, Any]]:
    """A folder's whole listing in order: ``("rows", [Entry])`` with the first entries read
    (to show at once), then ``("all", Sequence[Entry])``, sorted. Raises ListingError.

    A disk folder sorted by name comes as a :class:`FolderNames` (names only, sorted apart:
    folders first); anything else as a list of entries.
    """
    on_disk = entry.backend == "disk" and entry.kind not in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR)
    meta = _read_node_for_listing(entry.path) if on_disk else None  # read once, for either way below
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
    listed: list[Entry] = []
    batches = (_list_disk_entry(entry, batch_size, show_hidden, meta) if on_disk
               else list_children(entry, batch_size=batch_size, show_hidden=show_hidden))
    for i, batch in enumerate(batches):
        listed.extend(batch)
        if i == 0:
            yield ("rows", batch)
    yield ("all", sort_entries(listed, field, descending))


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
                     error=f"{_os_error_text(exc, item.path)} (symbolic link → {display_name(target)})")
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
        return Entry("disk", item.path, shown, EntryKind.ERROR, error=_os_error_text(exc, item.path))
    return Entry("disk", item.path, shown, EntryKind.FILE, detail=f"{file_type_text(mode)}: not opened")


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
    quick = _consolidated_members(entry.path, backend)
    if quick is not None:
        for start in range(0, len(quick), batch_size):
            yield quick[start:start + batch_size]
        return
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


def _consolidated_members(path: str, backend: str) -> list[Entry] | None:
    """A group's members from its consolidated metadata (one document instead of a metadata
    read per member), when there is a document and it is fresh: the folders under the group
    are exactly the members it names (see ``zarr_consolidated``). None: read each member."""
    from . import zarr_consolidated

    def folders() -> Iterator[str]:  # listed only when there is a document to compare with
        with os.scandir(path) as it:
            yield from (item.name for item in it if item.is_dir())

    try:  # one walk up the hierarchy (fresh_members finds the document itself)
        members = zarr_consolidated.fresh_members(path, folders())
    except OSError:
        return None
    if members is None:
        return None
    return [zarr_entry(meta, backend, display_name(name)) for name, meta in sorted(members.items())]


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


def memory_entry(backend: Any, path: str, *, listed: bool = True) -> Entry:
    """The entry for a memory key; ``listed``: the key was just listed (so if it is missing
    now, it "no longer exists"; an address typed by the user "does not exist")."""
    name = path.rstrip("/").rsplit("/", 1)[-1] or "/"
    try:
        value = backend.load(path)
    except IsADirectoryError:
        return Entry("memory", path, name, EntryKind.DIRECTORY)
    except FileNotFoundError:
        said = "No longer exists" if listed else "Does not exist"
        return Entry("memory", path, name, EntryKind.ERROR, error=f"{said}: memory:{path}")
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


def describe(entries: Iterable[Entry], *, batch_size: int = 512, headers: bool = True) -> Iterator[list[Entry]]:
    """Yield, in batches, the entries whose details could be learnt, with those details.

    For disk: size and modified time (``lstat``/``stat``), and whether a directory is a
    zarr store (and then its shape/dtype if it is an array); with ``headers``, a TIFF's
    shape, dtype and axes from its header (0.2-0.3 ms a file against a few microseconds for
    a ``stat``: right for the rows on screen, not for every file of a huge folder). Entries
    that did not change are not yielded. A vanished entry comes back with its error set.
    """
    batch: list[Entry] = []
    for entry in entries:
        if entry.backend != "disk" or entry.error is not None:
            continue
        updated = describe_disk_entry(entry, headers=headers)
        if updated is not entry:
            batch.append(updated)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def describe_disk_entry(entry: Entry, *, headers: bool = True) -> Entry:
    """``entry`` (a file or folder on disk) with its size, time, and zarr facts if it is a
    node; with ``headers``, a TIFF's facts (see :func:`describe`)."""
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
    if headers and stat_module.S_ISREG(st.st_mode) and st.st_size >= 8 and is_tiff_name(entry.path):  # 8: its header
        return _with_tiff_facts(entry.with_details(size=st.st_size, modified=st.st_mtime))
    return entry.with_details(size=st.st_size, modified=st.st_mtime)


def _with_tiff_facts(entry: Entry) -> Entry:
    """A TIFF's shape, dtype and axes, from its header (no pixel read; see tiff_facts)."""
    try:
        facts = read_tiff_facts(entry.path)
    except Exception:  # not what its name says, or unreadable: listed as a file; `info` says why
        return entry.with_details(detail="not a readable TIFF")
    return entry.with_details(shape=facts.shape, dtype=facts.dtype, detail=facts.detail)


def entry_for_path(backend: str, path: str) -> Entry:
    """The entry for one address (used for roots and by the CLI); never raises."""
    name = os.path.basename(path.rstrip("/")) or path
    if backend == "memory":
        if path == "/":
            memory_backend()
            return Entry("memory", "/", "/", EntryKind.ROOT)
        return memory_entry(memory_backend(), path, listed=False)
    if backend in ("disk", "zarr", "ome_zarr"):
        shown = display_name(name)
        if not os.path.lexists(path):  # nothing says it ever existed: not "no longer exists"
            return Entry(backend, path, shown, EntryKind.ERROR, error=f"Does not exist: {display_name(path)}")
        kind = EntryKind.DIRECTORY if os.path.isdir(path) else kind_for_file_name(name)
        return describe_disk_entry(Entry(backend, path, shown, kind))
    return Entry(backend, path, name, EntryKind.DIRECTORY)
