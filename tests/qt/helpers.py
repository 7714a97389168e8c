"""Small helpers for driving the backend tree in tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from qtpy.QtCore import QEvent, QObject

from polystore_gui.qt.tree_model import ADDRESS_ROLE, ROW_KIND_ROLE, State


class PaintCounter(QObject):
    """Counts the paint events of the widgets it watches (``count``): whether a change was
    painted at once, inside a call, or later by the event loop (see qt/painted_later.py).

    It is a child of the first widget, so Qt deletes it with the widgets, on the GUI thread,
    never at a garbage collection that happens to run on a worker thread."""

    def __init__(self, widgets) -> None:
        super().__init__(widgets[0])
        self.count = 0
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def expand(window, qtbot, backend, path, timeout=15_000):
    """Expand the row (backend, path) through the view and wait until its rows are all in."""
    model = window.tree_model
    qtbot.waitUntil(lambda: model.find(backend, path).isValid(), timeout=timeout)
    index = model.find(backend, path)
    window.tree.expand(window.proxy.mapFromSource(index))
    if model.canFetchMore(index):
        model.fetchMore(index)
    node = model.node(index)
    qtbot.waitUntil(lambda: node.state in (State.LISTED, State.FAILED) and node.job is None, timeout=timeout)
    return index


def child_rows(model, index):
    """[(name, row_kind, (backend, path))] of the rows under index."""
    return [
        (
            model.index(r, 0, index).data(),
            model.index(r, 0, index).data(ROW_KIND_ROLE),
            model.index(r, 0, index).data(ADDRESS_ROLE),
        )
        for r in range(model.rowCount(index))
    ]


def inspect_and_show(qtbot, window, path):
    """Inspect the zarr array ``path`` with its preview on the canvas; napari's viewer once
    the chunk overlay's layers are drawn (the window's napari viewer must be started)."""
    window.set_inspector_visible(True)
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=30_000):
        with qtbot.waitSignal(window.preview.previewShown, timeout=30_000) as shown:
            window.preview.request("zarr", str(path))
            window.inspector.inspect("zarr", str(path))
    window._on_preview_shown(shown.args[0])
    qtbot.waitUntil(lambda: window.overlay._layer("chunk overlay") is not None and window.overlay.settled(),
                    timeout=10_000)
    return window.preview.viewer.viewer


def overlay_settled(qtbot, window, timeout=10_000):
    """Wait until the chunk overlay shows what it was last asked (its raster is built in a
    worker, and its layer added in turns): for a test that then reads the layer."""
    qtbot.waitUntil(window.overlay.settled, timeout=timeout)


@contextlib.contextmanager
def preview_panel(qtbot, width: int, height: int, *, start: bool = False,
                  before_show: Callable | None = None) -> Iterator:
    """A PreviewPanel with its own WorkerPool, shown at ``width`` × ``height`` and exposed;
    with ``start`` its napari viewer is started and ready. ``before_show(panel, workers)``
    builds what must exist before it shows (e.g. the exact statistics). On leaving, its
    jobs are cancelled and waited for, and its preview, viewer and window are closed."""
    from polystore_gui.qt.preview_panel import PreviewPanel
    from polystore_gui.qt.workers import WorkerPool

    workers = WorkerPool()
    panel = PreviewPanel(workers)
    qtbot.addWidget(panel)
    if before_show is not None:
        before_show(panel, workers)
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    try:
        if start:
            with qtbot.waitSignal(panel.viewer.ready, timeout=120_000):
                panel.viewer.start()
        yield panel
    finally:
        workers.cancel_all(close=True)
        workers.wait(30_000)
        panel.close_preview()
        panel.viewer.close_viewer()
        panel.close()


def start_viewer(qtbot, pane, *, ahead: bool) -> None:
    """Start ``pane``'s viewer and wait for its warm-up's end: built ahead as at the window's
    start-up (``prepared``), or asked for by a preview (``ready``, warmed before it)."""
    if ahead:
        with qtbot.waitSignal(pane.prepared, timeout=120_000):
            pane.start(build=False)
    else:
        with qtbot.waitSignal(pane.ready, timeout=120_000):
            pane.start()
