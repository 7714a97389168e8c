"""The PyInstaller bundle (``make bundle``), started as a user would: ``make test-bundle``.

Marked ``bundle`` (and slow): ``make test`` leaves it out, ``make test-bundle`` builds the
bundle first and runs only these. The bundle must find every backend polystore registers,
draw a preview with napari (OpenGL under Xvfb), and run the command-line subcommands.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("POLYSTORE_GUI_BUNDLE", ROOT / "dist" / "polystore-gui" / "polystore-gui"))
pytestmark = [pytest.mark.bundle, pytest.mark.slow, pytest.mark.gl]


@pytest.fixture(scope="module")
def bundle():
    assert BUNDLE.is_file(), f"no bundle at {BUNDLE}: run `make bundle` first (make test-bundle does)"
    return str(BUNDLE)


def test_the_bundle_says_its_version(bundle):
    out = subprocess.run([bundle, "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("polystore-gui "), out.stderr


def test_the_bundle_lists_every_registered_backend(bundle, discovery):
    out = subprocess.run([bundle, "backends", "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert sorted(b["key"] for b in json.loads(out.stdout)) == sorted(discovery.keys)


def test_the_bundle_starts_on_the_demo_and_napari_draws(bundle, discovery, tmp_path):
    env = dict(os.environ, POLYSTORE_GUI_DEMO_DIR=str(tmp_path / "demo"), NAPARI_CONFIG=str(tmp_path / "napari.yaml"))
    out = subprocess.run([bundle, "--self-test"], capture_output=True, text=True, timeout=400, env=env)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0 and report["ok"], (report, out.stderr[-3000:])
    assert sorted(report["backends"]) == sorted(discovery.keys)
    assert report["preview"]["layers"] == ["Image"] and report["canvas_pixels_lit"] > 0
