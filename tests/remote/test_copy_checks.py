"""What a remote copy checks and how its requests are cancelled, at the cost a 1 GiB copy
can afford (issue 17: the copy ran at 0.6x the bare client).

- The file written is read back and compared with the bytes received: a file that does
  not hold them fails the copy, and nothing is left at the destination.
- Every request in flight on a loop is watched by one timer (each request polled on its
  own timer before); cancelling still stops them within a poll, and a caller's own
  cancellation stays a cancellation.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from polystore_gui.model import remote_copy
from polystore_gui.model.cancel import CancelToken
from polystore_gui.model.remote_errors import RemoteCancelled
from polystore_gui.model.remote_cancel import POLL, _cancellable


def test_a_file_that_does_not_hold_the_bytes_received_fails_the_copy(s3_keys, tmp_path, monkeypatch):
    """A write that lands other bytes (a faulty disk or file system, here a write that
    flips one byte of one chunk) is caught by the read-back; the copy leaves nothing."""
    real_write = os.write
    spoiled: list[str] = []

    def spoiling_write(fd, data):
        target = os.readlink(f"/proc/self/fd/{fd}")
        if ".partial-" in target and "/c/" in target and not spoiled and len(data) > 1:
            spoiled.append(target)
            wrong = bytearray(data)
            wrong[len(wrong) // 2] ^= 0xFF
            return real_write(fd, bytes(wrong))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spoiling_write)
    with pytest.raises(remote_copy.CopyError, match="bytes written differ"):
        remote_copy.copy_to_local("s3://data/experiment.zarr", str(tmp_path))
    assert spoiled
    assert os.listdir(tmp_path) == []


def test_a_copy_writes_every_object_in_its_folder(s3_keys, remote_data, tmp_path):
    """Folders are made once before the writes (not per object): the nested chunk keys of
    every array land where zarr reads them, and the copy reads as the source."""
    import numpy as np
    import zarr

    report = remote_copy.copy_to_local("s3://data/experiment.zarr", str(tmp_path))
    copy = tmp_path / "experiment.zarr"
    assert report.objects == sum(len(files) for _, _, files in os.walk(copy))
    source = zarr.open_group(str(remote_data / "experiment.zarr"), mode="r")
    copied = zarr.open_group(str(copy), mode="r")
    for name in ("plain", "sharded"):
        np.testing.assert_array_equal(copied[name][...], source[name][...])
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def _timers(loop: asyncio.AbstractEventLoop) -> int:
    return sum(1 for handle in loop._scheduled if not handle.cancelled())  # type: ignore[attr-defined]


def test_requests_in_flight_share_one_watch_and_stop_together():
    """Fifty requests in flight: one timer on the loop (fifty before, each waking twenty
    times a second); cancelling the token stops them all within about one poll."""

    async def run() -> tuple[int, float, list[object]]:
        loop = asyncio.get_running_loop()
        token = CancelToken()
        wires = [loop.create_future() for _ in range(50)]  # requests that never answer
        tasks = [asyncio.ensure_future(_cancellable(w, token, "reading x")) for w in wires]
        for _ in range(3):
            await asyncio.sleep(0)  # every request starts and is watched
        timers = _timers(loop)
        start = time.monotonic()
        token.cancel()
        await asyncio.wait(tasks, timeout=10)
        took = time.monotonic() - start
        return timers, took, [t.exception() for t in tasks] + [w.cancelled() for w in wires]

    timers, took, outcomes = asyncio.run(run())
    assert timers == 1
    assert took < POLL + 0.5
    assert all(isinstance(o, RemoteCancelled) for o in outcomes[:50])
    assert all(o is True for o in outcomes[50:])  # the requests themselves were cancelled


def test_a_callers_cancellation_stays_a_cancellation():
    """Cancelling the task that awaits a request (the copy's other failure, zarr dropping a
    read) raises CancelledError, not RemoteCancelled, and cancels the request."""

    async def run() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        wire = loop.create_future()
        task = asyncio.ensure_future(_cancellable(wire, lambda: False, "reading x"))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True, wire.cancelled()
        return False, wire.cancelled()

    assert asyncio.run(run()) == (True, True)


def test_a_request_that_ends_is_no_longer_watched():
    async def run() -> tuple[bytes, int]:
        loop = asyncio.get_running_loop()
        wire = loop.create_future()
        loop.call_soon(wire.set_result, b"data")
        got = await _cancellable(wire, lambda: False, "reading x")
        from polystore_gui.model import remote_cancel

        return got, len(remote_cancel._watch().entries)

    assert asyncio.run(run()) == (b"data", 0)


def test_an_event_loop_that_ended_is_not_kept_by_its_watch():
    """Each asyncio.run makes a loop: its watch must not keep it (and its selector) alive."""
    import gc
    import weakref

    async def run() -> weakref.ref:
        loop = asyncio.get_running_loop()
        wire = loop.create_future()
        loop.call_soon(wire.set_result, b"data")
        await _cancellable(wire, lambda: False, "reading x")
        return weakref.ref(loop)

    ref = asyncio.run(run())
    gc.collect()
    assert ref() is None  # zarr's own loop, which lives on, may still have its watch


def test_the_read_back_takes_what_the_system_gives_in_pieces(tmp_path, monkeypatch):
    """pread may return less than asked (Linux: about 2 GiB a call at most): the check reads
    on, and still catches a file holding more or other bytes than received."""
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, offset: real_pread(fd, min(n, 1000), offset))
    data = memoryview(os.urandom(10_000))
    remote_copy._write_checked(str(tmp_path / "a"), data)
    assert (tmp_path / "a").read_bytes() == bytes(data)
    fd = os.open(tmp_path / "a", os.O_RDONLY)
    try:
        assert remote_copy._holds_exactly(fd, data)
        assert not remote_copy._holds_exactly(fd, data[:-1])  # the file holds one byte more
        other = bytearray(data)
        other[9_500] ^= 1
        assert not remote_copy._holds_exactly(fd, memoryview(other))
    finally:
        os.close(fd)


def test_a_remote_copy_is_flushed_to_disk_before_it_takes_its_name(s3_keys, remote_data, tmp_path, monkeypatch):
    """As a local copy (``transfers.local_copy``): the staging folder's file system is
    written to disk (syncfs) before the folder is renamed into place, so that after a
    crash the name never points at a copy only partly on disk."""
    from polystore_gui.model.transfers import staging

    events: list[tuple[str, str]] = []
    real_flush, real_rename = staging._flush, os.rename

    def flush(path):
        events.append(("flush", path))
        real_flush(path)

    def rename(src, dst, *args, **kwargs):
        events.append(("rename", os.fspath(src)))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(staging, "_flush", flush)
    monkeypatch.setattr(remote_copy, "_flush", flush, raising=False)
    monkeypatch.setattr(os, "rename", rename)
    report = remote_copy.copy_to_local("s3://data/experiment.zarr", str(tmp_path))
    assert os.path.isdir(report.destination)
    renames = [i for i, (what, _path) in enumerate(events) if what == "rename"]
    flushes = [i for i, (what, path) in enumerate(events) if what == "flush" and ".partial-" in path]
    assert renames and flushes and max(flushes) < min(renames)


def test_an_upload_is_seen_at_once_by_reads_that_had_found_nothing_or_older_bytes(s3_keys, tmp_path):
    """A user who uploads a chunk and previews it sees it: a 404 remembered for that key
    (``remote_absent``) and the bytes cached before an overwrite are forgotten by the upload."""
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import remote_store

    source = tmp_path / "fresh.zarr"
    (source / "c" / "0").mkdir(parents=True)
    (source / "c" / "0" / "0").write_bytes(b"new chunk")
    (source / "c" / "0" / "1").write_bytes(b"replacing")
    store = remote_store(parse_url("s3://upload/fresh.zarr"))
    store.absent.note("fresh.zarr/c/0/0")  # a preview asked for it before: 404
    store.put("fresh.zarr/c/0/1", b"older")
    assert store.get("fresh.zarr/c/0/0") is None and store.get("fresh.zarr/c/0/1") == b"older"
    remote_copy.copy_to_remote(str(source), "s3://upload", on_conflict="overwrite")
    assert store.get("fresh.zarr/c/0/0") == b"new chunk"
    assert store.get("fresh.zarr/c/0/1") == b"replacing"


def test_a_copy_asks_the_server_for_every_listed_object_even_one_just_answered_404(s3_keys, remote_data, tmp_path):
    """A chunk a preview found absent a moment ago, then written by another program, is in
    the listing the copy works from: the copy fetches it (the 404 remembered for previews,
    ``remote_absent``, is no answer for a copy) instead of failing with "vanished"."""
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import remote_store

    store = remote_store(parse_url("s3://data/experiment.zarr"))
    chunk = next(o.key for page in store.walk("experiment.zarr") for o in page if "/c/" in f"/{o.key}")
    store.absent.note(f"experiment.zarr/{chunk}")
    try:
        report = remote_copy.copy_to_local("s3://data/experiment.zarr", str(tmp_path))
    finally:
        store.absent.forget(f"experiment.zarr/{chunk}")
    copied = os.path.join(report.destination, *chunk.split("/"))
    with open(copied, "rb") as fh:
        assert fh.read() == (remote_data / "experiment.zarr" / chunk).read_bytes()
