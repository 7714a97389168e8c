"""The folder list is a view of a folder's listing state (issue 15): it follows the state
itself (a new listing or order, details learnt) and asks the state for the details of the
rows on screen; nothing is relayed through the window."""

from __future__ import annotations

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.folder_state import FolderState
from polystore_gui.qt.folder_list import FolderList
from polystore_gui.qt.tree_model import ENTRY_ROLE

from .helpers import expand


def _listed(n: int) -> FolderState:
    folder = FolderState("disk", "/d")
    folder.begin()
    folder.set_listing([Entry("disk", f"/d/f{i:04d}", f"f{i:04d}", EntryKind.FILE) for i in range(n)])
    return folder


def test_the_folder_list_follows_its_folder_state_without_anyone_relaying(qtbot):
    pane = FolderList()
    qtbot.addWidget(pane)
    folder = _listed(50)
    asked: list[list[str]] = []
    folder.details_wanted = lambda f, todo: asked.append([e.name for e in todo])
    pane.resize(600, 400)
    pane.show_folder(folder, "d")
    qtbot.waitExposed(pane)
    table = pane.model
    assert table.rowCount() == 50 and table.folder == ("disk", "/d")
    # The rows on screen ask the state for their details (after scrolling stops).
    qtbot.waitUntil(lambda: bool(asked), timeout=5_000)
    assert asked[0][0] == "f0000" and len(asked[0]) < 50
    # Details learnt by whoever lists the folder show in the table.
    folder.learn([folder.listing[1].with_details(size=2048, modified=0.0)])
    assert table.index(1, 2).data() == "2.0 KiB"
    # A new order of the listing (the tree sorted it) shows, with its sort indicator.
    folder.set_listing(list(reversed(folder.listing)), order=("name", True), keep_details=True)
    assert table.index(0, 0).data() == "f0049" and table.index(48, 2).data() == "2.0 KiB"
    assert pane.table.horizontalHeader().sortIndicatorSection() == 0
    # A listing that fails empties the table; one listed again fills it.
    folder.begin()
    assert table.rowCount() == 50  # the old rows stay while the folder is listed again
    folder.fail("No longer exists: /d")
    assert table.rowCount() == 0
    # Closed: it follows the folder no more.
    pane.hide()
    pane._on_close_clicked()
    folder.begin()
    folder.set_listing(_listed(3).listing)
    assert table.rowCount() == 0 and table.state is None


def test_the_window_shows_the_trees_own_folder_state_in_the_folder_list(make_window, qtbot, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    for i in range(1500):
        (big / f"f{i:05d}.dat").write_bytes(b"x" * (i % 5))
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    folder_index = expand(window, qtbot, "disk", str(big))
    qtbot.waitUntil(window.folder_list.isVisible, timeout=10_000)
    state = window.tree_model.folder_state(folder_index)
    assert state is not None and window.folder_list.model.state is state
    # Entries beyond the tree's page learn their details as the list scrolls to them, through
    # the state the tree lists: the window has no relay of its own any more.
    table = window.folder_list.model
    for name in ("_on_tree_model_details_learnt", "_on_tree_model_listing_reordered",
                 "_on_folder_list_details_wanted"):
        assert not hasattr(window, name)
    last = table.rowCount() - 1
    window.folder_list.table.scrollToBottom()
    qtbot.waitUntil(lambda: table.index(last, 2).data() != "", timeout=20_000)
    entry = table.index(last, 0).data(ENTRY_ROLE)
    assert state.details.get(entry.path) == entry and entry.size == (1499 % 5)


def test_a_filter_keystroke_examines_only_the_rows_shown(make_window, qtbot, tmp_path):
    """Issue 19: typing into the filter box narrows key by key; each key after the first
    examines only what the text before showed, in the folder list and in the tree; deleting
    keys reuses answers. What matches is what a full search finds."""
    big = tmp_path / "big"
    big.mkdir()
    n = 3000
    for i in range(n):
        (big / f"img_{i:05d}.dat").touch()
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    expand(window, qtbot, "disk", str(big))
    qtbot.waitUntil(window.folder_list.isVisible, timeout=10_000)
    table = window.folder_list.model
    proxy = window.filter_proxy
    shown_in_list = table.rowCount()
    assert shown_in_list == n
    source = window.tree_model

    def tree_names(index=None):  # every row the tree holds (what a full search walks)
        from qtpy.QtCore import QModelIndex

        index = QModelIndex() if index is None else index
        for r in range(source.rowCount(index)):
            child = source.index(r, 0, index)
            yield child.data()
            yield from tree_names(child)

    all_rows = list(tree_names())
    typed = "img_0004"
    for i in range(1, len(typed) + 1):
        window.filter_edit.setText(typed[:i])
        if i > 1:
            assert table.names_examined <= shown_in_list
            # The tree's proxy, too, examines only rows whose names held the text before.
            held_before = [name for name in all_rows if typed[:i - 1] in name.casefold()]
            assert proxy.examined <= len(held_before)
        else:
            assert proxy.examined <= len(all_rows)
        shown_in_list = table.rowCount()
    assert [table.index(r, 0).data() for r in range(table.rowCount())] == [f"img_{i:05d}.dat" for i in range(40, 50)]
    narrowed = proxy.examined
    window.filter_edit.setText(typed + "9")
    assert table.names_examined == 10 and proxy.examined <= narrowed + 10
    # Backspace: answers already given, nothing examined again.
    window.filter_edit.setText(typed)
    assert table.names_examined == 0 and proxy.examined == 0
    assert table.rowCount() == 10
    folder = source.find("disk", str(big))
    shown = {proxy.index(r, 0, proxy.mapFromSource(folder)).data()
             for r in range(proxy.rowCount(proxy.mapFromSource(folder)))}
    assert shown == {f"img_{i:05d}.dat" for i in range(40, 50)}
    window.filter_edit.setText("")
    assert table.rowCount() == n


def test_the_folder_list_follows_its_folder_listed_anew_under_a_new_row(make_window, qtbot, tmp_path):
    """Refreshing the folder above makes new rows (and new listing states): the list shows
    the new one, with what changed on disk."""
    big = tmp_path / "big"
    big.mkdir()
    for i in range(1200):
        (big / f"f{i:05d}").touch()
    window = make_window([tmp_path], show=True)
    root = expand(window, qtbot, "disk", str(tmp_path))
    expand(window, qtbot, "disk", str(big))
    qtbot.waitUntil(window.folder_list.isVisible, timeout=10_000)
    old = window.folder_list.model.state
    (big / "zz_new").touch()
    window.tree_model.refresh(root)
    qtbot.waitUntil(lambda: window.tree_model.find("disk", str(big)).isValid(), timeout=10_000)
    expand(window, qtbot, "disk", str(big))
    new = window.tree_model.folder_state(window.tree_model.find("disk", str(big)))
    qtbot.waitUntil(lambda: window.folder_list.model.state is new, timeout=10_000)
    assert new is not old and window.folder_list.model.rowCount() == 1201
