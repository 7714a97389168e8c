"""The GL driver loaded ahead, off the GUI thread (issue 19).

The viewer's build opens a first OpenGL context on the GUI thread (``napari_build.open_gl``):
on X11 with Mesa that loaded the driver (``swrast_dri.so`` and LLVM: 32-64 ms of CPU in one
turn, the interpreter lock held all along). napari's import worker now loads it first through
its own GLX connection (``napari_build.preload_gl_driver``, ctypes calls, which release the
lock); the context's turn is then about 15 ms. A fresh interpreter each: the driver is
loaded once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = """
import sys
from qtpy.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from polystore_gui.qt import napari_build

def drivers():
    return sorted({line.split()[-1] for line in open('/proc/self/maps') if '_dri.so' in line or 'libgallium' in line})

before = drivers()
loaded = napari_build.preload_gl_driver()
after = drivers()
again = napari_build.preload_gl_driver()  # once a process
print(app.platformName(), loaded, bool(before), bool(after), again)
"""


def _run(platform: str) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": platform, "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, env=env,
                          check=True)
    return done.stdout.strip().splitlines()[-1].split()


@pytest.mark.gl
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X server: run under xvfb-run (make test)")
def test_the_gl_driver_is_loaded_ahead_on_x11():
    platform, loaded, before, after, again = _run("xcb")
    assert platform == "xcb"
    assert (loaded, before, after) == ("True", "False", "True")  # not loaded by Qt's start: by the preload
    assert again == "False"  # done once


def test_nothing_is_loaded_ahead_where_qt_does_not_use_x11():
    platform, loaded, before, after, _again = _run("offscreen")
    assert platform == "offscreen"
    assert (loaded, after) == ("False", before)


IMPORT_CODE = """
import sys
from qtpy.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from polystore_gui.qt import napari_view
napari_view._import_napari()
print(any('_dri.so' in line or 'libgallium' in line for line in open('/proc/self/maps')))
"""


@pytest.mark.gl
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X server: run under xvfb-run (make test)")
def test_napari_import_worker_loads_the_gl_driver():
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", IMPORT_CODE], capture_output=True, text=True, timeout=180, env=env,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "True"


REFUSED_CODE = """
import ctypes, sys
from qtpy.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from polystore_gui.qt import napari_build

def refused(*args, **kwargs):
    raise ValueError("a library that answers nothing sensible")

ctypes.CDLL = refused
print(app.platformName(), napari_build.preload_gl_driver(), napari_build.open_gl() is not None)
"""


@pytest.mark.gl
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X server: run under xvfb-run (make test)")
def test_a_preload_that_fails_in_any_way_leaves_the_driver_to_the_build():
    """Any failure of the ctypes calls (not only a missing library) must not fail napari's
    import worker: the build's own GL turn then loads the driver, as before."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", REFUSED_CODE], capture_output=True, text=True, timeout=120,
                          env=env, check=True)
    assert done.stdout.strip().splitlines()[-1].split() == ["xcb", "False", "True"]
