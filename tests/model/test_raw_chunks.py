"""Issue 19: a local zarr array whose chunk files hold the bare values is read from them
directly (model.raw_chunks), not through zarr's event loop and file threads. The values,
the fill value of missing chunks and the reports of unreadable ones are zarr's own; other
arrays (compressed, sharded, behind another store) are still read by zarr."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from polystore_gui.model import pacing
from polystore_gui.model.lazy import open_preview
from polystore_gui.model.lazy_views import SafeArray
from polystore_gui.model.preview_open import _open_zarr_array
from polystore_gui.model.raw_chunks import RawChunks

from ..fakes import CountingStore

KEYS = [
    (0,), (1,), (-1,), (Ellipsis, 3), (slice(None), 5, slice(2, 40)), (1, slice(3, 61), slice(7, 50)),
    (slice(0, 3), slice(30, 34), slice(60, 64)), (2, 63, 63), (np.int64(1), slice(None), slice(None)),
    (1, slice(10, 10), slice(None)), (),
]


def _fill(dtype):
    return 0 if dtype == "bool" else 7  # (bool: a chunk all True, the fill, is never written)


def _raw_array(path, zarr_format, dtype):
    """(3, 64, 64) chunks (1, 24, 24) (edge chunks partial), raw values, fill 7; plane
    1: one chunk never written, one truncated, one a folder, one a FIFO."""
    kw = {"filters": None, "compressors": None} if zarr_format == 2 else {"compressors": None}
    a = zarr.create_array(str(path), shape=(3, 64, 64), chunks=(1, 24, 24), dtype=dtype, fill_value=_fill(dtype),
                          zarr_format=zarr_format, **kw)
    a[:] = (np.arange(3 * 64 * 64) % 251).reshape(3, 64, 64).astype(dtype)
    sep = "." if zarr_format == 2 else "/"

    def chunk(i, j, k):
        return path / (f"{i}.{j}.{k}" if zarr_format == 2 else os.path.join("c", str(i), str(j), str(k)))

    assert sep and chunk(1, 0, 0).is_file()
    os.remove(chunk(1, 0, 0))
    raw = chunk(1, 1, 1).read_bytes()
    chunk(1, 1, 1).write_bytes(raw[: len(raw) // 2])
    os.remove(chunk(1, 2, 0))
    os.mkdir(chunk(1, 2, 0))
    os.remove(chunk(1, 0, 2))
    os.mkfifo(chunk(1, 0, 2))
    return path


@pytest.mark.parametrize("zarr_format, dtype", [(3, "uint8"), (3, ">u2"), (3, "<f4"), (3, "bool"),
                                                (2, "<u2"), (2, ">i4"), (2, "f8"), (2, "uint8")])
def test_a_raw_array_reads_as_zarr_reads_it_missing_and_bad_chunks_filled(tmp_path, zarr_format, dtype):
    path = _raw_array(tmp_path / "a.zarr", zarr_format, dtype)
    opened = _open_zarr_array(str(path), zarr_format)
    assert RawChunks.of(opened) is not None
    seen = []
    direct = SafeArray(opened, on_failure=lambda index, message: seen.append((index, message)))
    through_zarr = SafeArray(_open_zarr_array(str(path), zarr_format), direct=False)
    for key in KEYS:
        got, want = direct[key], through_zarr[key]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=str(key))
    plane = direct[1]
    fill = np.array(_fill(dtype)).astype(dtype)
    assert plane[0, 0] == fill and plane[30, 30] == fill and plane[50, 0] == fill and plane[0, 50] == fill
    assert plane[0, 30] == np.array((64 * 64 + 30) % 251).astype(dtype)  # the rest is the data
    # The truncated chunk and the FIFO are reported (once each), as zarr's path reports them;
    # the missing chunk and the folder are simply not stored.
    assert set(direct.failures) == set(through_zarr.failures) == {(1, 1, 1), (1, 0, 2)}
    assert sorted(index for index, _ in seen) == [(1, 0, 2), (1, 1, 1)]
    assert "FIFO" in direct.failures[(1, 0, 2)] and "bytes where a chunk holds" in direct.failures[(1, 1, 1)]


def test_out_of_range_and_fancy_keys(tmp_path):
    path = _raw_array(tmp_path / "a.zarr", 3, "uint16")
    direct = SafeArray(_open_zarr_array(str(path), 3))
    with pytest.raises(IndexError):
        direct[3]
    with pytest.raises(IndexError):
        direct[0, -65]
    # What is not basic indexing is zarr's to read (same values).
    through_zarr = SafeArray(_open_zarr_array(str(path), 3), direct=False)
    np.testing.assert_array_equal(direct[0, ::2, 5], through_zarr[0, ::2, 5])
    np.testing.assert_array_equal(np.asarray(direct)[2], through_zarr[2])


def test_a_plane_read_steps_aside_between_pieces(tmp_path, monkeypatch):
    """Every READ_PIECE_S of work the reading thread pauses (pacing.breathe), so that the GUI
    thread gets the interpreter lock; the values are unchanged."""
    a = zarr.create_array(str(tmp_path / "small.zarr"), shape=(2, 64, 64), chunks=(1, 8, 8), dtype="uint8",
                          compressors=None)
    a[:] = 5
    pauses = []
    monkeypatch.setattr(pacing, "breathe", lambda: pauses.append(1))
    monkeypatch.setattr(pacing, "READ_PIECE_S", 0.0)  # a pause after every chunk
    plane = SafeArray(_open_zarr_array(str(tmp_path / "small.zarr"), 3))[1]
    assert (plane == 5).all()
    assert len(pauses) == 64  # 8 x 8 chunks in the plane


def test_compressed_sharded_and_wrapped_arrays_are_read_by_zarr(tmp_path):
    compressed = zarr.create_array(str(tmp_path / "z.zarr"), shape=(4, 4), chunks=(2, 2), dtype="u2")
    sharded = zarr.create_array(str(tmp_path / "s.zarr"), shape=(4, 4), chunks=(2, 2), shards=(4, 4), dtype="u2",
                                compressors=None)
    for a in (compressed, sharded):
        a[:] = 3
    assert RawChunks.of(_open_zarr_array(str(tmp_path / "z.zarr"), 3)) is None
    assert RawChunks.of(_open_zarr_array(str(tmp_path / "s.zarr"), 3)) is None
    raw = zarr.create_array(str(tmp_path / "r.zarr"), shape=(4, 4), chunks=(2, 2), dtype="u2", compressors=None)
    raw[:] = 4
    counting = CountingStore(zarr.storage.LocalStore(str(tmp_path / "r.zarr"), read_only=True))
    wrapped = SafeArray(zarr.open_array(store=counting, mode="r"))
    assert (wrapped[1] == 4).all() and counting.keys  # read through the store, seen by its wrapper
    assert (SafeArray(zarr.open_array(str(tmp_path / "r.zarr"), mode="r"))[1] == 4).all()


def test_a_raw_arrays_preview_reports_its_bad_chunk(tmp_path):
    path = _raw_array(tmp_path / "a.zarr", 3, "uint16")
    preview = open_preview("zarr", str(path))
    data = preview.layers[0].data
    assert isinstance(data, SafeArray)
    plane = data[1]
    assert plane[0, 0] == 7 and plane[30, 30] == 7 and plane[0, 30] == (64 * 64 + 30) % 251
    assert {(1, 1, 1), (1, 0, 2)} <= set(data.failures)
