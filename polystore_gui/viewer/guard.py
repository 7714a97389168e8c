"""A bound on what unfinished ZeroMQ messages may cost the viewer.

ZeroMQ's MAXMSGSIZE caps each frame, not the number of frames of one message: libzmq keeps
every frame of a multi-part message that a peer has begun and never ends (about 60 bytes
per empty frame, the frame's length for the others), and the socket's high-water mark
counts only whole messages. Measured: four million empty frames, 8 MB on the wire, cost the
receiver 260 MB, and nothing of it is visible to the application before the message ends.

The only remedy from outside libzmq is to close the socket, which drops its peers and what
they queued. ``MemoryGuard`` says when: the process's resident memory has grown by more
than ``allowance`` while the viewer was doing nothing that explains it (no batch received,
copied or shown for ``grace`` seconds). A batch, or the window drawing one, moves the
baseline instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ALLOWANCE = 384 << 20
GRACE_S = 0.5  # the window draws a shown batch right after it; an attacker gets no more than this


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class MemoryGuard:
    """Trips when memory grows without a batch to account for it; thread-safe."""

    def __init__(
        self,
        allowance: int = ALLOWANCE,
        grace: float = GRACE_S,
        rss: Callable[[], int] = _rss,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowance = allowance
        self.grace = grace
        self._rss = rss
        self._clock = clock
        self._lock = threading.Lock()
        self._busy = 0
        self._quiet_since = clock()
        self._baseline = rss()
        self.trips = 0

    def busy(self) -> "_Busy":
        """``with guard.busy():`` around work that may rightly take memory (a batch)."""
        return _Busy(self)

    def _enter(self) -> None:
        with self._lock:
            self._busy += 1

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1
            self._quiet_since = self._clock()

    def check(self) -> bool:
        """True when the sockets should be closed and bound again (the baseline moves on)."""
        now_rss = self._rss()
        with self._lock:
            if self._busy or self._clock() - self._quiet_since < self.grace:
                self._baseline = now_rss
                return False
            if now_rss < self._baseline:
                self._baseline = now_rss
                return False
            if now_rss - self._baseline <= self.allowance:
                return False
            self.trips += 1
            return True

    def settle(self) -> None:
        """After the sockets were closed: hand freed memory back, measure the new baseline."""
        release_freed_memory()
        with self._lock:
            self._baseline = self._rss()


def release_freed_memory() -> None:
    """glibc keeps freed small blocks in its arenas; ``malloc_trim`` returns them (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _Busy:
    def __init__(self, guard: MemoryGuard) -> None:
        self.guard = guard

    def __enter__(self) -> None:
        self.guard._enter()

    def __exit__(self, *exc: object) -> None:
        self.guard._leave()
