"""The chunk scan's gate: where the scan's thread waits between two batches while the
overlay holds the scan (``ChunkInspector.hold_scan``, issue 19).

While napari adds the overlay's layer (three GUI turns: controls, insertion, visual), the
scan's thread, busy with Python, took the interpreter lock from the GUI thread at each of
its releases: each turn lasted 2-4 times its CPU time. The application's generator jobs
have no pause (``workers``), so the scan's generator itself waits here, on an ``Event``
(the lock let go), never longer than ``HOLD_MS`` a batch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..model.chunk_layout import ChunkLayout
from ..model.chunks import scan

HOLD_MS = 1000  # the longest a scan waits for the overlay's layer (hold_scan)


class ScanGate:
    """Where the scan's thread waits, between two batches, while the overlay holds the scan
    (:meth:`ChunkInspector.hold_scan`). The application's generator jobs have no pause: the
    scan's generator itself waits here (an ``Event``: the interpreter lock is let go)."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self.waiting = False  # the scan's thread is waiting here now

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def passing(self, timeout: float) -> None:
        """On the scan's thread: go on, after waiting while held (``timeout`` at most)."""
        if not self._open.is_set():
            self.waiting = True
            try:
                self._open.wait(timeout)
            finally:
                self.waiting = False


def gated_scan(layout: ChunkLayout, gate: ScanGate) -> Iterator[Any]:
    """``scan(layout)``'s batches, waiting at ``gate`` after each one while it is held."""
    batches = scan(layout)
    try:
        for batch in batches:
            yield batch
            gate.passing(HOLD_MS / 1000)
    finally:
        batches.close()
