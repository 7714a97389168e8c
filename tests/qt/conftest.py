"""Qt fixtures: a window-leak guard in the spirit of ndv's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_windows(qapp):
    """Fail any test that leaves a visible top-level window behind."""
    yield
    leaked = [w for w in qapp.topLevelWidgets() if w.isVisible()]
    for w in leaked:
        w.close()
        w.deleteLater()
    assert not leaked, f"test left windows open: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def workers():
    """A WorkerPool of its own; its jobs cancelled and waited for after the test."""
    from polystore_gui.qt.workers import WorkerPool

    pool = WorkerPool()
    yield pool
    pool.cancel_all(close=True)
    pool.wait(10_000)


@pytest.fixture
def make_window(qtbot, discovery):
    """Build a MainWindow on given roots, with discovery already answered; shut it down after."""
    from polystore_gui.qt.main_window import MainWindow

    windows = []

    def _make(roots, *, discovered=True, show=False):
        window = MainWindow([str(r) for r in roots])
        qtbot.addWidget(window)
        if discovered:
            window.tree_model.set_discovery(discovery)
        if show:
            window.show()
            qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield _make
    for window in windows:
        window.shutdown()
        window.close()
    if windows:
        # Destroy what the windows scheduled for deletion (napari's GL canvas among them)
        # now, before the next test makes its own: a canvas torn down while another one
        # draws made Mesa crash in glDrawArrays (about one run in five).
        from qtpy.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


@pytest.fixture
def viewer_window(qtbot, make_window, demo_dir):
    """A shown window on the demo workspace, 1500x900, with its napari viewer started (needs GL)."""
    window = make_window([demo_dir], show=True)
    window.resize(1500, 900)
    with qtbot.waitSignal(window.preview.viewer.ready, timeout=120_000):
        window.preview.viewer.start()
    return window
