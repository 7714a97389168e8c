"""Large objects of a remote copy written past the page cache and read back from the disk
(``model.direct_write``, issue 17: the page-cache writes were the copy's largest CPU cost).

What a user relies on: the copy holds exactly the server's bytes whatever path the bytes
took; a file that does not hold them fails the copy and leaves nothing; a file system or
device that refuses direct I/O gets the usual write; a server that stops or a cancel
mid-copy leaves nothing at the destination.
"""

from __future__ import annotations

import errno
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from polystore_gui.model import direct_write, remote_copy
from polystore_gui.model.direct_write import ALIGN, BLOCK, DIRECT_FROM
from polystore_gui.model.remote_errors import RemoteCancelled

LARGE = "large.zarr"


@pytest.fixture(scope="module")
def large_store(moto_s3, tmp_path_factory):
    """``s3://data/large.zarr``: 1.1 MB chunks (one block each) and a 4.2 MB one (two
    blocks, the second not a whole number of disk blocks); returns the local original."""
    import zarr

    root = tmp_path_factory.mktemp("large") / LARGE
    group = zarr.open_group(str(root), mode="w", zarr_format=3)
    rng = np.random.default_rng(17)
    planes = group.create_array("planes", shape=(3, 1100, 1000), chunks=(1, 1100, 1000), dtype="uint8",
                                compressors=None)
    planes[...] = rng.integers(0, 255, planes.shape, dtype=np.uint8)
    line = group.create_array("line", shape=(BLOCK + 5,), chunks=(BLOCK + 5,), dtype="uint8", compressors=None)
    line[...] = rng.integers(0, 255, line.shape, dtype=np.uint8)
    from tests.remote_servers import upload_folder

    upload_folder(moto_s3.client(), "data", str(root), LARGE)
    return root


def _large_objects(root) -> int:
    return sum(1 for folder, _, files in os.walk(root) for f in files
               if os.path.getsize(os.path.join(folder, f)) >= DIRECT_FROM)


def _same_store(copy, original) -> None:
    import zarr

    a, b = zarr.open_group(str(copy), mode="r"), zarr.open_group(str(original), mode="r")
    for name in ("planes", "line"):
        np.testing.assert_array_equal(a[name][...], b[name][...])


def _spy_direct(monkeypatch) -> list[bool]:
    answers: list[bool] = []
    real = direct_write.write_direct_checked

    def spy(path, view):
        answers.append(real(path, view))
        return answers[-1]

    monkeypatch.setattr(remote_copy, "write_direct_checked", spy)
    return answers


def test_large_objects_go_past_the_page_cache_and_the_copy_holds_the_servers_bytes(
        s3_keys, large_store, tmp_path, monkeypatch):
    if not direct_write.direct_possible(str(tmp_path)):
        pytest.skip("the test folder is on a file system without direct I/O (not ext4 or XFS)")
    answers = _spy_direct(monkeypatch)
    report = remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path))
    assert answers == [True] * _large_objects(large_store)  # every large object, and only those
    _same_store(tmp_path / LARGE, large_store)
    for folder, _, files in os.walk(large_store):
        for name in files:
            mine = tmp_path / LARGE / os.path.relpath(os.path.join(folder, name), large_store)
            assert mine.read_bytes() == Path(folder, name).read_bytes()
    assert report.objects == sum(len(f) for _, _, f in os.walk(large_store))
    assert os.listdir(tmp_path) == [LARGE]


def test_a_large_object_that_lands_other_bytes_fails_the_copy_and_leaves_nothing(
        s3_keys, large_store, tmp_path, monkeypatch):
    if not direct_write.direct_possible(str(tmp_path)):
        pytest.skip("the test folder is on a file system without direct I/O (not ext4 or XFS)")
    real_pwrite = os.pwrite
    spoiled: list[str] = []

    def spoiling_pwrite(fd, data, offset):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if ".partial-" in target and "/line/" in target and offset >= BLOCK and not spoiled:
            spoiled.append(target)  # the second block, the one not a whole number of disk blocks
            data[2] ^= 0xFF  # in the aligned buffer itself (a copy would not be aligned for direct I/O)
            return real_pwrite(fd, data, offset)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", spoiling_pwrite)
    with pytest.raises(remote_copy.CopyError, match="bytes written differ"):
        remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path))
    assert spoiled
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("refused", ["open", "write"])
def test_a_system_that_refuses_direct_io_gets_the_usual_write(s3_keys, large_store, tmp_path, monkeypatch, refused):
    """A file system that refuses O_DIRECT when the file is opened (tmpfs before Linux
    6.6, FUSE), or a device that refuses the alignment when written: the object is written
    through the page cache instead, checked as before; no file of the refused try remains."""
    real_open, real_pwrite = os.open, os.pwrite

    def refusing_open(path, flags, mode=0o777, **kw):
        if refused == "open" and flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode, **kw)

    def refusing_pwrite(fd, data, offset):
        if refused == "write" and _is_direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(os, "pwrite", refusing_pwrite)
    monkeypatch.setattr(remote_copy, "direct_possible", lambda folder: True)
    answers = _spy_direct(monkeypatch)
    remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path))
    assert answers and not any(answers)
    _same_store(tmp_path / LARGE, large_store)
    assert os.listdir(tmp_path) == [LARGE]


def _is_direct(fd: int) -> bool:
    import fcntl

    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)


def test_a_cancelled_copy_starts_no_request_after_the_cancel_and_leaves_nothing(
        s3_keys, large_store, tmp_path, monkeypatch):
    """Cancelled once two objects have arrived: the copy stops there (no further request
    is started: each waited for its turn and went out before), and leaves nothing."""
    from polystore_gui.model.remote_store import RemoteStore

    monkeypatch.setattr(remote_copy, "CONCURRENCY", 1)
    started: list[str] = []
    arrived: list[str] = []
    real = RemoteStore.get_buffer_async

    async def counting(self, key, *args, **kw):
        started.append(key)
        data = await real(self, key, *args, **kw)
        arrived.append(key)
        return data

    monkeypatch.setattr(RemoteStore, "get_buffer_async", counting)
    with pytest.raises(RemoteCancelled):
        remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path), cancelled=lambda: len(arrived) >= 2)
    assert len(started) == 2
    assert os.listdir(tmp_path) == []


def test_a_server_stopping_mid_copy_of_large_objects_leaves_nothing(aws_env, moto_s3, large_store, tmp_path):
    from polystore_gui.model.remote_errors import RemoteError
    from tests.remote_servers import MotoS3, stop_server_mid_copy

    server = MotoS3().start(make_user=False)  # moto's backend is shared: the same bucket, another server
    aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_key)
    aws_env.setenv("AWS_ENDPOINT_URL", server.endpoint)
    calls = stop_server_mid_copy(aws_env, server, after=1, concurrency=1)  # once the first object arrived
    with pytest.raises((RemoteError, remote_copy.CopyError)):
        remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path))
    assert calls["n"] >= 1
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("size", [DIRECT_FROM, BLOCK, BLOCK + 1, 2 * BLOCK + ALIGN - 1])
def test_the_direct_write_holds_exactly_the_bytes_at_every_size(tmp_path, size):
    if not direct_write.direct_possible(str(tmp_path)):
        pytest.skip("the test folder is on a file system without direct I/O (not ext4 or XFS)")
    data = memoryview(os.urandom(size))
    path = str(tmp_path / "object")
    assert direct_write.write_direct_checked(path, data)
    assert (tmp_path / "object").read_bytes() == bytes(data)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        assert direct_write._holds_exactly(fd, data)
        assert not direct_write._holds_exactly(fd, data[:-1])  # the file holds one byte more
        other = bytearray(data)
        other[-1] ^= 1
        assert not direct_write._holds_exactly(fd, memoryview(other))
    finally:
        os.close(fd)


def test_memory_and_special_file_systems_are_written_as_usual():
    assert not direct_write.direct_possible("/proc")
    if os.path.isdir("/dev/shm"):  # tmpfs
        assert not direct_write.direct_possible("/dev/shm")


def _held_by_direct_write() -> int:
    """Bytes allocated by ``model.direct_write`` and still alive (its aligned buffers)."""
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, direct_write.__file__)])
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_writing_threads_that_live_on_hold_a_bounded_set_of_buffers(tmp_path):
    """A long-lived pool's threads (zarr's event loop keeps its executor's threads for the
    process's life) do not each keep a 4 MiB buffer: the memory kept is bounded whatever the
    number of threads that wrote, and none is kept once the copies release it."""
    if not direct_write.direct_possible(str(tmp_path)):
        pytest.skip("the test folder is on a file system without direct I/O (not ext4 or XFS)")
    threads = 12
    data = memoryview(os.urandom(DIRECT_FROM))
    wrote = threading.Barrier(threads + 1)
    stop = threading.Event()
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            assert direct_write.write_direct_checked(str(tmp_path / f"object-{n}"), data)
        except BaseException as exc:
            failures.append(exc)
        wrote.wait(timeout=60)
        stop.wait(timeout=60)  # alive, as a pool's idle thread, until measured

    tracemalloc.start()
    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    try:
        for worker in workers:
            worker.start()
        wrote.wait(timeout=60)
        held = _held_by_direct_write()
        assert not failures
        # At most KEEP buffers (each BLOCK + ALIGN bytes, plus a bytearray's own few bytes and
        # the idle list's entries): less than one buffer more, far from one a thread.
        assert held < (direct_write.KEEP + 1) * BLOCK < threads * BLOCK, held
        direct_write.release_buffers()
        assert _held_by_direct_write() < BLOCK
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        tracemalloc.stop()
    for n in range(threads):
        assert (tmp_path / f"object-{n}").read_bytes() == bytes(data)


def test_a_copy_that_ended_keeps_no_buffer(s3_keys, large_store, tmp_path):
    """The copy's writing threads stay (zarr's loop executor): its buffers go when it ends."""
    if not direct_write.direct_possible(str(tmp_path)):
        pytest.skip("the test folder is on a file system without direct I/O (not ext4 or XFS)")
    tracemalloc.start()
    try:
        remote_copy.copy_to_local(f"s3://data/{LARGE}", str(tmp_path))
        assert _held_by_direct_write() < BLOCK
    finally:
        tracemalloc.stop()
    _same_store(tmp_path / LARGE, large_store)
