"""Shared plumbing for the benchmarks: subprocess cases, heartbeat, paint probe, reports.

Every measured case runs in a fresh interpreter (``python bench_x.py --case NAME``).
The parent reads ``time.monotonic()`` right before spawning it and passes the value in
``PSB_BENCH_T0``; on Linux ``time.monotonic()`` is CLOCK_MONOTONIC, one clock for the
whole machine, so the child can subtract it from its own readings. "Process start" in
every table means that moment (interpreter start-up is therefore included).

The child prints one line ``BENCH-RESULT <json>`` on stdout; everything else it prints
is passed through to the parent's stderr when the case fails.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = BENCH_DIR / "_data"
T0_ENV = "PSB_BENCH_T0"
RESULT_PREFIX = "BENCH-RESULT "
HEARTBEAT_MS = 5


# -- process plumbing --------------------------------------------------------------------------


def ensure_display(script: str) -> None:
    """Re-run ``script`` under ``xvfb-run -a`` when there is no X server (and no Wayland)."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"):
        return
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.exit("No display and no xvfb-run: run under an X server or install xvfb.")
    print("No DISPLAY: re-running under xvfb-run -a", file=sys.stderr)
    os.execv(xvfb, [xvfb, "-a", "-s", "-screen 0 1600x1000x24", sys.executable, script, *sys.argv[1:]])


def wait_events(app: Any, condition: Callable[[], Any], timeout: float = 120.0) -> bool:
    """Process ``app``'s events until ``condition()`` holds or ``timeout`` seconds pass
    (the benchmarks' cases wait so, not in a nested event loop); whether it holds."""
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    return bool(condition())


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_API", "pyqt6")
    # napari must never read or write the user's settings.
    config_dir = Path(tempfile.gettempdir()) / "polystore-gui-bench"
    config_dir.mkdir(exist_ok=True)
    env["NAPARI_CONFIG"] = str(config_dir / "napari.yaml")
    env.setdefault("PYTHONHASHSEED", "0")
    # Bytecode caches as in a normal install. (This sandbox sets PYTHONDONTWRITEBYTECODE=1,
    # which would make every start compile polystore_gui from source.) The caches go to a
    # temporary tree, never into the source folders.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(config_dir / "pycache")
    if extra:
        env.update(extra)
    # Mesa's compiled shaders persist between runs as in a user's ~/.cache, even where a run
    # gives the app a fresh XDG_CACHE_HOME (bench_session): a first-ever draw compiles them
    # (a vectors layer 310 ms cold, 21 ms warm; a Shapes layer 1.8 s vs 0.26 s, measured).
    env.setdefault("MESA_SHADER_CACHE_DIR", str(config_dir / "mesa_shader_cache"))
    return env


def die_with_parent() -> None:
    """``preexec_fn`` for a benchmark's children: the kernel sends SIGTERM when the parent dies.

    A harness ended from outside (a test's timeout, Ctrl-C in a terminal that is gone) left its
    session process and its viewer running with no one to stop them.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def run_case(script: str, case: str, args: Sequence[str] = (), *, timeout: float = 300.0,
             env: dict[str, str] | None = None, quiet: bool = True) -> dict[str, Any]:
    """Run ``script --case case`` in a fresh interpreter and return its result dict."""
    cmd = [sys.executable, script, "--case", case, *args]
    run_env = child_env(env)
    busy_before = wait_for_quiet() if quiet else None
    t0 = time.monotonic()
    run_env[T0_ENV] = repr(t0)
    try:
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired as exc:
        return {"error": f"timed out after {timeout:.0f} s", "stderr": _tail(exc.stderr)}
    wall = time.monotonic() - t0
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
            result["process_wall_s"] = wall
            result["cpu_busy_before"] = busy_before
            return result
    return {"error": f"exit status {proc.returncode}, no result", "stderr": _tail(proc.stderr),
            "stdout": _tail(proc.stdout)}


def _tail(text: Any, n: int = 3000) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-n:]


def t0_from_env() -> float:
    value = os.environ.get(T0_ENV)
    return float(value) if value else time.monotonic()


def emit_result(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# -- in-process GUI probes (only import Qt when used) -----------------------------------------


class Heartbeat:
    """A 5 ms precise QTimer; the gaps between its ticks are GUI-thread stalls."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS) -> None:
        from qtpy.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.on_tick: list[Callable[[float], None]] = []

    def start(self) -> None:
        self.ticks = [time.monotonic()]
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.ticks.append(time.monotonic())

    def _tick(self) -> None:
        now = time.monotonic()
        self.ticks.append(now)
        for fn in self.on_tick:
            fn(now)

    def worst_gaps(self, k: int = 5) -> list[tuple[float, float]]:
        """The ``k`` longest gaps as (monotonic time the gap began, stall ms beyond the interval)."""
        gaps = [(a, (b - a) * 1000.0 - self.interval_ms) for a, b in zip(self.ticks, self.ticks[1:])]
        return sorted(gaps, key=lambda g: -g[1])[:k]

    def stats(self, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        """Stall statistics over ticks in [start, end] (monotonic seconds)."""
        ticks = [t for t in self.ticks if (start is None or t >= start) and (end is None or t <= end)]
        return stall_stats(ticks, self.interval_ms)


def stall_stats(ticks: Sequence[float], interval_ms: float = HEARTBEAT_MS) -> dict[str, Any]:
    gaps = [(b - a) * 1000.0 for a, b in zip(ticks, ticks[1:])]
    if not gaps:
        return {"ticks": len(ticks), "max_stall_ms": None, "gaps_over_50ms": 0, "gaps_over_100ms": 0}
    worst = max(gaps)
    worst_at = ticks[gaps.index(worst)]
    return {
        "ticks": len(ticks),
        "max_stall_ms": max(0.0, worst - interval_ms),
        "max_stall_at": worst_at,
        "gaps_over_50ms": sum(1 for g in gaps if g > 50),
        "gaps_over_100ms": sum(1 for g in gaps if g > 100),
        "stalled_ms_total": sum(g - interval_ms for g in gaps if g > 50),
        # what the stalls over the p99 target (30 ms) cost it: the p99 is <= 30 ms while the
        # whole run's excess (each stall's time beyond 30 ms) stays under 1 % of the run
        "stalls_over_30ms": sum(1 for g in gaps if g - interval_ms > 30),
        "stalled_ms_over_30ms": sum(g - interval_ms for g in gaps if g - interval_ms > 30),
        "excess_over_30ms": sum(g - interval_ms - 30 for g in gaps if g - interval_ms > 30),
        "median_gap_ms": statistics.median(gaps),
        "p99_latency_ms": latency_percentile(gaps, 99.0, interval_ms),
    }


def latency_percentile(gaps_ms: Sequence[float], q: float, interval_ms: float = HEARTBEAT_MS) -> float:
    """The ``q``-th percentile of event-loop latency over time, from the heartbeat's gaps.

    An input event arriving at a moment drawn uniformly over the measured time waits for
    the rest of the stall it falls in: inside a gap of ``g`` ms (a stall of
    ``s = g - interval`` ms), an event ``u`` ms after the gap began waits ``max(0, s - u)``.
    This weights a stall by how long it lasted (a 1 s freeze is 1 s of latencies, not one
    sample among thousands of 5 ms ticks). The answer is the ``x`` with
    ``q`` % of the time spent at a latency ≤ ``x`` (bisection; to 0.01 ms).
    """
    total = sum(gaps_ms)
    if total <= 0:
        return 0.0
    stalls = [max(0.0, g - interval_ms) for g in gaps_ms]
    allowed = total * (1.0 - q / 100.0)  # the time spent above the percentile

    def time_above(x: float) -> float:
        return sum(s - x for s in stalls if s > x)

    lo, hi = 0.0, max(stalls)
    if time_above(0.0) <= allowed:
        return 0.0
    while hi - lo > 0.01:
        mid = (lo + hi) / 2
        if time_above(mid) > allowed:
            lo = mid
        else:
            hi = mid
    return hi


class PaintProbe:
    """Notes the first paint event delivered to a top-level QMainWindow (application-wide filter).

    ``first_paint`` is when Qt delivered that QEvent.Paint; ``frame_done`` is when control
    next returned to the event loop (the whole first frame has been painted and flushed:
    Qt paints every widget of the window synchronously inside the one expose/update).
    """

    def __init__(self, on_first_paint: Callable[[], None] | None = None) -> None:
        from qtpy.QtCore import QEvent, QObject, QTimer
        from qtpy.QtWidgets import QApplication, QMainWindow

        probe = self
        self.first_paint: float | None = None
        self.frame_done: float | None = None
        self.window: Any = None
        self._on_first_paint = on_first_paint

        class _Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
                if probe.first_paint is None and event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
                    probe.first_paint = time.monotonic()
                    probe.window = obj
                    QTimer.singleShot(0, probe._done)
                return False

        self._filter = _Filter()
        app = QApplication.instance()
        assert app is not None
        app.installEventFilter(self._filter)

    def _done(self) -> None:
        self.frame_done = time.monotonic()
        from qtpy.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._filter)
        if self._on_first_paint is not None:
            self._on_first_paint()


# -- reports -----------------------------------------------------------------------------------


def summarize(values: Iterable[float | None]) -> dict[str, float | None]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt_s(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f} s"


def fmt_ms(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:.{digits}f} ms"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _dist_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _filesystem_of(path: Path) -> str | None:
    """The type of the mount holding ``path`` (from /proc/mounts), e.g. "ext4"."""
    best: tuple[int, str] | None = None
    target = str(path.resolve() if path.exists() else path.parent.resolve())
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/")):
            if best is None or len(parts[1]) > best[0]:
                best = (len(parts[1]), parts[2])
    return best[1] if best else None


def _cpu_times() -> tuple[int, int] | None:
    line = _read("/proc/stat").splitlines()[:1]
    if not line or not line[0].startswith("cpu "):
        return None
    values = [int(v) for v in line[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return idle, sum(values)


def cpu_busy(sample_s: float = 0.5) -> float | None:
    """Fraction of all CPUs busy over ``sample_s`` (from /proc/stat)."""
    a = _cpu_times()
    time.sleep(sample_s)
    b = _cpu_times()
    if a is None or b is None or b[1] == a[1]:
        return None
    return 1.0 - (b[0] - a[0]) / (b[1] - a[1])


def wait_for_quiet(max_wait_s: float = 60.0, busy_limit: float = 0.25) -> float | None:
    """Wait (up to ``max_wait_s``) until other processes leave the CPUs mostly idle.

    Returns the busy fraction measured last, recorded with each run so that a noisy
    neighbour shows in the results.
    """
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    warned = False
    while busy is not None and busy > busy_limit and time.monotonic() < deadline:
        if not warned:
            print(f"  (CPUs {busy:.0%} busy with other work: waiting up to {max_wait_s:.0f} s)",
                  file=sys.stderr, flush=True)
            warned = True
        busy = cpu_busy(1.0)
    return busy


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def warn_if_busy(threshold: float = 0.5) -> tuple[float, float, float] | None:
    """The 1/5/15-minute load averages; warns when something else is using the CPUs."""
    load = load_average()
    if load is not None and load[0] > threshold:
        print(f"warning: load average {load[0]:.2f} before the run: another process is using the "
              f"CPU ({os.cpu_count()} cores); timings will be noisy", file=sys.stderr)
    return load


def _git_state() -> str | None:
    """The commit measured, with "+dirty" when polystore_gui/ has uncommitted changes."""
    repo = BENCH_DIR.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "polystore_gui"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


def machine_info() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), 0)
    try:
        from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR
    except Exception:  # pragma: no cover - Qt missing
        PYQT_VERSION_STR = QT_VERSION_STR = None  # noqa: N806
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "qt": QT_VERSION_STR,
        "pyqt": PYQT_VERSION_STR,
        "napari": _dist_version("napari"),
        "polystore": _dist_version("polystore"),
        "polystore_gui": _dist_version("polystore-gui"),
        "display": os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM"),
        "data_filesystem": _filesystem_of(DATA_DIR),
        "git": _git_state(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def load_notes(busy: Sequence[float], load_before: Sequence[float] | None) -> str:
    """The paragraphs under a results table saying how busy the machine was."""
    text = ""
    if busy:
        text += (f"\n\nOther work on the CPUs just before each run (from /proc/stat, the harness waits up to "
                 f"60 s for < 25 %): median {statistics.median(busy):.0%}, max {max(busy):.0%}.")
    load_after = load_average()
    if load_before and load_after:
        text += (f"\n\nLoad average (1 min) before / after the run: {load_before[0]:.2f} / {load_after[0]:.2f} "
                 f"on {os.cpu_count()} CPUs.")
    return text


def publish(name: str, benchmark: str, tables: str, verdicts: Sequence[str], busy: Sequence[float],
            load_before: Sequence[float] | None, **fields: Any) -> Path:
    """Print the tables (with how busy the machine was) and verdicts; write results/<name>.json."""
    tables += load_notes(busy, load_before)
    print(tables)
    print()
    print("\n".join(f"- {v}" for v in verdicts))
    path = write_json(name, {
        "benchmark": benchmark,
        "machine": machine_info(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        **fields,
        "verdicts": list(verdicts),
        "markdown": tables,
    })
    print(f"\nwrote {path}", file=sys.stderr)
    return path


def timing_fields(t0: float, t_start: float, t_imported: float, t_built: float, t_shown: float,
                  probe: Any) -> dict[str, float | None]:
    """The start-up moments every start-up case reports, in seconds from process start."""
    return {
        "interpreter_s": t_start - t0,
        "imports_s": t_imported - t_start,
        "built_s": t_built - t0,
        "shown_s": t_shown - t0,
        "first_paint_s": probe.first_paint - t0 if probe.first_paint else None,
        "frame_done_s": probe.frame_done - t0 if probe.frame_done else None,
    }
