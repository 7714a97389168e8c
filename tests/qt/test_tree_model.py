"""The backend tree: every registered backend, lazy listing, bad input, filtering, refresh."""

from __future__ import annotations

import os
import shutil

from qtpy.QtCore import QModelIndex, Qt

from polystore_gui.model.entries import EntryKind
from polystore_gui.qt.tree_model import ADDRESS_ROLE, ENTRY_ROLE, PAGE, ROW_KIND_ROLE, State

from .helpers import child_rows, expand


def _all_indexes(model, parent=QModelIndex()):
    for r in range(model.rowCount(parent)):
        index = model.index(r, 0, parent)
        yield index
        yield from _all_indexes(model, index)


def test_every_registered_backend_is_a_top_level_row(make_window, discovery):
    from polystore.backend_registry import STORAGE_BACKENDS

    window = make_window([])
    model = window.tree_model
    top = {model.index(r, 0).data(): model.index(r, 0) for r in range(model.rowCount())}
    assert set(top) == set(STORAGE_BACKENDS.keys())
    assert model.index(0, 0).data(ROW_KIND_ROLE) == "backend"
    kinds = {name: model.index(i.row(), 1).data() for name, i in top.items()}
    assert kinds["disk"] == "read-write storage"
    assert kinds["ome_zarr"] == "read-only source"
    assert kinds["napari_stream"] == "write-only sink"
    assert kinds["virtual_workspace"] == "read-only source: the workspaces of plates you open"
    for name, index in top.items():
        assert index.data(ADDRESS_ROLE)[0] == name
        assert not index.data(Qt.ItemDataRole.DecorationRole).isNull(), f"{name} has no icon"
    # Sinks and context-bound backends hold nothing to browse.
    assert not model.hasChildren(top["napari_stream"])
    assert not model.hasChildren(top["omero_local"])
    assert model.hasChildren(top["memory"])


def test_model_passes_qtmodeltester_while_listing(make_window, qtbot, qtmodeltester, demo_dir):
    window = make_window([demo_dir])
    model = window.tree_model
    qtmodeltester.check(model, force_py=True)
    # Listing while the tester watches every signal.
    expand(window, qtbot, "disk", str(demo_dir))
    expand(window, qtbot, "disk", str(demo_dir / "stores"))
    expand(window, qtbot, "disk", str(demo_dir / "stores" / "experiment.zarr"))
    expand(window, qtbot, "zarr", str(demo_dir / "stores" / "experiment.zarr" / "image"))
    model.sort(2, Qt.SortOrder.DescendingOrder)
    model.refresh(model.find("disk", str(demo_dir / "stores")))
    # The tester checks the whole model at every signal: slow on a loaded machine (5 s was too short there).
    qtbot.waitUntil(lambda: model.node(model.find("disk", str(demo_dir / "stores"))).state is State.LISTED,
                    timeout=30_000)
    qtmodeltester._run()  # the whole model, consistent after all those changes


def test_every_row_answers_the_address_role(make_window, qtbot, demo_dir):
    window = make_window([demo_dir])
    expand(window, qtbot, "disk", str(demo_dir))
    expand(window, qtbot, "disk", str(demo_dir / "images"))
    model = window.tree_model
    rows = list(_all_indexes(model))
    assert len(rows) > 15
    for index in rows:
        backend, path = index.data(ADDRESS_ROLE)
        assert isinstance(backend, str) and backend and isinstance(path, str)
    assert ("disk", str(demo_dir / "images" / "z_stack.tif")) in {i.data(ADDRESS_ROLE) for i in rows}


def test_large_folder_shows_a_page_behind_a_loading_row_then_a_row_for_the_rest(make_window, qtbot, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    n = 2 * PAGE + 123
    for i in range(n):
        (big / f"img_{i:06d}.tif").touch()
    window = make_window([tmp_path])
    model = window.tree_model
    expand(window, qtbot, "disk", str(tmp_path))
    index = model.find("disk", str(big))
    first_rows = []

    def on_rows_inserted(parent, first, last):
        if parent == index:
            first_rows.append(child_rows(model, index)[first])

    model.rowsInserted.connect(on_rows_inserted)
    with qtbot.waitSignal(model.listingFinished, timeout=30_000):
        model.fetchMore(index)
    # The placeholder came first, before any worker result, and stands for the folder.
    assert first_rows[0] == ("loading…", "loading", ("disk", str(big)))
    node = model.node(index)
    # One page is shown, in order, then a row standing for the rest (the folder list's).
    assert model.rowCount(index) == PAGE + 1
    names = [model.index(r, 0, index).data() for r in range(PAGE)]
    assert names == [f"img_{i:06d}.tif" for i in range(PAGE)]
    assert {model.index(r, 0, index).data(ROW_KIND_ROLE) for r in range(PAGE)} == {"entry"}
    more = model.index(PAGE, 0, index)
    assert more.data(ROW_KIND_ROLE) == "more" and more.data(ADDRESS_ROLE) == ("disk", str(big))
    assert f"{n - PAGE:,} more of {n:,}" in more.data()
    assert not model.hasChildren(more) and not model.flags(more) & Qt.ItemFlag.ItemIsDragEnabled
    assert model.index(index.row(), 2, index.parent()).data() == f"{n:,} items"
    # A listed folder never answers canFetchMore (views would pull every page unasked),
    # and its whole listing, in order, is there for the folder list.
    assert not model.canFetchMore(index) and model.is_large(index)
    listing = model.listing(index)
    assert [e.name for e in listing] == [f"img_{i:06d}.tif" for i in range(n)]
    # Details: learnt for the page the tree shows, not for the rest (asked for when on screen).
    qtbot.waitUntil(lambda: node.job is None, timeout=30_000)
    assert model.index(PAGE - 1, 2, index).data() == "0 B"
    assert model.listing(index)[-1].size is None
    model.request_details(index, listing[-3:])
    qtbot.waitUntil(lambda: model.listing(index)[-1].size == 0, timeout=30_000)


def test_zarr_stores_met_on_disk_expand_as_stores_and_join_the_zarr_nodes(make_window, qtbot, demo_dir):
    window = make_window([demo_dir])
    model = window.tree_model
    expand(window, qtbot, "disk", str(demo_dir))
    expand(window, qtbot, "disk", str(demo_dir / "stores"))
    store_path = str(demo_dir / "stores" / "experiment.zarr")
    qtbot.waitUntil(lambda: model.find("disk", store_path).data(ENTRY_ROLE).kind is EntryKind.ZARR_STORE)
    store = expand(window, qtbot, "disk", store_path)
    names = {row[0] for row in child_rows(model, store)}
    assert names == {"plain", "sharded", "image"}  # members, never chunk folders like "c"
    plain = model.find("zarr", store_path + "/plain")
    assert not model.hasChildren(plain)  # an array is a leaf
    assert model.index(plain.row(), 3, plain.parent()).data() == "16×512×512"
    assert model.index(plain.row(), 4, plain.parent()).data() == "uint16"
    zarr_node = model.backend_index("zarr")
    assert ("zarr", store_path) in [row[2] for row in child_rows(model, zarr_node)]


def test_open_store_adds_it_under_ome_zarr_when_it_holds_ome_metadata(make_window, qtbot, demo_dir):
    window = make_window([])
    image = str(demo_dir / "stores" / "experiment.zarr" / "image")
    assert window.open_store(image)
    rows = child_rows(window.tree_model, window.tree_model.backend_index("ome_zarr"))
    assert [r[2] for r in rows] == [("ome_zarr", image)]
    levels = expand(window, qtbot, "ome_zarr", image)
    assert {r[0] for r in child_rows(window.tree_model, levels)} == {"0", "1", "2", "labels"}


def test_memory_backend_is_rooted_at_slash(make_window, qtbot):
    import numpy as np

    from polystore_gui.model.listing import memory_backend

    backend = memory_backend()
    backend.ensure_directory("/tree_test")
    backend.save(np.ones((5, 6), np.float32), "/tree_test/ones.npy")
    window = make_window([])
    model = window.tree_model
    memory = model.backend_index("memory")
    assert memory.data(ADDRESS_ROLE) == ("memory", "/")
    model.fetchMore(memory)
    qtbot.waitUntil(lambda: model.find("memory", "/tree_test").isValid())
    folder = expand(window, qtbot, "memory", "/tree_test")
    (row,) = child_rows(model, folder)
    assert row[0] == "ones.npy" and row[2] == ("memory", "/tree_test/ones.npy")
    assert model.index(0, 3, folder).data() == "5×6"


def test_filter_narrows_by_name(make_window, qtbot, demo_dir):
    window = make_window([demo_dir], show=True)
    expand(window, qtbot, "disk", str(demo_dir))
    expand(window, qtbot, "disk", str(demo_dir / "images"))
    images = window.tree_model.find("disk", str(demo_dir / "images"))
    assert window.tree.isExpanded(window.proxy.mapFromSource(images))
    name_width = window.tree.header().sectionSize(0)
    window.filter_edit.setText("cells")
    assert window.tree.model() is window.filter_proxy  # the proxy only while filtering
    shown = {i.data(ADDRESS_ROLE) for i in _all_indexes(window.tree.model())}
    assert ("disk", str(demo_dir / "images" / "cells.png")) in shown
    assert ("disk", str(demo_dir / "images" / "z_stack.tif")) not in shown
    window.filter_edit.clear()
    assert window.tree.model() is window.tree_model
    shown = {i.data(ADDRESS_ROLE) for i in _all_indexes(window.tree.model())}
    assert ("disk", str(demo_dir / "images" / "z_stack.tif")) in shown
    # What was open before filtering is open again, and the columns kept their widths.
    assert window.tree.isExpanded(window.proxy.mapFromSource(images))
    assert window.tree.header().sectionSize(0) == name_width


def test_f5_refreshes_the_selected_folder(make_window, qtbot, tmp_path):
    (tmp_path / "first.txt").touch()
    window = make_window([tmp_path], show=True)
    model = window.tree_model
    root = expand(window, qtbot, "disk", str(tmp_path))
    assert [r[0] for r in child_rows(model, root)] == ["first.txt"]
    (tmp_path / "second.txt").touch()
    window.tree.setCurrentIndex(window.proxy.mapFromSource(root))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.tree.setFocus()
    qtbot.keyClick(window.tree, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: [r[0] for r in child_rows(model, model.find("disk", str(tmp_path)))] == ["first.txt", "second.txt"])


def test_sorting_by_size_puts_folders_first(make_window, qtbot, tmp_path):
    (tmp_path / "big.bin").write_bytes(b"x" * 5000)
    (tmp_path / "small.bin").write_bytes(b"x")
    (tmp_path / "zfolder").mkdir()
    window = make_window([tmp_path])
    model = window.tree_model
    root = expand(window, qtbot, "disk", str(tmp_path))
    qtbot.waitUntil(lambda: model.index(1, 2, model.find("disk", str(tmp_path))).data() != "")
    window.tree.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    root = model.find("disk", str(tmp_path))
    assert [r[0] for r in child_rows(model, root)] == ["zfolder", "big.bin", "small.bin"]


# -- bad input in the tree -------------------------------------------------------------------


def test_bad_input_shows_clear_messages_and_the_tree_keeps_working(make_window, qtbot, tmp_path, monkeypatch):
    (tmp_path / "gone").mkdir()
    (tmp_path / "locked").mkdir()
    os.symlink(tmp_path / "missing.tif", tmp_path / "dangling.tif")
    with open(os.path.join(os.fsencode(tmp_path), b"name_\xff.txt"), "wb"):
        pass
    bad = tmp_path / "corrupt.zarr"
    bad.mkdir()
    (bad / "zarr.json").write_text("{ not json")
    (tmp_path / "fine.txt").write_text("ok")
    window = make_window([tmp_path])
    model = window.tree_model
    root = expand(window, qtbot, "disk", str(tmp_path))
    qtbot.waitUntil(lambda: model.find("disk", str(bad)).data(ENTRY_ROLE).error is not None)

    # Broken symlink and corrupt store: rows with their error, in words.
    dangling = model.find("disk", str(tmp_path / "dangling.tif"))
    assert "Broken symbolic link" in dangling.data(Qt.ItemDataRole.ToolTipRole)
    corrupt = model.find("disk", str(bad))
    assert "corrupt zarr metadata" in model.index(corrupt.row(), 1, root).data()
    assert not model.hasChildren(corrupt)
    # A name that is not UTF-8 shows readable, and says so.
    odd = next(r for r in child_rows(model, root) if r[0].startswith("name_"))
    assert "\ufffd" in odd[0]

    # A folder deleted between listing and expanding.
    shutil.rmtree(tmp_path / "gone")
    gone = expand(window, qtbot, "disk", str(tmp_path / "gone"))
    (row,) = child_rows(model, gone)
    assert row[1] == "error" and "No longer exists" in row[0]

    # Permission denied (the test may run as root, who reads everything: make the OS say no).
    real_scandir = os.scandir

    def scandir(path):
        if str(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # where the disk adapter meets the OS
    locked = expand(window, qtbot, "disk", str(tmp_path / "locked"))
    (row,) = child_rows(model, locked)
    assert row[1] == "error" and row[0] == f"Permission denied: {tmp_path / 'locked'}"
    monkeypatch.undo()

    # And everything else still works.
    (tmp_path / "new.txt").write_text("x")
    model.refresh(root)
    qtbot.waitUntil(lambda: model.find("disk", str(tmp_path / "new.txt")).isValid())


def test_a_backend_that_fails_to_build_stays_in_the_tree_with_its_error(make_window):
    from polystore_gui.model.catalogue import BackendInfo, Capability, Discovery, Status

    window = make_window([], discovered=False)
    broken = BackendInfo(
        key="broken", class_name="Broken", module="tests", capability=Capability.READ_WRITE,
        status=Status.ERROR, summary="", error="Failed to instantiate backend 'broken': no licence",
    )
    fine = BackendInfo(key="disk", class_name="Disk", module="polystore.disk",
                       capability=Capability.READ_WRITE, status=Status.READY, summary="")
    window.tree_model.set_discovery(Discovery((broken, fine), 0.1))
    model = window.tree_model
    index = model.backend_index("broken")
    assert "no licence" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(index.row(), 1).data() == "read-write storage (unavailable)"
    assert not model.hasChildren(index)
    assert model.hasChildren(model.backend_index("disk"))


def test_the_top_rows_of_opened_places_count_them(make_window, qtbot, tmp_path, discovery):
    """disk, zarr and ome_zarr hold the places opened, not a listing: their Size cell counts
    those rows (it said "0 items" over two disk roots), and follows as places come and go."""
    import zarr

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    zarr.create_array(str(tmp_path / "s.zarr"), shape=(4,), dtype="uint8")
    window = make_window([tmp_path / "a", tmp_path / "b"])
    model = window.tree_model
    changed = []
    model.dataChanged.connect(lambda first, last, roles=(): changed.append((first.row(), first.column(), last.column())))

    def size_of(key):
        index = model.backend_index(key)
        return model.index(index.row(), 2, index.parent()).data()

    disk_rows = model.rowCount(model.backend_index("disk"))
    assert disk_rows >= 2
    assert size_of("disk") == f"{disk_rows} items"
    assert size_of("zarr") == "0 items"
    assert window.open_store(str(tmp_path / "s.zarr"))
    assert size_of("zarr") == "1 item"
    zarr_row = model.backend_index("zarr").row()
    assert any(row == zarr_row and first <= 2 <= last for row, first, last in changed)  # repainted
    assert model.remove_root("disk", str(tmp_path / "a"))
    assert size_of("disk") == f"{disk_rows - 1} items"
