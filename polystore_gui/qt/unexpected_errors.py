"""An unexpected error in the GUI thread is said to the user; the application goes on.

PyQt6 aborts the whole process (``qFatal``) when a slot, a timer callback or a Qt virtual
method raises and ``sys.excepthook`` is still Python's own: the window vanishes, and with it
the transfers and conversions running. ``install`` puts a hook in its place that writes the
traceback to the log (stderr), says the error in the window's status bar, and shows one
non-modal box with the details (errors that come while it is open are counted in it, not
stacked). A Ctrl-C that reaches the hook quits the application as a terminal user expects.

Only the application installs it (``qt.app.run_gui``): under pytest-qt, its own hook turns
such errors into test failures.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)


class UnexpectedErrors:
    """The hook: one per application, speaking to one window (``None`` before it exists)."""

    def __init__(self, window: Any = None) -> None:
        self.window = window
        self.count = 0
        self._box: Any = None
        self._since_box = 0
        self._relay = _gui_relay(self._say)  # made on the GUI thread (install's)

    def __call__(self, kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            from qtpy.QtWidgets import QApplication

            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        self.count += 1
        details = "".join(traceback.format_exception(kind, error, tb))
        log.error("unexpected error (the application goes on):\n%s", details)
        # PyQt calls the hook on the thread where a Qt virtual method raised (a pool thread's
        # QRunnable.run too): the window is spoken to on the GUI thread only (queued from
        # another thread, at once on the GUI thread).
        try:
            self._relay.said.emit(f"{kind.__name__}: {error}", details)
        except Exception:  # never raise from the hook itself: PyQt would abort after all
            log.exception("the unexpected error could not be shown")

    def _say(self, summary: str, details: str) -> None:
        try:
            self._tell(summary, details)
        except Exception:  # never raise from here either: this is the hook's own slot
            log.exception("the unexpected error could not be shown")

    def _tell(self, summary: str, details: str) -> None:
        window = self.window
        if window is None:
            return
        window.statusBar().showMessage(f"Unexpected error: {summary} (the application goes on; details in the log)",
                                       30_000)
        if self._box is not None and not _deleted(self._box) and self._box.isVisible():
            self._since_box += 1
            self._box.setInformativeText(f"{self._since_box} more unexpected error"
                                         f"{'s' if self._since_box != 1 else ''} since; the last: {summary}")
            return
        from qtpy.QtCore import Qt
        from qtpy.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Warning, "Unexpected error",
                          f"Something went wrong inside polystore-gui: {summary}\n\n"
                          "The application goes on; nothing was deleted. What you were doing may "
                          "not have finished: check it, and please report this with the details.",
                          QMessageBox.StandardButton.Close, window)
        box.setDetailedText(details)
        box.setModal(False)
        box.setObjectName("unexpectedErrorBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # not kept for the window's life once closed
        self._box = box
        self._since_box = 0
        box.show()


def _deleted(widget: Any) -> bool:
    from qtpy import sip

    return bool(sip.isdeleted(widget))


def _gui_relay(say: Any) -> Any:
    """A QObject of the thread that makes it (the GUI thread) whose ``said(summary, details)``
    calls ``say`` there, whatever thread emits it."""
    from qtpy.QtCore import QObject, Signal

    class _Relay(QObject):
        said = Signal(str, str)

        def on_said(self, summary: str, details: str) -> None:
            say(summary, details)

    relay = _Relay()
    relay.said.connect(relay.on_said)
    return relay


def install(window: Any = None) -> UnexpectedErrors:
    """Make ``sys.excepthook`` the application's (returns it; ``.window`` may be set later)."""
    hook = UnexpectedErrors(window)
    sys.excepthook = hook
    return hook


__all__ = ["UnexpectedErrors", "install"]
