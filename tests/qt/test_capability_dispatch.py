"""The window and the tree ask the adapters what a backend can do (no backend lists): an
adapter registered for a new key is treated per its capabilities, and a remote store --
served by the remote adapter under the ``zarr`` key -- is never written, deleted or
converted into as if it were a zarr store on this machine."""

from __future__ import annotations

from qtpy.QtCore import Qt

from polystore_gui.model.address import Address
from polystore_gui.model.backends import Capabilities
from polystore_gui.model.entries import Entry, EntryKind

from ..model.test_capability_users import Protocolled, registered  # noqa: F401  (the fixture)

REMOTE_STORE = "s3://bucket/plate.zarr"


def test_delete_and_rename_follow_writable_and_renamable(make_window, registered, tmp_path):
    registered("w1_writable", Capabilities(readable=True, writable=True, listable=True))
    window = make_window([tmp_path])
    entry = Entry("w1_writable", "/a", "a", EntryKind.FILE)
    assert window.why_not_deletable(entry) is None
    assert window.why_not_deletable(entry, verb="rename") == "w1_writable:/a: the w1_writable backend is read-only here"
    remote = Entry("zarr", REMOTE_STORE + "/A", "A", EntryKind.GROUP)
    assert window.why_not_deletable(remote) == f"zarr:{REMOTE_STORE}/A: a remote store is read-only here"
    assert window.why_not_deletable(Entry("ome_zarr", str(tmp_path), "x", EntryKind.GROUP)) is not None
    assert window.why_not_deletable(Entry("zarr", str(tmp_path), "x", EntryKind.GROUP)) is None


def test_a_remote_store_row_takes_no_drop(make_window, tmp_path):
    window = make_window([tmp_path])
    model = window.tree_model
    model.add_store(Entry("zarr", REMOTE_STORE, "plate.zarr", EntryKind.ZARR_STORE))
    index = model.find("zarr", REMOTE_STORE)
    assert index.isValid()
    assert model.drop_target(index) is None
    mime = model.mimeData([model.find("disk", str(tmp_path))])
    assert not model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index)
    # The writable backends still take drops: memory's row, a local store.
    assert model.drop_target(model.backend_index("memory")) == Address("memory", "/")


def test_dragging_gives_file_urls_for_every_local_adapter(registered, qapp, tmp_path):
    from polystore_gui.qt.tree_drops import entries_mime

    item = tmp_path / "a.bin"
    item.write_bytes(b"x")
    registered("w1_local", Capabilities(readable=True, listable=True, local=True))
    mime = entries_mime([Address("w1_local", str(item)), Address("memory", str(item))])
    assert [u.toLocalFile() for u in mime.urls()] == [str(item)]


def test_the_drop_menu_offers_conversion_per_capabilities(make_window, registered, tmp_path):
    tiff = tmp_path / "stack.tif"
    tiff.write_bytes(b"")
    registered("w1_files", Capabilities(readable=True, writable=True, listable=True, local=True, holds_links=True))
    window = make_window([tmp_path])
    assert window._offers_conversion([Address("disk", str(tiff))], Address("disk", str(tmp_path)))
    assert window._offers_conversion([Address("w1_files", str(tiff))], Address("w1_files", str(tmp_path)))
    assert not window._offers_conversion([Address("disk", str(tiff))], Address("zarr", REMOTE_STORE))
    assert not window._offers_conversion([Address("disk", str(tiff))], Address("memory", "/"))


def test_a_drop_on_any_sink_adapter_goes_to_the_viewer_link(make_window, registered, tmp_path):
    registered("w1_sink", Capabilities(sink=True))
    window = make_window([tmp_path])
    sent = []
    window.viewer_link.send = lambda addresses, sink: sent.append((sink, list(addresses)))
    source = Address("disk", str(tmp_path))
    window._on_tree_model_entries_dropped("w1_sink", "", [source], Qt.DropAction.CopyAction)
    assert sent == [("w1_sink", [source])]


def test_the_volatile_root_icon_and_the_plain_folders_that_announce_stores(registered, qapp):
    from polystore_gui.qt.icons import icon_for_entry, named
    from polystore_gui.qt.tree_nodes import plain_folders

    registered("w1_volatile", Capabilities(readable=True, writable=True, listable=True, volatile=True))
    registered("w1_files", Capabilities(readable=True, listable=True, local=True, holds_links=True))
    icon = icon_for_entry(Entry("w1_volatile", "/", "/", EntryKind.ROOT))
    assert icon.cacheKey() == named("memory").cacheKey()
    assert plain_folders("disk") and plain_folders("w1_files")
    assert not plain_folders("zarr") and not plain_folders("memory") and not plain_folders("w1_volatile")


def test_the_top_rows_that_hold_opened_places_are_the_local_chunk_inspectable_ones(registered):
    from polystore_gui.qt.tree_nodes import opened_places

    registered("w1_stores", Capabilities(readable=True, listable=True, local=True, chunk_inspectable=True))
    assert [k for k in ("disk", "zarr", "ome_zarr", "memory", "virtual_workspace", "napari_stream", "w1_stores")
            if opened_places(k)] == ["disk", "zarr", "ome_zarr", "w1_stores"]
