"""The backend tree's view: Qt's QTreeView, except that the focus alone never picks a row.

A QAbstractItemView with no current row makes its first row current when it gets the focus
(other than by a mouse click). A click on a window that is not active activates it first,
which gives the tree the focus for that reason; so a click on the empty space below the rows
made the first row (bioformats) current, and the window previewed it. A file browser selects
nothing there. Keyboard focus (Tab, Shift+Tab, a shortcut) keeps Qt's behaviour, so that the
arrow keys start from the first row.
"""

from __future__ import annotations

from qtpy.QtCore import QSignalBlocker, Qt
from qtpy.QtGui import QFocusEvent
from qtpy.QtWidgets import QTreeView

KEYBOARD_FOCUS = (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason,
                  Qt.FocusReason.ShortcutFocusReason)


class BackendTreeView(QTreeView):
    """The window's tree of backends and their rows (see the module's docstring)."""

    def focusInEvent(self, event: QFocusEvent | None) -> None:  # noqa: N802 (Qt override)
        selection = self.selectionModel()
        if (selection is None or event is None or self.currentIndex().isValid()
                or event.reason() in KEYBOARD_FOCUS):
            super().focusInEvent(event)
            return
        # Qt's handler runs (it repaints the focus), but the row it makes current is undone
        # before anyone hears of it: the current row stays none.
        blocker = QSignalBlocker(selection)
        try:
            super().focusInEvent(event)
            selection.clearCurrentIndex()
        finally:
            blocker.unblock()
