"""A remote sparse array's first frame is not kept waiting for its contrast search (issue 17).

Over HTTP (50 ms a request) the preview of a zarr array whose middle plane was never
written used to search other planes for its contrast before it opened: two more rounds of
requests before the first frame. Now the preview opens after the middle plane (the plane
shown, which napari reads anyway), and the searched limits follow (``contrast_later``),
holding the data's range as before.
"""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
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


def test_a_remote_sparse_preview_opens_before_its_contrast_search_returns(aws_env, sparse_host):
    url = sparse_host.url + "/held.zarr"
    adapter = adapter_for("zarr", url)
    outcome: list[object] = []
    worker = threading.Thread(daemon=True, target=lambda: outcome.append(
        adapter.open_preview("zarr", url, size_limit=1 << 30, confirmed=False)))
    sparse_host.hold()
    worker.start()
    deadline = time.monotonic() + 20
    try:
        # Let the preview's rounds through one at a time until a chunk of another plane is asked for.
        while not _other_planes(_requests(sparse_host)) and time.monotonic() < deadline:
            before = sparse_host.count()
            while sparse_host.count() == before and worker.is_alive() and time.monotonic() < deadline:
                threading.Event().wait(0.01)  # polling the server's count, with a deadline
            if _other_planes(_requests(sparse_host)):
                break
            sparse_host.release()
            sparse_host.hold()
        assert _other_planes(_requests(sparse_host)), "the contrast search never asked for another plane"
        # The other planes' requests are held at the server: the preview has opened all the same.
        worker.join(10)
        assert not worker.is_alive(), "the preview waited for the contrast search's requests"
    finally:
        sparse_host.release()
        worker.join(30)
    (preview,) = outcome
    try:
        (layer,) = preview.layers
        assert layer.contrast_placeholder == (True,)
        assert any("sampled after the first frame" in note for note in preview.notes), preview.notes
        (found,) = layer.contrast_later.result(timeout=30)
        assert found.from_data and found.limits[0] <= 1000 and found.limits[1] >= 2950, found
    finally:
        preview.close()


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
