"""The CLI on remote stores (ls, info, cp both ways) against moto's S3 and the 50 ms HTTP host."""

from __future__ import annotations

import json
import os
import signal
import threading

import numpy as np
import pytest
import zarr

from polystore_gui.cli import main


@pytest.fixture(autouse=True)
def _signals_restored():
    """cp installs SIGINT/SIGTERM handlers (to cancel): give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_and_info_on_both_servers(capsys, store_url):
    code, out, err = _run(capsys, "ls", store_url, "--json")
    assert code == 0, err
    names = {e["name"]: e for e in json.loads(out)}
    assert names["plain"]["shape"] == [16, 512, 512] and names["image"]["kind"] == "ome-zarr image"
    code, out, err = _run(capsys, "info", f"zarr:{store_url}/image", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ome"]["labels"] == ["nuclei"] and len(doc["ome"]["levels"]) == 3


def test_endpoint_and_profile_options(capsys, aws_env, moto_s3, tmp_path):
    (tmp_path / "aws-credentials").write_text(
        f"[lab]\naws_access_key_id = {moto_s3.access_key}\naws_secret_access_key = {moto_s3.secret_key}\n")
    code, out, err = _run(capsys, "ls", "s3://data/experiment.zarr", "--profile", "lab",
                          "--endpoint-url", moto_s3.endpoint)
    assert code == 0, err
    assert "sharded" in out
    code, out, err = _run(capsys, "info", "s3://data/experiment.zarr/plain", "--anonymous",
                          "--endpoint-url", moto_s3.endpoint)
    assert code == 1
    assert "Permission denied (403) to anonymous" in err and "--profile" in err and "Traceback" not in err


def test_chunks_takes_the_remote_options_as_ls_and_info_do(capsys, aws_env, moto_s3, tmp_path):
    (tmp_path / "aws-credentials").write_text(
        f"[lab]\naws_access_key_id = {moto_s3.access_key}\naws_secret_access_key = {moto_s3.secret_key}\n")
    code, out, err = _run(capsys, "chunks", "s3://data/experiment.zarr/sharded", "--json", "--summary",
                          "--profile", "lab", "--endpoint-url", moto_s3.endpoint)
    assert code == 0, err
    assert json.loads(out)["nshards_initialized"] > 0
    code, _out, err = _run(capsys, "chunks", "s3://data/experiment.zarr/sharded", "--summary", "--anonymous",
                           "--endpoint-url", moto_s3.endpoint)
    assert code == 1
    assert "Permission denied (403) to anonymous" in err and "Traceback" not in err


def test_bad_urls_are_usage_errors(capsys):
    code, _out, err = _run(capsys, "ls", "s3:///nothing")
    assert code == 2 and "names no bucket" in err


def _same_store(a, b):
    left, right = zarr.open_group(str(a), mode="r"), zarr.open_group(str(b), mode="r")
    for name in ("plain", "sharded", "image/0", "image/labels/nuclei/0"):
        np.testing.assert_array_equal(left[name][:], right[name][:])


def test_cp_remote_to_local_is_a_verified_raw_copy(capsys, store_url, tmp_path, remote_data):
    code, out, err = _run(capsys, "cp", store_url, str(tmp_path))
    assert code == 0, err
    assert "verified" in out
    copy = tmp_path / "consolidated.zarr"
    _same_store(copy, remote_data / "consolidated.zarr")
    # the sharded array's never-written shard stays missing in the copy (not written as fill)
    stored = {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()}
    original = {p.relative_to(remote_data / "consolidated.zarr").as_posix()
                for p in (remote_data / "consolidated.zarr").rglob("*") if p.is_file()}
    assert stored == original
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]


def test_cp_local_to_s3_then_back(capsys, s3_keys, tmp_path, remote_data):
    code, out, err = _run(capsys, "cp", str(remote_data / "experiment.zarr"), "s3://upload/run1")
    assert code == 0, err
    code, out, err = _run(capsys, "cp", "s3://upload/run1/experiment.zarr", str(tmp_path))
    assert code == 0, err
    _same_store(tmp_path / "experiment.zarr", remote_data / "experiment.zarr")
    code, _out, err = _run(capsys, "cp", str(remote_data / "experiment.zarr"), "s3://upload/run1")
    assert code == 1 and "exists" in err


def test_cp_refuses_an_existing_destination_and_skips_on_request(capsys, store_url, tmp_path):
    (tmp_path / "consolidated.zarr").mkdir()
    (tmp_path / "consolidated.zarr" / "mine.txt").write_text("keep me")
    code, _out, err = _run(capsys, "cp", store_url, str(tmp_path))
    assert code == 1 and "exists" in err
    code, out, _err = _run(capsys, "cp", store_url, str(tmp_path), "--on-conflict", "skip")
    assert code == 0 and out.startswith("skipped")
    assert (tmp_path / "consolidated.zarr" / "mine.txt").read_text() == "keep me"


def test_server_stopping_mid_copy_leaves_nothing(capsys, aws_env, remote_data, tmp_path):
    from tests.remote_servers import LatencyHTTPServer

    server = LatencyHTTPServer(str(remote_data), latency=0.02).start()
    stopper = threading.Thread(target=lambda: (_wait_for_requests(server, 40), server.stop()))
    stopper.start()
    try:
        code, _out, err = _run(capsys, "cp", server.url + "/consolidated.zarr", str(tmp_path))
    finally:
        stopper.join()
    assert code == 1
    assert "nothing was left" in err and ("dropped" in err or "refused" in err)
    assert os.listdir(tmp_path) == []


def test_s3_stopping_mid_copy_leaves_nothing(capsys, aws_env, moto_s3, tmp_path):
    from tests.remote_servers import MotoS3, stop_server_mid_copy

    server = MotoS3().start(make_user=False)
    aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_key)
    aws_env.setenv("AWS_ENDPOINT_URL", server.endpoint)

    calls = stop_server_mid_copy(aws_env, server, after=20, concurrency=2)  # once 20 objects arrived
    code, _out, err = _run(capsys, "cp", "s3://data/experiment.zarr", str(tmp_path))
    assert calls["n"] >= 20  # the server went away mid-copy
    assert code == 1 and "nothing was left" in err
    assert os.listdir(tmp_path) == []


def _wait_for_requests(server, n):
    done = threading.Event()
    for _ in range(1000):
        if server.count() >= n:
            return
        done.wait(0.01)


def test_chunks_on_s3_and_over_http(capsys, s3_keys, http_server, remote_data):
    code, out, err = _run(capsys, "chunks", "s3://data/experiment.zarr/sharded", "--json", "--summary")
    assert code == 0, err
    remote = json.loads(out)
    code, out, err = _run(capsys, "chunks", str(remote_data / "experiment.zarr" / "sharded"), "--json", "--summary")
    local = json.loads(out)
    for key in ("nshards", "nshards_initialized", "nchunks_initialized", "stored_bytes"):
        assert remote[key] == local[key], key
    assert remote["nshards_initialized"] < remote["nshards"]  # a shard never written is said
    code, _out, err = _run(capsys, "chunks", http_server.url + "/consolidated.zarr/plain")
    assert code == 1 and "needs a listing" in err
