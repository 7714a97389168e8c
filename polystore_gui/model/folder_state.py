"""One folder's listing as far as it is known: the object the backend tree and the folder
list are two views of.

A folder is unlisted, loading, listed or failed (:class:`Phase`). Once listed it holds its
whole listing in order (``listing``: a list of entries, or a large disk folder's
:class:`~polystore_gui.model.listing.FolderNames`, names only), the facts learnt since for
some of its entries (``details``, by path: sizes, times, zarr facts from the details
pass), whether every entry's details are known (``described``), how many are still being
described to sort by a column that needs them (``remaining``), and why it failed
(``error``). ``generation`` changes each time the folder is listed again, so that a late
answer for an earlier listing is recognised and dropped.

Views subscribe to it (:meth:`FolderState.subscribe`) and are told what changed
(:class:`Change`); no view relays anything to another. A view that shows entries whose
details are not known asks for them (:meth:`FolderState.want_details`); whoever lists the
folder (the tree model) learns them in a worker and hands them back (:meth:`learn`).

No Qt here: the tree's rows and the folder list's table are Qt's business, the listing is
not. Nothing here loops over a whole listing: a million entries stay where they are. It is
used from one thread (the GUI's): workers list and describe, and their answers reach it
through their jobs' signals.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from .entries import Entry

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    """Where a folder's listing is."""

    UNLISTED = "unlisted"
    LOADING = "loading"
    LISTED = "listed"
    FAILED = "failed"


class Change(enum.Enum):
    """What a :class:`FolderState` tells its views."""

    LISTED = "listed"  # a whole listing arrived (first, again, merged or in a new order)
    DETAILS = "details"  # facts learnt for some entries (given with the change)
    PROGRESS = "progress"  # the pass describing every entry moved on (``remaining``)
    FAILED = "failed"  # the listing failed (``error``)
    LOADING = "loading"  # the folder is being listed (again); its old listing is dropped


class FolderListener(Protocol):
    def folder_changed(self, folder: FolderState, change: Change, entries: Sequence[Entry]) -> None: ...


DetailsWanted = Callable[["FolderState", list[Entry]], None]


class FolderState:
    """One folder's listing: phase, entries in order, details learnt, counts, error."""

    __slots__ = ("backend", "path", "phase", "listing", "order", "details", "described", "remaining", "error",
                 "generation", "details_wanted", "_listeners")

    def __init__(self, backend: str, path: str, *, phase: Phase = Phase.UNLISTED) -> None:
        self.backend = backend
        self.path = path
        self.phase = phase
        self.listing: Sequence[Entry] = []
        self.order: tuple[str, bool] = ("name", False)  # the listing's sort field, and descending
        self.details: dict[str, Entry] = {}
        self.described = False
        self.remaining = 0
        self.error: str | None = None
        self.generation = 0
        # Who learns details when a view asks (set by whoever lists the folder).
        self.details_wanted: DetailsWanted | None = None
        self._listeners: list[FolderListener] = []

    # -- what views read -------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, str]:
        return (self.backend, self.path)

    @property
    def count(self) -> int | None:
        """Entries listed, once the whole listing is known."""
        return len(self.listing) if self.phase is Phase.LISTED else None

    def entry(self, position: int) -> Entry:
        """The entry at ``position`` of the listing, with what has been learnt of it since."""
        entry = self.listing[position]
        return self.details.get(entry.path, entry) if self.details else entry

    def beyond(self, first: int) -> Sequence[Entry]:
        """The entries from ``first`` on, as listed (a view, for a FolderNames: never a copy
        of a million names)."""
        return self.listing[first:] if len(self.listing) > first else []

    def merged(self) -> list[Entry]:
        """Every entry with its details: a worker's job (it visits every entry)."""
        details = self.details
        return [details.get(e.path, e) for e in self.listing] if details else list(self.listing)

    # -- what the lister does ----------------------------------------------------------------

    def begin(self) -> int:
        """The folder is listed (again) from nothing: its old listing goes; the new generation."""
        self._clear(Phase.LOADING)
        self._tell(Change.LOADING)
        return self.generation

    def renew(self) -> int:
        """The folder is listed again while its rows stay shown (merged when the answer comes)."""
        self.generation += 1
        return self.generation

    def forget(self) -> None:
        """Back to unlisted (a later expand lists it again); late answers are dropped."""
        self._clear(Phase.UNLISTED)

    def _clear(self, phase: Phase) -> None:
        """Nothing known about the folder, in ``phase``; a new generation, so that answers
        to an earlier listing are dropped (begin and forget)."""
        self.phase = phase
        self.listing = []
        self.details = {}
        self.described = False
        self.remaining = 0
        self.error = None
        self.generation += 1

    def current(self, generation: int) -> bool:
        return generation == self.generation

    def set_listing(self, ordered: Sequence[Entry], *, order: tuple[str, bool] | None = None,
                    keep_details: bool = False) -> None:
        """The whole listing, in ``order`` (sort field, descending). Facts learnt before are
        kept with ``keep_details`` (a new order of the same entries), else dropped (a new
        listing brings its own)."""
        self.phase = Phase.LISTED
        self.listing = ordered
        if order is not None:
            self.order = order
        if not keep_details:
            self.details = {}
        self.error = None
        if not ordered:
            self.described = True
        self._tell(Change.LISTED)

    def learn(self, updates: list[Entry]) -> None:
        """Facts learnt for some entries (O(updates), whatever the folder's size)."""
        if not updates:
            return
        details = self.details
        for update in updates:
            details[update.path] = update
        self._tell(Change.DETAILS, updates)

    def set_remaining(self, remaining: int) -> None:
        """Entries still to describe before a sort that needs them (0: done, or none)."""
        self.remaining = remaining
        if remaining == 0 and self.phase is Phase.LISTED:
            self.described = True
        self._tell(Change.PROGRESS)

    def fail(self, message: str) -> None:
        self.phase = Phase.FAILED
        self.listing = []
        self.details = {}
        self.error = message
        self._tell(Change.FAILED)

    # -- views ---------------------------------------------------------------------------------

    def want_details(self, entries: list[Entry]) -> None:
        """A view shows these entries: learn their details if they are not known."""
        todo = [e for e in entries if e.modified is None and e.error is None]
        if todo and not self.described and self.phase is Phase.LISTED and self.details_wanted is not None:
            self.details_wanted(self, todo)

    def subscribe(self, listener: FolderListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def unsubscribe(self, listener: FolderListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _tell(self, change: Change, entries: Sequence[Entry] = ()) -> None:
        for listener in list(self._listeners):
            listener.folder_changed(self, change, entries)

    def __repr__(self) -> str:
        return f"FolderState({self.backend}:{self.path}, {self.phase.value}, {len(self.listing)} entries)"


__all__ = ["Change", "DetailsWanted", "FolderListener", "FolderState", "Phase"]
