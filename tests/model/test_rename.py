"""Renaming in place (the tree's Rename…): never replaces, refuses bad names, keeps zarr's
consolidated metadata true."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from polystore_gui.model.address import Address
from polystore_gui.model.rename import RenameError, check_name, rename


def test_a_file_and_a_folder_are_renamed_in_their_folder(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inner").write_text("i")
    assert rename(Address("disk", str(tmp_path / "a.txt")), "b.txt") == Address("disk", str(tmp_path / "b.txt"))
    rename(Address("disk", str(tmp_path / "dir")), "folder")
    assert (tmp_path / "b.txt").read_text() == "a" and not (tmp_path / "a.txt").exists()
    assert (tmp_path / "folder" / "inner").read_text() == "i"


def test_a_taken_name_is_refused_and_nothing_is_replaced(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    with pytest.raises(RenameError, match="already taken"):
        rename(Address("disk", str(tmp_path / "a.txt")), "b.txt")
    assert (tmp_path / "a.txt").read_text() == "a" and (tmp_path / "b.txt").read_text() == "b"


@pytest.mark.parametrize("name", ["", "  ", ".", "..", "x/y", "a\0b", " padded", "n" * 256])
def test_names_that_cannot_be_names_are_refused(name):
    with pytest.raises(RenameError):
        check_name(name)


def test_a_vanished_entry_says_so(tmp_path):
    with pytest.raises(RenameError, match="no longer exists"):
        rename(Address("disk", str(tmp_path / "gone")), "other")


def test_a_memory_array_is_renamed_through_polystore():
    from polystore_gui.model.listing import memory_backend

    memory = memory_backend()
    memory.ensure_directory("/rename_test")
    memory.save(np.arange(6).reshape(2, 3), "/rename_test/a")
    assert rename(Address("memory", "/rename_test/a"), "b") == Address("memory", "/rename_test/b")
    assert memory.exists("/rename_test/b") and not memory.exists("/rename_test/a")
    np.testing.assert_array_equal(memory.load("/rename_test/b"), np.arange(6).reshape(2, 3))


def test_an_array_in_a_consolidated_group_is_listed_by_its_new_name(tmp_path):
    root = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=2)
    root.create_array("old", shape=(4,), dtype="u1")[:] = 1
    zarr.consolidate_metadata(str(tmp_path / "g.zarr"))
    rename(Address("zarr", str(tmp_path / "g.zarr" / "old")), "new")
    group = zarr.open_consolidated(str(tmp_path / "g.zarr"))
    assert sorted(group.array_keys()) == ["new"]
    np.testing.assert_array_equal(group["new"][:], np.ones(4, np.uint8))


def test_read_only_backends_are_refused(tmp_path):
    with pytest.raises(RenameError, match="cannot be renamed"):
        rename(Address("ome_zarr", str(tmp_path)), "x")
