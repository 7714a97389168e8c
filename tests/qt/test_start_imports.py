"""Start-up's discovery worker loads what the tree's first rows then ask for (issue 19).

The tree's first rows ask each backend's adapter whether it lives in memory; the first
such question imported the adapter modules not loaded yet (the remote one among them), a
30 ms turn on the GUI thread. A fresh interpreter, so that no other test has loaded them.
"""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
from polystore_gui.qt import main_window
before = [m for m in ('remote', 'context', 'plate') if 'polystore_gui.model.backends.' + m in sys.modules]
discovery = main_window.discover()
after = [m for m in ('remote', 'context', 'plate') if 'polystore_gui.model.backends.' + m in sys.modules]
print(','.join(before) + '|' + ','.join(after) + '|' + str(len(discovery.backends)))
"""


def test_the_discovery_worker_loads_the_adapters_the_trees_rows_ask_for():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, env=env, check=True)
    before, after, backends = done.stdout.strip().splitlines()[-1].split("|")
    assert before == ""  # not loaded by the window's own imports...
    assert after == "remote,context,plate"  # ...but by the worker, before the rows ask
    assert int(backends) > 0


GC_CODE = """
import gc
from polystore_gui.model import catalogue
from polystore_gui.qt import main_window
seen = []
real = catalogue.discover_backends
def watched():
    seen.append(gc.isenabled())
    return real()
main_window.discover_backends = watched
frozen = gc.get_freeze_count()
discovery = main_window.discover()
print(seen[0], gc.isenabled(), gc.get_freeze_count() > frozen, len(discovery.backends) > 0)
"""


def test_the_discovery_worker_imports_with_the_collector_paused_and_freezes_what_it_loaded():
    """A full collection run by the discovery worker in the middle of its imports holds the
    interpreter lock for its whole length: the window froze 35-75 ms while the tree was
    still being discovered. The worker imports with the collector off, then freezes what it
    loaded (out of every later full collection) and turns the collector back on."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", GC_CODE], capture_output=True, text=True, timeout=120, env=env,
                          check=True)
    paused, enabled_after, froze, found = done.stdout.strip().splitlines()[-1].split()
    assert paused == "False"  # no collection while the backends' modules are imported
    assert enabled_after == "True"  # the collector is back on for the rest of the session
    assert froze == "True"
    assert found == "True"
