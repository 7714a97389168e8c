"""Send to the viewer (issue 19): the array is read a slice of planes at a time with the
worker's pause between slices (model.pacing), not in one call that keeps the interpreter
lock from the window for the whole read of a large TIFF; the values are the file's."""

from __future__ import annotations

import numpy as np
import tifffile

from polystore_gui.model import pacing, streaming


def test_a_tiff_is_read_for_sending_slice_by_slice_with_pauses(tmp_path, monkeypatch):
    data = np.arange(12 * 64 * 48, dtype=np.uint16).reshape(12, 64, 48)
    tifffile.imwrite(tmp_path / "stack.tif", data, photometric="minisblack")
    monkeypatch.setattr(streaming, "SEND_SLICE_BYTES", 2 * 64 * 48 * 2)  # two planes a slice
    pauses = []
    monkeypatch.setattr(pacing, "breathe", lambda: pauses.append(1))
    item = streaming.prepare("disk", str(tmp_path / "stack.tif"))
    np.testing.assert_array_equal(item.data, data)
    assert item.data.flags["C_CONTIGUOUS"]
    assert len(pauses) == 6  # 12 planes, 2 a slice


def test_a_single_plane_is_read_whole(tmp_path):
    data = np.arange(64 * 48, dtype=np.float32).reshape(64, 48)
    tifffile.imwrite(tmp_path / "plane.tif", data)
    np.testing.assert_array_equal(streaming.prepare("disk", str(tmp_path / "plane.tif")).data, data)


def test_an_array_held_in_memory_is_sent_as_it_is_without_a_copy(monkeypatch):
    """The memory backend's array is already in memory: slicing it into a new array only
    cost a copy (800 MB: ~120 ms more per send in bench_streaming)."""
    from polystore.backend_registry import get_backend_instance

    held = np.arange(6 * 32 * 32, dtype=np.uint16).reshape(6, 32, 32)
    memory = get_backend_instance("memory")
    memory.ensure_directory("/paced-read-test")
    memory.save(held, "/paced-read-test/stack")
    monkeypatch.setattr(streaming, "SEND_SLICE_BYTES", 2 * 32 * 32 * 2)
    pauses = []
    monkeypatch.setattr(pacing, "breathe", lambda: pauses.append(1))
    try:
        item = streaming.prepare("memory", "/paced-read-test/stack")
    finally:
        memory.delete_all("/paced-read-test")
    np.testing.assert_array_equal(item.data, held)
    assert pauses == []  # nothing was read slice by slice
    assert np.shares_memory(item.data, held)  # the array the backend holds, not a copy of it
