"""The plate view: a plate's row × column grid of well thumbnails, its wells table and fields.

The grid is painted at once from the plate's metadata (empty positions empty, listed wells
without fields outlined); thumbnails arrive one by one from a worker (cached ones first)
and are drawn as they come. Hover: the well's name and metadata. Click (or the arrow keys):
that well's fields below. Double-click a field, or a well with one field: ``fieldActivated``
(the preview panel opens it in the embedded napari viewer). The wells table's filter dims
the grid's other wells. *Send Wells to Viewer* sends the selected wells' fields to the
persistent napari viewer, one layer per field (a TIFF plate's field: its site's files
stacked, one layer a channel); *Send Mosaic* sends the thumbnails as one image laid out as
the plate.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from qtpy.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from qtpy.QtGui import QColor, QFont, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from qtpy.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSizePolicy, QSplitter, QToolTip, QVBoxLayout,
    QWidget,
)

from ..model.plate_summary import PlateSummary, WellSummary
from .wells_table import WellsTable
from .workers import WorkerPool

log = logging.getLogger(__name__)

FIELD_ROLE = Qt.ItemDataRole.UserRole + 1
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


class PlateView(QWidget):
    """The grid above; the selected well's fields and the wells table below."""

    fieldActivated = Signal(str, str)  # backend, path: open this image
    sendRequested = Signal(object)  # list[Address]: the selected wells' fields
    mosaicRequested = Signal(object)  # (name, numpy uint8 array): the thumbnails as one image
    thumbnailsDone = Signal()

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plateView")
        self._workers = workers
        self._generation = 0
        self._job: Any = None
        self.cache_folder: str | None = None  # set by the panel (the user cache folder; tests: tmp)
        self.plate: PlateSummary | None = None
        self.pixels: dict[str, Any] = {}  # well path -> uint8 thumbnail (for the mosaic)
        self.loading = False
        # Starts reading a shown plate's thumbnails after the event that showed it (see show_plate).
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(0)
        self._start_timer.timeout.connect(self._start_thumbnails)

        self.summary = QLabel(self)
        self.summary.setObjectName("plateSummary")
        self.summary.setWordWrap(True)
        self.grid = PlateGrid(self)
        self.fields = QListWidget(self)
        self.fields.setObjectName("plateFields")
        self.fields.setToolTip("Double-click a field to open it in the viewer")
        self.wells = WellsTable(self)
        self.send_button = QPushButton("Send Wells to Viewer", self)
        self.send_button.setObjectName("plateSendWells")
        self.send_button.setToolTip("Send the selected wells' fields to the persistent napari viewer, one layer per "
                                    "field (Ctrl+click or Shift+arrows select several wells)")
        self.mosaic_button = QPushButton("Send Mosaic", self)
        self.mosaic_button.setObjectName("plateSendMosaic")
        self.mosaic_button.setToolTip("Send the plate's thumbnails, laid out as the plate, as one image")

        fields_pane = QWidget(self)
        fields_layout = QVBoxLayout(fields_pane)
        fields_layout.setContentsMargins(0, 0, 0, 0)
        fields_layout.setSpacing(2)
        self.fields_title = QLabel("Fields", fields_pane)
        fields_layout.addWidget(self.fields_title)
        fields_layout.addWidget(self.fields, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.mosaic_button)
        fields_layout.addLayout(buttons)
        bottom = QSplitter(Qt.Orientation.Horizontal, self)
        bottom.addWidget(fields_pane)
        bottom.addWidget(self.wells)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 3)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("plateSplitter")
        splitter.addWidget(self.grid)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

        self.grid.wellClicked.connect(self._on_grid_well_clicked)
        self.grid.wellActivated.connect(self._on_grid_well_activated)
        self.grid.emptyClicked.connect(self._on_grid_empty_clicked)
        self.wells.filterChanged.connect(self.grid.set_kept)
        self.wells.wellSelected.connect(self._on_table_well_selected)
        self.fields.itemActivated.connect(self._on_fields_item_activated)
        self.send_button.clicked.connect(self._on_send_clicked)
        self.mosaic_button.clicked.connect(self._on_mosaic_clicked)

    # -- content -------------------------------------------------------------------------------

    def show_plate(self, plate: PlateSummary, well: WellSummary | None = None) -> None:
        """Paint ``plate``'s grid now (``well``, when given, current); its thumbnails follow
        from a worker."""
        self.stop()
        self._generation += 1
        generation = self._generation
        self.plate = plate
        self.pixels = {}
        self.grid.set_plate(plate)
        self.wells.set_plate(plate)
        if well is not None:
            self.grid.selected = {well.path}
            self.grid.set_current(well.row_index, well.column_index, emit=False)
            self.wells.select(well)
        with_fields = sum(1 for w in plate.wells if w.fields)
        text = (f"<b>{plate.kind}</b>{' ' + plate.version if plate.version else ''} — "
                f"{len(plate.rows)} × {len(plate.columns)} grid, {len(plate.wells)} wells "
                f"({with_fields} with fields), up to {plate.fields_per_well} "
                f"field{'' if plate.fields_per_well == 1 else 's'} a well")
        if plate.workspace:
            text += f"<br>virtual workspace: {_escape(plate.workspace)} (listed under the virtual_workspace row)"
        if plate.notes:
            text += "<br><span style='color:#b45309'>" + "<br>".join(_escape(n) for n in plate.notes[:6]) + "</span>"
            if len(plate.notes) > 6:
                text += f"<br>… {len(plate.notes) - 6} more notes (polystore-gui plate lists them all)"
        self.summary.setText(text)
        current = self.grid.current_well
        self._show_fields(current)
        if not with_fields:
            return
        # Reading starts once the grid and the table are shown and painted (the caller shows
        # this view after this returns): decoding threads started now compete with that
        # GUI-thread work for the interpreter lock (a 140 ms stall measured on 384 wells).
        self.loading = True
        self._start_timer.start()

    def _start_thumbnails(self) -> None:
        generation = self._generation
        if self.plate is None or not self.loading or self._job is not None:
            return  # stopped meanwhile, or already reading
        from ..model.plate_thumbs import ThumbnailCache, plate_thumbnails

        self._job = self._workers.start(
            plate_thumbnails, self.plate, cache=ThumbnailCache(self.cache_folder),
            on_yield=lambda thumb, g=generation: self._on_thumbnail(g, thumb),
            on_error=lambda exc, g=generation: self._on_thumbnails_failed(g, exc),
            on_finish=lambda g=generation: self._on_thumbnails_finished(g),
        )

    def stop(self) -> None:
        """Stop reading thumbnails (another plate or none is shown)."""
        self._generation += 1
        self._start_timer.stop()
        if self._job is not None:
            try:
                self._job.quit()
            except RuntimeError:  # its Qt object is gone: it has ended
                pass
            self._job = None
        self.loading = False

    def _on_thumbnail(self, generation: int, thumb: Any) -> None:
        if generation != self._generation:
            return
        if thumb.pixels is not None:
            self.pixels[thumb.well] = thumb.pixels
            self.grid.set_thumbnail(thumb.well, thumb.pixels)
        elif thumb.error:
            self.grid.set_failed(thumb.well, thumb.error)

    def _on_thumbnails_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:
            log.warning("plate thumbnails failed", exc_info=exc)

    def _on_thumbnails_finished(self, generation: int) -> None:
        if generation == self._generation:
            self.loading = False
            self._job = None
            self.thumbnailsDone.emit()

    # -- wells and fields ----------------------------------------------------------------------

    def _show_fields(self, well: WellSummary | None) -> None:
        self.fields.clear()
        if well is None:
            self.fields_title.setText("Fields")
            return
        self.fields_title.setText(f"Fields of {well.name}" + (f" — {'; '.join(well.notes)}" if well.notes else ""))
        for field in well.fields:
            shown = field.name + (f"  ({len(field.files)} files)" if len(field.files) > 1 else "")
            if field.acquisition is not None:
                shown += f"  acquisition {field.acquisition}"
            item = QListWidgetItem(shown, self.fields)
            item.setData(FIELD_ROLE, field)
            item.setToolTip(field.address)
        if not well.fields:
            QListWidgetItem("(no fields)", self.fields).setFlags(Qt.ItemFlag.NoItemFlags)

    def _on_grid_well_clicked(self, well: WellSummary) -> None:
        self._show_fields(well)
        self.wells.select(well)

    def _on_grid_empty_clicked(self, text: str) -> None:
        """No well there: said, rather than the last well's fields left below."""
        self.fields.clear()
        self.fields_title.setText(text)
        self.wells.clear_current()

    def _on_table_well_selected(self, well: WellSummary) -> None:
        if self.grid.current != (well.row_index, well.column_index):
            self.grid.selected = {well.path}
            self.grid.set_current(well.row_index, well.column_index, emit=False)
        self._show_fields(well)

    def _on_grid_well_activated(self, well: WellSummary) -> None:
        self._show_fields(well)
        if len(well.fields) == 1:
            self.fieldActivated.emit(well.fields[0].backend, well.fields[0].path)
        elif well.fields:
            self.fields.setFocus()
            self.fields.setCurrentRow(0)

    def _on_fields_item_activated(self, item: QListWidgetItem) -> None:
        field = item.data(FIELD_ROLE)
        if field is not None:
            self.fieldActivated.emit(field.backend, field.path)

    def selected_wells(self) -> list[WellSummary]:
        if self.plate is None:
            return []
        chosen = self.grid.selected or ({self.grid.current_well.path} if self.grid.current_well else set())
        return [w for w in self.plate.wells if w.path in chosen]

    def _on_send_clicked(self) -> None:
        from ..model.address import Address
        from ..model.plate_send import SiteAddress

        # A TIFF plate's field is its site's files: sent stacked, one layer a channel.
        addresses = [SiteAddress(f.backend, f.path, f.files) if len(f.files) > 1 else Address(f.backend, f.path)
                     for w in self.selected_wells() for f in w.fields]
        if addresses:
            self.sendRequested.emit(addresses)

    def mosaic(self) -> Any:
        from ..model.plate_thumbs import THUMB_EDGE, mosaic

        assert self.plate is not None
        return mosaic(self.plate, self.pixels, edge=THUMB_EDGE)

    def _on_mosaic_clicked(self) -> None:
        if self.plate is not None and self.pixels:
            name = os.path.basename(self.plate.path.rstrip("/")) or "plate"
            self.mosaicRequested.emit((f"{name} mosaic", self.mosaic()))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
