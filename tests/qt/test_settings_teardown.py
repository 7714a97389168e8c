"""A settings write still under way when the QApplication is destroyed (the window closed,
then ``run_gui`` returns, or a script's local ``app`` goes): the write lands and nothing
touches a deleted QSettings.

PyQt's QApplication destructor first destroys every QObject that Python owns, from the GUI
thread; the writer thread's QSettings was one of them, so a write under way then failed
("wrapped C/C++ object of type QSettings has been deleted") or, deleted during its
``sync()``, crashed the process at exit (bench_transfers' gui case: 7 of 46 runs).

Each case runs in a fresh interpreter: the test's own QApplication must outlive the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from qtpy.QtCore import QSettings

# The writer is held inside its write (after setValue, before sync) until the QApplication
# is gone: the order that crashed, made certain instead of left to chance.
CODE = textwrap.dedent("""
    import json, logging, threading
    from qtpy.QtCore import QByteArray, QSettings
    from qtpy.QtWidgets import QApplication
    from polystore_gui.qt import settings_writes

    warnings = []
    logging.getLogger("polystore_gui.qt.settings_writes").addHandler(
        type("H", (logging.Handler,), {"emit": lambda self, r: warnings.append(r.getMessage())})())
    inside, release = threading.Event(), threading.Event()

    class Held(QSettings):
        def sync(self):
            inside.set()
            assert release.wait(30)
            super().sync()

    settings_writes.QSettings = Held

    def session():
        app = QApplication([])
        app.setOrganizationName("teardown-test")
        app.setApplicationName("teardown-test")
        settings_writes.write("window/geometry", QByteArray(b"saved at close"))
        assert inside.wait(30)
    session()  # its app is destroyed here, with the write under way
    assert QApplication.instance() is None
    release.set()
    written = settings_writes.flush(30)
    print("RESULT " + json.dumps({"written": written, "warnings": warnings,
                                  "file": QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                                                    "teardown-test", "teardown-test").fileName()}))
""")


def test_a_write_under_way_when_the_application_is_destroyed_still_lands(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), QT_API="pyqt6",
               PYTHONFAULTHANDLER="1")
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, (done.stdout, done.stderr[-3000:])
    result = json.loads(line[0][len("RESULT "):])
    assert result["written"]
    assert result["warnings"] == [], result["warnings"]  # no "could not be written ... has been deleted"
    assert result["file"].startswith(str(tmp_path))
    assert QSettings(result["file"], QSettings.Format.NativeFormat).value("window/geometry") == b"saved at close"


def _fake_session(monkeypatch, exec_):
    """``run_gui``'s application and window replaced by stand-ins: the event loop is
    ``exec_()`` (its status), the window has nothing to shut down; returns the app module."""
    from polystore_gui.qt import app as gui_app
    from polystore_gui.qt import unexpected_errors

    class Signal:
        def connect(self, _slot):
            pass

    class App:
        aboutToQuit = Signal()

        def exec(self):
            return exec_()

    class Window:
        def shutdown(self):
            pass

    monkeypatch.setattr(gui_app, "_application", App)
    monkeypatch.setattr(gui_app, "start_gui", lambda *a, **k: Window())
    monkeypatch.setattr(unexpected_errors, "install", lambda _window: None)
    return gui_app


def test_quitting_the_app_writes_the_closing_windows_settings_before_the_application_goes(monkeypatch):
    """``run_gui``: the event loop ends (the window closed, its layout written), then every
    settings write is waited for, then the function returns and the QApplication goes."""
    from polystore_gui.qt import settings_writes

    order: list[str] = []
    gui_app = _fake_session(monkeypatch, lambda: order.append("event loop ended") or 0)
    real_flush = settings_writes.flush
    monkeypatch.setattr(settings_writes, "flush", lambda *a: order.append("settings written") or real_flush(*a))
    assert gui_app.run_gui(["/nowhere"]) == 0
    assert order == ["event loop ended", "settings written"]


def test_a_job_abandoned_before_the_session_does_not_end_the_process(monkeypatch):
    """``run_gui`` ends the process itself only when quitting *its own* session abandoned a
    job: a pool abandoned earlier in the same process (another window's, in a test run) is
    not a reason. It was: the test run's process ended, status 0, a fifth of the way through."""
    from polystore_gui.qt import workers

    quit_abandons: list[bool] = []

    def event_loop():
        if quit_abandons:  # this session's quit abandons a job
            workers._ABANDONED.append(object())
        return 0

    ended: list[int] = []
    monkeypatch.setattr(workers, "_ABANDONED", [object()])  # abandoned before this session
    gui_app = _fake_session(monkeypatch, event_loop)
    monkeypatch.setattr(gui_app, "_end_process", ended.append)
    assert gui_app.run_gui(["/nowhere"]) == 0
    assert ended == []
    quit_abandons.append(True)  # and one abandoned by this session's own quit does end it
    gui_app.run_gui(["/nowhere"])
    assert ended == [0]
