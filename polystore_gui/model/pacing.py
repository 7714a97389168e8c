"""How a worker paces itself while the GUI thread paints: every such pause, in one place.

Qt asks the item models for every painted cell through Python, and each of those calls
waits for the interpreter lock while a worker computes in Python. Left alone, a worker
keeps the lock for the whole switch interval (5 ms) call after call, and a painting
window stalls (0.5 s measured after a million-entry listing; 0.5 s for a million names
case-folded in one go). So a worker doing long Python work steps aside now and then: a
short sleep releases the lock at once, and the GUI thread runs with it to itself.

These are the only such pauses in the package (a test greps for others). They are not
synchronisation: nothing waits for anything to happen in them, and no test relies on
them; they only lower the worker's share of the lock while the GUI is busy.
"""

from __future__ import annotations

import time

# Between slices of a long pure-Python loop (case-folding names for the filter, building
# their numpy array): about a millisecond of work a slice, then this.
BREATHE_S = 0.001
# Between batches of a details pass (a ``stat`` per entry, mostly Python).
BETWEEN_BATCHES_S = 0.002
# A plane read straight from its chunk files on napari's slicing thread (raw_chunks): this
# much work, then a breath, so the GUI thread waits at most about this long for the lock.
READ_PIECE_S = 0.002
# After handing the GUI thread a folder's first scanned rows: it builds and paints them.
AFTER_ROWS_S = 0.005
# After handing the GUI thread a large folder's whole listing: it lays out its page and
# fills the folder list meanwhile.
AFTER_LISTING_S = 0.25


def breathe() -> None:
    """Between slices of a long Python loop in a worker."""
    time.sleep(BREATHE_S)


def between_batches() -> None:
    """Between two batches of a worker's details pass."""
    time.sleep(BETWEEN_BATCHES_S)


def after_rows() -> None:
    """After a worker yielded rows that the GUI thread shows at once."""
    time.sleep(AFTER_ROWS_S)


def after_listing() -> None:
    """After a worker yielded a large folder's whole listing."""
    time.sleep(AFTER_LISTING_S)


__all__ = ["AFTER_LISTING_S", "AFTER_ROWS_S", "BETWEEN_BATCHES_S", "BREATHE_S", "READ_PIECE_S", "after_listing",
           "after_rows", "between_batches", "breathe"]
