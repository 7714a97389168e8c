"""benchmarks/bench_plate.py's ``ours`` case leaves nothing in the temporary folder.

Each run gave its plate view a fresh thumbnail cache (``tempfile.mkdtemp``) and never
removed it: 34 folders of 3 MiB in /tmp after one A/B of 34 runs, 114 over the day. The
case runs here on a small plate, in a fresh interpreter whose TMPDIR is the test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow]

CHILD = """
import json, sys
sys.path[:0] = [{bench!r}, {repo!r}]
import bench_plate
from pathlib import Path
from tests.plates import write_ome_plate
plate = write_ome_plate(Path({plate!r}), rows="AB", columns=2, fields=1, levels=2, edge=32)
result = bench_plate.case_ours("small", plate)
print("RESULT " + json.dumps({{"drawn": result["drawn"], "wells": result["wells"]}}))
"""


def test_ours_case_removes_its_thumbnail_cache(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = CHILD.format(bench=str(REPO / "benchmarks"), repo=str(REPO), plate=str(tmp_path / "plate.zarr"))
    env = {**os.environ, "TMPDIR": str(tmp), "QT_API": "pyqt6"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240)
    results = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and results, proc.stderr[-3000:]
    assert json.loads(results[0][len("RESULT "):]) == {"drawn": 4, "wells": 4}  # the case really ran
    assert not list(tmp.glob("plate-thumbs-*"))
