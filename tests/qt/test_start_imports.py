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


NAPARI_GC_CODE = """
import gc, sys
from polystore_gui.qt import napari_view
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name.startswith('napari'):
            seen.append(gc.isenabled())
        return None
sys.meta_path.insert(0, Watch())
frozen = gc.get_freeze_count()
model = napari_view._import_napari()
print(any(seen), len(seen) > 0, gc.isenabled(), gc.get_freeze_count() > frozen, type(model).__name__)
"""


def test_napari_is_imported_with_the_collector_paused_and_what_it_loaded_frozen():
    """napari's import in its worker set off two or three full collections (45-71 ms each,
    the interpreter lock held all along: the window's longest stalls while napari was being
    imported). It imports with the collector off, then freezes what it loaded."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", NAPARI_GC_CODE], capture_output=True, text=True, timeout=180,
                          env=env, check=True)
    any_enabled, imported, enabled_after, froze, model = done.stdout.strip().splitlines()[-1].split()
    assert imported == "True"
    assert any_enabled == "False"  # no napari module imported with the collector on
    assert enabled_after == "True"
    assert froze == "True"
    assert model == "ViewerModel"
