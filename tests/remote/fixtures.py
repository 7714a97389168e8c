"""Fixtures for remote stores (a pytest plugin, registered by tests/conftest.py so that every test folder shares one server): moto's S3 server and a 50 ms HTTP host, both on 127.0.0.1.

The same zarr v3 store (the demo's experiment.zarr: a plain array, a sharded one with
missing chunks, an OME-NGFF image with labels, written by zarr-python) is served by both;
the HTTP copy also exists with consolidated metadata, since a plain HTTP server lists
nothing. Credentials come from a private, empty AWS configuration: never the user's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.remote_servers import LatencyHTTPServer, MotoS3, upload_folder


@pytest.fixture(scope="session")
def remote_data(demo_dir, tmp_path_factory) -> Path:
    """A folder with ``experiment.zarr`` and ``consolidated.zarr`` (the same, consolidated)."""
    import zarr

    root = tmp_path_factory.mktemp("remote-data")
    shutil.copytree(demo_dir / "stores" / "experiment.zarr", root / "experiment.zarr")
    shutil.copytree(demo_dir / "stores" / "experiment.zarr", root / "consolidated.zarr")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr says consolidated metadata is not in the v3 spec yet
        zarr.consolidate_metadata(str(root / "consolidated.zarr"))
    return root


@pytest.fixture(scope="session")
def http_server(remote_data):
    server = LatencyHTTPServer(str(remote_data), latency=0.05).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3(remote_data):
    server = MotoS3().start()
    client = server.client()
    client.create_bucket(Bucket="data")
    upload_folder(client, "data", str(remote_data / "experiment.zarr"), "experiment.zarr")
    upload_folder(client, "data", str(remote_data / "consolidated.zarr"), "consolidated.zarr")
    client.put_object(Bucket="data", Key="notes/readme.txt", Body=b"hello")
    client.create_bucket(Bucket="upload")
    client.create_bucket(Bucket="public", ACL="public-read")
    for path in sorted((remote_data / "experiment.zarr").rglob("*")):
        if path.is_file():
            key = "experiment.zarr/" + path.relative_to(remote_data / "experiment.zarr").as_posix()
            client.put_object(Bucket="public", Key=key, Body=path.read_bytes(), ACL="public-read")
    server.public.add("public")
    server.enforce_auth()
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """No AWS configuration at all (no keys, no profiles), and fresh remote stores."""
    from polystore_gui.model import remote_access, remote_store

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_SKIP_SIGNATURE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    remote_store.forget_stores()
    remote_access.set_default_options(remote_access.RemoteOptions())
    yield monkeypatch
    remote_store.forget_stores()
    remote_access.set_default_options(remote_access.RemoteOptions())
    remote_access._store_options.clear()


@pytest.fixture
def s3_keys(aws_env, moto_s3):
    """The right keys in the environment, and moto's endpoint in AWS_ENDPOINT_URL."""
    aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_key)
    aws_env.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    return moto_s3


@pytest.fixture(params=["s3", "http"])
def store_url(request, remote_data) -> str:
    """The root of the consolidated store on each server (moto with the right keys)."""
    if request.param == "s3":
        request.getfixturevalue("s3_keys")
        return "s3://data/consolidated.zarr"
    request.getfixturevalue("aws_env")
    return request.getfixturevalue("http_server").url + "/consolidated.zarr"
