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

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget

from ..model.plate_summary import PlateSummary, WellSummary
from .plate_grid import PlateGrid, _escape
from .wells_table import WellsTable
from .workers import WorkerPool

log = logging.getLogger(__name__)

FIELD_ROLE = Qt.ItemDataRole.UserRole + 1


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
