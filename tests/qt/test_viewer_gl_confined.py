"""napari's OpenGL canvas is composed inside the viewer pane's own native window (issue 19).

A ``QOpenGLWidget`` added to a window whose surface is raster makes Qt recreate that
window's native window as an OpenGL one, repaint all of it and compose every later repaint
of every widget through OpenGL. With the canvas built ahead at start-up, that recreation
and its first composition were the start-up's longest stall (one 118-168 ms turn between
the build's turns), and every repaint of the tree, a progress bar or the filter went
through software GL afterwards. The viewer pane now has a native window of its own: the
canvas recreates and composes that one alone, and the main window stays as it was shown.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtGui import QSurface
from qtpy.QtWidgets import QWidget

from .test_viewer_start import pytestmark  # noqa: F401  (needs GL)


def _native(widget: QWidget) -> bool:
    return widget.windowHandle() is not None


def test_building_the_viewer_keeps_the_main_window_as_it_was_shown(qtbot, make_window, demo_dir, tmp_path):
    window = make_window([demo_dir], show=True)
    window.resize(1200, 800)
    shown_as = int(window.winId())  # the X window the user sees
    pane = window.preview.viewer
    with qtbot.waitSignal(pane.ready, timeout=120_000):
        pane.start()
    path = tmp_path / "plane.npy"
    np.save(path, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    with qtbot.waitSignal(window.preview.previewShown, timeout=30_000):
        window.preview.request("disk", str(path))
    qtbot.waitUntil(lambda: pane.qt_viewer.canvas.native.isVisible(), timeout=10_000)
    qtbot.waitExposed(pane)

    # The same native window, still composed without OpenGL: nothing outside the pane is
    # repainted or composed through GL because the canvas came.
    assert int(window.winId()) == shown_as
    assert window.windowHandle().surfaceType() == QSurface.SurfaceType.RasterSurface
    # The pane composes the canvas in a native window of its own...
    assert _native(pane)
    assert pane.windowHandle().surfaceType() == QSurface.SurfaceType.OpenGLSurface
    # ...and no other widget of the window got one (native siblings flicker and cost a flush each).
    others = [w.objectName() or type(w).__name__ for w in window.findChildren(QWidget)
              if _native(w) and w is not pane and not pane.isAncestorOf(w) and not w.isWindow()]
    assert others == []
    # The canvas draws the preview.
    frame = pane.qt_viewer.canvas.native.grabFramebuffer()
    assert not frame.isNull() and frame.width() > 0


def _drop_target(window: QWidget, widget: QWidget) -> QWidget | None:
    """The widget a drop at ``widget``'s centre goes to, found as Qt finds it (the widget
    under the cursor, else the first of its parents that accepts drops; a native child's
    window handing the drop up to its top-level's widgets the same way)."""
    pos = widget.mapTo(window, widget.rect().center())
    target = window.childAt(pos) or window
    while target is not None and not target.acceptDrops():
        target = target.parentWidget()
    return target


def test_a_folder_dropped_on_the_canvas_is_added_like_one_dropped_elsewhere(qtbot, viewer_window, tmp_path):
    """Dropping a folder onto the viewer's canvas adds it to the tree, as anywhere else in
    the window; napari's own viewer widget used to take the drop and try to open the folder
    as a napari layer (NoAvailableReaderError's traceback, nothing added)."""
    from qtpy.QtCore import QMimeData, QPoint, Qt, QUrl
    from qtpy.QtGui import QDragEnterEvent, QDropEvent
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.tree_model import ADDRESS_ROLE

    path = tmp_path / "plane.npy"
    np.save(path, np.zeros((16, 16), np.uint16))
    with qtbot.waitSignal(viewer_window.preview.previewShown, timeout=30_000):
        viewer_window.preview.request("disk", str(path))
    canvas = viewer_window.preview.viewer.qt_viewer.canvas.native
    centre = lambda: canvas.mapTo(viewer_window, canvas.rect().center())  # noqa: E731
    qtbot.waitUntil(lambda: canvas.isVisible() and viewer_window.childAt(centre()) is canvas, timeout=10_000)
    target = _drop_target(viewer_window, canvas)
    assert target is viewer_window, type(target).__name__
    folder = tmp_path / "dropped"
    folder.mkdir()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    at = QPoint(5, 5)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at, Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(target, QDropEvent(at.toPointF(), Qt.DropAction.CopyAction, mime, buttons, keys))
    model = viewer_window.tree_model
    disk = model.backend_index("disk")
    assert ("disk", str(folder)) in [model.index(r, 0, disk).data(ADDRESS_ROLE) for r in range(model.rowCount(disk))]
