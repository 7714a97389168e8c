"""One lock for every change this application makes to Python's warning filters.

Python 3.11 keeps the warning filters (and ``showwarning``) per process, and
``warnings.catch_warnings`` saves them on entry and puts them back on exit. Two such blocks
on two threads that end in the order they began leave the first one's changes in place for
good: the second puts back what it saw, which included them. Our blocks run on worker
threads (validating OME metadata, consolidating zarr metadata, making the demo), so they
take this lock: they nest, never interleave, and the filters are what they were once the
last one ends. (superqt's workers did the same for every job: see qt/workers.py.)

Code that only *reads* a warning as an error (``simplefilter("error")`` to test one call)
should take it too.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()


@contextmanager
def changed_warnings() -> Iterator[None]:
    """``warnings.catch_warnings()``, one thread at a time (see the module)."""
    with _LOCK, warnings.catch_warnings():
        yield


@contextmanager
def recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """``warnings.catch_warnings(record=True)``, one thread at a time (see the module).

    While it lasts, a warning of any thread is recorded here (Python 3.11 has no filters
    per thread): keep it short.
    """
    with _LOCK, warnings.catch_warnings(record=True) as caught:
        yield caught
