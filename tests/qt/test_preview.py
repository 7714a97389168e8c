"""Previews in the embedded napari viewer (needs a real X server with GL: run under Xvfb)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import zarr
from polystore_gui.model import lazy

from ..fakes import CountingStore, OpaqueArray
from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 800, 700, start=True) as panel:
        yield panel


def show(qtbot, panel, backend, path, timeout=30_000):
    with qtbot.waitSignal(panel.previewShown, timeout=timeout) as blocker:
        panel.request(backend, str(path))
    return blocker.args[0]


def test_zarr_array_opens_lazily_with_explicit_contrast(qtbot, panel, demo_dir):
    preview = show(qtbot, panel, "zarr", demo_dir / "stores" / "experiment.zarr" / "plain")
    (layer,) = panel.viewer.viewer.layers
    assert layer.data.shape == (16, 512, 512)
    assert isinstance(layer.data, lazy.SafeArray) and isinstance(layer.data.array, zarr.Array)  # never materialised
    lo, hi = layer.contrast_limits
    assert 0 <= lo < hi <= 65535
    assert panel.viewer.viewer.dims.current_step[0] == 7
    assert panel.stack.currentWidget() is panel.viewer
    assert panel.metadata.rows()["chunks"] == "1 × 256 × 256"
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


@pytest.fixture
def counted_keys():
    """Every zarr store the preview opens is wrapped; yields a function listing the keys read."""
    stores = []

    def wrap(store):
        counting = CountingStore(store)
        stores.append(counting)
        return counting

    lazy.set_store_wrapper(wrap)
    yield lambda: [k for s in stores for k in s.keys]
    lazy.set_store_wrapper(None)


def test_only_the_shown_planes_chunks_are_read(qtbot, panel, demo_dir, counted_keys):
    """The read bound: metadata plus the chunks of the one plane on screen, nothing else."""
    show(qtbot, panel, "zarr", demo_dir / "stores" / "experiment.zarr" / "sharded")
    layer = panel.viewer.viewer.layers[0]
    qtbot.waitUntil(lambda: layer.loaded, timeout=30_000)
    keys = counted_keys()
    chunk_keys = {k for k in keys if k.startswith("c/")}
    assert chunk_keys, keys
    # Plane 1 of 4 is shown: only its 2×2 shards of (1, 512, 512) are touched.
    assert chunk_keys <= {f"c/1/{i}/{j}" for i in range(2) for j in range(2)}, sorted(chunk_keys)
    assert {k for k in keys if not k.startswith("c/")} <= {"zarr.json"}


# -- bad input in the pane -------------------------------------------------------------------


def fail(qtbot, panel, backend, path, timeout=30_000):
    with qtbot.waitSignal(panel.previewFailed, timeout=timeout) as blocker:
        panel.request(backend, str(path))
    return blocker.args[0]


def test_damaged_array_shows_with_its_problems_named(qtbot, panel, tmp_path):
    a = zarr.create_array(str(tmp_path / "arr"), shape=(3, 64, 64), chunks=(1, 32, 32), dtype="uint16", fill_value=7)
    a[:] = 100
    os.remove(tmp_path / "arr" / "c" / "1" / "0" / "0")
    (tmp_path / "arr" / "c" / "1" / "1" / "1").write_bytes(b"garbage")
    (tmp_path / "arr" / "c" / "2" / "0" / "1").write_bytes(b"garbage too")
    show(qtbot, panel, "zarr", tmp_path / "arr")
    assert "1 of 4 chunks of this plane missing" in panel.status.text()
    assert "chunk (1, 1, 1) could not be read" in panel.status.text()
    assert panel.stack.currentWidget() is panel.viewer
    # Moving to a plane with another bad chunk reports it too, and nothing crashes.
    viewer = panel.viewer.viewer
    viewer.dims.current_step = (2, 0, 0)
    qtbot.waitUntil(lambda: "chunk (2, 0, 1)" in panel.status.text(), timeout=20_000)


def test_corrupt_metadata_and_fake_tiff_say_what_is_wrong(qtbot, panel, tmp_path):
    bad = tmp_path / "bad.zarr"
    bad.mkdir()
    (bad / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array", "shape": [')
    show(qtbot, panel, "zarr", bad)
    assert panel.stack.currentWidget() is panel.message
    assert "corrupt zarr metadata" in panel.message.text()
    fake = tmp_path / "fake.tif"
    fake.write_bytes(b"not a tiff" * 20)
    show(qtbot, panel, "disk", fake)
    assert "cannot read fake.tif" in panel.message.text()


def test_structured_and_one_d_arrays_fall_back_to_a_table(qtbot, panel, tmp_path):
    zarr.create_array(str(tmp_path / "rec"), shape=(4,), chunks=(4,), dtype=[("x", "<f4"), ("n", "<i2")], zarr_format=2)
    show(qtbot, panel, "zarr", tmp_path / "rec")
    assert panel.stack.currentWidget() is panel.table
    assert [panel.table.horizontalHeaderItem(i).text() for i in range(3)] == ["index", "x", "n"]
    assert "shown as a table" in panel.status.text()
    zarr.create_array(str(tmp_path / "empty"), shape=(0, 3), chunks=(1, 3), dtype="u1")
    show(qtbot, panel, "zarr", tmp_path / "empty")
    assert panel.stack.currentWidget() is panel.message and "empty" in panel.message.text()


def test_a_file_removed_while_previewed(qtbot, panel, tmp_path):
    a = zarr.create_array(str(tmp_path / "arr"), shape=(4, 32, 32), chunks=(1, 32, 32), dtype="uint8")
    a[:] = 5
    show(qtbot, panel, "zarr", tmp_path / "arr")
    shutil.rmtree(tmp_path / "arr")
    panel.viewer.viewer.dims.current_step = (0, 0, 0)  # napari reads again: no crash
    qtbot.waitUntil(lambda: panel.viewer.viewer.layers[0].loaded, timeout=20_000)
    show(qtbot, panel, "zarr", tmp_path / "arr")
    assert "No longer exists" in panel.message.text()


def test_the_size_guard_asks_before_materialising(qtbot, panel, monkeypatch):
    from qtpy.QtWidgets import QMessageBox

    from polystore_gui.model.listing import memory_backend

    memory_backend().ensure_directory("/guard_test")
    memory_backend().save(OpaqueArray((1024, 1024)), "/guard_test/opaque")
    panel.size_limit = 1 << 20
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    text = fail(qtbot, panel, "memory", "/guard_test/opaque")
    assert len(asked) == 1 and "would read 2.0 MiB into memory (the limit is 1.0 MiB)" in asked[0]
    assert text.startswith("Not shown")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("memory", "/guard_test/opaque")
    assert panel.viewer.viewer.layers[0].data.shape == (1024, 1024)


def test_loading_indicator_shows_while_reading(qtbot, panel, demo_dir):
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        assert panel.busy.isVisible()
    assert not panel.busy.isVisible()


def test_ome_pyramid_reads_only_the_shown_plane(qtbot, panel, demo_dir, counted_keys):
    """Channels are split lazily: napari's own split would read every z of a channel."""
    show(qtbot, panel, "ome_zarr", demo_dir / "stores" / "experiment.zarr" / "image")
    layers = list(panel.viewer.viewer.layers)
    qtbot.waitUntil(lambda: all(layer.loaded for layer in layers), timeout=30_000)
    chunk_keys = {k for k in counted_keys() if k.startswith("c/")}
    assert chunk_keys
    # (c, z, y, x) keys: the middle of 8 z planes is 3, and no other plane is read.
    assert {k.split("/")[2] for k in chunk_keys} == {"3"}, sorted(chunk_keys)


def test_the_missing_shards_note_follows_the_plane_shown(qtbot, panel, tmp_path):
    """"2 of 4 shards of this plane missing" is said of the plane shown: another plane shown
    says its own count, and a plane with none missing says nothing (issue 19's review: the
    middle plane's count stayed whatever plane was shown)."""
    a = zarr.create_array(str(tmp_path / "arr"), shape=(3, 64, 64), chunks=(1, 16, 16), shards=(1, 32, 32),
                          dtype="uint16", fill_value=7)
    a[0] = 100
    a[1, :32, :] = 100  # the middle plane: 2 of its 4 shards written
    a[2, :32, :32] = 100  # the last: 1 of 4
    show(qtbot, panel, "zarr", tmp_path / "arr")
    assert "2 of 4 shards of this plane missing" in panel.status.text()
    viewer = panel.viewer.viewer
    viewer.dims.current_step = (2, 0, 0)
    qtbot.waitUntil(lambda: "3 of 4 shards of this plane missing" in panel.status.text(), timeout=20_000)
    assert "2 of 4" not in panel.status.text()
    viewer.dims.current_step = (0, 0, 0)
    qtbot.waitUntil(lambda: "of this plane missing" not in panel.status.text(), timeout=20_000)
    viewer.dims.current_step = (1, 0, 0)
    qtbot.waitUntil(lambda: "2 of 4 shards of this plane missing" in panel.status.text(), timeout=20_000)


def test_a_failed_plane_count_leaves_no_other_planes_note_and_counts_the_plane_shown(qtbot, panel, tmp_path,
                                                                                     monkeypatch):
    """A count that fails (the disk gone meanwhile) neither leaves the note of the plane
    shown before in the status line (it is about another plane) nor stops the plane shown
    since from being counted."""
    import threading

    a = zarr.create_array(str(tmp_path / "arr"), shape=(3, 64, 64), chunks=(1, 16, 16), shards=(1, 32, 32),
                          dtype="uint16", fill_value=7)
    a[1, :32, :] = 100  # the middle plane: 2 of its 4 shards written
    a[2, :32, :32] = 100  # the last: 1 of 4
    show(qtbot, panel, "zarr", tmp_path / "arr")
    assert "2 of 4 shards of this plane missing" in panel.status.text()
    counting = lazy.PlaneNote.__call__
    entered, release = threading.Event(), threading.Event()

    def failing_on_the_first_plane(note, point):
        if point == (0,):
            entered.set()
            release.wait(20)
            raise OSError("the disk went away")
        return counting(note, point)

    monkeypatch.setattr(lazy.PlaneNote, "__call__", failing_on_the_first_plane)
    viewer = panel.viewer.viewer
    viewer.dims.current_step = (0, 0, 0)
    qtbot.waitUntil(entered.is_set, timeout=20_000)  # plane 0's count is on its way
    viewer.dims.current_step = (2, 0, 0)  # another plane shown meanwhile
    release.set()  # plane 0's count fails
    qtbot.waitUntil(lambda: "3 of 4 shards of this plane missing" in panel.status.text(), timeout=20_000)
    viewer.dims.current_step = (0, 0, 0)  # its count fails at once now
    qtbot.waitUntil(lambda: "of this plane missing" not in panel.status.text(), timeout=20_000)
