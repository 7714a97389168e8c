"""The plate adapter (``virtual_workspace`` on a plate folder with its workspace file) in
the conformance suite, and plate recognition through the adapters' capabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polystore_gui.model.backends import adapter_for
from polystore_gui.model.entries import EntryKind
from tests.model.backends.conformance import ListableAdapterTests, Place

DOCUMENT = "polystore_metadata.json"


def _write_workspace(root, virtual_paths):
    import tifffile

    (root / "images").mkdir(parents=True, exist_ok=True)
    mapping = {}
    for i, virtual in enumerate(virtual_paths):
        source = f"images/source_{i}.tif"
        if not (root / source).exists():
            tifffile.imwrite(root / source, np.full((4, 6), i, np.uint16))
        mapping[virtual] = {"backend": "disk", "backend_address": source, "source_axis_indices": []}
    doc = {"subdirectories": {"images": {"main": True, "workspace_mapping": mapping}}}
    (root / DOCUMENT).write_text(json.dumps(doc))


class TestVirtualWorkspace(ListableAdapterTests):
    """A plate folder whose polystore document maps ``ws/...`` virtual paths to TIFFs."""

    VIRTUAL = ["ws/alpha/x.tif", "ws/Sub/y.tif", "ws/A.tif", "ws/b.tif"]

    @pytest.fixture
    def place(self, tmp_path):
        plate = tmp_path / "plate"
        _write_workspace(plate, self.VIRTUAL)
        yield Place("virtual_workspace", str(plate / "ws"),
                    {"alpha": EntryKind.DIRECTORY, "Sub": EntryKind.DIRECTORY,
                     "A.tif": EntryKind.VIRTUAL_FILE, "b.tif": EntryKind.VIRTUAL_FILE},
                    ["alpha", "Sub", "A.tif", "b.tif"], leaf="A.tif", extra={"plate": plate})

    def refuse_listing(self, monkeypatch, path):
        from polystore.virtual_workspace import VirtualWorkspaceBackend

        real = VirtualWorkspaceBackend.list_dir

        def list_dir(backend, p):
            if str(p).rstrip("/") == path.rstrip("/"):
                raise PermissionError(13, "Permission denied", str(p))
            return real(backend, p)

        monkeypatch.setattr(VirtualWorkspaceBackend, "list_dir", list_dir)

    def remove(self, adapter, place, path):
        # The document no longer maps anything under the folder (written again behind the browser's back).
        relative = path[len(str(place.extra["plate"])) + 1:]
        _write_workspace(place.extra["plate"], [v for v in self.VIRTUAL if not v.startswith(relative + "/")])

    def test_it_is_read_only(self, adapter):
        assert not adapter.capabilities.writable and not adapter.capabilities.renamable
        with pytest.raises(OSError):
            adapter.delete("virtual_workspace", "/x")

    def test_a_virtual_file_previews_its_source_plane(self, adapter, place):
        preview = adapter.open_preview("virtual_workspace", place.path("b.tif"), size_limit=1 << 20, confirmed=False)
        assert preview.is_array and preview.info.shape == (4, 6)
        assert int(np.asarray(preview.layers[0].data).max()) == 3

    def test_a_folder_without_a_workspace_says_what_is_missing(self, tmp_path):
        adapter = adapter_for("virtual_workspace")
        entry = adapter.entry("virtual_workspace", str(tmp_path))
        assert entry.kind is EntryKind.ERROR and "workspace_mapping" in entry.error


def test_plates_are_recognised_through_local_adapters_only(tmp_path):
    from polystore_gui.model.backends.plate import plate_at, register_plate_reader
    from tests.plates import write_ome_plate

    path = write_ome_plate(tmp_path / "p.zarr", wells=["A/1"], fields=1, levels=1)
    for backend in ("disk", "zarr", "ome_zarr"):
        assert plate_at(backend, str(path)).kind == "ome-plate"
    assert plate_at("memory", str(path)) is None
    seen = []
    register_plate_reader("memory", lambda backend, p, check: seen.append(p))
    try:
        assert plate_at("memory", "/somewhere") is None and seen == ["/somewhere"]
    finally:
        from polystore_gui.model.backends import plate as plate_module

        plate_module._REMOTE_READERS.pop("memory")


def test_the_virtual_workspace_row_lists_the_plates_met_with_a_workspace(tmp_path, monkeypatch):
    """The backend's own row (path "") says what to do until a plate with a workspace is
    met, then lists it; expanding that plate lists its workspace."""
    from polystore_gui.model.backends import plate as plate_module
    from polystore_gui.model.backends.common import ListingError
    from polystore_gui.model.entries import Entry
    from tests.plates import write_ome_plate, write_workspace_plate

    monkeypatch.setattr(plate_module, "_MET_WORKSPACES", {})
    adapter = adapter_for("virtual_workspace")
    row = Entry("virtual_workspace", "", "virtual_workspace", EntryKind.BACKEND)
    with pytest.raises(ListingError, match="No plate with a virtual workspace opened yet: select a plate folder"):
        list(adapter.list_children(row))
    plain = write_ome_plate(tmp_path / "plain.zarr", wells=["A/1"], fields=1, levels=1)
    plate_module.plate_at("disk", str(plain))  # a plate without a workspace is not listed
    folder = write_workspace_plate(tmp_path / "screen")
    assert plate_module.plate_at("disk", str(folder)).workspace == f"virtual_workspace:{folder}"
    (listed,) = adapter.list_children(row)
    assert [(e.path, e.kind) for e in listed] == [(str(folder), EntryKind.DIRECTORY)]
    (inside,) = adapter.list_children(listed[0])
    assert [e.name for e in inside] == ["workspace"]
