"""The requests a remote preview makes (issue 17): no more than what the first frame needs.

A first frame, as napari draws it, reads the middle plane of the level it shows and the
same plane of the smallest level (the layer's thumbnail: napari 0.9's
``ScalarFieldBase._make_slice_request`` always reads ``data[-1]``). Needed: the image's
metadata documents plus those chunks. The HTTP host adds 50 ms a request (loopback).
"""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
from tests.remote_servers import LatencyHTTPServer

LEVELS = 3  # 512, 256, 128 pixels a side
CHUNK = 128


def _write_image(root, name: str, *, labels: bool, consolidated: bool) -> None:
    """An OME-NGFF 0.5 image, 2 channels x 4 z, without omero windows (the contrast is sampled)."""
    rng = np.random.default_rng(3)
    group = zarr.open_group(str(root / name), mode="w", zarr_format=3)
    datasets = []
    for level in range(LEVELS):
        n = 512 >> level
        arr = group.create_array(str(level), shape=(2, 4, n, n), chunks=(1, 1, CHUNK, CHUNK), dtype="uint16")
        arr[:] = rng.integers(100, 4000, (2, 4, n, n), dtype=np.uint16)
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 1.0, 2.0 ** level, 2.0 ** level]}]})
    axes = [{"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}
    if labels:
        holder = group.create_group("labels")
        holder.attrs["ome"] = {"version": "0.5", "labels": ["cells"]}
        cells = holder.create_group("cells")
        mask = cells.create_array("0", shape=(1, 4, 512, 512), chunks=(1, 1, 256, 256), dtype="uint32")
        mask[:] = 1
        cells.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1.0, 1.0, 1.0, 1.0]}]}]}]}
    if consolidated:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr: consolidated metadata is not in the v3 spec yet
            zarr.consolidate_metadata(str(root / name))


@pytest.fixture(scope="module")
def image_host(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote-requests")
    _write_image(root, "plain.zarr", labels=False, consolidated=False)
    _write_image(root, "consolidated.zarr", labels=False, consolidated=True)
    _write_image(root, "labelled.zarr", labels=True, consolidated=True)
    sparse = zarr.create_array(str(root / "sparse.zarr"), shape=(8, 256, 256), chunks=(1, 128, 128),
                               dtype="uint16", fill_value=0)
    sparse[1] = 1000
    sparse[6] = 3000  # the middle plane (3) was never written
    server = LatencyHTTPServer(str(root), latency=0.05).start()
    yield server
    server.stop()


def _since(server, before: int) -> list[str]:
    with server._lock:
        return list(server.requests[before:])


def _first_frame(url: str) -> list[object]:
    """Open the preview and read what napari reads for the first frame of each layer."""
    adapter = adapter_for("ome_zarr", url)
    preview = adapter.open_preview("ome_zarr", url, size_limit=1 << 30, confirmed=False)
    try:
        for layer in preview.layers:
            levels = layer.data if layer.multiscale else [layer.data]
            for level in {0, len(levels) - 1}:  # the level shown (a screen holds 512 x 512) and the thumbnail
                data = levels[level]
                z = (data.shape[-3] - 1) // 2
                np.asarray(data[:, z]) if data.ndim == 4 else np.asarray(data[z])
        return list(preview.layers)
    finally:
        preview.close()


def test_a_first_frame_makes_no_more_requests_than_it_needs(aws_env, image_host):
    before = image_host.count()
    _first_frame(image_host.url + "/plain.zarr")
    made = _since(image_host, before)
    metadata = 1 + LEVELS  # the image's zarr.json and each level's
    chunks = 2 * (512 // CHUNK) ** 2 + 2 * 1  # level 0's plane of each channel, and the smallest's
    assert len(made) == len(set(made)), "an object was fetched twice"
    assert len(made) <= 1.1 * (metadata + chunks), made


def test_no_labels_request_when_consolidated_metadata_names_none(aws_env, image_host):
    before = image_host.count()
    layers = _first_frame(image_host.url + "/consolidated.zarr")
    made = _since(image_host, before)
    assert [getattr(layer, "kind", None) for layer in layers] == ["image"]
    assert not [path for path in made if "/labels" in path], made
    assert len(made) == 1 + 2 * (512 // CHUNK) ** 2 + 2, made  # zarr.json (naming every level) and the chunks


def test_labels_named_by_consolidated_metadata_are_shown_without_a_probe(aws_env, image_host):
    before = image_host.count()
    layers = _first_frame(image_host.url + "/labelled.zarr")
    made = _since(image_host, before)
    assert [layer.name for layer in layers] == ["labelled.zarr", "labels: cells"]
    assert "/labelled.zarr/labels/zarr.json" not in made, made


def test_the_contrast_sample_asks_for_every_channels_chunks_at_once(aws_env, image_host):
    """Held at the server, the contrast sample of a 2-channel image has both channels'
    chunk requests in flight together (one round trip, not one per channel)."""
    from polystore_gui.model.contrast import contrast_samples
    from polystore_gui.model.remote_zarr import open_array

    smallest = open_array(image_host.url + f"/plain.zarr/{LEVELS - 1}")
    image_host.hold()
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(contrast_samples([smallest], 0)))
    before = image_host.count()
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while image_host.count() - before < 2 and time.monotonic() < deadline:
            threading.Event().wait(0.01)  # polling the server's count, with a deadline
        in_flight = image_host.count() - before
    finally:
        image_host.release()
        worker.join(30)
    assert in_flight == 2
    (first, second) = outcome[0]
    assert first.from_data and second.from_data


def _wait_for(server, count: int) -> int:
    """The server's request count once it reaches ``count`` (or after 10 s: what it got)."""
    deadline = time.monotonic() + 10
    while server.count() < count and time.monotonic() < deadline:
        threading.Event().wait(0.01)  # polling the server's count, with a deadline
    return server.count()


def test_a_sparse_arrays_extra_planes_are_asked_for_together(aws_env, image_host):
    """The middle plane of a sparse array holds nothing: the planes sampled next have their
    requests in flight together (one round trip, not one per plane)."""
    from polystore_gui.model.contrast import EXTRA_PLANES, contrast_samples
    from polystore_gui.model.remote_zarr import open_array

    array = open_array(image_host.url + "/sparse.zarr")
    per_plane = (256 // 128) ** 2
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(contrast_samples([array])))
    before = image_host.count()
    image_host.hold()
    worker.start()
    try:
        _wait_for(image_host, before + per_plane)  # the middle plane's chunks, held
        image_host.release()
        image_host.hold()  # every request from now on waits: only concurrent ones can arrive
        in_flight = _wait_for(image_host, before + per_plane * (1 + EXTRA_PLANES)) - before - per_plane
    finally:
        image_host.release()
        worker.join(30)
    assert in_flight == per_plane * EXTRA_PLANES
    (found,) = outcome[0]
    assert found.from_data and found.limits[0] <= 1000 and found.limits[1] >= 3000


def test_an_s3_image_preview_asks_only_for_metadata_documents(s3_keys):
    """On S3 the preview of an OME image (omero windows: no contrast sample) reads the
    zarr.json of the image, of each level, of ``labels`` (the image has no consolidated
    metadata to say it exists), of the label image and its levels; and lists nothing: the
    members line of ``info`` does."""
    from polystore_gui.model.remote_store import forget_stores

    forget_stores()
    url = "s3://data/experiment.zarr/image"
    adapter = adapter_for("ome_zarr", url)
    before = s3_keys.requests
    preview = adapter.open_preview("ome_zarr", url, size_limit=1 << 30, confirmed=False)
    preview.close()
    levels = len(preview.info.ome.levels)
    label_levels = len(preview.layers[1].data)
    assert s3_keys.requests - before == 1 + levels + 1 + 1 + label_levels
    assert adapter.info("ome_zarr", url).members == {"groups": 1, "arrays": levels}


def test_objects_the_cache_does_not_keep_read_right_and_are_not_kept(aws_env, image_host, monkeypatch):
    """Objects over the cache's limit (shards, in life) come as views of the client's buffer:
    the pixels are the stored ones, and looking again asks the server again."""
    from polystore_gui.model import remote_store
    from polystore_gui.model.remote_zarr import open_array

    monkeypatch.setattr(remote_store, "CACHE_OBJECT_LIMIT", 1024)  # every chunk here is larger
    remote_store.forget_stores()
    local = zarr.open_array(image_host.root + "/plain.zarr/0", mode="r")
    array = open_array(image_host.url + "/plain.zarr/0")
    before = image_host.count()
    np.testing.assert_array_equal(array[1, 2], local[1, 2])
    first = image_host.count() - before
    np.testing.assert_array_equal(array[1, 2], local[1, 2])
    assert first == (512 // CHUNK) ** 2 and image_host.count() - before == 2 * first


def test_a_copied_object_is_checked_against_the_servers_md5(tmp_path):
    """The copy checks each object's size and S3's MD5 ETag, then the file read back."""
    import hashlib

    from polystore_gui.model import remote_copy
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import ObjectFacts

    url = parse_url("s3://data/a.zarr")
    data = memoryview(b"chunk bytes" * 100)
    right = ObjectFacts("c/0", len(data), '"' + hashlib.md5(data).hexdigest() + '"')
    remote_copy._store_checked(url, "c/0", data, right, str(tmp_path / "c" / "0"))
    assert (tmp_path / "c" / "0").read_bytes() == bytes(data)
    wrong = ObjectFacts("c/1", len(data), '"' + hashlib.md5(b"other").hexdigest() + '"')
    with pytest.raises(remote_copy.CopyError, match="MD5"):
        remote_copy._store_checked(url, "c/1", data, wrong, str(tmp_path / "c" / "1"))
    short = ObjectFacts("c/2", len(data) + 1, None)
    with pytest.raises(remote_copy.CopyError, match="the listing says"):
        remote_copy._store_checked(url, "c/2", data, short, str(tmp_path / "c" / "2"))


def test_consolidated_names_that_are_no_member_paths_prime_nothing(aws_env, image_host):
    """A consolidated document named ``../x`` (hostile or broken metadata) is not taken as
    the ``zarr.json`` of a node outside the group."""
    import json

    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_nodes import prime_from_consolidated, read_node
    from polystore_gui.model.remote_store import remote_store

    store = remote_store(parse_url(image_host.url + "/consolidated.zarr"))
    doc = json.loads(store.get("consolidated.zarr/zarr.json"))
    doc["consolidated_metadata"]["metadata"]["../plain.zarr"] = {
        "zarr_format": 3, "node_type": "group", "attributes": {"forged": True}}
    store.cache.put("consolidated.zarr/zarr.json", json.dumps(doc).encode())
    meta = read_node(store, "consolidated.zarr")
    prime_from_consolidated(store, "consolidated.zarr", meta)
    assert store.cache.get("consolidated.zarr/../plain.zarr/zarr.json") is None
    assert store.cache.get("consolidated.zarr/0/zarr.json") is not None
