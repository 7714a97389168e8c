"""The chunk inspector's summary follows the plane shown in a turn of its own (issue 19).

A chunk clicked on another plane moved napari's dims: napari's slicing, the overlay's new
raster and the summary (the report's counts for that plane, its text, histogram and legend
laid out again) were one GUI turn of 45-60 ms of CPU under load. Needs GL: run under Xvfb.
"""

from __future__ import annotations

import os

import pytest

from .helpers import inspect_and_show

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_summary_of_the_plane_shown_in_a_turn_after_the_step(qtbot, viewer_window, demo_dir):
    """A step onto another plane leaves the summary to a later turn; several steps in one
    turn redraw it once, for the last plane shown; it then says that plane's figures."""
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    inspector = viewer_window.inspector
    report = inspector.report
    assert report is not None and report.layout.grid[0] > 2
    points: list[tuple[int, ...] | None] = []
    real_summary = report.summary

    def summary(*args, **kwargs):
        points.append(kwargs.get("point"))
        return real_summary(*args, **kwargs)

    report.summary = summary
    z = viewer.dims.current_step[0]
    first, second = (z + 1) % report.layout.grid[0], (z + 2) % report.layout.grid[0]
    chunk_z = report.layout.chunks[0]
    viewer.dims.set_point(0, first * chunk_z)
    viewer.dims.set_point(0, second * chunk_z)
    assert points == []  # not in the steps' turn
    assert inspector.plane_point is not None and inspector.plane_point[0] == second * chunk_z
    qtbot.waitUntil(lambda: bool(points), timeout=5_000)
    assert points == [inspector.plane_point]  # once, for the plane shown
    assert inspector.summary.text() == _summary_text_of(inspector)


def _summary_text_of(inspector):
    """The summary's text drawn now for the inspector's plane (the real method, run again)."""
    before = inspector.summary.text()
    inspector._update_summary()
    after = inspector.summary.text()
    inspector.summary.setText(before)
    return after


def test_the_summarys_height_is_measured_again_only_when_its_shape_changes(qtbot, viewer_window, demo_dir):
    """A refresh that changes no row, warning, legend or width lays out none of the summary's
    rich text for its height (16 ms a refresh under load); one that adds a row does, and the
    summary's area then fits it."""
    inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    inspector = viewer_window.inspector
    measured = []
    real_hint = inspector._top.sizeHint

    def size_hint():
        measured.append(1)
        return real_hint()

    inspector._top.sizeHint = size_hint
    inspector._update_summary()
    inspector._update_summary()
    assert measured == []
    inspector.note = "a note long enough to change the first row"
    inspector._update_summary()
    assert measured == [1]
    assert inspector._top_area.minimumHeight() == min(real_hint().height(), 460,
                                                      inspector.screen().availableGeometry().height() // 3)
    viewer_window.set_inspector_visible(False)
