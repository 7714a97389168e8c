"""Entries: the frozen facts the tree shows, one per row."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class EntryKind(str, enum.Enum):
    """What a row is."""

    BACKEND = "backend"
    ROOT = "root"
    DIRECTORY = "directory"
    FILE = "file"
    IMAGE_FILE = "image"
    ARRAY_FILE = "npy"
    TABLE_FILE = "table"
    TEXT_FILE = "text"
    ZARR_STORE = "zarr store"
    PLATE = "plate"  # a zarr store that is an HCS plate (OME 0.4/0.5 or polystore's)
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


# A DIRECTORY entry whose detail ends so is a plain folder that is a plate (polystore's, or
# plate TIFFs: model/plate_folders.py); its Kind column says "plate" as a zarr plate's does.
PLATE_FOLDER_SUFFIX = " plate folder"


_EXPANDABLE = frozenset(
    {
        EntryKind.BACKEND,
        EntryKind.ROOT,
        EntryKind.DIRECTORY,
        EntryKind.ZARR_STORE,
        EntryKind.PLATE,
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


_FILE = EntryKind.FILE


def kind_for_file_name(name: str) -> EntryKind:
    """The kind of a plain file, from its extension (cheap: no I/O)."""
    dot = name.rfind(".")
    if dot <= 0:
        return _FILE
    return _EXTENSION_KINDS.get(name[dot:].lower(), _FILE)


class Entry(NamedTuple):
    """One thing a backend holds, as far as it is known. Immutable.

    ``path`` is what the backend takes (for disk it may hold surrogate escapes for bytes
    that are not UTF-8); ``name`` is always displayable text. Fields that cost I/O to learn
    (size, modified, shape, dtype) are ``None`` until a details pass fills them in.

    A NamedTuple rather than a frozen dataclass: a folder of a million files makes a
    million of these, and a frozen dataclass costs five times as much to build.
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
        return self._replace(**changes)

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


def human_size(n: int | None, *, short: bool = False) -> str:
    """Bytes for people: ``"8.0 MiB"`` (``"8.0M"`` with ``short``); empty for None."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    if unit == "B":
        return f"{int(size)}B" if short else f"{int(size)} B"
    return f"{size:.1f}{unit[0]}" if short else f"{size:.1f} {unit}"


def display_name(raw: str) -> str:
    """Text a person can read for a name that may carry surrogate escapes (non-UTF-8 bytes)."""
    try:
        raw.encode("utf-8")
        return raw
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


SORT_FIELDS = ("name", "kind", "size", "shape", "dtype", "modified")


def name_key(name: str) -> tuple[str, str]:
    """The order of names: case-blind (``str.casefold``), then, for names equal but for
    case, the exact name (code points: ``"A"`` before ``"a"``). Every way of sorting here
    (Python's sort, numpy's, runs merged while listing) gives this one order, whatever the
    folder's size; descending is its exact reverse."""
    return (name.casefold(), name)


def sort_key(entry: Entry, field: str = "name") -> tuple[Any, ...]:
    """Folders (anything expandable) first, then ``field``, then the name (:func:`name_key`)."""
    folder_first = 0 if entry.kind.expandable else 1
    name = entry.name.casefold()
    if field == "size":
        return (folder_first, entry.size if entry.size is not None else -1, name, entry.name)
    if field == "modified":
        return (folder_first, entry.modified or 0.0, name, entry.name)
    if field == "kind":
        return (folder_first, entry.kind.value, name, entry.name)
    if field == "shape":
        return (folder_first, entry.shape or (), name, entry.name)
    if field == "dtype":
        return (folder_first, entry.dtype or "", name, entry.name)
    return (folder_first, name, entry.name)


def _casefold_name(entry: Entry) -> str:
    return entry.name.casefold()


def _exact_name(entry: Entry) -> str:
    return entry.name


# From this many entries names are sorted with numpy: a C-level list.sort holds the
# interpreter lock from start to end (50 ms per 100,000 names here, 0.7-0.8 s per million),
# while numpy's argsort lets go of it; numpy is as quick at 100,000 names (50 ms, a third
# of it holding the lock) and quicker above. Below this, Python's sort and no numpy import.
# The names go to numpy in slices, each conversion holding the lock a few milliseconds.
NUMPY_SORT_FROM = 50_000
_SLICE = 32_768


def casefold_order(names: list[str], *, always: bool = False) -> Any:
    """The order of ``names`` (:func:`name_key`), as a numpy array of positions (numpy
    sorts without the interpreter lock); None when Python's own sort is the better choice
    (fewer than ``NUMPY_SORT_FROM`` names, unless ``always``), or numpy cannot hold the names.

    ASCII names (nearly always) go through :class:`RunSorter`, as bytes: their case folding
    is ``lower()``, and bytes compare four times faster than text. Other names are folded
    and put into the array a slice at a time, each C call holding the lock a few milliseconds.
    """
    if len(names) < NUMPY_SORT_FROM and not always:
        return None
    sorter = RunSorter()
    sorter.extend(names)
    order = sorter.order(always=True)
    if order is not None:
        return order
    try:
        import numpy as np

        if not names:
            return np.empty(0, dtype=np.intp)
        slices = range(0, len(names), _SLICE)
        pieces = [[n.casefold() for n in names[i:i + _SLICE]] for i in slices]
        if any("\0" in "".join(part) for part in pieces):
            return None  # numpy's text drops trailing NULs: such keys would compare wrong
        width = max(max(map(len, part)) for part in pieces)
        keys = np.empty(len(names), dtype=f"<U{max(1, width)}")
        for i, part in zip(slices, pieces):
            keys[i:i + len(part)] = part
        del pieces
        order = np.argsort(keys, kind="stable")  # lets go of the lock while it sorts
        return _break_ties(keys[order], order, names)
    except (ValueError, UnicodeError, MemoryError):  # names numpy cannot hold: Python's sort
        return None


def _break_ties(sorted_keys: Any, order: Any, names: list[str]) -> Any:
    """``order`` (positions in ``names``, sorted by their folded ``sorted_keys``) with each
    run of equal keys put in the exact names' order, as :func:`name_key` says. Such runs
    (names equal but for case) are rare: one vectorised comparison finds them."""
    import numpy as np

    if len(order) < 2:
        return order
    same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])  # i: key i equals key i + 1
    if not len(same):
        return order
    order = order.copy()
    breaks = np.flatnonzero(np.diff(same) != 1)
    starts = np.concatenate((same[:1], same[breaks + 1])).tolist()
    ends = (np.concatenate((same[breaks], same[-1:])) + 2).tolist()
    take = names.__getitem__
    for start, end in zip(starts, ends):
        order[start:end] = sorted(order[start:end].tolist(), key=take)
    return order


class RunSorter:
    """Names sorted case-blind while they are still being listed.

    Each run of ``RUN`` names that arrives is handed to a helper thread. numpy sorts it
    there without the interpreter lock, on the other core, while the scan goes on. At the
    end one stable sort of the sorted runs, laid end to end, merges them (timsort finds
    the runs), and the last, partial run is sorted then too. A million names: 0.13 s after
    the scan instead of 0.3-0.5 s. Only ASCII names take this way (sorted as lowered bytes);
    for anything else :meth:`order` answers None and the caller sorts the usual way.
    """

    RUN = 32_768

    def __init__(self) -> None:
        self.names: list[str] = []
        self._next = 0  # names before this are in a run already
        self._runs: list[Any] = []  # futures of (sorted keys, their positions)
        self._pool: Any = None
        self._ascii = True

    def extend(self, names: list[str]) -> None:
        self.names += names
        while self._ascii and len(self.names) - self._next >= self.RUN:
            self._launch(self._next, self._next + self.RUN)
            self._next += self.RUN

    def _keys(self, lo: int, hi: int) -> Any:
        import numpy as np

        block = self.names[lo:hi]
        joined = "\0".join(block)
        parts = joined.lower().encode("ascii").split(b"\0") if joined.isascii() else None
        if parts is None or len(parts) != len(block):  # not ASCII, or a name holds NUL
            self._ascii = False
            return None
        return np.array(parts)

    def _launch(self, lo: int, hi: int) -> None:
        keys = self._keys(lo, hi)
        if keys is None:
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="polystore-gui-sort")
        self._runs.append(self._pool.submit(_sorted_run, keys, lo))

    def order(self, descending: bool = False, *, always: bool = False) -> Any:
        """Every name's position, in order (a numpy array); None when not sorted here (also
        for fewer than ``NUMPY_SORT_FROM`` names, unless ``always``)."""
        try:
            if not self._ascii or (len(self.names) < NUMPY_SORT_FROM and not always):
                return None
            import numpy as np

            runs = [future.result() for future in self._runs]
            if self._next < len(self.names):
                keys = self._keys(self._next, len(self.names))
                if keys is None:
                    return None
                runs.append(_sorted_run(keys, self._next))
            if not runs:
                return np.empty(0, dtype=np.intp)
            merged = np.concatenate([positions for _keys, positions in runs])
            keys = np.concatenate([keys for keys, _positions in runs])
            by_key = np.argsort(keys, kind="stable")
            order = _break_ties(keys[by_key], merged[by_key], self.names)
            return order[::-1] if descending else order
        except (ValueError, UnicodeError, MemoryError):
            return None
        finally:
            self.close()

    def close(self) -> None:
        """Let the helper thread go (the runs not sorted yet are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _sorted_run(keys: Any, base: int) -> tuple[Any, Any]:
    import numpy as np

    order = np.argsort(keys, kind="stable")
    return keys[order], order + base


def _in_order(items: list[Any], order: Any, descending: bool) -> list[Any]:
    if descending:
        order = order[::-1]
    out: list[Any] = []
    take = items.__getitem__
    for i in range(0, len(order), _SLICE // 4):
        out.extend(map(take, order[i:i + _SLICE // 4].tolist()))
    return out


def _sort_by_name(entries: list[Entry], descending: bool) -> list[Entry]:
    order = casefold_order([e.name for e in entries]) if len(entries) >= NUMPY_SORT_FROM else None
    if order is None:
        # Two sorts on plain string keys (compared in C) are quicker than one on tuples.
        entries.sort(key=_exact_name)
        entries.sort(key=_casefold_name)
        if descending:
            entries.reverse()
        return entries
    return _in_order(entries, order, descending)


def sort_names(names: list[str], descending: bool = False) -> list[str]:
    """Names in the order of :func:`name_key`, as :func:`sort_entries` sorts entries by name."""
    order = casefold_order(names)
    if order is None:
        ordered = sorted(names)
        ordered.sort(key=str.casefold)
        if descending:
            ordered.reverse()
        return ordered
    return _in_order(names, order, descending)


def sort_entries(entries: list[Entry], field: str = "name", descending: bool = False) -> list[Entry]:
    """A sorted copy; descending reverses the order within folders and within files."""
    if field == "name":
        # The common case, for folders of a million entries: folders and files sorted
        # apart on plain string keys (compared in C), no tuple per entry.
        expandable = _EXPANDABLE
        folders = [e for e in entries if e.kind in expandable]
        files = [e for e in entries if e.kind not in expandable] if folders else list(entries)
        return _sort_by_name(folders, descending) + _sort_by_name(files, descending)
    ordered = sorted(entries, key=lambda e: sort_key(e, field), reverse=descending)
    if descending:
        ordered.sort(key=lambda e: 0 if e.kind.expandable else 1)  # stable: folders stay first
    return ordered
