"""Transfers between disk, memory and zarr: written aside, verified, placed; nothing lost.

Real polystore backends throughout (the registry's memory instance, its disk backend).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.transfers import Conflict

from .transfer_runs import run


def copy(sources, destination, **kw):
    return run(transfers.plan(sources, destination, **kw))


def no_partials(folder):
    return not [n for n in os.listdir(folder) if transfers.PARTIAL in n]


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.fixture
def memory():
    from polystore.backend_registry import get_backend_instance

    backend = get_backend_instance("memory")
    root = f"/transfers_{uuid.uuid4().hex[:6]}"
    backend.ensure_directory(root + "/in")
    backend.ensure_directory(root + "/out")
    yield backend, root
    backend.delete_all(root)


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(os.urandom(3 * transfers.BLOCK + 123))
    (src / "sub" / "b.txt").write_text("hello")
    tifffile.imwrite(src / "stack.tif", np.arange(3 * 40 * 50, dtype=np.uint16).reshape(3, 40, 50), photometric="minisblack")
    np.save(src / "table.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    store = zarr.open_group(str(src / "store.zarr"), mode="w")
    arr = store.create_array("raw", shape=(4, 64, 64), chunks=(1, 32, 32), dtype="uint16")
    arr[:] = np.arange(4 * 64 * 64, dtype=np.uint16).reshape(4, 64, 64)
    dst = tmp_path / "dst"
    dst.mkdir()
    return src, dst


# -- every pair ---------------------------------------------------------------------------------


def test_disk_to_disk_files_and_folders_are_copied_and_verified(tree):
    src, dst = tree
    (out_file, out_dir) = copy([Address("disk", str(src / "a.bin")), Address("disk", str(src / "sub"))], Address("disk", str(dst)))
    assert out_file.status == out_dir.status == "done", (out_file.message, out_dir.message)
    assert sha(dst / "a.bin") == sha(src / "a.bin") and (dst / "sub" / "b.txt").read_text() == "hello"
    assert out_file.nbytes == (src / "a.bin").stat().st_size
    assert no_partials(dst)


def test_zarr_to_zarr_copies_the_encoded_bytes_and_zarr_reads_them(tree):
    src, dst = tree
    target = zarr.open_group(str(dst / "target.zarr"), mode="w")
    del target
    (outcome,) = copy([Address("zarr", str(src / "store.zarr" / "raw"))], Address("zarr", str(dst / "target.zarr")))
    assert outcome.status == "done", outcome.message
    for rel in ("zarr.json", "c/0/0/0", "c/3/1/1"):
        assert sha(dst / "target.zarr" / "raw" / rel) == sha(src / "store.zarr" / "raw" / rel)
    np.testing.assert_array_equal(zarr.open_array(str(dst / "target.zarr" / "raw"))[...],
                                  zarr.open_array(str(src / "store.zarr" / "raw"))[...])
    # And a whole store onto disk is a folder copy.
    (outcome,) = copy([Address("disk", str(src / "store.zarr"))], Address("disk", str(dst)))
    assert outcome.status == "done" and zarr.open_group(str(dst / "store.zarr"))["raw"].shape == (4, 64, 64)


def test_images_and_arrays_become_zarr_arrays_chunked_per_plane(tree, memory):
    src, dst = tree
    backend, root = memory
    backend.save(np.ones((2, 3, 16, 16), np.uint8), root + "/in/cube")
    zarr.open_group(str(dst / "g.zarr"), mode="w")
    outcomes = copy([Address("disk", str(src / "stack.tif")), Address("memory", root + "/in/cube")],
                    Address("zarr", str(dst / "g.zarr")))
    assert [o.status for o in outcomes] == ["done", "done"], [o.message for o in outcomes]
    stack = zarr.open_array(str(dst / "g.zarr" / "stack.tif"))
    assert stack.chunks == (1, 40, 50)
    np.testing.assert_array_equal(stack[...], tifffile.imread(src / "stack.tif"))
    assert zarr.open_array(str(dst / "g.zarr" / "cube")).chunks == (1, 1, 16, 16)
    assert transfers.plane_chunks((2, 10000, 9000)) == (1, 2048, 2048)


def test_disk_and_zarr_into_memory_and_memory_to_memory(tree, memory):
    src, _dst = tree
    backend, root = memory
    outcomes = copy(
        [Address("disk", str(src / "stack.tif")), Address("disk", str(src / "sub")),
         Address("zarr", str(src / "store.zarr" / "raw"))],
        Address("memory", root + "/out"),
    )
    assert [o.status for o in outcomes] == ["done"] * 3, [o.message for o in outcomes]
    np.testing.assert_array_equal(backend.load(root + "/out/stack.tif"), tifffile.imread(src / "stack.tif"))
    assert backend.load(root + "/out/sub/b.txt") == "hello"
    assert backend.load(root + "/out/raw").shape == (4, 64, 64)
    (again,) = copy([Address("memory", root + "/out/stack.tif")], Address("memory", root + "/in"))
    assert again.status == "done"
    copied = backend.load(root + "/in/stack.tif")
    assert copied is not backend.load(root + "/out/stack.tif")  # a copy, not the same object
    assert not [k for k in backend._memory_store if transfers.PARTIAL in k]


def test_memory_to_disk_writes_through_polystore_and_reads_back(tree, memory):
    _src, dst = tree
    backend, root = memory
    backend.save(np.arange(6, dtype=np.int16).reshape(2, 3), root + "/in/plain")
    backend.save(np.ones((5, 7), np.uint16), root + "/in/img.tif")
    outcomes = copy([Address("memory", root + "/in/plain"), Address("memory", root + "/in/img.tif")], Address("disk", str(dst)))
    assert [o.status for o in outcomes] == ["done", "done"], [o.message for o in outcomes]
    np.testing.assert_array_equal(np.load(dst / "plain"), np.arange(6, dtype=np.int16).reshape(2, 3))
    np.testing.assert_array_equal(tifffile.imread(dst / "img.tif"), np.ones((5, 7), np.uint16))


# -- conflicts and move -------------------------------------------------------------------------


def test_conflicts_are_never_resolved_silently(tree):
    src, dst = tree
    (dst / "a.bin").write_bytes(b"old")
    source = [Address("disk", str(src / "a.bin"))]
    (fail,) = copy(source, Address("disk", str(dst)))
    assert fail.status == "failed" and "already exists" in fail.message and (dst / "a.bin").read_bytes() == b"old"
    (skip,) = copy(source, Address("disk", str(dst)), on_conflict=Conflict.SKIP)
    assert skip.status == "skipped" and (dst / "a.bin").read_bytes() == b"old"
    (rename,) = copy(source, Address("disk", str(dst)), on_conflict=Conflict.RENAME)
    assert rename.status == "done" and rename.item.destination.path == str(dst / "a (2).bin")
    assert (dst / "a.bin").read_bytes() == b"old" and sha(dst / "a (2).bin") == sha(src / "a.bin")
    (over,) = copy(source, Address("disk", str(dst)), on_conflict=Conflict.OVERWRITE)
    assert over.status == "done" and sha(dst / "a.bin") == sha(src / "a.bin")
    assert no_partials(dst)


def test_move_deletes_the_source_only_after_the_copy_verified(tree, memory):
    src, dst = tree
    (moved,) = copy([Address("disk", str(src / "sub"))], Address("disk", str(dst)), move=True)
    assert moved.status == "done" and not (src / "sub").exists() and (dst / "sub" / "b.txt").exists()
    (dst / "a.bin").write_bytes(b"taken")
    (kept,) = copy([Address("disk", str(src / "a.bin"))], Address("disk", str(dst)), move=True)
    assert kept.status == "failed" and (src / "a.bin").exists()


def test_cancel_leaves_no_destination_and_an_untouched_source(tree):
    src, dst = tree
    before = sha(src / "a.bin")
    calls = {"n": 0}

    def cancel_after_a_block():
        calls["n"] += 1
        return calls["n"] > 2

    (outcome,) = run(transfers.plan([Address("disk", str(src / "a.bin"))], Address("disk", str(dst))), cancel_after_a_block)
    assert outcome.status == "cancelled"
    assert os.listdir(dst) == [] and sha(src / "a.bin") == before
    (outcome,) = run(transfers.plan([Address("disk", str(src / "sub"))], Address("disk", str(dst))), lambda: True)
    assert outcome.status == "cancelled"
    assert transfers.settle(30) and os.listdir(dst) == []  # the written folder is deleted in the background


# -- bad input --------------------------------------------------------------------------------------


def test_destination_inside_the_source_and_sinks_are_refused(tree):
    src, _dst = tree
    (inside,) = copy([Address("disk", str(src))], Address("disk", str(src / "sub")))
    assert inside.status == "failed" and "cannot be copied into itself" in inside.message
    (sink,) = copy([Address("disk", str(src / "a.bin"))], Address("napari_stream", ""))
    assert sink.status == "failed" and "not a storage backend" in sink.message
    (text,) = copy([Address("disk", str(src / "sub" / "b.txt"))], Address("zarr", str(src / "store.zarr")))
    assert text.status == "failed" and "not an array" in text.message.lower() or "No reader" in text.message
    assert not [n for n in os.listdir(src / "store.zarr") if transfers.PARTIAL in n]


def test_a_source_that_vanishes_mid_transfer_fails_that_item_only(tree):
    src, dst = tree
    big = src / "big.bin"
    big.write_bytes(os.urandom(3 * transfers.BLOCK))
    items = transfers.plan([Address("disk", str(src / "sub")), Address("disk", str(src / "a.bin")), Address("disk", str(big))],
                           Address("disk", str(dst)))
    # The folder and the file vanish after the transfer was planned, before their turn.
    (src / "sub" / "b.txt").unlink()
    (src / "sub").rmdir()
    (src / "a.bin").unlink()
    outcomes = run(items[:2])
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert all("vanished" in o.message for o in outcomes), [o.message for o in outcomes]
    # Mid-copy: the file is open, so the bytes read are a consistent whole; the copy matches them.
    gen = transfers.run_item(items[2])
    next(gen)
    data = big.read_bytes()
    big.unlink()
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        assert stop.value.status == "done"
    assert (dst / "big.bin").read_bytes() == data
    assert sorted(os.listdir(dst)) == ["big.bin"]  # nothing partial from the failed items
    gone = transfers.plan([Address("disk", str(src / "nothing.tif"))], Address("disk", str(dst)))
    assert run(gone)[0].status == "failed" and "does not exist" in gone[0].error


def test_destination_not_writable(shared_tmp, tree):
    src, _dst = tree
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    source = shared_tmp / "file.bin"
    source.write_bytes(b"x" * 1000)
    source.chmod(0o644)
    code = textwrap.dedent(f"""
        import os
        from polystore_gui.model import transfers
        from polystore_gui.model.address import Address
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)
        items = transfers.plan([Address("disk", {str(source)!r})], Address("disk", {str(locked)!r}))
        gen = transfers.run_item(items[0])
        try:
            while True: next(gen)
        except StopIteration as stop:
            print(stop.value.status, stop.value.message)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("failed permission denied"), out.stdout
    assert os.listdir(locked) == []


def test_sigkill_mid_copy_leaves_no_partial_destination_and_the_source_intact(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)  # 1 GiB, sparse: copying it takes a while
    dst = tmp_path / "dst"
    dst.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "polystore_gui", "cp", str(big), str(dst)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Wait until the copy is under way: the child has the source open and has written some of it.
    fd_dir = f"/proc/{proc.pid}/fd"
    started = False
    while time.monotonic() < deadline and not started:
        try:
            targets = [os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)]
        except OSError:
            targets = []
        started = any(t.startswith(str(dst)) for t in targets)  # its unnamed copy is open
        if not started:
            time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert started, "the copy never started"
    proc.wait(10)
    assert os.listdir(dst) == []  # O_TMPFILE: the kernel dropped the unfinished copy
    assert big.stat().st_size == 1 << 30
    # A hidden temporary left by a killed process elsewhere is swept by the next transfer.
    stale = dst / f".x{transfers.PARTIAL}999999-abcdef12"
    stale.mkdir()
    (small := tmp_path / "small.bin").write_bytes(b"1")
    assert copy([Address("disk", str(small))], Address("disk", str(dst)))[0].status == "done"
    assert sorted(os.listdir(dst)) == ["small.bin"]


def test_a_folder_of_tiffs_dropped_on_zarr_becomes_a_store_polystore_lists_and_loads(tmp_path):
    from polystore import FileManager
    from polystore.backend_registry import create_storage_registry

    folder = tmp_path / "plate_tiffs"
    folder.mkdir()
    planes = {f"A0{i}_c1.tif": np.full((3, 40, 50), i, np.uint16) for i in range(1, 4)}
    for name, data in planes.items():
        tifffile.imwrite(folder / name, data, photometric="minisblack")
    (folder / "meta.json").write_text('{"plate": "demo"}')
    (folder / "notes.bin").write_bytes(b"?")
    out = tmp_path / "out.zarr"
    zarr.open_group(str(out), mode="w", zarr_format=2)
    (outcome,) = copy([Address("disk", str(folder))], Address("zarr", str(out)))
    assert outcome.status == "done", outcome.message
    assert any("notes.bin" in note for note in outcome.notes)
    store = str(out / "plate_tiffs")
    fm = FileManager(create_storage_registry())
    assert fm.list_dir(store, "zarr") == sorted(planes)
    for name, data in planes.items():
        np.testing.assert_array_equal(fm.load(f"{store}/{name}", "zarr"), data)
        assert zarr.open_array(f"{store}/{name}").chunks == (1, 40, 50)  # per plane, not one chunk
    assert fm.load(f"{store}/meta.json", "zarr") == {"plate": "demo"}
    assert no_partials(out)


def test_the_user_can_pick_the_chunks_of_arrays_written_into_zarr(tmp_path, memory):
    backend, root = memory
    data = np.arange(6 * 50 * 60, dtype=np.uint16).reshape(6, 50, 60)
    backend.save(data, root + "/in/cube")
    zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    (outcome,) = copy([Address("memory", root + "/in/cube")], Address("zarr", str(tmp_path / "g.zarr")), chunks=(4, 32, 32))
    assert outcome.status == "done", outcome.message
    written = zarr.open_array(str(tmp_path / "g.zarr" / "cube"))
    assert written.chunks == (4, 32, 32)
    np.testing.assert_array_equal(written[...], data)
    assert transfers.fit_chunks((512, 512), (3, 100, 200)) == (1, 100, 200)
    assert transfers.fit_chunks(None, (3, 100, 200)) == (1, 100, 200)
