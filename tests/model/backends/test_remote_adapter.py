"""The remote adapter (s3:// on moto's S3 server, loopback) passes the conformance suite."""

from __future__ import annotations

import uuid

import pytest
import zarr

from polystore_gui.model.entries import EntryKind
from tests.remote_servers import upload_folder

from .conformance import ListableAdapterTests, Place


class TestRemoteZarr(ListableAdapterTests):
    """A zarr group on S3: read-only here (``cp`` writes to S3, the window does not)."""

    @pytest.fixture
    def place(self, tmp_path, s3_keys):
        local = tmp_path / "root.zarr"
        root = zarr.open_group(str(local), mode="w", zarr_format=3)
        root.create_group("alpha")
        root.create_group("Sub").create_array("inner", shape=(4,), dtype="uint8")[:] = 1
        root.create_array("A", shape=(8, 8), chunks=(4, 4), dtype="uint16")[:] = 7
        root.create_array("b", shape=(3,), dtype="float32")[:] = 1.5
        prefix = f"conformance-{uuid.uuid4().hex[:8]}/root.zarr"
        upload_folder(s3_keys.client(), "data", str(local), prefix)
        self.client = s3_keys.client()
        yield Place("zarr", f"s3://data/{prefix}", {"Sub": EntryKind.GROUP, "alpha": EntryKind.GROUP,
                                                    "A": EntryKind.ARRAY, "b": EntryKind.ARRAY},
                    ["alpha", "Sub", "A", "b"], leaf="A")

    def refuse_listing(self, monkeypatch, path):
        """S3 answers 403 to a listing the identity may not make."""
        from polystore_gui.model.remote_errors import explain
        from polystore_gui.model.remote_store import RemoteStore

        real = RemoteStore.list_dir_async

        async def refused(store, prefix, cancelled=lambda: False):
            if str(store.url(prefix)) == path:
                raise explain(type("PermissionDeniedError", (Exception,), {})("403 Forbidden"), store.url(prefix),
                              store.identity)
            return await real(store, prefix, cancelled)

        monkeypatch.setattr(RemoteStore, "list_dir_async", refused)

    def remove(self, adapter, place, path):
        key = path.removeprefix("s3://data/")
        listed = self.client.list_objects_v2(Bucket="data", Prefix=key + "/").get("Contents", [])
        for item in listed:
            self.client.delete_object(Bucket="data", Key=item["Key"])

    def test_it_is_read_only_and_remote(self, adapter):
        caps = adapter.capabilities
        assert caps.remote and not caps.writable and not caps.local and not caps.renamable
