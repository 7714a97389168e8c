"""The window appears at once; discovery fills the tree from a worker."""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from qtpy.QtGui import QDropEvent
from qtpy.QtWidgets import QApplication, QToolButton

from polystore_gui.qt.tree_model import ADDRESS_ROLE, ROW_KIND_ROLE

from .helpers import child_rows


def test_window_shows_before_discovery_and_fills_when_it_is_done(qtbot, demo_dir, discovery):
    from polystore_gui.qt.main_window import MainWindow

    window = MainWindow([str(demo_dir)])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    model = window.tree_model
    # Nothing discovered yet: one row says so.
    assert model.rowCount() == 1
    assert model.index(0, 0).data() == "Discovering backends…"
    assert model.index(0, 0).data(ROW_KIND_ROLE) == "loading"
    assert window.tree.objectName() == "backendTree"
    with qtbot.waitSignal(window.discoveryFinished, timeout=60_000):
        window.start_background()
    assert model.rowCount() == len(discovery.backends)
    disk = model.backend_index("disk")
    roots = [row[2] for row in child_rows(model, disk)]
    assert ("disk", str(demo_dir)) in roots
    assert ("disk", os.path.expanduser("~")) in roots
    window.shutdown()
    window.close()


def test_a_folder_dropped_from_the_desktop_becomes_a_root(make_window, qtbot, tmp_path):
    window = make_window([], show=True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    disk = window.tree_model.backend_index("disk")
    assert ("disk", str(tmp_path)) in [window.tree_model.index(r, 0, disk).data(ADDRESS_ROLE) for r in range(window.tree_model.rowCount(disk))]


def test_selecting_a_row_shows_what_it_is(make_window, qtbot, demo_dir):
    from .helpers import expand

    window = make_window([demo_dir], show=True)
    expand(window, qtbot, "disk", str(demo_dir))
    index = expand(window, qtbot, "disk", str(demo_dir / "stores"))
    store = window.tree_model.find("disk", str(demo_dir / "stores" / "experiment.zarr"))
    qtbot.waitUntil(lambda: "zarr store" in window.tree_model.index(store.row(), 1, index).data())
    panel = window.preview
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        window.tree.setCurrentIndex(window.proxy.mapFromSource(store))
    assert "experiment.zarr" in panel.title.text()
    assert panel.metadata.rows()["kind"] == "group"
    assert "1 group, 2 arrays" in panel.message.text()
    window.tree.setCurrentIndex(window.proxy.mapFromSource(window.tree_model.backend_index("virtual_workspace")))
    assert "Select a plate folder" in panel.message.text()
    assert panel.metadata.rows()["capability"] == "read-only source: the workspaces of plates you open"


@pytest.mark.parametrize("numpy_sort", [False, True], ids=["python-sort", "numpy-order"])
def test_a_large_folder_shows_every_entry_in_the_folder_list(make_window, qtbot, tmp_path, qtmodeltester,
                                                              monkeypatch, numpy_sort):
    """With ``numpy-order`` the listing is a FolderNames over names sorted by numpy (as for
    folders of 50,000 entries and more): names never moved, entries made per row shown."""
    import json

    import polystore_gui.model.entries as entries_module
    import polystore_gui.model.backends.disk as disk_module
    import polystore_gui.model.listing as listing_module
    import polystore_gui.qt.tree_jobs as tree_jobs_module
    from polystore_gui.model.address import ENTRIES_MIME
    from polystore_gui.qt.tree_model import PAGE

    from .helpers import expand

    if numpy_sort:
        monkeypatch.setattr(entries_module, "NUMPY_SORT_FROM", 100)
        monkeypatch.setattr(disk_module, "NUMPY_SORT_FROM", 100)
        monkeypatch.setattr(entries_module.RunSorter, "RUN", 50)  # runs sorted by the helper while listing
        monkeypatch.setattr(entries_module, "_SLICE", 333)
        monkeypatch.setattr(tree_jobs_module, "FOLD_AHEAD_FROM", 100)  # read by the listing job
    big = tmp_path / "big"
    big.mkdir()
    n = PAGE + 500
    for i in range(n):
        (big / f"f{i:05d}.dat").write_bytes(b"x" * (i % 7))
    (big / "sub").mkdir()
    window = make_window([tmp_path], show=True)
    model = window.tree_model
    expand(window, qtbot, "disk", str(tmp_path))
    folder = expand(window, qtbot, "disk", str(big))
    listing = window.folder_list
    # The tree holds a page and a row for the rest; the list below it holds everything.
    assert model.rowCount(folder) == PAGE + 1
    pending = model.node(folder).pending
    assert isinstance(pending, listing_module.FolderNames) and (pending.order is not None) == numpy_sort
    qtbot.waitUntil(listing.isVisible)
    table = listing.model
    assert table.rowCount() == n + 1 and table.folder == ("disk", str(big))
    names = [table.index(r, 0).data() for r in range(table.rowCount())]
    assert names == ["sub", *(f"f{i:05d}.dat" for i in range(n))]
    assert f"{n + 1:,} entries" in listing.title.text()
    qtmodeltester.check(table)
    # The rows on screen learn their sizes; the far end of the list does not, yet.
    qtbot.waitUntil(lambda: table.index(3, 2).data() == "2 B", timeout=20_000)
    assert table.entry(n).size is None
    # The filter box narrows the list too (its case-folded names prepared by the worker when large).
    if numpy_sort:
        qtbot.waitUntil(lambda: pending.folded_names() is not None, timeout=20_000)
    stem = f"f{(n - 10) // 10:04d}"  # ten names near the end, beyond the tree's page
    window.filter_edit.setText(stem)
    assert [table.index(r, 0).data() for r in range(table.rowCount())] == [f"{stem}{d}.dat" for d in range(10)]
    assert "10 matching" in listing.title.text()
    window.filter_edit.clear()
    assert table.rowCount() == n + 1
    # A row of the list previews like a row of the tree, and drags out the same way.
    panel = window.preview
    far = f"f{n - 100:05d}.dat"
    target = table.row_of(str(big / far))
    listing.table.setCurrentIndex(table.index(target, 0))
    qtbot.waitUntil(lambda: far in panel.title.text(), timeout=20_000)
    payload = json.loads(bytes(table.mimeData([table.index(target, 0)]).data(ENTRIES_MIME)))
    assert payload == [{"backend": "disk", "path": str(big / far)}]
    # Sorting from the list's header sorts both (by size: every size is learnt first).
    with qtbot.waitSignal(model.listingReordered, timeout=30_000):
        listing.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    sizes = [table.entry(r).size for r in range(1, table.rowCount())]
    assert None not in sizes and sizes == sorted(sizes, reverse=True)
    assert model.index(0, 0, model.find("disk", str(big))).data() == "sub"  # folders first
    # Closed, it comes back from the tree's last row.
    window.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    listing.findChild(QToolButton).click()
    assert not listing.isVisible()
    folder = model.find("disk", str(big))
    more = window.proxy.mapFromSource(model.index(model.rowCount(folder) - 1, 0, folder))
    window.tree.activated.emit(more)
    assert listing.isVisible() and table.rowCount() == n + 1
    # Open Location finds an entry beyond the tree's page: in the list.
    farther = f"f{n - 50:05d}.dat"
    with qtbot.waitSignal(window.navigator.revealed, timeout=20_000):
        assert window.open_location(str(big / farther)) is None
    assert listing.table.currentIndex().data(ADDRESS_ROLE) == ("disk", str(big / farther))


def test_the_preview_size_limit_is_a_setting_that_persists(make_window, qtbot):
    from qtpy.QtCore import QSettings

    QSettings().remove("preview/size_limit_bytes")
    window = make_window([])
    assert window.preview.size_limit == 1 << 30
    window.set_size_limit(256 << 20)
    assert window.preview.size_limit == 256 << 20
    again = make_window([])
    assert again.preview.size_limit == 256 << 20
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()  # the writer's write lands before the key is removed
    QSettings().remove("preview/size_limit_bytes")


def test_about_names_the_versions_it_runs_with(make_window):
    from importlib import metadata

    from qtpy import QT_VERSION

    text = make_window([]).about_text()
    for name in ("polystore", "napari", "zarr"):
        assert f"<td>{name}</td><td><b>{metadata.version(name)}</b></td>" in text
    assert str(QT_VERSION) in text


def test_window_geometry_and_splitter_come_back_on_the_next_start(make_window, qtbot):
    first = make_window([], show=True)
    first.resize(1100, 700)
    first.splitter.setSizes([300, 700, 0])
    sizes = first.splitter.sizes()
    first.close()
    second = make_window([], show=True)
    assert second.splitter.sizes() == sizes
    assert (second.width(), second.height()) == (1100, 700)


def test_settings_dialog_writes_what_the_user_changes(make_window):
    from qtpy.QtCore import QSettings

    from polystore_gui.qt.settings_dialog import SettingsDialog

    window = make_window([])
    dialog = SettingsDialog(window)
    dialog.size_limit.setValue(3.0)
    dialog.chunks.setText("not,a,shape")
    assert not dialog.apply() and "Not a chunk shape" in dialog.error.text()
    dialog.chunks.setText("1,256,256")
    dialog.napari_port.setValue(7811)
    dialog.fiji_port.setValue(7812)
    dialog.show_hidden.setChecked(True)
    assert dialog.apply()
    assert window.preview.size_limit == 3 * 2**30 and window.transfer_chunks() == (1, 256, 256)
    assert window.viewer_link.ports == {"napari_stream": 7811, "fiji_stream": 7812}
    assert window.tree_model.show_hidden
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()  # written by the settings writer thread
    assert int(QSettings().value("viewer/napari_port")) == 7811
    again = make_window([])
    assert again.viewer_link.ports == {"napari_stream": 7811, "fiji_stream": 7812}
    for key in ("viewer/napari_port", "viewer/fiji_port", "transfers/chunks", "preview/size_limit_bytes"):
        QSettings().remove(key)
    window.hidden_action.setChecked(False)


def test_delete_asks_first_and_removes_only_what_was_confirmed(make_window, qtbot, tmp_path):
    from .helpers import expand

    (tmp_path / "keep.txt").write_text("k")
    (tmp_path / "gone.txt").write_text("g")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inner.bin").write_bytes(b"x")
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    model = window.tree_model

    def select(*names):
        window.tree.selectionModel().clearSelection()
        for name in names:
            window.tree.selectionModel().select(
                window.proxy.mapFromSource(model.find("disk", str(tmp_path / name))),
                window.tree.selectionModel().SelectionFlag.Select | window.tree.selectionModel().SelectionFlag.Rows)

    asked = []
    window.delete_confirmer = lambda entries, names, permanent: (asked.append(names), False)[1]
    select("gone.txt", "folder")
    window.delete_action.trigger()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)  # asked once its plan is back from a worker
    assert asked and "gone.txt" in asked[0] and (tmp_path / "gone.txt").exists()  # refused: nothing deleted
    window.delete_confirmer = lambda entries, names, permanent: (asked.append(permanent), True)[1]
    with qtbot.waitSignal(window.deleteFinished, timeout=10_000):  # Delete runs in a worker
        window.delete_action.trigger()
    assert asked[-1] == []  # every entry has a trash: nothing is deleted for good
    assert not (tmp_path / "gone.txt").exists() and not (tmp_path / "folder").exists()
    assert (tmp_path / "keep.txt").exists()
    qtbot.waitUntil(lambda: not model.find("disk", str(tmp_path / "gone.txt")).isValid())
    # A root is never deleted.
    window.tree.selectionModel().clearSelection()
    window.tree.setCurrentIndex(window.proxy.mapFromSource(model.find("disk", str(tmp_path))))
    window.delete_action.trigger()
    assert tmp_path.exists()


def test_the_window_paints_before_the_heavy_modules_are_imported():
    """What the first paint waits for: no numpy, zarr, napari or superqt widgets (they come
    in the background or on first use; see benchmarks/README.md, Start-up)."""
    import subprocess
    import sys

    code = ("import sys; from qtpy.QtWidgets import QApplication; import polystore_gui.qt.main_window; "
            "print(sorted(m for m in ('numpy', 'zarr', 'napari', 'superqt', 'importlib.metadata') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_hidden_panels_are_built_when_first_used(make_window, qtbot):
    window = make_window([], show=True)
    assert window._inspector is None and window._transfer_queue is None
    window.inspector_action.trigger()  # Ctrl+K
    assert window._inspector is not None and window.inspector.isVisible()
    assert window.splitter.widget(2) is window.inspector
    window.inspector_action.trigger()
    assert not window.inspector.isVisible()
    window.transfer_dock.toggleViewAction().trigger()  # View → Transfers
    qtbot.waitUntil(lambda: window.transfer_dock.widget() is window._transfer_queue is not None)


def test_the_transfer_chunk_setting_refuses_a_zero_size(make_window, monkeypatch):
    """Settings → chunks for arrays copied into zarr: '0,512,512' is refused with the reason
    (it was stored, and every later copy into zarr failed), and a bad stored value (an old
    or hand-edited setting) reads as 'plane' instead of reaching the transfer."""
    from qtpy.QtCore import QSettings
    from qtpy.QtWidgets import QInputDialog

    window = make_window([])
    window.set_transfer_chunks((1, 64, 64))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("0,512,512", True)))
    window.choose_transfer_chunks()
    assert window.transfer_chunks() == (1, 64, 64)
    assert "at least 1" in window.statusBar().currentMessage()
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()  # the window's own write is in the file: then edited by hand
    QSettings().setValue("transfers/chunks", "0,5")
    assert window.transfer_chunks() is None
    window.set_transfer_chunks(None)


def test_a_hand_edited_viewer_port_that_is_no_number_falls_back_to_the_default(make_window, tmp_path):
    """Review: the window reads the viewers' ports at start; a settings file edited by hand
    (``napari_port=abc``) stopped the window with a ValueError traceback."""
    from qtpy.QtCore import QSettings

    from polystore_gui.model.streaming import default_port
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()
    QSettings().setValue("viewer/napari_port", "abc")
    QSettings().setValue("viewer/fiji_port", "")
    try:
        window = make_window([tmp_path])
        assert window._viewer_ports(None, None) == (default_port(), default_port() + 1)
    finally:
        QSettings().remove("viewer/napari_port")
        QSettings().remove("viewer/fiji_port")


def test_the_canvas_readout_and_the_backend_count_are_set_apart_in_the_status_bar(make_window, qtbot):
    """"value 10344  9 backends · 7 ready" read as one phrase: a line stands between the two
    while the readout says something, with room either side; none when it is empty."""
    from qtpy.QtWidgets import QFrame

    window = make_window([], show=True)
    window.resize(1200, 700)
    window.backend_count_label.setText("9 backends · 7 ready")
    window.preview.viewer.cursorMoved.emit("nuclei  z 3  y 255  x 253  value 10344")
    readout, count = window.cursor_label, window.backend_count_label
    separator = window.statusBar().findChild(QFrame, "statusSeparator")
    assert separator is not None
    qtbot.waitUntil(lambda: separator.isVisible() and readout.isVisible())
    assert separator.frameShape() == QFrame.Shape.VLine
    left = readout.geometry().right()
    line = separator.geometry()
    right = count.geometry().left()
    assert left < line.left() and line.right() < right
    assert right - left >= 12
    window.preview.viewer.cursorMoved.emit("")  # the cursor left the canvas
    qtbot.waitUntil(lambda: not separator.isVisible())


def test_a_click_on_the_empty_space_below_the_rows_selects_nothing(make_window, qtbot, demo_dir):
    """As in any file browser: a click below the last row neither selects nor previews the
    first row (it was bioformats); what was selected before stays selected."""
    window = make_window([demo_dir], show=True)
    window.resize(1200, 900)
    tree = window.tree
    model = window.tree_model
    qtbot.waitUntil(lambda: model.backend_index("disk").isValid())
    last = tree.visualRect(window.proxy.mapFromSource(model.index(model.rowCount() - 1, 0)))
    below = QPoint(20, last.bottom() + 40)
    assert not tree.indexAt(below).isValid()
    shown = []
    window.preview.show_message = lambda title, *args, **kwargs: shown.append(title)
    # A click on a window that is not active activates it first: the tree gets the focus
    # for that reason (the same when a dialog closes), then the press.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.filter_edit.setFocus()
    qtbot.waitUntil(window.filter_edit.hasFocus)
    tree.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
    qtbot.waitUntil(tree.hasFocus)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=below)
    assert not tree.currentIndex().isValid() and not tree.selectionModel().selectedRows()
    assert window.selected_entries() == [] and "bioformats" not in shown
    # A row chosen first stays chosen after a click below the rows.
    disk = window.proxy.mapFromSource(model.backend_index("disk"))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(disk).center())
    assert tree.currentIndex() == disk
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=below)
    assert tree.currentIndex() == disk and "bioformats" not in shown
