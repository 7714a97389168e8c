"""An unexpected error in a slot is said to the user and the application goes on (PyQt6 aborts)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# A slot raises, then a later timer proves the event loop still runs; the process must exit
# by itself with status 0. With Python's own excepthook PyQt6 calls qFatal (SIGABRT).
_SCRIPT = textwrap.dedent(
    """
    import sys
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication
    from polystore_gui.qt.unexpected_errors import install

    app = QApplication(sys.argv[:1])
    install()

    def broken():
        raise ZeroDivisionError("a defect in a slot")

    def still_running():
        print("event loop still running", flush=True)
        app.quit()

    QTimer.singleShot(0, broken)
    QTimer.singleShot(50, still_running)
    sys.exit(app.exec())
    """
)


def test_an_error_in_a_slot_does_not_end_the_application(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "event loop still running" in done.stdout
    assert "ZeroDivisionError: a defect in a slot" in done.stderr  # the traceback is in the log


@pytest.mark.qt_no_exception_capture
def test_the_user_is_told_once_and_later_errors_are_counted(qtbot, make_window, tmp_path, monkeypatch):
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QMessageBox

    from polystore_gui.qt.unexpected_errors import UnexpectedErrors

    window = make_window([tmp_path], show=True)
    hook = UnexpectedErrors(window)
    monkeypatch.setattr(sys, "excepthook", hook)

    def broken(n):
        raise KeyError(f"missing thing {n}")

    QTimer.singleShot(0, lambda: broken(1))
    qtbot.waitUntil(lambda: hook.count == 1, timeout=5000)
    assert "Unexpected error: KeyError" in window.statusBar().currentMessage()
    boxes = [w for w in window.findChildren(QMessageBox) if w.objectName() == "unexpectedErrorBox"]
    assert len(boxes) == 1 and boxes[0].isVisible() and not boxes[0].isModal()
    assert "missing thing 1" in boxes[0].detailedText() and "Traceback" in boxes[0].detailedText()

    QTimer.singleShot(0, lambda: broken(2))
    QTimer.singleShot(0, lambda: broken(3))
    qtbot.waitUntil(lambda: hook.count == 3, timeout=5000)
    boxes = [w for w in window.findChildren(QMessageBox) if w.objectName() == "unexpectedErrorBox"]
    assert len(boxes) == 1  # not one box per error
    assert "2 more unexpected errors" in boxes[0].informativeText()
    assert "missing thing 3" in boxes[0].informativeText()
    assert window.isVisible()
    boxes[0].close()


class _RecordingWindow:
    """Stands for the main window: records on which thread the status bar was spoken to."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def statusBar(self):  # noqa: N802 - Qt's name
        return self

    def showMessage(self, text, msecs):  # noqa: N802 - Qt's name
        import threading

        self.threads.append(threading.current_thread().name)


def test_an_error_reported_from_a_worker_thread_is_said_on_the_gui_thread(qtbot):
    """PyQt calls ``sys.excepthook`` on the thread where a Qt virtual method raised (a
    QRunnable's ``run`` on a pool thread): widgets are spoken to from the GUI thread only."""
    import threading

    from polystore_gui.qt.unexpected_errors import UnexpectedErrors

    window = _RecordingWindow()
    hook = UnexpectedErrors(window)

    def on_a_worker():
        try:
            raise ValueError("a defect on a worker thread")
        except ValueError as exc:
            hook(type(exc), exc, exc.__traceback__)

    worker = threading.Thread(target=on_a_worker, name="a worker")
    worker.start()
    worker.join(10)
    qtbot.waitUntil(lambda: bool(window.threads), timeout=5000)
    assert hook.count == 1
    assert window.threads == [threading.main_thread().name]


@pytest.mark.qt_no_exception_capture
def test_a_closed_error_box_goes_and_the_next_error_gets_a_new_one(qtbot, make_window, tmp_path, monkeypatch):
    """Each closed box is let go (they were kept, one a burst of errors, for the window's
    life); a later error still gets its box."""
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QMessageBox

    from polystore_gui.qt.unexpected_errors import UnexpectedErrors

    window = make_window([tmp_path], show=True)
    hook = UnexpectedErrors(window)
    monkeypatch.setattr(sys, "excepthook", hook)

    def boxes():
        return [w for w in window.findChildren(QMessageBox) if w.objectName() == "unexpectedErrorBox"]

    def broken(n):
        raise KeyError(f"missing thing {n}")

    for n in (1, 2, 3):
        QTimer.singleShot(0, lambda n=n: broken(n))
        qtbot.waitUntil(lambda n=n: hook.count == n and any(b.isVisible() for b in boxes()), timeout=5000)
        (shown,) = [b for b in boxes() if b.isVisible()]
        assert f"missing thing {n}" in shown.text()
        shown.close()
        qtbot.waitUntil(lambda: not boxes(), timeout=5000)  # let go once closed
