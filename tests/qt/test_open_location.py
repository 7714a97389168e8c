"""Open Location (Ctrl+O) selects exactly the row named, of every kind, or says what it
could not find and the last part of the path that it did find."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from qtpy.QtCore import QSettings

from polystore_gui.qt import settings_writes
from polystore_gui.qt.navigator import Session
from polystore_gui.qt.tree_model import ADDRESS_ROLE, PAGE, ROW_KIND_ROLE


@pytest.fixture(autouse=True)
def _fresh_session():
    keys = (Session.ROOTS, Session.STORES, Session.RECENT, Session.REOPEN)
    settings_writes.flush()  # the session's writes land off the GUI thread: awaited before a reset
    for key in keys:
        QSettings().remove(key)
    yield
    assert settings_writes.flush()
    for key in keys:
        QSettings().remove(key)


@pytest.fixture
def data(tmp_path):
    """A small tree: folders, a file, a zarr v2 array as its own store, a v3 store with a group."""
    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "notes.txt").write_text("notes")
    v2 = zarr.create_array(str(root / "array_v2.zarr"), shape=(8, 8), chunks=(4, 4), dtype="uint8", zarr_format=2)
    v2[:] = 1
    store = zarr.open_group(str(root / "experiment.zarr"), mode="w")
    group = store.create_group("well")
    group.create_array("image", shape=(4, 4), chunks=(2, 2), dtype="uint16")[:] = np.arange(16, dtype="uint16").reshape(4, 4)
    return root


def _current(window):
    index = window.proxy.mapToSource(window.tree.currentIndex())
    return index.data(ADDRESS_ROLE), index.data(ROW_KIND_ROLE)


def _open(window, qtbot, text, timeout=20_000):
    """Open ``text``; returns the revealed address (or fails the test with the message)."""
    failures = []
    window.navigator.failed.connect(lambda _a, message: failures.append(message))
    with qtbot.waitSignals([window.navigator.revealed], timeout=timeout, raising=False) as blocker:
        error = window.open_location(text)
        assert error is None, error
        qtbot.waitUntil(lambda: bool(failures) or not window.navigator.busy, timeout=timeout)
    assert not failures, failures
    assert blocker.signal_triggered
    return blocker.all_signals_and_args[0].args[0]


def _fail(window, qtbot, text, timeout=20_000):
    """Open ``text`` expecting it not to be found: the message (also in the status bar)."""
    failures = []
    window.navigator.failed.connect(lambda _a, message: failures.append(message))
    error = window.open_location(text)
    if error is None:
        qtbot.waitUntil(lambda: bool(failures), timeout=timeout)
        error = failures[0]
    assert error in window.statusBar().currentMessage()
    return error


def test_a_folder_under_a_root(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    _open(window, qtbot, str(data / "sub" / "deeper"))
    assert _current(window) == (("disk", str(data / "sub" / "deeper")), "entry")


def test_a_folder_outside_every_root_becomes_one_and_is_selected(make_window, qtbot, data, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    window = make_window([tmp_path / "elsewhere"], show=True)
    _open(window, qtbot, str(data / "sub"))
    assert _current(window) == (("disk", str(data / "sub")), "entry")


def test_a_file(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    _open(window, qtbot, str(data / "sub" / "notes.txt"))
    assert _current(window) == (("disk", str(data / "sub" / "notes.txt")), "entry")


def test_a_file_as_a_disk_address(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    _open(window, qtbot, f"disk:{data / 'sub' / 'notes.txt'}")
    assert _current(window) == (("disk", str(data / "sub" / "notes.txt")), "entry")


def test_a_zarr_v2_array_that_is_its_own_store(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    address = _open(window, qtbot, str(data / "array_v2.zarr"))
    assert address.path == str(data / "array_v2.zarr")
    (backend, path), kind = _current(window)
    assert path == str(data / "array_v2.zarr") and kind == "entry" and backend in ("zarr", "disk")


@pytest.mark.parametrize("typed", ["path", "zarr"])
def test_a_zarr_array_inside_a_store(make_window, qtbot, data, typed):
    window = make_window([data.parent], show=True)
    image = data / "experiment.zarr" / "well" / "image"
    _open(window, qtbot, str(image) if typed == "path" else f"zarr:{image}")
    (backend, path), kind = _current(window)
    assert path == str(image) and kind == "entry" and backend == "zarr"


def test_a_group_inside_a_store_whose_rows_are_shown_under_disk(make_window, qtbot, data):
    from .helpers import expand

    window = make_window([data.parent], show=True)
    expand(window, qtbot, "disk", str(data.parent))
    expand(window, qtbot, "disk", str(data))
    _open(window, qtbot, f"zarr:{data / 'experiment.zarr' / 'well'}")
    (backend, path), kind = _current(window)
    assert path == str(data / "experiment.zarr" / "well") and kind == "entry" and backend == "zarr"


def test_an_entry_beyond_the_trees_first_page_is_selected_in_the_folder_list(make_window, qtbot, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    for i in range(PAGE + 300):
        (big / f"f{i:05d}.txt").touch()
    target = big / f"f{PAGE + 200:05d}.txt"
    window = make_window([tmp_path], show=True)
    _open(window, qtbot, str(target), timeout=30_000)
    table = window.folder_list.table
    assert window.folder_list.isVisible()
    rows = table.selectionModel().selectedRows(0)
    assert [table.model().entry(i.row()).path for i in rows] == [str(target)]
    assert table.model().entry(table.currentIndex().row()).path == str(target)


def test_an_entry_made_after_its_folder_was_listed_is_found(make_window, qtbot, data):
    from .helpers import expand

    window = make_window([data.parent], show=True)
    expand(window, qtbot, "disk", str(data.parent))
    expand(window, qtbot, "disk", str(data))
    expand(window, qtbot, "disk", str(data / "sub"))
    (data / "sub" / "new.txt").write_text("made since")  # the rows of sub do not know it
    zarr.create_array(str(data / "late_v2.zarr"), shape=(2, 2), chunks=(2, 2), dtype="uint8", zarr_format=2)
    _open(window, qtbot, str(data / "sub" / "new.txt"))
    assert _current(window) == (("disk", str(data / "sub" / "new.txt")), "entry")
    # The rows already there stay (sub is still open with its rows).
    assert window.tree.isExpanded(window.proxy.mapFromSource(window.tree_model.find("disk", str(data / "sub" / "deeper")).parent()))
    _open(window, qtbot, str(data / "late_v2.zarr"))
    (backend, path), kind = _current(window)
    assert path == str(data / "late_v2.zarr") and kind == "entry"


def test_a_file_of_a_zarr_node_selects_the_node_and_says_so(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    image = data / "experiment.zarr" / "well" / "image"
    _open(window, qtbot, str(image / "zarr.json"))
    assert _current(window) == (("zarr", str(image)), "entry")
    message = window.statusBar().currentMessage()
    assert "zarr.json is part of the zarr node" in message and str(image) in message


def test_a_missing_file_says_what_is_missing_and_the_last_part_found(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    roots = window.tree_model.disk_roots()
    message = _fail(window, qtbot, str(data / "sub" / "nothing" / "here.txt"))
    assert message.startswith("No such file or folder")
    assert f"nothing is not in {data / 'sub'} (the last part of the path found)" in message
    assert window.tree_model.disk_roots() == roots


def test_a_missing_member_of_a_store_says_which(make_window, qtbot, data):
    window = make_window([data.parent], show=True)
    message = _fail(window, qtbot, f"zarr:{data / 'experiment.zarr' / 'well' / 'nope'}")
    assert f"nope is not in {data / 'experiment.zarr' / 'well'} (the last part of the path found)" in message


def test_a_hidden_file_says_how_to_show_it_and_selects_its_folder(make_window, qtbot, data):
    (data / ".secret").write_text("s")
    (data / ".cache" / "x").mkdir(parents=True)
    window = make_window([data.parent], show=True)
    message = _fail(window, qtbot, str(data / ".secret"))
    assert f".secret is not in {data}" in message and "Show Hidden Files" in message
    assert _current(window) == (("disk", str(data)), "entry")  # the last part found
    message = _fail(window, qtbot, str(data / ".cache" / "x"))
    assert f".cache is not in {data}" in message and "Show Hidden Files" in message


def test_a_store_opened_under_home_is_named_with_a_tilde_as_disk_roots_are(make_window, qtbot, data,
                                                                           monkeypatch):
    """Its row reads ~/…/experiment.zarr (not the whole path, which widened the Name column);
    the tooltip has the whole address, as a disk root's has."""
    from qtpy.QtCore import Qt

    monkeypatch.setenv("HOME", str(data.parent))
    window = make_window([data.parent], show=True)
    store = data / "experiment.zarr"
    _open(window, qtbot, f"zarr:{store / 'well' / 'image'}")
    row = window.tree_model.find("zarr", str(store))
    assert row.data() == f"~/{data.name}/experiment.zarr"
    assert f"zarr:{store}" in row.data(Qt.ItemDataRole.ToolTipRole)
    disk_root = window.tree_model.find("disk", str(data.parent))
    assert disk_root.data() == "~" and str(data.parent) in disk_root.data(Qt.ItemDataRole.ToolTipRole)


def test_polystores_lock_file_is_hidden_as_dot_files_are_and_open_location_says_how_to_show_it(
        make_window, qtbot, data):
    (data / "images.metadata.lock").write_bytes(b"")  # what polystore leaves beside a plate it wrote
    (data / "Cargo.lock").write_bytes(b"")  # not polystore's: always shown
    window = make_window([data.parent], show=True)
    message = _fail(window, qtbot, str(data / "images.metadata.lock"))
    assert f"images.metadata.lock is not in {data}" in message and "Show Hidden Files" in message
    index = window.tree_model.find("disk", str(data))
    names = {window.tree_model.index(r, 0, index).data() for r in range(window.tree_model.rowCount(index))}
    assert "Cargo.lock" in names and "images.metadata.lock" not in names
    window.hidden_action.setChecked(True)  # View → Show Hidden Files: listed again
    from tests.qt.helpers import expand

    expand(window, qtbot, "disk", str(data.parent))
    index = expand(window, qtbot, "disk", str(data))
    names = {window.tree_model.index(r, 0, index).data() for r in range(window.tree_model.rowCount(index))}
    assert "images.metadata.lock" in names
