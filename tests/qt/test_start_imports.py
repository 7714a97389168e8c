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
