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

from .transfer_runs import run


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


# -- item 5: links are copied as links -----------------------------------------------------------


@pytest.fixture
def linked(tmp_path):
    """A folder holding links of every kind, and a file outside it that a link points to."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.txt").write_text("not ours")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "data.txt").write_text("data")
    os.symlink("sub", src / "dir_link")  # a relative link to a folder inside the tree
    os.symlink("sub/data.txt", src / "file_link")
    os.symlink(src / "sub", src / "abs_inside")  # an absolute link into the tree
    os.symlink(outside / "precious.txt", src / "abs_outside")
    os.symlink("nowhere", src / "dangling")
    os.symlink("..", src / "sub" / "up")  # a loop if followed
    dst = tmp_path / "dst"
    dst.mkdir()
    return src, dst, outside


def test_links_in_a_folder_are_copied_as_links_and_verified(linked):
    src, dst, outside = linked
    (outcome,) = run(transfers.plan([disk(src)], disk(dst)))
    assert outcome.status == "done", outcome
    copy = dst / "src"
    assert os.readlink(copy / "dir_link") == "sub" and os.readlink(copy / "file_link") == "sub/data.txt"
    assert os.readlink(copy / "dangling") == "nowhere" and os.readlink(copy / "sub" / "up") == ".."
    assert os.readlink(copy / "abs_outside") == str(outside / "precious.txt")
    assert os.readlink(copy / "abs_inside") == str(copy / "sub")  # keeps pointing inside the copy
    assert (copy / "sub" / "data.txt").read_text() == "data" and not (copy / "sub").is_symlink()
    assert sorted(os.listdir(copy)) == sorted(os.listdir(src))


def test_a_move_moves_links_never_their_targets(linked):
    src, dst, outside = linked
    (outcome,) = run(transfers.plan([disk(src / "abs_outside")], disk(dst), move=True))
    assert outcome.status == "done", outcome
    assert os.readlink(dst / "abs_outside") == str(outside / "precious.txt") and not (src / "abs_outside").exists()
    assert (outside / "precious.txt").read_text() == "not ours"
    (outcome,) = run(transfers.plan([disk(src / "dir_link")], disk(dst), move=True))
    assert outcome.status == "done" and os.readlink(dst / "dir_link") == "sub"
    assert (src / "sub" / "data.txt").read_text() == "data"
    (outcome,) = run(transfers.plan([disk(src)], disk(dst), move=True))
    assert outcome.status == "done" and not src.exists()
    assert os.readlink(dst / "src" / "file_link") == "sub/data.txt"
    assert (outside / "precious.txt").read_text() == "not ours"


def test_links_going_into_memory_are_refused_or_left_out_per_entry(linked, tmp_path):
    from polystore.backend_registry import get_backend_instance

    src, _dst, _outside = linked
    memory = get_backend_instance("memory")
    root = f"/links_{uuid.uuid4().hex[:6]}"
    memory.ensure_directory(root)
    try:
        (item,) = transfers.plan([disk(src / "dir_link")], Address("memory", root))
        assert not item.runnable and "symbolic link" in item.error and "memory cannot hold links" in item.error
        (outcome,) = run(transfers.plan([disk(src)], Address("memory", root), move=True, allow_volatile_move=True))
        assert outcome.status == "done", outcome
        assert any("skipped dir_link: a symbolic link" in note for note in outcome.notes), outcome.notes
        assert memory.load(root + "/src/sub/data.txt") == "data"
        assert src.exists() and "source was kept" in outcome.message  # a move loses no link
    finally:
        memory.delete_all(root)


# -- item 6 (copy half): FIFOs, sockets and devices are never opened ----------------------------------


@pytest.fixture
def with_fifo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    os.mkfifo(src / "pipe")
    dst = tmp_path / "dst"
    dst.mkdir()
    return src, dst


def test_a_fifo_in_a_folder_is_skipped_and_said_while_the_rest_copies(with_fifo):
    src, dst = with_fifo
    (outcome,) = run(transfers.plan([disk(src)], disk(dst)))
    assert outcome.status == "done" and (dst / "src" / "a.txt").read_text() == "a"
    assert "skipped pipe: a FIFO is not a file" in outcome.notes
    assert not (dst / "src" / "pipe").exists()
    (outcome,) = run(transfers.plan([disk(src)], disk(dst), move=True, on_conflict=Conflict.RENAME))
    assert outcome.status == "done" and "source was kept" in outcome.message and (src / "pipe").exists()
    (item,) = transfers.plan([disk(src / "pipe")], disk(dst))
    assert not item.runnable and item.error == "a FIFO is not a file: nothing to copy"


def test_cp_of_a_fifo_or_a_folder_holding_one_never_hangs(with_fifo):
    src, dst = with_fifo
    out = cli("cp", str(src / "pipe"), str(dst), timeout=60)
    assert out.returncode == 1 and "a FIFO is not a file" in out.stderr, out
    out = cli("cp", str(src), str(dst), timeout=60)
    assert out.returncode == 1 and "skipped pipe: a FIFO is not a file" in out.stdout, out
    assert "1 entries not copied" in out.stderr
    assert (dst / "src" / "a.txt").read_text() == "a"


def test_a_file_swapped_for_a_fifo_after_listing_is_never_opened(tmp_path):
    from polystore_gui.model.local_entries import NotAFile, open_regular

    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotAFile, match="a FIFO is not a file"):
        open_regular(str(tmp_path / "pipe"))  # returns at once: opened non-blocking, refused on fstat
    os.symlink(tmp_path / "pipe", tmp_path / "link")
    with pytest.raises(NotAFile, match="is a link"):
        open_regular(str(tmp_path / "link"))


# -- item 4: a move into a volatile backend ----------------------------------------------------------


def test_a_move_into_memory_is_refused_unless_asked_for(tmp_path):
    from polystore.backend_registry import get_backend_instance

    (tmp_path / "f.txt").write_text("keep me")
    memory = get_backend_instance("memory")
    root = f"/volatile_{uuid.uuid4().hex[:6]}"
    memory.ensure_directory(root)
    try:
        (item,) = transfers.plan([disk(tmp_path / "f.txt")], Address("memory", root), move=True)
        assert not item.runnable and "lost when the program quits" in item.error
        assert run([item])[0].status == "failed" and (tmp_path / "f.txt").read_text() == "keep me"
        (item,) = transfers.plan([disk(tmp_path / "f.txt")], Address("memory", root), move=True,
                                 allow_volatile_move=True)
        assert run([item])[0].status == "done" and memory.load(root + "/f.txt") == "keep me"
    finally:
        memory.delete_all(root)


def test_cp_move_into_memory_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "f.txt").write_text("keep me")
    out = cli("cp", "--move", str(tmp_path / "f.txt"), "memory:/")
    assert out.returncode == 2 and "refused, nothing was done" in out.stderr and "keep no copy" in out.stderr
    assert "Traceback" not in out.stderr and (tmp_path / "f.txt").read_text() == "keep me"
    out = cli("cp", str(tmp_path / "f.txt"), "memory:/")  # a copy is harmless
    assert out.returncode == 0, out.stderr


# -- item 9: interrupted copies leave nothing that looks like data -------------------------------------


def _store(path, mib=72):
    """A zarr v3 array of incompressible chunks (about ``mib`` MiB stored): slow enough to catch."""
    array = zarr.create_array(str(path), shape=(mib, 1024, 1024), chunks=(1, 1024, 1024), dtype="uint8",
                              compressors=None)
    rng = np.random.default_rng(0)
    for i in range(mib):
        array[i] = rng.integers(0, 255, (1024, 1024), dtype=np.uint8)
    return path


def _partials(folder):
    return [n for n in os.listdir(folder) if transfers.PARTIAL in n]


def _kill_mid_copy(args, folder, ready):
    """Start ``polystore-gui ARGS``, wait (polling with a deadline) until ``ready(folder)``
    holds, then SIGKILL it. Returns what ``ready`` saw."""
    proc = subprocess.Popen([sys.executable, "-m", "polystore_gui", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        seen = None
        while time.monotonic() < deadline and proc.poll() is None:
            seen = ready(folder)
            if seen:
                break
            time.sleep(0.001)  # polling interval, not synchronisation: the loop ends on the condition
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    return seen


def test_a_killed_cp_of_a_store_leaves_no_look_alike_and_the_next_cp_cleans_it(tmp_path):
    src = _store(tmp_path / "big.zarr")
    dst = tmp_path / "dst"
    dst.mkdir()

    def some_chunks_copied(folder):
        for name in _partials(folder):
            chunks = os.path.join(folder, name, "c")
            if os.path.isdir(chunks) and len(os.listdir(chunks)) > 3:
                return name
        return None

    partial = _kill_mid_copy(["cp", str(src), str(dst)], str(dst), some_chunks_copied)
    assert partial, "the copy was never caught mid-way"
    assert _partials(dst) == [partial] and not os.path.exists(dst / "big.zarr")
    assert not partial.endswith(".zarr") and partial.startswith(".big.zarr" + transfers.PARTIAL)
    with pytest.raises(Exception):  # noqa: B017 - whatever zarr raises: it must not open as an array
        zarr.open_array(str(dst / partial), mode="r")
    # The next cp, of anything to anywhere, finds the killed one in the journal and cleans up.
    (tmp_path / "small.txt").write_text("s")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = cli("cp", str(tmp_path / "small.txt"), str(elsewhere))
    assert out.returncode == 0, out.stderr
    assert "interrupted copy of disk:" in out.stderr and "unfinished copy is removed" in out.stderr
    assert _partials(dst) == [] and os.listdir(dst) == []
    assert zarr.open_array(str(src), mode="r").shape == (72, 1024, 1024)  # the source untouched


def test_a_move_killed_while_deleting_its_source_is_finished_and_said_by_the_next_cp(tmp_path):
    """A real ``cp --move`` process killed (SIGKILL, by itself) half-way through deleting
    its source: the source is never left half-deleted under its name, and the next ``cp``
    finishes the move and says what is where."""
    src = tmp_path / "moving"
    src.mkdir()
    for i in range(20):
        (src / f"f{i:02}.bin").write_bytes(os.urandom(1000) + bytes([i]))
    dst = tmp_path / "dst"
    dst.mkdir()
    code = f"""
import os, shutil, signal, sys
from polystore_gui.model import transfers
def rmtree_then_die(path, *args, **kwargs):
    for name in sorted(os.listdir(path))[:5]:
        os.unlink(os.path.join(path, name))
    os.kill(os.getpid(), signal.SIGKILL)
transfers.shutil.rmtree = rmtree_then_die
from polystore_gui.cli import main
sys.exit(main(["cp", "--move", {str(src)!r}, {str(dst)!r}]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not src.exists()  # renamed aside before deleting: never half-deleted under its own name
    (aside,) = _partials(tmp_path)
    assert len(os.listdir(tmp_path / aside)) == 15 and len(os.listdir(dst / "moving")) == 20
    out = cli("cp", "--on-conflict", "skip", str(dst / "moving"), str(dst))
    assert "finished an interrupted move of disk:" in out.stderr and "is complete and verified" in out.stderr, out
    assert _partials(tmp_path) == [] and not src.exists()
    assert sorted(os.listdir(dst / "moving")) == [f"f{i:02}.bin" for i in range(20)]
    assert (dst / "moving" / "f07.bin").read_bytes()[-1] == 7
