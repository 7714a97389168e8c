"""The backend tree's worker jobs: listing a folder, sorting a large one, learning details.

Each is a generator (or a function) run by :class:`~polystore_gui.qt.workers.WorkerPool`
off the GUI thread; what they find reaches the tree only through the worker's signals
(``tree_listing`` handles it). They touch no widget and no Qt object: the first page's
rows (:class:`~polystore_gui.qt.tree_nodes.Node`, plain Python) are made here so that the
GUI thread need not make them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..model import pacing
from ..model.entries import Entry, EntryKind, sort_entries
from ..model.listing import FolderNames, describe, gc_paused, sorted_listing
from .tree_nodes import PAGE, Node

# From this size on, the listing worker case-folds a disk folder's names for the filter.
FOLD_AHEAD_FROM = 20_000


def _listing_job(
    entry: Entry, show_hidden: bool, sort_field: str, descending: bool
) -> Iterator[tuple[str, Any]]:
    """Worker body: the first batch at once, then the whole listing sorted, then details."""
    with gc_paused(freeze=True):
        for what, listed in sorted_listing(entry, show_hidden=show_hidden, field=sort_field, descending=descending):
            if what == "rows":
                yield ("rows", listed)
                pacing.after_rows()  # the GUI thread builds and paints them with the lock to itself
        ordered: Sequence[Entry] = listed
        # The first page's rows are made here, not on the GUI thread (attached to the folder there).
        first_nodes = [Node(e, None) for e in ordered[:PAGE]]
        # What the details pass covers, worked out before the GUI thread gets busy with the rows.
        # A large folder: the rows the tree shows, and every folder (one may be a zarr store);
        # the folder list asks for the rows it shows, and sorting by a column that needs
        # every entry's details asks for all (describe_all).
        todo = list(ordered[:PAGE])
        if len(ordered) > PAGE:
            if isinstance(ordered, FolderNames):
                todo += ordered[PAGE:max(PAGE, ordered.folder_count())]
            else:
                todo += [e for e in ordered[PAGE:] if e.kind is EntryKind.DIRECTORY]
    yield ("all", (ordered, first_nodes))
    if len(ordered) > PAGE:
        pacing.after_listing()
    yield from _details_job(todo)
    if isinstance(ordered, FolderNames) and len(ordered) >= FOLD_AHEAD_FROM:
        ordered.prepare_folded()  # for the filter, once the rows on screen know their details


def _sort_job(listing: Sequence[Entry], details: dict[str, Entry], field: str,
              descending: bool) -> tuple[list[Entry], list[Node]]:
    """Worker body: a large folder's listing, with its details, in a new order (and the rows
    of its first page)."""
    merged = _merged(listing, details)  # in the worker: never a million entries on the GUI thread
    ordered = sort_entries(merged, field, descending)
    return ordered, [Node(e, None) for e in ordered[:PAGE]]


def _merged(listing: Sequence[Entry], details: dict[str, Entry]) -> list[Entry]:
    return [details.get(e.path, e) for e in listing] if details else list(listing)


def _describe_all_job(listing: Sequence[Entry], details: dict[str, Entry]) -> Iterator[tuple[str, list[Entry]]]:
    """Worker body: the details of every entry of a large folder not known yet."""
    # Sizes and times only: a TIFF header each would make a million files minutes, not seconds.
    yield from _details_job([e for e in _merged(listing, details) if e.modified is None and e.error is None],
                            headers=False)


def _details_job(entries: list[Entry], headers: bool = True) -> Iterator[tuple[str, list[Entry]]]:
    for update in describe(entries, headers=headers):
        yield ("details", update)
        # A stat per entry, mostly Python: step aside for the GUI thread between batches
        # instead of contending for the interpreter lock throughout.
        pacing.between_batches()
