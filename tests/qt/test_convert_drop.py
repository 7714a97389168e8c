"""Issue 18: the drop menu's "Convert to OME-Zarr 0.5", through the real drop path
(``mimeData`` → ``dropMimeData``): a TIFF or a zarr array dropped on a folder becomes an
OME-Zarr 0.5 image there, as a job of the Transfers panel with progress and cancel, and a
taken name is asked about as for a copy."""

from __future__ import annotations

import os

import numpy as np
import pytest
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QApplication, QMenu

from .helpers import expand


def _drop(window, sources, target, backend="disk"):
    model = window.tree_model
    mime = model.mimeData([model.find(b, str(p)) for b, p in sources])
    index = model.find(backend, str(target))
    assert model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index)
    return model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index)


@pytest.fixture
def workspace(tmp_path):
    import tifffile
    import zarr

    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    image = np.arange(3 * 300 * 280, dtype=np.uint16).reshape(3, 300, 280)
    tifffile.imwrite(src / "stack.tif", image, photometric="minisblack", metadata={"axes": "ZYX"})
    array = zarr.create_array(str(src / "plain.zarr"), shape=(2, 64, 64), chunks=(1, 32, 32), dtype="float32")
    array[...] = np.random.default_rng(0).random((2, 64, 64), dtype=np.float32)
    (src / "notes.txt").write_text("not an image")
    return src, dst, image, array[...]


def test_the_real_drop_menu_offers_conversion_and_a_tiff_becomes_an_ome_zarr_05(make_window, qtbot, workspace):
    import zarr

    src, dst, image, _ = workspace
    window = make_window([src.parent], show=True)
    for folder in (src.parent, src, dst):
        expand(window, qtbot, "disk", str(folder))
    seen = {}

    def choose():  # the menu comes at the pointer when the drop is made
        menu = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()), None)
        if menu is None:
            QTimer.singleShot(10, choose)
            return
        seen["items"] = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
        seen["default"] = menu.activeAction().text().replace("&", "")
        convert = next(a for a in menu.actions() if a.text().startswith("Convert"))
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(convert).center())

    QTimer.singleShot(0, choose)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=120_000) as finished:
        assert _drop(window, [("disk", src / "stack.tif")], dst)
    assert seen["items"] == ["Copy Here", "Move Here", "Convert to OME-Zarr 0.5 Here", "Cancel"]
    assert seen["default"] == "Copy Here"
    summary = finished.args[0]
    assert (summary.done, summary.failed) == (1, 0), summary.errors
    row = window.transfer_queue.table.topLevelItem(0)
    assert row.text(1) == f"disk:{dst / 'stack.ome.zarr'}" and row.text(5) == "done, verified"
    assert "OME-Zarr 0.5" in row.toolTip(5)
    group = zarr.open_group(str(dst / "stack.ome.zarr"), mode="r")
    assert group.attrs["ome"]["version"] == "0.5"
    np.testing.assert_array_equal(group["0"][...], image)
    assert (src / "stack.tif").exists()  # a conversion keeps its source
    # The destination folder shows the new image.
    model = window.tree_model
    qtbot.waitUntil(lambda: model.find("disk", str(dst / "stack.ome.zarr")).isValid()
                    or model.find("zarr", str(dst / "stack.ome.zarr")).isValid(), timeout=10_000)


def test_a_taken_name_is_asked_and_keep_both_converts_beside_it(make_window, qtbot, workspace):
    import zarr

    src, dst, _, values = workspace
    (dst / "plain.ome.zarr").mkdir()  # taken
    window = make_window([src.parent], show=True)
    for folder in (src.parent, src, dst):
        expand(window, qtbot, "disk", str(folder))
    window.drop_chooser = lambda sources, destination, default: "convert"
    asked = []
    window.conflict_resolver = lambda item: (asked.append(item.destination.path), ("keep both", None, False))[1]
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=120_000) as finished:
        assert _drop(window, [("disk", src / "plain.zarr")], dst)
    assert asked == [str(dst / "plain.ome.zarr")]
    assert finished.args[0].done == 1, finished.args[0].errors
    assert sorted(os.listdir(dst)) == ["plain (2).ome.zarr", "plain.ome.zarr"]
    np.testing.assert_array_equal(zarr.open_group(str(dst / "plain (2).ome.zarr"), mode="r")["0"][...], values)


def test_a_conversion_is_cancelled_from_the_panel_and_leaves_nothing(make_window, qtbot, workspace, monkeypatch):
    import threading

    from polystore_gui.model import convert

    src, dst, _, _ = workspace
    window = make_window([src.parent], show=True)
    for folder in (src.parent, src, dst):
        expand(window, qtbot, "disk", str(folder))
    window.drop_chooser = lambda sources, destination, default: "convert"
    started, real_convert = threading.Event(), convert.convert

    def held_convert(plan, *, progress=None, cancelled=None, **kwargs):
        started.set()
        while not cancelled():  # until Cancel is pressed in the panel
            threading.Event().wait(0.01)
        return real_convert(plan, progress=progress, cancelled=cancelled, **kwargs)

    monkeypatch.setattr(convert, "convert", held_convert)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=60_000) as finished:
        assert _drop(window, [("disk", src / "stack.tif")], dst)
        qtbot.waitUntil(started.is_set, timeout=30_000)
        assert window.transfer_queue.rows[-1].widget.text(5) in ("waiting", "converting")
        window.transfer_queue.cancel_all_button.click()
    assert finished.args[0].cancelled == 1
    assert os.listdir(dst) == []  # nothing half-written left, not even a hidden temporary


def test_no_menu_for_what_cannot_be_converted_nor_on_paste(make_window, qtbot, workspace):
    src, dst, _, _ = workspace
    window = make_window([src.parent], show=True)
    for folder in (src.parent, src, dst):
        expand(window, qtbot, "disk", str(folder))
    asked = []
    window.drop_chooser = lambda sources, destination, default: asked.append(sources) or default
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert _drop(window, [("disk", src / "notes.txt")], dst)  # a text file: a plain copy
    assert not asked and (dst / "notes.txt").read_text() == "not an image"


def test_a_finished_conversion_s_bar_says_all_of_it_arrived(make_window, qtbot, workspace):
    """A conversion done before the panel's next redraw kept its bar's first figures: full,
    reading "0 B / 8.0 MiB" beside "done, verified" (a new user's pass, session 13)."""
    from polystore_gui.model.entries import human_size

    src, dst, _, _ = workspace
    window = make_window([src.parent], show=True)
    for folder in (src.parent, src, dst):
        expand(window, qtbot, "disk", str(folder))
    window.drop_chooser = lambda sources, destination, default: "convert"
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=120_000) as finished:
        assert _drop(window, [("disk", src / "plain.zarr")], dst)
    assert finished.args[0].done == 1, finished.args[0].errors
    (row,) = window.transfer_queue.rows
    whole = human_size(row.total)
    assert row.total > 0 and row.bar.value() == row.bar.maximum()
    assert row.bar.text() == f"{whole} / {whole}"
