"""Remote stores through the adapter, against moto's S3 and a 50 ms HTTP host (loopback)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
from polystore_gui.model.entries import EntryKind


def _children(url: str, backend: str = "zarr"):
    adapter = adapter_for(backend, url)
    entry = adapter.entry(backend, url)
    assert entry.error is None, entry.error
    return {e.name: e for batch in adapter.list_children(entry) for e in batch}


def test_addresses_keep_urls():
    from polystore_gui.model.address import parse_address

    known = ["disk", "zarr", "ome_zarr", "memory"]
    assert str(parse_address("zarr:s3://bucket/a.zarr/", known)) == "zarr:s3://bucket/a.zarr"
    assert str(parse_address("s3://bucket/a.zarr", known)) == "zarr:s3://bucket/a.zarr"
    assert str(parse_address("ome_zarr:HTTPS://Host:8443/x/i.zarr", known)) == "ome_zarr:https://host:8443/x/i.zarr"
    with pytest.raises(ValueError, match="names no bucket"):
        parse_address("s3:///a.zarr", known)


def test_adapter_claims_the_schemes():
    adapter = adapter_for("zarr", "s3://b/a.zarr")
    assert adapter.capabilities.remote and adapter.capabilities.readable
    assert adapter_for("ome_zarr", "https://h/a.zarr") is adapter
    assert adapter_for("zarr", "/tmp/a.zarr") is not adapter


def test_listing_gives_members_with_shapes(store_url):
    found = _children(store_url)
    assert set(found) == {"image", "plain", "sharded"}
    assert found["image"].kind is EntryKind.OME_ZARR and found["image"].backend == "ome_zarr"
    assert found["plain"].shape == (16, 512, 512) and found["plain"].dtype == "uint16"
    assert "sharded" in found["sharded"].detail
    levels = _children(found["image"].path, "ome_zarr")
    assert {"0", "1", "2", "labels"} <= set(levels)
    assert levels["1"].shape == (2, 8, 256, 256)


def test_s3_lists_unconsolidated_stores_and_bucket_folders(s3_keys):
    assert set(_children("s3://data/experiment.zarr")) == {"image", "plain", "sharded"}
    top = _children("s3://data")
    assert top["experiment.zarr"].kind is EntryKind.ZARR_STORE
    assert top["notes"].kind is EntryKind.DIRECTORY
    assert _children("s3://data/notes")["readme.txt"].size == 5  # S3's listing gives sizes


def test_http_without_consolidated_metadata_says_why_it_cannot_list(aws_env, http_server):
    from polystore_gui.model.listing import ListingError

    url = http_server.url + "/experiment.zarr"
    adapter = adapter_for("zarr", url)
    with pytest.raises(ListingError, match="lists nothing"):
        list(adapter.list_children(adapter.entry("zarr", url)))
    # ...but an OME image is navigated by its metadata: levels and labels
    assert {"0", "1", "2", "labels"} <= set(_children(url + "/image"))
    assert _children(url + "/image/labels") == {} or "nuclei" in _children(url + "/image/labels")


def test_info_of_array_and_ome_image(store_url):
    adapter = adapter_for("zarr", store_url)
    info = adapter.info("zarr", store_url + "/sharded")
    assert info.error is None
    assert info.shape == (4, 1024, 1024) and info.shards == (1, 512, 512) and info.chunks == (1, 128, 128)
    assert info.codecs["compressors"][0]["name"] == "zstd"
    image = adapter.info("ome_zarr", store_url + "/image")
    assert image.ome is not None
    assert [lv.shape for lv in image.ome.levels] == [(2, 8, 512, 512), (2, 8, 256, 256), (2, 8, 128, 128)]
    assert image.ome.labels == ("nuclei",)
    missing = adapter.info("zarr", store_url + "/nothing-here")
    assert "Does not exist" in missing.error


def test_preview_reads_the_same_pixels_as_zarr(store_url, remote_data):
    adapter = adapter_for("zarr", store_url)
    local = zarr.open_array(str(remote_data / "consolidated.zarr" / "sharded"), mode="r")
    preview = adapter.open_preview("zarr", store_url + "/sharded", size_limit=1 << 30, confirmed=False)
    try:
        data = preview.layers[0].data
        np.testing.assert_array_equal(np.asarray(data[2, 100:300, 500:700]), local[2, 100:300, 500:700])
    finally:
        preview.close()
    image = adapter.open_preview("ome_zarr", store_url + "/image", size_limit=1 << 30, confirmed=False)
    assert [layer.name for layer in image.layers] == ["image", "labels: nuclei"]
    assert image.layers[0].multiscale and len(image.layers[0].data) == 3
    image.close()


def test_preview_fetches_only_the_chunks_on_screen(aws_env, http_server):
    from polystore_gui.model.remote_store import forget_stores

    forget_stores()
    url = http_server.url + "/consolidated.zarr/plain"
    adapter = adapter_for("zarr", url)
    preview = adapter.open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    before = http_server.count()
    plane = np.asarray(preview.layers[0].data[5, :256, :])  # two chunks of (1, 256, 256)
    assert plane.shape == (256, 512)
    assert http_server.count() - before == 2
    np.asarray(preview.layers[0].data[5, :256, :])  # again: from the cache
    assert http_server.count() - before == 2
    preview.close()


def _forget_cached_chunks(url: str) -> None:
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import remote_store

    remote_store(parse_url(url)).cache.clear()


def _run_until_first_request(server, call):
    """``call`` run in a thread until the first request reaches ``server`` (held there):
    the thread and the list that receives what came out of it (None, or the exception)."""
    outcome: list[BaseException | None] = []

    def run():
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what came out
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = threading.Event()
    for _ in range(200):  # until the first request reached the server
        if server.count():
            break
        deadline.wait(0.01)
    return worker, outcome


def _held_preview_stops_when_cancelled(remote_data, open_with):
    """``open_with(url, token)`` previews a plain array of a server that holds every request
    (a network that does not answer); cancelling the token must end it at once."""
    from tests.remote_servers import LatencyHTTPServer

    from polystore_gui.model.cancel import CancelToken
    from polystore_gui.model.lazy import PreviewError

    server = LatencyHTTPServer(str(remote_data)).start()
    try:
        server.hold()
        token = CancelToken()
        worker, outcome = _run_until_first_request(server, lambda: open_with(server.url, token))
        assert server.count() >= 1
        token.cancel()
        worker.join(2)  # the request is still held by the server: only cancellation ends it
        assert not worker.is_alive()
        assert isinstance(outcome[0], PreviewError) and "cancelled" in str(outcome[0])
    finally:
        server.release()
        server.stop()


def test_cancelling_a_slow_preview_stops_at_once(aws_env, remote_data):
    def open_with(url, token):
        return adapter_for("zarr", url).open_preview(
            "zarr", url + "/consolidated.zarr/plain", size_limit=1 << 30, confirmed=False, cancelled=token)

    _held_preview_stops_when_cancelled(remote_data, open_with)


def test_a_preview_job_stops_when_its_token_is_cancelled(aws_env, remote_data):
    """The preview panel's job hands open_preview its one cancel token (``cancelled=``, as
    every job does): cancelling the job's token stops the remote reads in flight at once,
    with no event of the remote layer's own to set."""
    from polystore_gui.model.lazy import open_preview

    _held_preview_stops_when_cancelled(remote_data, lambda url, token: open_preview(
        "zarr", url + "/consolidated.zarr/plain", size_limit=1 << 30, cancelled=token))


def test_server_stopping_mid_preview_gives_a_clear_error(aws_env, remote_data):
    from tests.remote_servers import LatencyHTTPServer

    server = LatencyHTTPServer(str(remote_data), latency=0.0).start()
    url = server.url + "/consolidated.zarr/plain"
    adapter = adapter_for("zarr", url)
    preview = adapter.open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    server.stop()
    safe = preview.layers[0].sources[0]
    _forget_cached_chunks(url)  # the preview's contrast sample read a plane: read from the network again
    plane = np.asarray(safe[7])  # chunks not read yet: the server is gone
    assert (plane == 0).all()  # shown as the fill value...
    messages = " ".join(safe.failures.values())
    assert "connection" in messages and "127.0.0.1" in messages  # ...with what happened, per chunk
    preview.close()


def test_server_stopping_mid_preview_on_s3(aws_env, moto_s3):
    from tests.remote_servers import MotoS3, upload_folder

    server = MotoS3().start(make_user=False)  # a second door to moto's (per-process) buckets
    try:
        aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_key)
        aws_env.setenv("AWS_ENDPOINT_URL", server.endpoint)
        url = "s3://data/experiment.zarr/plain"
        preview = adapter_for("zarr", url).open_preview("zarr", url, size_limit=1 << 30, confirmed=False)
    finally:
        server.stop()
    safe = preview.layers[0].sources[0]
    _forget_cached_chunks(url)
    np.asarray(safe[3])
    assert "refused" in " ".join(safe.failures.values()) or "dropped" in " ".join(safe.failures.values())
    preview.close()


# -- credentials ---------------------------------------------------------------------------------


def test_right_keys_from_the_environment(s3_keys):
    assert "plain" in _children("s3://data/experiment.zarr")


def test_wrong_keys_say_who_was_refused_and_how_to_choose(aws_env, moto_s3):
    aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    aws_env.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    entry = adapter_for("zarr", "s3://data/experiment.zarr").entry("zarr", "s3://data/experiment.zarr")
    assert entry.kind is EntryKind.ERROR
    assert "Permission denied (403)" in entry.error
    assert f"access key {moto_s3.access_key[:4]}" in entry.error and "environment" in entry.error
    assert "--profile" in entry.error and "--anonymous" in entry.error
    assert "not-the-secret" not in entry.error


def test_missing_credentials_read_anonymously_and_say_so(aws_env, moto_s3):
    aws_env.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    entry = adapter_for("zarr", "s3://data/experiment.zarr").entry("zarr", "s3://data/experiment.zarr")
    assert "Permission denied (403)" in entry.error and "anonymous" in entry.error


def test_anonymous_access_to_public_data_needs_no_keys(aws_env, moto_s3):
    from polystore_gui.model.remote_access import RemoteOptions, set_store_options

    set_store_options("s3://public", RemoteOptions(anonymous=True, endpoint_url=moto_s3.endpoint))
    assert "plain" in _children("s3://public/experiment.zarr")
    aws_env.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)  # and with no keys anywhere: anonymous by itself
    assert "plain" in _children("s3://public/experiment.zarr/")


def test_profiles_from_the_aws_files(aws_env, moto_s3, tmp_path):
    from polystore_gui.model.remote_access import RemoteOptions, set_store_options

    (tmp_path / "aws-credentials").write_text(
        f"[lab]\naws_access_key_id = {moto_s3.access_key}\naws_secret_access_key = {moto_s3.secret_key}\n"
        "[other]\naws_access_key_id = AKIAOTHERKEY0000\naws_secret_access_key = nope\n")
    (tmp_path / "aws-config").write_text(f"[profile lab]\nendpoint_url = {moto_s3.endpoint}\n"
                                         f"[profile other]\nendpoint_url = {moto_s3.endpoint}\n")
    set_store_options("s3://data", RemoteOptions(profile="lab"))
    assert "plain" in _children("s3://data/experiment.zarr")  # endpoint from the profile too
    set_store_options("s3://data", RemoteOptions(profile="other"))
    entry = adapter_for("zarr", "s3://data/x").entry("zarr", "s3://data/experiment.zarr")
    assert "profile 'other'" in entry.error and "403" in entry.error
    set_store_options("s3://data", RemoteOptions(profile="nosuch"))
    entry = adapter_for("zarr", "s3://data/x").entry("zarr", "s3://data/experiment.zarr")
    assert "profile 'nosuch'" in entry.error and "is not in ~/.aws" in entry.error


def test_options_keep_no_secret():
    from polystore_gui.model.remote_access import Identity, RemoteOptions

    assert set(RemoteOptions(profile="lab", endpoint_url="http://x").as_settings()) == {
        "profile", "endpoint_url", "anonymous"}
    assert "s3cr3t" not in repr(Identity("access key AKIA…", False, "AKIAXXXX", "s3cr3t"))


# -- network failures ----------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_says_so(aws_env):
    url = f"http://127.0.0.1:{_free_port()}/store.zarr"
    entry = adapter_for("zarr", url).entry("zarr", url)
    assert "connection refused" in entry.error


def test_tls_error_says_so(aws_env, http_server):
    url = http_server.url.replace("http://", "https://") + "/consolidated.zarr"
    entry = adapter_for("zarr", url).entry("zarr", url)
    assert "TLS error" in entry.error


def test_timeout_says_so(aws_env, remote_data, monkeypatch):
    from datetime import timedelta

    from tests.remote_servers import LatencyHTTPServer

    from polystore_gui.model import remote_access

    monkeypatch.setattr(remote_access, "REQUEST_TIMEOUT", timedelta(milliseconds=300))
    monkeypatch.setattr(remote_access, "MAX_RETRIES", 0)
    server = LatencyHTTPServer(str(remote_data), latency=0.0).start()
    try:
        server.hold()
        url = server.url + "/consolidated.zarr"
        entry = adapter_for("zarr", url).entry("zarr", url)
        assert "timeout" in entry.error
    finally:
        server.release()
        server.stop()


def test_dns_failure_is_named():
    # A real lookup would leave loopback; the message obstore gives for one is classified.
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_errors import DNS, explain

    exc = Exception("Generic HTTP error: error sending request: client error (Connect): dns error: "
                    "failed to lookup address information: Name or service not known")
    error = explain(exc, parse_url("https://no.such.host/a.zarr"))
    assert error.kind == DNS and "DNS failure" in str(error)


# -- chunk maps ----------------------------------------------------------------------------------


def test_chunk_map_on_s3_matches_the_local_one(s3_keys, remote_data):
    from polystore_gui.model.chunk_layout import read_layout, resolve_array
    from polystore_gui.model.chunks import scan_report

    for name in ("sharded", "plain"):
        remote_path, _note = resolve_array("zarr", f"s3://data/experiment.zarr/{name}")
        remote = scan_report(read_layout(remote_path)).summary()
        local = scan_report(read_layout(str(remote_data / "experiment.zarr" / name))).summary()
        for key in ("nchunks", "nchunks_initialized", "nchunks_missing", "nshards_initialized", "stored_bytes"):
            assert remote[key] == local[key], (name, key)
    path, note = resolve_array("ome_zarr", "s3://data/experiment.zarr/image")
    assert path.endswith("/image/0") and "full-resolution" in note


def test_chunk_map_over_http_says_it_needs_a_listing(aws_env, http_server):
    from polystore_gui.model.chunk_layout import ChunkLayoutError, read_layout, resolve_array
    from polystore_gui.model.chunks import scan_report

    path, _note = resolve_array("zarr", http_server.url + "/consolidated.zarr/plain")
    with pytest.raises(ChunkLayoutError, match="needs a listing"):
        scan_report(read_layout(path))
