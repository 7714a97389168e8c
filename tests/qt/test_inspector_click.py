"""What a chunk clicked in the inspector costs the viewer: reads and draws (issue 19).

A chunk clicked on another plane brings that plane into view: napari's slice reads it
(through zarr, on its own threads, while the GUI thread waits for the interpreter lock),
and the overlay draws that plane's raster, built in a worker, with the chunk's outline,
in one draw, its layer left as it was meanwhile. A chunk clicked on the plane shown reads nothing of the image again. Needs GL.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from .helpers import inspect_and_show, overlay_settled

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


class Reads:
    """Counts the reads of the previewed zarr array's planes (any thread), by plane index."""

    def __init__(self, monkeypatch):
        from polystore_gui.model.lazy_views import SafeArray

        self.planes: list[object] = []
        self._lock = threading.Lock()
        real = SafeArray.__getitem__

        def counted(array, key):
            with self._lock:
                self.planes.append(key[0] if isinstance(key, tuple) and key else key)
            return real(array, key)

        monkeypatch.setattr(SafeArray, "__getitem__", counted)


def settle(qtbot, window):
    """napari's slicing done and the overlay drawn."""
    pane = window.preview.viewer
    overlay_settled(qtbot, window)
    pane.viewer._layer_slicer.wait_until_idle(timeout=10)
    qtbot.wait(0)  # the slices' results delivered
    overlay_settled(qtbot, window)


def test_a_chunk_clicked_on_the_plane_shown_reads_nothing_of_the_image_again(qtbot, viewer_window, demo_dir,
                                                                             monkeypatch):
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "plain")
    inspector = viewer_window.inspector
    reads = Reads(monkeypatch)
    z = viewer.dims.current_step[0]
    other = (z + 1) % inspector.report.state.shape[0]
    with qtbot.waitSignal(inspector.detailShown, timeout=10_000):
        inspector.select_chunk((other, 0, 0))
    settle(qtbot, viewer_window)
    assert viewer.dims.current_step[0] == other
    assert reads.planes, "the chunk's plane was never read: the test sees no reads"
    reads.planes.clear()
    for chunk in ((other, 0, 1), (other, 1, 0), (other, 1, 1)):
        with qtbot.waitSignal(inspector.detailShown, timeout=10_000):
            inspector.select_chunk(chunk)
        settle(qtbot, viewer_window)
    assert reads.planes == []


def _sharded_overlay(qtbot, viewer_window, demo_dir, monkeypatch, raster):
    """The demo's sharded array inspected with the overlay's rasters built by ``raster``,
    once its overlay has settled: (viewer, overlay, inspector, the overlay's layer)."""
    import polystore_gui.qt.chunk_overlay as chunk_overlay

    monkeypatch.setattr(chunk_overlay, "overlay_raster", raster)
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    overlay_settled(qtbot, viewer_window)
    return viewer, overlay, inspector, overlay._layer("chunk overlay")


def test_a_chunk_clicked_on_another_plane_is_drawn_once_with_its_planes_raster(qtbot, viewer_window, demo_dir,
                                                                              monkeypatch):
    """While the new plane's raster is built the overlay's layer is left as it was, the last
    plane's raster shown and not written (an outline drawn alone over a blank raster first,
    or the layer hidden and shown again, was more GUI work in the click's turns); then the
    raster and the outline show in one draw."""
    from polystore_gui.model.chunk_raster import overlay_raster, with_outline

    gate = threading.Event()
    gate.set()

    def held(*args, **kwargs):
        assert gate.wait(20), "the test never opened the gate"
        return overlay_raster(*args, **kwargs)

    viewer, overlay, inspector, layer = _sharded_overlay(qtbot, viewer_window, demo_dir, monkeypatch, held)
    before = layer.data.copy()
    writes: list[int] = []
    real_refresh = layer.refresh
    monkeypatch.setattr(layer, "refresh", lambda *a, **k: writes.append(1) or real_refresh(*a, **k))
    z = viewer.dims.current_step[0]
    other = (z + 1) % inspector.report.state.shape[0]
    gate.clear()
    with qtbot.waitSignal(inspector.detailShown, timeout=10_000):
        inspector.select_chunk((other, 1, 2))
    assert viewer.dims.current_step[0] == other and overlay._building
    assert layer.visible and np.array_equal(layer.data, before) and writes == []
    with qtbot.waitSignal(overlay.rasterBuilt, timeout=20_000):
        gate.set()
    overlay_settled(qtbot, viewer_window)
    report = inspector.report
    expected = with_outline(overlay_raster(report.state[other], report.stored[other], report.heat_span(),
                                           overlay._raster, grid=inspector.grid_check.isChecked(), shards=(4, 4)),
                            overlay._raster, (1, 2))
    assert layer.visible and np.array_equal(layer.data, expected)
    assert writes == [1]  # one draw


def test_a_planes_raster_that_fails_leaves_no_other_planes_raster_shown(qtbot, viewer_window, demo_dir, monkeypatch):
    """The last plane's raster is kept only while the new plane's is on its way: when that
    one fails (logged) and nothing newer is wanted, the overlay hides rather than show the
    last plane's chunks over this plane."""
    from polystore_gui.model.chunk_raster import overlay_raster

    failing: list[bool] = []

    def maybe_failing(*args, **kwargs):
        if failing:
            raise MemoryError("no room for the raster")
        return overlay_raster(*args, **kwargs)

    viewer, overlay, inspector, layer = _sharded_overlay(qtbot, viewer_window, demo_dir, monkeypatch, maybe_failing)
    assert layer.visible
    failing.append(True)
    z = viewer.dims.current_step[0]
    viewer.dims.set_current_step(0, (z + 1) % inspector.report.state.shape[0])
    overlay_settled(qtbot, viewer_window)
    assert not layer.visible
