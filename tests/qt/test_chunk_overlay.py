"""The chunk inspector over the napari canvas (needs GL: run under Xvfb)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from polystore_gui.model.chunks import MISSING, STORED

from .helpers import inspect_and_show

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def test_overlay_draws_chunks_shards_and_missing(qtbot, viewer_window, demo_dir):
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    names = [layer.name for layer in viewer.layers if layer.visible]
    assert names == ["sharded", "chunk heat map", "chunk grid", "shard grid"]
    heat = viewer_window.overlay._layer("chunk heat map")
    assert heat.data.shape == (4, 8, 8, 4) and tuple(heat.scale) == (1, 128, 128)
    report = viewer_window.inspector.report
    missing_px = heat.data[report.state == MISSING]
    stored_px = heat.data[report.state == STORED]
    assert (missing_px == missing_px[0]).all() and not (stored_px[:, :3] == missing_px[0, :3]).all(axis=1).any()
    # 8 + 1 chunk boundaries per axis, 2 + 1 shard boundaries per axis.
    assert len(viewer_window.overlay._layer("chunk grid").data) == 18
    assert len(viewer_window.overlay._layer("shard grid").data) == 6
    # The image stays the active layer (its contrast controls stay beside the canvas).
    assert viewer.layers.selection.active.name == "sharded"
    # Turning the heat map and the grid off removes their layers.
    viewer_window.inspector.heat_check.setChecked(False)
    viewer_window.inspector.grid_check.setChecked(False)
    # Turned off, they are hidden (kept for when they are turned on again: see
    # ChunkOverlay._discard); turned on, the same layers show again.
    assert [layer.name for layer in viewer.layers if layer.visible] == ["sharded"]
    viewer_window.inspector.heat_check.setChecked(True)
    viewer_window.inspector.grid_check.setChecked(True)
    assert [layer.name for layer in viewer.layers if layer.visible] == ["sharded", "chunk heat map", "chunk grid", "shard grid"]
    assert len(viewer.layers) == 5  # with the selection outline, made ahead (hidden)


def test_overlay_layers_are_added_one_a_turn_and_the_outline_ahead(qtbot, viewer_window, demo_dir):
    """Each overlay layer costs a GUI-thread stall when added (controls, visual, first draw):
    they come one per event-loop turn, and the selection outline is made (hidden) before any
    chunk is clicked, so the first click only shows it."""
    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    viewer_window.set_inspector_visible(True)
    # The overlay attached by hand below, once the preview and the scan are both done, so
    # that no event-loop turn passes between the attachment and the first look.
    viewer_window.preview.previewShown.disconnect(viewer_window._on_preview_shown)
    with qtbot.waitSignal(viewer_window.inspector.scanFinished, timeout=30_000):
        with qtbot.waitSignal(viewer_window.preview.previewShown, timeout=30_000) as shown:
            viewer_window.preview.request("zarr", str(path))
            viewer_window.inspector.inspect("zarr", str(path))
    viewer = viewer_window.preview.viewer.viewer
    overlay = viewer_window.overlay
    assert [layer.name for layer in viewer.layers] == ["sharded"]
    viewer_window._on_preview_shown(shown.args[0])  # the overlay attached: one layer in this turn
    assert [layer.name for layer in viewer.layers] == ["sharded", "chunk heat map"] and not overlay.settled()
    overlay.update()  # a scan refresh in the same turn adds nothing more
    assert [layer.name for layer in viewer.layers] == ["sharded", "chunk heat map"]
    qtbot.waitUntil(overlay.settled, timeout=10_000)
    assert [layer.name for layer in viewer.layers] == ["sharded", "chunk heat map", "chunk grid", "shard grid",
                                                       "selected chunk"]
    outline = overlay._layer("selected chunk")
    assert not outline.visible
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
        viewer_window.inspector.select_chunk((1, 2, 3))
    assert overlay._layer("selected chunk") is outline and outline.visible
    sides = np.asarray(outline.data)
    ends = np.concatenate([sides[:, 0], sides[:, 0] + sides[:, 1]])
    assert ends.min(axis=0) == pytest.approx([255.5, 383.5]) and ends.max(axis=0) == pytest.approx([383.5, 511.5])


def test_clicking_the_canvas_selects_the_chunk_under_the_cursor(qtbot, viewer_window, demo_dir):
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay = viewer_window.overlay
    step = viewer.dims.current_step[0]
    # A world position inside chunk (step, 3, 5): pixel rows 384-511, columns 640-767.
    assert overlay.chunk_at((step, 400.0, 700.0)) == (step, 3, 5)
    assert overlay.chunk_at((step, 383.6, 639.4)) == (step, 3, 4)  # pixel 384's centre is 384.0
    assert overlay.chunk_at((step, 2000.0, 10.0)) is None
    # A press and release with no drag in between is a click.
    event = type("Event", (), {})()
    event.type, event.button, event.position = "mouse_press", 1, (step, 400.0, 700.0)
    gen = overlay._on_mouse(viewer, event)
    next(gen)
    event.type = "mouse_release"
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000) as blocker:
        with pytest.raises(StopIteration):
            next(gen)
    assert blocker.args[0].index == (step, 3, 5)
    selected = overlay._layer("selected chunk")
    assert selected is not None
    # The outline's four sides run along the chunk's edges (pixel edges, half a pixel out).
    sides = np.asarray(selected.data)
    ends = np.concatenate([sides[:, 0], sides[:, 0] + sides[:, 1]])
    assert selected.visible and len(sides) == 4
    assert ends.min(axis=0) == pytest.approx([383.5, 639.5]) and ends.max(axis=0) == pytest.approx([511.5, 767.5])
    # A drag pans: no selection change.
    event.type, event.position = "mouse_press", (step, 10.0, 10.0)
    gen = overlay._on_mouse(viewer, event)
    next(gen)
    event.type = "mouse_move"
    next(gen)
    event.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(gen)
    assert viewer_window.inspector.table_model.chunk_index(viewer_window.inspector.table.currentIndex().row()) == (step, 3, 5)


def test_show_only_this_chunk_and_back(qtbot, viewer_window, demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "plain"
    viewer = inspect_and_show(qtbot, viewer_window, path)
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
        viewer_window.inspector.select_chunk((7, 1, 0))
    viewer_window.inspector.show_chunk_button.click()
    chunk_layer = [layer for layer in viewer.layers if layer.name == "chunk (7, 1, 0)"]
    assert chunk_layer and chunk_layer[0].visible
    import zarr

    expected = zarr.open_array(str(path), mode="r")[7:8, 256:512, 0:256]
    np.testing.assert_array_equal(chunk_layer[0].data, expected)
    assert tuple(chunk_layer[0].translate) == (7, 256, 0)
    assert not [layer for layer in viewer.layers if layer.name == "plain"][0].visible
    assert viewer_window.inspector.show_all_button.isEnabled()
    viewer_window.inspector.show_all_button.click()
    assert "chunk (7, 1, 0)" not in [layer.name for layer in viewer.layers if layer.visible]
    assert [layer for layer in viewer.layers if layer.name == "plain"][0].visible


def test_inspector_follows_the_tree_and_refuses_non_arrays(qtbot, viewer_window, demo_dir):
    viewer_window.set_inspector_visible(True)
    assert viewer_window.inspector.isVisible()
    from polystore_gui.model.listing import entry_for_path

    viewer_window._inspect(entry_for_path("disk", str(demo_dir / "images")))
    assert "not a zarr array" in viewer_window.inspector.summary.text()
    viewer_window.set_inspector_visible(False)
    assert not viewer_window.inspector.isVisible() and viewer_window.inspector.report is None


def test_a_scan_refresh_touches_only_what_changed(qtbot, viewer_window, demo_dir):
    """Each scan batch refreshes the overlay; napari redraws a layer whenever its visible,
    scale, translate or data is set, changed or not, so only what changed is set."""
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay = viewer_window.overlay
    fired: list[str] = []
    for layer in viewer.layers:
        if layer.name != "sharded":
            for name in ("visible", "scale", "translate", "data"):
                getattr(layer.events, name).connect(lambda _e, n=f"{layer.name}.{name}": fired.append(n))
    viewer_window.inspector.reportChanged.emit()  # a refresh with nothing new
    assert fired == []
    report = viewer_window.inspector.report
    report.state[0, 0, 0] = MISSING if report.state[0, 0, 0] != MISSING else STORED
    viewer_window.inspector.reportChanged.emit()  # one chunk's state changed: the heat map's pixels alone
    assert fired == ["chunk heat map.data"]
