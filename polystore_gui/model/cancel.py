"""A job's one cancel token: set by whoever started the job, read by the job between steps."""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised by :meth:`CancelToken.check` in a job that was asked to stop."""


class CancelToken:
    """Whether a job was asked to stop. Thread-safe; once set, it stays set.

    Calling the token answers the question, so it goes wherever the model's long jobs take
    a ``cancelled: Callable[[], bool]`` (transfers, whole-array statistics). In the GUI,
    every background job gets exactly one (``qt.workers``): aborting the job sets it, and
    a generator job is also stopped at its next yield.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop (it stops at its next check)."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` when the job was asked to stop."""
        if self._event.is_set():
            raise Cancelled("cancelled")

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


__all__ = ["CancelToken", "Cancelled"]
