"""The files of a folder or store copied onto disk: copied in the kernel, read back, compared.

Issue 15's 4 MiB-chunk copy: the bytes now go through ``copy_file_range`` and the copy is
read back and compared with its source; these tests hold that the comparison stays real
(a copy that differs fails the item and leaves nothing), that a file system refusing the
in-kernel copy still gets a verified copy, and that a plain copy never imports zarr.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.transfers import file_bytes

from .transfer_runs import run


@pytest.fixture
def store(tmp_path):
    """A folder shaped like a zarr array's chunks: sizes below, at and above one block."""
    src = tmp_path / "src"
    (src / "c" / "0").mkdir(parents=True)
    sizes = {"0": 4 << 20, "1": transfers.BLOCK, "2": 2 * transfers.BLOCK + 7, "3": 0, "4": 33}
    for name, size in sizes.items():
        (src / "c" / "0" / name).write_bytes(os.urandom(size))
    os.chmod(src / "c" / "0" / "4", 0o640)
    dst = tmp_path / "dst"
    dst.mkdir()
    return src, dst, sizes


def _copy(src, dst):
    (outcome,) = run(transfers.plan([Address("disk", str(src))], Address("disk", str(dst))))
    return outcome


def _files(root):
    return {os.path.relpath(os.path.join(r, f), root) for r, _d, fs in os.walk(root) for f in fs}


def test_every_file_arrives_byte_for_byte_with_its_mode(store):
    src, dst, sizes = store
    outcome = _copy(src, dst)
    assert outcome.status == "done", outcome.message
    assert outcome.nbytes == sum(sizes.values())
    for name in sizes:
        assert (dst / "src" / "c" / "0" / name).read_bytes() == (src / "c" / "0" / name).read_bytes()
    assert stat.S_IMODE(os.stat(dst / "src" / "c" / "0" / "4").st_mode) == 0o640
    assert os.listdir(dst) == ["src"]


@pytest.mark.parametrize("where", ["0", "2", "4"])
def test_a_copy_that_differs_from_its_source_fails_and_leaves_nothing(store, monkeypatch, where):
    """The destination is altered once written (one flipped byte, in a file of one block, in
    the last block of a larger one, or in a small file written from the buffer): the
    read-back finds it."""
    src, dst, _sizes = store
    kernel_copy, pwrite = file_bytes._kernel_copy, os.pwrite

    def altered(fd):
        return os.readlink(f"/proc/self/fd/{fd}").endswith(os.sep + where)

    def corrupting_kernel_copy(source_fd, copy_fd, offset):
        n = kernel_copy(source_fd, copy_fd, offset)
        if n and altered(source_fd):
            last = os.pread(copy_fd, 1, offset + n - 1)
            pwrite(copy_fd, bytes([last[0] ^ 0xFF]), offset + n - 1)
        return n

    def corrupting_pwrite(fd, data, offset):
        data = bytes(data)
        if data and altered(fd) and transfers.PARTIAL in os.readlink(f"/proc/self/fd/{fd}"):
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        return pwrite(fd, data, offset)

    monkeypatch.setattr(file_bytes, "_kernel_copy", corrupting_kernel_copy)
    monkeypatch.setattr(os, "pwrite", corrupting_pwrite)
    outcome = _copy(src, dst)
    assert outcome.status == "failed"
    assert "verification failed" in outcome.message and f"c/0/{where}" in outcome.message
    assert transfers.settle(timeout=30)
    assert os.listdir(dst) == []
    assert _files(src) == {f"c/0/{n}" for n in ("0", "1", "2", "3", "4")}


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP])
def test_a_file_system_refusing_the_kernel_copy_still_gets_a_verified_copy(store, monkeypatch, refusal):
    src, dst, sizes = store
    calls = []

    def refusing(source_fd, copy_fd, offset):
        calls.append(offset)
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(file_bytes, "_kernel_copy", refusing)
    outcome = _copy(src, dst)
    assert outcome.status == "done", outcome.message
    assert calls  # it was tried, then the bytes went through the buffer
    for name in sizes:
        assert (dst / "src" / "c" / "0" / name).read_bytes() == (src / "c" / "0" / name).read_bytes()


def test_an_error_of_the_disk_during_the_kernel_copy_fails_the_item(store, monkeypatch):
    """Not every error means "cannot copy in the kernel": a full disk is reported as such."""
    src, dst, _sizes = store

    def full(source_fd, copy_fd, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(file_bytes, "_kernel_copy", full)
    outcome = _copy(src, dst)
    assert outcome.status == "failed" and "space" in outcome.message.lower(), outcome.message
    assert transfers.settle(timeout=30)
    assert os.listdir(dst) == []


def test_copying_a_folder_onto_disk_does_not_import_zarr(store):
    """zarr's import (0.2-0.5 s) was paid by every copy, only to learn that the destination
    is in no zarr group whose consolidated metadata would need writing again."""
    src, dst, _sizes = store
    code = textwrap.dedent(f"""
        import sys
        from polystore_gui.model import transfers
        from polystore_gui.model.address import Address
        (item,) = transfers.plan([Address("disk", {str(src)!r})], Address("disk", {str(dst)!r}))
        gen = transfers.run_item(item)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            print(stop.value.status, "zarr" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["done", "False"], out.stderr


def test_a_resumed_copy_stops_comparing_a_file_already_there_when_cancelled(tmp_path):
    """A resumed copy compares each file already there with its source in full: for a big
    file that is seconds of reading, which a cancel must cut short like any copy's."""
    from polystore_gui.model.transfers import local_copy
    from polystore_gui.model.transfers.items import BLOCK, Cancelled

    data = os.urandom(3 * BLOCK)
    (tmp_path / "source").write_bytes(data)
    (tmp_path / "target").write_bytes(data)
    kept: list[int] = []
    with pytest.raises(Cancelled):
        local_copy._copy_or_keep(str(tmp_path / "source"), str(tmp_path / "target"), lambda: True, kept)
    assert kept == []
