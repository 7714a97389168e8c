"""File → Open Location…: what a typed path or address needs to be shown in the tree."""

from __future__ import annotations

import pytest

from polystore_gui.model.address import Address
from polystore_gui.model.locate import Location, LocationError, locate

KNOWN = ["disk", "memory", "zarr", "ome_zarr", "napari_stream"]


def test_a_folder_outside_every_root_becomes_a_root(tmp_path):
    (tmp_path / "plate").mkdir()
    assert locate(str(tmp_path / "plate"), KNOWN) == Location(Address("disk", str(tmp_path / "plate")), "disk", str(tmp_path / "plate"))


def test_a_file_outside_every_root_adds_its_folder(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"x")
    assert locate(str(tmp_path / "a.tif"), KNOWN) == Location(Address("disk", str(tmp_path / "a.tif")), "disk", str(tmp_path))


def test_a_path_under_a_root_already_shown_adds_nothing(tmp_path):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    location = locate(str(tmp_path / "deep" / "er"), KNOWN, disk_roots=[str(tmp_path)])
    assert location == Location(Address("disk", str(tmp_path / "deep" / "er")))


def test_a_path_inside_a_zarr_store_is_shown_inside_the_store(demo_dir):
    store = demo_dir / "stores" / "experiment.zarr"
    plain = store / "plain"
    # Typed as a disk path or as a zarr address: the same place, under zarr.
    for text in (str(plain), f"zarr:{plain}"):
        assert locate(text, KNOWN) == Location(Address("zarr", str(plain)), "zarr", str(store))
    # The store is shown already (under zarr): nothing to add.
    assert locate(str(plain), KNOWN, stores=[Address("zarr", str(store))]) == Location(Address("zarr", str(plain)))


def test_a_polystore_virtual_file_is_found_through_its_array(demo_dir):
    store = demo_dir / "stores" / "polystore_plate" / "images"
    name = store / "A01_c1_z1.tif"
    location = locate(f"zarr:{name}", KNOWN)
    assert location.target == Address(location.root_backend, str(name))
    assert location.root == str(store)
    assert location.via is not None and location.via.startswith(str(store)) and location.via != str(name)


def test_what_cannot_be_shown_says_why(tmp_path):
    with pytest.raises(LocationError, match="No such file or folder"):
        locate(str(tmp_path / "nothing.tif"), KNOWN)
    with pytest.raises(LocationError, match="known backends: disk, memory"):
        locate("zar:/data/x.zarr", KNOWN)
    (tmp_path / "plain").mkdir()
    with pytest.raises(LocationError, match="Not inside a zarr store"):
        locate(f"zarr:{tmp_path / 'plain'}", KNOWN)
    with pytest.raises(LocationError, match="Type a path"):
        locate("   ", KNOWN)
    with pytest.raises(LocationError, match="Nothing in memory"):
        locate("memory:/no/such/thing", KNOWN)


def test_memory_and_other_backends():
    from polystore_gui.model.demo import populate_memory

    saved = populate_memory("/locate-test")
    assert locate(f"memory:{saved[0]}", KNOWN) == Location(Address("memory", saved[0]))
    assert locate("napari_stream:", KNOWN) == Location(Address("napari_stream", ""))


def test_a_missing_path_names_the_missing_part_and_the_last_part_found(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(LocationError) as raised:
        locate(str(tmp_path / "a" / "b" / "c.tif"), KNOWN)
    assert f"b is not in {tmp_path / 'a'} (the last part of the path found)" in str(raised.value)


def test_a_file_of_a_zarr_node_is_shown_as_its_node_with_a_note(demo_dir):
    store = demo_dir / "stores" / "experiment.zarr"
    location = locate(str(store / "plain" / "zarr.json"), KNOWN)
    assert location.target == Address("zarr", str(store / "plain")) and location.root == str(store)
    assert location.note is not None and "zarr.json is part of the zarr node" in location.note
    # A node itself: no note.
    assert locate(str(store / "plain"), KNOWN).note is None
