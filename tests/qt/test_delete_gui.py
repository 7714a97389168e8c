"""Delete in the window: to the desktop trash (XDG_DATA_HOME is a temporary folder here),
in a worker, never through a link out of the listed root; the real dialog says which."""

from __future__ import annotations

import os

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QMessageBox

from .helpers import expand


def _select(window, *paths):
    model, selection = window.tree_model, window.tree.selectionModel()
    selection.clearSelection()
    for path in paths:
        index = window.proxy.mapFromSource(model.find("disk", str(path)))
        assert index.isValid(), path
        selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)


def _window_on_one_file(make_window, qtbot, tmp_path, monkeypatch, name):
    """A window on a folder ``root`` holding the file ``name``, expanded; the trash is a
    temporary folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    root = tmp_path / "root"
    root.mkdir()
    (root / name).write_text(name)
    window = make_window([root], show=True)
    expand(window, qtbot, "disk", str(root))
    return window, root


def test_delete_moves_to_the_trash_through_the_real_dialog_and_never_follows_a_link(
        make_window, qtbot, tmp_path, monkeypatch):
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("not ours")
    (root / "gone.txt").write_text("g")
    os.symlink(outside, root / "link")
    window = make_window([root], show=True)
    expand(window, qtbot, "disk", str(root))
    expand(window, qtbot, "disk", str(root / "link"))
    seen = {}

    def answer():  # the question comes once Delete's plan is back from its worker
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(10, answer)
            return
        seen["title"], seen["text"] = box.windowTitle(), box.text()
        seen["default"] = box.defaultButton().text()
        next(b for b in box.buttons() if b.text() == "Move to Trash").click()

    _select(window, root / "gone.txt", root / "link")
    QTimer.singleShot(0, answer)
    with qtbot.waitSignal(window.deleteFinished, timeout=10_000) as finished:
        window.delete_action.trigger()
    assert finished.args == [2, []]
    assert seen["title"] == "Move to Trash" and "Move 2 items to the trash?" in seen["text"]
    assert seen["default"] == "Cancel"
    assert sorted(os.listdir(data / "Trash" / "files")) == ["gone.txt", "link"]
    assert os.path.islink(data / "Trash" / "files" / "link")  # the link itself, not its target
    assert (outside / "precious.txt").read_text() == "not ours"
    assert "to the trash" in window.statusBar().currentMessage()


def test_delete_refuses_an_entry_reached_through_a_link_out_of_the_root(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("not ours")
    os.symlink(outside, root / "link")
    window = make_window([root], show=True)
    expand(window, qtbot, "disk", str(root))
    expand(window, qtbot, "disk", str(root / "link"))
    asked = []
    window.delete_confirmer = lambda entries, names, permanent: asked.append(names) or True
    _select(window, root / "link" / "precious.txt")
    window.delete_action.trigger()
    qtbot.waitUntil(lambda: "leads out of" in window.statusBar().currentMessage(), timeout=10_000)
    assert not asked and (outside / "precious.txt").read_text() == "not ours"


def test_a_memory_entry_has_no_trash_and_the_dialog_says_it_goes_for_good(make_window, qtbot):
    from polystore_gui.model.address import Address
    from polystore_gui.model.entries import Entry, EntryKind

    window = make_window([])
    entry = Entry(backend="memory", path="/x.txt", name="x.txt", kind=EntryKind.FILE)
    seen = {}

    def answer():
        box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
        seen["title"], seen["text"] = box.windowTitle(), box.text()
        seen["buttons"] = sorted(b.text().replace("&", "") for b in box.buttons())
        next(b for b in box.buttons() if b.text() == "Cancel").click()

    QTimer.singleShot(0, answer)
    assert window._confirm_delete([entry], "memory:/x.txt", [str(Address("memory", "/x.txt"))]) is False
    assert seen["title"] == "Delete for Good" and "deleted for good" in seen["text"]
    assert seen["buttons"] == ["Cancel", "Delete for Good"]


def test_delete_plans_in_a_worker_and_the_window_stays_responsive_until_the_dialog(
        make_window, qtbot, tmp_path, monkeypatch):
    """Issue 19: what Delete looks up first (does it exist, which trash, a link out of the
    root) is file-system I/O, done in a worker; the window keeps handling events meanwhile
    and the question comes once the plan is known."""
    import threading

    from polystore_gui.model import trash

    window, root = _window_on_one_file(make_window, qtbot, tmp_path, monkeypatch, "slow.txt")
    release, planned_on = threading.Event(), []
    real_plan = trash.plan_delete

    def slow_plan(address, listed_root):  # a slow mount: held until the test lets it go
        planned_on.append(threading.current_thread())
        assert release.wait(20), "never released"
        return real_plan(address, listed_root)

    monkeypatch.setattr(trash, "plan_delete", slow_plan)
    asked = []
    window.delete_confirmer = lambda entries, names, permanent: asked.append(names) or True
    _select(window, root / "slow.txt")
    ticks = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    try:
        window.delete_action.trigger()  # returns at once: the plan waits in its worker
        qtbot.waitUntil(lambda: bool(planned_on) and len(ticks) >= 3, timeout=10_000)  # the event loop runs meanwhile
        assert planned_on[0] is not threading.main_thread()
        assert not asked and (root / "slow.txt").exists()
        assert "Preparing to delete" in window.statusBar().currentMessage()
        with qtbot.waitSignal(window.deleteFinished, timeout=10_000) as finished:
            release.set()
    finally:
        release.set()
        timer.stop()
    assert asked == [f"disk:{root / 'slow.txt'}"] and finished.args == [1, []]
    assert not (root / "slow.txt").exists()


def test_a_file_gone_before_delete_is_said_and_nothing_is_asked(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    root = tmp_path / "root"
    root.mkdir()
    (root / "gone.txt").write_text("g")
    (root / "kept.txt").write_text("k")
    window = make_window([root], show=True)
    expand(window, qtbot, "disk", str(root))
    asked = []
    window.delete_confirmer = lambda entries, names, permanent: asked.append(names) or False
    _select(window, root / "gone.txt")
    (root / "gone.txt").unlink()  # removed by another program after it was listed
    window.delete_action.trigger()
    qtbot.waitUntil(lambda: "no longer exists" in window.statusBar().currentMessage(), timeout=10_000)
    assert not asked and "Not deleted" in window.statusBar().currentMessage()
    assert (root / "kept.txt").exists()


def test_deleting_what_is_being_previewed_stops_its_preview_first(make_window, qtbot, tmp_path, monkeypatch):
    """The row selected for Delete is being previewed (selecting it asked for that): the
    preview's reading job is quit and the pane says so before the entry goes, so nothing
    is read or shown from data being removed."""
    import threading

    from polystore_gui.model import lazy

    window, root = _window_on_one_file(make_window, qtbot, tmp_path, monkeypatch, "going.txt")
    release, tokens = threading.Event(), []
    real_open = lazy.open_preview

    def slow_open(backend, path, *, cancelled, **kwargs):  # a slow read, held by the test
        tokens.append(cancelled)
        assert release.wait(20), "never released"
        return real_open(backend, path, cancelled=cancelled, **kwargs)

    monkeypatch.setattr(lazy, "open_preview", slow_open)
    window.delete_confirmer = lambda entries, names, permanent: True
    _select(window, root / "going.txt")
    window.preview.request("disk", str(root / "going.txt"))  # what selecting the row asks
    qtbot.waitUntil(lambda: bool(tokens), timeout=10_000)
    try:
        with qtbot.waitSignal(window.deleteFinished, timeout=10_000):
            window.delete_action.trigger()
        assert all(token.cancelled for token in tokens)  # every read of it was told to stop
        assert window.preview.message.text() == "Deleted: no longer previewed."
        assert window.preview.current is None
    finally:
        release.set()
    assert not (root / "going.txt").exists()
