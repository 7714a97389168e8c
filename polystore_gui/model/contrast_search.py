"""A sparse array's search of other planes for its contrast, run after the first frame.

A remote zarr array whose middle plane holds no data opens with placeholder limits, and
its contrast comes from other planes (``model.contrast.contrast_at_once``). That search is
a :class:`ContrastSearch`: made by the preview, *not started*. The viewer starts it once
the first frame is on screen, so that its requests never compete with the shown plane's
own (they did: 24 more requests beside the first frame's 4 shards), and cancels it when
the user selects something else or the preview is closed. A cancelled search stops
between its reads, and its requests in flight are dropped on the wire when the preview
gave it a ``scope`` (a remote store's: ``remote_cancel.reads_stopped_by``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

from .cancel import CancelToken

T = TypeVar("T")  # what the search finds for each channel (``contrast.Contrast``; not imported: no cycle)
Scope = Callable[[Callable[[], bool]], AbstractContextManager[object]]


def _no_scope(_cancelled: Callable[[], bool]) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class ContrastSearch(Generic[T]):
    """Each channel's contrast after a search of other planes: run in a thread of its own
    once :meth:`start` is called (or :meth:`result` is asked), at most once.

    ``run(cancelled)`` does the search, checking ``cancelled()`` between its reads; its
    reads are made inside ``scope(cancelled)``. :meth:`cancel` (or :meth:`close`, so that
    it can be a preview's resource) stops it: the future then raises ``CancelledError``.
    """

    def __init__(self, run: Callable[[Callable[[], bool]], Sequence[T]], scope: Scope | None = None) -> None:
        self._run = run
        self._scope = scope or _no_scope
        self.token = CancelToken()
        self.future: Future[list[T]] = Future()
        self._started = False
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        with self._lock:
            return self._started

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def start(self) -> Future[list[T]]:
        """Start the search (once; later calls do nothing) and return its future."""
        with self._lock:
            if self._started:
                return self.future
            self._started = True
        if not self.future.set_running_or_notify_cancel():  # cancelled before it started
            return self.future
        threading.Thread(target=self._search, name="contrast-search", daemon=True).start()
        return self.future

    def _search(self) -> None:
        try:
            with self._scope(self.token):
                found = list(self._run(self.token))
            if self.token.cancelled:
                raise CancelledError("the contrast search was cancelled")
            self.future.set_result(found)
        except BaseException as exc:  # the store's error (or the cancel) reaches whoever waits
            self.future.set_exception(CancelledError("the contrast search was cancelled")
                                      if self.token.cancelled else exc)

    def cancel(self) -> None:
        """Stop the search: at once if not started, else between its reads (its requests
        in flight dropped when its scope reaches the network)."""
        self.token.cancel()
        self.future.cancel()  # only takes when it never started

    close = cancel  # a Preview's resource: closing the preview stops its search

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> list[T]:
        """The searched contrast of each channel, starting the search if nobody did."""
        return self.start().result(timeout)
