"""Moving from one array to another in the chunk inspector (a user trial, session 12): the
heat legend never keeps the last array's range, and the chunk table opens at its top (the
window's test needs GL: run under Xvfb)."""

from __future__ import annotations

import os

import pytest

from polystore_gui.model.entries import human_size

from .test_chunk_inspector import inspector, scanned  # noqa: F401  (inspector: the panel alone, its own pool)


def _sizes_in_legend(inspector, report):
    lo, hi = report.heat_span()
    text = inspector.legend.text()
    return human_size(lo, short=True) in text and human_size(hi, short=True) in text


def test_the_legend_forgets_the_last_arrays_range(qtbot, inspector, demo_dir):
    sharded = demo_dir / "stores" / "experiment.zarr" / "sharded"
    report = scanned(qtbot, inspector, "zarr", sharded)
    qtbot.waitUntil(lambda: _sizes_in_legend(inspector, report), timeout=5_000)
    inspector.clear("cells.png is not a zarr array: select an array (or an OME-Zarr image) to see how it is stored.")
    text = inspector.legend.text()
    assert "small" in text and "large" in text and not _sizes_in_legend(inspector, report)
    # Another array: while it is read, no range of the last one either.
    scanned(qtbot, inspector, "zarr", sharded)
    qtbot.waitUntil(lambda: _sizes_in_legend(inspector, report), timeout=5_000)
    inspector.inspect("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
    assert not _sizes_in_legend(inspector, report)


@pytest.mark.gl
@pytest.mark.skipif(os.environ.get("QT_QPA_PLATFORM") == "offscreen", reason="napari needs OpenGL: run under xvfb-run (make test)")
def test_in_the_window_the_next_arrays_table_opens_at_its_top(qtbot, viewer_window, demo_dir):
    from .test_inspector_refit import _open_and_inspected, _previewed, _wide_window

    sharded = _wide_window(viewer_window, demo_dir, qtbot)
    _previewed(qtbot, viewer_window, sharded.parent / "plain")
    _open_and_inspected(qtbot, viewer_window, sharded.parent / "plain")
    inspector = viewer_window.inspector
    table, model = inspector.table, inspector.table_model
    bar = table.verticalScrollBar()
    table.setFocus()
    table.setCurrentIndex(model.index(model.rowCount() - 1, model.columnCount() - 1))  # Ctrl+End: the last chunk
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=5_000)
    with qtbot.waitSignal(inspector.scanFinished, timeout=30_000):
        _previewed(qtbot, viewer_window, sharded)
    assert inspector.address == ("zarr", str(sharded))
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5_000)
    assert bar.value() == 0 and table.horizontalScrollBar().value() == 0
    assert table.rowAt(0) == 0
