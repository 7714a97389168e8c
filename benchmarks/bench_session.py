#!/usr/bin/env python
"""Session benchmark (issue 19): one scripted day of a user, GUI-thread stalls per step.

Two cases, each in a fresh interpreter under the same X server, with a 5 ms heartbeat
(``_common.Heartbeat``) on the GUI thread for the whole run:

- ``session``: polystore-gui's MainWindow on the demo workspace and ``benchmarks/_data``,
  driven through its real widgets, step by step:

  start           shown, ``start_background()``: discovery, then napari's import; + 1 s
  expand-demo     expand the demo workspace and each folder in it (tree rows, as a click)
  expand-100k     expand a folder of 100,000 files (its listing shown, the folder list full)
  filter          type ``img_00042`` in the filter box, one key every 120 ms, then clear it
                  with Backspace, one every 120 ms
  preview-*       Open Location (the path, as typed after Ctrl+O) of an OME-Zarr pyramid
                  (2 x 16 x 16384², five levels), a sharded 32 x 8192² zarr v3 array and a
                  100-page 2048² TIFF: revealed, selected, previewed, first frame drawn
  slider-*        20 steps of the z slider (each: the step, layers loaded, a frame drawn,
                  60 ms of user pause)
  panzoom-*       10 zooms in (x1.25) and 10 pans (a tenth of the view) on the canvas
                  camera, each drawn and loaded
  inspector       Inspect Chunks on a 102,400-chunk array (scan finished), then 20 stored
                  chunks clicked in the inspector's table (each: its details shown)
  transfer        a zarr store (1 GiB; 32 MiB with --quick) dropped onto another folder
                  through the tree model's drop path (``mimeData`` → ``dropMimeData``, what
                  a drag ends in), until the Transfers queue reports it finished
  delete          the copy selected and deleted (Delete, confirmed: to a trash inside the
                  run's scratch folder) until ``deleteFinished``
  send            the TIFF selected and sent to the persistent napari viewer (a process
                  this benchmark starts on a free port before the session and stops after,
                  by PID) until ``sendFinished``
  quit            File → Quit until the window's ``shutdownFinished``

- ``napari``: a bare ``napari.Viewer`` doing the napari-side steps with the same data: the
  three datasets opened (``viewer.open`` with napari's built-in readers for the zarr array
  and the TIFF; the pyramid's levels as one multiscale ``add_image``, channel axis 0,
  since napari has no OME-Zarr reader of its own), then the same slider steps and pan/zoom.

For each step and for the whole session: the longest stall (a heartbeat gap minus 5 ms),
the 99th percentile of event-loop latency (time-weighted: what an input event arriving at
a random moment waits, ``_common.latency_percentile``) and the number of gaps over 50 and
over 100 ms. Targets (issue 19): longest stall ≤ 100 ms in every step of every run,
p99 ≤ 30 ms, and the napari-side steps at least as smooth as napari alone.

    xvfb-run -a .venv/bin/python benchmarks/bench_session.py [--rounds 3] [--quick]

``--quick`` uses small data (2,000 files, 4,096 chunks, 1024² planes, a 32 MiB store) and
5 slider steps / 4 camera moves: a smoke run of the whole script in well under a minute.
``--steps inspector,transfer`` runs only those steps (with start and quit; napari alone
only when a napari-side step is asked). To find what a stall is: ``BENCH_SESSION_STACKS=
out.json`` samples the GUI thread's stack (and its state in the kernel) during every gap
over 45 ms (``_gap_stacks.py``), ``BENCH_SESSION_TURNS=out.json`` what the GUI thread computed
in each long turn (cProfile per heartbeat gap, with the thread's CPU time: ``_gap_profile.py``;
from the step after start, or from start with ``BENCH_SESSION_TURNS_START=1``), ``BENCH_SESSION_PROFILE=inspector:out.prof`` runs cProfile
on the GUI thread for one step; all perturb the figures a little.
The data is made once under ``benchmarks/_data/`` (git ignores it); the preview,
listing and chunk data are the other benchmarks' own (same makers, same folders).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # tests.fakes (free ports)

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
STALL_TARGET_MS = 100.0
P99_TARGET_MS = 30.0
SETTLE_S = 1.0
USER_PAUSE_MS = 60
KEY_INTERVAL_MS = 120
FILTER_TEXT = "img_00042"
DATASETS = ("pyramid", "sharded", "tiff")
NAPARI_STEPS = tuple(f"{kind}-{d}" for d in DATASETS for kind in ("preview", "slider", "panzoom"))
STEPS = ("start", "expand-demo", "expand-100k", "filter", *NAPARI_STEPS, "inspector", "transfer", "delete",
         "send", "quit")
STEP_TIMEOUT_S = 240.0
CASES = ("session", "napari")
PROFILE_ENV = "BENCH_SESSION_PROFILE"  # step:path, cProfile of the GUI thread in that step
STACKS_ENV = "BENCH_SESSION_STACKS"  # a path: the GUI thread's stacks during its gaps (_gap_stacks)
TURNS_ENV = "BENCH_SESSION_TURNS"  # a path: cProfile of the GUI thread's long turns (_gap_profile)
TURNS_START_ENV = "BENCH_SESSION_TURNS_START"  # "1": the turns profiled from the start step on


# -- data --------------------------------------------------------------------------------------


def _quick_images(folder: Path) -> dict[str, Path]:
    """Small stand-ins for bench_preview's three datasets (same layout, 1024² planes)."""
    import numpy as np
    import tifffile
    import zarr

    from bench_preview import _smooth_plane

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"pyramid": folder / "pyramid.ome.zarr", "sharded": folder / "sharded.zarr", "tiff": folder / "stack.tif"}
    if not (paths["pyramid"] / ".done").exists():
        root = zarr.open_group(str(paths["pyramid"]), mode="w", zarr_format=2)
        datasets = []
        for level in range(3):
            f = 2**level
            size = 1024 // f
            arr = root.create_array(str(level), shape=(2, 16, size, size), chunks=(1, 1, 256, 256), dtype="uint16",
                                    fill_value=0, chunk_key_encoding={"name": "v2", "separator": "/"})
            for c in range(2):
                for z in range(16):
                    arr[c, z] = _smooth_plane(size, size, c * 16 + z)
            datasets.append({"path": str(level), "coordinateTransformations": [
                {"type": "scale", "scale": [1.0, 1.0, float(f), float(f)]}]})
        root.attrs["multiscales"] = [{"version": "0.4", "name": "pyramid", "datasets": datasets, "axes": [
            {"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]}]
        (paths["pyramid"] / ".done").touch()
    if not (paths["sharded"] / ".done").exists():
        arr = zarr.create_array(str(paths["sharded"]), shape=(32, 1024, 1024), shards=(1, 512, 512),
                                chunks=(1, 128, 128), dtype="uint16", fill_value=0, overwrite=True)
        arr[15] = _smooth_plane(1024, 1024, 3)
        (paths["sharded"] / ".done").touch()
    if not paths["tiff"].exists():
        tmp = paths["tiff"].with_suffix(".tmp")
        with tifffile.TiffWriter(tmp) as tif:
            plane = _smooth_plane(512, 512, 4)
            for i in range(24):
                tif.write(np.roll(plane, i * 7, axis=1), contiguous=True, photometric="minisblack")
        tmp.rename(paths["tiff"])
    return paths


def make_data(quick: bool) -> dict[str, Any]:
    """Every path the session touches (made once; the large sets are the other benchmarks')."""
    import bench_chunks
    import bench_listing
    import bench_preview
    from bench_transfers import _make_array

    from polystore_gui.model.demo import ensure_demo

    base = C.DATA_DIR / ("session-quick" if quick else "session")
    base.mkdir(parents=True, exist_ok=True)
    if quick:
        bench_chunks.GRIDS.setdefault("chunks4k", (4, 32, 32))
    data: dict[str, Any] = {
        "base": base,
        "demo": ensure_demo(base / "demo"),
        "folder": bench_listing.ensure_folder(2_000 if quick else 100_000),
        "chunks": bench_chunks.ensure_array("chunks4k" if quick else "chunks102k"),
        "images": _quick_images(base / "images") if quick else bench_preview.make_data(),
        "store": base / "store.zarr",
        "destination": base / "destination",
        "root": C.DATA_DIR,
    }
    # 1 GiB: 256 planes of 1024 x 2048 uint16, one 4 MiB chunk a plane (as bench_transfers' z4m).
    _make_array(data["store"], (16, 1024, 1024) if quick else (256, 1024, 2048),
                (1, 1024, 1024) if quick else (1, 1024, 2048))
    data["destination"].mkdir(exist_ok=True)
    for leftover in data["destination"].iterdir():  # an earlier run killed between transfer and delete
        # (another run of this script may be removing it too: a name gone meanwhile is fine)
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    data["n_files"] = 2_000 if quick else 100_000
    return data


# -- in-process helpers (child side; Qt imported by the case) ----------------------------------


def _step_profiler(name: str) -> Any:
    """With ``BENCH_SESSION_PROFILE=step:path``: cProfile on the GUI thread for that step (its
    stats written to ``path``); else None."""
    wanted = os.environ.get(PROFILE_ENV, "")
    if not wanted.startswith(f"{name}:"):
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


class StepTimeout(Exception):
    pass


class Recorder:
    """The heartbeat and the (name, start, end, error) of each step."""

    def __init__(self) -> None:
        self.heartbeat = C.Heartbeat()
        self.steps: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], Any]) -> None:
        start = time.monotonic()
        cpu_start = time.thread_time()  # the GUI thread's own CPU time: steadier than stalls on a busy machine
        error = None
        extra: Any = None
        profiler = _step_profiler(name)
        try:
            extra = fn()
        except StepTimeout as exc:
            error = f"timed out: {exc}"
        except Exception as exc:  # the session goes on; the step says what broke
            error = f"{type(exc).__name__}: {exc}"
        end = time.monotonic()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(os.environ[PROFILE_ENV].split(":", 1)[1])
        step = {"step": name, "start": start, "end": end, "seconds": end - start, "error": error,
                "gui_cpu_s": time.thread_time() - cpu_start}
        if isinstance(extra, dict):
            step.update(extra)
        self.steps.append(step)
        print(f"  {name:<16} {end - start:7.2f} s" + (f"  ERROR {error}" if error else ""), file=sys.stderr, flush=True)

    def window(self, start: float, end: float) -> list[float]:
        """The heartbeat's ticks inside [start, end] with both ends added: a gap that runs
        across an end counts for the part inside (the freeze a step's actions felt)."""
        return [start, *(t for t in self.heartbeat.ticks if start < t < end), end]

    def stats(self, start: float, end: float) -> dict[str, Any]:
        return C.stall_stats(self.window(start, end), self.heartbeat.interval_ms)

    def report(self, t0: float, whole: tuple[float, float], napari_side: list[str]) -> dict[str, Any]:
        for step in self.steps:
            step["stalls"] = self.stats(step["start"], step["end"])
            step["start_s"] = step.pop("start") - t0
            step["end_s"] = step.pop("end") - t0
        side = [s for s in self.steps if s["step"] in napari_side]
        side_gaps = []
        for s in side:
            ticks = self.window(s["start_s"] + t0, s["end_s"] + t0)
            side_gaps.extend((b - a) * 1000 for a, b in zip(ticks, ticks[1:]))
        return {
            "steps": self.steps,
            "whole": self.stats(*whole),
            "napari_side": _gap_stats(side_gaps, self.heartbeat.interval_ms),
            "worst_gaps": [(round(a - t0, 3), round(ms, 1)) for a, ms in self.heartbeat.worst_gaps(8)],
        }


def _gap_stats(gaps: list[float], interval_ms: float) -> dict[str, Any]:
    if not gaps:
        return {"max_stall_ms": None, "gaps_over_50ms": 0, "gaps_over_100ms": 0, "p99_latency_ms": None}
    return {"max_stall_ms": max(0.0, max(gaps) - interval_ms), "gaps_over_50ms": sum(g > 50 for g in gaps),
            "gaps_over_100ms": sum(g > 100 for g in gaps),
            "p99_latency_ms": C.latency_percentile(gaps, 99.0, interval_ms)}


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Run the event loop (a nested QEventLoop, polled every 2 ms) until ``condition()``."""
    from qtpy.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    state = {"ok": False}

    def poll() -> None:
        if condition():
            state["ok"] = True
            loop.quit()
        elif time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(poll)
    timer.start()
    loop.exec()
    timer.stop()
    if not state["ok"]:
        raise StepTimeout(f"{what} (after {timeout_s:.0f} s)")


def pause(ms: float) -> None:
    """The event loop runs for ``ms`` (a user's pause between two actions)."""
    end = time.monotonic() + ms / 1000.0
    wait_until(lambda: time.monotonic() >= end, "pause", ms / 1000.0 + 5)


class Canvas:
    """Frames drawn by a napari canvas (after every layer is loaded): ``bench_preview.FrameProbe``."""

    def __init__(self, viewer: Any, scene_canvas: Any) -> None:
        from bench_preview import FrameProbe

        self.viewer = viewer
        self.probe = FrameProbe(viewer, scene_canvas)

    def settled_after(self, moment: float) -> bool:
        layers = list(self.viewer.layers)
        return (bool(layers) and all(getattr(layer, "loaded", True) for layer in layers)
                and self.probe.frame is not None and self.probe.frame >= moment)

    def reset(self) -> None:
        self.probe.frame = None

    def loaded(self) -> bool:
        return all(getattr(layer, "loaded", True) for layer in self.viewer.layers)

    def wait_drawn(self, what: str, after: float, timeout_s: float = 120.0) -> bool:
        """Until a frame drawn after ``after`` with every layer loaded (and 20 ms have passed:
        a slice requested is marked unloaded by then); when every layer is loaded but no
        frame comes within 1 s (nothing on screen changed), go on and answer False."""
        wait_until(lambda: time.monotonic() >= after + 0.02 and (
            self.settled_after(after) or (self.loaded() and time.monotonic() >= after + 1.0)), what, timeout_s)
        return self.settled_after(after)


def slider_steps(viewer: Any, canvas: Canvas, n: int) -> dict[str, Any]:
    """``n`` steps of the first slider (napari's ``dims.set_current_step``, what its slider
    widget calls), each until drawn with every layer loaded, then a user's pause."""
    dims = viewer.dims
    axis = dims.not_displayed[0] if dims.not_displayed else 0
    nsteps = int(dims.nsteps[axis])
    undrawn = 0
    for i in range(n):
        value = (int(dims.current_step[axis]) + 1) % max(1, nsteps)
        canvas.reset()
        moment = time.monotonic()
        dims.set_current_step(axis, value)
        undrawn += not canvas.wait_drawn(f"slider step {i + 1} drawn", moment, 60)
        pause(USER_PAUSE_MS)
    return {"slider_axis": axis, "slider_nsteps": nsteps, "undrawn": undrawn}


def pan_zoom(viewer: Any, canvas: Canvas, n: int) -> dict[str, Any]:
    """``n`` zooms in by 1.25 about the centre, then ``n`` pans of a tenth of the view."""
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    undrawn = 0
    for i in range(2 * n):
        canvas.reset()
        moment = time.monotonic()
        if i < n:
            camera.zoom = camera.zoom * 1.25
        else:
            span = 0.1 * 800 / max(camera.zoom, 1e-9)  # a tenth of an ~800-pixel canvas, in data units
            center = list(camera.center)
            center[-1] += span
            center[-2] += span / 2
            camera.center = tuple(center)
        undrawn += not canvas.wait_drawn(f"camera move {i + 1} drawn", moment, 60)
        pause(USER_PAUSE_MS)
    return {"undrawn": undrawn}


# -- cases (child side) ------------------------------------------------------------------------


def _gap_profiler(hb: C.Heartbeat) -> Any:
    """With ``BENCH_SESSION_TURNS=path``: what the GUI thread computed in each long turn
    (``_gap_profile.GapProfile``), written to ``path`` at the end; else None."""
    if not os.environ.get(TURNS_ENV):
        return None
    from _gap_profile import GapProfile

    profiler = GapProfile(hb)
    profiler.start()
    return profiler


def _step_label(rec: Recorder) -> Callable[[float], str]:
    return lambda moment: next((s["step"] for s in rec.steps if s["start"] <= moment <= s["end"]), "-")


def case_session(data: dict[str, Any], port: int, quick: bool, selected: frozenset[str] = frozenset(STEPS)) -> dict[str, Any]:
    t0 = C.t0_from_env()
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtCore import QModelIndex, Qt
    from qtpy.QtTest import QTest
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")
    rec = Recorder()
    hb = rec.heartbeat
    probe = C.PaintProbe(on_first_paint=hb.start)
    marks: dict[str, Any] = {"shown": [], "listed": set(), "details": []}
    steps_n, moves_n = (5, 2) if quick else (20, 10)

    # the benchmark's roots: its data folder first (opened at start), then the demo workspace
    root, demo = str(data["root"]), str(data["demo"])
    window = MainWindow([root, demo], viewer_port=port)
    model = window.tree_model
    pane = window.preview.viewer
    window.discoveryFinished.connect(lambda _d: marks.setdefault("discovered", time.monotonic()))
    if hasattr(pane, "imported"):
        pane.imported.connect(lambda: marks.setdefault("imported", time.monotonic()))
    window.preview.previewShown.connect(lambda p: marks["shown"].append((p.backend, p.path, time.monotonic())))
    window.preview.previewFailed.connect(lambda text: marks.setdefault("preview_failed", text))
    model.listingFinished.connect(lambda address: marks["listed"].add(tuple(address)))
    window.transfer_queue.transferFinished.connect(lambda summary: marks.__setitem__("transferred", summary))
    window.deleteFinished.connect(lambda done, failed: marks.__setitem__("deleted", (done, failed)))
    window.viewer_link.sendFinished.connect(lambda report: marks.__setitem__("sent", report))
    window.viewer_link.sendFailed.connect(lambda text: marks.__setitem__("sent", f"failed: {text}"))
    window.shutdownFinished.connect(lambda: marks.__setitem__("shut", time.monotonic()))
    box: dict[str, Any] = {}

    def expand(path: str) -> None:
        index = model.find("disk", path)
        if not index.isValid():
            raise RuntimeError(f"no row for {path}")
        window.tree.expand(window.proxy.mapFromSource(index))

    def start() -> dict[str, Any]:
        window.show()
        window.start_background()
        wait_until(lambda: "discovered" in marks and ("imported" in marks or not hasattr(pane, "imported")),
                   "discovery and napari's import")
        wait_until(lambda: ("disk", root) in marks["listed"], "the data folder listed")
        pause(SETTLE_S * 1000)
        return {"first_paint_s": (probe.first_paint or t0) - t0, "discovered_s": marks["discovered"] - t0,
                "napari_imported_s": marks["imported"] - t0 if "imported" in marks else None}

    def expand_demo() -> None:
        expand(demo)
        wait_until(lambda: ("disk", demo) in marks["listed"], "the demo listed")
        for child in sorted(os.scandir(demo), key=lambda e: e.name):
            if child.is_dir() and not child.name.startswith("."):
                expand(child.path)
        pause(SETTLE_S * 1000)

    def expand_big() -> dict[str, Any]:
        folder = str(data["folder"])
        expand(folder)
        wait_until(lambda: ("disk", folder) in marks["listed"], "the big folder listed")
        listing = window.folder_list
        wait_until(lambda: listing.isVisible() and listing.model.rowCount() == data["n_files"],
                   "every file in the folder list")
        pause(SETTLE_S * 1000)
        return {"rows": listing.model.rowCount()}

    def type_filter() -> None:
        edit = window.filter_edit
        edit.setFocus()
        for ch in FILTER_TEXT:
            QTest.keyClick(edit, ch)
            pause(KEY_INTERVAL_MS)
        for _ in FILTER_TEXT:
            QTest.keyClick(edit, Qt.Key.Key_Backspace)
            pause(KEY_INTERVAL_MS)
        if edit.text():
            raise RuntimeError(f"the filter box still holds {edit.text()!r}")
        pause(SETTLE_S * 1000)

    def open_and_show(path: str) -> dict[str, Any]:
        """Open Location (the path as typed): revealed, selected, previewed, drawn."""
        before = len(marks["shown"])
        moment = time.monotonic()
        error = window.open_location(path)
        if error:
            raise RuntimeError(error)
        wait_until(lambda: len(marks["shown"]) > before or "preview_failed" in marks, f"{path} previewed")
        if "preview_failed" in marks:
            raise RuntimeError(marks.pop("preview_failed"))
        if "canvas" not in box:
            box["canvas"] = Canvas(pane.viewer, pane.qt_viewer.canvas._scene_canvas)
            box["canvas"].probe._on_draw()
            pane.qt_viewer.canvas._scene_canvas.update()
        box["canvas"].wait_drawn(f"{path} drawn", moment)
        return {"layers": [layer.name for layer in pane.viewer.layers]}

    def dataset_steps(name: str) -> None:
        path = str(data["images"][name])
        rec.run(f"preview-{name}", lambda: open_and_show(path))
        if "canvas" not in box:
            return
        rec.run(f"slider-{name}", lambda: slider_steps(pane.viewer, box["canvas"], steps_n))
        rec.run(f"panzoom-{name}", lambda: pan_zoom(pane.viewer, box["canvas"], moves_n))

    def inspector() -> dict[str, Any]:
        path = str(data["chunks"])
        open_and_show(path)
        insp = window.inspector
        finished: list[float] = []
        details: list[float] = []
        insp.scanFinished.connect(lambda: finished.append(time.monotonic()))
        insp.detailShown.connect(lambda _d: details.append(time.monotonic()))
        window.inspect_action.trigger()
        wait_until(lambda: bool(finished), "the chunk scan finished")
        table = insp.table_model
        rows = [r for r in range(min(table.rowCount(), 5000)) if table.is_stored(r)][:20]
        for row in rows:
            before = len(details)
            insp.select_row(row)
            wait_until(lambda: len(details) > before, f"chunk row {row}'s details")
            pause(USER_PAUSE_MS)
        window.set_inspector_visible(False)
        return {"chunks": table.rowCount(), "clicked": len(rows)}

    def transfer() -> dict[str, Any]:
        store, dest = str(data["store"]), str(data["destination"])
        base = str(data["base"])
        if ("disk", base) not in marks["listed"]:
            expand(base)
            wait_until(lambda: ("disk", base) in marks["listed"], "the session folder listed")
        source_index, dest_index = model.find("disk", store), model.find("disk", dest)
        if not source_index.isValid() or not dest_index.isValid():
            raise RuntimeError("store or destination not in the tree")
        mime = model.mimeData([source_index])
        marks.pop("transferred", None)
        # An array dropped on a folder opens the drop menu (Copy / Move / Convert to OME-Zarr):
        # the user picks what the drop was, Copy Here.
        window.drop_chooser = lambda sources, destination, default: default
        if not model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, QModelIndex(dest_index)):
            raise RuntimeError("the drop was refused")
        wait_until(lambda: "transferred" in marks, "the transfer finished", 600)
        summary = marks["transferred"]
        copied = Path(dest) / Path(store).name
        if not copied.is_dir():
            raise RuntimeError(f"no copy at {copied}: {summary}")
        return {"summary": str(summary)}

    def delete() -> dict[str, Any]:
        copied = str(Path(data["destination"]) / Path(data["store"]).name)
        dest = str(data["destination"])
        if not model.find("disk", copied).isValid():
            expand(dest)  # the user opens the destination folder to find the copy
            wait_until(lambda: model.find("disk", copied).isValid(), "the copy's row")
        window.tree.setCurrentIndex(window.proxy.mapFromSource(model.find("disk", copied)))
        window.tree.setFocus()
        window.delete_confirmer = lambda entries, names, permanent: True
        marks.pop("deleted", None)
        window.delete_action.trigger()
        wait_until(lambda: "deleted" in marks, "the delete finished", 300)
        done, failed = marks["deleted"]
        if failed or os.path.exists(copied):
            raise RuntimeError(f"delete: {done} done, failed {failed}")
        return {"deleted": done}

    def send() -> dict[str, Any]:
        open_and_show(str(data["images"]["tiff"]))
        marks.pop("sent", None)
        window.send_action.trigger()
        wait_until(lambda: "sent" in marks, "the send finished", 600)
        if isinstance(marks["sent"], str):
            raise RuntimeError(marks["sent"])
        return {"report": str(marks["sent"])[:300]}

    def quit_() -> None:
        window.quit_action.trigger()
        wait_until(lambda: "shut" in marks, "shutdownFinished", 60)

    from _gap_stacks import sampler_from_env, write_report

    stacks = sampler_from_env(STACKS_ENV, hb)
    # After start unless BENCH_SESSION_TURNS_START=1: cProfile slows napari_build's turns.
    turns = _gap_profiler(hb) if os.environ.get(TURNS_START_ENV) == "1" else None
    rec.run("start", start)
    turns = turns or _gap_profiler(hb)
    session_start = probe.frame_done or probe.first_paint or time.monotonic()
    for name, fn in (("expand-demo", expand_demo), ("expand-100k", expand_big), ("filter", type_filter)):
        if name in selected:
            rec.run(name, fn)
    for name in DATASETS:
        if any(f"{kind}-{name}" in selected for kind in ("preview", "slider", "panzoom")):
            dataset_steps(name)
    for name, fn in (("inspector", inspector), ("transfer", transfer), ("delete", delete), ("send", send)):
        if name in selected:
            rec.run(name, fn)
    rec.run("quit", quit_)
    session_end = time.monotonic()
    hb.stop()
    write_report(stacks, t0, _step_label(rec))
    if turns is not None:
        turns.stop()
        Path(os.environ[TURNS_ENV]).write_text(json.dumps(turns.report(t0, _step_label(rec)), indent=1))
    if "shut" not in marks:
        window.shutdown()
    window.close()
    # the start step counts from the window's first paint (before it nothing is on screen)
    rec.steps[0]["start"] = session_start
    result = rec.report(t0, (session_start, session_end), list(NAPARI_STEPS))
    result["session_s"] = session_end - session_start
    return result


def case_napari(data: dict[str, Any], quick: bool) -> dict[str, Any]:
    t0 = C.t0_from_env()
    os.environ.setdefault("QT_API", "pyqt6")
    import napari
    import zarr

    viewer = napari.Viewer(show=True)
    rec = Recorder()
    rec.heartbeat.start()
    pause(SETTLE_S * 1000)
    canvas = Canvas(viewer, viewer.window._qt_viewer.canvas._scene_canvas)
    steps_n, moves_n = (5, 2) if quick else (20, 10)

    def open_dataset(name: str) -> None:
        path = str(data["images"][name])
        viewer.layers.clear()
        canvas.reset()
        moment = time.monotonic()
        if name == "pyramid":
            group = zarr.open_group(path, mode="r")
            levels = [group[d["path"]] for d in group.attrs["multiscales"][0]["datasets"]]
            viewer.add_image(levels, multiscale=True, channel_axis=0, contrast_limits=[0, 40000])
        else:
            viewer.open(path, plugin="napari")
        canvas.wait_drawn(f"{name} drawn", moment)

    start = time.monotonic()
    for name in DATASETS:
        rec.run(f"preview-{name}", lambda name=name: open_dataset(name))
        rec.run(f"slider-{name}", lambda: slider_steps(viewer, canvas, steps_n))
        rec.run(f"panzoom-{name}", lambda: pan_zoom(viewer, canvas, moves_n))
    end = time.monotonic()
    rec.heartbeat.stop()
    viewer.close()
    result = rec.report(t0, (start, end), list(NAPARI_STEPS))
    result["session_s"] = end - start
    return result


# -- parent ------------------------------------------------------------------------------------


def scratch_env(scratch: Path) -> dict[str, str]:
    """Settings, trash, transfer journal and cache of a run: inside its scratch folder (on the
    data's filesystem, so that Delete's trash is a rename there and is removed with it)."""
    env = {}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        path = scratch / var.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    return env


def start_viewer(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The persistent napari viewer on a free port (``polystore-gui viewer``), waited for."""
    from bench_streaming import free_port

    from polystore_gui.model import streaming

    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "polystore_gui", "viewer", "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=C.child_env(env), preexec_fn=C.die_with_parent)
    deadline = time.monotonic() + 120
    while not streaming.viewer_state(port, with_layers=False).ours:
        if process.poll() is not None or time.monotonic() > deadline:
            stop_viewer(process, port)
            raise SystemExit(f"the viewer did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)  # the parent, not a GUI: polling a process with a deadline
    return process, port


def stop_viewer(process: subprocess.Popen[bytes], port: int) -> None:
    """Ask the viewer to close; after 15 s, kill it by its PID (only ever this process)."""
    from polystore_gui.model import streaming

    if process.poll() is None:
        try:
            streaming.stop_viewer(port)
        except Exception as exc:  # it is killed below
            print(f"  (viewer stop request failed: {exc})", file=sys.stderr)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


def run_round(data_args: list[str], quick: bool, rnd: int, with_napari: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp(prefix="session-scratch-", dir=str(C.DATA_DIR)))
    saved: dict[str, str | None] = {}
    try:
        env = scratch_env(scratch)
        env["POLYSTORE_GUI_RUNTIME_DIR"] = str(scratch / "runtime")  # the viewer's session token
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # this process asks the viewer too (start, stop): same token
        process, port = start_viewer(env, scratch / "viewer.log")
        try:
            print(f"round {rnd}: session (viewer PID {process.pid}, port {port})", file=sys.stderr, flush=True)
            out["viewer_pid"] = process.pid
            out["session"] = C.run_case(SCRIPT, "session", [*data_args, "--port", str(port)],
                                        timeout=1800, env=env, quiet=not quick)
        finally:
            stop_viewer(process, port)
        if with_napari:
            print(f"round {rnd}: napari alone", file=sys.stderr, flush=True)
            out["napari"] = C.run_case(SCRIPT, "napari", data_args, timeout=1200, env=env, quiet=not quick)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(scratch, ignore_errors=True)
    for case, r in out.items():
        if isinstance(r, dict) and "error" in r:
            print(f"round {rnd} {case}: ERROR {r['error']}\n{r.get('stderr', '')[-3000:]}", file=sys.stderr)
    return out


def _step_rows(runs: list[dict[str, Any]], case: str) -> dict[str, list[dict[str, Any]]]:
    by_step: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        res = r.get(case) or {}
        for s in res.get("steps", []):
            by_step.setdefault(s["step"], []).append(s)
    return by_step


def _fmt(values: list[float | None], unit: str = "ms") -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.0f}"
    return f"{statistics.median(vals):.0f} / {max(vals):.0f}"


def _counts(stats: list[dict[str, Any]], key: str) -> str:
    return "/".join(str(s.get(key, "—")) for s in stats) or "—"


def render(runs: list[dict[str, Any]]) -> str:
    ours, theirs = _step_rows(runs, "session"), _step_rows(runs, "napari")
    rows = []

    def row(label: str, a: list[dict[str, Any]], b: list[dict[str, Any]] | None, errors: list[str]) -> None:
        cells = [label, _fmt([s.get("max_stall_ms") for s in a]), _fmt([s.get("p99_latency_ms") for s in a]),
                 _counts(a, "gaps_over_50ms"), _counts(a, "gaps_over_100ms")]
        if b is None:
            cells += ["", "", "", ""]
        else:
            cells += [_fmt([s.get("max_stall_ms") for s in b]), _fmt([s.get("p99_latency_ms") for s in b]),
                      _counts(b, "gaps_over_50ms"), _counts(b, "gaps_over_100ms")]
        cells.append("; ".join(sorted(set(errors)))[:200])
        rows.append(cells)

    for step in STEPS:
        a = [s["stalls"] for s in ours.get(step, [])]
        b = [s["stalls"] for s in theirs.get(step, [])] if step in NAPARI_STEPS else None
        errs = [s["error"] for s in ours.get(step, []) + theirs.get(step, []) if s.get("error")]
        secs = [s["seconds"] for s in ours.get(step, [])]
        label = f"{step} ({statistics.median(secs):.1f} s)" if secs else step
        row(label, a, b, errs)
    row("**napari-side steps together**", [r["session"]["napari_side"] for r in runs if "napari_side" in r.get("session", {})],
        [r["napari"]["napari_side"] for r in runs if "napari_side" in r.get("napari", {})], [])
    row("**whole session**", [r["session"]["whole"] for r in runs if "whole" in r.get("session", {})], None,
        [r[c]["error"] for r in runs for c in ("session", "napari") if "error" in r.get(c, {})])
    n = len(runs)
    table = C.markdown_table(
        ["step (median duration)", "polystore-gui: longest stall, ms", "p99 latency, ms", "gaps > 50 ms",
         "gaps > 100 ms", "napari alone: longest stall, ms", "p99 latency, ms", "gaps > 50 ms", "gaps > 100 ms",
         "errors"], rows)
    note = (f"{n} round{'s' if n != 1 else ''}; stalls and p99 as median / worst over the rounds, gap counts per "
            "round. p99 latency: time-weighted (what an input event arriving at a random moment waits).")
    worst = []
    for i, r in enumerate(runs, 1):
        if r.get("session", {}).get("worst_gaps"):
            worst.append(f"round {i}, polystore-gui's longest gaps (s from process start, ms): {r['session']['worst_gaps']}")
    return note + "\n\n" + table + ("\n\n" + "\n".join(f"- {w}" for w in worst) if worst else "")


def judge(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    ours, theirs = _step_rows(runs, "session"), _step_rows(runs, "napari")
    over = [f"{step} ({max(s['stalls'].get('max_stall_ms') or 0 for s in ss):.0f} ms)" for step, ss in ours.items()
            if any((s["stalls"].get("max_stall_ms") or 0) > STALL_TARGET_MS for s in ss)]
    failed = [step for step, ss in ours.items() if any(s.get("error") for s in ss)]
    out.append(f"longest stall ≤ {STALL_TARGET_MS:.0f} ms in every step of every run → "
               + ("MET" if not over and not failed else f"MISSED: {', '.join(over + [f + ' (failed)' for f in failed])}"))
    p99 = [r["session"]["whole"].get("p99_latency_ms") for r in runs if "whole" in r.get("session", {})]
    p99 = [v for v in p99 if v is not None]
    if p99:
        out.append(f"whole session p99 latency {max(p99):.1f} ms at worst (target ≤ {P99_TARGET_MS:.0f} ms) → "
                   + ("MET" if max(p99) <= P99_TARGET_MS else "MISSED"))
    worse = []
    for step in NAPARI_STEPS:
        a = [s["stalls"].get("max_stall_ms") for s in ours.get(step, [])]
        b = [s["stalls"].get("max_stall_ms") for s in theirs.get(step, [])]
        a, b = [v for v in a if v is not None], [v for v in b if v is not None]
        if a and b and statistics.median(a) > statistics.median(b):
            worse.append(f"{step} ({statistics.median(a):.0f} vs {statistics.median(b):.0f} ms)")
    out.append("napari-side steps at least as smooth as napari alone (median longest stall per step) → "
               + ("MET" if not worse else f"MISSED in {', '.join(worse)}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="sessions (each with its napari-alone run); default 3")
    parser.add_argument("--quick", action="store_true", help="small data, fewer steps: a smoke run")
    parser.add_argument("--name", help="results/<name>.json (default bench_session, or bench_session_quick)")
    parser.add_argument("--render", metavar="JSON", help="print the tables of an earlier results file")
    parser.add_argument("--json", metavar="PATH", help="write the results file here instead of results/")
    parser.add_argument("--steps", help="only these steps, comma-separated (start and quit always run; a "
                        "dataset's three steps run together; napari alone runs only for napari-side steps)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    selected = frozenset(STEPS)
    if args.steps:
        selected = frozenset(s.strip() for s in args.steps.split(",") if s.strip())
        if unknown := selected - set(STEPS):
            parser.error(f"unknown steps: {', '.join(sorted(unknown))} (known: {', '.join(STEPS)})")
    if args.render:
        payload = json.loads(Path(args.render).read_text())
        print(render(payload["runs"]) + "\n\n" + "\n".join(f"- {v}" for v in judge(payload["runs"])))
        return 0
    if args.case:
        data = make_data(args.quick)
        if args.case == "session":
            result = case_session(data, args.port, args.quick, selected)
        elif args.case == "napari":
            result = case_napari(data, args.quick)
        else:
            raise SystemExit(f"unknown case {args.case!r}")
        result["case"] = args.case
        C.emit_result(result)
        return 0
    C.ensure_display(SCRIPT)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    print("making the data (once) …", file=sys.stderr, flush=True)
    make_data(args.quick)
    load_before = C.warn_if_busy()
    data_args = (["--quick"] if args.quick else []) + (["--steps", args.steps] if args.steps else [])
    with_napari = bool(selected & set(NAPARI_STEPS))
    runs = [run_round(data_args, args.quick, i + 1, with_napari) for i in range(args.rounds)]
    busy = [r[c].get("cpu_busy_before") for r in runs for c in CASES if r.get(c, {}).get("cpu_busy_before") is not None]
    name = args.name or ("bench_session_quick" if args.quick else "bench_session")
    if args.json:  # written under a name of its own, then moved: results/ keeps what it had
        name = f".bench_session-{os.getpid()}"
    path = C.publish(name, "session", render(runs), judge(runs), busy, load_before, quick=args.quick,
              rounds=args.rounds, targets={"max_stall_ms": STALL_TARGET_MS, "p99_latency_ms": P99_TARGET_MS},
              runs=runs)
    if args.json:
        shutil.move(str(path), args.json)
        print(f"moved to {args.json}", file=sys.stderr)
    failed = any("error" in r[c] or any(s.get("error") for s in r[c].get("steps", [])) for r in runs for c in CASES
                 if c in r)
    return 1 if failed else 0  # 1: a case or a step failed (the table's last column says which)


if __name__ == "__main__":
    sys.exit(main())
