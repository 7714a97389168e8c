"""napari's import worker also imports dask's array package, which a multiscale preview's
levels are made of: the first such preview imports nothing of dask in its own worker.
That import is 0.3 s of pure Python; in the preview's worker it held the interpreter lock
while the window painted the preview's first results (a 90-120 ms stall measured in
bench_remote's window). A fresh interpreter, so that no other test has loaded dask."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import sys
from polystore_gui.qt.napari_view import _import_napari
from pathlib import Path
from polystore_gui.model.lazy import open_preview

demo = Path(sys.argv[1])
had_dask_array = 'dask.array' in sys.modules
_import_napari()
before = {m for m in sys.modules if m == 'dask' or m.startswith('dask.')}
preview = open_preview('zarr', str(demo / 'stores' / 'experiment.zarr' / 'image'))
after = {m for m in sys.modules if m == 'dask' or m.startswith('dask.')}
print(had_dask_array, any(layer.multiscale for layer in preview.layers), ','.join(sorted(after - before)) or '-')
preview.close()
"""


def test_the_first_multiscale_preview_imports_no_dask_in_its_worker(demo_dir):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyqt6"}
    done = subprocess.run([sys.executable, "-c", CODE, str(demo_dir)], capture_output=True, text=True,
                          timeout=180, env=env, check=True)
    had_dask_array, multiscale, imported = done.stdout.strip().splitlines()[-1].split()
    assert had_dask_array == "False"  # not there before napari's import worker ran...
    assert multiscale == "True"  # ...the preview is a multiscale one (dask levels)...
    assert imported == "-"  # ...and it imported no module of dask itself
