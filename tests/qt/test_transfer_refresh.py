"""A finished transfer updates the rows of the folders involved, and nothing else moves.

The user's expanded folders and stores, the current row, the selection and the preview all
stay; the destination gains its new rows and the rows it changed show their new facts.
"""

from __future__ import annotations

import os

import zarr
from qtpy.QtCore import QItemSelectionModel, Qt

from polystore_gui.qt.tree_model import ADDRESS_ROLE, SIZE

from .helpers import child_rows, expand


def _size(model, path):
    index = model.find("disk", str(path))
    return index.siblingAtColumn(SIZE).data() if index.isValid() else None


def _rows(model, folder):
    return [r[2][1] for r in child_rows(model, model.find("disk", str(folder)))]


def test_a_finished_copy_keeps_what_the_user_had_open_and_selected(make_window, qtbot, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(os.urandom(50_000))
    (src / "sub" / "b.txt").write_text("hello")
    dst = tmp_path / "dst"
    (dst / "keep").mkdir(parents=True)
    (dst / "keep" / "inner.txt").write_text("inner")
    (dst / "notes.txt").write_text("my notes")
    (dst / "a.bin").write_bytes(b"old")  # overwritten: its row shows the new size
    zarr.open_group(str(dst / "store.zarr"), mode="w").create_group("well")

    window = make_window([tmp_path], show=True)
    model = window.tree_model
    for folder in (tmp_path, src, dst, dst / "keep", dst / "store.zarr"):
        expand(window, qtbot, "disk", str(folder))
    qtbot.waitUntil(lambda: _size(model, dst / "a.bin") == "3 B", timeout=15_000)
    tree = window.tree
    notes = window.proxy.mapFromSource(model.find("disk", str(dst / "notes.txt")))
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        tree.setCurrentIndex(notes)
    keep = window.proxy.mapFromSource(model.find("disk", str(dst / "keep")))
    tree.selectionModel().select(keep, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    opened = [str(dst / "keep"), str(dst / "store.zarr"), str(dst), str(src)]
    assert all(tree.isExpanded(window.proxy.mapFromSource(model.find("disk", p))) for p in opened)

    window.conflict_resolver = lambda item: ("overwrite", None, True)
    mime = model.mimeData([model.find("disk", str(src / "a.bin")), model.find("disk", str(src / "sub"))])
    previews = []
    window.preview.previewShown.connect(previews.append)
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(dst)))
    qtbot.waitUntil(lambda: str(dst / "sub") in _rows(model, dst), timeout=15_000)
    # The changed row shows its new size (once the details pass is through).
    qtbot.waitUntil(lambda: _size(model, dst / "a.bin") == "48.8 KiB", timeout=15_000)
    assert sorted(_rows(model, dst)) == sorted(str(dst / n) for n in ("a.bin", "keep", "notes.txt", "store.zarr", "sub"))

    # Everything the user had open is open, the current row and the selection are the same.
    assert all(tree.isExpanded(window.proxy.mapFromSource(model.find("disk", p))) for p in opened)
    assert str(dst / "keep" / "inner.txt") in _rows(model, dst / "keep")
    assert window.proxy.mapToSource(tree.currentIndex()).data(ADDRESS_ROLE) == ("disk", str(dst / "notes.txt"))
    selected = {window.proxy.mapToSource(i).data(ADDRESS_ROLE) for i in tree.selectionModel().selectedRows(0)}
    assert selected == {("disk", str(dst / "notes.txt")), ("disk", str(dst / "keep"))}
    # The preview still shows what was selected: not the welcome text, not asked again.
    assert window.preview.title.toolTip() == f"disk:{dst / 'notes.txt'}"
    assert window.preview.current is not None and window.preview.current.path == str(dst / "notes.txt")
    assert window.preview.text.toPlainText() == "my notes" and previews == []


def test_a_finished_move_takes_the_moved_rows_out_and_keeps_the_rest(make_window, qtbot, tmp_path):
    src = tmp_path / "src"
    (src / "open").mkdir(parents=True)
    (src / "open" / "x.txt").write_text("x")
    (src / "gone.txt").write_text("moving")
    dst = tmp_path / "dst"
    dst.mkdir()
    window = make_window([tmp_path], show=True)
    model = window.tree_model
    for folder in (tmp_path, src, src / "open", dst):
        expand(window, qtbot, "disk", str(folder))
    tree = window.tree
    current = window.proxy.mapFromSource(model.find("disk", str(src / "open" / "x.txt")))
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        tree.setCurrentIndex(current)
    mime = model.mimeData([model.find("disk", str(src / "gone.txt"))])
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, model.find("disk", str(dst)))
    qtbot.waitUntil(lambda: str(dst / "gone.txt") in _rows(model, dst) and str(src / "gone.txt") not in _rows(model, src),
                    timeout=15_000)
    assert tree.isExpanded(window.proxy.mapFromSource(model.find("disk", str(src / "open"))))
    assert window.proxy.mapToSource(tree.currentIndex()).data(ADDRESS_ROLE) == ("disk", str(src / "open" / "x.txt"))
    assert window.preview.title.toolTip() == f"disk:{src / 'open' / 'x.txt'}"


def test_a_copy_into_a_large_folder_keeps_its_open_rows_and_counts_the_new_entry(make_window, qtbot, tmp_path):
    from polystore_gui.qt.tree_model import PAGE

    big = tmp_path / "big"
    (big / "a_open").mkdir(parents=True)
    (big / "a_open" / "inside.txt").write_text("i")
    for i in range(PAGE + 10):
        (big / f"f{i:05d}.txt").touch()
    (tmp_path / "zz_new.txt").write_text("new")
    window = make_window([tmp_path], show=True)
    model = window.tree_model
    for folder in (tmp_path, big, big / "a_open"):
        expand(window, qtbot, "disk", str(folder))
    more = [r for r in child_rows(model, model.find("disk", str(big))) if r[1] == "more"]
    assert more and more[0][0].startswith("… 11 more of 1,011")
    mime = model.mimeData([model.find("disk", str(tmp_path / "zz_new.txt"))])
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000):
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, model.find("disk", str(big)))
    qtbot.waitUntil(lambda: any(r[1] == "more" and r[0].startswith("… 12 more of 1,012")
                                for r in child_rows(model, model.find("disk", str(big)))), timeout=15_000)
    assert window.tree.isExpanded(window.proxy.mapFromSource(model.find("disk", str(big / "a_open"))))
    assert model.holds_unshown(model.find("disk", str(big)), str(big / "zz_new.txt"))
