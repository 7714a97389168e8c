"""Preview: selection to first drawn frame, and bytes read, beside napari opening the data.

Three datasets, made once under benchmarks/_data/preview (sparse writes):

- ``pyramid``: an OME-NGFF 0.4 image (zarr v2), 2 channels x 16 z x 16384 x 16384 uint16
  (16 GiB logical), five levels; the three largest levels hold only the middle z plane,
  the two smallest every plane (so reading more than the shown plane costs bytes);
- ``sharded``: a zarr v3 array 32 x 8192 x 8192 uint16, shards (1, 4096, 4096), chunks
  (1, 512, 512), only the middle plane written;
- ``tiff``: a 100-page 2048 x 2048 uint16 TIFF (800 MiB).

Cases, each in a fresh process under the same X server, with napari already imported
and its viewer on screen before the clock starts (both sides pay napari's start-up
outside the measurement):

- ``ours``: polystore-gui's preview panel; ``panel.request(...)`` starts the clock;
- ``napari``: ``viewer.open(path)`` — napari-ome-zarr for the pyramid, napari's built-in
  readers for the zarr array and the TIFF.

"First drawn frame" is the first canvas draw after every layer reports ``loaded``.
"Bytes read" is the growth of ``rchar`` in /proc/self/io (bytes returned by read
system calls, page cache included) between the two moments.

    python benchmarks/bench_preview.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    DATA_DIR,
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

DATA = DATA_DIR / "preview"
DATASETS = ("pyramid", "sharded", "tiff")


def rchar() -> int:
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


# -- data --------------------------------------------------------------------------------------


def _smooth_plane(h: int, w: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.linspace(0, 6 * np.pi, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 6 * np.pi, w, dtype=np.float32)[None, :]
    plane = (np.sin(y + rng.uniform(0, 3)) * np.cos(x) + 1.0) * 20000
    return plane.astype(np.uint16)


def make_data() -> dict[str, Path]:
    import numpy as np
    import tifffile
    import zarr

    DATA.mkdir(parents=True, exist_ok=True)
    paths = {"pyramid": DATA / "pyramid.ome.zarr", "sharded": DATA / "sharded.zarr", "tiff": DATA / "big.tif"}
    if not (paths["pyramid"] / ".done2").exists():
        root = zarr.open_group(str(paths["pyramid"]), mode="w", zarr_format=2)
        datasets = []
        for level in range(5):
            f = 2**level
            size = 16384 // f
            arr = root.create_array(str(level), shape=(2, 16, size, size), chunks=(1, 1, 1024, 1024),
                                    dtype="uint16", fill_value=0, chunk_key_encoding={"name": "v2", "separator": "/"})
            for c in range(2):
                # Every z plane of the small levels, only the middle one of the large ones:
                # a reader that touches other planes pays for it in bytes read.
                planes = range(16) if level >= 3 else (7,)
                for z in planes:
                    arr[c, z] = _smooth_plane(size, size, c * 16 + z)
            datasets.append({"path": str(level), "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, float(f), float(f)]}]})
        root.attrs["multiscales"] = [{
            "version": "0.4", "name": "pyramid",
            "axes": [{"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
                     {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
            "datasets": datasets,
        }]
        root.attrs["omero"] = {"channels": [
            {"label": "a", "color": "FF00FF", "window": {"start": 0, "end": 40000, "min": 0, "max": 65535}},
            {"label": "b", "color": "00FF00", "window": {"start": 0, "end": 40000, "min": 0, "max": 65535}},
        ]}
        (paths["pyramid"] / ".done2").touch()
    if not (paths["sharded"] / ".done").exists():
        arr = zarr.create_array(str(paths["sharded"]), shape=(32, 8192, 8192), shards=(1, 4096, 4096),
                                chunks=(1, 512, 512), dtype="uint16", fill_value=0, overwrite=True)
        arr[15] = _smooth_plane(8192, 8192, 3)
        (paths["sharded"] / ".done").touch()
    if not paths["tiff"].exists():
        tmp = paths["tiff"].with_suffix(".tmp")
        with tifffile.TiffWriter(tmp) as tif:
            plane = _smooth_plane(2048, 2048, 4)
            for i in range(100):
                tif.write(np.roll(plane, i * 7, axis=1), contiguous=True, photometric="minisblack")
        tmp.rename(paths["tiff"])
    return paths


# -- cases -------------------------------------------------------------------------------------


_wait = wait_events  # the name the cases use


class FrameProbe:
    """The first canvas draw ON SCREEN after every layer of a viewer is loaded.

    A draw of a hidden canvas does not count: polystore-gui draws a preview's first frame
    offscreen in a hidden viewer before it switches the page to it (napari_warmup's
    ``_draw_hidden``); counting that draw measured a frame no one saw yet (session 11's quiet
    run: the sharded "first frame" 0.12 s, and the page switch fell into the slider steps).
    """

    def __init__(self, viewer: Any, canvas: Any) -> None:
        self.viewer = viewer
        self.canvas = canvas
        self.frame: float | None = None
        canvas.events.draw.connect(self._on_draw)

    def _on_draw(self, _event: Any = None) -> None:
        layers = list(self.viewer.layers)
        if not self.canvas.native.isVisible():
            return
        if self.frame is None and layers and all(getattr(layer, "loaded", True) for layer in layers):
            self.frame = time.monotonic()


def case_ours(dataset: str, path: Path) -> dict[str, Any]:
    from qtpy.QtWidgets import QApplication, QMainWindow

    from polystore_gui.qt.preview_panel import PreviewPanel
    from polystore_gui.qt.workers import WorkerPool

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    workers = WorkerPool()
    panel = PreviewPanel(workers)
    window.setCentralWidget(panel)
    window.resize(1400, 900)
    window.show()
    panel.viewer.start()
    assert _wait(app, lambda: panel.viewer.is_ready), "viewer never became ready"
    _wait(app, lambda: False, 1.0)  # let start-up settle (async import warm-up, first paints)
    probe = FrameProbe(panel.viewer.viewer, panel.viewer.qt_viewer.canvas._scene_canvas)
    backend = {"pyramid": "ome_zarr", "sharded": "zarr", "tiff": "disk"}[dataset]
    before = rchar()
    t0 = time.monotonic()
    panel.request(backend, str(path))
    ok = _wait(app, lambda: probe.frame is not None)
    read = rchar() - before
    result = {"first_frame_s": (probe.frame - t0) if ok else None, "bytes_read": read,
              "layers": [[layer.name, list(layer.data[0].shape if layer.multiscale else layer.data.shape)] for layer in panel.viewer.viewer.layers]}
    # The same selection again: napari's first-layer costs (pint, scipy.ndimage) were
    # warmed in the import worker, so the first preview should cost what this one does.
    panel.show_message("", "")
    _wait(app, lambda: False, 0.5)
    probe.frame = None
    t1 = time.monotonic()
    panel.request(backend, str(path))
    ok = _wait(app, lambda: probe.frame is not None)
    result["second_frame_s"] = (probe.frame - t1) if ok else None
    if dataset == "sharded":
        result["steps"] = _step_stalls(app, panel.viewer.viewer)
    workers.cancel_all(close=True)
    workers.wait(10_000)
    panel.close_preview()
    panel.viewer.close_viewer()
    window.close()
    return result


def case_napari(dataset: str, path: Path) -> dict[str, Any]:
    import napari
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    _wait(app, lambda: False, 1.0)
    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    probe = FrameProbe(viewer, canvas)
    before = rchar()
    t0 = time.monotonic()
    if dataset == "pyramid":
        viewer.open(str(path), plugin="napari-ome-zarr")
    else:
        viewer.open(str(path), plugin="napari")
    ok = _wait(app, lambda: probe.frame is not None)
    read = rchar() - before
    result = {"first_frame_s": (probe.frame - t0) if ok else None, "bytes_read": read,
              "layers": [[layer.name, list(layer.data[0].shape if layer.multiscale else layer.data.shape)] for layer in viewer.layers]}
    if dataset == "sharded":
        result["steps"] = _step_stalls(app, viewer)
    viewer.close()
    return result


def _step_stalls(app: Any, viewer: Any) -> dict[str, Any]:
    """Step the first slider through 6 planes; the GUI thread's longest stall meanwhile.

    Each step reads a whole 8192 x 8192 plane (about 90 MB compressed): synchronous
    slicing holds the GUI thread for the read, asynchronous slicing does not.
    """
    from _common import Heartbeat

    heartbeat = Heartbeat()
    layer = viewer.layers[0]
    heartbeat.start()
    start = time.monotonic()
    for z in range(10, 16):
        steps = list(viewer.dims.current_step)
        steps[0] = z
        viewer.dims.current_step = tuple(steps)
        _wait(app, lambda: False, 0.05)
        _wait(app, lambda: layer.loaded, 60)
    elapsed = time.monotonic() - start
    heartbeat.stop()
    stats = heartbeat.stats()
    return {"seconds": elapsed, "max_stall_ms": stats["max_stall_ms"], "gaps_over_100ms": stats["gaps_over_100ms"]}


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
    results: dict[str, Any] = {}
    for dataset in DATASETS:
        for case in ("ours", "napari"):
            runs = [run_case(__file__, case, ["--dataset", dataset], timeout=600) for _ in range(args.repeat)]
            results[f"{dataset}/{case}"] = {
                "runs": runs,
                "first_frame_s": summarize(r.get("first_frame_s") for r in runs),
                "bytes_read": summarize(r.get("bytes_read") for r in runs),
            }
    # The bytes that showing the first plane must read: the chunks of that plane at the
    # level shown, on disk (compressed), plus metadata.
    rows = []
    for dataset in DATASETS:
        ours, theirs = results[f"{dataset}/ours"], results[f"{dataset}/napari"]
        of, nf = ours["first_frame_s"]["median"], theirs["first_frame_s"]["median"]
        ob, nb = ours["bytes_read"]["median"], theirs["bytes_read"]["median"]
        rows.append([
            dataset, fmt_s(of), fmt_s(nf),
            f"{of / nf:.2f}x" if of and nf else "n/a",
            f"{(ob or 0) / 2**20:.1f} MiB", f"{(nb or 0) / 2**20:.1f} MiB",
            ours["runs"][0].get("error") or theirs["runs"][0].get("error") or "",
        ])
    table = markdown_table(
        ["dataset", "ours: first frame", "napari: first frame", "ratio", "ours: bytes read", "napari: bytes read", "errors"],
        rows,
    )
    extra = []
    for dataset in DATASETS:
        second = summarize(r.get("second_frame_s") for r in results[f"{dataset}/ours"]["runs"])
        extra.append([dataset, fmt_s(results[f"{dataset}/ours"]["first_frame_s"]["median"]), fmt_s(second["median"])])
    table += "\n\n" + markdown_table(["dataset", "ours: first preview", "ours: same preview again"], extra)
    steps = []
    for case in ("ours", "napari"):
        runs = [r.get("steps") or {} for r in results[f"sharded/{case}"]["runs"]]
        stall = summarize(r.get("max_stall_ms") for r in runs)
        secs = summarize(r.get("seconds") for r in runs)
        steps.append([case, fmt_s(secs["median"]), f"{stall['median']:.0f} ms" if stall["median"] is not None else "n/a"])
    table += "\n\n" + markdown_table(["6 slider steps on the sharded array", "time", "longest GUI stall"], steps)
    print(table)
    write_json("preview", {"benchmark": "preview", "machine": machine_info(), "results": results, "table": table})


if __name__ == "__main__":
    main()
