"""The transfer queue: every item's progress, speed, time left and error; cancel one or all.

A transfer (what one drop asked for) runs in one worker job, item after item
(``model.transfers.run_item``); the job yields progress events the panel shows. A
failing item never stops the rest. Cancelling an item (or all) sets that item's cancel
token, which the running item checks between blocks: it removes what it wrote and the
source stays untouched. The job is handed the items and their tokens, never the rows'
widgets (see qt.workers); quitting aborts the job itself, whose running item is closed
on the worker at once.

Progress events come far more often than a person can read (one per block copied: 0.75 s
of GUI time over a 1 GiB copy, measured by the session benchmark), so an event only
records where its row is; the rows and the overall bar are redrawn at most every
``REFRESH_MS`` from what was recorded. A row's end (done, failed, cancelled) and the end
of a transfer are shown at once and exactly. Each redraw paints the panel once, at the
next event-loop turn (``painted_later``): a progress bar's ``setValue`` repaints at once,
and with napari's canvas in the window each such paint composes the whole window.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from qtpy.QtCore import Qt, QTimer, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..model import transfers
from ..model.cancel import CancelToken
from ..model.entries import human_size
from .low_priority import run_lowered
from .painted_later import painted_later
from .workers import WorkerPool

COLUMNS = ("Item", "To", "Progress", "Speed", "Time left", "Status")


@dataclass
class Row:
    item: transfers.Item
    widget: QTreeWidgetItem
    bar: QProgressBar
    started: float | None = None
    done: int = 0
    total: int = 0
    status: str = "waiting"
    message: str | None = None
    cancel: CancelToken = field(default_factory=CancelToken)  # this item's, read by the job

    @property
    def cancelled(self) -> bool:
        return self.cancel.cancelled


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    cancelled: int = 0
    nbytes: int = 0
    errors: list[str] = field(default_factory=list)
    items: list[transfers.Item] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [f"{self.done} done ({human_size(self.nbytes)}, verified)"]
        for count, word in ((self.skipped, "skipped"), (self.failed, "failed"), (self.cancelled, "cancelled")):
            if count:
                parts.append(f"{count} {word}")
        return "Transfers finished: " + ", ".join(parts)


def _job(items: Sequence[transfers.Item], cancels: Sequence[CancelToken]) -> Generator[tuple[int, Any], None, None]:
    """Worker body: (row index, progress tuple or Outcome) events, item after item, the items
    run in a thread of their own at a lower CPU priority, which their copy threads inherit
    (``low_priority``, issue 19: the copy kept both CPUs busy and the GUI thread waited for
    one, 30-150 ms at a time). The job aborted (quitting), the running item is closed on that
    thread, its cancel path removing what it wrote, before the job ends."""
    yield from run_lowered(_items(items, cancels))


def _items(items: Sequence[transfers.Item], cancels: Sequence[CancelToken]) -> Generator[tuple[int, Any], None, None]:
    """(row index, progress tuple or Outcome) events, item after item."""
    for index, (item, cancel) in enumerate(zip(items, cancels)):
        gen = transfers.run_item(item, cancelled=cancel)
        try:
            while True:
                yield index, next(gen)
        except StopIteration as stop:
            yield index, stop.value
        finally:
            if gen.gi_frame is not None:
                # The job was aborted mid-item (quitting): the item stops through its own
                # cancel path, here on the worker and at once, and removes what it wrote
                # (closing it would only end its journal record, leaving the partial copy).
                cancel.cancel()
                for _event in gen:
                    pass


def _convert_job(items: Sequence[Any], cancels: Sequence[CancelToken], *,
                 progress: Any) -> None:
    """Worker body of conversions (``model.convert_items``): the same (row index, progress
    tuple or Outcome) events as a transfer, sent through the job's progress signal."""
    from ..model import convert_items

    for index, (item, cancel) in enumerate(zip(items, cancels)):
        if cancel():
            progress(index, transfers.Outcome(item, "cancelled"))
            continue
        outcome = convert_items.run(item, cancelled=cancel,
                                    progress=lambda done, total, i=index: progress(i, (done, total)))
        progress(index, outcome)


class TransferQueue(QWidget):
    """The panel; ``start(items)`` queues a planned transfer."""

    itemFinished = Signal(object)  # transfers.Outcome
    transferFinished = Signal(object)  # Summary of one start() call

    REFRESH_MS = 100  # progress drawn at most this often (every event's figures are kept)

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transferQueue")
        self._workers = workers
        self.rows: list[Row] = []
        self._moved: dict[int, Row] = {}  # rows whose progress changed since they were last drawn
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(self.REFRESH_MS)
        self._refresh.timeout.connect(self._on_refresh_timeout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.overall = QLabel("No transfers", self)
        self.overall_bar = QProgressBar(self)
        self.overall_bar.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Cancel the selected transfers")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button = QPushButton("Cancel All", self)
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.clear_button = QPushButton("Clear Finished", self)
        self.clear_button.clicked.connect(self.clear_finished)
        top.addWidget(self.overall, 1)
        top.addWidget(self.overall_bar)
        for button in (self.cancel_button, self.cancel_all_button, self.clear_button):
            top.addWidget(button)
        layout.addLayout(top)
        self.table = QTreeWidget(self)
        self.table.setObjectName("transferTable")
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        for col, width in ((0, 260), (1, 260), (2, 140), (3, 90), (4, 80)):
            header.resizeSection(col, width)
        header.setStretchLastSection(True)
        layout.addWidget(self.table)

    # -- queueing --------------------------------------------------------------------------

    def start(self, items: Sequence[transfers.Item]) -> None:
        """Show ``items`` and run them, one after another, in a worker. The new rows and the
        overall bar are painted at the next turn (``painted_later``), never inside this call."""
        with painted_later(self):
            rows = [self._add_row(item) for item in items]
            self._update_overall()
        summary = Summary()
        self._workers.start(
            _job, list(items), [row.cancel for row in rows],
            on_yield=lambda event: self._on_event(rows, summary, event),
            on_finish=lambda: self._on_finished(summary),
        )

    def start_conversions(self, items: Sequence[Any]) -> None:
        """Show conversions (``model.convert_items.ConvertItem``) and run them, one after
        another, in a worker: the same rows, progress, cancel and outcome as a transfer."""
        with painted_later(self):
            rows = [self._add_row(item) for item in items]
            self._update_overall()
        summary = Summary()
        self._workers.start(
            _convert_job, list(items), [row.cancel for row in rows],
            on_progress=lambda index, payload: self._on_event(rows, summary, (index, payload)),
            on_finish=lambda: self._on_finished(summary),
        )

    def _add_row(self, item: transfers.Item) -> Row:
        widget = QTreeWidgetItem([str(item.source), str(item.destination), "", "", "", "waiting"])
        widget.setToolTip(0, str(item.source))
        widget.setToolTip(1, str(item.destination))
        self.table.addTopLevelItem(widget)
        bar = QProgressBar(self.table)
        bar.setRange(0, 1000)
        bar.setValue(0)
        self.table.setItemWidget(widget, 2, bar)
        row = Row(item, widget, bar, total=item.total)
        self.rows.append(row)
        return row

    def _on_event(self, rows: Sequence[Row], summary: Summary, event: tuple[int, Any]) -> None:
        index, payload = event
        row = rows[index]
        if isinstance(payload, transfers.Outcome):
            self._moved.pop(id(row), None)
            with painted_later(self):
                self._finish_row(row, payload, summary)
                self._update_overall()
            self.itemFinished.emit(payload)
        else:
            done, total = payload
            if row.started is None:
                row.started = time.monotonic()
                row.status = "copying"
            row.done, row.total = done, total
            self._moved[id(row)] = row
            if not self._refresh.isActive():
                self._refresh.start()

    def _on_refresh_timeout(self) -> None:
        """Draw the progress recorded since the last time (see the module's docstring)."""
        moved, self._moved = list(self._moved.values()), {}
        if not moved:
            return
        with painted_later(self):  # one deferred paint, not a synchronous one per bar
            for row in moved:
                if row.status == "copying":
                    self._show_progress(row)
            self._update_overall()

    def _show_progress(self, row: Row) -> None:
        row.bar.setValue(int(1000 * row.done / row.total) if row.total else 0)
        row.bar.setFormat(f"{human_size(row.done)} / {human_size(row.total)}")
        elapsed = time.monotonic() - (row.started or time.monotonic())
        speed = row.done / elapsed if elapsed > 0.05 else 0.0
        row.widget.setText(3, f"{human_size(int(speed))}/s" if speed else "")
        left = (row.total - row.done) / speed if speed > 0 else None
        row.widget.setText(4, f"{left:.0f} s" if left is not None else "")
        verb = getattr(row.item, "verb", None) or ("moving" if row.item.move else "copying")
        row.widget.setText(5, "cancelling…" if row.cancelled else verb)

    def _finish_row(self, row: Row, outcome: transfers.Outcome, summary: Summary) -> None:
        row.status = outcome.status
        row.message = outcome.message
        summary.items.append(outcome.item)
        text = {"done": "done, verified", "skipped": "skipped", "cancelled": "cancelled", "failed": "failed"}[outcome.status]
        if outcome.message:  # for a done move: why its source was kept
            text += f": {outcome.message}"
        row.widget.setText(5, text)
        # How it was written (a zarr format chosen to match the group, consolidated metadata
        # written again) is in the tooltip: the column keeps to the outcome.
        row.widget.setToolTip(5, "\n".join([text, *outcome.notes]))
        row.widget.setText(4, "")
        if outcome.status == "done":
            row.bar.setValue(1000)
            # All of it, whatever the last redraw showed (a job done between two redraws
            # kept its first "0 B / 8.0 MiB" beside "done, verified").
            row.done = row.total
            row.bar.setFormat(f"{human_size(row.total)} / {human_size(row.total)}")
            summary.done += 1
            summary.nbytes += outcome.nbytes
        else:
            row.bar.setFormat(outcome.status)  # never a percentage for what did not arrive
            setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
            if outcome.message:
                summary.errors.append(f"{outcome.item.source}: {outcome.message}")
            row.widget.setForeground(5, Qt.GlobalColor.darkRed if outcome.status == "failed" else Qt.GlobalColor.darkGray)

    def _on_finished(self, summary: Summary) -> None:
        self._on_refresh_timeout()  # what is left to draw, then the exact end
        with painted_later(self):
            self._update_overall()
        self.transferFinished.emit(summary)

    def _update_overall(self) -> None:
        active = [r for r in self.rows if r.status in ("waiting", "copying")]
        total = sum(r.total for r in self.rows)
        done = sum(r.total if r.status not in ("waiting", "copying") else r.done for r in self.rows)
        self.overall_bar.setValue(int(100 * done / total) if total else (100 if self.rows else 0))
        failed = sum(1 for r in self.rows if r.status == "failed")
        if active:
            self.overall_bar.setFormat("%p%" + (f", {failed} failed" if failed else ""))
        else:  # finished: a failure is said, never shown as 100%
            self.overall_bar.setFormat(f"{failed} failed" if failed else "%p%")
        if active:
            self.overall.setText(f"{len(active)} of {len(self.rows)} transfer{'s' if len(self.rows) != 1 else ''} to go — "
                                 f"{human_size(done)} of {human_size(total)}")
        elif self.rows:
            failed = sum(1 for r in self.rows if r.status == "failed")
            count = len(self.rows)
            self.overall.setText(f"{count} transfer{'s' if count != 1 else ''} finished" + (f", {failed} failed" if failed else ""))
        else:
            self.overall.setText("No transfers")

    # -- cancelling ------------------------------------------------------------------------

    def cancel_rows(self, rows: Sequence[Row]) -> None:
        for row in rows:
            if row.status in ("waiting", "copying"):
                row.cancel.cancel()
                row.widget.setText(5, "cancelling…")

    def cancel_selected(self) -> None:
        selected = set(id(w) for w in self.table.selectedItems())
        self.cancel_rows([r for r in self.rows if id(r.widget) in selected])

    def cancel_all(self) -> None:
        self.cancel_rows(self.rows)

    def clear_finished(self) -> None:
        for row in [r for r in self.rows if r.status not in ("waiting", "copying")]:
            self.table.takeTopLevelItem(self.table.indexOfTopLevelItem(row.widget))
            self.rows.remove(row)
        self._update_overall()

    @property
    def busy(self) -> bool:
        return any(r.status in ("waiting", "copying") for r in self.rows)
