"""Plates: selection to painted grid and thumbnails, object reads, cache, GUI stalls; and
napari-ome-zarr opening the same plate.

Two plates, made once under benchmarks/_data/plate:

- ``hcs384``: an OME-Zarr HCS 0.5 plate (zarr v3) written by ome-zarr-py: 16 x 24 wells,
  2 fields a well, each field 2 channels x 512 x 512 uint16 with 3 resolution levels;
- ``polystore384``: the same grid written by polystore's ``save_batch`` (as OpenHCS does):
  one array a well, 2 channels x 2 z x 512 x 512 uint16, no pyramid, with a
  ``polystore_metadata.json`` beside it.

Cases, each in a fresh process under the same X server:

- ``ours``: polystore-gui's preview panel (the plate view), thumbnail cache empty;
  ``panel.request(...)`` starts the clock. "Grid painted": the grid's first paint after
  the plate view shows; "thumbnails": every well's thumbnail drawn. Then the same plate is
  selected again after another selection ("reopen": every thumbnail from the disk cache).
  A 5 ms heartbeat timer measures the GUI thread's longest stall over both.
  "Object reads": every metadata document our reader opens plus every key zarr's store
  gets, over the number of wells (the summary reads each well's metadata once; each
  thumbnail reads its level's array metadata and chunk). The preview's readers are
  imported by a first selection (the plate's parent folder) before the clock starts, as
  in the app, where the tree's first selection imports them.
- ``napari``: ``viewer.open(plate, plugin="napari-ome-zarr")`` (0.10, installed for the
  benchmark only, under _data), until the first canvas draw with every layer loaded.
  napari-ome-zarr shows the first field of each well stitched into one image.

    python benchmarks/bench_plate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import (  # noqa: E402
    DATA_DIR,
    Heartbeat,
    emit_result,
    ensure_display,
    fmt_s,
    machine_info,
    markdown_table,
    run_case,
    summarize,
    wait_events,
    write_json,
)

DATA = DATA_DIR / "plate"
NAPARI_OME_ZARR = DATA_DIR / "napari-ome-zarr"  # pip install --no-deps --target … napari-ome-zarr==0.10.0
DATASETS = ("hcs384", "polystore384")
ROWS, COLUMNS, EDGE = 16, 24, 512


def _plane(seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.linspace(0, 4 * np.pi, EDGE, dtype=np.float32)[:, None]
    x = np.linspace(0, 4 * np.pi, EDGE, dtype=np.float32)[None, :]
    plane = (np.sin(y + rng.uniform(0, 3)) * np.cos(x + rng.uniform(0, 3)) + 1.0) * 10000 + seed % 97 * 100
    return plane.astype(np.uint16)


def make_data() -> dict[str, Path]:
    import numpy as np
    import zarr

    DATA.mkdir(parents=True, exist_ok=True)
    paths = {"hcs384": DATA / "hcs384.zarr", "polystore384": DATA / "polystore384"}
    rows = [chr(ord("A") + r) for r in range(ROWS)]
    columns = [str(c + 1) for c in range(COLUMNS)]
    if not (paths["hcs384"] / ".done").exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from ome_zarr.format import FormatV05
            from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata
        fmt = FormatV05()
        root = zarr.open_group(str(paths["hcs384"]), mode="w", zarr_format=3)
        wells = [f"{r}/{c}" for r in rows for c in columns]
        write_plate_metadata(root, rows, columns, wells, fmt=fmt, field_count=2,
                             acquisitions=[{"id": 0, "name": "bench", "maximumfieldcount": 2}], name="hcs384")
        for n, well in enumerate(wells):
            r, c = well.split("/")
            group = root.require_group(r).require_group(c)
            write_well_metadata(group, [{"path": "0", "acquisition": 0}, {"path": "1", "acquisition": 0}], fmt=fmt)
            for f in range(2):
                image = np.stack([_plane(n * 4 + f * 2), _plane(n * 4 + f * 2 + 1)])
                write_image(image, group.require_group(str(f)), scale_factors=(2, 4), axes="cyx", fmt=fmt,
                            storage_options={"chunks": (1, EDGE, EDGE)})
        (paths["hcs384"] / ".done").touch()
    if not (paths["polystore384"] / ".done").exists():
        from polystore.backend_registry import get_backend_instance
        from polystore.zarr_batch import ZarrBatchAxis, ZarrBatchLayout

        backend = get_backend_instance("zarr")
        coords = tuple((c, z) for c in range(2) for z in range(2))
        layout = ZarrBatchLayout(axes=(ZarrBatchAxis("c", ("1", "2")), ZarrBatchAxis("z", ("1", "2"))),
                                 item_coordinates=coords)
        folder = paths["polystore384"]
        for n, (r, c) in enumerate((r, f"{int(c):02d}") for r in rows for c in columns):
            images = [_plane(n * 4 + i) for i in range(4)]
            names = [str(folder / "images" / f"{r}{c}_c{ch + 1}_z{z + 1}.tif") for ch, z in coords]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                backend.save_batch(images, names, chunk_name=f"{r}{c}", batch_layout=layout, row=r, col=c)
        (folder / "polystore_metadata.json").write_text(json.dumps({"subdirectories": {"images": {
            "main": True, "available_backends": {"zarr": True}}}}))
        (paths["polystore384"] / ".done").touch()
    return paths


# -- cases -------------------------------------------------------------------------------------


_wait = wait_events  # the name the cases use


class _Reads:
    """Counts object reads: metadata documents our reader opens, keys zarr's store gets."""

    def __init__(self) -> None:
        import zarr.storage

        from polystore_gui.model import plate_plane, zarr_nodes

        self.documents = 0
        self.keys = 0
        real_load = zarr_nodes._load_json
        real_get = zarr.storage.LocalStore.get

        def load(path: str) -> Any:
            self.documents += 1
            return real_load(path)

        async def get(store: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            self.keys += 1
            return await real_get(store, key, *args, **kwargs)

        zarr_nodes._load_json = load
        zarr.storage.LocalStore.get = get
        # The direct plane reader (plate_plane) reads an array's metadata and chunk itself.
        real_document, real_chunk = plate_plane.read_document, plate_plane.open_chunk

        def document(path: str) -> Any:
            self.documents += 1
            return real_document(path)

        def chunk(path: str) -> Any:
            self.keys += 1
            return real_chunk(path)

        plate_plane.read_document = document
        plate_plane.open_chunk = chunk

    def take(self) -> tuple[int, int]:
        found = (self.documents, self.keys)
        self.documents = self.keys = 0
        return found


def case_ours(dataset: str, path: Path) -> dict[str, Any]:
    from qtpy.QtCore import QEvent, QObject
    from qtpy.QtWidgets import QApplication, QMainWindow

    from polystore_gui.qt.preview_panel import PreviewPanel
    from polystore_gui.qt.workers import WorkerPool

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    workers = WorkerPool()
    panel = PreviewPanel(workers)
    panel.plate_view.cache_folder = tempfile.mkdtemp(prefix="plate-thumbs-")
    window.setCentralWidget(panel)
    window.resize(1400, 900)
    window.show()
    _wait(app, lambda: False, 1.0)
    # As in the app, the preview's readers are imported by the first selection, before this
    # one: select the folder holding the plate first (it is no plate).
    panel.request("disk", str(path.parent))
    _wait(app, lambda: not panel.busy.isVisible(), 60)
    _wait(app, lambda: False, 0.5)
    reads = _Reads()
    grid = panel.plate_view.grid
    painted: list[float] = []

    class _Paints(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
            if obj is grid and event.type() == QEvent.Type.Paint and grid.plate is not None and not painted:
                painted.append(time.monotonic())
            return False

    paints = _Paints()
    grid.installEventFilter(paints)
    timeline: list[list[Any]] = []  # [name, start, seconds] of the GUI thread's plate steps

    def timed(name: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                timeline.append([name, round(start - t0, 3), round(time.monotonic() - start, 4)])
        return run

    panel._on_plate_found = timed("plate found", panel._on_plate_found)
    panel._on_preview_returned = timed("preview returned", panel._on_preview_returned)
    panel.request = timed("request", panel.request)
    heartbeat = Heartbeat()
    heartbeat.start()
    t0 = time.monotonic()
    panel.request("disk", str(path))
    ok = _wait(app, lambda: bool(painted))
    grid_s = painted[0] - t0 if ok else None
    view = panel.plate_view
    _wait(app, lambda: view.plate is not None and not view.loading)
    thumbs_s = time.monotonic() - t0
    documents, keys = reads.take()
    wells = len(view.plate.wells) if view.plate else 0
    drawn = len(grid.thumbnails)
    # Reopen: select something else, then the plate again; thumbnails come from the cache.
    panel.show_message("", "")
    _wait(app, lambda: False, 0.3)
    painted.clear()
    t1 = time.monotonic()
    panel.request("disk", str(path))
    _wait(app, lambda: bool(painted))
    _wait(app, lambda: view.plate is not None and not view.loading and len(grid.thumbnails) == drawn)
    reopen_s = time.monotonic() - t1
    reopen_reads = reads.take()
    heartbeat.stop()
    stalls = heartbeat.stats()
    result = {
        "grid_s": grid_s, "thumbnails_s": thumbs_s, "reopen_s": reopen_s, "wells": wells, "drawn": drawn,
        "documents_read": documents, "keys_read": keys,
        "reads_per_well": (documents + keys) / wells if wells else None,
        "reopen_reads": list(reopen_reads),
        "max_stall_ms": stalls["max_stall_ms"], "gaps_over_100ms": stalls["gaps_over_100ms"],
        # when (seconds after the first selection) the worst stalls began, and how long they were
        "worst_gaps": [[round(at - t0, 3), round(ms, 1)] for at, ms in heartbeat.worst_gaps(4)],
        "timeline": timeline[:8],
    }
    view.stop()
    workers.cancel_all(close=True)
    workers.wait(10_000)
    window.close()
    shutil.rmtree(view.cache_folder, ignore_errors=True)  # each run's own cache: none left in /tmp
    return result


def case_napari(dataset: str, path: Path) -> dict[str, Any]:
    import napari
    from qtpy.QtWidgets import QApplication

    from bench_preview import FrameProbe

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    _wait(app, lambda: False, 1.0)
    probe = FrameProbe(viewer, viewer.window._qt_viewer.canvas._scene_canvas)
    heartbeat = Heartbeat()
    heartbeat.start()
    t0 = time.monotonic()
    target = path / "images" if dataset == "polystore384" else path
    error = None
    try:
        viewer.open(str(target), plugin="napari-ome-zarr")
    except Exception as exc:  # report what napari-ome-zarr says, as the table's "errors"
        error = f"{type(exc).__name__}: {exc}"[:300]
    ok = error is None and _wait(app, lambda: probe.frame is not None, 300)
    heartbeat.stop()
    stalls = heartbeat.stats()
    result = {
        "first_frame_s": (probe.frame - t0) if ok and probe.frame else None, "error": error,
        "layers": [[layer.name, list(layer.data[0].shape if layer.multiscale else layer.data.shape)]
                   for layer in viewer.layers],
        "max_stall_ms": stalls["max_stall_ms"], "gaps_over_100ms": stalls["gaps_over_100ms"],
    }
    viewer.close()
    return result


# -- driver ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case")
    parser.add_argument("--dataset")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.case:
        paths = make_data()
        fn = case_ours if args.case == "ours" else case_napari
        emit_result(fn(args.dataset, paths[args.dataset]))
        return
    ensure_display(__file__)
    paths = make_data()
    napari_env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(NAPARI_OME_ZARR), os.environ.get("PYTHONPATH")]))}
    results: dict[str, Any] = {}
    for dataset in DATASETS:
        results[f"{dataset}/ours"] = {"runs": [run_case(__file__, "ours", ["--dataset", dataset], timeout=900)
                                               for _ in range(args.repeat)]}
        results[f"{dataset}/napari"] = {"runs": [run_case(__file__, "napari", ["--dataset", dataset], timeout=900,
                                                          env=napari_env) for _ in range(args.repeat)]}

    def med(key: str, case: str, dataset: str) -> float | None:
        return summarize(r.get(key) for r in results[f"{dataset}/{case}"]["runs"])["median"]

    rows = []
    for dataset in DATASETS:
        ours = results[f"{dataset}/ours"]["runs"][0]
        theirs = results[f"{dataset}/napari"]["runs"][0]
        rpw = med("reads_per_well", "ours", dataset)
        stall_o, stall_n = med("max_stall_ms", "ours", dataset), med("max_stall_ms", "napari", dataset)
        rows.append([
            dataset, fmt_s(med("grid_s", "ours", dataset)), fmt_s(med("thumbnails_s", "ours", dataset)),
            fmt_s(med("reopen_s", "ours", dataset)), f"{rpw:.2f}" if rpw is not None else "n/a",
            f"{stall_o:.0f} ms" if stall_o is not None else "n/a",
            fmt_s(med("first_frame_s", "napari", dataset)),
            f"{stall_n:.0f} ms" if stall_n is not None else "n/a",
            (ours.get("error") or theirs.get("error") or "")[:120],
        ])
    table = markdown_table(
        ["plate", "ours: grid painted", "ours: every thumbnail", "ours: reopen (cache)", "ours: object reads / well",
         "ours: longest GUI stall", "napari-ome-zarr: first frame", "napari-ome-zarr: longest GUI stall", "errors"],
        rows,
    )
    print(table)
    write_json("bench_plate", {"benchmark": "plate", "machine": machine_info(), "results": results, "table": table})


if __name__ == "__main__":
    main()
