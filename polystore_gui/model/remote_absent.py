"""Objects a remote store just said it does not have (404), remembered for a few seconds.

A sparse sharded array's plane that was never written costs its first frame two rounds of
404s otherwise: the contrast sample asks for the shard indexes of the shown plane (ranged
reads), then napari asks for the same shards whole. Remembering the first answers answers
the second without a request. The memory is short (:data:`ABSENT_SECONDS`) so that a
chunk written since is seen the next time the plane is looked at, and only zarr's ranged
reads of chunks and shards are remembered (never a metadata document). A copy to S3
forgets what it wrote over (``RemoteStore.written_under``): a chunk uploaded here shows at
once; one written by another program shows once those seconds have passed, or at once
after View → Refresh (F5) on its row (``remote_store.forget_reads``).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

ABSENT_SECONDS = 10.0  # how long a 404 is believed
ABSENT_KEYS = 4096  # remembered at most (the oldest are forgotten first)


class AbsentKeys:
    """Thread-safe: keys answered 404 within the last :data:`ABSENT_SECONDS`."""

    def __init__(self, seconds: float = ABSENT_SECONDS, limit: int = ABSENT_KEYS) -> None:
        self.seconds = seconds
        self.limit = limit
        self._noted: OrderedDict[str, float] = OrderedDict()  # key: when its 404 came
        self._lock = threading.Lock()

    def note(self, key: str) -> None:
        """``key`` was just answered 404."""
        with self._lock:
            self._noted.pop(key, None)
            self._noted[key] = time.monotonic()
            while len(self._noted) > self.limit:
                self._noted.popitem(last=False)

    def known(self, key: str) -> bool:
        """Whether ``key`` was answered 404 recently enough to be believed still."""
        with self._lock:
            noted = self._noted.get(key)
            if noted is None:
                return False
            if time.monotonic() - noted < self.seconds:
                return True
            del self._noted[key]
            return False

    def forget(self, key: str) -> None:
        """``key`` exists now (written here)."""
        with self._lock:
            self._noted.pop(key, None)

    def forget_under(self, prefix: str) -> None:
        """``prefix`` and every key below it may exist now (an upload there)."""
        below = prefix.rstrip("/") + "/"
        with self._lock:
            for key in [k for k in self._noted if not prefix or k == prefix or k.startswith(below)]:
                del self._noted[key]
