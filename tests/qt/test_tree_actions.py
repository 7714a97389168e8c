"""The tree's context menu (Delete, Rename, Inspect Chunks, Copy To…) and Ctrl+C / Ctrl+V
for transfers (issue 13, GUI half), driven through the real tree, menu and keys."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from polystore_gui.model.address import ENTRIES_MIME, decode_entries

from .helpers import child_rows, expand


@pytest.fixture
def place(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.bin").write_bytes(os.urandom(10_000))
    (tmp_path / "dst").mkdir()
    array = zarr.create_array(str(tmp_path / "src" / "img.zarr"), shape=(2, 16, 16), chunks=(1, 16, 16), dtype="u1")
    array[:] = np.ones((2, 16, 16), np.uint8)
    return tmp_path


def _open(make_window, qtbot, place):
    window = make_window([place], show=True)
    expand(window, qtbot, "disk", str(place))
    expand(window, qtbot, "disk", str(place / "src"))
    expand(window, qtbot, "disk", str(place / "dst"))
    window.activateWindow()
    qtbot.waitActive(window)
    return window


def _select(window, qtbot, *indexes):
    """Select rows as a click would: the last one current, the tree focused."""
    selection = window.tree.selectionModel()
    selection.clearSelection()
    for index in indexes:
        selection.select(window.proxy.mapFromSource(index), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
    selection.setCurrentIndex(window.proxy.mapFromSource(indexes[-1]), selection.SelectionFlag.NoUpdate)
    window.tree.setFocus()
    qtbot.waitUntil(window.tree.hasFocus, timeout=5_000)


def _menu(window):
    """The context menu's actions by text (without accelerators) -> enabled."""
    menu = window.tree_context_menu()
    try:
        return {a.text().replace("&", ""): a.isEnabled() for a in menu.actions() if a.text()}
    finally:
        menu.hide()
        menu.deleteLater()


def test_the_context_menu_offers_what_the_backend_allows(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    items = _menu(window)
    assert items["Delete…"] and items["Rename…"] and items["Copy To…"] and items["Copy"]
    assert not items["Inspect Chunks"]
    _select(window, qtbot, model.find("disk", str(place / "src" / "img.zarr")))
    assert _menu(window)["Inspect Chunks"]
    # A root of the tree: copied, never deleted or renamed from here.
    _select(window, qtbot, model.find("disk", str(place)))
    items = _menu(window)
    assert items["Copy To…"] and not items["Delete…"] and not items["Rename…"]
    # A backend row: nothing to act on.
    _select(window, qtbot, model.backend_index("ome_zarr"))
    items = _menu(window)
    assert not any(items[k] for k in ("Delete…", "Rename…", "Copy To…", "Inspect Chunks", "Copy"))
    # Two entries: no Rename.
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")), model.find("disk", str(place / "dst")))
    items = _menu(window)
    assert items["Delete…"] and not items["Rename…"]


def test_rename_from_the_menu_renames_in_a_worker_and_lists_the_folder_again(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    window.name_asker = lambda entry: "renamed.bin"
    with qtbot.waitSignal(window.renamed, timeout=10_000):
        window.rename_action.trigger()
    assert (place / "src" / "renamed.bin").exists() and not (place / "src" / "a.bin").exists()
    qtbot.waitUntil(lambda: ("disk", str(place / "src" / "renamed.bin")) in
                    [r[2] for r in child_rows(model, model.find("disk", str(place / "src")))], timeout=10_000)
    assert "Renamed a.bin to renamed.bin" in window.statusBar().currentMessage()


def test_rename_to_a_taken_name_says_so_and_changes_nothing(make_window, qtbot, place):
    (place / "src" / "b.bin").write_text("b")
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    window.tree_model.refresh(model.find("disk", str(place / "src")))
    qtbot.waitUntil(lambda: model.find("disk", str(place / "src" / "b.bin")).isValid(), timeout=10_000)
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    window.name_asker = lambda entry: "b.bin"
    with qtbot.waitSignal(window.renameFailed, timeout=10_000):
        window.rename_action.trigger()
    assert "already taken" in window.statusBar().currentMessage()
    assert (place / "src" / "a.bin").exists() and (place / "src" / "b.bin").read_text() == "b"
    # A bad name is refused before anything runs.
    assert "cannot hold '/'" in window.rename_selected("x/y")


def test_copy_to_an_address_runs_a_verified_transfer(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")), model.find("disk", str(place / "src" / "img.zarr")))
    window.destination_asker = lambda entries: f"disk:{place / 'dst'}"
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        window.copy_to_action.trigger()
    assert (finished.args[0].done, finished.args[0].failed) == (2, 0)
    assert (place / "dst" / "a.bin").read_bytes() == (place / "src" / "a.bin").read_bytes()
    assert (zarr.open_array(str(place / "dst" / "img.zarr"))[:] == 1).all()


def test_copy_to_a_place_that_is_not_a_folder_says_why(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    _select(window, qtbot, window.tree_model.find("disk", str(place / "src" / "a.bin")))
    assert "does not exist" in window.copy_selection_to(str(place / "nowhere"))
    assert "not a folder" in window.copy_selection_to(str(place / "src" / "a.bin"))
    assert "nosuch" in window.copy_selection_to("nosuch:/x")
    assert "Not copied" in window.statusBar().currentMessage()


def test_ctrl_c_then_ctrl_v_on_a_folder_copies_like_a_drop(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    qtbot.keyClick(window.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    mime = QApplication.clipboard().mimeData()
    assert mime.hasFormat(ENTRIES_MIME)
    assert [a.path for a in decode_entries(bytes(mime.data(ENTRIES_MIME)))] == [str(place / "src" / "a.bin")]
    assert [u.toLocalFile() for u in mime.urls()] == [str(place / "src" / "a.bin")]  # text/uri-list
    assert mime.text() == f"disk:{place / 'src' / 'a.bin'}"
    _select(window, qtbot, model.find("disk", str(place / "dst")))
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        qtbot.keyClick(window.tree, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert (finished.args[0].done, finished.args[0].failed) == (1, 0)
    assert (place / "dst" / "a.bin").read_bytes() == (place / "src" / "a.bin").read_bytes()


def test_ctrl_v_where_nothing_can_land_says_so(make_window, qtbot, place):
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    qtbot.keyClick(window.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    _select(window, qtbot, model.backend_index("ome_zarr"))
    qtbot.keyClick(window.tree, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert "Cannot paste here" in window.statusBar().currentMessage()


def test_ctrl_v_with_a_file_selected_pastes_into_its_folder(make_window, qtbot, place):
    (place / "dst" / "there.txt").write_text("t")
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    model.refresh(model.find("disk", str(place / "dst")))
    qtbot.waitUntil(lambda: model.find("disk", str(place / "dst" / "there.txt")).isValid(), timeout=10_000)
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    qtbot.keyClick(window.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    _select(window, qtbot, model.find("disk", str(place / "dst" / "there.txt")))
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        qtbot.keyClick(window.tree, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert (place / "dst" / "a.bin").read_bytes() == (place / "src" / "a.bin").read_bytes()


def test_delete_and_rename_keep_an_expanded_sibling_folder_expanded(make_window, qtbot, place):
    """The folder is listed again by merging (as after a transfer), not re-made: what is open stays open."""
    (place / "src" / "sub").mkdir()
    (place / "src" / "sub" / "inner.txt").write_text("x")
    (place / "src" / "b.bin").write_bytes(b"b")
    window = _open(make_window, qtbot, place)
    model = window.tree_model
    expand(window, qtbot, "disk", str(place / "src" / "sub"))

    def sub_is_open():
        index = model.find("disk", str(place / "src" / "sub"))
        return index.isValid() and window.tree.isExpanded(window.proxy.mapFromSource(index))

    def shown(name):
        return ("disk", str(place / "src" / name)) in [r[2] for r in child_rows(model, model.find("disk", str(place / "src")))]

    assert sub_is_open()
    window.delete_confirmer = lambda entries, names, permanent: True
    _select(window, qtbot, model.find("disk", str(place / "src" / "a.bin")))
    with qtbot.waitSignal(window.deleteFinished, timeout=10_000):
        window.delete_action.trigger()
    qtbot.waitUntil(lambda: not shown("a.bin") and model.node(model.find("disk", str(place / "src"))).job is None,
                    timeout=10_000)
    assert sub_is_open(), "Delete collapsed the sibling folder"

    _select(window, qtbot, model.find("disk", str(place / "src" / "b.bin")))
    window.name_asker = lambda entry: "c.bin"
    with qtbot.waitSignal(window.renamed, timeout=10_000):
        window.rename_action.trigger()
    qtbot.waitUntil(lambda: shown("c.bin") and not shown("b.bin")
                    and model.node(model.find("disk", str(place / "src"))).job is None, timeout=10_000)
    assert sub_is_open(), "Rename collapsed the sibling folder"
    assert ("disk", str(place / "src" / "sub" / "inner.txt")) in [
        r[2] for r in child_rows(model, model.find("disk", str(place / "src" / "sub")))]


def test_rename_of_a_polystore_plane_says_to_rename_its_array(make_window, qtbot, demo_dir):
    """Rename's refusal speaks of renaming (it said '… delete the array that holds it')."""
    plane = demo_dir / "stores" / "polystore_plate" / "images" / "A01_c1_z1.tif"
    window = make_window([], show=True)
    with qtbot.waitSignal(window.navigator.revealed, timeout=20_000):
        assert window.open_location(f"zarr:{plane}") is None
    reason = window.rename_selected("other.tif")
    assert reason is not None
    assert "rename the array that holds it" in reason
    assert "delete" not in reason.lower()
