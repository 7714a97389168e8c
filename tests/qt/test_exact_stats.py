"""View → Compute Exact Statistics (issue 18): the shown layers' contrast limits become the
exact range of the whole array; progress and Cancel in the status bar."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from qtpy.QtWidgets import QStatusBar

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def setup(qtbot):
    from polystore_gui.qt.exact_stats import ExactStatistics

    status = QStatusBar()
    qtbot.addWidget(status)
    made = []

    def with_statistics(panel, workers):
        made.append(ExactStatistics(workers, panel, status))
        status.addPermanentWidget(made[0].widget)

    with preview_panel(qtbot, 800, 700, start=True, before_show=with_statistics) as panel:
        yield panel, made[0], status


def _show(qtbot, panel, path):
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(path))


def test_a_sparse_array_gets_its_exact_range(qtbot, setup, tmp_path):
    """Only the first plane holds data: the middle plane the preview samples is empty."""
    panel, stats, status = setup
    a = zarr.create_array(tmp_path / "sparse.zarr", shape=(9, 64, 64), chunks=(1, 32, 32), dtype="u2", fill_value=0)
    a[0] = np.arange(64 * 64, dtype="u2").reshape(64, 64) + 100
    _show(qtbot, panel, tmp_path / "sparse.zarr")
    (layer,) = panel.shown_layers
    assert tuple(layer.contrast_limits) != (0.0, 4195.0)
    with qtbot.waitSignal(stats.finished, timeout=60_000) as done:
        stats.start()
    assert done.args[0]["stats"]["max"] == 4195
    assert tuple(layer.contrast_limits) == (0.0, 4195.0)
    assert "contrast limits set to [0, 4195]" in status.currentMessage()
    assert "32 of 36 chunks missing" in status.currentMessage()
    assert stats.widget.isHidden()


def test_per_channel_limits_for_an_ome_image(qtbot, setup, tmp_path):
    from ome_zarr.writer import write_image

    panel, stats, _status = setup
    data = np.zeros((2, 5, 32, 32), "u2")
    data[0, 0] = 7
    data[1, 4, 3, 3] = 900
    write_image(data, zarr.open_group(tmp_path / "img.zarr", mode="w"), axes="czyx", scale_factors=[])
    _show(qtbot, panel, tmp_path / "img.zarr")
    images = [layer for layer in panel.shown_layers if type(layer).__name__ == "Image"]
    assert len(images) == 2
    with qtbot.waitSignal(stats.finished, timeout=60_000):
        stats.start()
    assert [tuple(layer.contrast_limits) for layer in images] == [(0.0, 7.0), (0.0, 900.0)]


def test_cancel_from_the_status_bar(qtbot, setup, tmp_path):
    panel, stats, status = setup
    zarr.create_array(tmp_path / "big.zarr", shape=(3000, 32, 32), chunks=(1, 16, 16), dtype="u1", fill_value=3)
    _show(qtbot, panel, tmp_path / "big.zarr")
    limits = tuple(panel.shown_layers[0].contrast_limits)
    with qtbot.waitSignal(stats.progressed, timeout=60_000):
        stats.start()
    assert not stats.widget.isHidden()
    with qtbot.waitSignal(stats.finished, timeout=60_000) as done:
        stats.cancel_button.click()
    assert done.args[0] is None
    assert status.currentMessage() == "Exact statistics cancelled."
    assert tuple(panel.shown_layers[0].contrast_limits) == limits
    assert not stats.running and stats.widget.isHidden()


def test_nothing_shown_says_so(qtbot, setup):
    _panel, stats, status = setup
    stats.start()
    assert "select an array" in status.currentMessage()
    assert not stats.running


def test_the_window_offers_the_action_in_the_view_menu(make_window, tmp_path):
    window = make_window([tmp_path])
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.exact_stats_action in view.actions()


def test_quitting_stops_a_running_computation(qtbot, make_window, tmp_path):
    """The window's shutdown cancels the job between chunks (it ran on to the last chunk
    of the array, holding the exit, before)."""
    from polystore_gui.model.whole_array import Cancelled
    from polystore_gui.qt.exact_stats import exact_statistics

    zarr.create_array(tmp_path / "big.zarr", shape=(20000, 32, 32), chunks=(1, 16, 16), dtype="u1", fill_value=3)
    window = make_window([tmp_path])
    stats = window.exact_stats
    outcome = []

    def job(progress, cancelled):  # the menu action's job, its outcome kept on the worker thread
        try:
            outcome.append(exact_statistics("zarr", str(tmp_path / "big.zarr"), progress, cancelled))
        except Cancelled as exc:
            outcome.append(exc)

    with qtbot.waitSignal(stats.progressed, timeout=60_000):
        window.workers.start(job, pass_cancel=True, on_progress=stats.progressed.emit)
    window.shutdown(timeout_ms=60_000)
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)


def test_the_scheduler_setting_is_used_and_checked(qtbot, setup, tmp_path):
    """With a scheduler set (View → Dask Scheduler…), the job goes there: an address where
    no scheduler answers fails with a sentence, and the limits stay."""
    import socket

    from qtpy.QtCore import QSettings

    from polystore_gui.qt.exact_stats import SCHEDULER_KEY

    panel, stats, status = setup
    assert "not a dask.distributed address" in stats.set_scheduler("localhost:8786")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        assert stats.set_scheduler(f"tcp://127.0.0.1:{port}") is None
        assert stats.scheduler == f"tcp://127.0.0.1:{port}"
        stats.connect_timeout = 1.0
        zarr.create_array(tmp_path / "a.zarr", shape=(4, 16, 16), chunks=(1, 8, 8), dtype="u1", fill_value=2)
        _show(qtbot, panel, tmp_path / "a.zarr")
        with qtbot.waitSignal(stats.finished, timeout=60_000) as done:
            stats.start()
        assert done.args[0] is None
        assert f"cannot reach the dask scheduler at tcp://127.0.0.1:{port}" in status.currentMessage()
    finally:
        from polystore_gui.qt import settings_writes

        assert settings_writes.flush()  # the writer's write lands before the key is removed
        QSettings().remove(SCHEDULER_KEY)
    assert stats.scheduler is None


def test_napari_histogram_switches_to_the_exact_one(qtbot, setup, tmp_path):
    """The histogram beside the canvas becomes the whole array's (issue 18), and stays so
    when the slider moves (it no longer describes one plane)."""
    panel, stats, _status = setup
    a = zarr.create_array(tmp_path / "sparse.zarr", shape=(9, 64, 64), chunks=(1, 32, 32), dtype="u2", fill_value=0)
    a[0] = np.arange(64 * 64, dtype="u2").reshape(64, 64) + 100
    _show(qtbot, panel, tmp_path / "sparse.zarr")
    (layer,) = panel.shown_layers
    histogram = layer.histogram
    with qtbot.waitSignal(stats.finished, timeout=60_000) as done:
        stats.start()
    exact = done.args[0]["stats"]["histogram"]
    assert histogram.exact and histogram.mode == "full"
    np.testing.assert_array_equal(histogram._counts, np.asarray(exact["counts"], np.float32))
    np.testing.assert_allclose(histogram._bin_edges, exact["edges"])
    assert histogram._counts.sum() == 9 * 64 * 64  # every element, the missing chunks' fill value too
    from qtpy.QtCore import QSettings

    from polystore_gui.qt.napari_view import HISTOGRAM_KEY

    try:
        histogram.enabled = True  # the user shows it (napari's histogram button)
        viewer = panel.viewer.viewer
        viewer.dims.current_step = (0, *viewer.dims.current_step[1:])
        qtbot.waitUntil(lambda: layer.loaded, timeout=30_000)
        assert histogram.mode == "full" and not histogram._dirty
        np.testing.assert_array_equal(histogram._counts, np.asarray(exact["counts"], np.float32))
    finally:
        from polystore_gui.qt import settings_writes

        assert settings_writes.flush()  # the writer's write lands before the key is removed
        QSettings().remove(HISTOGRAM_KEY)
    assert stats.widget.isHidden()  # not an OME image: nothing to save


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_the_display_window_is_saved_in_the_ome_metadata_and_read_back(qtbot, setup, tmp_path, version):
    import json

    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    panel, stats, status = setup
    data = np.zeros((2, 5, 32, 32), "u2")
    data[0, 0] = 7
    data[1, 4, 3, 3] = 900
    group = zarr.open_group(tmp_path / "img.zarr", mode="w", zarr_format=2 if version == "0.4" else 3)
    write_image(data, group, axes="czyx", scale_factors=[], fmt=FormatV04() if version == "0.4" else FormatV05())
    _show(qtbot, panel, tmp_path / "img.zarr")
    with qtbot.waitSignal(stats.finished, timeout=60_000):
        stats.start()
    assert not stats.widget.isHidden() and not stats.save_button.isHidden() and stats.bar.isHidden()
    images = [layer for layer in panel.shown_layers if type(layer).__name__ == "Image"]
    images[1].contrast_limits = (0.0, 450.0)  # the user narrows channel 1 before saving
    with qtbot.waitSignal(panel.previewShown, timeout=60_000) as shown:  # saved, then read back
        stats.save_button.click()
    assert "Display window saved in" in status.currentMessage()
    assert stats.save_button.isHidden() and stats.widget.isHidden()
    document = tmp_path / "img.zarr" / (".zattrs" if version == "0.4" else "zarr.json")
    doc = json.loads(document.read_text())
    omero = doc["omero"] if version == "0.4" else doc["attributes"]["ome"]["omero"]
    assert [c["window"] for c in omero["channels"]] == [{"start": 0, "end": 7, "min": 0, "max": 7},
                                                      {"start": 0, "end": 450, "min": 0, "max": 900}]
    assert "contrast from omero.window" in shown.args[0].notes
    images = [layer for layer in panel.shown_layers if type(layer).__name__ == "Image"]
    assert [tuple(layer.contrast_limits) for layer in images] == [(0.0, 7.0), (0.0, 450.0)]
    assert all(layer.histogram.exact for layer in images)  # the exact histograms stay with the array


def test_a_window_that_cannot_be_saved_says_why(qtbot, setup, tmp_path, monkeypatch):
    from ome_zarr.writer import write_image

    from polystore_gui.model import display_window

    panel, stats, status = setup
    write_image(np.ones((2, 8, 8), "u1"), zarr.open_group(tmp_path / "img.zarr", mode="w"), axes="cyx",
                scale_factors=[])
    _show(qtbot, panel, tmp_path / "img.zarr")
    with qtbot.waitSignal(stats.finished, timeout=60_000):
        stats.start()

    def refuse(document, doc):
        raise display_window.DisplayWindowError(f"cannot write {document}: Read-only file system")

    monkeypatch.setattr(display_window, "_write_atomically", refuse)
    stats.save_button.click()
    qtbot.waitUntil(lambda: "Display window not saved" in status.currentMessage(), timeout=30_000)
    assert "Read-only file system" in status.currentMessage()
    assert not stats.save_button.isHidden() and stats.save_button.isEnabled()  # the user may try again


def test_progress_paints_later_not_inside_each_step(qtbot, setup, tmp_path, monkeypatch):
    """Each progress step of the exact statistics changes the status bar's progress bar; none
    is painted inside the step (with napari's canvas in the window a synchronous paint
    composes the whole window: qt/painted_later.py), and the bar is painted by the event loop."""
    from .helpers import PaintCounter

    panel, stats, status = setup
    status.show()
    a = zarr.create_array(tmp_path / "steps.zarr", shape=(9, 64, 64), chunks=(1, 32, 32), dtype="u2", fill_value=0)
    a[:] = 7
    _show(qtbot, panel, tmp_path / "steps.zarr")
    paints = PaintCounter([stats.bar])
    inside: list[int] = []
    cls = type(stats)
    real = cls._on_job_progressed

    def counted(self, *args):
        before = paints.count
        real(self, *args)
        inside.append(paints.count - before)

    # Patched on the class: a closure over the widget connected to its own signal made a
    # reference cycle that Python's collector could end on a worker thread.
    monkeypatch.setattr(cls, "_on_job_progressed", counted)
    stats.progressed.disconnect()
    stats.progressed.connect(stats._on_job_progressed)
    stats.widget.show()
    for done in range(0, 36, 4):  # as the worker reports them
        stats.progressed.emit("reading", done, 36)
    qtbot.waitUntil(lambda: paints.count > 0, timeout=5_000)
    assert inside and all(n == 0 for n in inside), f"paints inside the progress steps: {inside}"
    assert stats.bar.value() == 32 and stats.bar.maximum() == 36


def test_a_tiff_is_not_said_to_have_missing_chunks(qtbot, setup, demo_dir):
    """A TIFF's planes are never missing, and it has no fill value: the status bar gives the
    figures without "0 of 24 chunks missing (fill value)" (a zarr notion; seen on the demo's
    z_stack.tif in session 12's trial)."""
    panel, stats, status = setup
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("disk", str(demo_dir / "images" / "z_stack.tif"))
    with qtbot.waitSignal(stats.finished, timeout=60_000):
        stats.start()
    message = status.currentMessage()
    assert message.startswith("Exact statistics: min ") and "contrast limits set to" in message
    assert "missing" not in message and "fill value" not in message
