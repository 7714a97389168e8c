"""The plate view's grid: a plate's wells as cells, painted from its metadata and thumbnails.

Empty positions are drawn empty, listed wells without fields outlined; thumbnails are
drawn as they arrive. Hover: the well's name and metadata; click or the arrow keys make a
well current (``wellClicked``; a position with no well: ``emptyClicked``); double-click or
Enter: ``wellActivated``. The wells table's filter dims the other wells (``set_kept``).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QPoint, QRect, QSize, Qt, Signal
from qtpy.QtGui import QColor, QFont, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..model.plate_summary import PlateSummary, WellSummary

HEADER = 22  # pixels for the row letters and column numbers
EMPTY = QColor("#2a2d33")
WELL = QColor("#3b4048")
CURRENT = QColor("#f59e0b")
SELECTED = QColor("#60a5fa")


def _image(pixels: Any) -> QImage:
    """An 8-bit grayscale QImage that owns its pixels."""
    import numpy as np

    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = data.shape
    return QImage(data.data, width, height, data.strides[0], QImage.Format.Format_Grayscale8).copy()


class PlateGrid(QWidget):
    """The plate's wells as cells of a grid, painted from the metadata and the thumbnails."""

    wellClicked = Signal(object)  # WellSummary
    wellActivated = Signal(object)  # WellSummary (double-click or Enter)
    emptyClicked = Signal(str)  # a position with no well made current: "B2: no well"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plateGrid")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plate: PlateSummary | None = None
        self.thumbnails: dict[str, QImage] = {}
        self.failed: dict[str, str] = {}
        self.kept: frozenset[str] | None = None  # the wells table's filter; None: all bright
        self.current: tuple[int, int] | None = None
        self.selected: set[str] = set()
        self._at: dict[tuple[int, int], WellSummary] = {}

    # -- content -------------------------------------------------------------------------------

    def set_plate(self, plate: PlateSummary | None) -> None:
        self.plate = plate
        self.thumbnails = {}
        self.failed = {}
        self.kept = None
        self.selected = set()
        self._at = {(w.row_index, w.column_index): w for w in plate.wells} if plate is not None else {}
        first = next((w for w in plate.wells if w.fields), None) if plate is not None else None
        self.current = (first.row_index, first.column_index) if first is not None else None
        self.update()

    def set_thumbnail(self, well: str, pixels: Any) -> None:
        self.thumbnails[well] = _image(pixels)
        self.update(self._cell_of(well))

    def set_failed(self, well: str, error: str) -> None:
        self.failed[well] = error
        self.update(self._cell_of(well))

    def set_kept(self, kept: frozenset[str] | None) -> None:
        self.kept = kept
        self.update()

    def well_at(self, row: int, column: int) -> WellSummary | None:
        return self._at.get((row, column))

    @property
    def current_well(self) -> WellSummary | None:
        return self._at.get(self.current) if self.current is not None else None

    def set_current(self, row: int, column: int, *, emit: bool = True) -> None:
        if self.plate is None:
            return
        row = max(0, min(row, len(self.plate.rows) - 1))
        column = max(0, min(column, len(self.plate.columns) - 1))
        self.current = (row, column)
        self.update()
        well = self._at.get((row, column))
        if emit and well is not None:
            self.wellClicked.emit(well)
        elif emit:
            self.emptyClicked.emit(f"{self.plate.rows[row]}{self.plate.columns[column]}: no well")

    # -- geometry ------------------------------------------------------------------------------

    def cell_size(self) -> int:
        if self.plate is None or not self.plate.rows or not self.plate.columns:
            return 0
        width = (self.width() - HEADER - 2) / len(self.plate.columns)
        height = (self.height() - HEADER - 2) / len(self.plate.rows)
        return max(4, int(min(width, height)))

    def cell_rect(self, row: int, column: int) -> QRect:
        size = self.cell_size()
        return QRect(HEADER + column * size, HEADER + row * size, size, size)

    def _cell_of(self, well_path: str) -> QRect:
        well = next((w for w in self._at.values() if w.path == well_path), None)
        return self.cell_rect(well.row_index, well.column_index) if well is not None else self.rect()

    def position_at(self, point: QPoint) -> tuple[int, int] | None:
        size = self.cell_size()
        if self.plate is None or size == 0 or point.x() < HEADER or point.y() < HEADER:
            return None
        row, column = (point.y() - HEADER) // size, (point.x() - HEADER) // size
        if row < len(self.plate.rows) and column < len(self.plate.columns):
            return int(row), int(column)
        return None

    def sizeHint(self) -> QSize:
        return QSize(520, 360)

    # -- painting ------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        plate = self.plate
        size = self.cell_size()
        if plate is None or size == 0:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "This plate lists no rows or columns.")
            return
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, min(9.0, size / 3)))
        painter.setFont(font)
        label_every = 1 if size >= 14 else 2 if size >= 8 else 4
        for c, name in enumerate(plate.columns):
            if c % label_every == 0:
                painter.drawText(QRect(HEADER + c * size, 0, size * label_every, HEADER),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f" {name}")
        for r, name in enumerate(plate.rows):
            if r % label_every == 0:
                painter.drawText(QRect(0, HEADER + r * size, HEADER - 2, size),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
        clip = event.rect()
        for r in range(len(plate.rows)):
            for c in range(len(plate.columns)):
                rect = self.cell_rect(r, c)
                if not rect.intersects(clip):
                    continue
                inner = rect.adjusted(1, 1, -1, -1)
                well = self._at.get((r, c))
                if well is None:
                    painter.fillRect(inner, EMPTY)
                    continue
                image = self.thumbnails.get(well.path)
                if image is not None:
                    painter.drawImage(inner, image)
                else:
                    painter.fillRect(inner, WELL)
                    if not well.fields or well.path in self.failed:
                        painter.setPen(QPen(QColor("#b91c1c"), 1))
                        painter.drawLine(inner.topLeft(), inner.bottomRight())
                if self.kept is not None and well.path not in self.kept:
                    painter.fillRect(inner, QColor(0, 0, 0, 170))
                if well.path in self.selected:
                    painter.setPen(QPen(SELECTED, 2))
                    painter.drawRect(inner.adjusted(1, 1, -1, -1))
        if self.current is not None:
            painter.setPen(QPen(CURRENT, 2))
            painter.drawRect(self.cell_rect(*self.current).adjusted(1, 1, -1, -1))

    # -- interaction ---------------------------------------------------------------------------

    def tooltip_text(self, row: int, column: int) -> str:
        plate = self.plate
        assert plate is not None
        well = self._at.get((row, column))
        if well is None:
            return f"{_escape(plate.rows[row])}{_escape(plate.columns[column])}: no well"
        lines = [f"<b>{_escape(well.name)}</b> ({_escape(well.path)})",
                 f"{len(well.fields)} field{'s' if len(well.fields) != 1 else ''}"]
        if well.acquisition is not None:
            lines.append(f"acquisition {well.acquisition}")
        lines += [f"{_escape(key)}: {_escape(value)}" for key, value in well.attributes]
        lines += [_escape(note) for note in well.notes]
        if well.path in self.failed:
            lines.append(f"thumbnail: {_escape(self.failed[well.path])}")
        return "<br>".join(lines)

    def event(self, event: Any) -> bool:
        if event.type() == event.Type.ToolTip:
            position = self.position_at(event.pos())
            if position is not None:
                QToolTip.showText(event.globalPos(), self.tooltip_text(*position), self)
            else:
                QToolTip.hideText()
            return True
        return bool(super().event(event))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        position = self.position_at(event.position().toPoint())
        if position is None:
            return
        well = self._at.get(position)
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and well is not None:
            self.selected ^= {well.path}
        else:
            self.selected = {well.path} if well is not None else set()
        self.set_current(*position)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        position = self.position_at(event.position().toPoint())
        well = self._at.get(position) if position is not None else None
        if well is not None:
            self.wellActivated.emit(well)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.plate is None:
            return super().keyPressEvent(event)
        row, column = self.current if self.current is not None else (0, 0)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        key = Qt.Key(event.key())
        if key in moves:
            dr, dc = moves[key]
            self.set_current(row + dr, column + dc)
            well = self.current_well
            if not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.selected = {well.path} if well is not None else set()
            elif well is not None:
                self.selected.add(well.path)
            self.update()
            return
        if key == Qt.Key.Key_Home:
            self.set_current(0, 0)
            return
        if key == Qt.Key.Key_End:
            self.set_current(len(self.plate.rows) - 1, len(self.plate.columns) - 1)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            well = self.current_well
            if well is not None:
                self.wellActivated.emit(well)
            return
        super().keyPressEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
