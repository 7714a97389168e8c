"""The chunk inspector over the napari canvas (needs GL: run under Xvfb)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from polystore_gui.model.chunks import MISSING, STORED

from .helpers import inspect_and_show, overlay_settled

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


def texel(layer, world_yx):
    """The overlay raster's RGBA at a world position of the displayed plane (y, x)."""
    index = np.floor(np.asarray(layer.world_to_data(np.asarray(world_yx, np.float64))) + 0.5).astype(int)
    return layer.data[index[0], index[1]]


def chunk_centres(report, plane):
    """(chunk y, chunk x, world y, world x) of every chunk of ``plane`` (an image at scale 1)."""
    layout = report.layout
    cy, cx = layout.chunks[-2], layout.chunks[-1]
    return [(y, x, y * cy + cy / 2, x * cx + cx / 2) for y in range(layout.grid[-2]) for x in range(layout.grid[-1])]


def test_overlay_draws_chunks_shards_and_missing(qtbot, viewer_window, demo_dir):
    """One layer over the image holds the heat map, the chunk grid and the shard grid of the
    plane shown: each chunk's colour says stored (by size) or missing, as the report does;
    chunk boundaries are drawn light, shard boundaries orange; another plane shows its own
    chunks; the options turn each part off and on again."""
    from polystore_gui.model.chunk_heat import MISSING_RGBA
    from polystore_gui.model.chunk_raster import GRID_RGBA, SHARD_RGBA

    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    assert [layer.name for layer in viewer.layers if layer.visible] == ["sharded", "chunk overlay"]
    overlay_layer = viewer_window.overlay._layer("chunk overlay")
    image = viewer.layers["sharded"]
    # The raster covers the image's extent (the last two axes), texel for texel.
    assert np.allclose(overlay_layer.extent.world[:, -2:], image.extent.world[:, -2:])
    report = viewer_window.inspector.report
    layout = report.layout
    assert layout.shards is not None and report.state.shape == (4, 8, 8)

    def check_plane(z):
        viewer.dims.set_point(0, z * layout.chunks[0])
        overlay_settled(qtbot, viewer_window)
        seen = {"stored": 0, "missing": 0}
        for y, x, wy, wx in chunk_centres(report, z):
            rgba = texel(overlay_layer, (wy, wx))
            if report.state[z, y, x] == MISSING:
                assert tuple(rgba[:3]) == MISSING_RGBA[:3] and rgba[3] > 0, (z, y, x, rgba)
                seen["missing"] += 1
            elif report.state[z, y, x] == STORED:
                assert tuple(rgba[:3]) != MISSING_RGBA[:3] and rgba[3] > 0, (z, y, x, rgba)
                seen["stored"] += 1
        return seen

    planes = [check_plane(z) for z in range(layout.grid[0])]
    assert sum(p["missing"] for p in planes) == int((report.state == MISSING).sum())
    assert sum(p["stored"] for p in planes) == int((report.state == STORED).sum())
    # Boundaries: a chunk boundary that is no shard boundary (y = 128), a shard boundary (y = 512).
    on_grid = texel(overlay_layer, (128.5, 64.0))
    on_shard = texel(overlay_layer, (512.5, 64.0))
    assert tuple(on_shard) == (*SHARD_RGBA[:3], 255)
    assert on_grid[3] > 0 and abs(int(on_grid[0]) - GRID_RGBA[0]) < 60 and tuple(on_grid) != tuple(on_shard)
    # The image stays the active layer (its contrast controls stay beside the canvas).
    assert viewer.layers.selection.active.name == "sharded"
    # The heat map off: chunks clear, lines stay; the grid off too: the overlay is hidden
    # (kept for when it is wanted again: see ChunkOverlay._discard).
    viewer_window.inspector.heat_check.setChecked(False)
    overlay_settled(qtbot, viewer_window)
    assert texel(overlay_layer, (64.0, 64.0))[3] == 0 and tuple(texel(overlay_layer, (512.5, 64.0))[:3]) == SHARD_RGBA[:3]
    viewer_window.inspector.grid_check.setChecked(False)
    assert [layer.name for layer in viewer.layers if layer.visible] == ["sharded"]
    viewer_window.inspector.heat_check.setChecked(True)
    viewer_window.inspector.grid_check.setChecked(True)
    overlay_settled(qtbot, viewer_window)
    assert [layer.name for layer in viewer.layers if layer.visible] == ["sharded", "chunk overlay"]
    assert viewer_window.overlay._layer("chunk overlay") is overlay_layer and len(viewer.layers) == 2
    # The displayed axes rolled: the raster (of the last two axes) would lie across the wrong
    # ones, so it hides; rolled back, it shows again.
    viewer.dims.order = (1, 0, 2)
    assert not overlay_layer.visible
    viewer.dims.order = (0, 1, 2)
    assert overlay_layer.visible
    # In 3D (napari's Ctrl+Y) the raster of one plane would lie flat across the volume: it
    # hides, and shows again back in 2D.
    viewer.dims.ndisplay = 3
    assert not overlay_layer.visible
    viewer.dims.ndisplay = 2
    assert overlay_layer.visible


class Turns:
    """What napari's viewer holds at each event-loop turn: a 0 ms call re-queued at every
    turn notes, for each layer, the first turn its controls, its row in the layer list and
    its vispy visual are there. It keeps its place among the queued calls, so two steps
    queued one after the other are seen in two different turns; two changes seen in the same
    turn were made without the event loop running between them."""

    def __init__(self, window, on_turn=None):
        self.pane = window.preview.viewer
        self.turn = 0
        self.first: dict[tuple[str, str], int] = {}
        self.on_turn = on_turn
        self.running = True
        QTimer.singleShot(0, self._tick)

    def snapshot(self):
        qt_viewer = self.pane.qt_viewer
        return ({layer.name for layer in qt_viewer.controls.widgets}, {layer.name for layer in self.pane.viewer.layers},
                {layer.name for layer in qt_viewer.canvas.layer_to_visual})

    def _tick(self):
        if not self.running:
            return
        for what, names in zip(("controls", "row", "visual"), self.snapshot()):
            for name in names:
                self.first.setdefault((what, name), self.turn)
        if self.on_turn is not None:
            self.on_turn(self)
        self.turn += 1
        QTimer.singleShot(0, self._tick)


def attach_by_hand(qtbot, window, path):
    """The preview shown and the scan done, the overlay not attached yet (the test does it)."""
    window.set_inspector_visible(True)
    window.preview.previewShown.disconnect(window._on_preview_shown)
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=30_000):
        with qtbot.waitSignal(window.preview.previewShown, timeout=30_000) as shown:
            window.preview.request("zarr", str(path))
            window.inspector.inspect("zarr", str(path))
    return shown.args[0]


OVERLAY = ["chunk overlay"]


def assert_outlined(layer, rows, cols):
    """The chunk spanning pixel ``rows`` and ``cols`` (half-open) is outlined in yellow on
    the overlay, and its inside is not."""
    from polystore_gui.model.chunk_raster import OUTLINE_RGBA

    yellow = tuple(OUTLINE_RGBA[:3])
    (y0, y1), (x0, x1) = rows, cols
    ym, xm = (y0 + y1) / 2, (x0 + x1) / 2
    for point in ((y0, xm), (y1 - 1, xm), (ym, x0), (ym, x1 - 1)):
        assert tuple(texel(layer, point)[:3]) == yellow, point
    assert tuple(texel(layer, (ym, xm))[:3]) != yellow
    for point in ((y0 - 2, xm), (y1 + 1, xm), (ym, x0 - 2), (ym, x1 + 1)):  # the neighbours' edges
        assert tuple(texel(layer, point)[:3]) != yellow, point


def test_overlay_is_one_layer_added_in_split_steps_and_a_click_adds_none(qtbot, viewer_window, demo_dir):
    """The overlay costs one layer's addition (controls, visual, first draw: a GUI-thread
    stall each), in the preview's turns (napari_layers' _insert_steps): its controls, its
    row, its visual, each in a turn of its own; a chunk chosen afterwards adds no layer: the
    same layer outlines it, in the chunk's plane."""
    preview = attach_by_hand(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    viewer = viewer_window.preview.viewer.viewer
    overlay = viewer_window.overlay
    turns = Turns(viewer_window)
    viewer_window._on_preview_shown(preview)  # the overlay attached: nothing built in this turn
    assert [layer.name for layer in viewer.layers] == ["sharded"] and not overlay.settled()
    overlay.update()  # a scan refresh in the same turn starts nothing more
    qtbot.waitUntil(overlay.settled, timeout=10_000)
    turns.running = False
    assert [layer.name for layer in viewer.layers] == ["sharded"] + OVERLAY
    seen = [turns.first[(what, name)] for name in OVERLAY for what in ("controls", "row", "visual")]
    assert seen == sorted(seen) and len(set(seen)) == len(seen), turns.first  # one thing a turn, in order
    qt_viewer = viewer_window.preview.viewer.qt_viewer
    assert set(qt_viewer.controls.widgets) == set(viewer.layers) == set(qt_viewer.canvas.layer_to_visual)
    assert viewer.layers.selection.active.name == "sharded"  # its contrast controls stay beside the canvas
    layer = overlay._layer("chunk overlay")
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
        viewer_window.inspector.select_chunk((1, 2, 3))
    overlay_settled(qtbot, viewer_window)  # the chunk's plane: its raster built in a worker
    assert [lyr.name for lyr in viewer.layers] == ["sharded"] + OVERLAY and overlay._layer("chunk overlay") is layer
    assert viewer.dims.current_step[0] == 1  # the chunk's plane
    assert_outlined(layer, (256, 384), (384, 512))
    # Another chunk of the same plane: outlined instead (the first one's outline is gone).
    with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
        viewer_window.inspector.select_chunk((1, 0, 1))
    assert_outlined(layer, (0, 128), (128, 256))
    from polystore_gui.model.chunk_raster import OUTLINE_RGBA

    assert tuple(texel(layer, (256, 448))[:3]) != tuple(OUTLINE_RGBA[:3])
    # Another plane shown (no chunk chosen in it), then two chunks of it chosen one after the other.
    viewer.dims.set_point(0, 2)
    overlay_settled(qtbot, viewer_window)
    assert tuple(texel(layer, (0, 192))[:3]) != tuple(OUTLINE_RGBA[:3])
    for chunk, rows, cols in (((2, 0, 0), (0, 128), (0, 128)), ((2, 0, 1), (0, 128), (128, 256))):
        with qtbot.waitSignal(viewer_window.inspector.detailShown, timeout=10_000):
            viewer_window.inspector.select_chunk(chunk)
        overlay_settled(qtbot, viewer_window)
        assert_outlined(layer, rows, cols)
    assert tuple(texel(layer, (64, 0))[:3]) != tuple(OUTLINE_RGBA[:3])  # the first one's outline is gone


@pytest.mark.parametrize("stage", ["controls", "row"])
@pytest.mark.parametrize("stop", ["close inspector", "new preview"])
def test_overlay_stopped_mid_steps_leaves_no_orphan_controls_or_visual(qtbot, viewer_window, demo_dir, stage, stop):
    """The inspector closed, or another array previewed, in the turn after the overlay's
    controls are made (not inserted yet: stage "controls") or after it is inserted (its
    visual not built yet: stage "row"): napari ends with controls and a visual for each
    layer it lists and for no other, and no overlay layer shows."""
    preview = attach_by_hand(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    pane = viewer_window.preview.viewer
    viewer, qt_viewer = pane.viewer, pane.qt_viewer
    acted = []

    def on_turn(turns):
        controls, rows, visuals = turns.snapshot()
        ready = ("chunk overlay" in controls and "chunk overlay" not in rows) if stage == "controls" else \
            ("chunk overlay" in rows and "chunk overlay" not in visuals)
        if acted or not ready:
            return
        acted.append((sorted(controls), sorted(rows), sorted(visuals)))
        turns.running = False
        if stop == "close inspector":
            viewer_window.set_inspector_visible(False)
        else:
            viewer_window.preview.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))

    turns = Turns(viewer_window, on_turn)  # kept: Qt holds its queued call weakly
    viewer_window._on_preview_shown(preview)
    qtbot.waitUntil(lambda: bool(acted), timeout=10_000)
    del turns
    if stop == "new preview":
        qtbot.waitUntil(lambda: [layer.name for layer in viewer.layers] == ["plain"] and not pane.steps_running(),
                        timeout=30_000)
    else:
        qtbot.waitUntil(lambda: not pane.steps_running(), timeout=10_000)
    assert "chunk overlay" not in acted[0][2]  # stopped where the test meant
    assert set(qt_viewer.controls.widgets) == set(viewer.layers) == set(qt_viewer.canvas.layer_to_visual)
    assert [layer.name for layer in viewer.layers if layer.visible] == (["plain"] if stop == "new preview" else ["sharded"])
    assert viewer_window.overlay.settled()


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
    selected = overlay._layer("chunk overlay")
    assert selected is not None and selected.visible
    assert_outlined(selected, (384, 512), (640, 768))  # the chunk's pixel rows and columns
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
    scale, translate or data is set, changed or not, so nothing is set: a changed raster is
    written into the layer's own array and that layer alone refreshed, as is another plane's."""
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay = viewer_window.overlay
    fired: list[str] = []
    for layer in viewer.layers:
        if layer.name != "sharded":
            for name in ("visible", "scale", "translate", "data"):
                getattr(layer.events, name).connect(lambda _e, n=f"{layer.name}.{name}": fired.append(n))
    overlay_layer = overlay._layer("chunk overlay")
    own = overlay_layer.data
    refreshed: list[int] = []
    real_refresh = overlay_layer.refresh
    overlay_layer.refresh = lambda *a, **k: refreshed.append(1) or real_refresh(*a, **k)
    viewer_window.inspector.reportChanged.emit()  # a refresh with nothing new
    assert fired == [] and refreshed == []
    report = viewer_window.inspector.report
    z = viewer.dims.current_step[0]  # chunks of one plane along z: the plane shown
    report.state[z, 0, 0] = MISSING if report.state[z, 0, 0] != MISSING else STORED
    viewer_window.inspector.reportChanged.emit()  # one chunk's state changed: the raster's pixels alone
    overlay_settled(qtbot, viewer_window)
    assert fired == [] and refreshed == [1]
    assert overlay_layer.data is own and np.array_equal(own, overlay._base)
    other = (z + 1) % report.state.shape[0]
    viewer.dims.set_current_step(0, other)  # another plane: its raster in the same array
    overlay_settled(qtbot, viewer_window)
    assert overlay._plane == (other,) and fired == [] and refreshed == [1, 1]
    assert overlay_layer.data is own and np.array_equal(own, overlay._base)


def test_a_refresh_redraws_the_raster_only_when_the_shown_plane_changes(qtbot, viewer_window, demo_dir, monkeypatch):
    """A scan refresh that changes nothing the shown plane shows (other planes' chunks, or
    nothing) builds no raster; a change of the plane's chunks, of the colour range, of an
    option or of the plane does, with the colours of the whole array's range."""
    import polystore_gui.qt.chunk_overlay as chunk_overlay
    from polystore_gui.model.chunk_heat import heat_rgba
    from polystore_gui.model.chunk_raster import plane_raster
    from polystore_gui.model.chunk_report import ScanBatch, heat_range

    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    report = inspector.report
    built: list[int] = []
    real = chunk_overlay.overlay_raster
    monkeypatch.setattr(chunk_overlay, "overlay_raster", lambda *a, **k: built.append(1) or real(*a, **k))

    def expected():
        """The shown plane's raster as drawn before the overlay kept anything: the range of every stored chunk."""
        z = overlay._plane
        span = heat_range(report.stored[report.state == STORED])
        return plane_raster(heat_rgba(report.state[z], report.stored[z], span), overlay._raster,
                            grid=inspector.grid_check.isChecked(), shards=(4, 4))

    z = viewer.dims.current_step[0]
    other = (z + 1) % report.state.shape[0]
    inspector.reportChanged.emit()  # nothing new
    report.state[other, 0, 0] = MISSING if report.state[other, 0, 0] != MISSING else STORED
    inspector.reportChanged.emit()  # another plane's chunk
    assert built == []
    assert np.array_equal(overlay._base, expected())

    report.state[z, 0, 1] = MISSING if report.state[z, 0, 1] != MISSING else STORED
    inspector.reportChanged.emit()  # a chunk of the plane shown
    overlay_settled(qtbot, viewer_window)
    assert len(built) == 1 and np.array_equal(overlay._base, expected())

    # Another plane's chunk re-reported far larger: the whole array's colour range, so the shown plane's colours.
    flat = int(np.ravel_multi_index((other, 1, 1), report.state.shape))
    biggest = int(report.stored[report.state == STORED].max())
    report.apply(ScanBatch(np.array([flat]), np.array([biggest * 64], np.int64), np.array([STORED], np.int8),
                           np.zeros(0, np.intp), np.zeros(0, np.int64), np.zeros(0, np.int8), {}, done=1.0))
    inspector.reportChanged.emit()
    overlay_settled(qtbot, viewer_window)
    assert len(built) == 2 and np.array_equal(overlay._base, expected())
    inspector.reportChanged.emit()
    assert len(built) == 2

    inspector.grid_check.setChecked(not inspector.grid_check.isChecked())  # an option
    overlay_settled(qtbot, viewer_window)
    assert len(built) == 3 and np.array_equal(overlay._base, expected())
    viewer.dims.set_current_step(0, other)  # another plane
    overlay_settled(qtbot, viewer_window)
    assert len(built) == 4 and overlay._plane == (other,) and np.array_equal(overlay._base, expected())
    viewer.dims.set_current_step(0, other)  # the same plane again
    assert len(built) == 4


def test_every_planes_raster_is_built_in_a_worker_and_a_stale_one_dropped(qtbot, viewer_window, demo_dir, monkeypatch):
    """Every plane's raster is built off the GUI thread, a small one too (here 64 chunks: on
    the GUI thread it lengthened the click that brings a plane, issue 19); while it is built
    the layer keeps the last plane's raster, untouched (as napari's image keeps its last slice
    until the new plane is read); a raster finished after the plane changed again is dropped,
    never shown, and the plane now shown gets its own."""
    import threading

    import polystore_gui.qt.chunk_overlay as chunk_overlay
    from polystore_gui.model.chunk_raster import overlay_raster

    threads: list[int] = []
    gate = threading.Event()
    gate.set()

    def in_worker(*args, **kwargs):
        threads.append(threading.get_ident())
        assert gate.wait(20), "the test never opened the gate"
        return overlay_raster(*args, **kwargs)

    monkeypatch.setattr(chunk_overlay, "overlay_raster", in_worker)
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    layer = overlay._layer("chunk overlay")
    assert threads and threading.get_ident() not in threads
    qtbot.waitUntil(lambda: layer.visible and not overlay._building, timeout=10_000)

    applied: list[tuple[int, ...]] = []
    overlay.rasterBuilt.connect(applied.append)
    report = inspector.report
    z = viewer.dims.current_step[0]
    first, second = (z + 1) % report.state.shape[0], (z + 2) % report.state.shape[0]
    gate.clear()
    shown = layer.data.copy()
    built_before = len(threads)
    viewer.dims.set_current_step(0, first)
    qtbot.waitUntil(lambda: len(threads) == built_before + 1, timeout=10_000)  # plane `first` held in its worker
    assert layer.visible and np.array_equal(layer.data, shown)  # the last plane's, until this one's comes
    viewer.dims.set_current_step(0, second)
    with qtbot.waitSignal(overlay.rasterBuilt, timeout=20_000, check_params_cb=lambda plane: plane == (second,)):
        gate.set()
    assert applied == [(second,)]  # plane `first`'s raster dropped, never shown
    assert len(threads) == built_before + 2 and threading.get_ident() not in threads
    span = report.heat_span()
    expected = overlay_raster(report.state[second], report.stored[second], span, overlay._raster,
                              grid=inspector.grid_check.isChecked(), shards=(4, 4))
    assert layer.visible and np.array_equal(layer.data, expected)


def test_with_a_channel_axis_the_legend_gives_the_overlays_colour_range(qtbot, viewer_window, demo_dir):
    """An OME-Zarr image's channels are split into layers and the overlay colours each chunk
    position by its stored bytes summed over the channels: the legend's range is that one,
    the range the colours span (issue 19's review: it gave the range of single chunks)."""
    from polystore_gui.model.chunk_report import heat_range
    from polystore_gui.model.entries import human_size

    inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "image")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    assert overlay.channel_axis == 0
    report = inspector.report
    summed = report.stored.sum(axis=0)[(report.state == STORED).any(axis=0)]
    colours = heat_range(summed)
    assert colours != report.heat_span()  # single chunks' range: not what the overlay shows
    assert overlay._drawn[8] == colours  # the range the overlay's colours span
    legend = inspector.legend.text()
    assert human_size(colours[0], short=True) in legend and human_size(colours[1], short=True) in legend


def test_the_overlay_lets_go_of_every_scan_it_holds(qtbot, viewer_window, demo_dir, monkeypatch):
    """Each hold of the scan while the overlay's layer is added is followed by a let-go."""
    calls: list[str] = []
    inspector = viewer_window.inspector
    real_hold, real_resume = inspector.hold_scan, inspector.resume_scan
    monkeypatch.setattr(inspector, "hold_scan", lambda: calls.append("hold") or real_hold())
    monkeypatch.setattr(inspector, "resume_scan", lambda: calls.append("resume") or real_resume())
    inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    assert calls[:2] == ["hold", "resume"] and calls.count("hold") <= calls.count("resume")
    assert inspector._held is None


def test_a_raster_on_its_way_for_facts_gone_again_is_dropped(qtbot, viewer_window, demo_dir, monkeypatch):
    """A raster built in a worker for a chunk's change that was undone meanwhile (the plane
    shows what is drawn again) is dropped, never shown over the plane."""
    import threading

    import polystore_gui.qt.chunk_overlay as chunk_overlay
    from polystore_gui.model.chunk_raster import overlay_raster

    gate = threading.Event()
    gate.set()
    monkeypatch.setattr(chunk_overlay, "overlay_raster",
                        lambda *a, **k: gate.wait(20) and overlay_raster(*a, **k))
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    qtbot.waitUntil(lambda: not overlay._building and overlay._layer("chunk overlay").visible, timeout=10_000)
    layer = overlay._layer("chunk overlay")
    drawn = layer.data.copy()
    applied: list[tuple[int, ...]] = []
    overlay.rasterBuilt.connect(applied.append)
    report = inspector.report
    z = viewer.dims.current_step[0]
    was = report.state[z, 0, 0]
    gate.clear()
    report.state[z, 0, 0] = MISSING if was != MISSING else STORED
    inspector.reportChanged.emit()  # built in a worker, held there
    assert overlay._building
    report.state[z, 0, 0] = was
    inspector.reportChanged.emit()  # back to what is drawn
    gate.set()
    qtbot.waitUntil(lambda: not overlay._building, timeout=20_000)
    assert applied == [] and np.array_equal(layer.data, drawn) and layer.visible


def test_a_raster_that_fails_in_its_worker_leaves_the_plane_shown_since_built(qtbot, viewer_window, demo_dir,
                                                                              monkeypatch):
    """A worker's raster that fails (logged) does not stop the plane shown meanwhile from
    getting its own: it was left with no overlay until something else changed."""
    import threading

    import polystore_gui.qt.chunk_overlay as chunk_overlay
    from polystore_gui.model.chunk_raster import overlay_raster

    entered, gate = threading.Event(), threading.Event()
    gate.set()
    failing: list[bool] = []

    def in_worker(*args, **kwargs):
        if failing:
            failing.clear()
            entered.set()
            assert gate.wait(20), "the test never opened the gate"
            raise MemoryError("no room for the raster")
        return overlay_raster(*args, **kwargs)

    monkeypatch.setattr(chunk_overlay, "overlay_raster", in_worker)
    viewer = inspect_and_show(qtbot, viewer_window, demo_dir / "stores" / "experiment.zarr" / "sharded")
    overlay, inspector = viewer_window.overlay, viewer_window.inspector
    layer = overlay._layer("chunk overlay")
    qtbot.waitUntil(lambda: layer.visible and not overlay._building, timeout=10_000)
    report = inspector.report
    z = viewer.dims.current_step[0]
    first, second = (z + 1) % report.state.shape[0], (z + 2) % report.state.shape[0]
    gate.clear()
    failing.append(True)
    viewer.dims.set_current_step(0, first)
    qtbot.waitUntil(entered.is_set, timeout=10_000)  # plane `first` held in its worker, to fail
    viewer.dims.set_current_step(0, second)
    with qtbot.waitSignal(overlay.rasterBuilt, timeout=20_000, check_params_cb=lambda plane: plane == (second,)):
        gate.set()
    assert layer.visible and overlay._plane == (second,)
