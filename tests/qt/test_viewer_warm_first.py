"""The first preview pays no first-time cost of the viewer, however it was built (issue 17).

A preview that asks for the viewer (``build()``, ``start()``) before the build ahead is done
gets a canvas warmed as the build ahead's is (its programs linked by tiny layers, drawn
small, then removed) before ``ready``; and either way the canvas is drawn once at the size it
will be shown at, so that showing it for the first preview resizes nothing.
"""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QEvent, QObject

from .helpers import preview_panel, start_viewer

pytestmark = pytest.mark.gl

if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
    pytestmark = [pytest.mark.gl, pytest.mark.skip(reason="napari needs OpenGL: run under xvfb-run (make test)")]


class _Resizes(QObject):
    """Counts the resize events a widget receives once ``shown()`` is true (a
    ``QOpenGLWidget`` redraws in each, inside the turn that delivers it)."""

    def __init__(self, shown) -> None:
        super().__init__()
        self.shown = shown
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Resize and self.shown():
            self.count += 1
        return False


def _programs_left(pane) -> int:
    """How many of the shown layers' shader programs are still to be built (vispy builds
    them at a visual's first draw: Python code generation, then the GL compile and link)."""
    canvas = pane.qt_viewer.canvas
    left = 0
    for layer in pane.viewer.layers:
        node = canvas.layer_to_visual[layer].node
        left += sum(bool(p._need_build) for p in node.shared_program._programs.values())
    return left


def _record_warm_up(pane, seen: list[tuple[str, object]]) -> None:
    """Once napari is imported: note each layer inserted, with the pane's page at that time."""

    def hook() -> None:
        pane._model.layers.events.inserted.connect(
            lambda event: seen.append((event.value.name, pane._stack.currentWidget())))

    pane.imported.connect(hook)


def test_an_asked_for_build_is_warmed_before_ready_and_the_user_sees_no_warm_up(qtbot, demo_dir):
    with preview_panel(qtbot, 800, 600) as panel:
        pane = panel.viewer
        waiting_page = pane._stack.widget(0)
        seen: list[tuple[str, object]] = []
        _record_warm_up(pane, seen)
        panel.stack.setCurrentWidget(pane)  # as a preview waiting for the viewer shows it
        with qtbot.waitSignal(pane.ready, timeout=120_000):
            pane.build()  # a preview asks before anything was built ahead
        names = [name for name, _page in seen]
        assert names == ["warm-up image", "warm-up heat map"]
        # Meanwhile the pane said "Starting…": the tiny layers were never on screen.
        assert all(page is waiting_page for _name, page in seen)
        assert pane.is_ready and len(pane.viewer.layers) == 0  # they are gone by ready
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        assert [layer.name for layer in pane.viewer.layers] == ["plain"]
        assert pane.qt_viewer.canvas.native.isVisible()


def test_a_build_asked_during_the_build_ahead_is_warmed_before_ready(qtbot):
    with preview_panel(qtbot, 800, 600) as panel:
        pane = panel.viewer
        seen: list[tuple[str, object]] = []
        _record_warm_up(pane, seen)
        pane.stateChanged.connect(lambda state: state.value == "building" and pane.build())
        with qtbot.waitSignal(pane.ready, timeout=120_000):
            pane.start(build=False)  # the window's start-up: built ahead, then a click asks
        assert [name for name, _page in seen] == ["warm-up image", "warm-up heat map"]
        assert len(pane.viewer.layers) == 0


@pytest.mark.parametrize("ahead", [True, False], ids=["built ahead", "asked for"])
def test_the_first_preview_finds_the_canvas_at_its_real_size(qtbot, demo_dir, ahead):
    """Laid out and drawn at its real size while hidden: showing it for the first preview
    resizes nothing (no full-size redraws inside the turn that shows the first frame)."""
    with preview_panel(qtbot, 900, 640) as panel:
        pane = panel.viewer
        start_viewer(qtbot, pane, ahead=ahead)  # asked for: as the remote benchmark does
        assert panel.stack.currentWidget() is not pane  # still hidden
        native = pane.qt_viewer.canvas.native
        resizes = _Resizes(lambda: panel.stack.currentWidget() is pane)  # from the switch to it on
        native.installEventFilter(resizes)
        at_switch = []  # whether the layer's shader programs were left to build when it was shown
        panel.stack.currentChanged.connect(lambda _i: at_switch.append(_programs_left(pane)))
        with qtbot.waitSignal(panel.previewShown, timeout=30_000):
            panel.request("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
        qtbot.waitUntil(lambda: native.isVisible() and pane.viewer.layers[0].loaded, timeout=30_000)
        native.removeEventFilter(resizes)
        assert resizes.count == 0
        assert at_switch == [0]  # its first frame was drawn before: the showing turn only paints
        assert native.width() > 300 and native.height() > 300  # its real size, not the warm-up's
