#!/usr/bin/env python
"""Listing benchmark: a flat folder of 100,000 empty files (1,000,000 with ``--million``).

Cases, each in its own interpreter:

- ``scandir``: bare ``[e.name for e in os.scandir(folder)]`` (the floor).
- ``qfsmodel``: Qt's QFileSystemModel shown in a QTreeView rooted at the folder: time to
  first rows, to its ``directoryLoaded`` signal and to ``rowCount == N`` (``fetchMore``
  called as needed), and the longest GUI-thread stall (5 ms heartbeat).
- ``polystore``: polystore-gui's MainWindow with ``roots=[<parent of the folder>]``; after
  ``discoveryFinished`` the root row is expanded (listed), then the folder's row is
  expanded in the view and nothing else is done (no scrolling): time to the first file
  rows, to ``listingFinished`` for the folder (its listing is complete and the first
  rows of the sorted listing are shown), to the end of the worker's details pass (one
  ``stat`` per file), and the longest GUI stall (5 ms heartbeat) over all of it.
- ``polystore-all``: the same, then the view is scrolled to the end after every
  insertion (a user holding the scroll bar down) until all N rows are in the model
  (``rowCount == N``, nothing pending): the time to all rows, and the stalls meanwhile.

The page cache is not dropped (that needs root and would measure the disk, not the
code): every case runs once unrecorded (warm-up), then ``--rounds`` interleaved rounds run
every case once each, in fresh processes. Times are medians (and the worst) of the rounds;
the ratio to ``os.scandir`` is the median of each round's ratio to the floor of its round.

Targets (polystore-gui): first rows < 100 ms; all rows ≤ 4x ``os.scandir``; longest GUI
stall ≤ 75 ms.

Run: ``xvfb-run -a python benchmarks/bench_listing.py [--million] [--qfs-million]``
(``--profile out.prof`` cProfiles the polystore cases' GUI thread).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
CASES = ("scandir", "qfsmodel", "polystore", "polystore-all")
SETTLE_S = 1.0

FIRST_ROWS_TARGET_MS = 100.0
ALL_ROWS_RATIO_TARGET = 4.0
STALL_TARGET_MS = 75.0


# -- data --------------------------------------------------------------------------------------


def folder_for(n: int) -> Path:
    return C.DATA_DIR / ("flat1m" if n >= 1_000_000 else f"flat{n // 1000}k")


def ensure_folder(n: int) -> Path:
    """A folder holding exactly ``n`` empty files ``img_0000000.tif`` … (made once)."""
    folder = folder_for(n)
    stamp = C.DATA_DIR / f".{folder.name}.complete"
    if stamp.exists() and folder.is_dir():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    existing = {e.name for e in os.scandir(folder)}
    print(f"creating {n:,} empty files in {folder} (once) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    flags = os.O_WRONLY | os.O_CREAT
    for i in range(n):
        name = f"img_{i:07d}.tif"
        if name not in existing:
            os.close(os.open(folder / name, flags, 0o644))
    extra = existing - {f"img_{i:07d}.tif" for i in range(n)}
    for name in extra:
        os.unlink(folder / name)
    stamp.write_text(f"{n}\n")
    print(f"  done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return folder


# -- cases (child side) ------------------------------------------------------------------------


def case_scandir(folder: str, n: int) -> dict[str, Any]:
    started = time.monotonic()
    names = [e.name for e in os.scandir(folder)]
    elapsed = time.monotonic() - started
    assert len(names) == n, (len(names), n)
    return {"all_rows_s": elapsed, "rows": len(names)}


def case_qfsmodel(folder: str, n: int, timeout_s: float) -> dict[str, Any]:
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QDir, QTimer
    from qtpy.QtWidgets import QApplication, QFileSystemModel, QMainWindow, QTreeView

    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.resize(1280, 800)
    view = QTreeView(window)
    view.setUniformRowHeights(True)
    window.setCentralWidget(view)
    window.show()
    marks: dict[str, float] = {}
    heartbeat = C.Heartbeat()
    model = QFileSystemModel()
    model.setFilter(QDir.Filter.AllEntries | QDir.Filter.NoDotAndDotDot | QDir.Filter.Hidden)
    root_box: dict[str, Any] = {}

    def check(_now: float | None = None) -> None:
        root = root_box.get("root")
        if root is None or "all_rows" in marks:
            return
        if model.canFetchMore(root):
            model.fetchMore(root)
        if model.rowCount(root) >= n:
            marks["all_rows"] = time.monotonic()
            maybe_finish()

    def on_rows(parent: Any, first: int, last: int) -> None:
        if "first_rows" not in marks and root_box.get("root") is not None and parent == root_box["root"]:
            marks["first_rows"] = time.monotonic()
        check()

    def on_loaded(path: str) -> None:
        if os.path.abspath(path) == folder and "directory_loaded" not in marks:
            marks["directory_loaded"] = time.monotonic()
            check()
            maybe_finish()

    def maybe_finish() -> None:
        if "all_rows" in marks and "directory_loaded" in marks and "settle" not in marks:
            marks["settle"] = time.monotonic()
            QTimer.singleShot(int(SETTLE_S * 1000), finish)

    def finish() -> None:
        if "end" in marks:
            return
        heartbeat.stop()
        marks["end"] = time.monotonic()
        app.quit()

    def start() -> None:
        heartbeat.start()
        marks["start"] = time.monotonic()
        model.rowsInserted.connect(on_rows)
        model.directoryLoaded.connect(on_loaded)
        root = model.setRootPath(folder)
        view.setModel(model)
        view.setRootIndex(root)
        root_box["root"] = root
        marks["set_root_returned"] = time.monotonic()
        check()

    heartbeat.on_tick.append(check)
    QTimer.singleShot(200, start)  # let the window paint first
    QTimer.singleShot(int(timeout_s * 1000), finish)
    app.exec()
    start_t = marks["start"]
    rows = model.rowCount(root_box["root"])

    def rel(key: str) -> float | None:
        return marks[key] - start_t if key in marks else None

    return {
        "first_rows_s": rel("first_rows"),
        "directory_loaded_s": rel("directory_loaded"),
        "all_rows_s": rel("all_rows"),
        "set_root_call_s": rel("set_root_returned"),
        "rows": rows,
        "timed_out": "all_rows" not in marks or "directory_loaded" not in marks,
        "timeout_s": timeout_s,
        "stalls": heartbeat.stats(start_t, marks.get("end")),
    }


def case_polystore(folder: str, n: int, timeout_s: float, profile: str | None, fetch_all: bool) -> dict[str, Any]:
    """Expand the folder's row in polystore-gui's window and time what arrives.

    The tree shows a large folder's first page and a row standing for the rest; the
    folder list below the tree gets every entry at once. ``fetch_all=False``: the user
    only opens the folder. ``fetch_all=True``: then the user scrolls the folder list from
    top to bottom in 20 jumps of the scroll bar, 0.1 s apart (each screen of rows learns
    its sizes as it comes into view), until the last rows show their sizes.
    """
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QModelIndex, QTimer
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    parent_dir = os.path.dirname(folder)
    window = MainWindow([parent_dir])
    window.resize(1280, 900)
    window.show()
    model = window.tree_model
    listing = window.folder_list
    marks: dict[str, float] = {}
    heartbeat = C.Heartbeat()
    box: dict[str, Any] = {"scrolls": 0}
    profiler: Any = None
    SCROLLS = 20

    def on_discovery(_d: Any) -> None:
        marks["discovery"] = time.monotonic()
        root = model.find("disk", parent_dir)
        if not root.isValid():
            print(f"no disk root {parent_dir}", file=sys.stderr)
            finish()
            return
        window.tree.expand(window.proxy.mapFromSource(root))

    def on_listing_finished(address: Any) -> None:
        _backend, path = address
        if path == parent_dir and "folder_expanded" not in marks:
            QTimer.singleShot(50, expand_folder)  # the root's rows are in; let it settle
        elif path == folder:
            marks.setdefault("listing_finished", time.monotonic())
            check()

    def expand_folder() -> None:
        index = model.find("disk", folder)
        if not index.isValid():
            QTimer.singleShot(20, expand_folder)
            return
        box["index"] = QModelIndex(index)
        box["node"] = model.node(index)
        heartbeat.start()
        nonlocal profiler
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        marks["folder_expanded"] = time.monotonic()
        proxy_index = window.proxy.mapFromSource(index)
        window.tree.expand(proxy_index)
        window.tree.scrollTo(proxy_index)

    def on_rows_inserted(parent: Any, first: int, last: int) -> None:
        node = box.get("node")
        if node is None or not parent.isValid() or model.node(parent) is not node:
            return
        child = node.children[first] if first < len(node.children) else None
        if child is not None and child.placeholder:
            marks.setdefault("placeholder", time.monotonic())
            return
        marks.setdefault("first_rows", time.monotonic())
        check()

    def all_rows_in() -> bool:
        table = listing.model
        return listing.isVisible() and table.folder == ("disk", folder) and table.rowCount() == n

    def last_rows_described() -> bool:
        entries = listing.visible_entries()
        return bool(entries) and entries[-1].modified is not None

    def check(_now: float | None = None) -> None:
        node = box.get("node")
        if node is None:
            return
        now = time.monotonic()
        if "all_rows_model" not in marks and all_rows_in():
            marks["all_rows_model"] = now
            # ...and once this event-loop turn (the list's reset, the view update) has returned:
            QTimer.singleShot(0, lambda: marks.setdefault("all_rows", time.monotonic()))
        if "listing_finished" in marks and "details_done" not in marks and node.job is None:
            marks["details_done"] = now  # the worker's details pass (the tree's page) has ended
        if fetch_all and "all_rows" in marks and "scrolled" not in marks:
            bar = listing.table.verticalScrollBar()
            if box["scrolls"] < SCROLLS and now - box.get("scrolled_at", 0.0) >= 0.1:
                box["scrolls"] += 1
                box["scrolled_at"] = now
                bar.setValue(bar.maximum() * box["scrolls"] // SCROLLS)
            elif box["scrolls"] >= SCROLLS and last_rows_described():
                marks["scrolled"] = now
        done = "details_done" in marks and "all_rows" in marks and (not fetch_all or "scrolled" in marks)
        if done and "settle" not in marks:
            marks["settle"] = now
            QTimer.singleShot(int(SETTLE_S * 1000), finish)

    def finish() -> None:
        if "end" in marks:
            return
        if profiler is not None:
            profiler.disable()
        heartbeat.stop()
        marks["end"] = time.monotonic()
        window.shutdown()
        app.quit()

    heartbeat.on_tick.append(check)
    window.discoveryFinished.connect(on_discovery)
    model.listingFinished.connect(on_listing_finished)
    model.rowsInserted.connect(on_rows_inserted)
    # The listing alone is measured: napari's viewer (built on the GUI thread once its
    # background import is done) is not started here; bench_startup measures it.
    try:
        window.start_background(viewer=False)
    except TypeError:  # a window without the embedded viewer
        window.start_background()
    QTimer.singleShot(int(timeout_s * 1000), finish)
    app.exec()
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    start_t = marks.get("folder_expanded")
    if start_t is None:
        return {"error": "folder row never expanded", "marks": marks}

    def rel(key: str) -> float | None:
        return marks[key] - start_t if key in marks else None

    node = box.get("node")
    ready = marks.get("listing_finished")
    whole = heartbeat.stats(start_t, marks.get("end"))
    return {
        "fetch_all": fetch_all,
        "placeholder_s": rel("placeholder"),
        "first_rows_s": rel("first_rows"),
        "listing_finished_s": rel("listing_finished"),
        "all_rows_s": rel("all_rows"),
        "all_rows_model_s": rel("all_rows_model"),
        "details_done_s": rel("details_done"),
        "scrolled_s": rel("scrolled"),
        "scrolls": box["scrolls"],
        "rows": model.rowCount(box["index"]) if "index" in box else None,
        "list_rows": listing.model.rowCount(),
        "rows_known": (getattr(node, "count", None) if node is not None else None),
        "timed_out": "details_done" not in marks or "all_rows" not in marks or (fetch_all and "scrolled" not in marks),
        "timeout_s": timeout_s,
        # Until the folder's sorted listing is shown (what every user waits for), and over
        # the whole run (paging in every row when fetch_all; the details pass; SETTLE_S).
        "stalls_ready": heartbeat.stats(start_t, ready) if ready else None,
        "stalls": whole,
        "worst_gaps": [(round(a - start_t, 3), round(ms, 1)) for a, ms in heartbeat.worst_gaps(5)],
    }


def run_child(case: str, folder: str, n: int, timeout_s: float, profile: str | None) -> None:
    if case == "scandir":
        result = case_scandir(folder, n)
    elif case == "qfsmodel":
        result = case_qfsmodel(folder, n, timeout_s)
    elif case == "polystore":
        result = case_polystore(folder, n, timeout_s, profile, fetch_all=False)
    elif case == "polystore-all":
        result = case_polystore(folder, n, timeout_s, profile, fetch_all=True)
    else:
        raise SystemExit(f"unknown case {case!r}")
    result["case"] = case
    result["n"] = n
    C.emit_result(result)


# -- parent ------------------------------------------------------------------------------------


LABELS = {
    "scandir": "`os.scandir` names (floor)",
    "qfsmodel": "QFileSystemModel + QTreeView (`fetchMore` as needed)",
    "polystore": "polystore-gui: folder row expanded (tree page + every row in the folder list)",
    "polystore-all": "polystore-gui: expanded, then the folder list scrolled to the end in 20 jumps",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--million", action="store_true", help="also run on 1,000,000 files (linear scaling)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {CASES}")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds after one warm-up run of each case (medians and per-round ratios)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per GUI case before giving up")
    parser.add_argument("--qfs-million", action="store_true",
                        help="also run QFileSystemModel on 1,000,000 files (slow; skipped by default)")
    parser.add_argument("--profile", metavar="PATH", help="cProfile the polystore case's GUI thread to PATH")
    parser.add_argument("--name", default="bench_listing", help="results/<name>.json")
    parser.add_argument("--render", metavar="JSON", help="print the tables of an earlier results file")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.case:
        run_child(args.case, args.folder, args.n, args.timeout, args.profile)
        return 0
    if args.render:
        # Tables and verdicts again from a results file (no measuring).
        payload = json.loads(Path(args.render).read_text())
        tables = render(payload["results"])
        verdicts = judge(payload["results"])
        print(tables + "\n\n" + "\n".join(f"- {v}" for v in verdicts))
        return 0

    C.ensure_display(SCRIPT)
    load_before = C.warn_if_busy()
    cases = [c for c in args.cases.split(",") if c]
    sizes = [100_000] + ([1_000_000] if args.million else [])
    results: dict[str, Any] = {}
    for n in sizes:
        folder = str(ensure_folder(n).resolve())
        by_case: dict[str, Any] = {}
        results[str(n)] = by_case
        todo = [c for c in cases if not (c == "qfsmodel" and n >= 1_000_000 and not args.qfs_million)]
        # One unrecorded warm-up run of each case (page cache, bytecode), then interleaved
        # rounds: every case once per round, so that a neighbour's load hits a round alike.
        for round_no in range(args.rounds + 1):
            tag = "warm-up" if round_no == 0 else f"round {round_no}"
            for case in todo:
                data = by_case.setdefault(case, {"runs": [], "rounds": []})
                if data.get("failed"):
                    continue
                extra = ["--folder", folder, "--n", str(n), "--timeout", str(args.timeout)]
                if args.profile and case.startswith("polystore") and round_no == args.rounds:
                    extra += ["--profile", args.profile]
                r = C.run_case(SCRIPT, case, extra, timeout=args.timeout + 60)
                r["round"] = round_no
                data["runs"].append(r)
                if round_no:
                    data["rounds"].append(r)
                if "error" in r:
                    print(f"{n:,} {case} {tag}: ERROR {r['error']}\n{r.get('stderr', '')}", file=sys.stderr, flush=True)
                else:
                    st = (r.get("stalls") or {}).get("max_stall_ms")
                    print(f"{n:,} {case} {tag}: all rows {C.fmt_s(r.get('all_rows_s'))}"
                          + (f", max stall {C.fmt_ms(st)}" if st is not None else "")
                          + (f", TIMED OUT with {r.get('rows')} rows" if r.get("timed_out") else ""),
                          file=sys.stderr, flush=True)
                if r.get("timed_out") or "error" in r:
                    data["failed"] = True  # another run would only take as long again
                    data["note"] = f"{tag} timed out or failed: not repeated"
                    if not data["rounds"]:
                        data["rounds"].append(r)

    tables = render(results)
    busy = [r.get("cpu_busy_before") for by_case in results.values() for d in by_case.values() for r in d["runs"] if r.get("cpu_busy_before") is not None]
    C.publish(
        args.name, "listing", tables, judge(results), busy, load_before,
        note=f"page cache not dropped; one warm-up run of each case, then {args.rounds} interleaved rounds of fresh processes",
        targets={"first_rows_ms": FIRST_ROWS_TARGET_MS, "all_rows_ratio_vs_scandir": ALL_ROWS_RATIO_TARGET,
                 "max_stall_ms": STALL_TARGET_MS},
        results=results,
    )
    return 0


def _rounds(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The recorded runs of a case (an older results file kept its warm run only)."""
    if not data:
        return []
    return list(data.get("rounds") or ([data["warm"]] if data.get("warm") else []))


def _round_ratios(by_case: dict[str, Any], case: str) -> list[float]:
    """Each round's all-rows time over the floor (``os.scandir``) of the same round."""
    floors = {r.get("round"): r.get("all_rows_s") for r in _rounds(by_case.get("scandir"))}
    out = []
    for r in _rounds(by_case.get(case)):
        floor = floors.get(r.get("round"))
        if r.get("all_rows_s") and floor:
            out.append(r["all_rows_s"] / floor)
    return out


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _col(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in runs if r.get(key) is not None]


def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s")


def _mm(values: list[float], unit: str = "s") -> str:
    """median / worst (the largest) of a column."""
    if not values:
        return "—"
    med, worst = _median(values), max(values)
    assert med is not None
    if unit == "ms":
        return f"{med:.0f} / {worst:.0f} ms"
    return f"{_ms(med)} / {_ms(worst)}" if len(values) > 1 else _ms(med)


def render(results: dict[str, Any]) -> str:
    out = []
    for n, by_case in results.items():
        rows = []
        rounds_n = max((len(_rounds(d)) for d in by_case.values()), default=0)
        for case, data in by_case.items():
            runs = _rounds(data)
            failed = [r for r in runs if "error" in r]
            if failed and len(failed) == len(runs):
                rows.append([LABELS[case], failed[0]["error"], "", "", "", "", "", "", ""])
                continue
            runs = [r for r in runs if "error" not in r]
            stalls = [r.get("stalls") or {} for r in runs]
            if case == "scandir":
                rows.append([LABELS[case], "—", "—", _mm(_col(runs, "all_rows_s")), "1.0x", "—", "—", "—", "—"])
                continue
            timed_out = [r for r in runs if r.get("all_rows_s") is None]
            if timed_out:
                r = timed_out[0]
                all_text = f"timed out after {r.get('timeout_s', 0):.0f} s with {r.get('rows') or 0:,} rows"
            else:
                all_text = _mm(_col(runs, "all_rows_s"))
            ratios = _round_ratios(by_case, case)
            ratio = (f"{_median(ratios):.1f}x ({', '.join(f'{x:.1f}' for x in ratios)})" if ratios else "—")
            ready_key = "listing_finished_s" if case.startswith("polystore") else "directory_loaded_s"
            rows.append([
                LABELS[case],
                _mm(_col(runs, "first_rows_s")),
                _mm(_col(runs, ready_key)),
                all_text,
                ratio,
                _mm(_col(runs, "details_done_s")) if case.startswith("polystore") else "—",
                _mm([s["max_stall_ms"] for s in stalls if s.get("max_stall_ms") is not None], "ms"),
                "/".join(str(s.get("gaps_over_50ms", "—")) for s in stalls),
                "/".join(str(s.get("gaps_over_100ms", "—")) for s in stalls),
            ])
        out.append(f"**{int(n):,} files** ({rounds_n} interleaved rounds of fresh processes after a warm-up run of "
                   "each case; median / worst)\n\n" + C.markdown_table(
            ["case", "first rows", "listing ready¹", "all rows in a view's model⁴", "vs scandir, median (each round)⁵",
             "details done²", "longest GUI stall³", "gaps > 50 ms (each round)", "gaps > 100 ms"],
            rows,
        ))
        extra = []
        for case in ("polystore", "polystore-all"):
            for ps in _rounds(by_case.get(case))[-1:]:
                if "error" in ps or not ps.get("stalls_ready"):
                    continue
                sr = ps["stalls_ready"]
                extra.append(
                    f"{LABELS[case]}, last round: until the listing was ready the longest stall was "
                    f"{C.fmt_ms(sr['max_stall_ms'])} (gaps > 50 ms: {sr['gaps_over_50ms']}); the \"loading…\" row "
                    f"showed after {_ms(ps.get('placeholder_s'))}"
                    + (f"; {ps.get('scrolls')} jumps of the list's scroll bar, the last rows' sizes shown "
                       f"{_ms(ps.get('scrolled_s'))} after the expand" if ps.get("fetch_all") else "")
                    + f"; five longest gaps (s after expand, ms): {ps.get('worst_gaps')}."
                )
        if extra:
            out.append("\n".join(f"- {e}" for e in extra))
    out.append(
        "¹ QFileSystemModel: its `directoryLoaded` signal; polystore-gui: `listingFinished` for the folder "
        "(the whole listing is known and sorted and the first rows are shown).\n"
        "² polystore-gui's worker has finished the details pass (one `stat` per file: size, time) of the "
        "rows the tree shows and of every sub-folder; the folder list's rows learn theirs when on screen.\n"
        "⁴ QFileSystemModel: rows in its model; polystore-gui: rows in the folder list's model (the tree holds the "
        "first page and a row for the rest).\n"
        "⁵ each round's time over the `os.scandir` floor of the same round (rounds are interleaved): a neighbour's "
        "load hits a round alike, so this is steadier than a ratio of medians.\n"
        f"³ 5 ms heartbeat from the expand (or `setRootPath`) until everything above is done + {SETTLE_S:.0f} s."
    )
    return "\n\n".join(out)


def judge(results: dict[str, Any]) -> list[str]:
    out = []
    for n, by_case in results.items():
        label = f"{int(n):,} files"
        for case in ("polystore", "polystore-all"):
            runs = _rounds(by_case.get(case))
            if not runs:
                continue
            what = f"{label}, {'expand only' if case == 'polystore' else 'expand + scroll the list to the end'}"
            if any("error" in r for r in runs):
                out.append(f"{what}: a run failed → MISSED")
                continue
            first = _col(runs, "first_rows_s")
            if first:
                worst = max(first) * 1000
                out.append(f"{what}: first rows {_median(first) * 1000:.0f} ms median, {worst:.0f} ms worst; "
                           f"target < {FIRST_ROWS_TARGET_MS:.0f} ms → {'MET' if worst < FIRST_ROWS_TARGET_MS else 'MISSED'}")
            ratios = _round_ratios(by_case, case)
            if any(r.get("all_rows_s") is None for r in runs):
                out.append(f"{what}: all rows never arrived in a run → MISSED")
            elif ratios:
                med = _median(ratios)
                assert med is not None
                out.append(f"{what}: all rows (in the folder list) {_median(_col(runs, 'all_rows_s')):.3f} s median, "
                           f"{med:.1f}x os.scandir (median of the rounds' ratios: {', '.join(f'{x:.2f}' for x in ratios)}); "
                           f"target ≤ {ALL_ROWS_RATIO_TARGET:.0f}x → {'MET' if med <= ALL_ROWS_RATIO_TARGET else 'MISSED'}")
            stalls = [(r.get("stalls") or {}).get("max_stall_ms") for r in runs]
            stalls = [x for x in stalls if x is not None]
            if stalls:
                out.append(f"{what}: longest GUI stall {_median(stalls):.0f} ms median, {max(stalls):.0f} ms worst; "
                           f"target ≤ {STALL_TARGET_MS:.0f} ms in every run → "
                           f"{'MET' if max(stalls) <= STALL_TARGET_MS else 'MISSED'}")
    return out


if __name__ == "__main__":
    sys.exit(main())
