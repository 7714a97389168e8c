"""Listing disk folders, zarr hierarchies and polystore's memory backend, good and bad."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import zarr

from polystore_gui.model.entries import EntryKind
from polystore_gui.model.listing import (
    ListingError,
    describe,
    entry_for_path,
    list_children,
    memory_backend,
)


def _all(entry, **kw):
    return [e for batch in list_children(entry, **kw) for e in batch]


def _by_name(entries):
    return {e.name: e for e in entries}


def test_disk_listing_comes_in_batches_with_kinds(tmp_path):
    for i in range(25):
        (tmp_path / f"f{i:02d}.tif").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    batches = list(list_children(entry_for_path("disk", str(tmp_path)), batch_size=10))
    assert [len(b) for b in batches] == [10, 10, 6]
    entries = _by_name(e for b in batches for e in b)
    assert entries["sub"].kind is EntryKind.DIRECTORY
    assert entries["f00.tif"].kind is EntryKind.IMAGE_FILE
    assert entries["f00.tif"].size is None  # sizes come from the details pass


def test_details_pass_fills_size_and_time_and_finds_stores(tmp_path):
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    zarr.create_array(str(tmp_path / "arr.zarr"), shape=(4, 8), chunks=(2, 8), dtype="uint16")
    zarr.open_group(str(tmp_path / "grp.zarr"), mode="w")
    listed = _all(entry_for_path("disk", str(tmp_path)))
    updated = _by_name(e for b in describe(listed) for e in b)
    assert updated["a.csv"].size == 8
    assert updated["a.csv"].modified is not None
    assert updated["arr.zarr"].kind is EntryKind.ARRAY
    assert updated["arr.zarr"].shape == (4, 8)
    assert updated["arr.zarr"].dtype == "uint16"
    assert updated["grp.zarr"].kind is EntryKind.ZARR_STORE


def test_hidden_files_can_be_left_out(tmp_path):
    (tmp_path / ".secret").write_text("x")
    (tmp_path / "shown").write_text("x")
    root = entry_for_path("disk", str(tmp_path))
    assert set(_by_name(_all(root, show_hidden=False))) == {"shown"}
    assert set(_by_name(_all(root, show_hidden=True))) == {"shown", ".secret"}


def test_zarr_store_under_disk_lists_members_never_chunks(demo_dir):
    store = demo_dir / "stores" / "experiment.zarr"
    entry = entry_for_path("disk", str(store))
    assert entry.kind is EntryKind.ZARR_STORE
    children = _by_name(_all(entry))
    assert set(children) == {"plain", "sharded", "image"}
    assert children["plain"].kind is EntryKind.ARRAY
    assert children["plain"].backend == "zarr"
    assert children["sharded"].shape == (4, 1024, 1024)
    assert "sharded" in children["sharded"].detail
    assert children["image"].kind is EntryKind.OME_ZARR
    # An array is a leaf: chunk keys ("c/0/0/0") are never children.
    assert _all(children["plain"]) == []


def test_zarr_v2_group_and_array(tmp_path):
    group = zarr.open_group(str(tmp_path / "v2.zarr"), mode="w", zarr_format=2)
    group.create_array("a", shape=(3, 3), chunks=(1, 3), dtype="float32")
    group.create_group("sub")
    children = _by_name(_all(entry_for_path("zarr", str(tmp_path / "v2.zarr"))))
    assert children["a"].kind is EntryKind.ARRAY and children["a"].detail == "zarr v2"
    assert children["a"].dtype == "float32"
    assert children["sub"].kind is EntryKind.GROUP


def test_polystore_written_store_is_browsable(demo_dir):
    images = demo_dir / "stores" / "polystore_flat" / "images"
    entry = entry_for_path("disk", str(images))
    assert entry.kind is EntryKind.ZARR_STORE
    names = set(_by_name(_all(entry)))
    assert {"A01_s1_w1.tif", "B01_s2_w1.tif"} <= names
    # Every array the tree shows is one polystore itself can load.
    from polystore.backend_registry import get_backend_instance

    backend = get_backend_instance("zarr")
    for name in names:
        assert backend.load(str(images / name)).shape == (256, 256)


def test_memory_backend_listing(discovery):
    backend = memory_backend()
    backend.ensure_directory("/listing_test/sub")
    backend.save(np.zeros((2, 3), np.uint8), "/listing_test/arr.npy")
    backend.save("hello", "/listing_test/note.txt")
    children = _by_name(_all(entry_for_path("memory", "/listing_test")))
    assert children["sub"].kind is EntryKind.DIRECTORY
    assert children["arr.npy"].kind is EntryKind.ARRAY
    assert children["arr.npy"].shape == (2, 3) and children["arr.npy"].dtype == "uint8"
    assert children["note.txt"].kind is EntryKind.TEXT_FILE
    root_names = set(_by_name(_all(entry_for_path("memory", "/"))))
    assert "listing_test" in root_names and "" not in root_names


# -- bad input ------------------------------------------------------------------------------


def test_broken_symlink_is_listed_with_a_clear_error(tmp_path):
    os.symlink(tmp_path / "nowhere.tif", tmp_path / "dangling.tif")
    entry = _by_name(_all(entry_for_path("disk", str(tmp_path))))["dangling.tif"]
    assert entry.error is not None and "Broken symbolic link" in entry.error
    assert "nowhere.tif" in entry.error


def test_name_that_is_not_utf8_is_listed_and_usable(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"plate_\xff\xfe.tif")
    with open(raw, "wb") as fh:
        fh.write(b"abc")
    (entry,) = _all(entry_for_path("disk", str(tmp_path)))
    entry.name.encode("utf-8")  # displayable
    assert "\ufffd" in entry.name
    assert "not valid UTF-8" in entry.detail
    assert os.path.exists(entry.path)  # the path still names the real file
    (described,) = [e for b in describe([entry]) for e in b]
    assert described.size == 3
    json.dumps(entry.as_json())  # and it survives JSON


def test_folder_deleted_between_listing_and_expanding(tmp_path):
    (tmp_path / "gone").mkdir()
    (entry,) = _all(entry_for_path("disk", str(tmp_path)))
    shutil.rmtree(tmp_path / "gone")
    with pytest.raises(ListingError, match="No longer exists"):
        _all(entry)
    (described,) = [e for b in describe([entry]) for e in b]
    assert described.error and "No longer exists" in described.error


def test_corrupt_zarr_metadata_is_reported_not_raised_through(tmp_path):
    bad = tmp_path / "bad.zarr"
    bad.mkdir()
    (bad / "zarr.json").write_text('{"zarr_format": 3, "node_type": ')
    good = tmp_path / "good.zarr"
    zarr.open_group(str(good), mode="w")
    (good / "broken_member").mkdir()
    (good / "broken_member" / ".zarray").write_text("not json")
    entry = entry_for_path("disk", str(bad))
    assert entry.error and "corrupt zarr metadata" in entry.error
    with pytest.raises(ListingError, match="corrupt zarr metadata"):
        _all(entry_for_path("zarr", str(bad)))
    # One corrupt member never hides its siblings.
    zarr.open_group(str(good), mode="a").create_array("fine", shape=(2,), dtype="int8")
    children = _by_name(_all(entry_for_path("zarr", str(good))))
    assert children["fine"].kind is EntryKind.ARRAY
    assert children["broken_member"].kind is EntryKind.ERROR
    assert "corrupt zarr metadata" in children["broken_member"].error


def test_permission_denied_folder(shared_tmp):
    """A folder the user may not read fails with a clear message.

    Root reads everything, so under root the check runs in a child process that drops
    to the unprivileged 'nobody' user first.
    """
    locked = shared_tmp / "locked"
    locked.mkdir()
    (locked / "inside.tif").write_bytes(b"x")
    locked.chmod(0o000)
    try:
        code = textwrap.dedent(
            f"""
            import os, sys
            from polystore_gui.model.listing import ListingError, entry_for_path, list_children
            root = entry_for_path("disk", {str(locked)!r})
            if os.geteuid() == 0:  # imports done: now become an ordinary user
                os.setgid(65534); os.setuid(65534)
            try:
                list(list_children(root))
            except ListingError as exc:
                print("MESSAGE:", exc)
                sys.exit(0)
            sys.exit(3)
            """
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert f"MESSAGE: Permission denied: {locked}" in out.stdout
    finally:
        locked.chmod(0o755)


def test_polystore_plate_arrays_list_their_virtual_files(demo_dir):
    """polystore's save_batch arrays expand into polystore's own file names."""
    from polystore.backend_registry import get_backend_instance

    images = demo_dir / "stores" / "polystore_plate" / "images"
    store = entry_for_path("disk", str(images))
    assert store.kind is EntryKind.PLATE and store.detail == "polystore plate, zarr v2"
    field = entry_for_path("zarr", str(images / "A" / "01" / "0" / "0"))
    assert field.kind is EntryKind.POLYSTORE_ARRAY and field.expandable
    files = _by_name(_all(field))
    assert len(files) == 8
    virtual = files["A01_c2_z3.tif"]
    assert virtual.kind is EntryKind.VIRTUAL_FILE
    assert virtual.path == str(images / "A01_c2_z3.tif")  # polystore's own address
    assert virtual.shape == (256, 256) and "plane [1, 2]" in virtual.detail
    backend = get_backend_instance("zarr")
    listed = {os.path.basename(str(p)) for p in backend.list_files(str(images))}
    assert set(files) <= listed
    # polystore loads the plane by the address the tree gives (even after the store moved:
    # polystore records absolute output paths, the tree addresses by store and name).
    plane = backend.load(virtual.path)
    assert plane.shape == (256, 256)


def test_large_listings_sort_with_numpy_to_the_same_order(monkeypatch):
    """Above NUMPY_SORT_FROM entries, names are sorted by numpy (a worker's C-level list sort
    would hold the interpreter lock for its whole length): the order is Python's."""
    import random

    import polystore_gui.model.entries as entries_module
    from polystore_gui.model.entries import Entry, EntryKind, sort_entries

    names = [f"{random.Random(i).choice('aAbBcCé')}{i:06d}.tif" for i in range(40_000)] + ["x\udcff.tif", "ä" * 300]
    entries = [Entry("disk", f"/d/{n}", n, EntryKind.DIRECTORY if i % 97 == 0 else EntryKind.IMAGE_FILE)
               for i, n in enumerate(names)]
    whole = {d: [e.name for e in sort_entries(entries, "name", d)] for d in (False, True)}
    monkeypatch.setattr(entries_module, "NUMPY_SORT_FROM", 1000)
    monkeypatch.setattr(entries_module, "_SLICE", 777)
    for descending in (False, True):
        pieces = [e.name for e in sort_entries(entries, "name", descending)]
        assert pieces == whole[descending]
    folders = [e for e in sort_entries(entries) if e.kind is EntryKind.DIRECTORY]
    assert sort_entries(entries)[: len(folders)] == folders  # folders first


def test_kinds_come_from_extensions_whatever_their_case(tmp_path):
    from polystore_gui.model.listing import entry_for_path, list_children

    for name in ("a.TIF", "b.tif", "c.Csv", "d", "e.unknown", "f.UNKNOWN", "g.Json"):
        (tmp_path / name).touch()
    kinds = {e.name: e.kind.value for batch in list_children(entry_for_path("disk", str(tmp_path))) for e in batch}
    assert kinds == {"a.TIF": "image", "b.tif": "image", "c.Csv": "table", "d": "file", "e.unknown": "file",
                     "f.UNKNOWN": "file", "g.Json": "text"}


@pytest.mark.parametrize("numpy_sort", [False, True], ids=["python-sort", "numpy-order"])
@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_a_disk_folder_listing_is_names_in_the_order_of_its_entries(tmp_path, monkeypatch, numpy_sort, descending):
    """sorted_listing gives a disk folder as a FolderNames (entries made when asked for): the
    same entries, in the same order, as listing the entries and sorting them; with numpy
    (50,000 names and more) the names are never moved, an order array says where each is."""
    import polystore_gui.model.entries as entries_module
    import polystore_gui.model.backends.disk as disk_module
    import polystore_gui.model.listing as listing_module
    from polystore_gui.model.entries import sort_entries
    from polystore_gui.model.listing import FolderNames, sorted_listing

    if numpy_sort:
        monkeypatch.setattr(entries_module, "NUMPY_SORT_FROM", 100)
        monkeypatch.setattr(disk_module, "NUMPY_SORT_FROM", 100)
        monkeypatch.setattr(entries_module.RunSorter, "RUN", 50)  # runs sorted by the helper while listing
        monkeypatch.setattr(entries_module, "_SLICE", 77)
    for i in range(600):  # mixed case, digits and punctuation: case-blind order, '_' before letters
        (tmp_path / f"{'aB_cD'[i % 5]}{'xY'[i % 2]}{i:04d}.{'tif' if i % 3 else 'CSV'}").touch()
    for i in range(40):
        (tmp_path / f"{'Ff'[i % 2]}older{i:02d}").mkdir()
    (tmp_path / ".hidden").touch()
    os.symlink(tmp_path / "nowhere.tif", tmp_path / "dangling.tif")
    os.symlink(tmp_path / "Folder00", tmp_path / "link-to-folder")
    with open(os.path.join(os.fsencode(tmp_path), b"odd_\xff.tif"), "wb"):
        pass
    root = entry_for_path("disk", str(tmp_path))

    parts = list(sorted_listing(root, show_hidden=False, descending=descending, batch_size=64))
    assert [what for what, _ in parts] == ["rows", "all"]
    assert 60 <= len(parts[0][1]) <= 64  # the first batch (less what is hidden), to show at once
    listing = parts[1][1]
    assert isinstance(listing, FolderNames) and (listing.order is not None) == numpy_sort
    expected = sort_entries(_all(root, show_hidden=False), "name", descending)
    assert len(listing) == len(expected) == 600 + 40 + 3
    assert list(listing) == expected  # every field: kinds, the links' details and errors, odd names
    assert [listing[i] for i in (0, 41, -1)] == [expected[i] for i in (0, 41, -1)]
    assert listing.folder_count() == 41 and all(e.kind is EntryKind.DIRECTORY for e in listing[:41])
    rest = listing[100:]
    assert len(rest) == len(expected) - 100 and list(rest) == expected[100:] and rest[5] == expected[105]
    assert rest.folder_count() == 0
    assert rest.name_list() == [os.path.basename(e.path) for e in expected[100:]]
    for i in (0, 7, 250, len(expected) - 101):
        assert rest.position(rest[i].path) == i
    assert rest.position(expected[3].path) is None  # in the folder, not in this slice
    assert rest.position(str(tmp_path / "absent.tif")) is None
    assert listing_module.listing_position(expected, expected[9].path) == 9  # a plain list too
    # The filter's case-folded names: worked out on demand, or prepared (in the worker) and
    # shared with the views made before.
    folded = [e.name.casefold() for e in expected]
    assert rest.folded_names() is None
    assert listing_module.folded_names(rest) == [n.casefold() for n in rest.name_list()]
    slow = {needle: [i for i, e in enumerate(expected[100:]) if needle.casefold() in e.name.casefold()]
            for needle in ("XY01", "older", "_x", "zzz")}
    assert {needle: listing_module.match_positions(rest, needle) for needle in slow} == slow
    listing.prepare_folded()
    assert rest.folded_names() == [n.casefold() for n in rest.name_list()]
    # ...and searched by numpy, to the same rows.
    assert {needle: listing_module.match_positions(rest, needle) for needle in slow} == slow
    assert rest.match_positions("xy01", offset=7) == [i + 7 for i in slow["XY01"]]
    assert [f for f, e in zip(listing.folded_names(), expected) if e.name.isascii()] == [
        f for f, e in zip(folded, expected) if e.name.isascii()]
    by_name = {e.name: e for e in listing}
    assert ".hidden" not in by_name
    assert "Broken symbolic link" in by_name["dangling.tif"].error
    assert by_name["link-to-folder"].kind is EntryKind.DIRECTORY
    assert any("not valid UTF-8" in e.detail for e in listing)


def test_numpy_sort_of_ascii_names_is_pythons_case_blind_order(monkeypatch):
    """ASCII names are sorted by numpy as lowered bytes: the order must be str.casefold's."""
    import random

    import polystore_gui.model.entries as entries_module
    from polystore_gui.model.entries import sort_names

    rng = random.Random(5)
    names = ["".join(rng.choice("aAzZ_-.09~ ") for _ in range(rng.randint(1, 12))) for _ in range(5000)]
    expected = {d: sorted(names, key=str.casefold, reverse=d) for d in (False, True)}
    monkeypatch.setattr(entries_module, "NUMPY_SORT_FROM", 100)
    monkeypatch.setattr(entries_module, "_SLICE", 499)
    monkeypatch.setattr(entries_module.RunSorter, "RUN", 700)  # runs sorted by the helper thread, merged
    ascending = sort_names(list(names))
    assert [n.casefold() for n in ascending] == [n.casefold() for n in expected[False]]
    assert sorted(ascending) == sorted(names)
    descending = sort_names(list(names), descending=True)
    assert [n.casefold() for n in descending] == [n.casefold() for n in expected[True]]
    # Names equal but for case: the exact name decides ('A' first), whatever order they came in.
    twins = [f"{'aA'[i % 2]}{i // 2:05d}" for i in range(3000)]
    assert sort_names(list(twins)) == sort_names(twins[::-1]) == sorted(twins, key=lambda n: (n.casefold(), n))


def test_names_sorted_in_runs_while_listed_come_out_in_pythons_order(monkeypatch):
    """RunSorter: runs sorted by a helper thread as names arrive, merged at the end; the
    order is name_key's (case-blind, then exact); a name that is not ASCII makes it step back (None)."""
    import random

    import polystore_gui.model.entries as entries_module
    from polystore_gui.model.entries import RunSorter

    monkeypatch.setattr(entries_module, "NUMPY_SORT_FROM", 100)
    monkeypatch.setattr(RunSorter, "RUN", 333)
    rng = random.Random(7)
    names = ["".join(rng.choice("aAbB_09.") for _ in range(rng.randint(1, 9))) for _ in range(4000)]
    for descending in (False, True):
        sorter = RunSorter()
        for i in range(0, len(names), 250):  # batches as the scan hands them over
            sorter.extend(names[i:i + 250])
        order = sorter.order(descending)
        assert sorter._pool is None  # its helper thread is let go
        got = [names[i] for i in order.tolist()]
        expected = sorted(names, key=lambda n: (n.casefold(), n))  # 'A' before 'a', whatever came first
        assert got == (expected[::-1] if descending else expected)
    sorter = RunSorter()
    sorter.extend(names[:1000] + ["é"] + names[1000:])
    assert sorter.order() is None
    small = RunSorter()
    small.extend(names[:50])
    assert small.order() is None  # few names: Python's sort is the better choice
