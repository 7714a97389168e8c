"""Where the GUI thread is during its stalls: a sampler for the benchmarks' heartbeat.

A daemon thread looks every ``every_ms`` at the heartbeat's last tick; while that tick is
more than ``late_ms`` old (the GUI thread has not come back to its event loop), it records
the GUI thread's Python stack and the top frames of every other thread (which of them may
hold the interpreter lock). ``report()`` groups the samples by gap and counts the stacks:
the cause of a stall, by the Python frame it was in (a C call such as ``glLinkProgram``
shows as the Python frame that made it). The sampler takes the interpreter lock itself
every ``every_ms``, so it perturbs what it measures a little: use it to find causes, not
for the figures.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any


def _frames(frame: FrameType | None, depth: int) -> list[str]:
    out = []
    while frame is not None and len(out) < depth:
        code = frame.f_code
        out.append(f"{code.co_filename.rsplit('site-packages/', 1)[-1]}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return out


class GapStacks:
    """Samples of the GUI thread's stack while ``last_tick()`` is more than ``late_ms`` old."""

    def __init__(self, last_tick: Callable[[], float], late_ms: float = 45.0, every_ms: float = 2.0) -> None:
        self.gui_ident = threading.get_ident()
        self.gui_tid = threading.get_native_id()
        self.last_tick = last_tick
        self.late_s = late_ms / 1000.0
        self.every_s = every_ms / 1000.0
        self.samples: list[tuple[float, float, tuple[str, ...], tuple[str, ...], str]] = []
        self.path = ""  # where write_report writes (sampler_from_env)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gap-stacks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        me = threading.get_ident()
        names = {}
        while not self._stop.wait(self.every_s):
            tick = self.last_tick()
            now = time.monotonic()
            if not tick or now - tick < self.late_s:
                continue
            frames = sys._current_frames()
            gui = tuple(_frames(frames.get(self.gui_ident), 14))
            if not names or len(names) != len(frames):
                names = {t.ident: t.name for t in threading.enumerate()}
            others = tuple(f"[{names.get(ident, ident)}] " + " < ".join(_frames(f, 3))
                           for ident, f in frames.items() if ident not in (me, self.gui_ident))
            self.samples.append((tick, now, gui, others, self._kernel_state()))

    def _kernel_state(self) -> str:
        """The GUI thread as the kernel sees it: its state (R running or runnable, S asleep,
        D in disk I/O) and the system call it is in (202 futex: a lock such as the
        interpreter's; 7 poll: its event loop idle), from /proc."""
        base = f"/proc/self/task/{self.gui_tid}"
        try:
            with open(f"{base}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"{base}/syscall") as f:
                call = f.read().split()
        except (OSError, IndexError):
            return "?"
        if call[:1] != ["202"] or len(call) < 2:
            return f"{state} {call[0] if call else '?'}"
        # a futex: which other threads wait on the same word (the interpreter lock's
        # waiters all do), by name
        names = {t.native_id: t.name for t in threading.enumerate()}
        same = []
        for tid in os.listdir("/proc/self/task"):
            if int(tid) == self.gui_tid:
                continue
            try:
                with open(f"/proc/self/task/{tid}/syscall") as f:
                    other = f.read().split()
            except OSError:
                continue
            if other[:2] == call[:2]:
                same.append(names.get(int(tid), "native"))
        return f"{state} futex with [{','.join(sorted(set(same)))}]"

    def report(self, t0: float, label: Callable[[float], str], top: int = 4) -> list[dict[str, Any]]:
        """Per gap (its start, s from ``t0``; its length so far; the step ``label`` names):
        the GUI thread's commonest stacks and the other threads' commonest tops."""
        gaps: dict[float, list[tuple[float, tuple[str, ...], tuple[str, ...], str]]] = {}
        for tick, now, gui, others, state in self.samples:
            gaps.setdefault(tick, []).append((now, gui, others, state))
        out = []
        for tick, rows in sorted(gaps.items()):
            gui_counts = Counter(r[1] for r in rows)
            other_counts = Counter(o for r in rows for o in r[2])
            out.append({
                "at_s": round(tick - t0, 3), "step": label(tick), "samples": len(rows),
                "seen_ms": round((rows[-1][0] - tick) * 1000.0, 1),
                "gui": [[n, list(s)] for s, n in gui_counts.most_common(top)],
                "others": [[n, o] for o, n in other_counts.most_common(top + 2)],
                "kernel": dict(Counter(r[3] for r in rows).most_common()),
            })
        return out


def sampler_from_env(var: str, heartbeat: Any, late_ms: float = 45.0) -> GapStacks | None:
    """With ``var`` naming a path in the environment: a started sampler of the GUI thread's
    stacks in the gaps of ``heartbeat`` (a ``_common.Heartbeat``, sampled while it runs);
    ``write_report`` writes it there at the end. None when ``var`` is not set."""
    path = os.environ.get(var)
    if not path:
        return None
    sampler = GapStacks(lambda: heartbeat.ticks[-1] if heartbeat.ticks and heartbeat.timer.isActive() else 0.0,
                        late_ms=late_ms)
    sampler.path = path
    sampler.start()
    return sampler


def write_report(sampler: GapStacks | None, t0: float, label: Callable[[float], str]) -> None:
    """Stop ``sampler`` (from ``sampler_from_env``) and write its report to its path."""
    if sampler is None:
        return
    sampler.stop()
    Path(sampler.path).write_text(json.dumps(sampler.report(t0, label), indent=1))
