"""The layer rules, enforced by import-linter (contracts in pyproject.toml; `make test` runs
`lint-imports` before pytest). These tests run it on the real tree, show that it catches a
forbidden import (on a scratch copy of the package with one bad line), and check at run time
that importing the model and the CLI loads no Qt (a dependency could, statically unseen)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lint_available() -> None:
    assert LINT.exists(), "import-linter is a test dependency: pip install -e '.[test]'"


def test_the_tree_keeps_every_contract(lint_available) -> None:
    out = _lint(ROOT, ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("model/entries.py", "import qtpy  # deliberate", "model imports no Qt"),
        ("model/chunk_find.py", "from ..qt import icons  # deliberate", "model imports no Qt"),
        ("cli/__init__.py", "from ..qt import workers  # deliberate", "the command line imports no Qt"),
        # the contract names the package: each command module of it is held to it too
        ("cli/browse.py", "from ..qt import workers  # deliberate", "the command line imports no Qt"),
        ("qt/icons.py", "from . import tree_model  # deliberate", "no import cycle between the modules of qt/"),
        ("model/backends/common.py", "from .. import listing  # deliberate",
         "no import cycle between the modules of model/ "),
        # model/'s contract looks into its subpackages too: a cycle among the adapters breaks
        # both, the backends/ one naming the package where it is.
        ("model/backends/sinks.py", "from . import registry  # deliberate",
         ("no import cycle between the modules of model/ ", "no import cycle between the modules of model/backends/")),
    ],
    ids=["model-qtpy", "model-qt", "cli-qt", "cli-part-qt", "qt-cycle", "model-cycle", "backends-cycle"],
)
def test_a_forbidden_import_breaks_a_contract(lint_available, tmp_path, module, line, contract) -> None:
    shutil.copytree(ROOT / "polystore_gui", tmp_path / "polystore_gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "polystore_gui" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    out = _lint(tmp_path, tmp_path)
    assert out.returncode != 0, out.stdout
    broken = [ln for ln in out.stdout.splitlines() if " BROKEN" in ln]
    expected = contract if isinstance(contract, tuple) else (contract,)
    assert len(broken) == len(expected), out.stdout
    assert all(ln.startswith(name) for ln, name in zip(broken, expected)), out.stdout


def test_importing_the_model_and_the_cli_loads_no_qt_module() -> None:
    code = (
        "import sys, polystore_gui.model.catalogue, polystore_gui.model.listing, "
        "polystore_gui.model.demo, polystore_gui.model.address, polystore_gui.cli;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PyQt6','qtpy','napari','vispy')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
