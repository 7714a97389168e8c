"""A cell painted or measured is one call into Python (Qt's ``multiData``), answered with
exactly what ``data()`` answers: while a worker runs Python, each call from Qt into Python
waits for the interpreter lock, and the delegate asks seven roles a cell."""

from __future__ import annotations

import sys
from collections import Counter

from qtpy.QtCore import QModelIndex, QModelRoleData, QModelRoleDataSpan, Qt
from qtpy.QtGui import QIcon

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.folder_state import FolderState
from polystore_gui.qt.folder_list import FolderList
from polystore_gui.qt.tree_model import BackendTreeModel

from .helpers import expand

R = Qt.ItemDataRole
# What QStyledItemDelegate asks a cell for, in one multiData call (Qt 6).
DELEGATE_ROLES = (R.FontRole, R.TextAlignmentRole, R.ForegroundRole, R.CheckStateRole, R.DecorationRole,
                  R.DisplayRole, R.BackgroundRole)


def _comparable(value):
    if isinstance(value, QIcon):
        return ("icon", value.cacheKey())
    return value


def _span_answers(model, index) -> list:
    span = QModelRoleDataSpan([QModelRoleData(int(role)) for role in DELEGATE_ROLES])
    model.multiData(index, span)
    return [_comparable(span.dataForRole(int(role))) for role in DELEGATE_ROLES]


def _indexes(model, parent=QModelIndex()):
    for row in range(model.rowCount(parent)):
        for column in range(model.columnCount(parent)):
            yield model.index(row, column, parent)
        yield from _indexes(model, model.index(row, 0, parent))


def test_the_trees_cells_answer_all_their_roles_in_one_call_as_data_does(make_window, qtbot, demo_dir):
    window = make_window([demo_dir], show=True)
    expand(window, qtbot, "disk", str(demo_dir))
    model = window.tree_model
    checked = 0
    for index in _indexes(model):
        expected = [_comparable(model.data(index, role)) for role in DELEGATE_ROLES]
        assert _span_answers(model, index) == expected, model.data(index, R.DisplayRole)
        checked += 1
    assert checked > 5 * model.columnCount()  # the backends and the demo folder's rows


def test_the_folder_lists_cells_answer_all_their_roles_in_one_call_as_data_does(qtbot):
    pane = FolderList()
    qtbot.addWidget(pane)
    folder = FolderState("disk", "/d")
    folder.begin()
    folder.set_listing([Entry("disk", f"/d/f{i}", f"f{i}", EntryKind.FILE if i % 2 else EntryKind.DIRECTORY)
                        for i in range(6)])
    folder.learn([folder.listing[1].with_details(size=2048, modified=0.0)])
    pane.show_folder(folder, "d")
    model = pane.model
    for index in _indexes(model):
        assert _span_answers(model, index) == [_comparable(model.data(index, role)) for role in DELEGATE_ROLES]
    assert model.rowCount() == 6


def test_painting_the_tree_asks_python_once_a_cell(make_window, qtbot, demo_dir, monkeypatch):
    window = make_window([demo_dir], show=True)
    expand(window, qtbot, "disk", str(demo_dir))
    calls: Counter = Counter()
    real_data = BackendTreeModel.data

    def counted_data(self, index, role=R.DisplayRole):
        if role in DELEGATE_ROLES:  # by the one multiData call, or straight from Qt, a role at a time
            calls["multi" if sys._getframe(1).f_code.co_name == "multiData" else "data"] += 1
        return real_data(self, index, role)

    monkeypatch.setattr(BackendTreeModel, "data", counted_data)
    viewport = window.tree.viewport()
    viewport.grab()
    tree, rows = window.tree, 0
    row = tree.indexAt(viewport.rect().topLeft())
    while row.isValid() and tree.visualRect(row).top() < viewport.height():
        rows += 1
        row = tree.indexBelow(row)
    assert rows >= 5
    # every cell on screen answered its roles in one call
    assert calls["multi"] >= rows * tree.model().columnCount() * len(DELEGATE_ROLES)
    assert calls["data"] == 0
