"""The folder list: every entry of a large folder, in a flat table below the tree.

A QTreeView lays out every row it holds again on each change (a Python call or more per
row through the model), so the tree shows a large folder's first page only and a row
standing for the rest. This table holds all of them at once — 100,000 or 1,000,000 — at
no per-row cost: a QTableView of fixed row height asks the model only for the rows on
screen.

The table is a view of the folder's :class:`~polystore_gui.model.folder_state.FolderState`,
the same object the tree's rows are a view of: it follows the state's changes itself (a
new listing or order, details learnt) and asks the state for the details of the rows on
screen as they scroll into view; nothing is relayed through the window. It shares the
tree's order (sorting either sorts both), its filter box, its drag MIME type and its roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtpy.QtCore import QAbstractTableModel, QMimeData, QModelIndex, QObject, Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..model.address import Address
from ..model.entries import Entry
from ..model.folder_state import Change, FolderState, Phase
from ..model.listing import listing_position
from ..model.name_filter import NameFilter
from . import icons
from .cell_roles import OneCallPerCell
from .tree_model import ADDRESS_ROLE, ENTRY_ROLE, PAGE, ROW_KIND_ROLE, entries_mime
from .tree_nodes import COLUMNS, SIZE, SORT_FIELD, entry_text, tooltip_for_entry

DETAILS_DELAY_MS = 60  # after scrolling stops, the rows on screen learn their details


class FolderListModel(OneCallPerCell, QAbstractTableModel):
    """One folder's whole listing (a FolderState's) as rows; filtered by name without a proxy."""

    sortRequested = Signal(int, object)  # column, Qt.SortOrder: the tree's model sorts both

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state: FolderState | None = None
        self._entries: Sequence[Entry] = []  # the state's listing, as of its last LISTED change
        self._rows: list[int] | None = None  # shown row -> entry position (None: all, in order)
        # path -> entry position: for the rows whose details were asked for (and the tree's
        # page), so that details land without a map of every path (90 ms per 100,000).
        self._position: dict[str, int] = {}
        self._details: dict[str, Entry] = {}  # the state's details (shared: looked up per row)
        self._filter = NameFilter([])  # which entries hold the filter text (narrowed key by key)
        self.filter_text = ""

    # -- contents ------------------------------------------------------------------------

    @property
    def folder(self) -> tuple[str, str] | None:
        """(backend, path) of the folder shown, or None."""
        return self.state.address if self.state is not None else None

    def set_state(self, state: FolderState | None) -> None:
        """Show ``state``'s listing as it is now (never copied: a million entries stay where
        they are; details are looked up per row in the state's own map)."""
        self.beginResetModel()
        self.state = state
        listed = state is not None and state.phase is Phase.LISTED
        self._entries = state.listing if listed and state is not None else []
        self._details = state.details if listed and state is not None else {}
        self._position = {e.path: i for i, e in enumerate(self._entries[:PAGE])}
        self._filter = NameFilter(self._entries)
        self._rows = self._filter.match(self.filter_text)
        self.endResetModel()

    def reload(self) -> None:
        """The state has a new listing (or order): show it."""
        self.set_state(self.state)

    def clear(self) -> None:
        self.set_state(None)

    @property
    def count(self) -> int:
        """Entries in the folder (shown or filtered out)."""
        return len(self._entries)

    def entry(self, row: int) -> Entry:
        entry = self._entries[row if self._rows is None else self._rows[row]]
        return self._details.get(entry.path, entry) if self._details else entry

    def row_of(self, path: str) -> int | None:
        """The shown row of ``path`` (None when filtered out or not in the folder)."""
        position = self._position.get(path)
        if position is None:
            position = listing_position(self._entries, path)  # a search, not a map of every path
            if position is None:
                return None
            self._position[path] = position
        if self._rows is None:
            return position
        try:
            return self._rows.index(position)
        except ValueError:
            return None

    def entries_at(self, rows: range) -> list[Entry]:
        """The entries of these shown rows (remembered, so that their details find them)."""
        out = []
        for row in rows:
            position = row if self._rows is None else self._rows[row]
            entry = self._entries[position]
            self._position[entry.path] = position
            out.append(self._details.get(entry.path, entry) if self._details else entry)
        return out

    def update_entries(self, updates: list[Entry]) -> None:
        """Details learnt for some entries (already in the state's map): repaint the rows that
        show them."""
        if self.state is None or self._details is not self.state.details:
            return  # learnt for a listing this table no longer shows
        touched = []
        for update in updates:
            position = self._position.get(update.path)
            if position is not None:
                touched.append(position)
        if not touched:
            return
        if self._rows is None:
            first, last = min(touched), max(touched)
        else:
            shown = set(touched)
            rows = [r for r, p in enumerate(self._rows) if p in shown] if len(touched) < 4096 else []
            if not rows:
                return
            first, last = rows[0], rows[-1]
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def set_filter(self, text: str) -> None:
        """Show the entries whose names hold ``text`` (case-blind); all when empty.

        A key that adds to the text examines only the rows shown (see model.name_filter).
        """
        text = text.strip()
        if text == self.filter_text:
            return
        self.beginResetModel()
        self.filter_text = text
        self._rows = self._filter.match(text)
        self.endResetModel()

    @property
    def names_examined(self) -> int:
        """How many names the last filter text examined (what a keystroke cost)."""
        return self._filter.examined

    # -- Qt model ------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid():
            return 0
        return len(self._entries) if self._rows is None else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        entry = self.entry(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return entry_text(entry, column)
        if role == ADDRESS_ROLE:
            return (entry.backend, entry.path)
        if role == ENTRY_ROLE:
            return entry
        if role == ROW_KIND_ROLE:
            return "entry"
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.icon_for_entry(entry) if column == 0 else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_for_entry(entry)
        if role == Qt.ItemDataRole.ForegroundRole and entry.error is not None:
            return icons.error_brush()
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if self.entry(index.row()).error is None:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sortRequested.emit(column, order)

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        from ..model.address import ENTRIES_MIME

        return [ENTRIES_MIME, "text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 (Qt override)
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return entries_mime([Address(e.backend, e.path) for e in (self.entry(r) for r in rows) if e.error is None])

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction


class FolderList(QWidget):
    """The table and its title ("plate — 100,000 entries"), shown below the tree when used."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("folderListPane")
        self.model = FolderListModel(self)
        self.title = QLabel("", self)
        self.title.setObjectName("folderListTitle")
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Close the folder list")
        close.clicked.connect(self._on_close_clicked)
        top = QHBoxLayout()
        top.setContentsMargins(2, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(close)
        self.table = QTableView(self)
        self.table.setObjectName("folderList")
        self.table.setModel(self.model)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setDragEnabled(True)
        self.table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        from .window_layout import tree_column_widths

        for col, width in enumerate(tree_column_widths(self.fontMetrics())):  # as the tree's
            header.resizeSection(col, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._details_timer = QTimer(self)
        self._details_timer.setSingleShot(True)
        self._details_timer.setInterval(DETAILS_DELAY_MS)
        self._details_timer.timeout.connect(self._on_details_timer_timeout)
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._details_timer.start())
        self.model.modelReset.connect(self._on_model_reset)

    def show_folder(self, state: FolderState, name: str) -> None:
        """Show every entry of the folder ``state`` is the listing of, and follow it from now on."""
        same = self.model.state is state
        top = self.table.verticalScrollBar().value() if same else 0
        if not same:
            if self.model.state is not None:
                self.model.state.unsubscribe(self)
            state.subscribe(self)
        self.model.set_state(state)
        self._name = name
        self._show_order()
        self._set_title()
        self.table.verticalScrollBar().setValue(top)
        self.show()

    def folder_changed(self, folder: FolderState, change: Change, entries: Sequence[Entry]) -> None:
        """The folder shown changed (its FolderState tells): follow it."""
        if folder is not self.model.state:
            return
        if change is Change.DETAILS:
            self.model.update_entries(list(entries))
        elif change in (Change.LISTED, Change.FAILED):
            # A new listing or order (or none): shown where the user was.
            top = self.table.verticalScrollBar().value()
            self.model.reload()
            self._show_order()
            self._set_title()
            self.table.verticalScrollBar().setValue(top)
        # LOADING: the rows shown stay until the new listing arrives.

    def _show_order(self) -> None:
        state = self.model.state
        if state is None:
            return
        field, descending = state.order
        column = next((c for c, f in SORT_FIELD.items() if f == field), 0)
        header = self.table.horizontalHeader()
        header.blockSignals(True)  # the indicator follows the listing's order; no sort is asked
        header.setSortIndicator(column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)

    def _set_title(self) -> None:
        model = self.model
        text = f"<b>{getattr(self, '_name', '')}</b> — {model.count:,} entries"
        if model.filter_text:
            text += f", {model.rowCount():,} matching “{model.filter_text}”"
        self.title.setText(text)

    def set_filter(self, text: str) -> None:
        self.model.set_filter(text)
        self._set_title()

    def select_path(self, path: str) -> bool:
        row = self.model.row_of(path)
        if row is None:
            return False
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    def visible_entries(self) -> list[Entry]:
        """The entries of the rows on screen (and half a screen either side)."""
        rows = self.model.rowCount()
        if not rows:
            return []
        viewport = self.table.viewport().rect()
        height = max(1, self.table.verticalHeader().defaultSectionSize())
        first = self.table.rowAt(viewport.top())
        last = self.table.rowAt(viewport.bottom())
        first = 0 if first < 0 else first
        if last < 0:  # below the last row, or not laid out yet: a screenful, never the whole folder
            last = min(rows - 1, first + viewport.height() // height + 1)
        margin = max(8, (last - first) // 2)
        return self.model.entries_at(range(max(0, first - margin), min(rows, last + margin + 1)))

    def _on_model_reset(self) -> None:
        self._details_timer.start()

    def _on_details_timer_timeout(self) -> None:
        state = self.model.state
        if state is not None and self.isVisible():
            state.want_details(self.visible_entries())

    def _on_close_clicked(self) -> None:
        self.hide()
        if self.model.state is not None:
            self.model.state.unsubscribe(self)
        self.model.clear()
        self.closed.emit()


__all__ = ["FolderList", "FolderListModel"]
