"""The chunk inspector's summary: the array's storage figures (for the plane shown), its
warnings, the size histogram and the legend's range, redrawn as the scan goes on.

A mixin of :class:`~.chunk_inspector.ChunkInspector` (it uses the inspector's report,
labels and histogram), kept apart so that each module holds one concern.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from ..model.chunks import ChunkReport
from ..model.entries import human_size
from .chunk_legend import legend_html
from .later import next_turn


class ChunkSummaryMixin:
    """The summary, warnings, histogram and legend, for ChunkInspector."""

    report: Any
    note: str | None
    plane_point: tuple[int, ...] | None
    _summary_due: bool
    _heat_span_source: Callable[[ChunkReport], tuple[int, int]] | None
    _summary_shape: tuple[Any, ...] = ()  # what the summary's height was last measured for

    def _set_legend(self, span: tuple[int, int] | None) -> None:
        self.legend.setText(legend_html(span))

    def set_heat_span_source(self, source: Callable[[ChunkReport], tuple[int, int]] | None) -> None:
        """Where the legend's range comes from: ``source(report)``, the overlay's own colour
        range when it collapses a channel axis (stored bytes summed over the channels), or
        by default the report's range of single chunks."""
        self._heat_span_source = source
        if self.report is not None:
            self._update_summary()

    def set_plane_point(self, point: tuple[int, ...] | None) -> None:
        """The plane the viewer shows: the summary says its figures, redrawn in a turn of
        its own, once for the steps of one turn (issue 19: with napari's slicing of the new
        plane and the overlay's raster, a chunk clicked on another plane was one turn of
        45-60 ms of CPU under load; the summary's text, histogram and height, laid out again
        when a plane's figures differ, need not be in it, nor once per slider step)."""
        if point == self.plane_point:
            return
        self.plane_point = point
        if self.report is not None and not self._summary_due:
            self._summary_due = True
            next_turn(self, self._summary_of_plane)

    def _summary_of_plane(self) -> None:
        self._summary_due = False
        if self.report is not None:
            self._update_summary()

    def _update_summary(self) -> None:
        report = self.report
        if report is None:
            return
        s = report.summary(point=self.plane_point)
        layout = report.layout
        rows = [
            ("Array", f"{'×'.join(map(str, layout.shape)) or 'scalar'} {html.escape(layout.dtype)}, zarr v{layout.zarr_format}"
             + (f" ({html.escape(self.note)})" if self.note else "")),
            ("Chunks", f"{'×'.join(map(str, layout.chunks))} ({human_size(layout.chunk_nbytes, short=True) if layout.chunk_nbytes else '?'} decoded)"
             + (f" in shards of {'×'.join(map(str, layout.shards))}" if layout.shards else "")),
            ("Codecs", html.escape(" → ".join(layout.pipeline))),
            ("Stored", f"<b>{s['nchunks_initialized']:,}</b> of {s['nchunks']:,} chunks"
             + f", {s['nchunks_missing']:,} missing" + (f", <span style='color:#b91c1c'>{s['nchunks_error']:,} unreadable</span>" if s["nchunks_error"] else "")),
        ]
        if layout.shards:
            rows.append(("Shards", f"<b>{s['nshards_initialized']:,}</b> of {s['nshards']:,} stored"))
        ratio = s["compression_ratio"]
        rows.append(("Bytes", f"{human_size(s['stored_bytes'], short=True)} on disk" + (f", compression {ratio:.2f}×" if ratio else "")))
        if s["plane_read"]:
            plane = s["plane_read"]
            rows.append(("One plane reads", f"{plane['chunks']:,} chunks, {human_size(plane['bytes'], short=True)} decoded "
                         f"for {human_size(plane['plane_bytes'], short=True)}: <b>{plane['ratio']:.1f}×</b> amplification"))
        if not report.complete:
            rows.append(("Scan", f"{report.done:.0%} done…" if self.scanning else "stopped: counts are partial"))
        self.summary.setText("<table cellspacing=0 cellpadding=1>" + "".join(
            f"<tr><td style='color:palette(mid);padding-right:6px'>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>")
        self.warnings.setText("<br>".join("⚠ " + html.escape(w) for w in s["warnings"]))
        self.warnings.setVisible(bool(s["warnings"]))
        self.histogram.set_bins(s["size_histogram"])
        # The range the overlay's colours span (kept batch by batch).
        span_of = self._heat_span_source or ChunkReport.heat_span
        self._set_legend(span_of(report) if s["nchunks_initialized"] else None)
        # The summary's height, up to a third of the screen (the table and details below keep theirs).
        # Measured again only when what sets it may have changed (its rows and their lengths,
        # the warnings, the legend, the width): the rich text's size hint was 16 ms of a turn
        # under load, at every refresh of a scan (issue 19).
        screen = self.screen()
        cap = screen.availableGeometry().height() // 3 if screen is not None else 460
        shape = (tuple((k, len(v)) for k, v in rows), self.warnings.text(), len(self.legend.text()),
                 self._top.width(), cap)
        if shape != self._summary_shape:
            self._summary_shape = shape
            self._top_area.setMinimumHeight(min(self._top.sizeHint().height(), cap, 460))
