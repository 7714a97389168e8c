"""``cp`` says why a destination takes nothing in the plan's own words, once, and does nothing."""

from __future__ import annotations

import os

import zarr

from polystore_gui.model.address import Address
from polystore_gui.model.transfers import destination_refusal, volatile_move_warning

from .test_cli import run


def test_a_move_into_memory_is_refused_with_the_plans_reason(tmp_path):
    (tmp_path / "a.txt").write_text("keep me")
    (tmp_path / "b.txt").write_text("and me")
    out = run("cp", "--move", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"), "memory:/")
    assert out.returncode == 2 and "refused, nothing was done" in out.stderr
    assert volatile_move_warning(Address("memory", "/")) in out.stderr  # the words the window shows
    assert out.stderr.count("lost when the program quits") == 1 and "Traceback" not in out.stderr
    assert (tmp_path / "a.txt").read_text() == "keep me" and (tmp_path / "b.txt").read_text() == "and me"


def test_a_destination_that_takes_nothing_is_said_once_for_every_source(tmp_path):
    array = tmp_path / "array.zarr"
    zarr.create_array(str(array), shape=(4,), dtype="uint8")
    before = sorted(os.listdir(array))
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    out = run("cp", *(str(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt")), f"zarr:{array}")
    refusal = destination_refusal(Address("zarr", str(array)))
    assert refusal is not None and not refusal.loses_data
    assert out.returncode == 1 and out.stderr.count(refusal.reason) == 1, out.stderr
    assert "refused, nothing was done" in out.stderr and out.stdout == ""
    assert sorted(os.listdir(array)) == before
