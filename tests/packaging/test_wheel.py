"""The wheel: built from this tree, installed into a fresh virtual environment, it runs.

The fresh environment gets the wheel itself (``--no-deps``) and borrows its dependencies
from the test environment through a ``.pth`` line, so no network is needed; polystore_gui
is imported from the wheel's install, never from this source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    # python -m build, without a fresh isolated build environment (setuptools and wheel are
    # in the test environment already: no network needed).
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("polystore_gui-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return env_dir, Path(site)


def test_the_installed_wheel_runs_and_loads_its_icons(installed):
    env_dir, site = installed
    version = subprocess.run([str(env_dir / "bin" / "polystore-gui"), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("polystore-gui 0."), version.stderr
    code = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import polystore_gui
        print(polystore_gui.__file__)
        from qtpy.QtWidgets import QApplication
        app = QApplication([])
        from polystore_gui.qt import icons
        names = sorted(p.name[:-4] for p in icons.icon_files())
        empty = [n for n in names if icons.load_svg(n) is None]
        print(len(names), empty)
    """)
    out = subprocess.run([str(env_dir / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(env_dir), env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr
    where, counts = out.stdout.strip().splitlines()[-2:]
    assert where.startswith(str(site)), where  # the wheel's copy, not this source tree
    count, empty = counts.split(" ", 1)
    assert int(count) >= 20 and empty == "[]"
