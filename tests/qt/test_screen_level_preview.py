"""A plane larger than a screen is shown at a screen-sized level first (issue 19): napari
gets on-the-fly lower resolutions, so what it reads at full resolution and uploads as a
texture is the region shown when zoomed in, never the whole 4096² plane when zoomed out."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from polystore_gui.model import lazy
from polystore_gui.model.contrast import SAMPLE_EDGE

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def _unit(key) -> bool:
    return all(s.step in (None, 1) for s in key if isinstance(s, slice))


def _pixels(key) -> int:
    return int(np.prod([len(range(*s.indices(4096))) for s in key if isinstance(s, slice)]))


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 900, 700, start=True) as panel:
        yield panel


def _big_plane(tmp_path) -> np.ndarray:
    """A 3 x 4096² zarr array at ``tmp_path/big.zarr``, its middle plane written; that plane."""
    a = zarr.create_array(tmp_path / "big.zarr", shape=(3, 4096, 4096), chunks=(1, 512, 512), dtype="u2", fill_value=0)
    plane = (np.arange(4096 * 4096, dtype=np.uint32) % 4099).astype("u2").reshape(4096, 4096)
    a[1] = plane
    return plane


def _preview_shown(qtbot, panel, tmp_path):
    """The big array previewed; its layer, once its first slice is in."""
    with qtbot.waitSignal(panel.previewShown, timeout=60_000):
        panel.request("zarr", str(tmp_path / "big.zarr"))
    (layer,) = panel.shown_layers
    qtbot.waitUntil(lambda: layer.loaded and layer._slice is not None and layer._slice.image.raw.size > 1,
                    timeout=60_000)
    return layer


def test_a_large_plane_is_shown_at_a_screen_sized_level_first(qtbot, panel, tmp_path, monkeypatch):
    plane = _big_plane(tmp_path)
    reads = []  # (plane axes' steps, rows, cols) of every read of the full-resolution array
    real = lazy.SafeArray.__getitem__

    def spy(self, key):
        full = lazy._full_key(key, self.ndim)
        if len(full) == 3 and isinstance(full[0], (int, np.integer)):
            reads.append(tuple(full[1:]))
        return real(self, key)

    monkeypatch.setattr(lazy.SafeArray, "__getitem__", spy)
    layer = _preview_shown(qtbot, panel, tmp_path)
    canvas = panel.viewer.qt_viewer.canvas.native
    shown = layer._slice.image.raw.shape
    assert layer.multiscale and layer.data_level > 0
    assert max(shown) <= 2 * max(canvas.width(), canvas.height()) < 4096  # a screen's worth, not the plane
    step = 2 ** layer.data_level
    np.testing.assert_array_equal(layer._slice.image.raw, plane[::step, ::step])
    # Read at full resolution: only the preview's contrast sample (a centred 512² crop).
    assert reads and max(_pixels(key) for key in reads if _unit(key)) <= SAMPLE_EDGE ** 2
    assert "shown every 2nd, 4th" in panel.status.text()

    reads.clear()
    panel.viewer.viewer.scene.camera.zoom *= 32  # zoomed in: the full resolution, only the region shown
    qtbot.waitUntil(lambda: layer.data_level == 0 and layer.loaded and max(layer._slice.image.raw.shape) < 4096,
                    timeout=60_000)
    assert any(_unit(key) for key in reads)
    corner = layer.corner_pixels
    rows, cols = (slice(int(corner[0, d]), int(corner[1, d]) + 1) for d in (1, 2))
    np.testing.assert_array_equal(layer._slice.image.raw, plane[rows, cols])


def test_zoomed_into_a_level_kept_whole_the_texture_is_the_region_shown(qtbot, panel, tmp_path):
    # A level read whole once (every 2nd pixel of a 4096² plane, 2048²) costs nothing to
    # slice again, but its texture is uploaded on the GUI thread: zoomed in so that part of
    # it shows, napari gets the region shown (in tiles), not the whole level plane.
    plane = _big_plane(tmp_path)
    layer = _preview_shown(qtbot, panel, tmp_path)
    assert layer.data_level > 1
    camera = panel.viewer.viewer.scene.camera
    # one screen pixel for 3 of the plane: napari's level is the coarsest with more pixels
    # than the canvas, here every 2nd pixel (1.5 of the level's per screen pixel)
    camera.center = (2048.0, 2048.0)
    camera.zoom = 1 / 3
    qtbot.waitUntil(lambda: layer.data_level == 1 and layer.loaded, timeout=60_000)
    raw = layer._slice.image.raw
    assert raw.shape[0] < 2048 or raw.shape[1] < 2048, raw.shape  # a region, not the whole level
    corner = layer.corner_pixels
    rows, cols = (slice(2 * int(corner[0, d]), 2 * (int(corner[1, d]) + 1), 2) for d in (1, 2))
    np.testing.assert_array_equal(raw, plane[rows, cols])
