"""The layer histogram beside the canvas (issue 19): it follows the plane shown, but is
counted in a worker on a bounded sample, never over the whole plane on the GUI thread
(napari's own recompute did that at every slider step: ~0.5 s for an 8192² plane)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import zarr

from .helpers import preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def panel(qtbot):
    with preview_panel(qtbot, 900, 700, start=True) as panel:
        yield panel


@pytest.fixture
def histogram_on():
    """The user has turned the layer histogram on (napari's histogram button) before."""
    from qtpy.QtCore import QSettings

    from polystore_gui.qt.napari_view import HISTOGRAM_KEY

    from polystore_gui.qt import settings_writes

    settings_writes.write(HISTOGRAM_KEY, True)
    yield
    assert settings_writes.flush()  # the writer's writes land before the key is removed
    QSettings().remove(HISTOGRAM_KEY)


@pytest.fixture
def planes(tmp_path):
    """5 planes of 1024²: the middle one a ramp over 0-60000, the last one all near 50000."""
    a = zarr.create_array(tmp_path / "planes.zarr", shape=(5, 1024, 1024), chunks=(1, 256, 256), dtype="u2",
                          fill_value=0)
    a[2] = np.linspace(0, 60000, 1024 * 1024).astype("u2").reshape(1024, 1024)
    rng = np.random.default_rng(1)
    a[4] = (50000 + rng.integers(0, 100, (1024, 1024))).astype("u2")
    return tmp_path / "planes.zarr"


def _peak(histogram) -> float:
    edges, counts = histogram._bin_edges, histogram._counts
    i = int(np.argmax(counts))
    return float(edges[i] + edges[i + 1]) / 2


def test_the_histogram_follows_the_plane_but_is_counted_off_the_gui_thread(qtbot, panel, planes, monkeypatch,
                                                                            histogram_on):
    from napari.components.histogram import HistogramModel

    from polystore_gui.model.sampled_histogram import SAMPLE_VALUES
    from polystore_gui.qt import layer_histogram

    counted = []  # (thread, values looked at) of every histogram computed
    real_display, real_sample = layer_histogram.display_histogram, HistogramModel._sample_data

    def spy_display(sample, *args, **kwargs):
        counted.append((threading.current_thread(), np.asarray(sample).size))
        return real_display(sample, *args, **kwargs)

    def spy_sample(self, data, max_samples):
        counted.append((threading.current_thread(), np.asarray(data).size))
        return real_sample(self, data, max_samples)

    monkeypatch.setattr(layer_histogram, "display_histogram", spy_display)
    monkeypatch.setattr(HistogramModel, "_sample_data", spy_sample)
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(planes))
    (layer,) = panel.shown_layers
    histogram = layer.histogram
    qtbot.waitUntil(lambda: histogram.enabled and not histogram._dirty and histogram._counts.sum() > 0, timeout=30_000)
    assert histogram.mode == "canvas"
    counts = histogram._counts
    assert np.count_nonzero(counts) > len(counts) // 2  # the ramp fills most bins

    viewer = panel.viewer.viewer
    viewer.dims.current_step = (4, *viewer.dims.current_step[1:])
    qtbot.waitUntil(lambda: not histogram._dirty and abs(_peak(histogram) - 50050) < 500, timeout=30_000)

    main = threading.main_thread()
    assert counted, "no histogram was computed"
    assert all(thread is not main for thread, _ in counted), "a histogram was counted on the GUI thread"
    assert all(size <= SAMPLE_VALUES for _, size in counted)
    assert histogram.jobs_started >= 2


def test_slider_steps_while_a_count_runs_end_on_the_last_plane(qtbot, panel, planes, histogram_on):
    """Steps coalesce: the histogram ends up describing the plane shown last."""
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(planes))
    (layer,) = panel.shown_layers
    histogram = layer.histogram
    qtbot.waitUntil(lambda: histogram.enabled and not histogram._dirty, timeout=30_000)
    viewer = panel.viewer.viewer
    for z in (3, 2, 1, 0, 4):
        viewer.dims.current_step = (z, *viewer.dims.current_step[1:])
    qtbot.waitUntil(lambda: layer.loaded and not histogram._dirty and abs(_peak(histogram) - 50050) < 500,
                    timeout=30_000)



def test_the_histogram_is_built_when_the_user_asks_and_then_kept_on(qtbot, panel, planes, tmp_path):
    """Each layer's histogram is a GL canvas of its own (0.2-0.8 s to build in software GL):
    not built for every preview unless the user turned it on, which is remembered."""
    from qtpy.QtCore import QSettings

    from polystore_gui.qt import settings_writes
    from polystore_gui.qt.napari_view import HISTOGRAM_KEY

    assert settings_writes.flush()  # an earlier test's write lands before the key is removed
    QSettings().remove(HISTOGRAM_KEY)
    try:
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(planes))
        (layer,) = panel.shown_layers
        panel.viewer._show_active_histogram()  # what the pane does after the first frame
        assert not layer.histogram.enabled
        layer.histogram.enabled = True  # the user clicks napari's histogram button
        assert panel.viewer.histogram_wanted()
        qtbot.waitUntil(lambda: not layer.histogram._dirty, timeout=30_000)

        zarr.create_array(tmp_path / "other.zarr", shape=(3, 64, 64), chunks=(1, 64, 64), dtype="u1", fill_value=9)
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(tmp_path / "other.zarr"))
        (other,) = panel.shown_layers
        qtbot.waitUntil(lambda: other.histogram.enabled and not other.histogram._dirty, timeout=30_000)
        other.histogram.enabled = False  # turned off again: remembered too
        assert not panel.viewer.histogram_wanted()
    finally:
        from polystore_gui.qt import settings_writes

        assert settings_writes.flush()  # the writer's writes land before the key is removed
        QSettings().remove(HISTOGRAM_KEY)


def test_full_mode_over_screen_levels_samples_chunks_never_the_whole_array(qtbot, panel, tmp_path, monkeypatch,
                                                                          histogram_on):
    """The "full" setting of napari's histogram, on a large plane's on-the-fly levels: napari's
    sampler reads them chunk by chunk in a worker; the whole array is never read at once."""
    from polystore_gui.model import screen_levels

    a = zarr.create_array(tmp_path / "big.zarr", shape=(3, 2048, 2048), chunks=(1, 512, 512), dtype="u2",
                          fill_value=0)
    a[1] = (np.arange(2048 * 2048) % 3000).astype("u2").reshape(2048, 2048)
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(tmp_path / "big.zarr"))
    (layer,) = panel.shown_layers
    assert layer.multiscale
    histogram = layer.histogram
    qtbot.waitUntil(lambda: histogram.enabled and not histogram._dirty, timeout=30_000)
    reads = []
    real = screen_levels.StridedLevel.__array__

    def spy(self, *args, **kwargs):
        reads.append(self.shape)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(screen_levels.StridedLevel, "__array__", spy)
    histogram.mode = "full"
    qtbot.waitUntil(lambda: not histogram._dirty and histogram._counts.sum() > 0, timeout=30_000)
    assert reads and all(len(shape) == 2 or shape[0] == 1 for shape in reads)  # plane by plane
