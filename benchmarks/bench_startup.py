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
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
CASES = ("bare", "polystore", "polystore+napari", "polystore+napari-full", "napari")
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
    result.update(
        interpreter_s=t_start - t0,
        imports_s=t_imported - t_start,
        built_s=t_built - t0,
        shown_s=t_shown - t0,
        first_paint_s=probe.first_paint - t0 if probe.first_paint else None,
        frame_done_s=probe.frame_done - t0 if probe.frame_done else None,
    )
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


def case_polystore(t0: float, with_napari: str | None) -> dict[str, Any]:
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

    def maybe_finish() -> None:
        if "discovery" in marks and (not with_napari or "napari_imported" in marks or "napari_failed" in marks):
            if "all_done" not in marks:
                marks["all_done"] = time.monotonic()
                QTimer.singleShot(int(SETTLE_S * 1000), finish)

    def finish() -> None:
        heartbeat.stop()
        marks["end"] = time.monotonic()
        window.shutdown()
        app.quit()

    def on_first_frame() -> None:
        heartbeat.start()

    probe = C.PaintProbe(on_first_paint=on_first_frame)
    window = MainWindow([], demo=False)
    t_built = time.monotonic()

    def on_discovery(_discovery: Any) -> None:
        marks["discovery"] = time.monotonic()
        marks["backends"] = len(_discovery.backends)
        maybe_finish()

    window.discoveryFinished.connect(on_discovery)
    window.show()
    t_shown = time.monotonic()
    window.start_background()
    if with_napari:
        importer = _import_napari_full if with_napari == "full" else _import_napari_lazy

        def on_napari(_module: Any) -> None:
            marks["napari_imported"] = time.monotonic()
            maybe_finish()

        def on_napari_error(exc: BaseException) -> None:
            marks["napari_failed"] = time.monotonic()
            print(f"napari import failed: {exc!r}", file=sys.stderr)
            maybe_finish()

        marks["napari_started"] = time.monotonic()
        window.workers.start(importer, on_return=on_napari, on_error=on_napari_error)
    QTimer.singleShot(int(CASE_TIMEOUT_S * 1000) - 10_000, finish)  # never hang
    app.exec()

    stall_window_start = probe.frame_done or probe.first_paint
    stalls = heartbeat.stats(stall_window_start, marks.get("end"))
    # Stalls before the tree was filled vs. during the settle time afterwards.
    fill = marks.get("all_done")
    stalls_until_filled = heartbeat.stats(stall_window_start, fill) if fill else None
    result: dict[str, Any] = dict(
        interpreter_s=t_start - t0,
        imports_s=t_imported - t_start,
        built_s=t_built - t0,
        shown_s=t_shown - t0,
        first_paint_s=probe.first_paint - t0 if probe.first_paint else None,
        frame_done_s=probe.frame_done - t0 if probe.frame_done else None,
        tree_filled_s=marks["discovery"] - t0 if "discovery" in marks else None,
        backends=marks.get("backends"),
        napari_imported_s=(marks["napari_imported"] - t0) if "napari_imported" in marks else None,
        napari_import_duration_s=(marks["napari_imported"] - marks["napari_started"]) if "napari_imported" in marks else None,
        napari_failed=("napari_failed" in marks) or None,
        stalls=stalls,
        stalls_until_filled=stalls_until_filled,
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
        result = case_polystore(t0, with_napari=None)
    elif case == "polystore+napari":
        result = case_polystore(t0, with_napari="lazy")
    elif case == "polystore+napari-full":
        result = case_polystore(t0, with_napari="full")
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
    parser.add_argument("--case", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--no-warmup", action="store_true", help="skip the unrecorded warm-up run of each case")
    parser.add_argument("--name", default="bench_startup", help="results/<name>.json")
    args = parser.parse_args(argv)

    if args.case:
        run_child(args.case)
        return 0

    C.ensure_display(SCRIPT)
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
                        "napari_import_duration_s")
        }
        if case.startswith("polystore"):
            summary[case]["max_stall_ms"] = C.summarize(_stall(rs, "stalls", "max_stall_ms"))
            summary[case]["gaps_over_50ms"] = C.summarize(_stall(rs, "stalls", "gaps_over_50ms"))
            summary[case]["gaps_over_100ms"] = C.summarize(_stall(rs, "stalls", "gaps_over_100ms"))
            summary[case]["errors"] = sum(1 for r in rs if "error" in r)

    tables = render(summary, cases, args.repeat)
    verdicts = judge(summary)
    print(tables)
    print()
    print("\n".join(f"- {v}" for v in verdicts))
    path = C.write_json(args.name, {
        "benchmark": "startup",
        "machine": C.machine_info(),
        "repeat": args.repeat,
        "targets": {"paint_ratio_vs_bare": PAINT_TARGET_RATIO, "max_stall_ms": STALL_TARGET_MS},
        "summary": summary,
        "verdicts": verdicts,
        "markdown": tables,
        "runs": runs,
    })
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


def _mm(s: dict[str, Any] | None, unit: str = "s") -> str:
    if not s or s.get("median") is None:
        return "—"
    if unit == "ms":
        return f"{s['median']:.0f} / {s['min']:.0f} ms"
    if unit == "n":
        return f"{s['median']:g} / {s['min']:g} / {s['max']:g}"
    return f"{s['median']:.3f} / {s['min']:.3f} s"


def render(summary: dict[str, Any], cases: list[str], repeat: int) -> str:
    rows = []
    labels = {
        "bare": "bare PyQt6 QMainWindow + QTreeView",
        "polystore": "polystore-gui MainWindow",
        "polystore+napari": "polystore-gui + `import napari` in background",
        "polystore+napari-full": "polystore-gui + napari.viewer/_vispy/_qt import in background",
        "napari": "napari.Viewer()",
    }
    for case in cases:
        s = summary[case]
        rows.append([
            labels[case],
            _mm(s["interpreter_s"]),
            _mm(s["imports_s"]),
            _mm(s["first_paint_s"]),
            _mm(s["tree_filled_s"]),
            _mm(s["napari_imported_s"]) if case != "napari" else _mm(s["napari_import_s"]),
        ])
    t1 = C.markdown_table(
        ["program (median / min of %d, from process start)" % repeat, "interpreter up", "imports",
         "first paint", "tree filled (discoveryFinished)", "napari imported"],
        rows,
    )
    rows2 = []
    for case in cases:
        if not case.startswith("polystore"):
            continue
        s = summary[case]
        rows2.append([
            labels[case],
            _mm(s["max_stall_ms"], "ms"),
            _mm(s["gaps_over_50ms"], "n"),
            _mm(s["gaps_over_100ms"], "n"),
        ])
    t2 = C.markdown_table(
        ["GUI-thread stalls, first paint → tree filled + 2 s (5 ms heartbeat)",
         "longest stall (median / min)", "gaps > 50 ms (median/min/max)", "gaps > 100 ms (median/min/max)"],
        rows2,
    )
    note = ("napari column: for `napari.Viewer()` it is the `import napari` duration alone; for "
            "polystore+napari it is when the background import finished, from process start.")
    return t1 + "\n\n" + note + "\n\n" + t2


def judge(summary: dict[str, Any]) -> list[str]:
    out = []
    bare = (summary.get("bare") or {}).get("first_paint_s", {}).get("median")
    for case in ("polystore", "polystore+napari", "polystore+napari-full"):
        s = summary.get(case)
        if not s:
            continue
        paint = s["first_paint_s"]["median"]
        if bare and paint:
            ratio = paint / bare
            ok = ratio <= PAINT_TARGET_RATIO
            out.append(f"{case}: first paint {paint:.3f} s = {ratio:.2f}x bare ({bare:.3f} s); target ≤ "
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
