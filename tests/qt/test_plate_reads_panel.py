"""The preview panel opening an OME-Zarr plate (issue 16): every document it reads, from
the selection to the last thumbnail, counted as benchmarks/bench_plate.py counts them."""

from __future__ import annotations

import os

import pytest

from polystore_gui.model import plate_plane, zarr_nodes
from tests.plates import write_ome_plate


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_plate_opened_in_the_panel_reads_each_document_once(qtbot, workers, tmp_path, monkeypatch, version):
    from polystore_gui.qt.preview_panel import PreviewPanel

    path = write_ome_plate(tmp_path / "p.zarr", version=version, levels=2)
    opened: list[str] = []
    real_load, real_document = zarr_nodes._load_json, plate_plane.read_document
    monkeypatch.setattr(zarr_nodes, "_load_json", lambda name: opened.append(name) or real_load(name))
    monkeypatch.setattr(plate_plane, "read_document", lambda name: opened.append(name) or real_document(name))
    panel = PreviewPanel(workers)
    qtbot.addWidget(panel)
    panel.plate_view.cache_folder = str(tmp_path / "cache")
    panel.show()
    with qtbot.waitSignal(panel.plateShown, timeout=20_000):
        panel.request("disk", str(path))
    view = panel.plate_view
    qtbot.waitUntil(lambda: not view.loading and panel.current is not None, timeout=20_000)
    assert panel.stack.currentWidget() is view and len(view.grid.thumbnails) == 6
    relative = sorted(os.path.relpath(name, path) for name in opened)
    assert len(relative) == len(set(relative)), relative  # nothing read twice
    rows = [n for n in relative if os.path.dirname(n) in ("A", "B")]
    assert rows == [], relative  # the rows' members were counted for a view never shown
