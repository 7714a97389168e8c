"""The chunk inspector panel: scanning in the background, the table, details, export."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import zarr
from qtpy.QtCore import Qt

from polystore_gui.model.chunk_layout import read_layout
from polystore_gui.model.chunks import STORED, scan_report


@pytest.fixture
def inspector(qtbot):
    from polystore_gui.qt.chunk_inspector import ChunkInspector
    from polystore_gui.qt.workers import WorkerPool

    workers = WorkerPool()
    widget = ChunkInspector(workers)
    qtbot.addWidget(widget)
    widget.resize(520, 900)
    yield widget
    widget.cancel()
    workers.cancel_all(close=True)
    workers.wait(10_000)


def scanned(qtbot, inspector, backend, path, timeout=30_000):
    with qtbot.waitSignal(inspector.scanFinished, timeout=timeout):
        inspector.inspect(backend, str(path))
    return inspector.report


def test_scan_fills_table_and_summary(qtbot, inspector, demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    report = scanned(qtbot, inspector, "zarr", path)
    model = inspector.table_model
    assert model.rowCount() == 256
    expected = scan_report(read_layout(str(path)))
    assert (report.state == expected.state).all() and (report.stored == expected.stored).all()
    summary = inspector.summary.text()
    assert "<b>128</b> of 256 chunks" in summary and "<b>10</b> of 16 stored" in summary
    # Row 0 is chunk (0, 0, 0): stored, in shard c/0/0/0 at its first place.
    assert [model.index(0, c).data() for c in range(3)] == ["0, 0, 0", "c/0/0/0 [0, 0, 0]", "stored"]
    assert model.index(0, 3).data() == f"{int(expected.stored[0, 0, 0]):,}"
    # Plane 2 is a checkerboard: chunk (2, 0, 1) was never written.
    row = int(np.ravel_multi_index((2, 0, 1), (4, 8, 8)))
    assert model.index(row, 2).data() == "missing" and model.index(row, 3).data() == "—"
    assert inspector.export_button.isEnabled()


def test_sorting_by_stored_bytes(qtbot, inspector, demo_dir):
    report = scanned(qtbot, inspector, "zarr", demo_dir / "stores" / "experiment.zarr" / "sharded")
    inspector.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    model = inspector.table_model
    largest = int(report.stored[report.state == STORED].max())
    assert model.index(0, 3).data() == f"{largest:,}"
    assert model.index(model.rowCount() - 1, 2).data() == "missing"
    # Selection by chunk follows the sort.
    inspector.select_chunk((2, 0, 1))
    assert model.chunk_index(inspector.table.currentIndex().row()) == (2, 0, 1)


def test_clicking_a_row_shows_the_chunk(qtbot, inspector, demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "plain"
    scanned(qtbot, inspector, "zarr", path)
    with qtbot.waitSignal(inspector.detailShown, timeout=10_000) as blocker:
        inspector.select_chunk((3, 1, 0))
    detail = blocker.args[0]
    rows = inspector.detail_rows()
    data = zarr.open_array(str(path), mode="r")[3:4, 256:512, 0:256]
    assert rows["Key"] == "c/3/1/0" and rows["State"] == "stored"
    assert rows["Stored bytes"] == f"{os.path.getsize(path / 'c' / '3' / '1' / '0'):,}"
    assert rows["Decoded bytes"] == f"{256 * 256 * 2:,}"
    assert rows["Min"] == str(int(data.min())) and rows["Max"] == str(int(data.max()))
    assert "Decode time" in rows and "zstd" in rows["Codecs"]
    assert detail.index == (3, 1, 0) and inspector.show_chunk_button.isEnabled()


def test_scan_arrives_in_batches_and_can_be_stopped(qtbot, inspector, tmp_path, monkeypatch):
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 16)
    path = tmp_path / "many"
    a = zarr.create_array(str(path), shape=(200, 32, 32), chunks=(1, 8, 8), dtype="uint8", fill_value=0)
    a[:] = 1
    batches = []
    inspector.batchApplied.connect(lambda: batches.append(inspector.report.done))
    inspector.inspect("zarr", str(path))
    qtbot.waitUntil(lambda: len(batches) >= 2, timeout=30_000)
    inspector.cancel()
    assert not inspector.scanning
    report = inspector.report
    assert not report.complete and 0 < report.done < 1
    assert "stopped: counts are partial" in inspector.summary.text()
    assert inspector.progress.isHidden()
    # The same array asked again is scanned again (the stopped report is not reused).
    with qtbot.waitSignal(inspector.scanFinished, timeout=60_000):
        inspector.inspect("zarr", str(path))
    assert inspector.report.complete and int((inspector.report.state == STORED).sum()) == 200 * 16


def test_export_csv_and_json(qtbot, inspector, demo_dir, tmp_path):
    report = scanned(qtbot, inspector, "zarr", demo_dir / "stores" / "experiment.zarr" / "sharded")
    for kind in ("csv", "json"):
        target = str(tmp_path / f"chunks.{kind}")
        with qtbot.waitSignal(inspector.exported, timeout=10_000) as blocker:
            inspector.export(kind, target)
        assert blocker.args == [target, None]
    with open(tmp_path / "chunks.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 256
    assert sum(int(r["present"]) for r in rows) == int((report.state == STORED).sum())
    assert rows[0]["key"] == "c/0/0/0" and rows[0]["index"] == "0 0 0"
    with open(tmp_path / "chunks.json") as fh:
        doc = json.load(fh)
    assert doc["nchunks"] == 256 and len(doc["chunk_list"]) == 256 and doc["nshards_initialized"] == 10


def test_export_to_an_unwritable_place_says_why(qtbot, inspector, demo_dir, tmp_path):
    scanned(qtbot, inspector, "zarr", demo_dir / "stores" / "experiment.zarr" / "plain")
    target = str(tmp_path / "no-such-folder" / "chunks.csv")
    with qtbot.waitSignal(inspector.exported, timeout=10_000) as blocker:
        inspector.export("csv", target)
    assert blocker.args[1] and "No such file" in blocker.args[1]
    assert "Export to" in inspector.warnings.text()


def test_bad_inputs_are_explained(qtbot, inspector, demo_dir, tmp_path):
    with qtbot.waitSignal(inspector.scanFailed, timeout=10_000) as blocker:
        inspector.inspect("zarr", str(demo_dir / "stores" / "experiment.zarr"))
    assert "group" in blocker.args[0] and "Cannot inspect" in inspector.summary.text()
    path = tmp_path / "s"
    a = zarr.create_array(str(path), shape=(2, 64, 64), shards=(1, 64, 64), chunks=(1, 32, 32), dtype="uint16")
    a[:] = 5
    with open(path / "c" / "0" / "0" / "0", "r+b") as fh:
        fh.truncate(10)
    scanned(qtbot, inspector, "zarr", path)
    assert "4 unreadable" in inspector.summary.text()
    assert "could not be read" in inspector.warnings.text()
    row = 0
    assert inspector.table_model.index(row, 2).data() == "error"
    assert "truncated" in inspector.table_model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_scan_batches_paint_later_not_inside_the_batch(qtbot, inspector, tmp_path, monkeypatch):
    """Each scan batch moves the progress bar, and the refreshes change the table and the
    summary; none of them is painted inside the batch's handler (a synchronous paint
    composes the whole window with napari's canvas: see qt/painted_later.py), and all of
    them are painted by the event loop."""
    import polystore_gui.model.chunks as chunks

    from .helpers import PaintCounter

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 16)
    path = tmp_path / "many"
    a = zarr.create_array(str(path), shape=(200, 32, 32), chunks=(1, 8, 8), dtype="uint8", fill_value=0)
    a[:] = 1
    inspector.show()
    qtbot.waitExposed(inspector)
    paints = PaintCounter([inspector.progress, inspector.summary, inspector.table.viewport()])
    inside: list[int] = []
    cls = type(inspector)

    def counted(fn):
        def call(self, *args):
            before = paints.count
            fn(self, *args)
            inside.append(paints.count - before)
        return call

    # Patched on the class: an instance attribute closing over the inspector made a
    # reference cycle that Python's collector could end on a worker thread.
    monkeypatch.setattr(cls, "_on_batch", counted(cls._on_batch))
    monkeypatch.setattr(cls, "_flush", counted(cls._flush))
    inspector._refresh_timer.timeout.disconnect()
    inspector._refresh_timer.timeout.connect(inspector._flush)
    with qtbot.waitSignal(inspector.scanFinished, timeout=60_000):
        inspector.inspect("zarr", str(path))
    assert len(inside) >= 3 and all(n == 0 for n in inside), f"paints inside batches and refreshes: {inside}"
    qtbot.waitUntil(lambda: paints.count > 0, timeout=5_000)
    assert int((inspector.report.state == STORED).sum()) == 200 * 16


def test_the_inspector_imports_ahead_in_a_worker(qtbot, monkeypatch):
    """Built, the inspector runs the first inspection's imports (model.chunk_layout.prepare)
    in a worker, never on the GUI thread: its first results then come without them."""
    import threading

    from polystore_gui.qt import chunk_inspector
    from polystore_gui.qt.workers import WorkerPool

    threads: list[threading.Thread] = []
    monkeypatch.setattr(chunk_inspector, "prepare", lambda: threads.append(threading.current_thread()))
    workers = WorkerPool()
    widget = chunk_inspector.ChunkInspector(workers)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert threads == [threads[0]] and threads[0] is not threading.main_thread()
    workers.wait(10_000)


def test_the_first_batch_is_applied_and_shown_in_turns_of_their_own(qtbot, inspector, tmp_path, monkeypatch):
    """The scan's first facts show at once, but not in the turn that applies the batch: the
    apply and the table, summary and overlay's redraw were one long GUI turn (issue 19)."""
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 16)
    path = tmp_path / "many"
    a = zarr.create_array(str(path), shape=(20, 32, 32), chunks=(1, 8, 8), dtype="uint8", fill_value=0)
    a[:] = 1
    shown: list[int] = []
    inspector.reportChanged.connect(lambda: shown.append(1))
    redrawn_in_batch_turn: list[int] = []
    real = inspector._on_batch

    def on_batch(generation, batch):
        before = len(shown)
        real(generation, batch)
        redrawn_in_batch_turn.append(len(shown) - before)

    monkeypatch.setattr(inspector, "_on_batch", on_batch)
    with qtbot.waitSignal(inspector.scanFinished, timeout=60_000):
        inspector.inspect("zarr", str(path))
    assert len(redrawn_in_batch_turn) >= 2 and redrawn_in_batch_turn[0] == 0
    assert inspector.report.complete and "<b>320</b> of 320 chunks" in inspector.summary.text()


def _long_scan(tmp_path, monkeypatch):
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 4)
    path = tmp_path / "long"
    a = zarr.create_array(str(path), shape=(200, 32, 32), chunks=(1, 8, 8), dtype="uint8", fill_value=0)
    a[:] = 1
    return path


@pytest.mark.parametrize("how", ["resumed", "resumed at once", "never resumed"])
def test_a_held_scan_waits_and_always_goes_on(qtbot, inspector, tmp_path, monkeypatch, how):
    """The overlay holds the scan while napari adds its layer (the scan's thread took the
    interpreter lock from the GUI thread): held, the scan pauses at its next batch; it goes
    on when let go, also when let go before the pause took effect, and by itself after
    HOLD_MS when nothing lets it go (issue 19)."""
    import polystore_gui.qt.chunk_scan_gate as chunk_scan_gate

    monkeypatch.setattr(chunk_scan_gate, "HOLD_MS", 200 if how == "never resumed" else 60_000)
    path = _long_scan(tmp_path, monkeypatch)
    with qtbot.waitSignal(inspector.batchApplied, timeout=30_000):
        inspector.inspect("zarr", str(path))
    gate = inspector._gate
    inspector.hold_scan()
    if how == "resumed":
        qtbot.waitUntil(lambda: gate.waiting, timeout=10_000)  # the scan's thread waits at its next batch
        assert inspector.scanning and not inspector.report.complete
        inspector.resume_scan()
    elif how == "resumed at once":
        inspector.resume_scan()
    with qtbot.waitSignal(inspector.scanFinished, timeout=60_000):
        pass
    assert inspector.report.complete and int((inspector.report.state == STORED).sum()) == 200 * 16

