"""The wells of a plate as a table: well, row, column, fields, acquisition and conditions.

Per-well attributes (an OME-Zarr well's own attributes, a polystore document's per-well
facts such as conditions) become columns of their own. The filter box matches any column;
the wells it leaves are the ones the plate grid keeps bright (``filterChanged``).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from ..model.plate_summary import PlateSummary, WellSummary
from .cell_roles import OneCallPerCell

WELL_ROLE = Qt.ItemDataRole.UserRole + 1
BASE_COLUMNS = ("well", "row", "column", "fields", "acquisition")


class WellsTableModel(OneCallPerCell, QAbstractTableModel):
    """One row per well of a plate, read-only."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.wells: tuple[WellSummary, ...] = ()
        self.extra: list[str] = []

    def set_plate(self, plate: PlateSummary | None) -> None:
        self.beginResetModel()
        self.wells = plate.wells if plate is not None else ()
        keys: dict[str, None] = {}
        for well in self.wells:
            for key, _ in well.attributes:
                keys.setdefault(key, None)
        self.extra = list(keys)
        self.endResetModel()

    def empty_columns(self) -> frozenset[int]:
        """The columns with nothing in any row (a plate without acquisitions, an attribute
        no well fills): hidden, so they take no width from the ones that say something."""
        empty: set[int] = set()
        if not any(well.acquisition is not None for well in self.wells):
            empty.add(BASE_COLUMNS.index("acquisition"))
        for offset, key in enumerate(self.extra):
            if not any(dict(well.attributes).get(key, "") for well in self.wells):
                empty.add(len(BASE_COLUMNS) + offset)
        return frozenset(empty)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.wells)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(BASE_COLUMNS) + len(self.extra)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            names = list(BASE_COLUMNS) + self.extra
            return names[section] if 0 <= section < len(names) else None
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.wells):
            return None
        well = self.wells[index.row()]
        if role == WELL_ROLE:
            return well
        if role == Qt.ItemDataRole.ToolTipRole and well.notes:
            return "; ".join(well.notes)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return None
        column = index.column()
        if column == 0:
            return well.name
        if column == 1:
            return well.row
        if column == 2:
            return well.column
        if column == 3:
            return len(well.fields) if role == Qt.ItemDataRole.EditRole else str(len(well.fields))
        if column == 4:
            return "" if well.acquisition is None else str(well.acquisition)
        key = self.extra[column - len(BASE_COLUMNS)] if column - len(BASE_COLUMNS) < len(self.extra) else None
        return dict(well.attributes).get(key, "") if key is not None else None


class WellsTable(QWidget):
    """The table with its filter box above it."""

    filterChanged = Signal(object)  # frozenset of the well paths the filter keeps (None: no filter)
    wellSelected = Signal(object)  # WellSummary

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wellsTablePane")
        self.model = WellsTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(Qt.ItemDataRole.EditRole)
        self.filter = QLineEdit(self)
        self.filter.setObjectName("wellsFilter")
        self.filter.setPlaceholderText("Filter wells (name, row, column, condition…)")
        self.filter.setClearButtonEnabled(True)
        self.view = QTableView(self)
        self.view.setObjectName("wellsTable")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        # Column widths from the first rows only: sizing by every row asks Python for every
        # cell of a 1,536-well plate on the GUI thread (0.2 s for 384 wells).
        self.view.horizontalHeader().setResizeContentsPrecision(32)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.view.selectionModel().currentRowChanged.connect(self._on_view_current_changed)

    def set_plate(self, plate: PlateSummary | None) -> None:
        self.model.set_plate(plate)
        empty = self.model.empty_columns()
        for column in range(self.model.columnCount()):
            self.view.setColumnHidden(column, column in empty)
        self._on_filter_text_changed(self.filter.text())

    def select(self, well: WellSummary) -> None:
        """Make ``well``'s row current (when the filter shows it)."""
        for row in range(self.model.rowCount()):
            if self.model.wells[row].path == well.path:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                if index.isValid() and self.view.currentIndex().row() != index.row():
                    self.view.setCurrentIndex(index)
                return

    def clear_current(self) -> None:
        """No row current (a position with no well was chosen in the grid)."""
        self.view.selectionModel().clearCurrentIndex()
        self.view.clearSelection()

    def _on_filter_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if not text.strip():
            self.filterChanged.emit(None)
            return
        kept = frozenset(
            self.proxy.mapToSource(self.proxy.index(r, 0)).data(WELL_ROLE).path for r in range(self.proxy.rowCount())
        )
        self.filterChanged.emit(kept)

    def _on_view_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            well = self.proxy.mapToSource(current).data(WELL_ROLE)
            if well is not None:
                self.wellSelected.emit(well)
