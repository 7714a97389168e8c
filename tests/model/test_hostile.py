"""Hostile files and malformed stores in the model (issue 14, items 6-8): never a hang, a
traceback or a blow-up; the bad entry says what is wrong and its siblings list as usual.

Calls that would block on a FIFO if a fix regressed run in a daemon thread with a
deadline, so that the suite fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from polystore_gui.model.arrays import inspect
from polystore_gui.model.entries import EntryKind
from polystore_gui.model.lazy import MAX_PLANE_CHUNKS, NeedsConfirmation, PreviewError, open_preview
from polystore_gui.model.listing import describe, entry_for_path, list_children, sorted_listing
from polystore_gui.model.safe_files import (
    FileTooLargeError, NotRegularFileError, open_regular, read_capped,
)
from polystore_gui.model.zarr_nodes import CorruptMetadataError, read_node

DEADLINE_S = 20


def within_deadline(call: Callable[[], Any]) -> Any:
    """``call()`` in a daemon thread; fails the test if it does not return in time."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE_S)
    if thread.is_alive():
        pytest.fail(f"did not return within {DEADLINE_S} s (blocked, e.g. on a FIFO)")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _array_doc(shape: list[int], chunks: list[int], dtype: str = "uint8") -> dict[str, Any]:
    return {"zarr_format": 3, "node_type": "array", "shape": shape, "data_type": dtype,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
            "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes"}]}


def _write_array(path, shape, chunks, dtype="uint8"):
    path.mkdir()
    (path / "zarr.json").write_text(json.dumps(_array_doc(shape, chunks, dtype)))
    return path


# -- FIFOs, devices, unreadable files (item 6, item 8) ------------------------------------------


def test_a_fifo_is_never_opened_by_info_preview_or_the_listing(tmp_path):
    fifo = tmp_path / "frames.tif"
    os.mkfifo(fifo)
    (tmp_path / "ok.json").write_text("{}")
    info = within_deadline(lambda: inspect("disk", str(fifo)))
    assert info.error.startswith("a named pipe (FIFO), not a regular file")
    preview = within_deadline(lambda: open_preview("disk", str(fifo)))
    assert not preview.layers and "named pipe" in preview.notes[0]
    entries = within_deadline(lambda: [e for b in list_children(entry_for_path("disk", str(tmp_path))) for e in b])
    row = {e.name: e for e in entries}["frames.tif"]
    assert row.kind is EntryKind.FILE and "FIFO" in row.detail  # not an "image" the preview would open
    details = within_deadline(lambda: [e for b in describe(entries) for e in b])
    assert {e.name for e in details} == {"frames.tif", "ok.json"}


def test_a_fifo_named_like_metadata_is_never_read(tmp_path):
    store = tmp_path / "s.zarr"
    store.mkdir()
    os.mkfifo(store / ".zattrs")
    (store / ".zgroup").write_text('{"zarr_format": 2}')
    meta = within_deadline(lambda: read_node(str(store)))
    assert meta.node_type == "group" and meta.attributes == {}
    with pytest.raises(NotRegularFileError, match="named pipe"):
        within_deadline(lambda: read_capped(str(store / ".zattrs")))


def test_open_regular_refuses_fifos_and_devices_and_reads_files(tmp_path):
    os.mkfifo(tmp_path / "p")
    with pytest.raises(NotRegularFileError, match="named pipe"):
        within_deadline(lambda: open_regular(str(tmp_path / "p")))
    with pytest.raises(NotRegularFileError, match="character device"):
        open_regular("/dev/zero")
    (tmp_path / "f").write_bytes(b"abc")
    with open_regular(str(tmp_path / "f")) as fh:
        assert fh.read() == b"abc" and fh.name == str(tmp_path / "f")


def test_open_regular_follows_links_for_readers_and_refuses_them_when_asked(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    os.symlink(tmp_path / "f", tmp_path / "link")
    with open_regular(str(tmp_path / "link")) as fh:
        assert fh.read() == b"abc"
    with pytest.raises(NotRegularFileError, match="symbolic link"):
        open_regular(str(tmp_path / "link"), follow_links=False)
    with open_regular(str(tmp_path / "f"), follow_links=False) as fh:
        assert fh.read() == b"abc"


def test_an_unreadable_file_is_an_error(tmp_path, monkeypatch):
    # As root every mode bit reads, so the refusal comes from the open itself.
    target = tmp_path / "secret.txt"
    target.write_text("x")
    real_open = os.open

    def denied(path, flags, *args, **kwargs):
        if os.fspath(path) == str(target):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    info = inspect("disk", str(target))
    assert info.error == "cannot read secret.txt: Permission denied"


def test_proc_self_mem_is_an_error_not_an_exception():
    info = inspect("disk", "/proc/self/mem")
    assert info.kind == "file" and "Input/output error" in info.error


# -- one bad entry never hides its folder (item 7) ------------------------------------------------


def test_a_symlink_loop_is_an_error_row_and_its_siblings_list(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder").mkdir()
    root = entry_for_path("disk", str(tmp_path))
    for entries in ([e for b in list_children(root) for e in b],
                    list(dict(sorted_listing(root))["all"])):
        rows = {e.name: e for e in entries}
        assert set(rows) == {"loop", "a", "b", "file.txt", "folder"}
        for name in ("loop", "a", "b"):
            assert rows[name].kind is EntryKind.ERROR and rows[name].error.startswith("Symbolic link loop")
        assert rows["folder"].kind is EntryKind.DIRECTORY and rows["file.txt"].error is None
    info = inspect("disk", str(tmp_path))  # the folder's own facts, not a failure
    assert info.error is None and info.members == {"folders": 1, "files": 4}


@pytest.mark.parametrize("attributes", [[1, 2], "text", 3])
def test_a_member_with_bad_attributes_is_an_error_row_beside_its_siblings(tmp_path, attributes):
    store = tmp_path / "s.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    (store / "bad").mkdir()
    (store / "bad" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group",
                                                        "attributes": attributes}))
    _write_array(store / "good", [4, 4], [2, 2])
    rows = {e.name: e for b in list_children(entry_for_path("zarr", str(store))) for e in b}
    assert rows["bad"].kind is EntryKind.ERROR and "attributes is" in rows["bad"].error
    assert rows["good"].kind is EntryKind.ARRAY and rows["good"].shape == (4, 4)
    described = entry_for_path("disk", str(store / "bad"))
    assert described.error is not None and "attributes is" in described.error


# -- malformed metadata and blow-ups (item 8) -----------------------------------------------------


@pytest.mark.parametrize("shape, chunks, reason", [
    ([-5, 4], [2, 2], "negative"), ([4, 4], [0, 2], "below 1"), ([4, 4], [2], "does not match"),
    ([4.5, 4], [2, 2], "whole numbers"), ([True, 4], [2, 2], "whole numbers"),
])
def test_bad_shapes_are_corrupt_metadata(tmp_path, shape, chunks, reason):
    array = _write_array(tmp_path / "a", shape, chunks)
    with pytest.raises(CorruptMetadataError, match=reason):
        read_node(str(array))
    assert reason in inspect("disk", str(array)).error


def test_metadata_at_the_cap_is_refused_without_reading_it_all(tmp_path):
    store = tmp_path / "huge.zarr"
    store.mkdir()
    with open(store / "zarr.json", "wb") as fh:
        fh.write(b'{"zarr_format": 3, "node_type": "group"}')
        fh.truncate(3 << 30)  # 3 GiB, sparse
    started = time.monotonic()
    with pytest.raises(CorruptMetadataError, match="larger than 64 MiB"):
        read_node(str(store))
    rows = [e for b in describe([entry_for_path("disk", str(store))]) for e in b]
    assert "larger than 64 MiB" in (rows[0].error if rows else entry_for_path("disk", str(store)).error)
    assert time.monotonic() - started < 5  # read 64 MiB + 1 byte at most, twice
    small = tmp_path / "small"
    small.write_bytes(b"x" * 11)
    assert read_capped(str(small), 11) == b"x" * 11
    with pytest.raises(FileTooLargeError):
        read_capped(str(small), 10)


@pytest.mark.parametrize("text, reason", [
    ('{"zarr_format": 3, "node_type": "group", "attributes": {"a": ' + "[" * 50_000 + "]" * 50_000 + "}}", "nested"),
    ('{"zarr_format": 3, "node_type": "group", "attributes": {"a": ' + "[" * 500 + "]" * 500 + "}}", "nested more"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [' + "9" * 5000 + "]}", "digits"),
    ('{"zarr_format": 3, "node_type": "array", "shape": [1e400, 2]}', "whole numbers"),
])
def test_deep_nesting_and_huge_numbers_are_corrupt_metadata(tmp_path, text, reason):
    store = tmp_path / "s.zarr"
    store.mkdir()
    (store / "zarr.json").write_text(text)
    with pytest.raises(CorruptMetadataError, match=reason):
        read_node(str(store))
    assert inspect("disk", str(store)).error is not None


def test_a_preview_of_a_huge_grid_of_tiny_chunks_is_refused_before_reading(tmp_path):
    array = _write_array(tmp_path / "a.zarr", [10**15, 10**15], [1, 1])
    started = time.monotonic()
    with pytest.raises(PreviewError, match="too large to preview") as caught:
        within_deadline(lambda: open_preview("disk", str(array)))
    assert time.monotonic() - started < 5
    assert f"at most {MAX_PLANE_CHUNKS:,} chunks" in str(caught.value)


def test_a_preview_plane_over_the_size_limit_asks_first(tmp_path):
    array = _write_array(tmp_path / "a.zarr", [3, 4096, 4096], [1, 1024, 1024], "uint16")  # 32 MiB a plane
    with pytest.raises(NeedsConfirmation):
        open_preview("disk", str(array), size_limit=16 << 20)
    preview = open_preview("disk", str(array), size_limit=16 << 20, confirmed=True)
    assert preview.layers[0].shape == (3, 4096, 4096)
    assert open_preview("disk", str(array)).layers  # under the default limit


def test_a_fifo_where_a_chunk_should_be_reads_as_an_unreadable_chunk_not_a_hang(tmp_path):
    import numpy as np
    import zarr

    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(4, 8), chunks=(2, 4), dtype="uint16",
                              fill_value=0, compressors=None)
    array[:] = np.arange(32).reshape(4, 8) + 1
    chunk = tmp_path / "a.zarr" / "c" / "1" / "0"
    chunk.unlink()
    os.mkfifo(chunk)
    preview = within_deadline(lambda: open_preview("disk", str(tmp_path / "a.zarr")))
    shown = within_deadline(lambda: np.asarray(preview.layers[0].data[:]))
    assert shown[2:, :4].tolist() == [[0] * 4] * 2 and shown[:2].tolist() == (np.arange(16).reshape(2, 8) + 1).tolist()
    assert any("named pipe (FIFO)" in note for note in preview.notes)


def test_a_tiff_of_too_many_tiles_a_plane_is_refused_before_reading(tmp_path):
    import tifffile

    path = tmp_path / "tiles.tif"
    tifffile.imwrite(path, shape=(4096, 4096), dtype="uint8", tile=(16, 16))  # 65,536 tiles
    started = time.monotonic()
    with pytest.raises(PreviewError, match="65,536 chunks of 16 x 16"):
        open_preview("disk", str(path))
    assert time.monotonic() - started < 5
