"""The chunk inspector's imports ahead (model.chunk_layout.prepare): in a fresh process the
first inspection imported zarr and the backend adapters before its first results showed
(0.3-1.5 s); run ahead in a worker, it leaves the first inspection nothing to import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = """
import json, sys
from polystore_gui.model.chunk_layout import prepare, read_layout, resolve_array
if sys.argv[2] == "prepared":
    prepare()
before = set(sys.modules)
layout = read_layout(resolve_array("zarr", sys.argv[1])[0])
layout.missing_codecs()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _imported_by_first_inspection(path: str, prepared: bool) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHILD, path, "prepared" if prepared else "cold"],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("array", ["plain", "sharded"])
def test_after_prepare_the_first_inspection_imports_nothing(demo_dir, array):
    path = str(demo_dir / "stores" / "experiment.zarr" / array)
    cold = _imported_by_first_inspection(path, prepared=False)
    assert any(name.startswith("zarr") for name in cold)  # what prepare is for
    assert _imported_by_first_inspection(path, prepared=True) == []
