"""Delete: to the desktop trash (freedesktop.org spec), never through a link out of the root.

XDG_DATA_HOME points at a temporary folder (tests/conftest.py): the user's trash is never touched.
"""

from __future__ import annotations

import os
import uuid

import pytest

from polystore_gui.model import trash
from polystore_gui.model.address import Address


@pytest.fixture
def home_trash(tmp_path, monkeypatch):
    data = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data / "Trash"


def disk(path) -> Address:
    return Address("disk", str(path))


def test_delete_puts_files_and_folders_in_the_home_trash_with_their_info(tmp_path, home_trash):
    root = tmp_path / "root"
    (root / "folder").mkdir(parents=True)
    (root / "folder" / "inner.bin").write_bytes(b"x")
    (root / "ümlaut file.txt").write_text("u")
    for name in ("folder", "ümlaut file.txt"):
        plan = trash.plan_delete(disk(root / name), str(root))
        assert plan.trash == str(home_trash) and not plan.permanent
        assert trash.delete(plan).endswith("moved to the trash")
    assert os.listdir(root) == []
    assert (home_trash / "files" / "folder" / "inner.bin").read_bytes() == b"x"
    info = (home_trash / "info" / "ümlaut file.txt.trashinfo").read_text()
    assert info.startswith("[Trash Info]\n") and f"Path={root}/%C3%BCmlaut%20file.txt\n" in info
    assert "DeletionDate=" in info
    (root / "folder").mkdir()  # the same name again: a second name in the trash, both kept
    trash.delete(trash.plan_delete(disk(root / "folder"), str(root)))
    assert sorted(os.listdir(home_trash / "files")) == ["folder", "folder.2", "ümlaut file.txt"]


def test_deleting_a_link_deletes_the_link_never_its_target(tmp_path, home_trash):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("not ours")
    os.symlink(outside, root / "dir_link")
    os.symlink(outside / "precious.txt", root / "file_link")
    for name in ("dir_link", "file_link"):
        trash.delete(trash.plan_delete(disk(root / name), str(root)))
        assert not os.path.lexists(root / name) and os.path.islink(home_trash / "files" / name)
    assert (outside / "precious.txt").read_text() == "not ours"
    os.symlink(outside, root / "again")
    trash.delete(trash.plan_delete(disk(root / "again"), str(root)), permanently=True)
    assert not os.path.lexists(root / "again") and (outside / "precious.txt").exists()


def test_an_entry_reached_through_a_link_out_of_the_root_is_never_deleted(tmp_path, home_trash):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "precious.txt").write_text("not ours")
    os.symlink(outside, root / "link")
    plan = trash.plan_delete(disk(root / "link" / "precious.txt"), str(root))
    assert plan.error and "leads out of" in plan.error
    with pytest.raises(trash.DeleteError, match="leads out of"):
        trash.delete(plan, permanently=True)
    assert (outside / "precious.txt").read_text() == "not ours"
    assert trash.plan_delete(disk(root), str(root)).error  # the root itself is not deleted


def test_memory_has_no_trash_and_is_deleted_only_when_agreed():
    from polystore.backend_registry import get_backend_instance

    memory = get_backend_instance("memory")
    folder = f"/trash_{uuid.uuid4().hex[:6]}"
    memory.ensure_directory(folder)
    key = folder + "/f"
    memory.save("data", key + ".txt")
    plan = trash.plan_delete(Address("memory", key + ".txt"), None)
    assert plan.permanent
    with pytest.raises(trash.DeleteError, match="has no trash"):
        trash.delete(plan)
    assert memory.exists(key + ".txt")
    trash.delete(plan, permanently=True)
    assert not memory.exists(key + ".txt")
    memory.delete_all(folder)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_zarr_member_sent_to_the_trash_leaves_its_groups_consolidated_metadata(tmp_path, home_trash, zarr_format):
    """zarr must stop listing a member Delete took away (it still listed it, from the stale document)."""
    import zarr

    store = tmp_path / "root" / "s.zarr"
    group = zarr.open_group(str(store), mode="w", zarr_format=zarr_format)
    group.create_array("a", shape=(4,), dtype="u1")
    group.create_array("b", shape=(4,), dtype="u1")
    zarr.consolidate_metadata(str(store))
    plan = trash.plan_delete(disk(store / "a"), str(tmp_path / "root"))
    assert plan.trash is not None
    trash.delete(plan)
    assert not (store / "a").exists()
    assert sorted(zarr.open_group(str(store), mode="r").array_keys()) == ["b"]
