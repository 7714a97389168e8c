"""The chunk table: one row per chunk of the grid, virtual over a chunk report's numpy
arrays (a million chunks cost nothing until drawn), sortable by any column."""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QColor

from ..model.chunk_report import ERROR, MISSING, STATE_NAMES, STORED, UNKNOWN, ChunkReport
from .cell_roles import OneCallPerCell

STATE_COLORS = {UNKNOWN: "#9ca3af", STORED: "", MISSING: "#6b7280", ERROR: "#b91c1c"}


class ChunkTableModel(OneCallPerCell, QAbstractTableModel):
    """One row per chunk of the grid (C order, or sorted), straight from the report's arrays."""

    COLUMNS = ("Index", "Key", "State", "Stored", "Ratio")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.report: ChunkReport | None = None
        self.order: np.ndarray | None = None  # row -> flat chunk index when sorted
        self._rank: np.ndarray | None = None  # flat chunk index -> row
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_report(self, report: ChunkReport | None) -> None:
        self.beginResetModel()
        self.report = report
        self.order = self._rank = None
        self._sort = None
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() or self.report is None:
            return 0
        return int(self.report.state.size)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def flat(self, row: int) -> int:
        return int(self.order[row]) if self.order is not None else row

    def row_of(self, flat: int) -> int:
        return int(self._rank[flat]) if self._rank is not None else flat

    def chunk_index(self, row: int) -> tuple[int, ...]:
        assert self.report is not None
        grid = self.report.layout.grid
        return tuple(int(i) for i in np.unravel_index(self.flat(row), grid)) if grid else ()

    def is_stored(self, row: int) -> bool:
        return self.report is not None and int(self.report.state.reshape(-1)[self.flat(row)]) == STORED

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        report = self.report
        if report is None or not index.isValid():
            return None
        flat = self.flat(index.row())
        state = int(report.state.reshape(-1)[flat])
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return ", ".join(map(str, self.chunk_index(index.row())))
            if col == 1:
                layout = report.layout
                obj, inner = layout.object_of(self.chunk_index(index.row()))
                key = layout.key(obj)
                return f"{key} [{', '.join(map(str, inner))}]" if layout.shards else key
            if col == 2:
                return STATE_NAMES[state]
            stored = int(report.stored.reshape(-1)[flat])
            if state != STORED:
                return "—" if col == 3 or state != ERROR else ""
            if col == 3:
                return f"{stored:,}"
            decoded = report.layout.chunk_nbytes
            return f"{decoded / stored:.2f}" if decoded and stored else "—"
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and STATE_COLORS.get(state):
            return QColor(STATE_COLORS[state])
        if role == Qt.ItemDataRole.ToolTipRole and state == ERROR:
            layout = report.layout
            obj, _inner = layout.object_of(self.chunk_index(index.row()))
            oflat = int(np.ravel_multi_index(obj, layout.object_grid)) if obj else 0
            return report.errors.get(oflat, "unreadable")
        return None

    def refresh(self) -> None:
        """The report changed underneath: redraw (Qt repaints only the visible rows)."""
        if self.report is None or self.rowCount() == 0:
            return
        self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(self.COLUMNS) - 1))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        if self.report is None:
            return
        self.layoutAboutToBeChanged.emit()
        self.order = self._sorted(column, order)
        self._rank = None
        if self.order is not None:
            self._rank = np.empty_like(self.order)
            self._rank[self.order] = np.arange(self.order.size)
        self.layoutChanged.emit()

    def resort(self) -> None:
        if self._sort is not None and self._sort[0] != 0:
            self.sort(*self._sort)

    def _sorted(self, column: int, order: Qt.SortOrder) -> np.ndarray | None:
        assert self.report is not None
        report = self.report
        n = report.state.size
        descending = order == Qt.SortOrder.DescendingOrder
        if column in (0, 1) and (column == 0 or report.layout.shards is None):
            return np.arange(n - 1, -1, -1) if descending else None
        if column == 1:  # by shard key, then by place inside the shard
            layout = report.layout
            coords = np.unravel_index(np.arange(n), layout.grid)
            per = layout.per_shard
            shard = np.ravel_multi_index(tuple(c // p for c, p in zip(coords, per)), layout.object_grid)
            local = np.ravel_multi_index(tuple(c % p for c, p in zip(coords, per)), per)
            keys = np.lexsort((local, shard))
        elif column == 2:
            keys = np.argsort(report.state.reshape(-1), kind="stable")
        elif column == 3:
            stored = np.where(report.state.reshape(-1) == STORED, report.stored.reshape(-1), -1)
            keys = np.argsort(stored, kind="stable")
        else:
            stored = report.stored.reshape(-1).astype(np.float64)
            ratio = np.where(report.state.reshape(-1) == STORED, (report.layout.chunk_nbytes or 0) / np.maximum(stored, 1), -1.0)
            keys = np.argsort(ratio, kind="stable")
        return keys[::-1].copy() if descending else keys
