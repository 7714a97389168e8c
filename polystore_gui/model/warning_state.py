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
    """``warnings.catch_warnings(record=True)``, one thread at a time (see the module), that
    records the warnings of the thread that entered it and no other.

    Python 3.11 has one ``showwarning`` for the process, so while the block lasts every
    thread's warnings come here: another thread's warning goes on to where it went before
    the block (the outer record, or stderr) instead of being taken for this block's own
    (an OME validation reported a warning of another worker as the image's problem).
    Filters changed inside the block still apply to every thread: keep it short.
    """
    own = threading.get_ident()
    with _LOCK:
        # Read once the lock is held: read before, they could be another thread's block
        # that ends meanwhile (that thread's later warnings went into its ended record).
        outer_show = warnings.showwarning
        outer_impl = getattr(warnings, "_showwarnmsg_impl")
        original_show = getattr(warnings, "_showwarning_orig")
        with warnings.catch_warnings(record=True) as caught:
            record = getattr(warnings, "_showwarnmsg_impl")

            def one_threads(message: warnings.WarningMessage) -> None:
                if threading.get_ident() == own:
                    record(message)
                elif outer_show is not original_show:  # someone's showwarning, as warnings does
                    outer_show(message.message, message.category, message.filename, message.lineno,
                               message.file, message.line)
                else:
                    outer_impl(message)

            setattr(warnings, "_showwarnmsg_impl", one_threads)
            yield caught
