"""The requests of a sharded sparse array's first frame, on both servers (issue 17).

The benchmark's case, small: the middle plane (3 of 8, the one shown) was never written,
plane 4 was. Opening the preview and reading plane 4 needs the array's ``zarr.json``, the
shard indexes of the shown plane's contrast sample (they answer 404: the plane holds
nothing) and plane 4's shards, read whole. The contrast search of other planes waits until
the window has drawn the first frame: it used to send 24 more requests (6 planes x 4
shard indexes) beside the plane's own.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
from tests.remote_servers import upload_folder

SHARDS = 4  # a plane is 2 x 2 shards of (1, 128, 128), each 2 x 2 chunks of (1, 64, 64)
NEEDED = 1 + SHARDS + SHARDS  # zarr.json, the shown plane's shard indexes, plane 4's shards


@pytest.fixture(scope="module")
def sharded_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded-first-frame")
    array = zarr.create_array(str(root / "sharded.zarr"), shape=(8, 256, 256), shards=(1, 128, 128),
                              chunks=(1, 64, 64), dtype="uint16", fill_value=0)
    array[4] = np.random.default_rng(4).integers(1, 4000, (256, 256), dtype=np.uint16)
    return root


@pytest.fixture(params=["http", "s3"])
def sharded(request, sharded_root):
    """(URL of the array, the server's request count, the HTTP paths asked or None)."""
    if request.param == "http":
        from tests.remote_servers import LatencyHTTPServer

        request.getfixturevalue("aws_env")
        server = LatencyHTTPServer(str(sharded_root), latency=0.05).start()
        request.addfinalizer(server.stop)

        def paths() -> list[str]:
            with server._lock:
                return list(server.requests)

        return server.url + "/sharded.zarr", server.count, paths
    moto = request.getfixturevalue("s3_keys")
    upload_folder(moto.client(), "data", str(sharded_root / "sharded.zarr"), "first-frame/sharded.zarr")
    return "s3://data/first-frame/sharded.zarr", lambda: moto.requests, None


def test_a_sharded_sparse_arrays_first_frame_asks_only_for_what_it_needs(sharded):
    url, count, paths = sharded
    before = count()
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        plane = np.asarray(layer.data[4])
        assert plane.any()
        made = count() - before
        assert made <= NEEDED, f"{made} requests for a first frame that needs {NEEDED}"
        if paths is not None:
            planes = {int(m.group(1)) for p in paths() if (m := re.search(r"/c/(\d+)/", p))}
            assert planes <= {3, 4}, sorted(planes)
    finally:
        preview.close()


def test_the_shown_planes_shards_answered_404_by_the_sample_are_not_asked_again(sharded):
    """napari's read of the shown plane (never written) after the contrast sample found its
    shards absent: answered without a request (one round of 404s less in the first frame)."""
    url, count, _paths = sharded
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        before = count()
        shown = np.asarray(layer.data[3])
        assert not shown.any()
        assert count() == before
    finally:
        preview.close()


@pytest.fixture
def sparse_on_http(aws_env, tmp_path):
    """(the local sparse array, only plane 4 written; its URL on a local HTTP server)."""
    from tests.remote_servers import LatencyHTTPServer

    array = zarr.create_array(str(tmp_path / "sharded.zarr"), shape=(8, 256, 256), shards=(1, 128, 128),
                              chunks=(1, 64, 64), dtype="uint16", fill_value=0)
    array[4] = 9
    server = LatencyHTTPServer(str(tmp_path), latency=0.0).start()
    try:
        yield array, server.url + "/sharded.zarr"
    finally:
        server.stop()


def test_a_plane_written_after_its_404s_is_seen_once_they_are_stale(sparse_on_http):
    from polystore_gui.model.remote_zarr import locate

    array, url = sparse_on_http
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        array[3] = 5  # written meanwhile (an acquisition still running)
        store, _key, _url = locate(url)
        assert store.absent.known("sharded.zarr/c/3/0/0")  # the sample's 404, remembered
        store.absent.seconds = 0.0  # as if ABSENT_SECONDS had passed
        assert (np.asarray(layer.data[3]) == 5).all()
    finally:
        preview.close()


def test_a_plane_looked_at_again_and_again_is_asked_for_once_its_404s_are_stale(sparse_on_http, monkeypatch):
    """A 404 is believed for ABSENT_SECONDS from the server's answer: reads answered from
    that memory meanwhile (napari drawing the plane again) do not make it last longer, so a
    plane written since shows once those seconds have passed."""
    from polystore_gui.model import remote_absent

    clock = [1000.0]
    monkeypatch.setattr(remote_absent.time, "monotonic", lambda: clock[0])
    array, url = sparse_on_http
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        assert not np.asarray(layer.data[3]).any()  # the sample's 404s (at 1000 s)
        array[3] = 5  # written meanwhile
        clock[0] += 0.6 * remote_absent.ABSENT_SECONDS
        assert not np.asarray(layer.data[3]).any()  # drawn again: still believed absent
        clock[0] += 0.6 * remote_absent.ABSENT_SECONDS  # past ABSENT_SECONDS since the 404s
        assert (np.asarray(layer.data[3]) == 5).all()
    finally:
        preview.close()


@pytest.fixture(scope="module")
def written_root(tmp_path_factory):
    """A sharded array whose shown plane (3 of 8) holds data; the contrast sample's centre
    crop (512²) covers a part of each of the plane's 4 shards (1024² each, chunks 256²)."""
    root = tmp_path_factory.mktemp("sharded-shown-plane")
    array = zarr.create_array(str(root / "sharded.zarr"), shape=(8, 2048, 2048), shards=(1, 1024, 1024),
                              chunks=(1, 256, 256), dtype="uint16", fill_value=0)
    array[3] = np.random.default_rng(3).integers(1, 4000, (2048, 2048), dtype=np.uint16)
    array[4] = 7
    return root


@pytest.fixture
def written_on_http(aws_env, written_root):
    from tests.remote_servers import LatencyHTTPServer

    server = LatencyHTTPServer(str(written_root), latency=0.0).start()
    try:
        yield zarr.open_array(str(written_root / "sharded.zarr"), mode="r"), server
    finally:
        server.stop()


def test_the_shown_planes_first_frame_fetches_each_of_its_shards_once(written_on_http):
    """The contrast sample reads the plane napari draws next, whole, and napari's reads of
    it (the plane, a screen level's stride, the crop) are answered from what was read: the
    array's zarr.json and the plane's 4 shards, one round after the metadata, as zarr-python
    reading the plane by itself. Before: the sample's 4 shard indexes, then its 4 chunks,
    then napari's 4 whole shards (13 requests in 4 rounds)."""
    local, server = written_on_http
    url = server.url + "/sharded.zarr"
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        assert layer.contrast_limits is not None and layer.contrast_limits[1] > 1000  # from the plane's data
        strided = np.asarray(layer.data[3, ::4, ::4])  # a screen level, as the window reads it
        plane = np.asarray(layer.data[3])
        assert np.array_equal(plane, local[3]) and np.array_equal(strided, local[3, ::4, ::4])
        with server._lock:
            asked = list(server.requests)
        assert len(asked) == 1 + SHARDS, asked
        assert sorted(p.rsplit("/sharded.zarr/", 1)[1] for p in asked) == [
            "c/3/0/0", "c/3/0/1", "c/3/1/0", "c/3/1/1", "zarr.json"]
        assert (np.asarray(layer.data[4]) == 7).all()  # another plane: read from the store
        assert np.array_equal(np.asarray(layer.data[3, 100:200, 5]), local[3, 100:200, 5])  # and back
    finally:
        preview.close()


def test_the_shown_planes_first_frame_on_s3_fetches_each_of_its_shards_once(s3_keys, written_root):
    """The same on S3: the array's zarr.json and the shown plane's 4 shards."""
    local = zarr.open_array(str(written_root / "sharded.zarr"), mode="r")
    upload_folder(s3_keys.client(), "data", str(written_root / "sharded.zarr"), "shown-plane/sharded.zarr")
    url = "s3://data/shown-plane/sharded.zarr"
    before = s3_keys.requests
    preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        (layer,) = preview.layers
        assert np.array_equal(np.asarray(layer.data[3, ::4, ::4]), local[3, ::4, ::4])
        assert np.array_equal(np.asarray(layer.data[3]), local[3])
        assert s3_keys.requests - before == 1 + SHARDS
    finally:
        preview.close()
