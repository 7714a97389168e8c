"""Drag and drop in the tree: transfers queued, shown, verified; conflicts asked, never silent."""

from __future__ import annotations

import os

from qtpy.QtCore import QMimeData, Qt, QUrl

from polystore_gui.model.address import ENTRIES_MIME

from .helpers import child_rows, expand


def _tree(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(100_000))
    (src / "sub").mkdir()
    (src / "sub" / "b.txt").write_text("hello")
    dst = tmp_path / "dst"
    dst.mkdir()
    return src, dst


def _drop(window, qtbot, sources, target, action=Qt.DropAction.CopyAction):
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(p)) for p in sources])
    index = model.find("disk", str(target))
    assert model.canDropMimeData(mime, action, -1, 0, index)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        assert model.dropMimeData(mime, action, -1, 0, index)
    return finished.args[0]


def test_dropping_entries_on_a_folder_copies_them_and_the_queue_shows_it(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    expand(window, qtbot, "disk", str(src))
    expand(window, qtbot, "disk", str(dst))
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "a.bin"))])
    assert mime.hasFormat(ENTRIES_MIME) and mime.urls()[0].toLocalFile() == str(src / "a.bin")
    assert not model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(src / "a.bin")))
    assert model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.backend_index("memory"))

    summary = _drop(window, qtbot, [src / "a.bin", src / "sub"], dst)
    assert (summary.done, summary.failed) == (2, 0)
    assert (dst / "a.bin").read_bytes() == (src / "a.bin").read_bytes() and (dst / "sub" / "b.txt").exists()
    assert window.transfer_dock.isVisible()
    statuses = [window.transfer_queue.table.topLevelItem(i).text(5) for i in range(2)]
    assert statuses == ["done, verified", "done, verified"]
    # The destination folder is listed again: the new rows are there.
    qtbot.waitUntil(lambda: ("disk", str(dst / "a.bin")) in [r[2] for r in child_rows(model, model.find("disk", str(dst)))])


def _taken_names_window(make_window, qtbot, tmp_path):
    """src and dst (where a.bin and sub are taken already), and a window with both listed."""
    src, dst = _tree(tmp_path)
    (dst / "a.bin").write_bytes(b"old")
    (dst / "sub").mkdir()
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    return src, dst, window


def test_a_taken_name_is_asked_about_and_the_answer_applies_to_all(make_window, qtbot, tmp_path):
    src, dst, window = _taken_names_window(make_window, qtbot, tmp_path)
    asked = []
    window.conflict_resolver = lambda item: (asked.append(item.destination.path), ("keep both", None, True))[1]
    summary = _drop(window, qtbot, [src / "a.bin", src / "sub"], dst)
    assert asked == [str(dst / "a.bin")]  # asked once, applied to the second conflict too
    assert summary.done == 2 and (dst / "a.bin").read_bytes() == b"old"
    assert (dst / "a (2).bin").exists() and (dst / "sub (2)" / "b.txt").exists()
    window.conflict_resolver = lambda item: ("cancel", None, False)
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "a.bin"))])
    model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(dst)))
    qtbot.waitUntil(lambda: "Transfer cancelled" in window.statusBar().currentMessage(), timeout=10_000)
    assert not window.transfer_queue.busy and sorted(os.listdir(dst)) == ["a (2).bin", "a.bin", "sub", "sub (2)"]


def test_a_move_deletes_the_sources_after_verifying(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    summary = _drop(window, qtbot, [src / "sub"], dst, Qt.DropAction.MoveAction)
    assert summary.done == 1 and not (src / "sub").exists() and (dst / "sub" / "b.txt").read_text() == "hello"


def test_files_from_the_desktop_land_in_the_folder_they_are_dropped_on(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    model = window.tree_model
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(src / "a.bin"))])
    index = model.find("disk", str(dst))
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index)
    assert (dst / "a.bin").exists()


def test_cancel_all_stops_a_big_copy_and_leaves_nothing(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    with open(src / "big.bin", "wb") as fh:
        fh.truncate(2 << 30)  # 2 GiB sparse: long enough to cancel mid-way
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "big.bin")), model.find("disk", str(src / "a.bin"))])
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=60_000) as finished:
        model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(dst)))
        # (the rows come once the drop is planned, in a worker)
        qtbot.waitUntil(lambda: len(window.transfer_queue.rows) >= 2 and window.transfer_queue.rows[-2].done > 0,
                        timeout=30_000)
        window.transfer_queue.cancel_all()
    summary = finished.args[0]
    assert summary.cancelled == 2 and summary.done == 0
    assert os.listdir(dst) == [] and (src / "big.bin").stat().st_size == 2 << 30


def test_the_chunk_setting_applies_to_arrays_dropped_on_a_zarr_group(make_window, qtbot, tmp_path):
    import numpy as np
    import zarr

    src, dst = _tree(tmp_path)
    np.save(src / "cube.npy", np.ones((4, 64, 64), np.uint8))
    zarr.open_group(str(dst / "g.zarr"), mode="w")
    window = make_window([tmp_path], show=True)
    window.set_transfer_chunks((2, 32, 32))
    assert window.transfer_chunks() == (2, 32, 32)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "cube.npy"))])
    target = model.find("disk", str(dst / "g.zarr"))
    assert model.drop_target(target).backend == "zarr"  # a store under disk takes arrays as zarr
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, target)
    assert zarr.open_array(str(dst / "g.zarr" / "cube.npy")).chunks == (2, 32, 32)
    window.set_transfer_chunks(None)


def test_the_conflict_question_offers_every_answer_and_apply_to_all(make_window, qtbot, tmp_path):
    """The real dialog: its buttons, its checkbox, and the answer it returns."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    from polystore_gui.model import transfers
    from polystore_gui.model.address import Address

    src, dst = _tree(tmp_path)
    (dst / "a.bin").write_bytes(b"old")
    window = make_window([tmp_path])
    (item,) = transfers.plan([Address("disk", str(src / "a.bin"))], Address("disk", str(dst)))
    assert item.conflict
    seen = {}

    def answer():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        seen["buttons"] = sorted(b.text().replace("&", "") for b in box.buttons())
        seen["text"] = box.text()
        box.checkBox().setChecked(True)
        next(b for b in box.buttons() if b.text() == "Keep Both").click()

    QTimer.singleShot(0, answer)
    window._conflicts_left = 2  # as when another conflict follows: "apply to all" is offered
    assert window._ask_conflict(item) == ("keep both", None, True)
    assert seen["buttons"] == ["Cancel", "Keep Both", "Overwrite", "Rename…", "Skip"]
    assert str(dst / "a.bin") in seen["text"]


# -- drops into zarr arrays and the memory root; failures in the badge -----------------------------


def test_a_drop_on_a_zarr_array_lands_in_the_group_that_holds_it_and_says_so(make_window, qtbot, tmp_path):
    import numpy as np
    import tifffile
    import zarr

    src, dst = _tree(tmp_path)
    image = np.arange(2 * 16 * 16, dtype=np.uint16).reshape(2, 16, 16)
    tifffile.imwrite(src / "image.tif", image, photometric="minisblack")
    zarr.open_group(str(dst / "g.zarr"), mode="w", zarr_format=2).create_array("old", shape=(4,), dtype="uint8")
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst, dst / "g.zarr"):
        expand(window, qtbot, "disk", str(folder))
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "image.tif"))])
    array = model.find("zarr", str(dst / "g.zarr" / "old"))
    assert array.isValid() and model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, array)
    window.drop_chooser = lambda sources, destination, default: default  # the drop menu: Copy Here
    said = []
    window.statusBar().messageChanged.connect(said.append)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, array)
    said = next(m for m in said if "is a zarr array" in m)  # said once the worker found where it lands
    assert "old is a zarr array" in said and str(dst / "g.zarr") in said
    assert finished.args[0].done == 1
    row = window.transfer_queue.table.topLevelItem(0)
    assert row.text(1) == f"zarr:{dst / 'g.zarr' / 'image.tif'}"
    assert "written as a zarr v2 array (the format of the group it is in)" in row.toolTip(5)
    group = zarr.open_group(str(dst / "g.zarr"), mode="r")
    assert sorted(k for k, _ in group.members()) == ["image.tif", "old"]
    np.testing.assert_array_equal(group["image.tif"][...], image)
    assert sorted(os.listdir(dst / "g.zarr" / "old")) == [".zarray", ".zattrs"]  # nothing went inside the array


def test_a_drop_on_the_memory_row_works_before_it_was_ever_expanded(make_window, qtbot, tmp_path, monkeypatch):
    import uuid

    import numpy as np
    from polystore.backend_registry import get_backend_instance

    src, _dst = _tree(tmp_path)
    name = f"dropped_{uuid.uuid4().hex[:6]}.npy"
    np.save(src / name, np.arange(12, dtype=np.int32).reshape(3, 4))
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    expand(window, qtbot, "disk", str(src))
    backend = get_backend_instance("memory")
    monkeypatch.delitem(backend._memory_store, "/", raising=False)  # nothing has listed memory yet
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / name))])
    memory = model.backend_index("memory")
    assert model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, memory)
    try:
        with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
            assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, memory)
        summary = finished.args[0]
        assert (summary.done, summary.failed) == (1, 0), summary.errors
        np.testing.assert_array_equal(backend.load("/" + name), np.load(src / name))
    finally:
        if backend.exists("/" + name):
            backend.delete("/" + name)


def test_a_failed_transfer_shows_as_failed_in_the_queue_badge_never_100_percent(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(src / "a.bin"))])
    (src / "a.bin").unlink()  # gone between the drag and the drop: the item fails
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(dst)))
    assert finished.args[0].failed == 1
    queue = window.transfer_queue
    assert "100%" not in queue.overall_bar.text() and "failed" in queue.overall_bar.text()
    assert queue.rows[0].bar.text() == "failed"
    assert queue.table.topLevelItem(0).text(5).startswith("failed: ")


def test_a_move_into_memory_asks_first_and_copy_instead_is_the_default(make_window, qtbot, tmp_path):
    """The real dialog: Enter (the default) copies and keeps the source; Move Anyway moves."""
    import uuid

    from polystore.backend_registry import get_backend_instance
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    from polystore_gui.model.address import Address

    src, _dst = _tree(tmp_path)
    (src / "note.txt").write_text("only here")
    memory = get_backend_instance("memory")
    root = f"/moved_{uuid.uuid4().hex[:6]}"
    memory.ensure_directory(root)
    window = make_window([tmp_path])
    seen = {}

    def press(button_text=None):
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        seen["buttons"] = sorted(b.text().replace("&", "") for b in box.buttons())
        seen["default"] = box.defaultButton().text()
        seen["text"] = box.text() + box.informativeText()
        if button_text is None:
            box.defaultButton().click()  # what Enter does
        else:
            next(b for b in box.buttons() if b.text() == button_text).click()

    try:
        QTimer.singleShot(0, press)
        with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
            items = window.transfer([Address("disk", str(src / "note.txt"))], Address("memory", root), move=True)
        assert finished.args[0].done == 1, finished.args[0].errors
        assert seen["buttons"] == ["Cancel", "Copy Instead", "Move Anyway"] and seen["default"] == "Copy Instead"
        assert "lost when the program quits" in seen["text"]
        assert [i.move for i in items] == [False]
        assert (src / "note.txt").exists() and memory.exists(root + "/note.txt")
        QTimer.singleShot(0, lambda: press("Move Anyway"))
        with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
            window.transfer([Address("disk", str(src / "sub"))], Address("memory", root), move=True)
        assert not (src / "sub").exists() and memory.load(root + "/sub/b.txt") == "hello"
        QTimer.singleShot(0, lambda: press("Cancel"))
        assert window.transfer([Address("disk", str(src / "note.txt"))], Address("memory", root), move=True) == []
        assert (src / "note.txt").exists()
    finally:
        memory.delete_all(root)


def test_a_moved_folder_holding_a_fifo_is_kept_and_the_queue_says_why(make_window, qtbot, tmp_path):
    src, dst = _tree(tmp_path)
    os.mkfifo(src / "sub" / "pipe")
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    summary = _drop(window, qtbot, [src / "sub"], dst, Qt.DropAction.MoveAction)
    assert summary.done == 1 and (dst / "sub" / "b.txt").read_text() == "hello"
    assert (src / "sub" / "pipe").exists()  # the source is kept: the FIFO was not copied
    row = window.transfer_queue.table.topLevelItem(0)
    assert "the source was kept" in row.text(5) and "a FIFO is not a file" in row.toolTip(5)


def test_the_window_cleans_up_after_a_killed_move_when_it_starts(make_window, qtbot, tmp_path):
    """A real ``cp --move`` killed (SIGKILL) while deleting its source; the window's start
    finishes the move and says so in the status bar."""
    import signal
    import subprocess
    import sys

    src, dst = _tree(tmp_path)
    code = f"""
import os, signal, sys
from polystore_gui.model import transfers
def rmtree_then_die(path, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
transfers.shutil.rmtree = rmtree_then_die
from polystore_gui.cli import main
sys.exit(main(["cp", "--move", {str(src)!r}, {str(dst)!r}]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [n for n in os.listdir(tmp_path) if ".polystore-partial-" in n]  # the source, renamed aside
    window = make_window([tmp_path], discovered=False)
    window.start_background(viewer=False)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    qtbot.waitUntil(lambda: any("Finished an interrupted move" in m for m in messages), timeout=30_000)
    assert any(str(dst / "src") in m for m in messages), messages
    assert sorted(os.listdir(tmp_path)) == ["dst"] and (dst / "src" / "sub" / "b.txt").read_text() == "hello"


def test_apply_to_all_is_offered_only_while_more_than_one_conflict_is_left(make_window, qtbot, tmp_path):
    """The conflict dialog's "Apply to all remaining conflicts": on the first of two taken
    names, not on the last one, and not when there is only one."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QCheckBox, QMessageBox

    src, dst, window = _taken_names_window(make_window, qtbot, tmp_path)
    offered = []

    def answer():  # the real dialog, as the user sees it: note the check box, then Skip
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.windowTitle() == "Name already taken" and box.isVisible():
            shown = [c.text() for c in box.findChildren(QCheckBox) if c.isVisible()]
            offered.append(shown == ["Apply to all remaining conflicts"])
            assert shown in ([], ["Apply to all remaining conflicts"])
            next(b for b in box.buttons() if b.text() == "Skip").click()

    timer = QTimer(window)
    timer.timeout.connect(answer)
    timer.start(20)
    try:
        summary = _drop(window, qtbot, [src / "a.bin", src / "sub"], dst)
        assert offered == [True, False] and summary.done == 0
        offered.clear()
        model = window.tree_model
        mime = model.mimeData([model.find("disk", str(src / "a.bin"))])
        model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(dst)))
        qtbot.waitUntil(lambda: len(offered) == 1, timeout=10_000)
        assert offered == [False]
    finally:
        timer.stop()
    assert (dst / "a.bin").read_bytes() == b"old" and sorted(os.listdir(dst)) == ["a.bin", "sub"]
