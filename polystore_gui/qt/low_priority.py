"""A worker's generator run in a thread of its own at a lower CPU priority (issue 19).

A transfer keeps both CPUs of a small machine busy (its copy threads: ``copy_file_range``
and the comparison of every block, in the kernel and in C), and the GUI thread, which needs
a few milliseconds now and then, waited behind them for a CPU: the window stalled 30-150 ms
at a time during a 1 GiB copy while its own turns took under 1 ms of CPU. On Linux a thread
has a niceness of its own, and the threads it starts inherit it: the transfer's items run
in a thread ``NICENESS`` steps nicer than the rest of the program (its copy threads start
from it), so the scheduler gives the GUI thread a CPU as soon as it wakes, while the copy
still gets every cycle the GUI leaves. A pool thread cannot take its own priority back
without privileges, so the lowered thread is a new one for each job, never a pool's.

Elsewhere (no per-thread niceness) the generator runs in the same kind of thread, unlowered.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Generator, Iterator
from typing import Any

log = logging.getLogger(__name__)

NICENESS = 10  # how much nicer than the GUI thread (a weight about a tenth of its own)


def lower_this_thread(steps: int = NICENESS) -> bool:
    """Make the calling thread ``steps`` nicer (Linux: threads have their own niceness; the
    threads it starts inherit it). False where that cannot be done."""
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError as exc:  # a sandbox refusing it: the copy runs at the GUI's priority
        log.debug("could not lower a transfer thread's priority: %s", exc)
        return False
    return True


def run_lowered(events: Iterator[Any], name: str = "transfer") -> Generator[Any, None, None]:
    """Yield what ``events`` yields, ``events`` being run in a new thread made nicer
    (:func:`lower_this_thread`). An exception it raises is raised here.

    Closed early (the job aborted: quitting), the thread stops ``events`` at its next yield
    by closing it there, on its own thread (its ``finally`` runs: a transfer's cancel path
    removes what it wrote), and this waits for that, as closing ``events`` here would have."""
    box: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    stop = threading.Event()

    def run() -> None:
        lower_this_thread()
        try:
            for event in events:
                if stop.is_set():
                    break
                box.put(("event", event))
        except BaseException as exc:  # carried to the job's thread, raised there
            box.put(("error", exc))
            return
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a generator stopped between two yields: its own clean-up, here
        box.put(("end", None))

    thread = threading.Thread(target=run, name=f"{name}-lowered", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "event":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


__all__ = ["NICENESS", "lower_this_thread", "run_lowered"]
