"""The window on a remote sparse array (issue 17): its contrast search runs after the
preview opens, and the limits it finds reach the layer, unless the user set limits first.

Needs GL: run under Xvfb.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import zarr

from tests.qt.conftest import _no_leaked_windows, make_window  # noqa: F401  (the window fixtures)
from tests.qt.test_canvas_readout import show as _show
from tests.qt.test_canvas_readout import window  # noqa: F401  (the window with napari's viewer started)
from tests.remote_servers import LatencyHTTPServer

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def sparse_url(tmp_path):
    """(8, 128, 128) uint16 over HTTP (50 ms a request), fill 0: planes 1 and 6 written only."""
    rng = np.random.default_rng(3)
    a = zarr.create_array(str(tmp_path / "sparse.zarr"), shape=(8, 128, 128), chunks=(1, 64, 64),
                          dtype="uint16", fill_value=0, dimension_names=["z", "y", "x"])
    a[1] = rng.integers(1000, 2001, (128, 128), dtype=np.uint16)
    a[6] = rng.integers(1500, 3001, (128, 128), dtype=np.uint16)
    server = LatencyHTTPServer(str(tmp_path), latency=0.05).start()
    yield server.url + "/sparse.zarr"
    server.stop()


def test_a_remote_sparse_array_gets_limits_that_hold_its_data(qtbot, aws_env, window, sparse_url):  # noqa: F811
    viewer = _show(qtbot, window, "zarr", sparse_url)
    (layer,) = viewer.layers
    assert viewer.dims.current_step[0] == 3  # the middle plane: never written
    qtbot.waitUntil(lambda: layer.contrast_limits[1] >= 2950, timeout=30_000)
    assert layer.contrast_limits[0] <= 1000, layer.contrast_limits
    assert layer.contrast_limits_range[1] >= layer.contrast_limits[1]


@pytest.fixture
def held_searches(monkeypatch):
    """Each remote preview's contrast search, replaced by one that holds the real search's
    answer until its event is set (and stops when cancelled): [(search, release, found)]."""
    from polystore_gui.model import contrast, lazy
    from polystore_gui.model.contrast_search import ContrastSearch

    held: list[tuple[ContrastSearch, threading.Event, list]] = []
    real = contrast.contrast_at_once

    def held_back(levels, channel_axis=None, *, scope=None):
        first, later = real(levels, channel_axis, scope=scope)
        assert later is not None
        found = later.result(timeout=30)
        release = threading.Event()

        def run(cancelled):
            while not release.wait(0.01):  # the stand-in search's own reads, checking between them
                if cancelled():
                    return []
            return found

        search = ContrastSearch(run)
        held.append((search, release, found))
        return first, search

    monkeypatch.setattr(lazy, "contrast_at_once", held_back)
    return held


def test_the_window_starts_the_search_once_the_first_frame_is_drawn(qtbot, aws_env, window,  # noqa: F811
                                                                     sparse_url, monkeypatch):
    """The search's requests must not compete with the first frame's: it starts only when
    the layer is shown, its plane loaded and the show's steps are done."""
    from polystore_gui.model.contrast_search import ContrastSearch

    pane = window.preview.viewer
    seen: list[tuple[bool, bool, bool]] = []
    real_start = ContrastSearch.start

    def start(self):
        if not self.started:
            layers = list(pane.viewer.layers)
            seen.append((bool(layers) and layers[0].visible, bool(layers) and layers[0].loaded,
                         pane.steps_running()))
        return real_start(self)

    monkeypatch.setattr(ContrastSearch, "start", start)
    viewer = _show(qtbot, window, "zarr", sparse_url)
    (layer,) = viewer.layers
    qtbot.waitUntil(lambda: layer.contrast_limits[1] >= 2950, timeout=30_000)
    assert seen == [(True, True, False)]


def test_selecting_another_array_cancels_the_shown_arrays_search(qtbot, aws_env, window, sparse_url,  # noqa: F811
                                                                 held_searches, tmp_path):
    from concurrent.futures import CancelledError

    dense = zarr.create_array(str(tmp_path / "dense.zarr"), shape=(4, 32, 32), chunks=(1, 32, 32), dtype="uint8")
    dense[:] = 7
    _show(qtbot, window, "zarr", sparse_url)
    ((search, _release, _found),) = held_searches
    qtbot.waitUntil(lambda: search.started, timeout=10_000)
    assert not search.done()
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        window.preview.request("zarr", str(tmp_path / "dense.zarr"))
        assert search.cancelled  # at the new selection, before the new preview has opened
    qtbot.waitUntil(search.done, timeout=10_000)
    with pytest.raises(CancelledError):
        search.future.result()


def test_limits_the_user_set_before_the_search_returns_are_kept(qtbot, aws_env, window, sparse_url,  # noqa: F811
                                                                 held_searches):
    """The search's answer is held back until the user has set limits by hand: it is dropped."""
    viewer = _show(qtbot, window, "zarr", sparse_url)
    (layer,) = viewer.layers
    assert tuple(layer.contrast_limits) == (0.0, 1.0)  # the placeholder: the search is held back
    layer.contrast_limits = (0.0, 0.5)  # what napari's contrast slider beside the canvas does
    ((search, release, found),) = held_searches
    qtbot.waitUntil(lambda: search.started, timeout=10_000)
    release.set()
    qtbot.waitUntil(search.done, timeout=10_000)
    assert found[0].limits[1] >= 2950
    # The search's end is posted to the GUI thread: give it several turns, then check nothing moved.
    turns = []
    from qtpy.QtCore import QTimer

    for i in range(8):
        QTimer.singleShot(25 * (i + 1), lambda i=i: turns.append(i))
    qtbot.waitUntil(lambda: len(turns) == 8, timeout=5_000)
    assert tuple(layer.contrast_limits) == (0.0, 0.5)


def test_the_windows_first_frame_of_a_remote_sharded_plane_asks_for_each_shard_once(qtbot, aws_env, window,  # noqa: F811
                                                                                    tmp_path):
    """The window's own first frame of a remote sharded array whose shown plane holds data
    (2048², shown through screen-sized levels): the contrast sample and napari's reads of
    the plane share one fetch of its 4 shards (before: the sample's shard indexes, its
    chunks, then the shards whole for napari)."""
    a = zarr.create_array(str(tmp_path / "written.zarr"), shape=(8, 2048, 2048), shards=(1, 1024, 1024),
                          chunks=(1, 256, 256), dtype="uint16", fill_value=0)
    a[3] = np.random.default_rng(5).integers(1, 4000, (2048, 2048), dtype=np.uint16)
    server = LatencyHTTPServer(str(tmp_path), latency=0.0).start()
    try:
        viewer = _show(qtbot, window, "zarr", server.url + "/written.zarr")
        (layer,) = viewer.layers
        assert viewer.dims.current_step[0] == 3 and layer.contrast_limits[1] > 1000
        with server._lock:
            chunks = [p for p in server.requests if "/c/" in p]
        assert sorted(chunks) == [f"/written.zarr/c/3/{y}/{x}" for y in (0, 1) for x in (0, 1)], chunks
    finally:
        server.stop()
