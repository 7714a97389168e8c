"""A failed copy waits for every write and upload it began before it cleans up.

``asyncio.gather`` raises the first failure while the other fetches go on: a write that
ended after the cleanup left a ``.NAME.partial-…`` folder at the destination (seen once in
the whole suite: test_server_stopping_mid_copy_leaves_nothing). These tests order the
events with the event loop itself, so they fail every time on the old code.
"""

from __future__ import annotations

import asyncio

import pytest

from polystore_gui.model import remote_copy


def test_a_failure_is_raised_only_after_every_begun_write_has_ended():
    ended: list[str] = []

    async def write(name: str, turns: int) -> None:
        for _ in range(turns):  # a write that needs many turns of the loop to finish
            await asyncio.sleep(0)
        ended.append(name)

    async def copy_one(name: str, turns: int) -> None:
        await remote_copy._finish_even_if_cancelled(write(name, turns))

    async def fail_soon() -> None:
        await asyncio.sleep(0)
        raise remote_copy.CopyError("the server went away")

    async def run() -> None:
        await remote_copy._all_or_none([copy_one("a", 50), copy_one("b", 80), fail_soon()])

    with pytest.raises(remote_copy.CopyError, match="went away"):
        asyncio.run(run())
    assert sorted(ended) == ["a", "b"]  # both writes ended before the failure reached the caller


def test_the_other_fetches_are_stopped_before_the_failure_is_raised():
    stopped: list[int] = []

    async def fetch(n: int) -> None:
        try:
            await asyncio.Event().wait()  # a fetch that would never end by itself
        finally:
            stopped.append(n)

    async def fail() -> None:
        await asyncio.sleep(0)
        raise remote_copy.CopyError("refused")

    async def run() -> list[int]:
        try:
            await remote_copy._all_or_none([fetch(1), fetch(2), fail()])
        except remote_copy.CopyError:
            return sorted(stopped)  # what had stopped when the caller heard of the failure
        raise AssertionError("the failure was not raised")

    assert asyncio.run(run()) == [1, 2]


class _UploadStore:
    """What ``_upload_all`` uses of a store when obstore's put is replaced."""

    client = None

    def _counted(self):
        pass


def _small_files(folder, count: int) -> list[tuple[str, str]]:
    """``count`` files of 1,000 bytes under ``folder``, as an upload's (key, path) list."""
    files = []
    for n in range(count):
        path = folder / f"c{n}"
        path.write_bytes(bytes([n]) * 1000)
        files.append((f"0/{n}", str(path)))
    return files


def test_an_upload_holds_no_more_files_in_memory_than_it_sends_at_once(tmp_path, monkeypatch):
    """Every file of an upload was read into memory before waiting for its turn to be sent:
    a copy to S3 held the whole dataset in memory (CONCURRENCY puts at a time)."""
    import obstore

    files = _small_files(tmp_path, 100)
    read_before_first_put: list[int] = []
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            opened.append(path)
        return real_open(path, *args, **kwargs)

    sent = []

    async def put_async(client, key, data):
        await asyncio.sleep(0)
        read_before_first_put.append(len(opened) - len(sent))  # files read and not yet sent
        sent.append(key)

    monkeypatch.setattr(obstore, "put_async", put_async)
    monkeypatch.setattr("builtins.open", counting_open)
    report = remote_copy.CopyReport("src", "dest")
    written: list[str] = []
    asyncio.run(remote_copy._upload_all(_UploadStore(), "dest", files, written, report, 100_000, lambda: False, None))
    assert len(written) == 100
    assert max(read_before_first_put) <= remote_copy.CONCURRENCY


@pytest.mark.parametrize("hostile", ["../escaped", "a/../../escaped", "/escaped", "a//b", "./x"])
def test_a_remote_key_that_leads_out_of_the_copy_is_refused(tmp_path, hostile):
    """A listing (S3 keys are any text) or consolidated metadata naming '..' made the copy
    write outside its staging folder (beside or above the destination)."""
    from polystore_gui.model.remote_store import ObjectFacts

    class Store:
        can_list = True

        async def walk_async(self, key, cancelled):
            yield [ObjectFacts("zarr.json", 2), ObjectFacts(hostile, 2)]

        async def get_buffer_async(self, key, cancelled, cache=False):
            return b"{}"

    staging = tmp_path / "dest" / "staging"
    report = remote_copy.CopyReport("src", "dest")
    with pytest.raises(remote_copy.CopyError, match="leads out of"):
        asyncio.run(remote_copy._fetch_all(Store(), remote_copy.parse_url("s3://b/img.zarr"),
                                           str(staging), report, lambda: False, None))
    assert not (tmp_path / "dest" / "escaped").exists() and not (tmp_path / "escaped").exists()


def test_a_cancelled_upload_sends_no_file_after_the_cancel(tmp_path, monkeypatch):
    """Cancelled once two files are sent: no further file is read or sent (every file had
    passed the look at the start; the next one went out at its turn)."""
    import obstore

    from polystore_gui.model.remote_errors import RemoteCancelled

    files = _small_files(tmp_path, 10)
    sent: list[str] = []

    async def put_async(client, key, data):
        await asyncio.sleep(0)
        sent.append(key)

    monkeypatch.setattr(obstore, "put_async", put_async)
    monkeypatch.setattr(remote_copy, "CONCURRENCY", 1)
    report = remote_copy.CopyReport("src", "dest")
    written: list[str] = []
    with pytest.raises(RemoteCancelled):
        asyncio.run(remote_copy._upload_all(_UploadStore(), "dest", files, written, report, 10_000,
                                            lambda: len(sent) >= 2, None))
    assert sent == ["dest/0/0", "dest/0/1"]
    assert written == sent  # what the cleanup deletes: every key that may have landed
