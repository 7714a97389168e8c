"""Quitting while a background job is still running (napari's import a few seconds after
start on a loaded machine, a read on a hung mount): the app exits 0, its settings written.

The job abandoned at quit (``WorkerPool.wait``) kept its pool thread; when the interpreter
then finalized, that thread's next take of the interpreter lock ended it with
``pthread_exit``, whose forced unwind went through QThreadPool's ``catch (...)``: "FATAL:
exception not rethrown", exit 134. Here the job is made certain to be stuck (it never looks
at its cancel and takes the lock again every millisecond), so the order that crashed is
certain, not left to chance. Runs ``run_gui`` itself in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from qtpy.QtCore import QSettings

CODE = textwrap.dedent("""
    import atexit, sys, time
    from qtpy.QtCore import QTimer
    from polystore_gui.qt import app as gui_app

    atexit.register(lambda: print("ATEXIT RAN", flush=True))  # what a normal exit does still happens

    def stuck():
        while True:  # never stops: its cancel is not looked at
            time.sleep(0.001)

    real_start = gui_app.start_gui

    def start(*args, **kwargs):
        window = real_start(*args, **kwargs)
        window.workers.start(stuck)
        window.resize(777, 555)
        QTimer.singleShot(500, window.close)  # as the user closing it
        return window

    gui_app.start_gui = start
    sys.exit(gui_app.run_gui([sys.argv[1]]))
""")


def test_quitting_with_a_job_stuck_in_the_pool_exits_cleanly_with_the_settings_written(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    config = tmp_path / "config"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(config), HOME=str(tmp_path),
               QT_API="pyqt6", PYTHONFAULTHANDLER="1")
    process = subprocess.Popen([sys.executable, "-c", CODE, str(folder)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:  # never left behind, whatever failed
            process.kill()
            process.communicate()
    assert "FATAL" not in err and "Qt Concurrent has caught" not in err, err[-3000:]
    assert process.returncode == 0, err[-3000:]
    assert "abandoning 1 background job(s)" in err and "stuck" in err  # the case meant, and said
    assert "ATEXIT RAN" in out
    settings = QSettings(str(config / "polystore-gui" / "polystore-gui.conf"), QSettings.Format.NativeFormat)
    assert settings.value("window/geometry"), sorted(p.name for p in config.rglob("*"))
