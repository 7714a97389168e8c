"""A complex array in the real preview panel: an image of |z| on napari's canvas, and the
panel's text says so (issue 13, item 14). Needs a real X server with GL (Xvfb)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from .test_preview import panel, show  # noqa: F401  (the fixture and helper of the preview tests)

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_a_32_by_32_complex_array_shows_its_magnitude(qtbot, panel, tmp_path):  # noqa: F811
    z = (np.arange(32 * 32).reshape(32, 32) * (3 + 4j)).astype("complex64")
    zarr.create_array(str(tmp_path / "c.zarr"), shape=z.shape, chunks=(32, 32), dtype=z.dtype)[...] = z
    show(qtbot, panel, "zarr", tmp_path / "c.zarr")
    assert panel.stack.currentWidget() is panel.viewer  # an image, not a table
    (layer,) = panel.viewer.viewer.layers
    assert layer.name.startswith("|z|") and layer.data.shape == (32, 32)
    qtbot.waitUntil(lambda: layer.loaded, timeout=20_000)
    assert layer.data[31, 31] == pytest.approx(abs(z[31, 31]))
    assert "magnitude |z|" in panel.status.text() and "1-D" not in panel.status.text()
