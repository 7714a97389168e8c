"""The one way this application starts background work.

A small wrapper over superqt's workers: a job is a generator (or a plain function)
run in this application's own thread pool; what it yields and returns is delivered
on the GUI thread through Qt's queued signals. Jobs are tracked so that quitting can
ask every one of them to stop and then wait for them. A generator job is closed on its
own thread however it ends, so its ``finally`` blocks run at once; a job stuck in a system
call when quitting is abandoned after the wait (see ``WorkerPool.wait``), never waited for.

The pool is our own (not ``QThreadPool.globalInstance()``) so that a slow job such as
napari's import can never hold back a folder listing queued behind it, and so that
waiting on exit waits for our jobs only.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator
from typing import Any

from typing import TYPE_CHECKING

from qtpy.QtCore import QObject, QThreadPool

if TYPE_CHECKING:
    from superqt.utils import FunctionWorker, GeneratorWorker

    Job = GeneratorWorker | FunctionWorker
else:
    Job = Any

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries one job's signals to plain callbacks, only while the pool is open.

    Connecting a job's signals to this QObject's bound methods (rather than to lambdas)
    lets Qt drop the connection when the pool and its relays are destroyed, so a result
    arriving after its window closed is never delivered to a deleted widget.
    """

    def __init__(self, pool: WorkerPool, callbacks: dict[str, Callable[..., None] | None]) -> None:
        super().__init__(pool)
        self._pool = pool
        self._callbacks = callbacks

    def _call(self, name: str, *args: Any) -> None:
        callback = self._callbacks.get(name)
        if callback is not None and not self._pool.closed:
            callback(*args)

    def on_yielded(self, value: Any) -> None:
        self._call("yield", value)

    def on_returned(self, value: Any) -> None:
        self._call("return", value)

    def on_errored(self, exc: BaseException) -> None:
        self._call("error", exc)

    def on_finished(self) -> None:
        self._call("finish")
        self._pool._discard(self)


class WorkerPool(QObject):
    """Starts, tracks, cancels and awaits background jobs."""

    def __init__(self, max_threads: int = 6, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._jobs: dict[_Relay, Job] = {}
        self.closed = False

    def start(
        self,
        fn: Callable[..., Generator[Any, Any, Any]] | Callable[..., Any],
        *args: Any,
        on_yield: Callable[[Any], None] | None = None,
        on_return: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` in the pool; callbacks run on the GUI thread."""
        # superqt's package imports its widgets too (~70 ms): on the first job, which is
        # after the window's first paint, not at import.
        from superqt.utils import GeneratorWorker, create_worker

        worker_class = _closing_generator_worker() if inspect.isgeneratorfunction(fn) else None
        job: Job = create_worker(fn, *args, _start_thread=False, _ignore_errors=True, _worker_class=worker_class,
                                 **kwargs)
        job.polystore_name = getattr(fn, "__qualname__", repr(fn))  # for the log, if it ever gets stuck
        relay = _Relay(
            self,
            {
                "yield": on_yield,
                "return": on_return,
                "error": on_error if on_error is not None else self._log_error,
                "finish": on_finish,
            },
        )
        if isinstance(job, GeneratorWorker):
            job.yielded.connect(relay.on_yielded)
        job.returned.connect(relay.on_returned)
        job.errored.connect(relay.on_errored)
        job.finished.connect(relay.on_finished)
        self._jobs[relay] = job
        self._pool.start(job)
        return job

    def _log_error(self, exc: BaseException) -> None:
        log.error("background job failed: %s", exc, exc_info=exc)

    def _discard(self, relay: _Relay) -> None:
        self._jobs.pop(relay, None)
        relay.deleteLater()

    @property
    def running(self) -> int:
        """Jobs started whose end has not yet been delivered to the GUI thread."""
        return len(self._jobs)

    def active_threads(self) -> int:
        """Threads of this pool still running a job right now."""
        return int(self._pool.activeThreadCount())

    def cancel_all(self, *, close: bool = False) -> None:
        """Ask every job to stop at its next yield (plain functions run to their end).

        With ``close``, no result of any job is delivered any more (used on exit).
        """
        if close:
            self.closed = True
        for job in list(self._jobs.values()):
            job.quit()

    def wait(self, msecs: int = -1) -> bool:
        """Wait for every job of this pool to end; True when they all did in time.

        After ``cancel_all(close=True)`` (quitting), jobs still running when the time is up
        are abandoned: a job stuck in a system call (a read that never returns) cannot be
        stopped, and Qt would wait for it for ever when the pool is destroyed, so the app
        would never exit. Their threads are left to the operating system, which ends them
        with the process, and each is named in the log.
        """
        if self._pool.waitForDone(msecs):
            return True
        if self.closed:
            self._abandon()
        return False

    def _abandon(self) -> None:
        stuck = ", ".join(sorted(getattr(job, "polystore_name", type(job).__name__) for job in self._jobs.values()
                                 if getattr(job, "_running", False))) or "unknown"
        log.warning("abandoning %d background job(s) that did not stop (stuck in a system call?): %s; "
                    "they end with the process", self._pool.activeThreadCount(), stuck)
        from qtpy import sip

        # Nothing destroys the pool now (its destructor would wait for the stuck threads).
        self._pool.setParent(None)
        sip.transferto(self._pool, None)
        _ABANDONED.append(self._pool)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)


# Pools of jobs abandoned on exit: kept referenced, never destroyed (see WorkerPool.wait).
_ABANDONED: list[QThreadPool] = []


_closing_class: type[Any] | None = None


def _closing_generator_worker() -> type[Any]:
    """superqt's GeneratorWorker, whose generator is closed on the worker's own thread when
    the job ends, however it ends (aborted, failed or done).

    superqt stops an aborted generator by no longer calling it, and leaves it suspended: its
    ``finally`` blocks (killing a ``find`` process, turning the garbage collector back on,
    stopping a sorting thread) ran only when the last reference went, on whatever thread
    dropped it, and the collector stayed off for the whole process meanwhile.
    """
    global _closing_class
    if _closing_class is None:
        from superqt.utils import GeneratorWorker

        class ClosingGeneratorWorker(GeneratorWorker):  # type: ignore[misc]
            def work(self) -> Any:
                try:
                    return super().work()
                finally:
                    try:
                        self._gen.close()
                    except Exception as exc:  # a finally block that fails: logged, the job still ends
                        log.warning("closing background job %s failed: %s", getattr(self, "polystore_name", ""), exc)

        _closing_class = ClosingGeneratorWorker
    return _closing_class
