"""*View → Compute Exact Statistics*: every chunk of the shown array read once (on dask, in a
worker of the application's pool), progress and Cancel in the status bar, then the image
layers' contrast limits set to the exact minimum and maximum (per channel for an OME image).

The preview's limits come from a sample of the middle planes (model.contrast), which is
right for looking but wrong for a sparse array whose middle plane is empty; the exact
figures replace them on request. Setting them counts as the user's choice, so the
preview's limit-following (canvas_readout.ContrastFollower) leaves them alone.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

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
        for w in (self.label, self.bar, self.cancel_button):
            layout.addWidget(w)
        self.widget.hide()
        self.progressed.connect(self._on_job_progressed)

    @property
    def running(self) -> bool:
        return self._running is not None

    connect_timeout = 10.0  # seconds to reach a distributed scheduler

    @property
    def scheduler(self) -> str | None:
        """The dask.distributed scheduler the setting names (None: local threads)."""
        from qtpy.QtCore import QSettings

        text = str(QSettings().value(SCHEDULER_KEY, "") or "").strip()
        return text if text and scheduler_problem(text) is None else None

    def set_scheduler(self, text: str) -> str | None:
        """Store the setting; returns why not when ``text`` is not an address."""
        from qtpy.QtCore import QSettings

        problem = scheduler_problem(text)
        if problem is None:
            QSettings().setValue(SCHEDULER_KEY, text.strip())
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
        if preview is not self._preview.current:  # another array is shown now: keep the figures only
            self._status_bar.showMessage(f"Exact statistics of {preview.path} ready (no longer shown).", 8000)
            self.finished.emit(result)
            return
        per_layer = result["channels"] if result["channels"] is not None else [result["stats"]]
        images = [layer for layer in self._preview.shown_layers if type(layer).__name__ == "Image"
                  and not getattr(layer, "rgb", False)]
        applied = []
        if len(images) == len(per_layer):
            for layer, stats in zip(images, per_layer):
                if stats is None or stats.get("min") is None or stats["mean"] is None:
                    continue
                lo, hi = float(stats["min"]), float(stats["max"])
                if not hi > lo:
                    hi = lo + 1
                low_range, high_range = layer.contrast_limits_range
                layer.contrast_limits_range = (min(low_range, lo), max(high_range, hi))
                layer.contrast_limits = (lo, hi)
                applied.append(f"[{lo:g}, {hi:g}]")
        first = per_layer[0] if per_layer and per_layer[0] else None
        figures = (f"min {first['min']:g}, max {first['max']:g}, mean {first['mean']:.4g}"
                   if first and first.get("mean") is not None else "no values")
        missing = result["missing"]
        text = (f"Exact statistics: {figures}" + (f" (channel 0 of {len(per_layer)})" if len(per_layer) > 1 else "")
                + f"; {missing['count']} of {missing['of']} {missing['unit']} missing (fill value)")
        text += f"; contrast limits set to {', '.join(applied)}" if applied else "; contrast limits unchanged"
        self._status_bar.showMessage(text)
        self.finished.emit(result)
