#!/usr/bin/env python
"""Chunk-scan benchmark: the inspector's full scan beside its floor and beside zarr.

Arrays (made once under ``benchmarks/_data``; zarr v3, uint8, chunks (1, 16, 16), no
compression, every tenth chunk never written):

- ``chunks102k``: grid (100, 32, 32) = 102,400 chunks;
- ``chunks1m``: grid (1000, 25, 40) = 1,000,000 chunks (``--million``).

Cases, each in its own interpreter; one unrecorded warm-up of each, then ``--rounds``
rounds (default 5; 2 for the million) in rotating order, medians reported (the page cache
is not dropped):

- ``floor``: a bare recursive ``os.scandir`` of the array's folder (names only).
- ``floor-stat``: the same walk plus one ``stat`` per file (what knowing sizes costs).
- ``scan``: ``model.chunks.scan_report``: the full scan with every chunk's stored bytes
  (a ``stat`` per file, made by parallel ``find`` processes: ``model/chunk_find.py``),
  applied to the report as the GUI applies it.
- ``scan_python``: the same with ``POLYSTORE_GUI_CHUNK_WALK=python`` (the Python walk, as
  before ``chunk_find``; what runs where GNU find is missing).
- ``zarr``: zarr's own ``Array.nchunks_initialized`` (102,400 only: it is quadratic,
  about 200 s here).
- ``gui``: the MainWindow with the inspector open on the array: time from asking for the
  scan to the first batch drawn in the table and overlay, to the scan's end, the longest
  GUI stall (5 ms heartbeat) meanwhile, and the time from a click on a chunk in the table
  to its details shown (median of 20 clicks on stored chunks).

Targets: scan <= 3x the floor; first results on screen within 1 s; a click's details
within 100 ms.

Run: ``xvfb-run -a python benchmarks/bench_chunks.py [--million] [--no-zarr]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
GRIDS = {"chunks102k": (100, 32, 32), "chunks1m": (1000, 25, 40)}
CHUNK = (1, 16, 16)

SCAN_RATIO_TARGET = 3.0
FIRST_RESULTS_TARGET_S = 1.0
CLICK_TARGET_MS = 100.0


# -- data --------------------------------------------------------------------------------------


def ensure_array(name: str) -> Path:
    """A zarr v3 array with 9 of every 10 chunks stored, written file by file (made once)."""
    import numpy as np
    import zarr

    grid = GRIDS[name]
    folder = C.DATA_DIR / name
    stamp = C.DATA_DIR / f".{name}.complete"
    if stamp.exists() and folder.is_dir():
        return folder
    shape = tuple(g * c for g, c in zip(grid, CHUNK))
    zarr.create_array(str(folder), shape=shape, chunks=CHUNK, dtype="uint8", compressors=None,
                      fill_value=0, overwrite=True)
    print(f"writing {int(np.prod(grid)) * 9 // 10:,} chunk files in {folder} (once) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    payload = bytes(range(256))
    flat = 0
    for z in range(grid[0]):
        for y in range(grid[1]):
            directory = folder / "c" / str(z) / str(y)
            directory.mkdir(parents=True, exist_ok=True)
            for x in range(grid[2]):
                if flat % 10 != 9:
                    with open(directory / str(x), "wb") as fh:
                        fh.write(payload)
                flat += 1
    stamp.write_text("ok\n")
    print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return folder


# -- cases (child side) ------------------------------------------------------------------------


def case_floor(path: str) -> dict[str, Any]:
    # Written out apart from case_floor_stat on purpose: the floor's loop stays bare.
    started = time.monotonic()
    count = 0
    pending = [path]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    count += 1
    return {"seconds": time.monotonic() - started, "files": count}


def case_floor_stat(path: str) -> dict[str, Any]:
    """The floor plus one stat per file: what any scan that knows sizes must pay."""
    started = time.monotonic()
    count = total = 0
    pending = [path]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    count += 1
                    total += entry.stat().st_size
    return {"seconds": time.monotonic() - started, "files": count, "bytes": total}


def _cpu_seconds() -> float:
    """User + system time of this process and of its children waited for (find's)."""
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def case_scan(path: str) -> dict[str, Any]:
    from polystore_gui.model.chunk_layout import read_layout
    from polystore_gui.model.chunks import ChunkReport, scan

    cpu_before = _cpu_seconds()
    started = time.monotonic()
    layout = read_layout(path)
    report = ChunkReport.empty(layout)
    first = None
    batches = 0
    for batch in scan(layout):
        report.apply(batch)
        batches += 1
        if first is None:
            first = time.monotonic() - started
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds() - cpu_before
    summary = report.summary()
    return {"seconds": elapsed, "cpu_s": cpu, "first_batch_s": first, "batches": batches,
            "stored": summary["nchunks_initialized"], "nchunks": summary["nchunks"],
            "stored_bytes": summary["stored_bytes"]}


def case_zarr(path: str) -> dict[str, Any]:
    import zarr

    array = zarr.open_array(path, mode="r")
    started = time.monotonic()
    n = array.nchunks_initialized
    return {"seconds": time.monotonic() - started, "stored": int(n)}


def case_gui(path: str, timeout_s: float) -> dict[str, Any]:
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.chunk_inspector import ChunkInspector
    from polystore_gui.qt.workers import WorkerPool

    app = QApplication(sys.argv[:1])
    workers = WorkerPool()
    inspector = ChunkInspector(workers)
    inspector.resize(520, 900)
    inspector.show()
    heartbeat = C.Heartbeat()
    marks: dict[str, float] = {}
    clicks: list[float] = []

    def on_batch() -> None:
        if "first" not in marks and inspector.table_model.rowCount() and inspector.report is not None:
            marks["first"] = time.monotonic()

    def on_finished() -> None:
        marks["done"] = time.monotonic()
        QTimer.singleShot(300, click_next)

    stored_rows: list[int] = []

    def click_next() -> None:
        if not stored_rows:
            model = inspector.table_model
            stored_rows.extend(r for r in range(min(model.rowCount(), 5000)) if model.is_stored(r))
            del stored_rows[20:]
        if len(clicks) >= len(stored_rows):
            finish()
            return
        row = stored_rows[len(clicks)]
        marks["click"] = time.monotonic()
        inspector.select_row(row)

    def on_detail(_detail: object) -> None:
        if "click" in marks:
            clicks.append(time.monotonic() - marks.pop("click"))
            QTimer.singleShot(20, click_next)

    def finish() -> None:
        heartbeat.stop()
        app.quit()

    inspector.batchApplied.connect(on_batch)
    inspector.scanFinished.connect(on_finished)
    inspector.detailShown.connect(on_detail)
    QTimer.singleShot(int(timeout_s * 1000), finish)

    def begin() -> None:
        heartbeat.start()
        marks["ask"] = time.monotonic()
        inspector.inspect("zarr", path)

    QTimer.singleShot(500, begin)
    app.exec()
    workers.cancel_all(close=True)
    workers.wait()
    ask = marks.get("ask", 0.0)
    return {
        "first_results_s": marks["first"] - ask if "first" in marks else None,
        "scan_done_s": marks["done"] - ask if "done" in marks else None,
        "click_ms_median": statistics.median(clicks) * 1000 if clicks else None,
        "click_ms_max": max(clicks) * 1000 if clicks else None,
        "clicks": len(clicks),
        **{f"scan_{k}": v for k, v in heartbeat.stats(ask, marks.get("done")).items()},
    }


# -- parent ------------------------------------------------------------------------------------


def run_rounds(path: Path, rounds: int, timeout: float) -> dict[str, Any]:
    """One unrecorded warm-up of each case, then ``rounds`` rounds in rotating order.

    The cases of one round run back to back, so a neighbour's load hits them alike: the
    verdict uses the median of the per-round ratios scan / floor.
    """
    cases = [("floor", "floor", None), ("floor_stat", "floor-stat", None), ("scan", "scan", None),
             ("scan_python", "scan", {"POLYSTORE_GUI_CHUNK_WALK": "python"})]
    for _name, case, env in cases:
        C.run_case(SCRIPT, case, [str(path)], timeout=timeout, env=env)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _c, _e in cases}
    for r in range(rounds):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for name, case, env in order:
            runs[name].append(C.run_case(SCRIPT, case, [str(path)], timeout=timeout, env=env))
    out: dict[str, Any] = {"runs": runs}
    for name, results in runs.items():
        secs = [x["seconds"] for x in results if x.get("seconds") is not None]
        out[name] = {**results[-1], "seconds": statistics.median(secs) if secs else None,
                     "min_s": min(secs) if secs else None}
    ratios = [sc["seconds"] / fl["seconds"] for sc, fl in zip(runs["scan"], runs["floor"])
              if sc.get("seconds") and fl.get("seconds")]
    python_ratios = [sc["seconds"] / fl["seconds"] for sc, fl in zip(runs["scan_python"], runs["floor"])
                     if sc.get("seconds") and fl.get("seconds")]
    out["scan_over_floor"] = statistics.median(ratios) if ratios else None
    out["scan_over_floor_max"] = max(ratios) if ratios else None
    out["python_over_floor"] = statistics.median(python_ratios) if python_ratios else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case")
    parser.add_argument("path", nargs="?")
    parser.add_argument("--million", action="store_true", help="also the 1,000,000-chunk array (floor and scan only)")
    parser.add_argument("--no-zarr", action="store_true", help="skip zarr's nchunks_initialized (about 200 s)")
    parser.add_argument("--no-gui", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.case:
        if args.case == "gui":
            C.emit_result(case_gui(args.path, args.timeout))
        else:
            cases = {"floor": case_floor, "floor-stat": case_floor_stat, "scan": case_scan, "zarr": case_zarr}
            C.emit_result(cases[args.case](args.path))
        return
    if not args.no_gui:
        C.ensure_display(SCRIPT)
    load_before = C.load_average()
    names = ["chunks102k", *(["chunks1m"] if args.million else [])]
    arrays: dict[str, Any] = {}
    busy: list[float] = []
    for name in names:
        path = ensure_array(name)
        row: dict[str, Any] = {"path": str(path), "grid": list(GRIDS[name])}
        row.update(run_rounds(path, args.rounds if name == "chunks102k" else max(1, args.rounds // 2), args.timeout))
        if name == "chunks102k" and not args.no_zarr:
            row["zarr"] = C.run_case(SCRIPT, "zarr", [str(path)], timeout=1800)
        if not args.no_gui:
            row["gui"] = C.run_case(SCRIPT, "gui", [str(path), "--timeout", str(args.timeout)], timeout=args.timeout + 60)
        busy.extend(r["cpu_busy_before"] for runs in row["runs"].values() for r in runs
                    if r.get("cpu_busy_before") is not None)
        arrays[name] = row
    rows = []
    verdicts = []
    for name, row in arrays.items():
        gui = row.get("gui") or {}
        zarr_s = (row.get("zarr") or {}).get("seconds")
        rows.append([
            f"{name} ({row['scan'].get('nchunks', 0):,} chunks, {row['scan'].get('stored', 0):,} stored)",
            C.fmt_s(row["floor"].get("seconds")), C.fmt_s(row["floor_stat"].get("seconds")),
            C.fmt_s(row["scan"].get("seconds")),
            f"{row['scan_over_floor']:.2f}x (worst {row['scan_over_floor_max']:.2f}x)" if row["scan_over_floor"] else "-",
            f"{C.fmt_s(row['scan_python'].get('seconds'))} ({row['python_over_floor']:.2f}x)" if row["python_over_floor"] else "-",
            C.fmt_s(zarr_s, 1) if zarr_s is not None else "not run",
            C.fmt_s(gui.get("first_results_s")), C.fmt_s(gui.get("scan_done_s")),
            C.fmt_ms(gui.get("scan_max_stall_ms")), C.fmt_ms(gui.get("click_ms_median"), 1),
        ])
        ratio = row["scan_over_floor"]
        if ratio:
            verdicts.append(f"{name}: full scan {ratio:.2f}x the bare scandir floor (median of {len(row['runs']['scan'])} "
                            f"rounds, worst {row['scan_over_floor_max']:.2f}x) "
                            f"({'met' if ratio <= SCAN_RATIO_TARGET else 'MISSED'}: target <= {SCAN_RATIO_TARGET:.0f}x)")
        if gui.get("first_results_s") is not None:
            first = gui["first_results_s"]
            verdicts.append(f"{name}: first results on screen after {first:.3f} s "
                            f"({'met' if first <= FIRST_RESULTS_TARGET_S else 'MISSED'}: target <= 1 s)")
        if gui.get("click_ms_median") is not None:
            click = gui["click_ms_median"]
            verdicts.append(f"{name}: a click shows its chunk's details in {click:.1f} ms median, "
                            f"{gui['click_ms_max']:.1f} ms worst ({'met' if gui['click_ms_max'] <= CLICK_TARGET_MS else 'MISSED'}: target <= 100 ms)")
        if zarr_s is not None:
            verdicts.append(f"{name}: zarr's nchunks_initialized took {zarr_s:.1f} s; the scan agrees on the count: "
                            f"{row['zarr'].get('stored') == row['scan'].get('stored')}")
    tables = C.markdown_table(
        ["array", "floor: os.scandir", "os.scandir + stat", "full scan (find walk)", "scan / floor",
         "Python walk (before)", "zarr nchunks_initialized",
         "GUI: first results", "GUI: scan done", "GUI: longest stall", "GUI: click → details"],
        rows,
    )
    C.publish("bench_chunks", "chunk scan", tables, verdicts, busy, load_before, arrays=arrays)


if __name__ == "__main__":
    main()
