"""A remote sparse array's first frame is not kept waiting for its contrast search (issue 17).

Over HTTP (50 ms a request) the preview of a zarr array whose middle plane was never
written used to search other planes for its contrast before it opened: two more rounds of
requests before the first frame; then the search ran beside the first frame and competed
with its requests. Now the preview opens after the middle plane (the plane shown, which
napari reads anyway), the search (``contrast_later``) waits to be started (the window
starts it once the first frame is drawn), can be cancelled, and finds the data's range.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
from polystore_gui.model.contrast import EXTRA_PLANES
from tests.remote_servers import LatencyHTTPServer

MIDDLE = 3  # of 8 planes: (8 - 1) // 2, never written


@pytest.fixture(scope="module")
def sparse_host(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote-contrast")
    rng = np.random.default_rng(2)
    for name in ("held.zarr", "shown.zarr"):
        a = zarr.create_array(str(root / name), shape=(8, 256, 256), chunks=(1, 128, 128), dtype="uint16",
                              fill_value=0, dimension_names=["z", "y", "x"])
        a[1] = rng.integers(1000, 2001, (256, 256), dtype=np.uint16)
        a[6] = rng.integers(2000, 3001, (256, 256), dtype=np.uint16)
    dense = zarr.create_array(str(root / "dense.zarr"), shape=(8, 256, 256), chunks=(1, 128, 128), dtype="uint16")
    dense[:] = rng.integers(500, 601, (8, 256, 256), dtype=np.uint16)
    server = LatencyHTTPServer(str(root), latency=0.05).start()
    yield server
    server.stop()


def _other_planes(paths: list[str]) -> list[str]:
    """The requests for chunks of a plane other than the middle one."""
    return [p for p in paths if (m := re.search(r"/c/(\d+)/", p)) and int(m.group(1)) != MIDDLE]


def _requests(server) -> list[str]:
    with server._lock:
        return list(server.requests)


def _middle_plane(paths: list[str]) -> list[str]:
    return [p for p in paths if (m := re.search(r"/c/(\d+)/", p)) and int(m.group(1)) == MIDDLE]


def test_a_remote_sparse_preview_reads_no_other_plane_until_its_search_is_started(aws_env, sparse_host):
    """The first frame (the preview, then the shown plane as napari reads it) asks for the
    metadata and the middle plane only; the search of other planes waits to be started (the
    window starts it once the frame is drawn), then finds the data's range."""
    url = sparse_host.url + "/held.zarr"
    sparse_host.reset_count()
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        assert layer.contrast_placeholder == (True,)
        assert any("sampled after the first frame" in note for note in preview.notes), preview.notes
        shown = np.asarray(layer.data[MIDDLE])  # the first frame's pixels, as napari reads them
        assert not shown.any()
        first_frame = _requests(sparse_host)
        assert not _other_planes(first_frame), first_frame
        assert 0 < len(_middle_plane(first_frame)) and len(first_frame) <= 1 + 2 * 4, first_frame  # zarr.json, 4 chunks (twice: 404s)
        assert not layer.contrast_later.started
        (found,) = layer.contrast_later.result(timeout=30)  # started now
        assert found.from_data and found.limits[0] <= 1000 and found.limits[1] >= 2950, found
        assert _other_planes(_requests(sparse_host))
    finally:
        preview.close()


def test_cancelling_the_contrast_search_drops_its_requests(aws_env, sparse_host):
    """A search cancelled while its requests are in flight ends at once, without their
    answers, and asks for nothing more (the window cancels it when the user moves on)."""
    from concurrent.futures import CancelledError

    url = sparse_host.url + "/held.zarr"
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    search = preview.layers[0].contrast_later
    sparse_host.reset_count()
    sparse_host.hold()  # a very slow network: every request waits at the server
    try:
        search.start()
        round_trip = EXTRA_PLANES * 4  # its one round: each other plane's 4 chunks
        deadline = time.monotonic() + 20
        while len(_other_planes(_requests(sparse_host))) < round_trip and time.monotonic() < deadline:
            threading.Event().wait(0.01)  # polling the server's count, with a deadline
        asked = _requests(sparse_host)
        assert len(_other_planes(asked)) == round_trip, asked
        search.cancel()
        with pytest.raises(CancelledError):
            search.future.result(timeout=5)  # while the server still holds every answer
    finally:
        sparse_host.release()
    assert _requests(sparse_host) == asked, "the cancelled search asked for more"
    preview.close()


def test_closing_the_preview_cancels_a_search_not_started(aws_env, sparse_host):
    url = sparse_host.url + "/held.zarr"
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    search = preview.layers[0].contrast_later
    sparse_host.reset_count()
    preview.close()
    assert search.cancelled and search.done()
    search.start()  # too late: nothing is read
    assert search.future.cancelled() and _requests(sparse_host) == []


def test_a_remote_array_with_a_written_middle_plane_has_final_limits(aws_env, sparse_host):
    """No search when the middle plane holds contrast: the limits are final at once."""
    url = sparse_host.url + "/dense.zarr"
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        assert layer.contrast_later is None and layer.contrast_placeholder == (False,)
        assert 500 <= layer.contrast_limits[0] and layer.contrast_limits[1] <= 600, layer.contrast_limits
    finally:
        preview.close()
