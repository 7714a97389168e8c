"""The chunk inspector's lower half: the selected chunk's details (read in a worker, an
answer about an array inspected before dropped) and the export of the chunk table.

A mixin of :class:`~.chunk_inspector.ChunkInspector` (it uses the inspector's table,
report, workers and generation), kept apart so that each module holds one concern.
"""

from __future__ import annotations

import html
import os
from typing import Any

import numpy as np
from qtpy.QtCore import QModelIndex
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QFileDialog, QTreeWidgetItem

from ..model.chunk_layout import ChunkLayout
from ..model.chunks import (
    MISSING, STATE_NAMES, STORED, ChunkDetail, chunk_detail, open_for_decoding, write_csv, write_json,
)


class ChunkDetailsMixin:
    """Selection, the details pane and export, for ChunkInspector."""

    report: Any
    detail: Any
    _decoder: Any
    _generation: int

    # -- selection and details ---------------------------------------------------------------

    def select_row(self, row: int) -> None:
        index = self.table_model.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)

    def select_chunk(self, chunk: tuple[int, ...]) -> None:
        """Select the chunk at grid index ``chunk`` (from a click on the canvas)."""
        if self.report is None:
            return
        grid = self.report.layout.grid
        if len(chunk) != len(grid) or any(not 0 <= c < g for c, g in zip(chunk, grid)):
            return
        flat = int(np.ravel_multi_index(chunk, grid)) if grid else 0
        self.select_row(self.table_model.row_of(flat))

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or self.report is None:
            return
        chunk = self.table_model.chunk_index(current.row())
        self.chunkSelected.emit(chunk)
        generation = self._generation
        layout = self.report.layout
        self.details.clear()
        self._detail_row("Index", ", ".join(map(str, chunk)))
        self._detail_row("Reading…", "")
        # The request carries this array's decoder (None: the worker opens one); the answer
        # carries it back, and is dropped when another array was inspected meanwhile. The
        # worker never writes to the panel: a decoder opened for array A must never decode B.
        self._workers.start(
            _read_detail, layout, chunk, self._decoder,
            on_return=lambda result, g=generation: self._on_detail(g, chunk, result),
            on_error=lambda exc, g=generation: self._on_detail_failed(g, exc),
        )

    def _on_detail(self, generation: int, chunk: tuple[int, ...], result: tuple[ChunkDetail, Any]) -> None:
        if generation != self._generation:
            return  # an answer about the array inspected before
        detail, decoder = result
        if self._decoder is None:
            self._decoder = decoder  # opened once per array: the next chunks reuse it
        current = self.table.currentIndex()
        if current.isValid() and self.table_model.chunk_index(current.row()) != chunk:
            return  # a newer click is being read
        self.detail = detail
        self.details.clear()
        layout = self.report.layout if self.report is not None else None
        self._detail_row("Index", ", ".join(map(str, detail.index)))
        self._detail_row("State", STATE_NAMES[detail.state])
        self._detail_row("Key", detail.key)
        self._detail_row("File", detail.file)
        if detail.shard is not None:
            self._detail_row("Shard", ", ".join(map(str, detail.shard)))
            self._detail_row("Index in shard", ", ".join(map(str, detail.inner_index or ())))
            if detail.offset is not None:
                self._detail_row("Offset in shard", f"{detail.offset:,}")
        self._detail_row("Region", ", ".join(f"{a}:{b}" for a, b in detail.region))
        self._detail_row("Stored bytes", f"{detail.stored_bytes:,}" if detail.state == STORED else "0 (never written)"
                         if detail.state == MISSING else "—")
        if detail.decoded_bytes is not None:
            self._detail_row("Decoded bytes", f"{detail.decoded_bytes:,}")
        if detail.ratio:
            self._detail_row("Ratio", f"{detail.ratio:.2f}×")
        self._detail_row("Codecs", " → ".join(detail.pipeline))
        if detail.read_seconds is not None:
            self._detail_row("Read time", f"{detail.read_seconds * 1000:.2f} ms")
        if detail.decode_seconds is not None:
            self._detail_row("Decode time", f"{detail.decode_seconds * 1000:.2f} ms")
        stats = detail.stats or {}
        for key, label in (("min", "Min"), ("max", "Max"), ("mean", "Mean")):
            if key in stats:
                value = stats[key]
                self._detail_row(label, f"{value:.6g}" if isinstance(value, float) else str(value))
        if stats.get("fill_count") is not None:
            fill = layout.fill_value if layout is not None else None
            self._detail_row("Equal to fill", f"{stats['fill_count']:,} of {stats['count']:,} (fill value {fill})")
        if detail.error:
            item = self._detail_row("Error", detail.error)
            item.setForeground(1, QColor("#b91c1c"))
        self.show_chunk_button.setEnabled(True)
        self.detailShown.emit(detail)

    def _on_detail_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self.details.clear()
        item = self._detail_row("Error", f"{type(exc).__name__}: {exc}")
        item.setForeground(1, QColor("#b91c1c"))

    def _detail_row(self, key: str, value: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.details, [key, value])
        item.setToolTip(1, value)
        return item

    def detail_rows(self) -> dict[str, str]:
        """The details pane as key → value (for tests)."""
        out = {}
        for i in range(self.details.topLevelItemCount()):
            item = self.details.topLevelItem(i)
            if item is not None:
                out[item.text(0)] = item.text(1)
        return out

    # -- export ----------------------------------------------------------------------------

    def export(self, kind: str, path: str | None = None) -> None:
        """Write the chunk table (CSV) or the whole report (JSON) in a worker."""
        report = self.report
        if report is None:
            return
        if path is None:
            name = os.path.basename(report.layout.path.rstrip("/")) or "array"
            suggested = os.path.join(os.path.expanduser("~"), f"{name}-chunks.{kind}")
            path, _ = QFileDialog.getSaveFileName(self, f"Export chunks as {kind.upper()}", suggested,
                                                  "CSV (*.csv)" if kind == "csv" else "JSON (*.json)")
            if not path:
                return
        writer = write_csv if kind == "csv" else write_json
        self.export_button.setEnabled(False)
        self._workers.start(
            writer, report, path,
            on_return=lambda n: self._on_exported(path, n),
            on_error=lambda exc: self._on_exported(path, None, exc),
        )

    def _on_exported(self, path: str, rows: int | None, exc: BaseException | None = None) -> None:
        self.export_button.setEnabled(self.report is not None)
        if exc is not None:
            message = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            self.warnings.setText(f"Export to {html.escape(path)} failed: {html.escape(message)}")
            self.warnings.show()
            self.exported.emit(path, message)
            return
        self.exported.emit(path, None)


def _read_detail(layout: ChunkLayout, chunk: tuple[int, ...], decoder: Any) -> tuple[ChunkDetail, Any]:
    """Worker body: the chunk's facts, and the zarr array that decoded it (opened here when
    ``decoder`` is None, so that the inspector keeps one per array)."""
    if decoder is None and not layout.missing_codecs():
        try:
            decoder = open_for_decoding(layout)
        except Exception:  # explained by chunk_detail's own attempt
            decoder = None
    return chunk_detail(layout, chunk, array=decoder), decoder
