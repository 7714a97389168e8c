"""A disk folder's listing held as names (:class:`FolderNames`), and the helpers that read
any listing quickly whether it is one or a plain list (names, folded names, matches, where
an entry is).

Kept apart from the scan (:mod:`.disk`) because the views use it too: the tree, the folder
list and the filter ask it for names and positions without making an ``Entry`` per row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import pacing
from ..entries import Entry, EntryKind, kind_for_file_name


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
