"""The plate view in the window: grid, thumbnails, wells table, fields, napari."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from tests.qt.helpers import expand
from tests.plates import write_ome_plate, write_polystore_plate, write_tiff_plate


def _select(window, qtbot, backend, path):
    """Select the tree row (backend, path) as a click would."""
    model = window.tree_model
    qtbot.waitUntil(lambda: model.find(backend, path).isValid(), timeout=15_000)
    window.tree.setCurrentIndex(window.proxy.mapFromSource(model.find(backend, path)))


def _plate_window(make_window, qtbot, plates, tmp_path):
    """A shown window on the ``plates`` folder, expanded, its thumbnail cache under tmp_path."""
    window = make_window([plates], show=True)
    window.preview.plate_view.cache_folder = str(tmp_path / "cache")
    expand(window, qtbot, "disk", str(plates))
    return window


def _plate_shown(window, qtbot):
    panel = window.preview
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.plate_view, timeout=20_000)
    view = panel.plate_view
    qtbot.waitUntil(lambda: not view.loading, timeout=20_000)
    return view


@pytest.fixture
def plates(tmp_path):
    root = tmp_path / "plates"
    root.mkdir()
    write_ome_plate(root / "ome.zarr", version="0.4", rows="ABC", columns=4, wells=["A/1", "A/4", "C/2"], levels=3)
    write_polystore_plate(root / "screen")
    return root


def test_selecting_a_plate_paints_its_grid_and_thumbnails(qtbot, make_window, plates, tmp_path):
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    _select(window, qtbot, "disk", str(plates / "ome.zarr"))
    view = _plate_shown(window, qtbot)
    assert view.objectName() == "plateView" and view.isVisible()
    grid = view.grid
    assert (len(grid.plate.rows), len(grid.plate.columns)) == (3, 4)
    assert set(grid.thumbnails) == {"A/1", "A/4", "C/2"}
    # What is drawn: a thumbnail's cell is not the empty colour, an empty position is.
    image = grid.grab().toImage()
    bright = grid.cell_rect(0, 0).center()
    empty = grid.cell_rect(1, 1).center()
    assert image.pixelColor(empty).name() == "#2a2d33"
    assert image.pixelColor(bright).name() not in ("#2a2d33", "#3b4048")
    # Hover says the well's name and metadata; an empty position says so.
    assert "A01" in grid.tooltip_text(0, 0) and "2 fields" in grid.tooltip_text(0, 0)
    assert grid.tooltip_text(1, 1) == "B2: no well"
    # Click a well: its fields below, its row in the wells table.
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(2, 1).center())
    assert [view.fields.item(i).text() for i in range(view.fields.count())] == ["0  acquisition 0", "1  acquisition 0"]
    table = view.wells.view
    assert table.model().index(table.currentIndex().row(), 0).data() == "C02"
    # Keyboard: right arrow from C02 goes to C03 (no well), up twice to A03, right to A04.
    grid.setFocus()
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Up, Qt.Key.Key_Right):
        qtbot.keyClick(grid, key)
    assert grid.current == (0, 3) and view.fields_title.text() == "Fields of A04"
    # The filter dims the others.
    view.wells.filter.setText("A04")
    assert grid.kept == frozenset({"A/4"})


def test_reopening_a_plate_draws_from_the_cache(qtbot, make_window, plates, tmp_path):
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    _select(window, qtbot, "disk", str(plates / "screen"))
    view = _plate_shown(window, qtbot)
    assert view.plate.kind == "polystore-plate" and len(view.grid.thumbnails) == 3
    from polystore_gui.model.plate_thumbs import ThumbnailCache, plate_thumbnails

    cached = list(plate_thumbnails(view.plate, cache=ThumbnailCache(view.cache_folder)))
    assert all(t.cached for t in cached) and len(cached) == 3
    assert dict(view.plate.well("C02").attributes)["condition"] == "dose 2"
    view.wells.filter.setText("dose 1")
    assert view.grid.kept == frozenset({"A/03"})


def test_send_wells_and_mosaic_carry_the_selection(qtbot, make_window, plates, tmp_path):
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    _select(window, qtbot, "disk", str(plates / "ome.zarr"))
    view = _plate_shown(window, qtbot)
    grid = view.grid
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(0, 0).center())
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, grid.cell_rect(2, 1).center())
    with qtbot.waitSignal(view.sendRequested) as sent:
        qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    assert [str(a) for a in sent.args[0]] == [f"ome_zarr:{plates}/ome.zarr/{w}/{f}" for w in ("A/1", "C/2") for f in "01"]
    with qtbot.waitSignal(view.mosaicRequested) as mosaic:
        qtbot.mouseClick(view.mosaic_button, Qt.MouseButton.LeftButton)
    name, pixels = mosaic.args[0]
    assert name == "ome.zarr mosaic" and pixels.shape[0] < pixels.shape[1] and pixels.max() == 255


def test_the_window_hands_plate_sends_to_the_viewer_link(qtbot, make_window, plates, tmp_path, monkeypatch):
    """What the viewer link is given (its sending is tested with a real viewer in e2e)."""
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    sent = []
    monkeypatch.setattr(window.viewer_link, "send", lambda addresses, sink="napari": sent.append((addresses, sink)))
    _select(window, qtbot, "disk", str(plates / "ome.zarr"))
    view = _plate_shown(window, qtbot)
    qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=view.grid.cell_rect(0, 3).center())
    qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.mosaic_button, Qt.MouseButton.LeftButton)
    assert [str(a) for a in sent[0][0]] == [f"ome_zarr:{plates}/ome.zarr/A/4/0", f"ome_zarr:{plates}/ome.zarr/A/4/1"]
    (mosaic,) = sent[1][0]
    assert str(mosaic) == "memory:/plate-mosaics/ome.zarr mosaic"
    from polystore_gui.model import streaming

    (item,), refused = streaming.prepare_all([(mosaic.backend, mosaic.path)])
    assert not refused and item.data.shape == view.mosaic().shape


@pytest.mark.gl
def test_double_click_a_field_opens_it_in_napari_and_back(qtbot, make_window, plates, tmp_path):
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    window.resize(1400, 900)
    _select(window, qtbot, "disk", str(plates / "ome.zarr"))
    view = _plate_shown(window, qtbot)
    grid = view.grid
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(0, 3).center())
    item = view.fields.item(1)
    rect = view.fields.visualItemRect(item)
    qtbot.mouseClick(view.fields.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # as a double-click starts
    with qtbot.waitSignal(window.preview.previewShown, timeout=120_000) as shown:
        qtbot.mouseDClick(view.fields.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert shown.args[0].path == f"{plates}/ome.zarr/A/4/1"
    panel = window.preview
    assert panel.stack.currentWidget() is panel.viewer
    layers = panel.viewer.viewer.layers
    assert len(layers) == 2 and layers[0].multiscale  # two channels, the pyramid
    assert panel.plate_back.isVisible()
    qtbot.mouseClick(panel.plate_back, Qt.MouseButton.LeftButton)
    assert _plate_shown(window, qtbot).plate.path == f"{plates}/ome.zarr"
    assert not panel.plate_back.isVisible()


def test_an_empty_position_clicked_says_so_instead_of_the_last_well_s_fields(qtbot, make_window, plates, tmp_path):
    """A click on a position with no well kept "Fields of A01" and A01's fields below (a
    new user's pass, session 13): it says that position holds no well, and no well row stays
    current in the wells table."""
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    _select(window, qtbot, "disk", str(plates / "ome.zarr"))
    view = _plate_shown(window, qtbot)
    grid = view.grid
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(0, 0).center())
    assert view.fields_title.text() == "Fields of A01" and view.fields.count() == 2
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1, 1).center())
    assert grid.current == (1, 1)
    assert view.fields_title.text() == "B2: no well"
    assert view.fields.count() == 0
    assert not view.wells.view.currentIndex().isValid()
    assert view.selected_wells() == []


def test_a_well_without_fields_and_a_missing_well_are_drawn_not_crashed(qtbot, make_window, tmp_path):
    import shutil

    root = tmp_path / "bad"
    root.mkdir()
    path = write_ome_plate(root / "bad.zarr", version="0.5", wells=["A/1", "A/2", "B/1"], levels=1, fields=1)
    shutil.rmtree(path / "A" / "2")
    window = make_window([root], show=True)
    window.preview.plate_view.cache_folder = str(tmp_path / "cache")
    expand(window, qtbot, "disk", str(root))
    _select(window, qtbot, "disk", str(path))
    view = _plate_shown(window, qtbot)
    assert "A/2 listed by the plate but missing" in view.summary.text()
    assert set(view.grid.thumbnails) == {"A/1", "B/1"}
    assert "listed by the plate but does not exist" in view.grid.tooltip_text(0, 1)
    qtbot.mouseDClick(view.grid, Qt.MouseButton.LeftButton, pos=view.grid.cell_rect(0, 1).center())
    assert view.fields.count() == 1 and view.fields.item(0).text() == "(no fields)"


def test_selecting_a_well_shows_its_plate_with_the_well_current(qtbot, make_window, plates, tmp_path):
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    expand(window, qtbot, "disk", str(plates / "ome.zarr"))
    # Members of a store met under disk are addressed in the store's backend.
    expand(window, qtbot, "ome_zarr", str(plates / "ome.zarr" / "C"))
    _select(window, qtbot, "ome_zarr", str(plates / "ome.zarr" / "C" / "2"))
    view = _plate_shown(window, qtbot)
    assert view.plate.path == str(plates / "ome.zarr")
    assert view.grid.current == (2, 1) and view.fields_title.text() == "Fields of C02"
    assert view.fields.count() == 2


def test_hover_text_shows_markup_in_names_as_text(qtbot):
    """A well attribute holding markup is shown as written, not rendered (nor breaking the tooltip)."""
    from polystore_gui.model.plate_summary import PlateSummary, WellSummary
    from polystore_gui.qt.plate_view import PlateGrid

    well = WellSummary("A01", "A/1", "A", "1", 0, 0, (), attributes=(("condition", "<b>x</b> & y"),))
    plate = PlateSummary("ome-plate", "disk", "/p", None, "0.5", ("A",), ("1",), (well,), None)
    grid = PlateGrid()
    qtbot.addWidget(grid)
    grid.set_plate(plate)
    assert "condition: &lt;b&gt;x&lt;/b&gt; &amp; y" in grid.tooltip_text(0, 0)


def test_a_1536_well_grid_fits_and_keeps_its_corners(qtbot):
    from polystore_gui.model.plate_names import row_name
    from polystore_gui.model.plate_summary import PlateSummary, WellSummary
    from polystore_gui.qt.plate_view import PlateGrid

    rows, columns = tuple(row_name(r) for r in range(32)), tuple(str(c + 1) for c in range(48))
    wells = tuple(WellSummary(f"{rows[r]}{c + 1:02d}", f"{rows[r]}/{c + 1}", rows[r], str(c + 1), r, c, ())
                  for r in range(32) for c in range(48))
    grid = PlateGrid()
    qtbot.addWidget(grid)
    grid.resize(700, 500)
    grid.set_plate(PlateSummary("ome-plate", "disk", "/p", None, "0.5", rows, columns, wells, None))
    size = grid.cell_size()
    assert size >= 4 and grid.cell_rect(31, 47).right() < grid.width() and grid.cell_rect(31, 47).bottom() < grid.height()
    assert grid.position_at(grid.cell_rect(31, 47).center()) == (31, 47)
    assert "AF48" in grid.tooltip_text(31, 47)
    grid.grab()  # painted without error


def test_the_virtual_workspace_row_lists_a_plate_with_a_workspace_once_it_is_selected(
        qtbot, make_window, tmp_path, monkeypatch):
    from polystore_gui.model.backends import plate as plate_module
    from polystore_gui.qt.tree_nodes import State
    from tests.plates import write_workspace_plate
    from tests.qt.helpers import child_rows

    monkeypatch.setattr(plate_module, "_MET_WORKSPACES", {})
    root = tmp_path / "plates"
    root.mkdir()
    folder = write_workspace_plate(root / "screen")
    window = _plate_window(make_window, qtbot, root, tmp_path)
    model = window.tree_model
    _select(window, qtbot, "disk", str(folder))
    view = _plate_shown(window, qtbot)
    assert view.plate.workspace == f"virtual_workspace:{folder}"
    row = model.backend_index("virtual_workspace")
    window.tree.expand(window.proxy.mapFromSource(row))
    if model.canFetchMore(row):
        model.fetchMore(row)
    node = model.node(row)
    qtbot.waitUntil(lambda: node.state is State.LISTED and node.job is None, timeout=15_000)
    assert child_rows(model, row) == [(str(folder), "entry", ("virtual_workspace", str(folder)))]


@pytest.mark.gl
def _site_plate(folder):
    """A TIFF plate of wells A01 and B02, one site each: 2 channels x 3 z, 24 x 24 planes
    whose value is channel * 100 + z."""
    import numpy as np
    import tifffile

    folder.mkdir(parents=True)
    for well in ("A01", "B02"):
        for c in (1, 2):
            for z in (1, 2, 3):
                tifffile.imwrite(folder / f"{well}_s1_c{c}_z{z}.tif", np.full((24, 24), c * 100 + z, np.uint16))
    return folder


def test_double_click_a_tiff_plate_field_opens_its_site_stacked(qtbot, make_window, tmp_path):
    """A TIFF plate's field is every file of its site: channels as napari channels, z as
    a slider (it used to open its first file only)."""
    import numpy as np

    root = tmp_path / "plates"
    folder = _site_plate(root / "tiffs")
    window = _plate_window(make_window, qtbot, root, tmp_path)
    window.resize(1400, 900)
    _select(window, qtbot, "disk", str(folder))
    view = _plate_shown(window, qtbot)
    grid = view.grid
    with qtbot.waitSignal(window.preview.previewShown, timeout=120_000) as shown:
        qtbot.mouseDClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(1, 1).center())  # B02: one field
    assert shown.args[0].path == str(folder / "B02_s1_c1_z1.tif")
    panel = window.preview
    assert panel.stack.currentWidget() is panel.viewer
    layers = panel.viewer.viewer.layers
    assert [layer.name for layer in layers] == ["B02 s1 c1", "B02 s1 c2"]
    assert all(layer.data.shape == (3, 24, 24) for layer in layers)
    assert np.asarray(layers[1].data[2]).max() == 203
    assert panel.plate_back.isVisible()


def test_the_tree_kind_column_says_plate(qtbot, make_window, plates, tmp_path):
    write_tiff_plate(plates / "tiffs", ["A01_s1_w1.tif", "B02_s1_w1.tif"])
    window = _plate_window(make_window, qtbot, plates, tmp_path)
    model = window.tree_model
    for path, text in ((plates / "ome.zarr", "plate (OME plate 0.4, zarr v2)"),):
        index = model.find("disk", str(path))
        qtbot.waitUntil(lambda i=index, t=text: model.index(i.row(), 1, i.parent()).data() == t, timeout=15_000)
    # A polystore plate folder and a folder of plate TIFFs are plain folders that say plate too.
    for name, text in (("screen", "plate (polystore plate folder)"), ("tiffs", "plate (TIFF plate folder)")):
        qtbot.waitUntil(lambda n=name: model.find("disk", str(plates / n)).isValid(), timeout=15_000)
        index = model.find("disk", str(plates / name))
        qtbot.waitUntil(lambda i=index, t=text: model.index(i.row(), 1, i.parent()).data() == t, timeout=15_000)
    expand(window, qtbot, "disk", str(plates / "screen"))
    images = model.find("disk", str(plates / "screen" / "images"))
    qtbot.waitUntil(lambda: model.index(images.row(), 1, images.parent()).data() == "plate (polystore plate, zarr v2)",
                    timeout=15_000)


def test_thumbnails_start_after_the_plate_is_shown_and_not_after_a_stop(qtbot, workers, tmp_path):
    """Reading starts once the event that showed the plate has returned (decoding threads
    competed with building and painting the grid and table: a 140 ms stall), and a plate
    left before then starts no reading at all."""
    from polystore_gui.model.plate_read import plate_at
    from polystore_gui.qt.plate_view import PlateView

    folder = write_polystore_plate(tmp_path / "screen")
    plate = plate_at("disk", str(folder))
    view = PlateView(workers)
    qtbot.addWidget(view)
    view.cache_folder = str(tmp_path / "cache")
    view.show()
    view.show_plate(plate)
    assert view.loading and view._job is None  # nothing competes with this event's painting
    qtbot.waitUntil(lambda: not view.loading, timeout=20_000)
    assert set(view.grid.thumbnails) == {w.path for w in plate.wells}
    view.show_plate(plate)
    view.stop()
    from qtpy.QtCore import QCoreApplication

    QCoreApplication.processEvents()  # the turn of the event loop where reading would have started
    QCoreApplication.processEvents()
    assert view._job is None and not view.loading


def test_send_wells_of_a_tiff_plate_sends_each_sites_files_stacked(qtbot, make_window, tmp_path, monkeypatch):
    """Send Wells to Viewer on a TIFF plate: every file of the field, stacked as the plate
    view shows the site (one layer a channel, z as the leading axis), not its first file."""
    from polystore_gui.model import streaming
    from polystore_gui.qt import viewer_link

    root = tmp_path / "plates"
    folder = _site_plate(root / "tiffs")
    window = _plate_window(make_window, qtbot, root, tmp_path)
    handed = []
    monkeypatch.setattr(window.viewer_link, "send", lambda addresses, sink="napari": handed.append(addresses))
    _select(window, qtbot, "disk", str(folder))
    view = _plate_shown(window, qtbot)
    qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=view.grid.cell_rect(1, 1).center())  # B02
    qtbot.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    ((address,),) = handed
    assert str(address) == f"disk:{folder}/B02_s1_c1_z1.tif" and len(address.files) == 6
    # What the viewer link's job reads and sends for it (the viewer itself stands aside).
    sending = []
    monkeypatch.setattr(streaming, "ensure_viewer", lambda port: streaming.ViewerState(port, streaming.Running.YES, 1))
    monkeypatch.setattr(streaming, "send", lambda items, port, **kw: sending.extend(items) or len(items))
    job = viewer_link._send_job(viewer_link.NAPARI, handed[0], 5)
    with pytest.raises(StopIteration) as done:
        while True:
            next(job)
    assert done.value.value.names == ("B02 s1 c1", "B02 s1 c2") and not done.value.value.refused
    assert [item.data.shape for item in sending] == [(3, 24, 24)] * 2
    assert [int(item.data[z].max()) for item in sending for z in range(3)] == [101, 102, 103, 201, 202, 203]
