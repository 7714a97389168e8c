"""A drop is planned off the GUI thread, and a finished transfer updates each folder once
(issue 19): where the drop lands (a zarr array's metadata read) and what is already there
(a look at every destination name) are I/O; a job of many items lists its folders again
once, not once per item."""

from __future__ import annotations

import collections
import threading

from qtpy.QtCore import Qt, QTimer

from polystore_gui.qt.tree_model import ADDRESS_ROLE

from .helpers import expand


def _drop(window, sources, target, action=Qt.DropAction.CopyAction):
    model = window.tree_model
    mime = model.mimeData([model.find("disk", str(p)) for p in sources])
    return model.dropMimeData(mime, action, -1, 0, model.find("disk", str(target)))


def _window_with_src_dst(make_window, qtbot, tmp_path):
    """A shown window on ``tmp_path`` with folders ``src`` (holding ``a.txt``) and ``dst``, all expanded."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a.txt").write_text("a")
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    return window, src, dst


def test_a_drop_reads_where_it_lands_in_a_worker_and_the_window_stays_responsive(
        make_window, qtbot, tmp_path, monkeypatch):
    from polystore_gui.model import transfers

    window, src, dst = _window_with_src_dst(make_window, qtbot, tmp_path)
    release, threads = threading.Event(), {}
    real_landing, real_plan = transfers.landing, transfers.plan

    def slow_landing(destination):  # a slow mount: held until the test lets it go
        threads["landing"] = threading.current_thread()
        assert release.wait(20), "never released"
        return real_landing(destination)

    def recording_plan(*args, **kwargs):
        threads.setdefault("plan", threading.current_thread())
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(transfers, "landing", slow_landing)
    monkeypatch.setattr(transfers, "plan", recording_plan)
    ticks = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    try:
        assert _drop(window, [src / "a.txt"], dst)  # returns at once: the plan waits in its worker
        qtbot.waitUntil(lambda: "landing" in threads and len(ticks) >= 3, timeout=10_000)
        assert not (dst / "a.txt").exists()
        with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
            release.set()
    finally:
        release.set()
        timer.stop()
    assert finished.args[0].done == 1 and (dst / "a.txt").read_text() == "a"
    assert threads["landing"] is not threading.main_thread() and threads["plan"] is not threading.main_thread()


def test_a_finished_transfer_lists_each_folder_again_once(make_window, qtbot, tmp_path, monkeypatch):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    names = [f"f{n}.txt" for n in range(5)]
    for name in names:
        (src / name).write_text(name)
    window = make_window([tmp_path], show=True)
    for folder in (tmp_path, src, dst):
        expand(window, qtbot, "disk", str(folder))
    model = window.tree_model
    updated = collections.Counter()
    real_update = model.update
    monkeypatch.setattr(model, "update", lambda index: (updated.update([index.data(ADDRESS_ROLE)]), real_update(index)))
    with qtbot.waitSignal(window.transfer_queue.transferFinished, timeout=30_000) as finished:
        assert _drop(window, [src / n for n in names], dst, Qt.DropAction.MoveAction)
    assert finished.args[0].done == len(names)

    def listed(folder):
        index = model.find("disk", str(folder))
        return sorted(model.index(r, 0, index).data() for r in range(model.rowCount(index)))

    qtbot.waitUntil(lambda: listed(dst) == names and listed(src) == [], timeout=10_000)
    assert updated[("disk", str(dst))] == 1 and updated[("disk", str(src))] == 1, updated
