"""Transfers that never lose data through links, FIFOs, volatile backends or interruptions.

Issue 14, items 3, 4, 5, 6 (the copy half) and 9: every case here is on a real disk, with
real links and FIFOs, and the interrupted copies are real ``cp`` processes killed mid-way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import zarr

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.transfers import Conflict


def run(items, cancelled=lambda: False):
    outcomes = []
    for item in items:
        gen = transfers.run_item(item, cancelled=cancelled)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            outcomes.append(stop.value)
    return outcomes


def disk(path) -> Address:
    return Address("disk", str(path))


def cli(*args, timeout=60, env=None):
    """Run ``polystore-gui`` as a user does; a hang fails the test (the process is killed)."""
    proc = subprocess.Popen([sys.executable, "-m", "polystore_gui", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"polystore-gui {' '.join(args)} hung")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# -- item 3: same file and inside itself, through links --------------------------------------------


@pytest.fixture
def aliased(tmp_path):
    """``real/A/f.txt`` (the only copy), ``real/B -> A`` and ``alias -> real``."""
    (tmp_path / "real" / "A").mkdir(parents=True)
    (tmp_path / "real" / "A" / "f.txt").write_text("the only copy")
    os.symlink("A", tmp_path / "real" / "B")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    return tmp_path


def test_a_move_onto_itself_through_a_link_is_refused_and_the_file_stays(aliased):
    alias = aliased / "alias"
    for policy in Conflict:
        (item,) = transfers.plan([disk(alias / "A" / "f.txt")], disk(alias / "B"), on_conflict=policy, move=True)
        if policy is Conflict.RENAME:  # keep both: a second file beside the first
            assert item.runnable and item.destination.path.endswith("f (2).txt")
            continue
        assert not item.runnable and "is the source itself" in (item.error or ""), (policy, item)
        run([item])
    assert (aliased / "real" / "A" / "f.txt").read_text() == "the only copy"


def test_the_cli_move_with_overwrite_through_a_link_keeps_the_only_copy(aliased):
    alias = aliased / "alias"
    out = cli("cp", "--move", "--on-conflict", "overwrite", str(alias / "A" / "f.txt"), str(alias / "B"))
    assert out.returncode == 1 and "is the source itself" in out.stderr, out
    assert "moved" not in out.stdout
    assert (aliased / "real" / "A" / "f.txt").read_text() == "the only copy"


def test_a_folder_copied_into_itself_through_a_link_is_refused(aliased):
    os.symlink(aliased / "real" / "A", aliased / "into_A")
    (item,) = transfers.plan([disk(aliased / "real")], disk(aliased / "into_A"))
    assert not item.runnable and "cannot be copied into itself" in (item.error or "")
    out = cli("cp", str(aliased / "real"), str(aliased / "into_A"))
    assert out.returncode == 1 and "into itself" in out.stderr
    assert sorted(os.listdir(aliased / "real" / "A")) == ["f.txt"]
