"""The one way this application starts background work: the worker contract.

A small wrapper over superqt's workers: a job is a generator (or a plain function)
run in this application's own thread pool. The contract:

- What a job yields, returns, raises or reports as progress reaches the GUI thread only
  through the job's own signals (queued), delivered to the callbacks given to
  :meth:`WorkerPool.start`; a job never touches a widget, nor emits a widget's signal.
  A plain function that reports progress takes ``progress`` (``on_progress=``): calling
  it emits the job's ``progressed`` signal.
- Each job has exactly one cancel token (:class:`~polystore_gui.model.cancel.CancelToken`,
  ``job.token``): ``job.quit()`` sets it, a generator job stops at its next yield, and a
  plain function that takes it (``pass_cancel=True``: ``cancelled=job.token``) stops at
  its next check. superqt's own abort flag reads the token (one flag, not two).
- A generator job is closed on its own thread however it ends (done, failed, aborted), so
  its ``finally`` blocks run there at once: a killed ``find``, the garbage collector
  turned back on, a sorting thread stopped.
- Jobs are tracked so that quitting can cancel every one of them and then wait for them;
  a job stuck in a system call when quitting is abandoned after the wait (see
  ``WorkerPool.wait``), never waited for.
- How a job paces itself while the GUI paints is ``model.pacing``'s business, nowhere else.

The pool is our own (not ``QThreadPool.globalInstance()``) so that a slow job such as
napari's import can never hold back a folder listing queued behind it, and so that
waiting on exit waits for our jobs only. A job the user asked for and waits on (a send to
a viewer: ``asked=True``) has a lane of its own (two threads), so it never queues behind
listings of a hung mount, chunk scans or transfers that fill the shared threads.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QDeadlineTimer, QObject, QThreadPool

from ..model.cancel import CancelToken

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

    def on_progressed(self, args: tuple[Any, ...]) -> None:
        self._call("progress", *args)

    def on_returned(self, value: Any) -> None:
        self._call("return", value)

    def on_errored(self, exc: BaseException) -> None:
        self._call("error", exc)

    def on_finished(self) -> None:
        try:
            self._call("finish")
        finally:  # a defect in the callback (said by the application's hook) leaves no job behind
            self._pool._discard(self)


class WorkerPool(QObject):
    """Starts, tracks, cancels and awaits background jobs."""

    ASKED_THREADS = 2  # the lane of jobs started with asked=True

    def __init__(self, max_threads: int = 6, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._asked = QThreadPool(self)
        self._asked.setMaxThreadCount(self.ASKED_THREADS)
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
        on_progress: Callable[..., None] | None = None,
        pass_cancel: bool = False,
        asked: bool = False,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` in the pool; callbacks run on the GUI thread.

        ``asked``: a job the user asked for and waits on, run on its own lane (see the
        module's docstring), not behind the shared threads' jobs.

        ``on_progress``: ``fn`` is also given ``progress=``, a callable whose arguments
        arrive as ``on_progress(*args)``. ``pass_cancel``: ``fn`` is also given
        ``cancelled=`` the job's token (see the module's docstring).
        """
        # superqt's package imports its widgets too (~70 ms): on the first job, which is
        # after the window's first paint, not at import.
        from superqt.utils import GeneratorWorker, create_worker

        token = CancelToken()
        if pass_cancel:
            kwargs["cancelled"] = token
        emitter = _ProgressEmitter()
        if on_progress is not None:
            kwargs["progress"] = emitter
        generator = inspect.isgeneratorfunction(fn)
        worker_class = _worker_classes()[0 if generator else 1]
        job: Job = create_worker(fn, *args, _start_thread=False, _ignore_errors=True, _worker_class=worker_class,
                                 **kwargs)
        job.token = token
        emitter.signals = job.signals
        job.polystore_name = getattr(fn, "__qualname__", repr(fn))  # for the log, if it ever gets stuck
        job.polystore_state = "waiting"  # for a thread; then "running", then "ended" (see describe)
        relay = _Relay(
            self,
            {
                "yield": on_yield,
                "return": on_return,
                "error": on_error if on_error is not None else self._log_error,
                "finish": on_finish,
                "progress": on_progress,
            },
        )
        job.progressed.connect(relay.on_progressed)
        if isinstance(job, GeneratorWorker):
            job.yielded.connect(relay.on_yielded)
        job.returned.connect(relay.on_returned)
        job.errored.connect(relay.on_errored)
        job.finished.connect(relay.on_finished)
        self._jobs[relay] = job
        (self._asked if asked else self._pool).start(job)
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

    def describe(self) -> str:
        """What this pool holds, by job name: running, waiting for a thread, or ended on its
        thread with its outcome not yet delivered to the GUI thread (a busy event loop).

        For the log and for a test that timed out waiting for a job (tests/conftest.py).
        """
        by_state: dict[str, list[str]] = {"running": [], "waiting": [], "ended": []}
        for job in list(self._jobs.values()):
            by_state.setdefault(getattr(job, "polystore_state", "waiting"), []).append(
                getattr(job, "polystore_name", type(job).__name__))
        parts = [f"{len(names)} {state}: {', '.join(sorted(names))}" for state, names in by_state.items() if names]
        threads = (f"{self._pool.activeThreadCount()}/{self._pool.maxThreadCount()} threads busy"
                   f" (+{self._asked.activeThreadCount()}/{self._asked.maxThreadCount()} asked)")
        return f"{threads}; " + ("; ".join(parts) if parts else "no job")

    def active_threads(self) -> int:
        """Threads of this pool still running a job right now."""
        return int(self._pool.activeThreadCount() + self._asked.activeThreadCount())

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
        deadline = QDeadlineTimer(msecs if msecs >= 0 else QDeadlineTimer.ForeverConstant.Forever)
        if self._pool.waitForDone(deadline) & self._asked.waitForDone(deadline):  # both waited for
            return True
        if self.closed:
            self._abandon()
        return False

    def _abandon(self) -> None:
        stuck = ", ".join(sorted(getattr(job, "polystore_name", type(job).__name__) for job in self._jobs.values()
                                 if getattr(job, "_running", False))) or "unknown"
        log.warning("abandoning %d background job(s) that did not stop (stuck in a system call?): %s; "
                    "they end with the process", self.active_threads(), stuck)
        from qtpy import sip

        # Nothing destroys the pools now (their destructors would wait for the stuck threads).
        for pool in (self._pool, self._asked):
            pool.setParent(None)
            sip.transferto(pool, None)
            _ABANDONED.append(pool)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._asked = QThreadPool()
        self._asked.setMaxThreadCount(1)


# Pools of jobs abandoned on exit: kept referenced, never destroyed (see WorkerPool.wait).
_ABANDONED: list[QThreadPool] = []


def jobs_abandoned() -> int:
    """How many pools quitting abandoned with a job still running (see ``WorkerPool.wait``),
    in this process so far: compare before and after a session to know whether it left one.

    Its thread may take the interpreter lock again at any moment: once the interpreter
    has begun to finalize, Python ends such a thread with ``pthread_exit``, whose forced
    unwind goes through QThreadPool's ``catch (...)`` and aborts the process ("FATAL:
    exception not rethrown", exit 134). The application then ends the process itself
    (``qt.app.run_gui``), never letting the interpreter finalize under that thread.
    """
    return len(_ABANDONED)


class _ProgressEmitter:
    """A plain function job's ``progress``: its arguments go out on the job's ``progressed``
    signal (queued to the GUI thread), never to a widget directly."""

    __slots__ = ("signals",)

    def __init__(self) -> None:
        self.signals: Any = None

    def __call__(self, *args: Any) -> None:
        if self.signals is not None:
            self.signals.progressed.emit(args)


_classes: tuple[type[Any], type[Any]] | None = None


def _worker_classes() -> tuple[type[Any], type[Any]]:
    """superqt's GeneratorWorker and FunctionWorker, held to this module's contract.

    Both carry a ``progressed`` signal and read their abort flag from the job's one
    :class:`CancelToken` (``quit()`` sets it). The generator worker also closes its
    generator on the worker's own thread when the job ends, however it ends (aborted,
    failed or done): superqt stops an aborted generator by no longer calling it, and
    leaves it suspended, so its ``finally`` blocks (killing a ``find`` process, turning
    the garbage collector back on, stopping a sorting thread) ran only when the last
    reference went, on whatever thread dropped it, and the collector stayed off for the
    whole process meanwhile.
    """
    global _classes
    if _classes is None:
        from qtpy.QtCore import Signal
        from superqt.utils import FunctionWorker, GeneratorWorker
        from superqt.utils._qthreading import GeneratorWorkerSignals, WorkerBaseSignals

        class GeneratorSignals(GeneratorWorkerSignals):  # type: ignore[misc]
            progressed = Signal(tuple)

        class FunctionSignals(WorkerBaseSignals):  # type: ignore[misc]
            progressed = Signal(tuple)

        class _TokenAbort:
            """The abort flag is the job's token (set before the job starts); every failure
            is delivered, every job ends, and the process's warning filters are left alone.

            superqt's own ``run`` wraps the job in ``warnings.catch_warnings`` with an
            "always" filter: not thread-safe, it replaced the whole process's filters and
            ``showwarning`` from the worker thread for as long as any job ran (warnings of
            every other thread went to that job's ``warned`` signal, connected to nothing).
            And a RuntimeError returned by ``work`` (see ``ClosingGeneratorWorker.work``) was
            only warned about, with neither ``errored`` nor ``finished`` emitted.
            """

            token: CancelToken

            @property
            def abort_requested(self) -> bool:
                return self.token.cancelled

            def quit(self) -> None:
                self.token.cancel()

            def run(self) -> None:
                self.polystore_state = "running"
                self._emit("started")
                self._running = True
                try:
                    result = self.work()
                    if not self.abort_requested:
                        self._emit("returned", result)
                except Exception as exc:
                    self._emit("errored", exc)
                finally:
                    self._running = False
                    self.polystore_state = "ended"
                    self._emit("finished")
                    self._emit("_finished", self)

            def _emit(self, name: str, *args: Any) -> None:
                """Emit one of the job's signals, unless they went with the pool that owned the
                job (its window closed while the job ran): then nobody listens, and an error
                raised here, out of Qt's ``run``, would abort the whole process."""
                from qtpy import sip

                try:
                    getattr(self.signals, name).emit(*args)
                except RuntimeError:
                    if not sip.isdeleted(self.signals):
                        raise

        class ClosingGeneratorWorker(_TokenAbort, GeneratorWorker):  # type: ignore[misc]
            def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
                super().__init__(func, *args, SignalsClass=GeneratorSignals, **kwargs)
                self.token = CancelToken()  # replaced by the pool's, before the job starts

            def work(self) -> Any:
                """Run the generator to its end, or to the first yield after ``quit()``.

                Not superqt's loop: it caught every RuntimeError the generator raised
                (taking it for "the worker was deleted") and returned it, so a StreamError,
                TransferError or DeleteError (all RuntimeErrors) never reached the job's
                ``on_error``: a failed Send to Fiji said nothing. Here it propagates to
                ``run``, which delivers it. (No pausing: this application never pauses.)
                """
                try:
                    while not self.abort_requested:
                        try:
                            value = self._gen.send(self._next_value())
                        except StopIteration as stop:
                            return stop.value
                        self._emit("yielded", value)
                    self._emit("aborted")
                    return None
                finally:
                    try:
                        self._gen.close()
                    except Exception as exc:  # a finally block that fails: logged, the job still ends
                        log.warning("closing background job %s failed: %s", getattr(self, "polystore_name", ""), exc)

        class TokenFunctionWorker(_TokenAbort, FunctionWorker):  # type: ignore[misc]
            def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
                super().__init__(func, *args, **kwargs)
                self.token = CancelToken()  # replaced by the pool's, before the job starts
                self.signals = FunctionSignals()  # FunctionWorker takes no SignalsClass

        _classes = (ClosingGeneratorWorker, TokenFunctionWorker)
    return _classes

