"""napari's layer histogram, computed off the GUI thread on a bounded sample.

napari 0.9's ``HistogramModel`` recomputes, in "canvas" mode, at every new slice
(``layer.events.set_data`` → ``_mark_dirty`` → ``compute()``), synchronously, on the GUI
thread: ``_sample_data`` runs ``np.isfinite`` and a mask over the whole plane and then a
random choice among its values, about 0.5 s for an 8192² plane at every slider step.

:class:`SampledHistogram` is the same model (napari's histogram widget, its contrast-limit
handles and its canvas/full and log settings draw it unchanged) with that one step
replaced: a recompute takes a strided view of the displayed plane on the GUI thread (no
copy, ``model.sampled_histogram``) and counts it in a job of the application's worker
pool; the answer is fed to the model (``_bin_edges``, ``_counts``, then ``events.counts``)
when it is still the latest. One job at a time per layer: slider steps that arrive while
one runs coalesce into one more, on the plane shown when it ends.

:meth:`SampledHistogram.show_exact` puts an exact whole-array histogram in (the result of
*Compute Exact Statistics*): the model switches to "full" mode and keeps it until the data
change (a new display range does not change the data's histogram).

napari itself is imported by ``napari_view`` alone; this module is imported from there,
after napari's import, never at the application's start.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from napari.components.histogram import HistogramModel
from pydantic import PrivateAttr

from ..model.sampled_histogram import display_histogram, log_counts, strided_sample

log = logging.getLogger(__name__)


def _drain(generator_function: Any) -> None:
    """Run a generator function to its end (a worker's job)."""
    for _ in generator_function():
        pass


class SampledHistogram(HistogramModel):
    """A layer histogram whose recomputes run in a worker, on at most ``SAMPLE_VALUES`` values."""

    _start_job: Any = PrivateAttr(default=None)  # WorkerPool.start (set by the viewer pane)
    _job_running: bool = PrivateAttr(default=False)
    _again: bool = PrivateAttr(default=False)  # a newer slice arrived while the job ran
    _exact: Any = PrivateAttr(default=None)  # (edges, linear counts) of the whole array
    _jobs_started: int = PrivateAttr(default=0)

    @property
    def jobs_started(self) -> int:
        """Recomputes handed to the worker pool (for tests)."""
        return self._jobs_started

    def use_workers(self, start_job: Any) -> None:
        """Recompute through ``start_job(fn, *args, on_return=..., on_error=...)`` (a WorkerPool's start)."""
        self._start_job = start_job

    # -- what napari's own compute() would look at, bounded (napari's widget may still call it,
    # -- in its own worker, when the user changes a setting while a job is on its way) --------

    def _get_displayed_data(self) -> np.ndarray | None:
        raw = super()._get_displayed_data()
        return None if raw is None else strided_sample(raw, keep_last=self._rgb())

    def _get_full_data(self) -> np.ndarray | None:
        data = super()._get_full_data()
        return strided_sample(data, keep_last=self._rgb()) if isinstance(data, np.ndarray) else data

    def _rgb(self) -> bool:
        return bool(getattr(self._layer, "rgb", False))

    # -- recomputes: a job, not the GUI thread ---------------------------------------------------

    def _mark_dirty(self, event: Any = None) -> None:
        self._dirty = True
        if not self.enabled:
            return
        if self.mode == "full" and self._has_chunks(self._layer.data):
            return  # napari's widget samples chunks of the full data in its own worker
        self._request()

    def _request(self) -> None:
        if self._start_job is None:  # not wired to workers (never in the app): napari's own path
            super()._mark_dirty()
            return
        if self._job_running:
            self._again = True
            return
        data = self._get_data()  # a strided view of the plane napari holds: nothing is copied
        if data is None or data.size == 0:
            return  # no slice yet: the first set_data asks again
        if not isinstance(data, np.ndarray):
            # "full" mode over lazy levels (a multiscale layer): napari's own sampler reads at
            # most max_samples values, chunk by chunk; here in a worker (napari itself would
            # run it on the GUI thread: its widget defers only a chunked array, not a pyramid).
            self._job_running = True
            self._jobs_started += 1
            self._start_job(_drain, self.compute, on_return=lambda _none: self._on_full_sampled(),
                            on_error=self._on_job_errored)
            return
        low, high = self._layer.contrast_limits_range
        integer = bool(np.issubdtype(np.dtype(self._layer.dtype), np.integer))
        mode = self.mode
        self._job_running = True
        self._jobs_started += 1
        self._start_job(display_histogram, data, self.bins, low, high, integer=integer, rgb=self._rgb(),
                        on_return=lambda result, m=mode: self._on_job_returned(m, result),
                        on_error=self._on_job_errored)

    def _on_job_returned(self, mode: str, result: tuple[np.ndarray, np.ndarray]) -> None:
        self._job_running = False
        if self._again or mode != self.mode:
            self._again = False
            if self._dirty and self.enabled:
                self._request()
            return
        edges, counts = result
        self._bin_edges = edges
        self._counts = log_counts(counts) if self.log_scale else counts
        self._dirty = False
        if self.mode == "full":
            self._full_cache = (self._bin_edges, self._counts, self.log_scale)
        self.events.counts()

    def _on_full_sampled(self) -> None:
        self._job_running = False
        if self._again or self.mode != "full":
            self._again = False
            if self._dirty and self.enabled:
                self._request()
            return
        if not self._dirty:
            self.events.counts()

    def _on_job_errored(self, exc: BaseException) -> None:
        self._job_running = False
        self._again = False
        log.warning("layer histogram not computed: %s", exc)

    # -- the exact histogram --------------------------------------------------------------------

    def show_exact(self, edges: Any, counts: Any) -> None:
        """Show the whole array's exact histogram (bin edges, counts): "full" mode, kept until
        the data change."""
        edges = np.asarray(edges, np.float32)
        linear = np.asarray(counts, np.float32)
        self._exact = (edges, linear)
        self._full_cache = (edges, log_counts(linear) if self.log_scale else linear, self.log_scale)
        if self.mode != "full":
            self.mode = "full"  # napari's _on_mode_change restores the cache and emits counts
            return
        self._bin_edges, self._counts, _ = self._full_cache
        self._dirty = False
        self.events.counts()

    @property
    def exact(self) -> bool:
        """Whether the histogram held is the whole array's exact one."""
        return self._exact is not None

    def _invalidate(self, event: Any = None) -> None:
        kind = getattr(event, "type", None)
        if self._exact is not None and kind == "contrast_limits_range":
            edges, linear = self._exact  # the data's histogram does not depend on the display range
            self._full_cache = (edges, log_counts(linear) if self.log_scale else linear, self.log_scale)
            if self.mode == "full":
                self._bin_edges, self._counts, _ = self._full_cache
                self._dirty = False
                self.events.counts()
                return
            self._mark_dirty(event)
            return
        self._exact = None
        super()._invalidate(event)
