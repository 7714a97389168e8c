"""Previews in the embedded napari viewer (needs a real X server with GL: run under Xvfb)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import zarr
from zarr.storage import WrapperStore

from polystore_gui.model import lazy

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def panel(qtbot):
    from polystore_gui.qt.preview_panel import PreviewPanel
    from polystore_gui.qt.workers import WorkerPool

    workers = WorkerPool()
    panel = PreviewPanel(workers)
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.show()
    qtbot.waitExposed(panel)
    with qtbot.waitSignal(panel.viewer.ready, timeout=120_000):
        panel.viewer.start()
    yield panel
    workers.cancel_all(close=True)
    workers.wait(10_000)
    panel.close_preview()
    panel.viewer.close_viewer()
    panel.close()


def show(qtbot, panel, backend, path, timeout=30_000):
    with qtbot.waitSignal(panel.previewShown, timeout=timeout) as blocker:
        panel.request(backend, str(path))
    return blocker.args[0]


def test_zarr_array_opens_lazily_with_explicit_contrast(qtbot, panel, demo_dir):
    preview = show(qtbot, panel, "zarr", demo_dir / "stores" / "experiment.zarr" / "plain")
    (layer,) = panel.viewer.viewer.layers
    assert layer.data.shape == (16, 512, 512)
    assert isinstance(layer.data, zarr.Array)  # never materialised
    lo, hi = layer.contrast_limits
    assert 0 <= lo < hi <= 65535
    assert panel.viewer.viewer.dims.current_step[0] == 7
    assert panel.stack.currentWidget() is panel.viewer
    assert panel.metadata.rows()["chunks"] == "[1, 256, 256]"
    assert preview.info.shape == (16, 512, 512)


def test_ome_zarr_multiscale_channels_and_labels(qtbot, panel, demo_dir):
    show(qtbot, panel, "ome_zarr", demo_dir / "stores" / "experiment.zarr" / "image")
    layers = panel.viewer.viewer.layers
    names = [layer.name for layer in layers]
    assert names == ["nuclei", "membrane", "labels: nuclei"]
    nuclei = layers["nuclei"]
    assert nuclei.multiscale and len(nuclei.data) == 3
    assert tuple(nuclei.contrast_limits) == (0.0, 52000.0)  # from omero.window
    assert tuple(nuclei.scale) == pytest.approx((2.0, 0.325, 0.325))
    labels = layers["labels: nuclei"]
    assert labels.multiscale and labels.data[0].shape == (8, 512, 512)
    assert "ome" in panel.metadata.rows()


@pytest.mark.parametrize(
    "relative,shape",
    [
        ("images/z_stack.tif", (24, 256, 256)),
        ("images/tiled_timelapse.ome.tif", (10, 512, 512)),
        ("images/cells.png", (256, 256)),
        ("tables/features.npy", (16, 128, 128)),
    ],
)
def test_files(qtbot, panel, demo_dir, relative, shape):
    show(qtbot, panel, "disk", demo_dir / relative)
    (layer,) = panel.viewer.viewer.layers
    assert layer.data.shape == shape


def test_memory_array(qtbot, panel):
    from polystore_gui.model.listing import memory_backend

    memory_backend().ensure_directory("/preview_test")
    memory_backend().save(np.arange(60, dtype=np.float32).reshape(3, 4, 5), "/preview_test/a")
    show(qtbot, panel, "memory", "/preview_test/a")
    (layer,) = panel.viewer.viewer.layers
    assert layer.data.shape == (3, 4, 5)


def test_csv_json_and_folders_get_a_preview_not_an_empty_pane(qtbot, panel, demo_dir):
    show(qtbot, panel, "disk", demo_dir / "tables" / "measurements.csv")
    assert panel.stack.currentWidget() is panel.table
    assert panel.table.horizontalHeaderItem(0).text() == "well"
    assert panel.table.rowCount() == 24
    show(qtbot, panel, "disk", demo_dir / "tables" / "experiment.json")
    assert panel.stack.currentWidget() is panel.text
    assert '"plate": "demo-plate-001"' in panel.text.toPlainText()
    show(qtbot, panel, "disk", demo_dir / "images")
    assert panel.stack.currentWidget() is panel.message
    assert "3 files" in panel.message.text()


def test_a_newer_selection_supersedes_a_pending_one(qtbot, panel, demo_dir):
    shown = []
    panel.previewShown.connect(lambda p: shown.append(p.path))
    panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
    panel.request("disk", str(demo_dir / "images" / "cells.png"))
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    qtbot.waitUntil(lambda: panel._workers.running == 0, timeout=30_000)
    assert shown == [str(demo_dir / "images" / "cells.png")]
    assert [layer.name for layer in panel.viewer.viewer.layers] == ["cells.png"]


class CountingStore(WrapperStore):
    """Records every key read (whole or by byte range)."""

    keys: list[str]

    def __init__(self, store):
        super().__init__(store)
        self.keys = []

    async def get(self, key, prototype, byte_range=None):
        self.keys.append(key)
        return await super().get(key, prototype, byte_range)

    async def get_partial_values(self, prototype, key_ranges):
        key_ranges = list(key_ranges)
        self.keys.extend(k for k, _ in key_ranges)
        return await super().get_partial_values(prototype, key_ranges)


def test_only_the_shown_planes_chunks_are_read(qtbot, panel, demo_dir):
    """The read bound: metadata plus the chunks of the one plane on screen, nothing else."""
    stores = []

    def wrap(store):
        counting = CountingStore(store)
        stores.append(counting)
        return counting

    lazy.set_store_wrapper(wrap)
    try:
        show(qtbot, panel, "zarr", demo_dir / "stores" / "experiment.zarr" / "sharded")
        layer = panel.viewer.viewer.layers[0]
        qtbot.waitUntil(lambda: layer.loaded, timeout=30_000)
        qtbot.wait(300)  # let an async slice finish drawing (the assertion is on reads, not timing)
    finally:
        lazy.set_store_wrapper(None)
    keys = [k for s in stores for k in s.keys]
    chunk_keys = {k for k in keys if k.startswith("c/")}
    assert chunk_keys, keys
    # Plane 1 of 4 is shown: only its 2×2 shards of (1, 512, 512) are touched.
    assert chunk_keys <= {f"c/1/{i}/{j}" for i in range(2) for j in range(2)}, sorted(chunk_keys)
    assert {k for k in keys if not k.startswith("c/")} <= {"zarr.json"}
