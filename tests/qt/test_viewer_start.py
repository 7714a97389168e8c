"""The embedded viewer gets built however the start-up and the first preview interleave.

napari's import starts 0.4 s after the tree fills (``start(build=False)``), and the first
array previewed asks for the viewer (``build()``): whichever comes first, the viewer is
built, and a failure is said in the pane with a Retry that works.
"""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QCoreApplication, QEvent, Qt

from polystore_gui.qt import napari_view
from polystore_gui.qt.napari_view import ViewerPane, ViewerState
from polystore_gui.qt.workers import WorkerPool

from .helpers import expand, preview_panel

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


@pytest.fixture
def pane(qtbot):
    workers = WorkerPool()
    pane = ViewerPane(workers)
    qtbot.addWidget(pane)
    pane.resize(700, 500)
    pane.show()
    qtbot.waitExposed(pane)
    yield pane
    workers.cancel_all(close=True)
    workers.wait(30_000)
    pane.close_viewer()
    pane.close()


def test_a_build_asked_before_the_import_starts_is_kept(qtbot, pane):
    # The first preview asks for the viewer; the start-up's own start comes after it.
    pane.build()
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.start(build=False)
    assert pane.state is ViewerState.BUILT and pane.is_ready and pane.viewer is not None


def test_a_build_asked_while_napari_imports_is_kept(qtbot, pane):
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.start(build=False)
        assert pane.state is ViewerState.IMPORTING
        pane.build()
        pane.start(build=False)  # again: never takes the build back
    assert pane.is_ready


def test_a_failed_start_says_why_and_retry_builds_the_viewer(qtbot, pane, monkeypatch):
    real = napari_view._import_napari
    monkeypatch.setattr(napari_view, "_import_napari", lambda: (_ for _ in ()).throw(ImportError("no module named napari.qt")))
    with qtbot.waitSignal(pane.failed, timeout=60_000) as blocker:
        pane.build()
    assert "no module named napari.qt" in blocker.args[0]
    assert pane.state is ViewerState.FAILED
    assert "could not start" in pane.message and "no module named napari.qt" in pane.message
    assert pane.retry_button.isVisible()
    pane.build()  # another preview asks again: remembered, the pane still says why
    assert pane.state is ViewerState.FAILED
    monkeypatch.setattr(napari_view, "_import_napari", real)
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        qtbot.mouseClick(pane.retry_button, Qt.MouseButton.LeftButton)
    assert pane.is_ready and not pane.retry_button.isVisible()


def test_an_ome_zarr_image_selected_right_after_start_shows_in_the_viewer(qtbot, demo_dir, monkeypatch):
    """Started as ``polystore-gui`` starts (demo workspace already there), an OME-Zarr image
    selected as soon as its row exists shows as multiscale layers."""
    from polystore_gui.qt.app import start_gui
    from polystore_gui.qt.main_window import MainWindow

    # napari's import starts this long after the tree fills: the selection below comes
    # first, the order in which the viewer used to stay unbuilt for ever.
    monkeypatch.setattr(MainWindow, "VIEWER_IMPORT_DELAY_MS", 3000)
    window = start_gui([], demo_dir=str(demo_dir))
    try:
        model = window.tree_model
        stores = demo_dir / "stores"
        qtbot.waitUntil(lambda: model.find("disk", str(demo_dir)).isValid(), timeout=60_000)
        expand(window, qtbot, "disk", str(demo_dir))
        expand(window, qtbot, "disk", str(stores))
        store = model.find("disk", str(stores / "experiment.zarr"))
        window.tree.expand(window.proxy.mapFromSource(store))
        image = str(stores / "experiment.zarr" / "image")

        def image_row():
            node_index = model.find("zarr", image)
            return node_index if node_index.isValid() else model.find("ome_zarr", image)

        qtbot.waitUntil(lambda: image_row().isValid(), timeout=30_000)
        window.tree.setCurrentIndex(window.proxy.mapFromSource(image_row()))
        assert window.preview.viewer.state is not ViewerState.BUILT
        qtbot.waitUntil(lambda: any(getattr(layer, "multiscale", False) for layer in window.preview.shown_layers),
                        timeout=120_000)
        layers = window.preview.viewer.viewer.layers
        assert all(layer in layers for layer in window.preview.shown_layers)
        assert window.preview.stack.currentWidget() is window.preview.viewer
        assert window.preview.title.toolTip().endswith(image)
    finally:
        window.shutdown()
        window.close()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


def test_the_self_test_says_at_once_when_napari_cannot_start(tmp_path):
    """A napari that cannot be imported: --self-test reports it (not a 180 s timeout)."""
    import json
    import subprocess
    import sys
    import time

    broken = tmp_path / "site"
    (broken / "napari").mkdir(parents=True)
    # It fails while the demo workspace is being made (its maker silences ome-zarr with
    # redirect_stdout, in a worker): the report must still reach stdout.
    (broken / "napari" / "__init__.py").write_text(
        "import io, sys, time\n"
        "deadline = time.monotonic() + 10\n"
        "while not isinstance(sys.stdout, io.StringIO) and time.monotonic() < deadline:\n"
        "    time.sleep(0.005)\n"
        "raise ImportError('this napari is broken on purpose')\n")
    env = dict(os.environ, PYTHONPATH=str(broken), POLYSTORE_GUI_DEMO_DIR=str(tmp_path / "demo"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"), NAPARI_CONFIG=str(tmp_path / "napari.yaml"))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "polystore_gui", "--self-test"], env=env, capture_output=True,
                          text=True, timeout=150)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stdout.strip(), done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is False
    assert "napari viewer could not start" in report["reason"] and "broken on purpose" in report["reason"]
    assert time.monotonic() - started < 120


class _FakeApp:
    """Stands in for the QApplication that --self-test exits (the test's loop must go on)."""

    def __init__(self):
        self.codes = []

    def exit(self, code):
        self.codes.append(code)


def test_the_self_test_report_reaches_stdout_while_a_worker_redirects_it(make_window, qtbot, capfd, monkeypatch):
    """The demo is made in a worker inside contextlib.redirect_stdout (ome-zarr's notes): that
    swaps sys.stdout for every thread, and the report printed meanwhile was lost."""
    import contextlib
    import io
    import json

    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.app import _self_test

    fake = _FakeApp()
    window = make_window([])
    with monkeypatch.context() as patched:  # only while the self-test takes its application
        patched.setattr(QApplication, "instance", staticmethod(lambda: fake))
        _self_test(window)
    swallowed = io.StringIO()
    with contextlib.redirect_stdout(swallowed):  # what the demo's worker does meanwhile
        window.preview.viewer.failed.emit("no GL here")
    out = capfd.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    assert report == {"ok": False, "reason": "the napari viewer could not start: no GL here"}
    assert fake.codes == [1] and swallowed.getvalue() == ""


@pytest.mark.parametrize("step", ["before the side", "before the body shows", "closed, not destroyed"])
def test_a_pane_destroyed_mid_build_is_never_called_back(qtbot, step):
    """The canvas is built over a few event-loop turns; a window closed and destroyed in
    between (a test's teardown, a quick quit) must not have the rest run on deleted widgets
    ("wrapped C/C++ object of type QStackedWidget has been deleted")."""
    from qtpy import sip
    from qtpy.QtCore import QTimer

    workers = WorkerPool()
    pane = ViewerPane(workers)
    pane.resize(700, 500)
    pane.show()
    qtbot.waitExposed(pane)
    destroyed, after = [], []
    orphans = []

    def destroy():
        orphans.append(pane.qt_viewer)
        if step == "closed, not destroyed":  # quitting closes the viewer before the window goes
            pane.close_viewer()
        else:
            sip.delete(pane)  # the window's DeferredDelete, now
        destroyed.append(True)
        # Zero-delay timers fire in the order they were started: this one comes after any
        # step the pane had queued, so when it runs the pane's steps had their chance.
        QTimer.singleShot(0, lambda: after.append(True))

    if step in ("before the side", "closed, not destroyed"):
        # Queued before _build_canvas queues _build_side: runs first, the next step then finds no pane.
        pane.stateChanged.connect(lambda state: state is ViewerState.BUILDING and QTimer.singleShot(0, destroy))
    else:
        real_build_side = pane._build_side

        def build_side_then_destroy():
            QTimer.singleShot(0, destroy)  # queued first: runs before the _show_body step queued next
            real_build_side()

        pane._build_side = build_side_then_destroy
    try:
        with qtbot.captureExceptions() as exceptions:
            pane.build()
            qtbot.waitUntil(lambda: bool(after), timeout=120_000)
        assert destroyed
        assert [str(e[1]) for e in exceptions] == []
        if step == "closed, not destroyed":
            assert pane.state is ViewerState.CLOSED and not pane.is_ready
    finally:
        workers.cancel_all(close=True)
        workers.wait(30_000)
        for viewer in orphans:
            if viewer is not None and not sip.isdeleted(viewer):
                viewer.close()
                viewer.deleteLater()
        if not sip.isdeleted(pane):
            pane.close()
            pane.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_the_viewer_is_built_and_warmed_before_the_first_preview(qtbot, demo_dir):
    """After napari's import, with no preview asking, the Qt side is built ahead and warmed
    (an image's controls and visual made, the canvas's programs linked) in short turns; the
    first array previewed is then shown at once, with no build in between."""
    with preview_panel(qtbot, 800, 600) as panel:
        pane = panel.viewer
        with qtbot.waitSignal(pane.prepared, timeout=120_000):
            pane.start(build=False)  # as the window's start-up does
        assert pane.is_ready and len(pane.viewer.layers) == 0  # the warm-up's layers are gone
        assert panel.stack.currentWidget() is panel.message  # nothing shown to the user yet
        assert pane.qt_viewer.canvas.native.isValid()  # its GL context made, while hidden
        states = []
        pane.stateChanged.connect(states.append)
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        assert states == []  # no build on the way to the first preview
        assert [layer.name for layer in pane.viewer.layers] == ["plain"]
        assert panel.stack.currentWidget() is pane


def test_a_preview_during_the_warm_up_takes_over(qtbot, demo_dir):
    with preview_panel(qtbot, 800, 600) as panel:
        pane = panel.viewer
        prepared = []
        pane.prepared.connect(lambda: prepared.append(True))
        with qtbot.waitSignal(pane.ready, timeout=120_000):
            pane.start(build=False)
        qtbot.waitUntil(lambda: len(pane.viewer.layers) > 0, timeout=30_000)  # the warm-up is under way
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        qtbot.waitUntil(lambda: pane.viewer.layers[0].loaded, timeout=30_000)
        assert [layer.name for layer in pane.viewer.layers] == ["plain"]
        assert prepared == []  # the warm-up stopped
