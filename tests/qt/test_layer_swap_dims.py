"""A preview that replaces another keeps napari's dims between the two (issue 19).

napari resets its dims to 2-D when its layer list empties (its slider widgets taken down,
20-30 ms of GUI time) and the next preview's first layer shapes them again (its sliders
rebuilt, another 20 ms): for two 3-D arrays one after another, both for nothing. The old
layers' removal now leaves the dims as they are; the next preview's first layer gives
them its own shape; only a clear that nothing follows empties them, in a turn of its own.
"""

from __future__ import annotations

import numpy as np
import pytest

from .test_preview import panel, pytestmark  # noqa: F401  (a started preview panel; needs GL)


@pytest.fixture
def arrays(tmp_path):
    import zarr

    shapes = {"a": (6, 64, 64), "b": (9, 48, 80), "flat": (64, 64), "four": (2, 3, 32, 32)}
    for name, shape in shapes.items():
        array = zarr.create_array(str(tmp_path / f"{name}.zarr"), shape=shape, chunks=shape, dtype="uint8")
        array[...] = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape) % 251
    return tmp_path


def show(qtbot, panel, path):
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        panel.request("zarr", str(path))


def test_a_preview_replacing_one_of_the_same_dimensions_keeps_the_sliders(qtbot, panel, arrays):
    """Between two 3-D arrays the sliders are never taken down nor rebuilt, and the new
    array's slider spans its own planes, at its middle one."""
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    show(qtbot, panel, arrays / "a.zarr")
    sliders = list(qt_viewer.dims.slider_widgets)
    shapes = []
    viewer.dims.events.ndim.connect(lambda e: shapes.append(e.value))
    show(qtbot, panel, arrays / "b.zarr")
    assert shapes == []
    assert list(qt_viewer.dims.slider_widgets) == sliders
    assert [layer.data.shape for layer in viewer.layers] == [(9, 48, 80)]
    assert viewer.dims.nsteps[0] == 9 and viewer.dims.current_step[0] == 4
    assert viewer.layers[0].visible


@pytest.mark.parametrize("first, second", [("a", "flat"), ("flat", "four"), ("four", "a")])
def test_a_preview_of_other_dimensions_reshapes_the_dims_once(qtbot, panel, arrays, first, second):
    """From one shape to another the dims go straight to the new one (never through 2-D
    on the way), one slider per dimension of the new array."""
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    show(qtbot, panel, arrays / f"{first}.zarr")
    shapes = []
    viewer.dims.events.ndim.connect(lambda e: shapes.append(e.value))
    show(qtbot, panel, arrays / f"{second}.zarr")
    ndim = viewer.layers[0].ndim
    assert shapes == [ndim]
    assert viewer.dims.ndim == ndim == len(qt_viewer.dims.slider_widgets)


def test_a_clear_that_nothing_follows_empties_the_dims(qtbot, panel, arrays):
    """With no preview after it (a folder selected, an error shown), the viewer ends as
    napari leaves an empty one: 2-D, no slider left of the old array."""
    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    show(qtbot, panel, arrays / "four.zarr")
    panel.viewer.clear()
    qtbot.waitUntil(lambda: not panel.viewer.steps_running(), timeout=10_000)
    assert len(viewer.layers) == 0
    assert viewer.dims.ndim == 2 and len(qt_viewer.dims.slider_widgets) == 2
    assert len(viewer.cursor.position) == 2


def test_a_removed_layer_no_longer_reshapes_the_viewer(qtbot, panel, arrays):
    """The old layers are disconnected from the viewer as napari's own removal does: a
    change to one afterwards (its data, its scale) leaves the new preview's dims alone."""
    viewer = panel.viewer.viewer
    show(qtbot, panel, arrays / "four.zarr")
    old = viewer.layers[0]
    show(qtbot, panel, arrays / "a.zarr")
    old.scale = (1, 1, 3, 3)
    old.data = np.zeros((5, 5, 7, 7, 7), np.uint8)
    assert viewer.dims.ndim == 3
    assert viewer.dims.nsteps[0] == 6


def test_a_swap_keeps_the_canvas_size(qtbot, panel, arrays):
    """The old layer's controls going and the new one's coming used to narrow napari's
    side panel to its first width and widen it again: the canvas was resized (and redrawn
    whole, in software GL) twice per preview. Between two previews it keeps its size."""
    from qtpy.QtCore import QCoreApplication, QEvent, QObject

    qt_viewer = panel.viewer.qt_viewer
    show(qtbot, panel, arrays / "four.zarr")
    show(qtbot, panel, arrays / "a.zarr")  # a 3-D array: one slider under the canvas
    canvas = qt_viewer.canvas.native
    resizes = []

    class Resizes(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Resize:
                resizes.append((event.oldSize(), event.size()))
            return False

    watcher = Resizes(canvas)
    canvas.installEventFilter(watcher)
    size = canvas.size()
    for name in ("b", "a", "b"):  # the same number of sliders: nothing to resize for
        show(qtbot, panel, arrays / f"{name}.zarr")
        QCoreApplication.sendPostedEvents()  # the layout requests the swap queued, delivered
        QCoreApplication.processEvents()
    canvas.removeEventFilter(watcher)
    assert resizes == []
    assert canvas.size() == size


def test_the_event_loop_turns_between_two_steps_of_a_preview(qtbot, panel, arrays):
    """Each step of a preview's layers runs in an event-loop turn of its own: a timer due
    when one step ends (the window's own, an animation, what the user's input started)
    runs before the next step. Chained as 0 ms calls (Qt's posted events, delivered before
    the timers of the same turn), two steps ran back to back: a 15 ms step followed by a
    25 ms one was a 40 ms stall. Here: a timer started as the layer is inserted fires
    before the next step builds the layer's visual."""
    from qtpy.QtCore import QTimer

    viewer, qt_viewer = panel.viewer.viewer, panel.viewer.qt_viewer
    show(qtbot, panel, arrays / "a.zarr")
    seen = []
    timer = QTimer()
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(lambda: seen.append([layer in qt_viewer.canvas.layer_to_visual for layer in viewer.layers]))
    viewer.layers.events.inserted.connect(lambda _e: timer.start())
    show(qtbot, panel, arrays / "b.zarr")
    assert seen == [[False]]  # inserted, its visual not built yet
    assert set(qt_viewer.canvas.layer_to_visual) == set(viewer.layers)
