"""Copies into zarr stores that zarr-python reads afterwards, and into the memory root.

Destination stores are written by the other tools' own writers (zarr-python 3 in both
formats, with and without consolidated metadata; ome-zarr-py), and every check reads the
result back with zarr-python itself: a member zarr cannot see is a lost copy.
"""

from __future__ import annotations

import os
import uuid
import warnings

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model import transfers, zarr_consolidated
from polystore_gui.model.address import Address
from polystore_gui.model.listing import list_children
from polystore_gui.model.arrays import inspect
from polystore_gui.model.entries import Entry, EntryKind

from .test_transfers import copy, no_partials


def consolidate(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not in the v3 spec yet
        zarr.consolidate_metadata(str(path))


def make_group(path, fmt, *, consolidated=False, subgroup=False):
    """A group written by zarr-python (format ``fmt``) holding one array, ``old``."""
    root = zarr.open_group(str(path), mode="w", zarr_format=fmt)
    group = root.create_group("A") if subgroup else root
    old = group.create_array("old", shape=(2, 8, 8), chunks=(1, 8, 8), dtype="uint8")
    old[:] = 7
    if consolidated:
        consolidate(path)
    return path / "A" if subgroup else path


@pytest.fixture
def sources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    image = np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30)
    tifffile.imwrite(src / "image.ome.tif", image, photometric="minisblack")
    np.save(src / "table.npy", np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    return src, image


# -- the memory root -----------------------------------------------------------------------------


def test_copy_into_the_memory_root_works_before_anything_listed_it(sources, monkeypatch):
    """polystore's memory backend keeps a folder as a key holding None; its root "/" exists
    only once something made it. The transfer must not depend on the tree having listed it."""
    from polystore.backend_registry import get_backend_instance

    src, image = sources
    backend = get_backend_instance("memory")
    monkeypatch.delitem(backend._memory_store, "/", raising=False)  # as in a fresh process
    assert transfers.is_folder(Address("memory", "/"))
    name = f"image_{uuid.uuid4().hex[:6]}.ome.tif"
    os.rename(src / "image.ome.tif", src / name)
    (outcome,) = copy([Address("disk", str(src / name))], Address("memory", "/"))
    try:
        assert outcome.status == "done", outcome.message
        np.testing.assert_array_equal(backend.load("/" + name), image)
    finally:
        if backend.exists("/" + name):
            backend.delete("/" + name)


# -- arrays are not folders ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 3])
@pytest.mark.parametrize("backend", ["zarr", "disk"])
def test_an_array_is_refused_as_a_destination_and_nothing_is_written(sources, tmp_path, fmt, backend):
    src, _ = sources
    array = tmp_path / f"array_v{fmt}.zarr"
    zarr.create_array(str(array), shape=(4, 4), dtype="uint8", zarr_format=fmt)[:] = 3
    before = sorted(os.listdir(array))
    (item,) = transfers.plan([Address("disk", str(src / "image.ome.tif"))], Address(backend, str(array)))
    assert item.error is not None and "is a zarr array" in item.error and str(tmp_path) in item.error
    (outcome,) = copy([Address("disk", str(src / "image.ome.tif"))], Address(backend, str(array)))
    assert outcome.status == "failed"
    assert sorted(os.listdir(array)) == before
    np.testing.assert_array_equal(zarr.open_array(str(array))[...], np.full((4, 4), 3, np.uint8))


def test_a_drop_on_an_array_lands_in_the_group_that_holds_it(tmp_path):
    group = make_group(tmp_path / "g.zarr", 2)
    target, note = transfers.landing(Address("zarr", str(group / "old")))
    assert target == Address("zarr", str(group))
    assert note is not None and "old" in note and str(group) in note
    assert transfers.landing(Address("zarr", str(group))) == (Address("zarr", str(group)), None)
    # An array store straight in a plain folder: the drop goes into that folder, as files go.
    zarr.create_array(str(tmp_path / "lone.zarr"), shape=(2,), dtype="uint8", zarr_format=3)
    target, note = transfers.landing(Address("zarr", str(tmp_path / "lone.zarr")))
    assert target == Address("disk", str(tmp_path)) and "lone.zarr is a zarr array" in note


# -- into existing groups: zarr-python sees the member ---------------------------------------------


@pytest.mark.parametrize("subgroup", [False, True], ids=["root", "subgroup"])
@pytest.mark.parametrize("consolidated", [False, True], ids=["plain", "consolidated"])
@pytest.mark.parametrize("fmt", [2, 3])
def test_images_and_arrays_copied_into_a_group_are_members_zarr_reads(sources, tmp_path, fmt, consolidated, subgroup):
    src, image = sources
    store = tmp_path / f"g{fmt}.zarr"
    group = make_group(store, fmt, consolidated=consolidated, subgroup=subgroup)
    outcomes = copy([Address("disk", str(src / "image.ome.tif")), Address("disk", str(src / "table.npy"))],
                    Address("zarr", str(group)))
    assert [o.status for o in outcomes] == ["done", "done"], [o.message for o in outcomes]
    opened = zarr.open_group(str(store), mode="r")  # consolidated metadata is used when present
    node = opened["A"] if subgroup else opened
    members = dict(node.members())
    assert {"old", "image.ome.tif", "table.npy"} <= set(members)
    np.testing.assert_array_equal(node["image.ome.tif"][...], image)
    np.testing.assert_array_equal(node["table.npy"][...], np.load(src / "table.npy"))
    assert node["image.ome.tif"].metadata.zarr_format == fmt  # written in the group's format
    assert any(f"zarr v{fmt}" in note for note in outcomes[0].notes)
    if consolidated:
        assert zarr_consolidated.is_fresh(str(group)) is True
    assert no_partials(group)


@pytest.mark.parametrize("fmt", [2, 3])
def test_a_zarr_array_of_the_same_format_is_copied_and_consolidated_metadata_follows(tmp_path, fmt):
    source = make_group(tmp_path / "src.zarr", fmt)
    store = make_group(tmp_path / "dst.zarr", fmt, consolidated=True)
    zarr.open_array(str(source / "old"), mode="r+")[:] = 42
    os.rename(source / "old", source / "raw")
    (outcome,) = copy([Address("zarr", str(source / "raw"))], Address("zarr", str(store)))
    assert outcome.status == "done", outcome.message
    opened = zarr.open_group(str(store), mode="r")
    assert sorted(k for k, _ in opened.members()) == ["old", "raw"]
    np.testing.assert_array_equal(opened["raw"][...], np.full((2, 8, 8), 42, np.uint8))


@pytest.mark.parametrize(("source_fmt", "group_fmt"), [(3, 2), (2, 3)])
def test_mixing_zarr_formats_is_refused_with_the_reason(tmp_path, source_fmt, group_fmt):
    source = make_group(tmp_path / "src.zarr", source_fmt)
    store = make_group(tmp_path / "dst.zarr", group_fmt)
    before = sorted(os.listdir(store))
    for src in (source / "old", source):
        (outcome,) = copy([Address("zarr", str(src))], Address("zarr", str(store)))
        assert outcome.status == "failed"
        assert f"zarr v{source_fmt}" in outcome.message and f"v{group_fmt} group" in outcome.message
    assert sorted(os.listdir(store)) == before


@pytest.mark.parametrize("fmt", [2, 3])
def test_a_folder_of_images_copied_into_a_group_is_a_member_group_zarr_reads(sources, tmp_path, fmt):
    src, image = sources
    store = make_group(tmp_path / "g.zarr", fmt, consolidated=True)
    (outcome,) = copy([Address("disk", str(src))], Address("zarr", str(store)))
    assert outcome.status == "done", outcome.message
    opened = zarr.open_group(str(store), mode="r")
    assert "src" in dict(opened.members())
    np.testing.assert_array_equal(opened["src"]["image.ome.tif"][...], image)
    assert opened["src"].metadata.zarr_format == fmt


def test_a_move_out_of_a_consolidated_group_updates_it(tmp_path):
    source = make_group(tmp_path / "src.zarr", 2, consolidated=True)
    store = make_group(tmp_path / "dst.zarr", 2)
    os.rename(store / "old", store / "other")
    (outcome,) = copy([Address("zarr", str(source / "old"))], Address("zarr", str(store)), move=True)
    assert outcome.status == "done", outcome.message
    assert [k for k, _ in zarr.open_group(str(source), mode="r").members()] == []


@pytest.mark.parametrize("fmt", [2, 3])
def test_a_copy_still_under_way_beside_is_left_out_of_the_consolidated_document(sources, tmp_path, fmt):
    """Two drops into one group run at once: when the first finishes, the second's hidden
    temporary is there; were it consolidated, a failure of the second would leave zarr
    listing a member that never existed."""
    src, _ = sources
    store = make_group(tmp_path / "g.zarr", fmt, consolidated=True)
    partial = transfers._partial_name(str(store / "other.npy"))
    zarr.create_array(partial, shape=(2,), dtype="uint8", zarr_format=fmt)
    (outcome,) = copy([Address("disk", str(src / "table.npy"))], Address("zarr", str(store)))
    assert outcome.status == "done", outcome.message
    assert sorted(k for k, _ in zarr.open_group(str(store), mode="r").members()) == ["old", "table.npy"]


def test_deleting_a_member_of_a_consolidated_group_updates_it(tmp_path):
    store = make_group(tmp_path / "g.zarr", 3, consolidated=True)
    transfers.delete(Address("zarr", str(store / "old")))
    assert [k for k, _ in zarr.open_group(str(store), mode="r").members()] == []


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_py_images_take_new_members_zarr_reads(sources, tmp_path, version):
    with warnings.catch_warnings():  # ome-zarr-py's writer makes a deprecated Scaler when imported (its to fix)
        warnings.simplefilter("ignore", DeprecationWarning)
        from ome_zarr import writer as ome_writer  # ome-zarr-py (a dependency of polystore)
    from ome_zarr.format import FormatV04, FormatV05

    src, image = sources
    store = tmp_path / "ome.zarr"
    fmt = 2 if version == "0.4" else 3
    root = zarr.open_group(str(store), mode="w", zarr_format=fmt)
    ome_writer.write_image(np.zeros((2, 32, 32), np.uint8), root, scale_factors=(2,), axes="cyx",
                           fmt=FormatV04() if version == "0.4" else FormatV05())
    (outcome,) = copy([Address("disk", str(src / "image.ome.tif"))], Address("zarr", str(store)))
    assert outcome.status == "done", outcome.message
    opened = zarr.open_group(str(store), mode="r")
    np.testing.assert_array_equal(opened["image.ome.tif"][...], image)
    assert opened["image.ome.tif"].metadata.zarr_format == fmt
    attrs = dict(opened.attrs)
    assert "multiscales" in attrs.get("ome", attrs)  # the image's own metadata is untouched


# -- reading consolidated metadata -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [2, 3])
def test_a_consolidated_group_is_listed_from_its_document_while_it_is_fresh(tmp_path, monkeypatch, fmt):
    store = make_group(tmp_path / "g.zarr", fmt)
    zarr.open_group(str(store), mode="r+").create_group("B")
    consolidate(store)
    from polystore_gui.model.backends import zarr_store

    reads = []
    real = zarr_store.read_node
    monkeypatch.setattr(zarr_store, "read_node", lambda p: (reads.append(p), real(p))[1])
    entry = Entry("zarr", str(store), "g.zarr", EntryKind.ZARR_STORE)
    rows = {e.name: e for batch in list_children(entry) for e in batch}
    assert set(rows) == {"old", "B"}
    assert rows["old"].kind is EntryKind.ARRAY and rows["old"].shape == (2, 8, 8) and rows["old"].dtype == "uint8"
    assert rows["B"].kind is EntryKind.GROUP
    assert not [p for p in reads if p != str(store)]  # no member's own metadata was read
    # A member written without consolidating: the document is stale, the listing still has it.
    zarr.create_array(str(store / "new"), shape=(3,), dtype="int32", zarr_format=fmt)
    assert zarr_consolidated.is_fresh(str(store)) is False
    rows = {e.name: e for batch in list_children(entry) for e in batch}
    assert set(rows) == {"old", "B", "new"} and rows["new"].shape == (3,)


@pytest.mark.parametrize("fmt", [2, 3])
def test_info_says_whether_a_group_is_consolidated_and_what_it_lists(tmp_path, fmt):
    store = make_group(tmp_path / "g.zarr", fmt)
    info = inspect("zarr", str(store)).as_json()
    assert info["consolidated"] is None
    consolidate(store)
    info = inspect("zarr", str(store)).as_json()
    assert info["consolidated"]["fresh"] is True
    assert info["consolidated"]["members"] == {"old": {"kind": "array", "shape": [2, 8, 8], "dtype": "uint8"}}


@pytest.mark.parametrize(("driver", "fmt"), [("zarr", 2), ("zarr3", 3)])
def test_tensorstore_arrays_go_into_groups_and_what_is_written_there_tensorstore_reads(sources, tmp_path, driver, fmt):
    """Another implementation on both sides: arrays tensorstore wrote are copied into a
    consolidated zarr-python group (zarr lists them), and an image copied into the group is
    read back by tensorstore."""
    import tensorstore as ts  # in the test extras
    src, image = sources
    data = np.arange(2 * 10 * 12, dtype=np.int16).reshape(2, 10, 12)
    written = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": str(tmp_path / "ts.zarr")}},
                      create=True, dtype=ts.int16, shape=list(data.shape)).result()
    written[...] = data
    store = make_group(tmp_path / "g.zarr", fmt, consolidated=True)
    outcomes = copy([Address("zarr", str(tmp_path / "ts.zarr")), Address("disk", str(src / "image.ome.tif"))],
                    Address("zarr", str(store)))
    assert [o.status for o in outcomes] == ["done", "done"], [o.message for o in outcomes]
    group = zarr.open_group(str(store), mode="r")
    assert sorted(k for k, _ in group.members()) == ["image.ome.tif", "old", "ts.zarr"]
    np.testing.assert_array_equal(group["ts.zarr"][...], data)
    back = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": str(store / "image.ome.tif")}}).result()
    np.testing.assert_array_equal(back.read().result(), image)


def test_a_stray_folder_in_a_group_does_not_make_its_document_stale(tmp_path):
    """A folder without zarr metadata is no member for zarr either: the document stays fresh."""
    store = make_group(tmp_path / "g.zarr", 2, consolidated=True)
    (store / "notes").mkdir()
    assert zarr_consolidated.is_fresh(str(store)) is True
    entry = Entry("zarr", str(store), "g.zarr", EntryKind.ZARR_STORE)
    assert [e.name for batch in list_children(entry) for e in batch] == ["old"]
    assert inspect("zarr", str(store)).as_json()["consolidated"]["fresh"] is True
