"""Reads that stop on the wire: one watch per event loop over the requests in flight.

:func:`_cancellable` awaits a remote request and cancels its asyncio task (which drops
obstore's Rust future and its HTTP request) when the caller's ``cancelled()`` turns true;
one :class:`_Watch` per loop looks at every request in flight every :data:`POLL` seconds.
:func:`reads_stopped_by` lets a caller (a preview's background contrast search) add its own
stop to every zarr read made in its context. Used by :mod:`.remote_store`'s reads,
listings and ranged reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from .remote_errors import RemoteCancelled

POLL = 0.05  # seconds between two looks of a loop's watch (_Watch) at the requests in flight

T = TypeVar("T")


class _Watch:
    """The requests in flight on one event loop, each with what says it should stop.

    One timer looks at all of them every :data:`POLL` seconds while any is in flight and
    cancels the task of each whose ``cancelled()`` turned true (asking each distinct
    ``cancelled`` once a turn). Before, each request polled on its own timer (twenty
    wake-ups a second per request: a 1 GiB copy with 32 requests in flight spent a good
    part of its CPU there); now a request costs one entry in a dict."""

    def __init__(self) -> None:  # no reference to its loop: _watches' key must stay weak
        self.entries: dict[asyncio.Future[Any], Callable[[], bool]] = {}
        self.timer: asyncio.TimerHandle | None = None

    def add(self, task: asyncio.Future[Any], cancelled: Callable[[], bool]) -> None:
        self.entries[task] = cancelled
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(POLL, self._tick)

    def remove(self, task: asyncio.Future[Any]) -> None:
        """``task`` ended; the timer stops with the last one (its handle holds the loop)."""
        self.entries.pop(task, None)
        if not self.entries and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _tick(self) -> None:
        self.timer = None
        answers: dict[int, bool] = {}
        for task, cancelled in list(self.entries.items()):
            stop = answers.get(id(cancelled))
            if stop is None:
                try:
                    stop = answers[id(cancelled)] = bool(cancelled())
                except Exception:  # a broken predicate stops nothing (the request ends by itself)
                    stop = answers[id(cancelled)] = False
            if stop:
                task.cancel()
        if self.entries:
            self.timer = asyncio.get_running_loop().call_later(POLL, self._tick)


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = weakref.WeakKeyDictionary()


def _watch() -> _Watch:
    loop = asyncio.get_running_loop()
    found = _watches.get(loop)
    if found is None:
        found = _watches[loop] = _Watch()
    return found


async def _cancellable(awaitable: Awaitable[T], cancelled: Callable[[], bool], what: str) -> T:
    """Await ``awaitable``; when ``cancelled()`` turns true, cancel it (on the wire: the
    task awaiting obstore is cancelled, which drops its HTTP request) and raise
    :class:`RemoteCancelled`. Looked at by the loop's one :class:`_Watch`, within POLL."""
    if cancelled():
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RemoteCancelled(what)
    task = asyncio.ensure_future(awaitable)
    watch = _watch()
    watch.add(task, cancelled)
    try:
        return await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if task.cancelled() and (me is None or not me.cancelling()) and cancelled():
            raise RemoteCancelled(what) from None  # the watch's cancel, not the caller's
        raise
    finally:
        watch.remove(task)


_stop_reads: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("remote_reads_stop",
                                                                                     default=None)


@contextlib.contextmanager
def reads_stopped_by(cancelled: Callable[[], bool]) -> Iterator[None]:
    """Reads of every zarr reader (:class:`CachedStore`) made in this context also stop when
    ``cancelled()`` turns true, their requests in flight dropped. The context reaches zarr's
    event loop with each read (``asyncio.run_coroutine_threadsafe`` runs the read in a copy
    of the caller's context). A preview's background contrast search reads so with a token
    of its own: cancelling it leaves the preview's other reads (napari's) alone."""
    reset = _stop_reads.set(cancelled)
    try:
        yield
    finally:
        _stop_reads.reset(reset)
