#!/usr/bin/env python
"""Start-up benchmark: polystore-gui's window against a bare Qt window and napari.

Cases (each run in a fresh interpreter, ``--repeat`` times, rounds interleaved):

- ``bare``: PyQt6 QMainWindow + QTreeView + QStandardItemModel (the floor for a Qt window).
- ``polystore``: polystore-gui's MainWindow, shown, ``start_background()`` called; time to
  first paint and to ``discoveryFinished`` (tree filled with polystore's backends), and
  GUI-thread stalls (5 ms heartbeat) from first paint until tree filled + 2 s.
- ``polystore+napari``: as ``polystore``, plus ``import napari`` started in the window's
  own worker pool right after ``show()`` (the preview will import napari in the
  background); heartbeat until both are done + 2 s.
- ``napari``: ``import napari`` then ``napari.Viewer()`` (shown); time to first paint.

Every time is measured from "process start": the parent's ``time.monotonic()`` taken
right before spawning the interpreter (so Python's own start-up is included everywhere).

Targets: polystore-gui's window painted within 2.5x the bare window; after first paint,
no GUI stall above 100 ms while discovery and napari's import run in the background.

Run: ``xvfb-run -a python benchmarks/bench_startup.py`` (re-execs itself under xvfb-run
when there is no DISPLAY).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
CASES = ("bare", "polystore", "polystore-tree", "polystore-tree+napari", "polystore-tree+napari-full", "napari")
SETTLE_S = 2.0  # heartbeat keeps running this long after the tree is filled
CASE_TIMEOUT_S = 180.0

PAINT_TARGET_RATIO = 2.5
STALL_TARGET_MS = 100.0


# -- cases (child side) ------------------------------------------------------------------------


def case_bare(t0: float) -> dict[str, Any]:
    t_start = time.monotonic()
    from PyQt6.QtCore import QTimer
    from PyQt6.QtGui import QStandardItem, QStandardItemModel
    from PyQt6.QtWidgets import QApplication, QMainWindow, QTreeView

    t_imported = time.monotonic()
    app = QApplication(sys.argv[:1])
    result: dict[str, Any] = {}

    def finished() -> None:
        app.quit()

    probe = C.PaintProbe(on_first_paint=lambda: QTimer.singleShot(0, finished))
    window = QMainWindow()
    window.setWindowTitle("bare")
    window.resize(1280, 800)
    model = QStandardItemModel(0, 2, window)
    model.setHorizontalHeaderLabels(["Name", "Kind"])
    for i in range(12):  # about as many rows as polystore's backend list
        model.appendRow([QStandardItem(f"backend {i}"), QStandardItem("read-write storage")])
    tree = QTreeView(window)
    tree.setModel(model)
    window.setCentralWidget(tree)
    t_built = time.monotonic()
    window.show()
    t_shown = time.monotonic()
    app.exec()
    result.update(C.timing_fields(t0, t_start, t_imported, t_built, t_shown, probe))
    return result


def _import_napari_lazy() -> Any:
    """What the brief calls "import napari": napari's top level is lazy (~0.1 s)."""
    import napari

    return napari


def _import_napari_full() -> Any:
    """What a napari Viewer really needs loaded (~1.6 s, ~1,600 modules): the preview's warm-up."""
    import napari
    import napari._qt  # noqa: F401
    import napari._vispy  # noqa: F401
    import napari.viewer  # noqa: F401

    return napari


def _thread_done_class() -> Any:
    from qtpy.QtCore import QObject, Signal

    class ThreadDone(QObject):
        """Lives on the GUI thread; ``done`` emitted from another thread arrives queued."""

        done = Signal()
        callback: Any = None

        def on_done(self) -> None:
            if self.callback is not None:
                self.callback()

    return ThreadDone


def _start_background(window: Any, viewer: bool) -> bool:
    """``window.start_background(viewer=...)``; False when this window has no such switch."""
    try:
        window.start_background(viewer=viewer)
        return True
    except TypeError:
        window.start_background()
        return False


def case_polystore(t0: float, mode: str) -> dict[str, Any]:
    """``mode``: "shipped" (``start_background()`` as run_gui calls it: discovery, and -- when
    the window has the embedded napari viewer -- napari's import in the worker pool, the
    viewer then built on the GUI thread); "tree" (discovery only); "tree+napari-lazy" /
    "tree+napari-full" (discovery, plus a plain ``threading.Thread`` importing napari)."""
    t_start = time.monotonic()
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.main_window import MainWindow

    t_imported = time.monotonic()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")

    heartbeat = C.Heartbeat()
    marks: dict[str, float] = {}
    waits: set[str] = {"discovery"}

    def mark(name: str) -> None:
        marks.setdefault(name, time.monotonic())
        waits.discard(name.removesuffix("_failed"))
        if not waits and "all_done" not in marks:
            marks["all_done"] = time.monotonic()
            QTimer.singleShot(int(SETTLE_S * 1000), finish)

    def finish() -> None:
        if "end" in marks:
            return
        marks["end"] = time.monotonic()
        if mode == "shipped" and has_viewer and hasattr(pane, "imported") and "preview_asked" not in marks:
            first_preview()
            return
        heartbeat.stop()
        window.shutdown()
        app.quit()

    def first_preview() -> None:
        """The first array previewed: the viewer is built then (GUI time, measured apart)."""
        import tempfile

        import numpy as np

        path = os.path.join(tempfile.mkdtemp(prefix="bench-startup-"), "plane.npy")
        np.save(path, (np.arange(512 * 512) % 4096).astype(np.uint16).reshape(512, 512))
        window.preview.previewShown.connect(lambda _p: QTimer.singleShot(1000, end_preview))
        marks["preview_asked"] = time.monotonic()
        window.preview.request("disk", path)

    def end_preview() -> None:
        marks["preview_end"] = time.monotonic()
        heartbeat.stop()
        window.shutdown()
        app.quit()

    probe = C.PaintProbe(on_first_paint=heartbeat.start)
    from _gap_stacks import sampler_from_env, write_report

    # A path: the GUI thread's stacks in its gaps (gaps from 15 ms: start-up's are short).
    sampler = sampler_from_env("BENCH_STARTUP_STACKS", heartbeat, late_ms=15.0)
    window = MainWindow([])
    t_built = time.monotonic()

    def on_discovery(discovery: Any) -> None:
        marks["backends"] = len(discovery.backends)
        mark("discovery")

    window.discoveryFinished.connect(on_discovery)
    pane = getattr(getattr(window, "preview", None), "viewer", None)
    has_viewer = pane is not None and hasattr(pane, "ready")
    if mode == "shipped" and has_viewer:
        waits.add("viewer")
        # The window as shipped imports napari after discovery and builds the viewer on the
        # first array previewed: "napari ready" is the import done (``imported``); the first
        # preview (with the viewer's build) is measured after the settle time, apart.
        (pane.imported if hasattr(pane, "imported") else pane.ready).connect(lambda: mark("viewer"))
        if hasattr(pane, "failed"):
            pane.failed.connect(lambda msg: (print(f"viewer failed: {msg}", file=sys.stderr), mark("viewer_failed")))
    window.show()
    t_shown = time.monotonic()
    if mode == "shipped":
        window.start_background()
    else:
        _start_background(window, viewer=False)
    thread = None
    if mode.startswith("tree+napari"):
        _ThreadDone = _thread_done_class()  # noqa: N806
        importer = _import_napari_full if mode.endswith("full") else _import_napari_lazy
        waits.add("napari")

        def import_in_thread() -> None:
            try:
                importer()
                marks["napari_thread_done"] = time.monotonic()
            except Exception as exc:  # reported, and the run still ends
                print(f"napari import failed: {exc!r}", file=sys.stderr)
            relay.done.emit()  # queued back to the GUI thread

        relay = _ThreadDone()
        relay.done.connect(relay.on_done)
        relay.callback = lambda: mark("napari")
        marks["napari_started"] = time.monotonic()
        thread = threading.Thread(target=import_in_thread, name="napari-import", daemon=True)
        thread.start()
    QTimer.singleShot(int(CASE_TIMEOUT_S * 1000) - 10_000, finish)  # never hang
    app.exec()
    write_report(sampler, t0, lambda _t: mode)

    stall_window_start = probe.frame_done or probe.first_paint
    stalls = heartbeat.stats(stall_window_start, marks.get("end"))
    preview_stalls = (heartbeat.stats(marks["preview_asked"], marks["preview_end"])
                      if "preview_end" in marks else None)
    filled = marks.get("discovery")
    stalls_until_filled = heartbeat.stats(stall_window_start, filled) if filled else None

    def rel(key: str) -> float | None:
        return marks[key] - t0 if key in marks else None

    napari_done = marks.get("napari_thread_done")
    result: dict[str, Any] = dict(
        mode=mode,
        has_embedded_viewer=has_viewer,
        **C.timing_fields(t0, t_start, t_imported, t_built, t_shown, probe),
        tree_filled_s=rel("discovery"),
        backends=marks.get("backends"),
        viewer_ready_s=rel("viewer"),
        viewer_failed=("viewer_failed" in marks) or None,
        napari_imported_s=(napari_done - t0) if napari_done else None,
        napari_import_duration_s=(napari_done - marks["napari_started"]) if napari_done else None,
        stalls=stalls,
        stalls_until_filled=stalls_until_filled,
        first_preview_stalls=preview_stalls,
        first_preview_s=(marks["preview_end"] - marks["preview_asked"] - 1.0) if "preview_end" in marks else None,
        worst_gaps=[(round(a - t0, 3), round(ms, 1)) for a, ms in heartbeat.worst_gaps(5)],
        stall_window_s=(marks.get("end", 0) - stall_window_start) if stall_window_start else None,
    )
    if stalls.get("max_stall_at") is not None:
        result["max_stall_at_s"] = stalls["max_stall_at"] - t0
    return result


def case_napari(t0: float) -> dict[str, Any]:
    t_start = time.monotonic()
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    t_qt = time.monotonic()
    import napari

    t_imported = time.monotonic()
    # napari would make its own QApplication; make it first so the paint probe can hook it.
    t_before_viewer = time.monotonic()
    from napari._qt.qt_event_loop import get_qapp

    app = get_qapp()
    assert QApplication.instance() is app
    viewer_box: dict[str, Any] = {}

    def finished() -> None:
        viewer_box["viewer"].close()
        app.quit()

    probe = C.PaintProbe(on_first_paint=lambda: QTimer.singleShot(0, finished))
    viewer = napari.Viewer(show=True)
    viewer_box["viewer"] = viewer
    t_viewer = time.monotonic()
    QTimer.singleShot(int(CASE_TIMEOUT_S * 1000) - 10_000, finished)
    app.exec()
    return dict(
        interpreter_s=t_start - t0,
        qt_import_s=t_qt - t_start,
        napari_import_s=t_imported - t_qt,
        imports_s=t_imported - t_start,
        viewer_construct_s=t_viewer - t_before_viewer,
        built_s=t_viewer - t0,
        shown_s=t_viewer - t0,
        first_paint_s=probe.first_paint - t0 if probe.first_paint else None,
        frame_done_s=probe.frame_done - t0 if probe.frame_done else None,
        napari_version=getattr(napari, "__version__", None),
    )


def run_child(case: str) -> None:
    t0 = C.t0_from_env()
    if case == "bare":
        result = case_bare(t0)
    elif case == "polystore":
        result = case_polystore(t0, "shipped")
    elif case == "polystore-tree":
        result = case_polystore(t0, "tree")
    elif case == "polystore-tree+napari":
        result = case_polystore(t0, "tree+napari-lazy")
    elif case == "polystore-tree+napari-full":
        result = case_polystore(t0, "tree+napari-full")
    elif case == "napari":
        result = case_napari(t0)
    else:
        raise SystemExit(f"unknown case {case!r}")
    result["case"] = case
    C.emit_result(result)


# -- parent ------------------------------------------------------------------------------------


def _med(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return C.summarize(r.get(key) for r in runs if "error" not in r)


def _stall(runs: list[dict[str, Any]], key: str, field: str) -> list[Any]:
    return [((r.get(key) or {}).get(field)) for r in runs if "error" not in r]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {CASES}")
    parser.add_argument("--render", metavar="JSON", help="print the tables of an earlier results file")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--no-warmup", action="store_true", help="skip the unrecorded warm-up run of each case")
    parser.add_argument("--name", default="bench_startup", help="results/<name>.json")
    args = parser.parse_args(argv)

    if args.case:
        run_child(args.case)
        return 0
    if args.render:
        # Tables and verdicts again from a results file (no measuring).
        payload = json.loads(Path(args.render).read_text())
        summary = payload["summary"]
        print(render(summary, list(summary), payload["repeat"]) + "\n\n"
              + "\n".join(f"- {v}" for v in judge(summary)))
        return 0

    C.ensure_display(SCRIPT)
    load_before = C.warn_if_busy()
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            parser.error(f"unknown case {c!r}")
    if not args.no_warmup:
        # One unrecorded run each, so every case starts from a warm page cache and .pyc files.
        for case in cases:
            print(f"warm-up: {case}", file=sys.stderr, flush=True)
            C.run_case(SCRIPT, case, timeout=CASE_TIMEOUT_S)
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in cases}
    for i in range(args.repeat):
        for case in cases:  # interleaved rounds: drift hits every case alike
            r = C.run_case(SCRIPT, case, timeout=CASE_TIMEOUT_S)
            runs[case].append(r)
            if "error" in r:
                print(f"[{i + 1}/{args.repeat}] {case}: ERROR {r['error']}\n{r.get('stderr', '')}", file=sys.stderr)
            else:
                extra = ""
                if r.get("tree_filled_s") is not None:
                    extra = f", tree filled {r['tree_filled_s']:.3f} s, max stall {C.fmt_ms(r['stalls']['max_stall_ms'])}"
                print(f"[{i + 1}/{args.repeat}] {case}: first paint {C.fmt_s(r.get('first_paint_s'))}{extra}",
                      file=sys.stderr, flush=True)

    summary: dict[str, Any] = {}
    for case in cases:
        rs = runs[case]
        summary[case] = {
            key: _med(rs, key)
            for key in ("interpreter_s", "imports_s", "napari_import_s", "viewer_construct_s", "shown_s",
                        "first_paint_s", "frame_done_s", "tree_filled_s", "napari_imported_s",
                        "napari_import_duration_s", "viewer_ready_s")
        }
        if case.startswith("polystore"):
            summary[case]["max_stall_ms"] = C.summarize(_stall(rs, "stalls", "max_stall_ms"))
            summary[case]["gaps_over_50ms"] = C.summarize(_stall(rs, "stalls", "gaps_over_50ms"))
            summary[case]["gaps_over_100ms"] = C.summarize(_stall(rs, "stalls", "gaps_over_100ms"))
            summary[case]["max_stall_at_s"] = _med(rs, "max_stall_at_s")
            if any(r.get("first_preview_stalls") for r in rs):
                summary[case]["first_preview_s"] = _med(rs, "first_preview_s")
                summary[case]["first_preview_stall_ms"] = C.summarize(_stall(rs, "first_preview_stalls", "max_stall_ms"))
            summary[case]["errors"] = sum(1 for r in rs if "error" in r)

    if "bare" in runs:
        for case in cases:
            ratios = [r["first_paint_s"] / b["first_paint_s"] for r, b in zip(runs[case], runs["bare"])
                      if r.get("first_paint_s") and b.get("first_paint_s")]
            summary[case]["paint_ratio_per_round"] = C.summarize(ratios)
    tables = render(summary, cases, args.repeat)
    busy = [r.get("cpu_busy_before") for rs in runs.values() for r in rs if r.get("cpu_busy_before") is not None]
    C.publish(
        args.name, "startup", tables, judge(summary), busy, load_before,
        repeat=args.repeat,
        targets={"paint_ratio_vs_bare": PAINT_TARGET_RATIO, "max_stall_ms": STALL_TARGET_MS},
        summary=summary,
        runs=runs,
    )
    return 0


def _mm(s: dict[str, Any] | None, unit: str = "s") -> str:
    if not s or s.get("median") is None:
        return "—"
    if unit == "ms":
        return f"{s['median']:.0f} / {s['min']:.0f} ms"
    if unit == "ms3":
        return f"{s['median']:.0f} / {s['min']:.0f} / {s['max']:.0f} ms"
    if unit == "n":
        return f"{s['median']:g} / {s['min']:g} / {s['max']:g}"
    return f"{s['median']:.3f} / {s['min']:.3f} s"


LABELS = {
    "bare": "bare PyQt6 QMainWindow + QTreeView",
    "polystore": "polystore-gui as shipped: `start_background()` (discovery + napari import + embedded viewer)",
    "polystore-tree": "polystore-gui, discovery only: `start_background(viewer=False)`",
    "polystore-tree+napari": "polystore-gui, discovery + thread running `import napari` (lazy top level)",
    "polystore-tree+napari-full": "polystore-gui, discovery + thread importing napari.viewer, napari._vispy, napari._qt",
    "napari": "napari: `import napari; napari.Viewer()`",
}


def _ratio(s: dict[str, Any] | None) -> str:
    if not s or s.get("median") is None:
        return "—"
    return f"{s['median']:.2f}x / {s['min']:.2f}x"


def render(summary: dict[str, Any], cases: list[str], repeat: int) -> str:
    rows = []
    for case in cases:
        s = summary[case]
        if case == "polystore":
            ready = _mm(s["viewer_ready_s"])
        elif case.startswith("polystore-tree+napari"):
            ready = _mm(s["napari_imported_s"])
        elif case == "napari":
            ready = _mm(s["first_paint_s"])
        else:
            ready = "—"
        rows.append([
            LABELS[case],
            _mm(s["interpreter_s"]),
            _mm(s["imports_s"]),
            _mm(s["first_paint_s"]),
            _ratio(s.get("paint_ratio_per_round")),
            _mm(s["tree_filled_s"]),
            ready,
        ])
    t1 = C.markdown_table(
        [f"program (median / min of {repeat} fresh processes; seconds from process start)", "interpreter up",
         "imports", "first paint", "paint vs bare²", "tree filled (`discoveryFinished`)", "napari ready¹"],
        rows,
    )
    notes = [
        "¹ as shipped: napari imported (and its `ViewerModel` built) in the worker pool after discovery, the "
        "viewer's `imported` signal (its Qt side is built on the first preview: see below); thread cases: the "
        "import thread finished; napari: its window painted.",
        "² the first-paint ratio to the bare window of the same round (rounds are interleaved), median / min: "
        "a neighbour's load hits a whole round alike, so this is steadier than a ratio of medians.",
        "\"interpreter up\" is the time from the parent's spawn to the child's first line of code; "
        "\"imports\" is the program's own imports after that (for napari: Qt + `import napari`, which is lazy).",
    ]
    if "napari" in summary:
        s = summary["napari"]
        notes.append(f"napari detail: `import napari` {_mm(s['napari_import_s'])}, `napari.Viewer(show=True)` "
                     f"construction {_mm(s['viewer_construct_s'])} (median / min).")
    rows2 = []
    for case in cases:
        if not case.startswith("polystore"):
            continue
        s = summary[case]
        rows2.append([
            LABELS[case],
            _mm(s["max_stall_ms"], "ms3"),
            _mm(s["gaps_over_50ms"], "n"),
            _mm(s["gaps_over_100ms"], "n"),
            _mm(s["max_stall_at_s"]),
        ])
    t2 = C.markdown_table(
        ["GUI-thread stalls from first paint until the tree is filled (and napari ready, where started) + 2 s; "
         "5 ms heartbeat", "longest stall (median / min / max)", "gaps > 50 ms (median/min/max)",
         "gaps > 100 ms (median/min/max)", "longest stall at (s from start)"],
        rows2,
    )
    extra = ""
    shipped = summary.get("polystore") or {}
    if shipped.get("first_preview_stall_ms"):
        extra = ("\n\nAs shipped, napari's viewer is built when the first array is previewed: that first "
                 f"preview (a 512 x 512 NPY, after start-up) took {_mm(shipped.get('first_preview_s'))} from the "
                 f"request to the layer shown, with a longest GUI stall of "
                 f"{_mm(shipped['first_preview_stall_ms'], 'ms3')} (median / min / max).")
    return t1 + "\n\n" + "\n".join(notes) + "\n\n" + t2 + extra


def judge(summary: dict[str, Any]) -> list[str]:
    out = []
    bare = (summary.get("bare") or {}).get("first_paint_s", {}).get("median")
    for case in CASES:
        if not case.startswith("polystore"):
            continue
        s = summary.get(case)
        if not s:
            continue
        paint = s["first_paint_s"]["median"]
        per_round = (s.get("paint_ratio_per_round") or {}).get("median")
        if bare and paint and per_round:
            ok = per_round <= PAINT_TARGET_RATIO
            out.append(f"{case}: first paint {paint:.3f} s (median; bare {bare:.3f} s), {per_round:.2f}x the bare "
                       f"window of the same round (median of {s['paint_ratio_per_round']['n']} rounds); target ≤ "
                       f"{PAINT_TARGET_RATIO}x → {'MET' if ok else 'MISSED'}")
        worst = s["max_stall_ms"]["max"]
        med = s["max_stall_ms"]["median"]
        if worst is not None:
            ok = worst <= STALL_TARGET_MS
            out.append(f"{case}: longest GUI stall median {med:.0f} ms, worst run {worst:.0f} ms; target ≤ "
                       f"{STALL_TARGET_MS:.0f} ms in every run → {'MET' if ok else 'MISSED'}")
    return out


if __name__ == "__main__":
    sys.exit(main())
