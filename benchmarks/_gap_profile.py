"""What the GUI thread computed in each of its long turns: cProfile per heartbeat gap.

``_gap_stacks`` samples where the GUI thread is during a gap (wall time: on a loaded machine
most samples are the thread waiting for a CPU or the interpreter lock). This one measures
what it *did*: a fresh ``cProfile.Profile`` runs on the GUI thread between two heartbeat
ticks; at each tick, when the gap was longer than ``wall_ms`` or the thread's own CPU time
(``time.thread_time``) over it more than ``cpu_ms``, the gap's wall and CPU time and its
costliest functions (cumulative, the benchmark's own frames and the event loop left out)
are kept. The thread's CPU time is steadier than the wall time when other work shares the
cores, so it names the turns to split even under load. cProfile slows Python code down
(1.5-2x), so this finds causes; it does not give figures.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

_SKIP = ("bench_session.py", "_common.py", "_gap_profile.py", "bench_preview.py")
_LOOP = ("exec", "processEvents", "<built-in method builtins.exec>")


class GapProfile:
    """Per long gap of ``heartbeat``: (start s, wall ms, GUI-thread CPU ms, top functions)."""

    def __init__(self, heartbeat: Any, wall_ms: float = 45.0, cpu_ms: float = 25.0, top: int = 14) -> None:
        self.heartbeat = heartbeat
        self.wall_s = wall_ms / 1000.0
        self.cpu_s = cpu_ms / 1000.0
        self.top = top
        self.gaps: list[dict[str, Any]] = []
        self._profile: cProfile.Profile | None = None
        self._last = (0.0, 0.0)

    def start(self) -> None:
        self._last = (time.monotonic(), time.thread_time())
        self._profile = cProfile.Profile()
        self._profile.enable()
        self.heartbeat.on_tick.append(self._on_tick)

    def stop(self) -> None:
        if self._on_tick in self.heartbeat.on_tick:
            self.heartbeat.on_tick.remove(self._on_tick)
        if self._profile is not None:
            self._profile.disable()
            self._profile = None

    def _on_tick(self, now: float) -> None:
        profile = self._profile
        if profile is None:
            return
        profile.disable()
        cpu = time.thread_time()
        wall_s, cpu_s = now - self._last[0], cpu - self._last[1]
        if wall_s > self.wall_s or cpu_s > self.cpu_s:
            self.gaps.append({"at": self._last[0], "wall_ms": round(wall_s * 1000, 1),
                              "cpu_ms": round(cpu_s * 1000, 1), "top": self._top(profile)})
        self._profile = cProfile.Profile()
        self._last = (time.monotonic(), time.thread_time())
        self._profile.enable()

    def _top(self, profile: cProfile.Profile) -> list[tuple[float, float, str]]:
        """The gap's costliest functions: (cumulative ms, own ms, file:line name)."""
        stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        rows = []
        for (filename, line, name), (_cc, _nc, tt, ct, _callers) in stats.items():
            if filename.endswith(_SKIP) or any(word in name for word in _LOOP):
                continue
            where = filename.rsplit("site-packages/", 1)[-1].replace("/work/main/", "")
            rows.append((round(ct * 1000, 1), round(tt * 1000, 1), f"{where}:{line} {name}"))
        rows.sort(key=lambda r: -r[0])
        return rows[: self.top]

    def report(self, t0: float, label: Callable[[float], str]) -> list[dict[str, Any]]:
        return [{**gap, "at": round(gap["at"] - t0, 3), "step": label(gap["at"])} for gap in self.gaps]
