"""The folder list: every entry of a large folder, in a flat table below the tree.

A QTreeView lays out every row it holds again on each change (a Python call or more per
row through the model), so the tree shows a large folder's first page only and a row
standing for the rest. This table holds all of them at once — 100,000 or 1,000,000 — at
no per-row cost: a QTableView of fixed row height asks the model only for the rows on
screen. It shares the tree's order (sorting either sorts both), its filter box, its drag
MIME type and its roles, and it asks the tree's model to learn the details (size, time,
zarr facts) of the rows on screen as they scroll into view.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
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
from ..model.listing import folded_names, listing_position, match_positions
from . import icons
from .tree_model import ADDRESS_ROLE, ENTRY_ROLE, PAGE, ROW_KIND_ROLE, entries_mime
from .tree_nodes import COLUMNS, SIZE, entry_text, tooltip_for_entry

DETAILS_DELAY_MS = 60  # after scrolling stops, the rows on screen learn their details


class _Joined(Sequence[Entry]):
    """Two lists read as one, never copied: a folder's rows in the tree and the rest (which
    can be a million; copying them cost the GUI thread 30 ms each time)."""

    __slots__ = ("head", "tail")

    def __init__(self, head: Sequence[Entry], tail: Sequence[Entry]) -> None:
        self.head, self.tail = head, tail

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.head)
        if i < 0:
            i += len(self)
        return self.head[i] if i < n else self.tail[i - n]

    def __iter__(self) -> Iterator[Entry]:
        return itertools.chain(self.head, self.tail)

    def match_positions(self, needle: str, offset: int = 0) -> list[int]:
        return match_positions(self.head, needle, offset) + match_positions(self.tail, needle, offset + len(self.head))

    def position(self, path: str) -> int | None:
        found = listing_position(self.head, path)
        if found is not None:
            return found
        found = listing_position(self.tail, path)
        return None if found is None else len(self.head) + found


class FolderListModel(QAbstractTableModel):
    """One folder's whole listing as rows; filtered by name without a proxy."""

    sortRequested = Signal(int, object)  # column, Qt.SortOrder: the tree's model sorts both

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder: tuple[str, str] | None = None
        self._entries: Sequence[Entry] = []
        self._rows: list[int] | None = None  # shown row -> entry position (None: all, in order)
        # path -> entry position: for the rows whose details were asked for (and the tree's
        # page), so that details land without a map of every path (90 ms per 100,000).
        self._position: dict[str, int] = {}
        self._details: dict[str, Entry] = {}
        self._folded: list[str] | None = None  # casefolded names, built at the first filter
        self.filter_text = ""

    # -- contents ------------------------------------------------------------------------

    def set_listing(self, folder: tuple[str, str] | None, entries: Sequence[Entry],
                    details: dict[str, Entry] | None = None, tail: Sequence[Entry] = ()) -> None:
        """Show ``entries`` then ``tail`` (neither is copied, nor changed); ``details``: newer
        facts for some of them, by path (looked up per row)."""
        self.beginResetModel()
        self.folder = folder
        self._entries = _Joined(entries, tail) if tail else entries
        self._details = dict(details or {})
        self._position = {e.path: i for i, e in enumerate(self._entries[:PAGE])}
        self._folded = None
        self._rows = self._matching(self.filter_text)
        self.endResetModel()

    def clear(self) -> None:
        self.set_listing(None, [])

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
        """Details learnt for some entries: swap them in, repaint the rows that show them."""
        touched = []
        for update in updates:
            position = self._position.get(update.path)
            if position is not None:
                self._details[update.path] = update
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
        """Show the entries whose names hold ``text`` (case-blind); all when empty."""
        text = text.strip()
        if text == self.filter_text:
            return
        self.beginResetModel()
        self.filter_text = text
        self._rows = self._matching(text)
        self.endResetModel()

    def _matching(self, text: str) -> list[int] | None:
        if not text:
            return None
        if hasattr(self._entries, "match_positions"):  # a large folder's names, searched by numpy
            return match_positions(self._entries, text)
        if self._folded is None:
            self._folded = folded_names(self._entries)
        needle = text.casefold()
        return [i for i, name in enumerate(self._folded) if needle in name]

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
    detailsWanted = Signal(object, object)  # folder (backend, path), [Entry] on screen

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

    def show_folder(self, folder: tuple[str, str], name: str, entries: Sequence[Entry],
                    details: dict[str, Entry] | None = None, *, tail: Sequence[Entry] = (), sort_column: int = 0,
                    order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Show every entry of ``folder`` (already in the tree's order): ``entries`` then ``tail``."""
        same = self.model.folder == folder
        top = self.table.verticalScrollBar().value() if same else 0
        self.model.set_listing(folder, entries, details, tail)
        header = self.table.horizontalHeader()
        header.blockSignals(True)  # the indicator follows the tree's order; no sort is asked
        header.setSortIndicator(sort_column, order)
        header.blockSignals(False)
        self._name = name
        self._set_title()
        self.table.verticalScrollBar().setValue(top)
        self.show()

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
        if self.model.folder is not None and self.isVisible():
            self.detailsWanted.emit(self.model.folder, self.visible_entries())

    def _on_close_clicked(self) -> None:
        self.hide()
        self.model.clear()
        self.closed.emit()


__all__ = ["FolderList", "FolderListModel"]
