"""The tree says what happened (issue 13, GUI half): a filter that matches nothing says so
and Esc clears it; Delete on a backend or a root says why nothing is deleted."""

from __future__ import annotations

from qtpy.QtCore import Qt

from .helpers import expand


def _focus_tree(window, qtbot):
    window.activateWindow()
    qtbot.waitActive(window)
    window.tree.setFocus()
    qtbot.waitUntil(window.tree.hasFocus, timeout=5_000)


def _select(window, *indexes):
    selection = window.tree.selectionModel()
    selection.clearSelection()
    for index in indexes:
        shown = window.proxy.mapFromSource(index)
        selection.select(shown, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
    selection.setCurrentIndex(window.proxy.mapFromSource(indexes[-1]), selection.SelectionFlag.NoUpdate)


def test_a_filter_that_matches_nothing_says_so(make_window, qtbot, tmp_path):
    (tmp_path / "alpha.txt").write_text("a")
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    placeholder = window.tree.findChild(type(window.filter_placeholder), "treeFilterPlaceholder")
    assert placeholder is window.filter_placeholder and not placeholder.isVisible()
    qtbot.keyClicks(window.filter_edit, "alp")
    assert window.tree.model().rowCount() > 0 and not placeholder.isVisible()
    qtbot.keyClicks(window.filter_edit, "zz")
    assert window.tree.model().rowCount() == 0
    assert placeholder.isVisible()
    assert "No match for 'alpzz'" in placeholder.text()
    # Matching again: the rows, not the message.
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Backspace)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Backspace)
    assert window.tree.model().rowCount() > 0 and not placeholder.isVisible()


def test_escape_in_the_filter_clears_it(make_window, qtbot, tmp_path):
    (tmp_path / "alpha.txt").write_text("a")
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    window.activateWindow()
    qtbot.waitActive(window)
    window.filter_edit.setFocus()
    qtbot.waitUntil(window.filter_edit.hasFocus, timeout=5_000)
    qtbot.keyClicks(window.filter_edit, "nothing-matches")
    assert window.filter_placeholder.isVisible()
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)
    assert window.filter_edit.text() == ""
    assert not window.filter_placeholder.isVisible()
    assert window.tree.model() is window.tree_model  # the whole tree again
    assert window.tree_model.find("disk", str(tmp_path / "alpha.txt")).isValid()


def test_delete_on_a_backend_says_why_nothing_is_deleted(make_window, qtbot, tmp_path):
    window = make_window([tmp_path], show=True)
    _select(window, window.tree_model.backend_index("memory"))
    _focus_tree(window, qtbot)
    asked = []
    window.delete_confirmer = lambda entries, names, permanent: asked.append(names) or False
    qtbot.keyClick(window.tree, Qt.Key.Key_Delete)
    message = window.statusBar().currentMessage()
    assert "memory is a backend" in message and "cannot be deleted" in message, message
    assert not asked


def test_delete_on_a_root_says_why_and_what_to_do_instead(make_window, qtbot, tmp_path):
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    _select(window, window.tree_model.find("disk", str(tmp_path)))
    _focus_tree(window, qtbot)
    window.delete_confirmer = lambda entries, names, permanent: True
    qtbot.keyClick(window.tree, Qt.Key.Key_Delete)
    message = window.statusBar().currentMessage()
    assert str(tmp_path) in message and "root of the tree" in message and "Remove from Tree" in message, message
    assert tmp_path.exists()


def test_delete_with_a_root_among_files_deletes_the_files_and_names_what_it_left(make_window, qtbot, tmp_path):
    (tmp_path / "gone.txt").write_text("g")
    window = make_window([tmp_path], show=True)
    expand(window, qtbot, "disk", str(tmp_path))
    model = window.tree_model
    _select(window, model.find("disk", str(tmp_path)), model.find("disk", str(tmp_path / "gone.txt")))
    window.delete_confirmer = lambda entries, names, permanent: True
    with qtbot.waitSignal(window.deleteFinished, timeout=10_000):  # Delete runs in a worker
        window.delete_action.trigger()
    assert not (tmp_path / "gone.txt").exists() and tmp_path.exists()
    message = window.statusBar().currentMessage()
    assert "Deleted 1 of 1" in message and "not deleted" in message and "root of the tree" in message, message
