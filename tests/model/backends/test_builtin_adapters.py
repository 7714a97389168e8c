"""The built-in adapters pass the conformance suite (``conformance.py``): disk, memory,
zarr and OME-Zarr stores; the streaming sinks and the backends that need context pass
theirs. Real polystore backends throughout (the registry's memory instance)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
import zarr

from polystore_gui.model.backends import adapter_for
from polystore_gui.model.backends.common import ListingError
from polystore_gui.model.entries import EntryKind

from .conformance import ListableAdapterTests, Place, UnlistableAdapterTests, WritableAdapterTests, children

D, F = EntryKind.DIRECTORY, EntryKind.FILE


class TestDisk(WritableAdapterTests):
    @pytest.fixture
    def place(self, tmp_path):
        root = tmp_path / "place"
        (root / "Sub").mkdir(parents=True)
        (root / "Sub" / "inner.txt").write_text("inside")
        (root / "alpha").mkdir()
        (root / "b.txt").write_text("hello")
        (root / "A.bin").write_bytes(os.urandom(70_000))
        np.save(root / "c.npy", np.arange(6, dtype=np.int16).reshape(2, 3))
        zarr.open_group(str(root / "store.zarr"), mode="w").create_array("a", shape=(2, 4), dtype="uint8")
        yield Place("disk", str(root), {"Sub": D, "alpha": D, "b.txt": EntryKind.TEXT_FILE, "A.bin": F,
                                        "c.npy": EntryKind.ARRAY_FILE, "store.zarr": EntryKind.ZARR_STORE},
                    ["alpha", "store.zarr", "Sub", "A.bin", "b.txt", "c.npy"], leaf="A.bin")

    def make_folder(self, place, name):
        os.mkdir(place.path(name))
        return place.path(name)

    def content(self, backend, path):
        with open(path, "rb") as fh:
            return fh.read()

    def test_names_that_are_not_utf8_are_listed_described_and_said(self, tmp_path):
        root = tmp_path / "odd"
        root.mkdir()
        raw = os.path.join(os.fsencode(root), b"bad\xff.txt")
        with open(raw, "wb") as fh:
            fh.write(b"12345")
        os.mkdir(os.path.join(os.fsencode(root), b"dir\xfe"))
        adapter = adapter_for("disk")
        listed = children(adapter, adapter.entry("disk", str(root)))
        by_kind = {e.kind: e for e in listed}
        file, folder = by_kind[EntryKind.TEXT_FILE], by_kind[EntryKind.DIRECTORY]
        assert file.name == "bad\ufffd.txt" and folder.name == "dir\ufffd"  # shown, never raising
        assert "not valid UTF-8" in file.detail and "not valid UTF-8" in folder.detail
        assert os.fsencode(file.path) == raw  # the path still reaches the file
        (described,) = [e for b in adapter.describe([file]) for e in b]
        assert described.size == 5
        assert adapter.info("disk", file.path).size == 5
        assert children(adapter, folder) == []


class TestMemory(WritableAdapterTests):
    @pytest.fixture
    def place(self):
        from polystore_gui.model.backends.memory import memory_backend

        memory = memory_backend()
        root = f"/conformance_{uuid.uuid4().hex[:8]}"
        memory.ensure_directory(root + "/Sub")
        memory.ensure_directory(root + "/alpha")
        memory.save("inside", root + "/Sub/inner.txt")
        memory.save("hello", root + "/b.txt")
        memory.save(b"\x00\x01\x02", root + "/A.bin")
        memory.save(np.arange(12, dtype=np.float32).reshape(3, 4), root + "/arr")
        yield Place("memory", root, {"Sub": D, "alpha": D, "b.txt": EntryKind.TEXT_FILE, "A.bin": F,
                                     "arr": EntryKind.ARRAY},
                    ["alpha", "Sub", "A.bin", "arr", "b.txt"], leaf="arr")
        memory.delete_all(root)

    def refuse_listing(self, monkeypatch, path):
        from polystore_gui.model.backends.memory import memory_backend

        memory = memory_backend()
        real = memory.list_dir

        def list_dir(p, *a, **kw):
            if str(p).rstrip("/") == path.rstrip("/"):
                raise PermissionError(13, "Permission denied", str(p))
            return real(p, *a, **kw)

        monkeypatch.setattr(memory, "list_dir", list_dir)

    def make_folder(self, place, name):
        from polystore_gui.model.backends.memory import memory_backend

        memory_backend().ensure_directory(place.path(name))
        return place.path(name)

    def content(self, backend, path):
        from polystore_gui.model.backends.memory import memory_backend

        if backend == "disk":
            return np.load(path)
        return memory_backend().load(path)


def _zarr_place(tmp_path, *, ome: bool):
    root = tmp_path / ("image.ome.zarr" if ome else "store.zarr")
    group = zarr.open_group(str(root), mode="w", zarr_format=3)
    group.create_group("Sub").create_array("inner", shape=(2,), dtype="int8")
    group.create_group("alpha")
    a = group.create_array("A", shape=(3, 8, 8), chunks=(1, 8, 8), dtype="uint16")
    a[:] = np.arange(3 * 64, dtype=np.uint16).reshape(3, 8, 8)
    group.create_array("b", shape=(5,), dtype="float32")
    if ome:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [{
            "axes": [{"name": "z", "type": "space"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
            "datasets": [{"path": "A", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}]}]}
    return root


class TestZarr(WritableAdapterTests):
    @pytest.fixture
    def place(self, tmp_path):
        root = _zarr_place(tmp_path, ome=False)
        yield Place("zarr", str(root), {"Sub": EntryKind.GROUP, "alpha": EntryKind.GROUP, "A": EntryKind.ARRAY,
                                        "b": EntryKind.ARRAY}, ["alpha", "Sub", "A", "b"], leaf="A")

    def make_folder(self, place, name):
        zarr.open_group(place.root, mode="r+").create_group(name)
        return place.path(name)

    def content(self, backend, path):
        return zarr.open_array(path, mode="r")[...]


class TestOmeZarr(ListableAdapterTests):
    """polystore's OME-Zarr backend is a read-only source: listed and read, never written."""

    @pytest.fixture
    def place(self, tmp_path):
        root = _zarr_place(tmp_path, ome=True)
        yield Place("ome_zarr", str(root), {"Sub": EntryKind.GROUP, "alpha": EntryKind.GROUP,
                                            "A": EntryKind.ARRAY, "b": EntryKind.ARRAY},
                    ["alpha", "Sub", "A", "b"], leaf="A")

    def test_it_is_read_only(self, adapter):
        assert not adapter.capabilities.writable and not adapter.capabilities.renamable

    def test_a_root_image_is_an_ome_zarr_entry(self, adapter, place):
        assert adapter.entry("ome_zarr", place.root).kind is EntryKind.OME_ZARR


def _registry_keys():
    from polystore.backend_registry import STORAGE_BACKENDS

    STORAGE_BACKENDS._discover()
    return sorted(STORAGE_BACKENDS.keys())


class TestSinks(UnlistableAdapterTests):
    kind = "sink"

    def keys(self):
        found = [k for k in _registry_keys() if adapter_for(k).capabilities.sink]
        return found

    def test_the_streaming_viewers_are_the_sinks(self):
        # The registry's word (a DataSink that is no DataSource), not a list kept here.
        from polystore.backend_registry import STORAGE_BACKENDS
        from polystore_gui.model.catalogue import Capability, class_capability

        sinks = {k for k in _registry_keys() if class_capability(STORAGE_BACKENDS[k]) is Capability.SINK
                 and not adapter_for(k).capabilities.needs_context}
        assert set(self.keys()) == sinks and {"napari_stream", "fiji_stream"} <= sinks


class TestNeedsContext(UnlistableAdapterTests):
    kind = "needs_context"

    def keys(self):
        # Those the browser cannot browse (a plate adapter may serve virtual_workspace).
        return [k for k in _registry_keys() if adapter_for(k).capabilities.needs_context
                and not adapter_for(k).capabilities.listable]

    def test_they_are_the_ones_polystore_builds_only_with_context(self):
        assert {"omero_local", "bioformats"} <= set(self.keys())


def test_every_registered_backend_has_an_adapter_and_an_unknown_key_is_said():
    for key in _registry_keys():
        caps = adapter_for(key).capabilities
        assert caps.listable or caps.sink or caps.needs_context, key
    nowhere = adapter_for("no_such_backend")
    assert not nowhere.capabilities.listable and not nowhere.exists("no_such_backend", "/")
    from polystore_gui.model.entries import Entry

    with pytest.raises(ListingError, match="no backend named 'no_such_backend'"):
        children(nowhere, Entry("no_such_backend", "/", "/", EntryKind.ROOT))


def test_importing_the_package_imports_no_storage_library():
    code = ("import sys, polystore_gui.model.backends as b; b.adapter_for('disk'); b.adapter_for('memory');"
            "b.adapter_for('zarr'); print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'zarr', 'numpy', 'polystore', 'napari', 'dask', 'obstore'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_an_adapter_registered_for_a_scheme_serves_those_urls():
    from polystore_gui.model.backends import base, register_adapter
    from polystore_gui.model.backends.sinks import SinkAdapter

    fake = SinkAdapter("conformance-fake")
    register_adapter(fake, schemes=("conformance-x",))
    try:
        assert adapter_for("zarr", "conformance-x://bucket/key") is fake
        assert adapter_for("zarr", "/conformance-x/local") is adapter_for("zarr")
    finally:
        base._by_scheme.pop("conformance-x")
