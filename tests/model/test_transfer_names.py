"""A conflicting item given another name (the window's "Rename…" answer to a taken name):
the name is checked as Rename checks it, and a bad one is said, never raised."""

from __future__ import annotations

import pytest

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.rename import RenameError, check_name

from .transfer_runs import run


@pytest.fixture
def conflict(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    (tmp_path / "src" / "a.txt").write_text("new")
    (tmp_path / "dst" / "a.txt").write_text("old")
    (item,) = transfers.plan([Address("disk", str(tmp_path / "src" / "a.txt"))], Address("disk", str(tmp_path / "dst")))
    assert item.conflict and not item.runnable
    return item, tmp_path


def _rename_error(name):
    with pytest.raises(RenameError) as caught:
        check_name(name)
    return str(caught.value)


@pytest.mark.parametrize("name", ["", "   ", ".", "..", "a/b", "a\0b", " padded ", "x" * 256])
def test_a_bad_name_is_refused_with_renames_reason_and_nothing_is_written(conflict, name):
    item, tmp_path = conflict
    renamed = transfers.rename_to(item, name)
    assert not renamed.runnable and renamed.error == _rename_error(name)
    assert run([renamed])[0].status == "failed"
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["a.txt"]
    assert (tmp_path / "dst" / "a.txt").read_text() == "old"


def test_a_good_free_name_is_taken_and_a_taken_one_is_said(conflict):
    item, tmp_path = conflict
    renamed = transfers.rename_to(item, "b.txt")
    assert renamed.runnable and renamed.destination.path == str(tmp_path / "dst" / "b.txt")
    assert run([renamed])[0].status == "done" and (tmp_path / "dst" / "b.txt").read_text() == "new"
    again = transfers.rename_to(item, "b.txt")
    assert not again.runnable and "already exists" in again.error
