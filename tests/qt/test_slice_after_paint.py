"""Pan and zoom on a plane larger than a screen (issue 19): napari picks the level and region
in the canvas's paint, and the slice they need is asked for after that frame, in a turn of its
own (``qt/slice_after_paint.py``), never inside the paint; a move within the level and region
loaded asks for nothing; the frame drawn once the slice is in shows the region."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from polystore_gui.qt.later import next_turn

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 900, 700, start=True) as panel:
        yield panel


class _Watch:
    """The canvas's paints, counted, and each slice request: whether a paint was running."""

    def __init__(self, monkeypatch, pane, layer) -> None:
        self.painting = False
        self.paints = 0
        self.paints_at_slice = -1  # paints done when the last slice arrived
        layer.events.set_data.connect(lambda _e=None: setattr(self, "paints_at_slice", self.paints))
        self.requests: list[bool] = []  # per slice request: made inside a paint
        native = pane.qt_viewer.canvas.native
        paint = type(native).paintGL

        def paint_gl(widget, *args):
            self.painting = True
            try:
                return paint(widget, *args)
            finally:
                self.painting = False
                self.paints += 1

        monkeypatch.setattr(type(native), "paintGL", paint_gl)
        slicer = pane.viewer._layer_slicer
        submit = slicer.submit

        def spy(*args, **kwargs):
            self.requests.append(self.painting)
            return submit(*args, **kwargs)

        monkeypatch.setattr(slicer, "submit", spy)


def _shown(qtbot, panel, tmp_path):
    """A 3 x 4096² zarr array previewed (its middle plane written); the layer and that plane."""
    a = zarr.create_array(tmp_path / "big.zarr", shape=(3, 4096, 4096), chunks=(1, 512, 512), dtype="u2", fill_value=0)
    plane = (np.arange(4096 * 4096, dtype=np.uint32) % 4099).astype("u2").reshape(4096, 4096)
    a[1] = plane
    with qtbot.waitSignal(panel.previewShown, timeout=60_000):
        panel.request("zarr", str(tmp_path / "big.zarr"))
    (layer,) = panel.shown_layers
    qtbot.waitUntil(lambda: layer.loaded and layer._slice is not None and layer._slice.image.raw.size > 1,
                    timeout=60_000)
    return layer, plane


def _region(layer) -> tuple[slice, slice]:
    corner, step = layer.corner_pixels, 2 ** layer.data_level
    return tuple(slice(step * int(corner[0, d]), step * (int(corner[1, d]) + 1), step) for d in (1, 2))


def _after_queued_turns(qtbot, pane) -> None:
    """Until a turn asked for now has run: the turns asked for before it (a refresh put after
    a paint) have run by then."""
    done: list[int] = []
    next_turn(pane, lambda: done.append(1))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def test_a_zoom_to_another_level_is_sliced_after_the_frame_not_inside_it(qtbot, panel, tmp_path, monkeypatch):
    layer, plane = _shown(qtbot, panel, tmp_path)
    pane = panel.viewer
    watch = _Watch(monkeypatch, pane, layer)
    level = layer.data_level
    assert level > 0
    camera = pane.viewer.scene.camera
    camera.center = (1800.0, 2100.0)
    camera.zoom *= 32  # the full resolution, the region around the centre
    qtbot.waitUntil(lambda: layer.data_level == 0 and layer.loaded and bool(watch.requests), timeout=60_000)
    assert watch.requests and not any(watch.requests)  # asked for, and never from inside a paint
    qtbot.waitUntil(lambda: watch.paints > watch.paints_at_slice >= 0, timeout=10_000)  # a frame with the slice
    raw = layer._slice.image.raw
    assert max(raw.shape) < 4096
    np.testing.assert_array_equal(raw, plane[_region(layer)])
    rows, cols = _region(layer)
    assert rows.start <= 1800 < rows.stop and cols.start <= 2100 < cols.stop  # the region shown


def test_a_pan_within_the_region_loaded_asks_for_no_slice(qtbot, panel, tmp_path, monkeypatch):
    layer, plane = _shown(qtbot, panel, tmp_path)
    pane = panel.viewer
    camera = pane.viewer.scene.camera
    camera.center = (2048.0, 2048.0)
    camera.zoom *= 32
    qtbot.waitUntil(lambda: layer.data_level == 0 and layer.loaded, timeout=60_000)
    _after_queued_turns(qtbot, pane)
    watch = _Watch(monkeypatch, pane, layer)
    painted = watch.paints
    camera.center = (2049.0, 2050.0)  # a pixel or two: inside the chunks loaded
    qtbot.waitUntil(lambda: watch.paints > painted, timeout=10_000)
    _after_queued_turns(qtbot, pane)
    assert watch.requests == []
    assert layer.loaded
    np.testing.assert_array_equal(layer._slice.image.raw, plane[_region(layer)])

    painted = watch.paints
    camera.center = (2048.0 + 1500.0, 2048.0)  # a region beyond the one loaded: one request, after the paint
    qtbot.waitUntil(lambda: watch.paints > painted, timeout=10_000)
    _after_queued_turns(qtbot, pane)
    qtbot.waitUntil(lambda: layer.loaded, timeout=60_000)
    assert watch.requests == [False]
    rows, _cols = _region(layer)
    assert rows.start <= 3548 < rows.stop
    np.testing.assert_array_equal(layer._slice.image.raw, plane[_region(layer)])
