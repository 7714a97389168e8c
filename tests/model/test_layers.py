"""The architecture rule: model/ imports no Qt and no napari."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

MODEL = Path(__file__).resolve().parents[2] / "polystore_gui" / "model"
FORBIDDEN = ("qtpy", "PyQt6", "PyQt5", "PySide6", "PySide2", "superqt", "napari", "vispy", "polystore_gui.qt")


def test_model_sources_import_no_qt_or_napari():
    offenders = []
    for path in MODEL.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] if node.level == 0 else []
                if node.level and node.module and node.module.startswith("qt"):
                    names = ["polystore_gui.qt"]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)]
    assert not offenders, offenders


def test_importing_the_model_loads_no_qt_module():
    code = (
        "import sys, polystore_gui.model.catalogue, polystore_gui.model.listing, "
        "polystore_gui.model.demo, polystore_gui.model.address, polystore_gui.cli;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PyQt6','qtpy','napari','vispy')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
