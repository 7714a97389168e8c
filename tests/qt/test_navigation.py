"""Open Location (Ctrl+O), the session's roots and stores, Open Recent, Remove from Tree."""

from __future__ import annotations

import pytest
from qtpy.QtCore import QSettings

from polystore_gui.model.address import Address
from polystore_gui.qt import settings_writes
from polystore_gui.qt.navigator import Session
from polystore_gui.qt.tree_model import ADDRESS_ROLE

from .helpers import child_rows


@pytest.fixture(autouse=True)
def _fresh_session():
    settings_writes.flush()  # the session's writes land off the GUI thread: awaited before a reset
    for key in (Session.ROOTS, Session.STORES, Session.RECENT, Session.REOPEN):
        QSettings().remove(key)
    yield
    assert settings_writes.flush()
    for key in (Session.ROOTS, Session.STORES, Session.RECENT, Session.REOPEN):
        QSettings().remove(key)


def _current_address(window):
    return window.proxy.mapToSource(window.tree.currentIndex()).data(ADDRESS_ROLE)


def test_open_location_lists_the_folders_above_a_file_and_selects_it(make_window, qtbot, tmp_path):
    deep = tmp_path / "plate" / "TimePoint_1" / "ZStep_2"
    deep.mkdir(parents=True)
    target = deep / "A01_s1_w1.tif"
    target.write_bytes(b"not really a tiff")
    window = make_window([tmp_path], show=True)
    with qtbot.waitSignal(window.navigator.revealed, timeout=20_000) as blocker:
        assert window.open_location(str(target)) is None
    assert blocker.args == [Address("disk", str(target))]
    assert _current_address(window) == ("disk", str(target))
    # Nothing new became a root: the file was under one already.
    assert window.tree_model.disk_roots()[0] == str(tmp_path) and str(deep) not in window.tree_model.disk_roots()


def test_a_zarr_address_opens_its_store_and_selects_the_array(make_window, qtbot, demo_dir):
    store = demo_dir / "stores" / "experiment.zarr"
    window = make_window([], show=True)
    with qtbot.waitSignal(window.navigator.revealed, timeout=20_000):
        assert window.open_location(f"zarr:{store / 'sharded'}") is None
    assert _current_address(window) == ("zarr", str(store / "sharded"))
    assert str(store) in window.tree_model.stores("zarr")


def test_a_virtual_file_is_revealed_under_its_array(make_window, qtbot, demo_dir):
    name = demo_dir / "stores" / "polystore_plate" / "images" / "A01_c1_z1.tif"
    window = make_window([], show=True)
    with qtbot.waitSignal(window.navigator.revealed, timeout=20_000):
        assert window.open_location(f"zarr:{name}") is None
    backend, path = _current_address(window)
    assert path == str(name) and backend in ("zarr", "ome_zarr")


def test_what_cannot_be_shown_is_said_and_nothing_changes(make_window, qtbot, tmp_path):
    (tmp_path / ".hidden").write_text("h")
    window = make_window([tmp_path], show=True)
    roots = window.tree_model.disk_roots()
    assert "No such file or folder" in window.open_location(str(tmp_path / "missing.tif"))
    assert window.tree_model.disk_roots() == roots
    with qtbot.waitSignal(window.navigator.failed, timeout=20_000) as blocker:
        assert window.open_location(str(tmp_path / ".hidden")) is None
    assert "Show Hidden Files" in blocker.args[1]


def test_added_roots_and_stores_come_back_at_the_next_start_until_removed(make_window, qtbot, tmp_path, demo_dir):
    (tmp_path / "mine").mkdir()
    store = demo_dir / "stores" / "experiment.zarr"
    first = make_window([])
    first.open_location(str(tmp_path / "mine"))
    assert first.open_store(str(store))
    assert Session().roots() == [str(tmp_path / "mine")]
    # Open Recent lists both, newest first.
    first._on_recent_menu_about_to_show()
    texts = [a.text() for a in first.recent_menu.actions() if a.text()]
    assert texts[:2] == [f"zarr:{store}", str(tmp_path / "mine")] and texts[-1] == "Clear Menu"

    second = make_window([])
    second.restore_session()
    assert str(tmp_path / "mine") in second.tree_model.disk_roots()
    assert str(store) in second.tree_model.stores("zarr")
    # Remove from Tree: out of the tree and out of the session (nothing on disk changes).
    root = second.tree_model.find("disk", str(tmp_path / "mine"))
    second.tree.setCurrentIndex(second.proxy.mapFromSource(root))
    second.remove_selected_roots()
    assert str(tmp_path / "mine") not in [row[2][1] for row in child_rows(second.tree_model, second.tree_model.backend_index("disk"))]
    assert Session().roots() == [] and (tmp_path / "mine").is_dir()

    third = make_window([])
    third.session.reopen = False
    third.restore_session()
    assert str(store) not in third.tree_model.stores("zarr")
