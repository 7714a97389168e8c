"""A menu closed over the window leaves nothing of itself behind (X11 without a compositor)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gl  # needs a real X server: Xvfb sends the uncover's Expose events


def _window_with_a_counted_label(qtbot):
    from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

    class CountedLabel(QLabel):
        paints = 0

        def paintEvent(self, event):  # noqa: N802 (Qt's name)
            CountedLabel.paints += 1
            super().paintEvent(event)

    window = QWidget()
    layout = QVBoxLayout(window)
    under = CountedLabel("where the menu opens")
    under.setMinimumHeight(200)
    layout.addWidget(under)
    layout.addWidget(QLabel("far from the menu"))
    window.resize(500, 400)
    window.move(0, 0)
    qtbot.addWidget(window)
    return window, under, CountedLabel


def test_what_a_closed_menu_uncovers_is_repainted_and_a_first_show_is_not_counted(qtbot):
    from qtpy.QtCore import QPoint
    from qtpy.QtWidgets import QApplication, QMenu

    from polystore_gui.qt.expose_repair import repaint_on_uncover

    window, under, counted = _window_with_a_counted_label(qtbot)
    watch = repaint_on_uncover(window)  # before its native window exists, as the app does it
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: counted.paints > 0)
    assert watch.repaints == 0  # mapping the window is Qt's own full paint, not an uncover

    menu = QMenu(window)
    for n in range(6):
        menu.addAction(f"item {n}")
    menu.popup(window.mapToGlobal(QPoint(10, 10)))
    qtbot.waitExposed(menu)
    QApplication.processEvents()
    before = counted.paints
    menu.close()
    # The X server asks the window to redraw what the menu covered: the widgets there are
    # repainted (Qt alone only flushes its backing store, which a GL-composed window's
    # raster parts did not get right: a strip of the menu stayed on screen).
    qtbot.waitUntil(lambda: watch.repaints >= 1, timeout=10_000)
    qtbot.waitUntil(lambda: counted.paints > before, timeout=10_000)
    assert watch.repaints == 1  # one uncover, one repair
