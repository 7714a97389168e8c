"""*View → Compute Exact Statistics*: every chunk of the shown array read once (on dask, in a
worker of the application's pool), progress and Cancel in the status bar, then the image
layers' contrast limits set to the exact minimum and maximum and napari's histogram beside the
canvas to the exact whole-array histogram (per channel for an OME image). For an OME-NGFF
image the result offers *Save Display Window*: the contrast shown is written as each
channel's ``omero.window`` (model.display_window, in a worker), and the preview is opened
again, so it reads its contrast back from the metadata as every other viewer will.

The preview's limits come from a sample of the middle planes (model.contrast), which is
right for looking but wrong for a sparse array whose middle plane is empty; the exact
figures replace them on request. Setting them counts as the user's choice, so the
preview's limit-following (canvas_readout.ContrastFollower) leaves them alone.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from .painted_later import painted_later
from .workers import WorkerPool


SCHEDULER_KEY = "wholeArray/scheduler"  # QSettings: a dask.distributed address, or "" for local threads
SCHEDULER_SCHEMES = ("tcp://", "tls://")


def exact_statistics(backend: str, path: str, progress: Any = None, cancelled: Any = None,
                     engine: Any = None) -> dict[str, Any]:
    """The job (on a worker thread): model.array_statistics on ``engine`` (default: local threads)."""
    from ..model.array_stats import array_statistics
    from ..model.whole_array import Engine, open_target

    return array_statistics(open_target(backend, path), progress=progress, cancelled=cancelled,
                            engine=engine or Engine())


def scheduler_problem(text: str) -> str | None:
    """Why ``text`` is not a scheduler address this setting takes (None: it is, or it is empty)."""
    text = text.strip()
    if text and not (text.startswith(SCHEDULER_SCHEMES) and len(text) > 6):
        return f"{text!r} is not a dask.distributed address such as tcp://127.0.0.1:8786"
    return None


class ExactStatistics(QObject):
    """Runs the job for the preview's array and applies its result to the shown layers."""

    progressed = Signal(str, int, int)  # step, chunks done, chunks in all (from the job's own progress signal)
    finished = Signal(object)  # the statistics (dict), or None when cancelled or failed

    def __init__(self, workers: WorkerPool, preview: Any, status_bar: QStatusBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._preview = preview
        self._status_bar = status_bar
        self._job: Any = None  # the running job (its cancel token stops it between chunks)
        self._running: Any = None  # the Preview the running job is for
        self.result: dict[str, Any] | None = None

        self.widget = QWidget()
        self.widget.setObjectName("exactStatsProgress")
        layout = QHBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("Exact statistics", self.widget)
        self.bar = QProgressBar(self.widget)
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.cancel_button = QToolButton(self.widget)
        self.cancel_button.setObjectName("exactStatsCancel")
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button = QToolButton(self.widget)
        self.save_button.setObjectName("exactStatsSaveWindow")
        self.save_button.setText("Save Display Window")
        self.save_button.setToolTip("Save the contrast shown as each channel's omero.window in the image's OME "
                                    "metadata, so that every viewer opens it this way")
        self.save_button.clicked.connect(self.save_window)
        self.dismiss_button = QToolButton(self.widget)
        self.dismiss_button.setObjectName("exactStatsDismiss")
        self.dismiss_button.setText("Close")
        self.dismiss_button.setToolTip("Keep the metadata as it is")
        self.dismiss_button.clicked.connect(self._hide_offer)
        for w in (self.label, self.bar, self.cancel_button, self.save_button, self.dismiss_button):
            layout.addWidget(w)
        self.save_button.hide()
        self.dismiss_button.hide()
        self.widget.hide()
        self._result_for: tuple[str, str] | None = None  # (backend, path) the result describes
        preview.previewShown.connect(self._on_preview_shown)
        self.progressed.connect(self._on_job_progressed)

    @property
    def running(self) -> bool:
        return self._running is not None

    connect_timeout = 10.0  # seconds to reach a distributed scheduler

    @property
    def scheduler(self) -> str | None:
        """The dask.distributed scheduler the setting names (None: local threads)."""
        from . import settings_writes

        text = str(settings_writes.read(SCHEDULER_KEY, "") or "").strip()
        return text if text and scheduler_problem(text) is None else None

    def set_scheduler(self, text: str) -> str | None:
        """Store the setting; returns why not when ``text`` is not an address."""
        from . import settings_writes

        problem = scheduler_problem(text)
        if problem is None:  # the file's write and flush off the GUI thread (issue 19)
            settings_writes.write(SCHEDULER_KEY, text.strip())
        return problem

    def choose_scheduler(self, parent: QWidget | None = None) -> None:
        """Ask for the scheduler (*View → Dask Scheduler…*): empty means this machine."""
        from qtpy.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(
            parent, "Dask scheduler",
            "Compute exact statistics on an existing dask.distributed scheduler\n"
            "(tcp://HOST:PORT; its workers must reach the same paths), or leave empty\n"
            "for this machine (dask's threaded scheduler, a thread per core):",
            text=self.scheduler or "")
        if ok:
            problem = self.set_scheduler(text)
            self._status_bar.showMessage(problem or f"Exact statistics run on {text.strip() or 'this machine'}.", 8000)

    def start(self) -> None:
        """Compute the exact statistics of the array shown in the preview."""
        current = self._preview.current
        if current is None or not current.is_array:
            self._status_bar.showMessage("Exact statistics: select an array to preview first.", 5000)
            return
        if self._running is not None:
            self._status_bar.showMessage("Exact statistics are already being computed.", 3000)
            return
        self._running = current
        self.result = None
        self._result_for = None
        self._hide_offer()
        self.bar.show()
        self.cancel_button.show()
        self.bar.setRange(0, 0)
        scheduler = self.scheduler  # the setting, read once for the label and the engine
        where = f" on {scheduler}" if scheduler else ""
        self.label.setText(f"Exact statistics of {current.path.rsplit('/', 1)[-1]}{where}")
        self.widget.show()
        from ..model.whole_array import Engine

        engine = Engine(scheduler=scheduler, connect_timeout=self.connect_timeout)
        # Progress comes back through the job's own signal, and the job's one cancel token is
        # what Cancel (and quitting) sets: see qt.workers.
        self._job = self._workers.start(exact_statistics, current.backend, current.path, engine=engine,
                                        pass_cancel=True, on_progress=self.progressed.emit,
                                        on_return=lambda result, p=current: self._on_job_returned(p, result),
                                        on_error=lambda exc, p=current: self._on_job_errored(p, exc))

    def cancel(self) -> None:
        """Stop between chunks (the chunks being read finish first)."""
        if self._job is not None:
            self._job.quit()
        self.label.setText("Cancelling exact statistics…")

    def _on_job_progressed(self, step: str, done: int, total: int) -> None:
        with painted_later(self.bar):  # napari's canvas is in the window: see painted_later
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(done)
            self.bar.setFormat(f"{step}: %v/%m chunks")
            self.bar.setTextVisible(True)

    def _done(self) -> None:
        self._running = None
        self._job = None
        self.widget.hide()

    def _on_job_errored(self, preview: Any, exc: BaseException) -> None:
        from ..model.whole_array import Cancelled

        self._done()
        if isinstance(exc, Cancelled):
            self._status_bar.showMessage("Exact statistics cancelled.", 5000)
        else:
            self._status_bar.showMessage(f"Exact statistics failed: {exc}")
        self.finished.emit(None)

    def _on_job_returned(self, preview: Any, result: dict[str, Any]) -> None:
        self._done()
        self.result = result
        self._result_for = (preview.backend, preview.path)
        if preview is not self._preview.current:  # another array is shown now: keep the figures only
            self._status_bar.showMessage(f"Exact statistics of {preview.path} ready (no longer shown).", 8000)
            self.finished.emit(result)
            return
        per_layer = self._per_layer(result)
        applied = self._apply(result, limits=True)
        first = per_layer[0] if per_layer and per_layer[0] else None
        figures = (f"min {first['min']:g}, max {first['max']:g}, mean {first['mean']:.4g}"
                   if first and first.get("mean") is not None else "no values")
        missing = result["missing"]
        text = f"Exact statistics: {figures}" + (f" (channel 0 of {len(per_layer)})" if len(per_layer) > 1 else "")
        if missing["count"]:  # said only when fill values count (a TIFF's planes are never missing)
            text += f"; {missing['count']} of {missing['of']} {missing['unit']} missing (fill value)"
        text += f"; contrast limits set to {', '.join(applied)}" if applied else "; contrast limits unchanged"
        self._status_bar.showMessage(text)
        if applied and getattr(preview.info, "ome", None) is not None:
            self._offer_save(preview)
        self.finished.emit(result)

    # -- applying the figures to the layers shown ------------------------------------------------

    @staticmethod
    def _per_layer(result: dict[str, Any]) -> list[Any]:
        return list(result["channels"]) if result["channels"] is not None else [result["stats"]]

    def _images(self) -> list[Any]:
        return [layer for layer in self._preview.shown_layers if type(layer).__name__ == "Image"
                and not getattr(layer, "rgb", False)]

    def _apply(self, result: dict[str, Any], *, limits: bool) -> list[str]:
        """Show the exact histograms (and, with ``limits``, set the limits to the exact range)
        on the image layers shown; returns the limits set, as text."""
        per_layer = self._per_layer(result)
        images = self._images()
        applied: list[str] = []
        if len(images) != len(per_layer):
            return applied
        for layer, stats in zip(images, per_layer):
            if stats is None or stats.get("min") is None or stats["mean"] is None:
                continue
            lo, hi = float(stats["min"]), float(stats["max"])
            if not hi > lo:
                hi = lo + 1
            low_range, high_range = layer.contrast_limits_range
            layer.contrast_limits_range = (min(low_range, lo), max(high_range, hi))
            if limits:
                layer.contrast_limits = (lo, hi)
                applied.append(f"[{lo:g}, {hi:g}]")
            histogram = getattr(layer, "_histogram", None)
            figures = stats.get("histogram")
            if figures and hasattr(histogram, "show_exact"):
                histogram.show_exact(figures["edges"], figures["counts"])
        return applied

    def _on_preview_shown(self, preview: Any) -> None:
        """The array the result describes shown again (re-selected, or read back after a save):
        its exact histogram again; its exact limits too unless the metadata now holds a window."""
        if self.result is None or self._result_for != (preview.backend, preview.path):
            self._hide_offer()
            return
        from_window = any("omero.window" in note for note in preview.notes)
        self._apply(self.result, limits=not from_window)

    # -- saving the display window in the OME metadata --------------------------------------------

    def _offer_save(self, preview: Any) -> None:
        self.label.setText(f"Exact statistics of {preview.path.rsplit('/', 1)[-1]}:")
        self.bar.hide()
        self.cancel_button.hide()
        self.save_button.setEnabled(True)
        self.save_button.show()
        self.dismiss_button.show()
        self.widget.show()

    def _hide_offer(self) -> None:
        self.save_button.hide()
        self.dismiss_button.hide()
        if self._running is None:
            self.widget.hide()

    def save_window(self) -> None:
        """Write the contrast shown (per channel) and the exact range as ``omero.window``."""
        from ..model.display_window import DisplayWindow, save_display_window

        current = self._preview.current
        if self.result is None or current is None or self._result_for != (current.backend, current.path):
            self._status_bar.showMessage("Display window: the array the statistics describe is no longer shown.", 8000)
            self._hide_offer()
            return
        windows = []
        for layer, stats in zip(self._images(), self._per_layer(self.result)):
            if stats is None or stats.get("min") is None:
                self._status_bar.showMessage("Display window not saved: a channel holds no values.", 8000)
                return
            start, end = (float(v) for v in layer.contrast_limits)
            windows.append(DisplayWindow(start=start, end=end, min=float(stats["min"]), max=float(stats["max"])))
        self.save_button.setEnabled(False)
        backend, path = current.backend, current.path
        self._workers.start(save_display_window, path, windows,
                            on_return=lambda document: self._on_window_saved(backend, path, document),
                            on_error=self._on_window_failed)

    def _on_window_saved(self, backend: str, path: str, document: str) -> None:
        self._hide_offer()
        self._status_bar.showMessage(f"Display window saved in {document}", 10000)
        current = self._preview.current
        if current is not None and (current.backend, current.path) == (backend, path):
            self._preview.request(backend, path)  # read back: the contrast now comes from the metadata

    def _on_window_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        self._status_bar.showMessage(f"Display window not saved: {exc}")
