"""What the canvas tells the user (issue 13, items 7 and 8): axis names on the sliders,
the value under the cursor in the status bar, contrast that finds a sparse array's data
and follows the planes the user moves to, without overriding limits the user set, and
channels without colours in the metadata each seen in napari's channel colours.

Needs GL: run under Xvfb.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
import zarr
from qtpy.QtCore import QPoint

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def window(qtbot, make_window, tmp_path):
    window = make_window([tmp_path], show=True)
    window.resize(1400, 900)
    with qtbot.waitSignal(window.preview.viewer.ready, timeout=120_000):
        window.preview.viewer.start()
    return window


def show(qtbot, window, backend, path):
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        window.preview.request(backend, str(path))
    viewer = window.preview.viewer.viewer
    qtbot.waitUntil(lambda: all(layer.loaded for layer in viewer.layers), timeout=30_000)
    return viewer


def slider_names(window):
    """The axis names the dims sliders show (napari's QtDims widget, as the user sees them)."""
    dims = window.preview.viewer.qt_viewer.dims
    return [w.axis_label.text() for w in dims.slider_widgets if w.isVisibleTo(dims)]


def test_sliders_are_named_by_the_datas_axes(qtbot, window, tmp_path):
    tifffile.imwrite(tmp_path / "cyx.tif", np.arange(3 * 64 * 64, dtype=np.uint16).reshape(3, 64, 64),
                     photometric="minisblack", metadata={"axes": "CYX"})
    named = zarr.create_array(str(tmp_path / "named.zarr"), shape=(4, 5, 32, 32), chunks=(1, 1, 32, 32),
                              dtype="uint8", dimension_names=["t", "z", "y", "x"])
    named[:] = np.broadcast_to(np.arange(32, dtype=np.uint8), named.shape)
    plain = zarr.create_array(str(tmp_path / "plain.zarr"), shape=(6, 32, 32), chunks=(1, 32, 32), dtype="uint8")
    plain[:] = np.broadcast_to(np.arange(32, dtype=np.uint8), plain.shape)

    viewer = show(qtbot, window, "disk", tmp_path / "cyx.tif")
    assert tuple(viewer.dims.axis_labels) == ("c", "y", "x")
    assert slider_names(window) == ["c"]
    viewer = show(qtbot, window, "zarr", tmp_path / "named.zarr")
    assert tuple(viewer.dims.axis_labels) == ("t", "z", "y", "x")
    assert slider_names(window) == ["t", "z"]
    # An array with no names gets "axis 0"… (not napari's "-3" for the first axis: a user
    # trial, session 12), not the last array's names.
    viewer = show(qtbot, window, "zarr", tmp_path / "plain.zarr")
    assert tuple(viewer.dims.axis_labels) == ("axis 0", "axis 1", "axis 2")
    assert slider_names(window) == ["axis 0"]
    # An npy file (no names at all) alike.
    np.save(tmp_path / "features.npy", np.zeros((3, 16, 16), np.float32))
    viewer = show(qtbot, window, "disk", tmp_path / "features.npy")
    assert slider_names(window) == ["axis 0"]


def test_an_axis_zarr_leaves_unnamed_is_named_by_its_index(qtbot, window, tmp_path):
    partly = zarr.create_array(str(tmp_path / "partly.zarr"), shape=(2, 3, 16, 16), chunks=(1, 1, 16, 16),
                               dtype="uint8", dimension_names=["t", None, "y", "x"])
    partly[:] = 1
    viewer = show(qtbot, window, "zarr", tmp_path / "partly.zarr")
    assert tuple(viewer.dims.axis_labels) == ("t", "axis 1", "y", "x")
    assert slider_names(window) == ["t", "axis 1"]


def _ramp(path) -> np.ndarray:
    """Three 64x64 planes (z, y, x named), each value telling its plane, row and column."""
    data = (np.arange(64, dtype=np.uint16)[:, None] * 100 + np.arange(64, dtype=np.uint16)[None, :])
    stack = np.stack([data + 10_000 * z for z in range(3)])
    a = zarr.create_array(str(path), shape=stack.shape, chunks=(1, 64, 64), dtype="uint16",
                          dimension_names=["z", "y", "x"])
    a[:] = stack
    return stack


def test_the_value_under_the_cursor_is_in_the_status_bar(qtbot, window, tmp_path):
    stack = _ramp(tmp_path / "ramp.zarr")
    viewer = show(qtbot, window, "zarr", tmp_path / "ramp.zarr")
    canvas = window.preview.viewer.qt_viewer.canvas.native
    label = window.findChild(type(window.cursor_label), "cursorStatus")
    assert label is window.cursor_label
    # A real mouse move over the canvas: napari turns it into viewer.cursor.position.
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 2 - 1, canvas.height() // 2 - 1))
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 2, canvas.height() // 2))
    qtbot.waitUntil(lambda: "value" in label.text(), timeout=10_000)
    z, y, x = (int(np.floor(p + 0.5)) for p in viewer.cursor.position)
    assert z == 1
    assert label.text() == f"ramp.zarr  z {z}  y {y}  x {x}  value {stack[z, y, x]}"
    assert label.isVisible()
    # Outside the image: the position, no value.
    viewer.cursor.position = (1.0, -20.0, -20.0)
    assert "outside the image" in label.text()
    # Another message in the status bar does not hide it (a permanent widget).
    window.statusBar().showMessage("something else")
    viewer.cursor.position = (1.0, 3.0, 4.0)
    assert label.text().endswith(f"value {stack[1, 3, 4]}") and label.isVisible()


@pytest.fixture
def sparse(tmp_path):
    """(40, 128, 128) uint16, fill 0, chunks (1, 64, 64): planes 3 and 30 written only."""
    rng = np.random.default_rng(1)
    a = zarr.create_array(str(tmp_path / "sparse.zarr"), shape=(40, 128, 128), chunks=(1, 64, 64),
                          dtype="uint16", fill_value=0, dimension_names=["z", "y", "x"])
    a[3] = rng.integers(1000, 2001, (128, 128), dtype=np.uint16)
    a[30] = rng.integers(1500, 3001, (128, 128), dtype=np.uint16)
    return tmp_path / "sparse.zarr"


def test_a_sparse_array_opens_with_limits_that_hold_its_data(qtbot, window, sparse):
    viewer = show(qtbot, window, "zarr", sparse)
    (layer,) = viewer.layers
    assert viewer.dims.current_step[0] == 19  # the middle plane: never written
    low, high = layer.contrast_limits
    assert low <= 1000 and high >= 2950, layer.contrast_limits


def test_limits_follow_a_plane_whose_values_fall_outside_them(qtbot, window, tmp_path):
    """The middle plane holds 100-200; plane 0 holds up to 9000: moving there widens the limits."""
    a = zarr.create_array(str(tmp_path / "deep.zarr"), shape=(5, 64, 64), chunks=(1, 64, 64), dtype="uint16")
    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    a[:] = np.broadcast_to((100 + 100 * ramp).astype(np.uint16), a.shape)
    a[0] = (5000 + 4000 * ramp).astype(np.uint16)
    viewer = show(qtbot, window, "zarr", tmp_path / "deep.zarr")
    (layer,) = viewer.layers
    low, high = layer.contrast_limits
    assert high <= 200
    viewer.dims.set_current_step(0, 0)
    qtbot.waitUntil(lambda: layer.contrast_limits[1] >= 8900, timeout=10_000)
    assert layer.contrast_limits[0] <= 100
    # The histogram's range holds them too (the limits are not clipped to the old range).
    assert layer.contrast_limits_range[1] >= layer.contrast_limits[1]


def test_limits_the_user_set_are_never_overridden(qtbot, window, tmp_path):
    a = zarr.create_array(str(tmp_path / "deep.zarr"), shape=(5, 64, 64), chunks=(1, 64, 64), dtype="uint16")
    ramp = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    a[:] = np.broadcast_to((100 + 100 * ramp).astype(np.uint16), a.shape)
    a[0] = (5000 + 4000 * ramp).astype(np.uint16)
    viewer = show(qtbot, window, "zarr", tmp_path / "deep.zarr")
    (layer,) = viewer.layers
    # Through napari's own contrast slider beside the canvas, as a user would.
    controls = window.preview.viewer.qt_viewer.controls.widgets[layer]
    controls._contrast_limits_control.contrast_limits_slider.setValue((120, 150))
    qtbot.waitUntil(lambda: tuple(layer.contrast_limits) == (120, 150), timeout=5_000)
    # Called after every other handler of the slice's data event (the follower's included).
    sliced = []
    layer.events.set_data.connect(lambda _e: sliced.append(viewer.dims.current_step[0]), position="last")
    viewer.dims.set_current_step(0, 0)
    qtbot.waitUntil(lambda: 0 in sliced and layer.loaded, timeout=10_000)
    assert tuple(layer.contrast_limits) == (120, 150)


def test_a_never_written_middle_plane_is_replaced_by_the_first_plane_with_data(qtbot, window, tmp_path):
    """No stored chunk found within the probe: placeholder limits, replaced on the first plane with data."""
    data = np.zeros((40, 64, 64), np.uint16)
    data[39] = np.linspace(300, 700, 64 * 64).reshape(64, 64).astype(np.uint16)
    tifffile.imwrite(tmp_path / "late.tif", data, photometric="minisblack")
    viewer = show(qtbot, window, "disk", tmp_path / "late.tif")
    (layer,) = viewer.layers
    # Spread planes (no chunks to probe in a TIFF) missed plane 39: the limits are a placeholder.
    assert tuple(layer.contrast_limits) == (0.0, 1.0)
    viewer.dims.set_current_step(0, 39)
    qtbot.waitUntil(lambda: layer.contrast_limits[1] >= 690, timeout=10_000)
    assert layer.contrast_limits[0] >= 299  # replaced, not widened from 0


@pytest.fixture
def async_slicing():
    """napari's asynchronous slicing (its experimental setting): a slice's data arrives after
    the step that asked for it, as napari 0.9 does for every layer when it is on."""
    from napari.settings import get_settings

    settings = get_settings().experimental
    before = settings.async_
    settings.async_ = True
    yield
    settings.async_ = before


def test_the_readout_follows_the_plane_when_its_data_arrives(qtbot, window, tmp_path, async_slicing):
    """The cursor rests on the canvas while the slider moves: once the new plane is sliced
    (napari 0.9 signals it with the layer's ``set_data``, never with ``events.loaded``), the
    status bar shows that plane's value and the contrast holds that plane's values."""
    stack = _ramp(tmp_path / "ramp.zarr")
    viewer = show(qtbot, window, "zarr", tmp_path / "ramp.zarr")
    (layer,) = viewer.layers
    canvas = window.preview.viewer.qt_viewer.canvas.native
    label = window.cursor_label
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 2 - 1, canvas.height() // 2 - 1))
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 2, canvas.height() // 2))
    qtbot.waitUntil(lambda: "value" in label.text(), timeout=10_000)
    _, y, x = (int(np.floor(p + 0.5)) for p in viewer.cursor.position)
    assert label.text().endswith(f"value {stack[1, y, x]}")
    viewer.dims.set_current_step(0, 2)  # the mouse does not move
    qtbot.waitUntil(lambda: label.text() == f"ramp.zarr  z 2  y {y}  x {x}  value {stack[2, y, x]}",
                    timeout=10_000)
    qtbot.waitUntil(lambda: layer.contrast_limits[1] >= stack[2].max() * 0.99, timeout=10_000)


def test_limits_stay_while_the_camera_moves_on_the_same_plane(qtbot, window, tmp_path):
    """A large plane is shown at a screen-sized level first; zooming in, napari slices the
    full resolution of the region shown. The limits follow the planes the slider moves to,
    not the camera: zooming into the same plane leaves them as they are (its range was
    looked at when the plane was first shown; issue 19: no pass over the slice's values at
    every pan and zoom), even where the finer level holds values the coarse one skipped."""
    a = zarr.create_array(str(tmp_path / "big.zarr"), shape=(3, 2048, 2048), chunks=(1, 512, 512), dtype="uint16")
    y, x = np.mgrid[:2048, :2048]
    plane = (100 + (x + y) % 100).astype(np.uint16)
    # A small bright block near a corner, on odd columns only: no level made by striding
    # the plane sees it, and too few pixels (0.1 %) for the first sample's 99.8th percentile.
    plane[96:160, 97:225:2] = 9000
    a[:] = np.broadcast_to(plane, a.shape)
    viewer = show(qtbot, window, "zarr", tmp_path / "big.zarr")
    (layer,) = viewer.layers
    assert layer.multiscale and layer.data_level > 0  # shown at a screen-sized level
    limits = tuple(layer.contrast_limits)
    assert limits[1] < 9000  # precondition: the first look did not see the odd columns
    sliced = []
    layer.events.set_data.connect(lambda _e: sliced.append(layer.data_level), position="last")
    viewer.scene.camera.center = (0, 128, 160)
    viewer.scene.camera.zoom = 50  # a few screen pixels a data pixel: the full resolution
    qtbot.waitUntil(lambda: 0 in sliced and layer.loaded, timeout=20_000)
    assert layer.data_level == 0
    assert tuple(layer.contrast_limits) == limits


def test_the_readout_of_an_array_without_axis_names_is_a_position_not_negative_numbers(qtbot, window, tmp_path):
    """napari names unnamed axes -3, -2, -1: "-3 1  -2 3  -1 4" read as negative numbers."""
    stack = np.arange(3 * 8 * 8, dtype=np.uint16).reshape(3, 8, 8)
    zarr.create_array(str(tmp_path / "plain.zarr"), shape=stack.shape, chunks=(1, 8, 8), dtype="uint16")[:] = stack
    viewer = show(qtbot, window, "zarr", tmp_path / "plain.zarr")
    label = window.cursor_label
    viewer.mouse_over_canvas = True
    viewer.cursor.position = (1.0, 3.0, 4.0)
    assert label.text() == f"plain.zarr  [1, 3, 4]  value {stack[1, 3, 4]}"
    viewer.cursor.position = (1.0, -20.0, 4.0)
    assert label.text() == "plain.zarr  [1, -20, 4]  (outside the image)"


def _ome_image_without_colours(path, channels: int) -> None:
    """An OME-Zarr 0.5 image (c, y, x) with no ``omero`` block: no channel colours."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 1.0]}]}],
    }]}
    data = np.zeros((channels, 64, 64), np.uint16)
    for c in range(channels):
        data[c, :, c * 8:c * 8 + 8] = 1000 * (c + 1)
    group.create_array("0", data=data, chunks=(1, 64, 64))


@pytest.mark.parametrize("channels, colours", [(2, ["magenta", "green"]),
                                               (3, ["cyan", "magenta", "yellow"])])
def test_channels_without_colours_are_each_seen(qtbot, window, tmp_path, channels, colours):
    """Channels the metadata gives no colours are each seen, in napari's own colours for a
    channel axis, blended additively (grey layers, one over the other, showed only the top one)."""
    _ome_image_without_colours(tmp_path / "two.ome.zarr", channels)
    layers = list(show(qtbot, window, "ome_zarr", tmp_path / "two.ome.zarr").layers)
    assert [layer.colormap.name for layer in layers] == colours
    # The first drawn over the canvas's background, every other one added onto it.
    assert [str(layer.blending) for layer in layers] == ["translucent_no_depth"] + ["additive"] * (channels - 1)


def test_moving_over_a_plane_never_written_asks_for_no_percentiles(qtbot, window, tmp_path, monkeypatch):
    """A plane never written is one value throughout: no limits to learn from it, and each new
    slice of it (another level or region as the camera moves) is found flat by a min and a max,
    not by a percentile pass on the GUI thread (issue 19: a pass at every pan and zoom). The
    limits stay the preview's."""
    from polystore_gui.model import contrast

    a = zarr.create_array(str(tmp_path / "sparse.zarr"), shape=(3, 2048, 2048), chunks=(1, 512, 512),
                          dtype="uint16", fill_value=0)
    a[0] = (np.arange(2048 * 2048) % 1000).astype(np.uint16).reshape(2048, 2048)  # the middle plane (1) never written
    viewer = show(qtbot, window, "zarr", tmp_path / "sparse.zarr")
    (layer,) = viewer.layers
    assert layer.multiscale and layer.data_level > 0 and int(viewer.dims.current_step[0]) == 1
    limits = tuple(layer.contrast_limits)
    passes = []
    real = contrast.limits_of
    monkeypatch.setattr(contrast, "limits_of", lambda sample, *a, **k: passes.append(sample.shape) or real(sample, *a, **k))
    sliced = []
    layer.events.set_data.connect(lambda _e: sliced.append(layer.data_level), position="last")
    viewer.scene.camera.center = (0, 300, 400)
    viewer.scene.camera.zoom = 50  # the full resolution
    qtbot.waitUntil(lambda: 0 in sliced and layer.loaded, timeout=20_000)
    before = len(sliced)
    viewer.scene.camera.center = (0, 1500, 1700)  # another region
    qtbot.waitUntil(lambda: len(sliced) > before and layer.loaded, timeout=20_000)
    assert not layer._slice.image.raw.any()  # what is shown: the fill value
    assert passes == []
    assert tuple(layer.contrast_limits) == limits
