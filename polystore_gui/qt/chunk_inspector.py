"""The chunk inspector: how the selected zarr array is stored, chunk by chunk.

``inspect(backend, path)`` reads the layout in a worker, then runs ``model.chunks.scan``
there as a generator; each batch is applied to the report on the GUI thread (numpy
assignments: microseconds) and the table, summary and overlay are refreshed at most
every 150 ms. The table model is virtual over the report's arrays, so a million chunks
cost a million rows of nothing until they are drawn. A click (in the table or on the
canvas, through the overlay) reads that one chunk in a worker. The table model is
``chunk_table``, the size histogram ``chunk_histogram``, the summary ``chunk_summary``,
its legend ``chunk_legend``.
"""

from __future__ import annotations

import html
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolButton,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)

from ..model.chunk_layout import ChunkLayout, prepare, read_layout, resolve_array
from ..model.chunks import ChunkDetail, ChunkReport
from . import chunk_scan_gate
from .chunk_details import ChunkDetailsMixin
from .chunk_histogram import SizeHistogram
from .chunk_scan_gate import ScanGate, gated_scan
from .chunk_summary import ChunkSummaryMixin
from .chunk_table import ChunkTableModel
from .later import call_later, next_turn
from .painted_later import painted_later
from .workers import WorkerPool

log = logging.getLogger(__name__)

REFRESH_MS = 150


def _open_layout(backend: str, path: str) -> tuple[ChunkLayout, str | None]:
    array_path, note = resolve_array(backend, path)
    layout = read_layout(array_path)
    # The summary asks whether each codec is installed; the first answer imports zarr's and
    # numcodecs' codec registries (~0.2 s): here in the worker, never on the GUI thread.
    layout.missing_codecs()
    return layout, note


class ChunkInspector(ChunkDetailsMixin, ChunkSummaryMixin, QWidget):
    """Summary, histogram, chunk table and the selected chunk's details."""

    reportChanged = Signal()  # the report gained facts (throttled)
    batchApplied = Signal()
    scanFinished = Signal()
    scanFailed = Signal(str)
    chunkSelected = Signal(object)  # chunk grid index (tuple)
    detailShown = Signal(object)  # ChunkDetail
    showChunkRequested = Signal(object)  # ChunkDetail: show only this chunk
    showAllRequested = Signal()
    overlayOptionsChanged = Signal()
    exported = Signal(str, object)  # path, error message or None

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chunkInspector")
        self._workers = workers
        self._heat_span_source: Callable[[ChunkReport], tuple[int, int]] | None = None
        self._generation = 0
        self._job: Any = None
        self._gate = ScanGate()  # the running scan's (one per scan)
        self._held: ScanGate | None = None  # the gate held by hold_scan, if any
        self._decoder: Any = None
        self.report: ChunkReport | None = None
        self.note: str | None = None
        self.address: tuple[str, str] | None = None
        self.detail: ChunkDetail | None = None
        self.plane_point: tuple[int, ...] | None = None
        self._summary_due = False  # a summary of the plane shown asked for, in a later turn
        self._dirty = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._flush)
        self._build_ui()
        # The first inspection's imports (zarr, the backend adapters), paid while the user
        # picks an array rather than before its first results show.
        workers.start(prepare, on_error=lambda exc: log.info("chunk inspector's imports ahead failed: %s", exc))

    # -- construction ----------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.title = QLabel("Chunk inspector", self)
        self.title.setObjectName("chunkTitle")
        self.title.setStyleSheet("font-weight: 600;")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("chunkProgress")
        self.progress.setRange(0, 1000)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton(self)
        self.cancel_button.setObjectName("chunkCancel")
        self.cancel_button.setText("Stop")
        self.cancel_button.setToolTip("Stop the scan (what was found so far stays shown)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.progress)
        header.addWidget(self.cancel_button)

        self.heat_check = QCheckBox("Heat map", self)
        self.heat_check.setObjectName("chunkHeatMap")
        self.heat_check.setChecked(True)
        self.heat_check.setToolTip("Colour each chunk on the canvas by its stored bytes; missing chunks in grey")
        self.grid_check = QCheckBox("Grid", self)
        self.grid_check.setObjectName("chunkGrid")
        self.grid_check.setChecked(True)
        self.grid_check.setToolTip("Draw chunk boundaries (thin) and shard boundaries (orange) on the canvas")
        for box in (self.heat_check, self.grid_check):
            box.toggled.connect(lambda _on: self.overlayOptionsChanged.emit())
        self.export_button = QToolButton(self)
        self.export_button.setObjectName("chunkExport")
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Chunk table as CSV…", lambda: self.export("csv"))
        menu.addAction("Report as JSON…", lambda: self.export("json"))
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        options = QHBoxLayout()
        options.setContentsMargins(0, 0, 0, 0)
        options.addWidget(self.heat_check)
        options.addWidget(self.grid_check)
        options.addStretch(1)
        options.addWidget(self.export_button)

        self.legend = QLabel(self)
        self.legend.setObjectName("chunkLegend")
        self._set_legend(None)
        self.summary = QLabel("Select a zarr array to see how it is stored.", self)
        self.summary.setObjectName("chunkSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warnings = QLabel("", self)
        self.warnings.setObjectName("chunkWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #b45309;")
        self.histogram = SizeHistogram(self)

        self.table_model = ChunkTableModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("chunkTable")
        self.table.setModel(self.table_model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 4)
        vertical.hide()
        horizontal = self.table.horizontalHeader()
        horizontal.setStretchLastSection(True)
        # Widths from the font: every column (Stored, Ratio included) readable in the
        # inspector's minimum width, at any scaling.
        metrics = self.fontMetrics()
        samples = ("10, 10, 10", "c/0/10/10 [0, 1, 1]", "unreadable", "1,023,999", "10.00")
        widths = [max(metrics.horizontalAdvance(text), metrics.horizontalAdvance(str(title))) + 18
                  for text, title in zip(samples, ChunkTableModel.COLUMNS)]
        for col, width in enumerate(widths):
            horizontal.resizeSection(col, width)
        self.setMinimumWidth(sum(widths[:4]) + 40)  # Index to Stored, a scroll bar and margins
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

        self.details = QTreeWidget(self)
        self.details.setObjectName("chunkDetails")
        self.details.setColumnCount(2)
        self.details.setHeaderLabels(["Chunk", "Value"])
        self.details.setRootIsDecorated(False)
        self.details.setUniformRowHeights(True)
        self.details.header().resizeSection(0, self.fontMetrics().horizontalAdvance("Offset in shard") + 24)
        # A chunk's details are 10-18 rows: most show without scrolling, even on a small screen.
        self.details.setMinimumHeight((self.fontMetrics().height() + 6) * 9)
        self.show_chunk_button = QPushButton("Show only this chunk", self)
        self.show_chunk_button.setObjectName("showChunkOnly")
        self.show_chunk_button.setEnabled(False)
        self.show_chunk_button.clicked.connect(lambda: self.detail and self.showChunkRequested.emit(self.detail))
        self.show_all_button = QPushButton("Show whole array", self)
        self.show_all_button.setObjectName("showWholeArray")
        self.show_all_button.setEnabled(False)
        self.show_all_button.clicked.connect(self.showAllRequested.emit)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.show_chunk_button)
        buttons.addWidget(self.show_all_button)
        detail_box = QWidget(self)
        detail_layout = QVBoxLayout(detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.setSpacing(2)
        detail_layout.addWidget(self.details, 1)
        detail_layout.addLayout(buttons)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(3)
        top_layout.addLayout(options)
        top_layout.addWidget(self.legend)
        top_layout.addWidget(self.summary)
        top_layout.addWidget(self.warnings)
        top_layout.addWidget(self.histogram)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("chunkSplitter")
        # The summary scrolls rather than being clipped when the screen is short (150 % scaling).
        top_area = QScrollArea(self)
        top_area.setObjectName("chunkSummaryArea")
        top_area.setWidget(top)
        top_area.setWidgetResizable(True)
        top_area.setFrameShape(QFrame.Shape.NoFrame)
        top_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter.addWidget(top_area)
        splitter.addWidget(self.table)
        splitter.addWidget(detail_box)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(2, False)
        self.table.setMinimumHeight((self.fontMetrics().height() + 4) * 4)
        self._top = top
        self._top_area = top_area
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)

    # -- scanning --------------------------------------------------------------------------

    @property
    def workers(self) -> WorkerPool:
        """The pool the inspector's jobs run in (the overlay builds large rasters there too)."""
        return self._workers

    def hold_scan(self) -> None:
        """Pause the running scan at its next batch, until :meth:`resume_scan` (the overlay
        holds it while napari adds its layer: the scan's thread, busy with Python, made the
        GUI thread wait for the interpreter lock at every turn)."""
        gate = self._gate
        if self._job is not None and self._held is None:
            gate.hold()
            self._held = gate
            # Never held for long, whatever becomes of what held it (a later preview takes
            # the overlay's layer steps over without a word: no resume would come).
            call_later(self, chunk_scan_gate.HOLD_MS, lambda: self.resume_scan() if self._held is gate else None)

    def resume_scan(self) -> None:
        """Let a scan held by :meth:`hold_scan` go on (nothing if none is held)."""
        gate, self._held = self._held, None
        if gate is not None:
            gate.release()

    @property
    def scanning(self) -> bool:
        return self._job is not None

    def inspect(self, backend: str, path: str) -> int:
        """Scan ``backend:path`` (a zarr array, or an OME image's level 0); returns the generation."""
        if self.address == (backend, path) and self.report is not None and (self.scanning or self.report.complete):
            return self._generation
        self.cancel()
        self._generation += 1
        generation = self._generation
        self.address = (backend, path)
        self.report = None
        self.detail = None
        self._decoder = None
        self._forget_last_array()
        self.show_chunk_button.setEnabled(False)
        self.export_button.setEnabled(False)
        name = os.path.basename(path.rstrip("/")) or path
        self.title.setText(f"Chunks of {name}")
        self.title.setToolTip(f"{backend}:{path}")
        self.summary.setText("Reading the array's metadata…")
        self.summary.setStyleSheet("")
        self.warnings.setText("")
        self.histogram.set_bins([])
        self.progress.setValue(0)
        self.progress.show()
        self._workers.start(
            _open_layout, backend, path,
            on_return=lambda result, g=generation: self._on_layout(g, result),
            on_error=lambda exc, g=generation: self._on_failed(g, exc),
        )
        self.reportChanged.emit()
        return generation

    def clear(self, message: str = "Select a zarr array to see how it is stored.") -> None:
        self.cancel()
        self._generation += 1
        self.address = None
        self.report = None
        self.detail = None
        self._decoder = None
        self._forget_last_array()
        self.title.setText("Chunk inspector")
        self.summary.setText(message)
        self.summary.setStyleSheet("")
        self.warnings.setText("")
        self.histogram.set_bins([])
        self.progress.hide()
        self.export_button.setEnabled(False)
        self.show_chunk_button.setEnabled(False)
        self.reportChanged.emit()

    def _forget_last_array(self) -> None:
        """Nothing of the last array stays: its rows, details and the legend's range (it read
        the last array's "113.3K…453.4K" beside "cells.png is not a zarr array")."""
        self.table_model.set_report(None)
        self._table_to_top()
        self.details.clear()
        self._set_legend(None)

    def _table_to_top(self) -> None:
        """The chunk table at its first row and column: the next array's table opened where
        the last one had been scrolled to (its bottom, a column to the right)."""
        self.table.scrollToTop()
        self.table.horizontalScrollBar().setValue(0)

    def _on_layout(self, generation: int, result: tuple[ChunkLayout, str | None]) -> None:
        if generation != self._generation:
            return
        layout, self.note = result
        try:
            report = ChunkReport.empty(layout)
        except ValueError as exc:
            self._on_failed(generation, exc)
            return
        self.report = report
        self.table_model.set_report(report)
        self._table_to_top()
        self.cancel_button.show()
        self._update_summary()
        self._gate = ScanGate()
        self._job = self._workers.start(
            gated_scan, layout, self._gate,
            on_yield=lambda batch, g=generation: self._on_batch(g, batch),
            on_error=lambda exc, g=generation: self._on_failed(g, exc),
            on_finish=lambda g=generation: self._on_scan_ended(g),
        )
        self._refresh_timer.start()
        self.reportChanged.emit()

    def _on_batch(self, generation: int, batch: Any) -> None:
        if generation != self._generation or self.report is None:
            return
        first = not self._dirty and self.report.done == 0
        self.report.apply(batch)
        with painted_later(self.progress):  # never a synchronous window paint per batch
            self.progress.setValue(int(batch.done * 1000))
        self._dirty = True
        if first:
            # The first facts show at once (later ones every REFRESH_MS), in a turn of their
            # own: the batch's apply and the table, summary and overlay's first draw were one
            # turn of 40-70 ms on a 100,000-chunk array.
            next_turn(self, self._flush)
        self.batchApplied.emit()

    def _flush(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        started = time.perf_counter()
        with painted_later(self):  # the table, summary and legend painted once, later
            self.table_model.refresh()
            self._update_summary()
        self.reportChanged.emit()
        # A redraw of a huge array's summary and heat map costs tens of ms: while the scan
        # goes on, redraw at most a tenth of the time, so the window keeps answering.
        spent_ms = (time.perf_counter() - started) * 1000
        self._refresh_timer.setInterval(max(REFRESH_MS, int(10 * spent_ms)))

    def _on_scan_ended(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._job = None
        self._refresh_timer.stop()
        self._dirty = True
        self._flush()
        self.table_model.resort()
        self.progress.hide()
        self.cancel_button.hide()
        self.export_button.setEnabled(self.report is not None)
        if self.report is not None and self.report.complete:
            self.scanFinished.emit()

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._job = None
        self._refresh_timer.stop()
        self.progress.hide()
        self.cancel_button.hide()
        message = str(exc) if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {exc}"
        self.summary.setText(f"Cannot inspect the chunks: {html.escape(message)}")
        self.summary.setStyleSheet("color: #b91c1c;")
        self.scanFailed.emit(message)

    def cancel(self) -> None:
        """Stop the running scan; what it found stays shown (marked incomplete)."""
        job, self._job = self._job, None
        self._held = None
        self._gate.release()  # a held scan's thread goes on, to its end
        if job is not None:
            job.quit()
            self._refresh_timer.stop()
            self.progress.hide()
            self.cancel_button.hide()
            self._dirty = True
            self._flush()
            self.export_button.setEnabled(self.report is not None)
