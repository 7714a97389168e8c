"""Listing what a backend holds: generators of entry batches, and a details pass.

Both are generators so that a worker can run them, hand each batch to the GUI as it
comes, and stop between batches when the user cancels (closing the generator).

Listing is cheap by design: names and kinds only (one ``scandir`` for disk, metadata
files for zarr). What costs a ``stat`` or a metadata read per entry (size, modified,
zarr-store detection, shape and dtype) comes from :func:`describe`, run afterwards.

How each kind of storage lists and describes is its adapter's business
(``model/backends/``: disk, memory, zarr stores, ...); this module asks
:func:`~.backends.adapter_for` and keeps the names the rest of the program imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .backends import DEFAULT_BATCH, adapter_for
from .backends.common import ListingError, gc_paused, os_error_text, sorted_batches
from .backends.disk import _sorted_folder_names, sorted_disk_listing
from .backends.folder_names import FolderNames, folded_names, listing_names, listing_position, match_positions
from .backends.local_entries import describe_disk_entry, zarr_entry
from .backends.memory import memory_backend, memory_entry
from .entries import Entry

DESCRIBE_BATCH = 512


def list_children(
    entry: Entry, *, batch_size: int = DEFAULT_BATCH, show_hidden: bool = True
) -> Iterator[list[Entry]]:
    """Yield the children of ``entry`` in batches. Raises ListingError when it cannot list.

    ``show_hidden=False`` leaves out disk names starting with a dot.
    """
    yield from adapter_for(entry.backend, entry.path).list_children(entry, batch_size=batch_size,
                                                                    show_hidden=show_hidden)


def sorted_listing(entry: Entry, *, show_hidden: bool = True, field: str = "name", descending: bool = False,
                   batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[str, Any]]:
    """A folder's whole listing in order: ``("rows", [Entry])`` with the first entries read
    (to show at once), then ``("all", Sequence[Entry])``, sorted. Raises ListingError.

    An adapter with a quicker way of its own (``sorted_listing``: a disk folder sorted by
    name comes as a :class:`FolderNames`, names only, folders first) uses it; anything
    else is listed and then sorted, as a list of entries.
    """
    adapter = adapter_for(entry.backend, entry.path)
    own = getattr(adapter, "sorted_listing", None)
    if own is not None:
        yield from own(entry, show_hidden=show_hidden, field=field, descending=descending, batch_size=batch_size)
        return
    batches = adapter.list_children(entry, batch_size=batch_size, show_hidden=show_hidden)
    yield from sorted_batches(batches, field, descending)


def describe(entries: Iterable[Entry], *, batch_size: int = DESCRIBE_BATCH, headers: bool = True) -> Iterator[list[Entry]]:
    """Yield, in batches, the entries whose details could be learnt, with those details.

    Each entry's adapter learns them (disk: size and time, zarr-store facts, with
    ``headers`` a TIFF's header; see ``DiskAdapter.describe``). Entries that did not change
    are not yielded; a vanished entry comes back with its error set.
    """
    out: list[Entry] = []
    run: list[Entry] = []
    backend = None

    def flush() -> Iterator[list[Entry]]:
        nonlocal out
        if run:
            for batch in adapter_for(run[0].backend, run[0].path).describe(run, headers=headers):
                out.extend(batch)
            run.clear()
        if len(out) >= batch_size:
            yield out
            out = []

    for entry in entries:
        if entry.error is not None:
            continue
        if entry.backend != backend or len(run) >= batch_size:
            yield from flush()
            backend = entry.backend
        run.append(entry)
    yield from flush()
    if out:
        yield out


def entry_for_path(backend: str, path: str) -> Entry:
    """The entry for one address (used for roots and by the CLI); never raises."""
    return adapter_for(backend, path).entry(backend, path)


__all__ = [
    "DEFAULT_BATCH", "FolderNames", "ListingError", "describe", "describe_disk_entry", "entry_for_path",
    "folded_names", "gc_paused", "list_children", "listing_names", "listing_position", "match_positions",
    "memory_backend", "memory_entry", "os_error_text", "sorted_disk_listing", "sorted_listing", "zarr_entry",
    "_sorted_folder_names",
]
