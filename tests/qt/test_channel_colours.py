"""Channels that the metadata gives no colours: each still visible on the canvas, in
napari's own colours for a channel axis (magenta and green for two, cyan, magenta,
yellow, ... for more), blended additively, not grey layers where the top hides the rest.

Needs GL: run under Xvfb.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

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


def _ome_image_without_colours(path, channels: int) -> np.ndarray:
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
    return data


@pytest.mark.parametrize("channels, colours", [(2, ["magenta", "green"]),
                                               (3, ["cyan", "magenta", "yellow"])])
def test_channels_without_colours_are_each_seen(qtbot, window, tmp_path, channels, colours):
    _ome_image_without_colours(tmp_path / "two.ome.zarr", channels)
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        window.preview.request("ome_zarr", str(tmp_path / "two.ome.zarr"))
    viewer = window.preview.viewer.viewer
    qtbot.waitUntil(lambda: len(viewer.layers) == channels and all(layer.loaded for layer in viewer.layers),
                    timeout=30_000)
    layers = list(viewer.layers)
    assert [layer.colormap.name for layer in layers] == colours
    # The first drawn over the canvas's background, every other one added onto it.
    assert [str(layer.blending) for layer in layers] == ["translucent_no_depth"] + ["additive"] * (channels - 1)
