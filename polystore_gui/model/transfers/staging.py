"""Where a transfer writes before it is done, and the state of one run.

Hidden partial names name their writer (PID and process start time), so that the sweep
removes what a dead writer left and never what a live one is writing; a run holds its
progress, its cancellation and the temporaries to remove when it fails; what a cancelled
run wrote is deleted by a background thread that ``settle`` waits for.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .. import transfer_journal as journal
from ..address import Address
from .items import PARTIAL, STORE_SUFFIXES, Cancelled, Item, Progress
from .places import _remove, is_local

_PARTIAL_RE = re.compile(r"^\..*\.polystore-partial-(\d+)(?:-(\d+))?-[0-9a-f]{8}(\.[^.]*)?$")


def _partial_name(final_path: str) -> str:
    """A hidden sibling name, ``.NAME.polystore-partial-PID-START-XXXXXXXX[.ext]``: it names
    its writer (PID and process start time, so a reused PID is never taken for it) and keeps a
    file's extension (polystore picks writers by it), but never a store's (``.zarr``)."""
    parent, name = os.path.split(final_path.rstrip("/"))
    ext = os.path.splitext(name)[1]
    if ext.lower() in STORE_SUFFIXES:
        ext = ""
    return os.path.join(parent, f".{name}{PARTIAL}{os.getpid()}-{journal.MY_START}-{uuid.uuid4().hex[:8]}{ext}")


def sweep_partials(folder: str) -> list[str]:
    """Remove temporaries left in ``folder`` by transfers whose process has died."""
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _PARTIAL_RE.match(name)
        if not match or journal.writer_alive(int(match.group(1)), int(match.group(2)) if match.group(2) else None):
            continue
        path = os.path.join(folder, name)
        try:
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


_DISCARDS: list[Any] = []  # threads deleting what cancelled or failed runs wrote


def settle(timeout: float | None = None) -> bool:
    """Wait until every discarded temporary is gone; True when they all are."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while _DISCARDS:
        thread = _DISCARDS[0]
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return False
        _DISCARDS.pop(0)
    return True


class _Run:
    """One item's run: progress, cancellation and the temporaries to remove on failure."""

    def __init__(self, item: Item, cancelled: Callable[[], bool]) -> None:
        self.item = item
        self.cancelled = cancelled
        self.done = 0
        self.temporaries: list[Address] = []
        self.notes: list[str] = []
        self.left_out: list[str] = []  # entries of the source not copied (links, FIFOs, …): a move keeps the source
        self.staged: str | None = None  # the verified temporary that _place() puts in place
        self.record: journal.Record | None = None  # this run's journal record (None: not journalled)

    def stage(self, path: str) -> None:
        """``path`` (on disk) is this run's hidden copy: removed if the run fails, and named in
        the journal, so that ``cp --resume`` can take it up after a kill."""
        if Address("disk", path) not in self.temporaries:
            self.temporaries.append(Address("disk", path))
        if self.record is not None:
            try:
                self.record = journal.mark(self.record, self.record.phase, self.record.aside, staged=path)
            except OSError:
                pass  # the copy goes on; after a kill it is removed instead of taken up

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled("cancelled")

    def advance(self, n: int) -> Progress:
        self.done += n
        return (self.done, max(self.item.total, self.done))

    def discard(self) -> None:
        """Remove what this run wrote. A written folder is first renamed out of the way, then
        deleted by a (non-daemon) thread, so a cancel returns at once even for 30,000 files."""
        for temp in reversed(self.temporaries):
            try:
                if is_local(temp.backend) and os.path.isdir(temp.path) and not os.path.islink(temp.path):
                    doomed = _partial_name(temp.path.replace(PARTIAL, ".gone" + PARTIAL))
                    os.rename(temp.path, doomed)
                    thread = threading.Thread(target=shutil.rmtree, args=(doomed, True), name="discard")
                    thread.start()
                    _DISCARDS.append(thread)
                else:
                    _remove(temp)
            except OSError:
                pass
        self.temporaries.clear()


def _leave_out(run: _Run, rel: str, why: str) -> None:
    """An entry of a folder that is not copied: said per entry; a move keeps its source."""
    run.left_out.append(f"{rel}: {why}")
    run.notes.append(f"skipped {rel}: {why}")


def _flush(path: str) -> None:
    """Write the file system holding ``path`` to disk (syncfs; sync where it is missing)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) != 0:
            os.sync()
    except (OSError, AttributeError):
        os.sync()
    finally:
        os.close(fd)
