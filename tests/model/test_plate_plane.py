"""The direct plane reader: one plane from a chunk's prefix, equal to what zarr reads."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from polystore_gui.model import plate_plane, plate_thumbs
from polystore_gui.model.plate_plane import read_plane
from polystore_gui.model.plate_read import plate_at
from polystore_gui.model.plate_thumbs import plate_thumbnails
from polystore_gui.model.zarr_nodes import CorruptMetadataError
from tests.plates import write_polystore_plate


def _data(shape, dtype="<u2"):
    rng = np.random.default_rng(3)
    return rng.integers(0, 5000, shape).astype(dtype)


def _v2(path, data, chunks, compressor, separator="/"):
    import numcodecs

    codec = {"zlib": numcodecs.Zlib(3), "gzip": numcodecs.GZip(5), None: None, "blosc": numcodecs.Blosc()}[compressor]
    array = zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype, zarr_format=2,
                              compressors=codec, chunk_key_encoding={"name": "v2", "separator": separator},
                              fill_value=7)
    array[...] = data
    return str(path)


def _key(index):
    return lambda shape: (*index, slice(None, None, 3), slice(None, None, 3))


@pytest.mark.parametrize(("compressor", "chunks", "separator"), [
    ("zlib", (2, 3, 40, 50), "/"),  # polystore's layout: one chunk of everything
    ("gzip", (2, 3, 40, 50), "."),
    (None, (2, 3, 40, 50), "/"),
    ("zlib", (1, 2, 64, 64), "."),  # several chunks on the leading axes, padded planes
])
def test_a_plane_equals_zarrs_own_reading(tmp_path, compressor, chunks, separator):
    data = _data((2, 3, 40, 50))
    path = _v2(tmp_path / "a.zarr", data, chunks, compressor, separator)
    for index in [(0, 0), (0, 1), (1, 2)]:
        plane = read_plane(path, 2, _key(index))
        assert plane is not None and plane.shape == (2, 3, 40, 50) and plane.dtype == "uint16"
        assert np.array_equal(plane.pixels, data[(*index, slice(None, None, 3), slice(None, None, 3))])


@pytest.mark.parametrize("dtype", ["<u2", ">u2", "<f4", "|u1"])
def test_zarr_v3_bytes_and_gzip(tmp_path, dtype):
    data = _data((3, 20, 30), dtype)
    for codecs in ([], [zarr.codecs.GzipCodec()]):
        path = tmp_path / f"v3-{len(codecs)}.zarr"
        array = zarr.create_array(str(path), shape=data.shape, chunks=data.shape, dtype=data.dtype, zarr_format=3,
                                  compressors=codecs, serializer=zarr.codecs.BytesCodec(
                                      endian="big" if dtype[0] == ">" else "little"))
        array[...] = data
        plane = read_plane(str(path), 3, _key((1,)))
        assert plane is not None and np.array_equal(plane.pixels, data[1, ::3, ::3])


def test_other_codecs_and_split_planes_are_left_to_zarr(tmp_path):
    data = _data((2, 40, 50))
    assert read_plane(_v2(tmp_path / "blosc.zarr", data, (2, 40, 50), "blosc"), 2, _key((0,))) is None
    assert read_plane(_v2(tmp_path / "tiles.zarr", data, (1, 20, 50), "zlib"), 2, _key((0,))) is None
    sharded = zarr.create_array(str(tmp_path / "s.zarr"), shape=data.shape, chunks=(1, 40, 50), shards=(2, 40, 50),
                                dtype=data.dtype, zarr_format=3)
    sharded[...] = data
    assert read_plane(str(tmp_path / "s.zarr"), 3, _key((0,))) is None


def test_a_missing_chunk_is_the_fill_value(tmp_path):
    path = str(tmp_path / "empty.zarr")
    zarr.create_array(path, shape=(2, 10, 10), chunks=(2, 10, 10), dtype="<u2", zarr_format=2, fill_value=7,
                      compressors=None)
    plane = read_plane(path, 2, _key((1,)))
    assert plane is not None and plane.pixels.shape == (4, 4) and (plane.pixels == 7).all()


def test_a_truncated_or_corrupt_chunk_says_so(tmp_path):
    data = _data((2, 40, 50))
    path = _v2(tmp_path / "a.zarr", data, (2, 40, 50), "zlib")
    chunk = tmp_path / "a.zarr" / "0" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 3])
    with pytest.raises(CorruptMetadataError, match="ends before the plane"):
        read_plane(path, 2, _key((1,)))
    chunk.write_bytes(b"not zlib at all" * 10)
    with pytest.raises(CorruptMetadataError, match="does not inflate"):
        read_plane(path, 2, _key((0,)))


def test_only_the_chunks_prefix_up_to_the_plane_is_read(tmp_path, monkeypatch):
    """The regression behind the polystore plate's slow thumbnails: zarr inflated every
    channel and plane of the well's one chunk to keep one plane."""
    data = _data((4, 4, 128, 128))
    path = _v2(tmp_path / "a.zarr", data, data.shape, "zlib")
    read = []
    real_open = plate_plane.open_chunk

    def counting_open(chunk_path):
        handle = real_open(chunk_path)
        real_read = handle.read

        class Counting:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def read(self, n=-1):
                block = real_read(n)
                read.append(len(block))
                return block

        return Counting()

    monkeypatch.setattr(plate_plane, "READ_BLOCK", 4096)
    monkeypatch.setattr(plate_plane, "open_chunk", counting_open)
    plane = read_plane(path, 2, _key((0, 2)))  # the third of 16 planes
    assert np.array_equal(plane.pixels, data[0, 2, ::3, ::3])
    size = os.path.getsize(os.path.join(path, "0", "0", "0", "0"))
    assert sum(read) < size / 4


def test_polystore_plate_thumbnails_read_the_plane_directly_on_several_threads(tmp_path, monkeypatch):
    folder = write_polystore_plate(tmp_path / "plate", wells=tuple(("A", f"{c:02d}") for c in range(1, 9)), edge=80)
    plate = plate_at("disk", str(folder))
    chunks = []
    real_open = plate_plane.open_chunk
    monkeypatch.setattr(plate_plane, "open_chunk", lambda p: chunks.append(p) or real_open(p))
    monkeypatch.setattr(plate_thumbs, "DECODERS", 2)
    thumbs = list(plate_thumbnails(plate, edge=40))
    assert [t.well for t in thumbs] == [w.path for w in plate.wells]
    assert all(t.pixels is not None and t.shape == (2, 2, 80, 80) for t in thumbs)
    assert len(chunks) >= len(plate.wells) - 1  # the first well sets the layout through zarr
    # The same pixels as zarr gives (first channel, middle z, strided to at most 40 a side).
    for well, thumb in zip(plate.wells, thumbs, strict=True):
        level = zarr.open_array(os.path.join(well.fields[0].path, "0"), mode="r", zarr_format=2)
        assert np.array_equal(thumb.pixels, plate_thumbs.to_uint8(level[0, 1, ::2, ::2]))


def test_closing_the_thumbnails_early_leaves_no_decoder_thread(tmp_path, monkeypatch):
    import threading

    folder = write_polystore_plate(tmp_path / "plate", wells=tuple(("B", f"{c:02d}") for c in range(1, 13)))
    plate = plate_at("disk", str(folder))
    monkeypatch.setattr(plate_thumbs, "DECODERS", 2)
    thumbs = plate_thumbnails(plate)
    assert [next(thumbs).well for _ in range(3)] == [w.path for w in plate.wells[:3]]
    thumbs.close()  # another plate was selected
    assert not [t for t in threading.enumerate() if t.name.startswith("plate-thumbs")]


def test_a_chunk_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    """Opening a FIFO for reading blocks until a writer comes: a hostile 'chunk' hung a
    thumbnail thread (and the plate view's close, which waits for it) for ever."""
    import threading

    data = _data((2, 40, 50))
    path = _v2(tmp_path / "a.zarr", data, (2, 40, 50), "zlib")
    chunk = tmp_path / "a.zarr" / "0" / "0" / "0"
    chunk.unlink()
    os.mkfifo(chunk)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_outcome(path)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # let the stuck reader go before failing
        os.close(os.open(chunk, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
    assert outcome and isinstance(outcome[0], CorruptMetadataError) and "not a file" in str(outcome[0])


def _outcome(path):
    try:
        return read_plane(path, 2, _key((0,)))
    except Exception as exc:
        return exc


def test_a_huge_declared_plane_reads_no_more_than_the_chunk_holds(tmp_path, monkeypatch):
    """A hostile .zarray declaring a 2 Gi-element plane over a small raw chunk: the reader
    asked the file for the whole declared size in one read (one allocation of that size)."""
    import json

    path = tmp_path / "h.zarr"
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [1, 65536, 32768], "chunks": [1, 65536, 32768], "dtype": "<u1",
        "compressor": None, "fill_value": 0, "order": "C", "filters": None}))
    (path / "0.0.0").write_bytes(b"\0" * 1000)
    asked = []
    real_open = plate_plane.open_chunk

    def watching_open(chunk_path):
        handle = real_open(chunk_path)
        real_read = handle.read

        def read(n=-1):
            asked.append(n)
            return real_read(n)

        handle.read = read
        return handle

    monkeypatch.setattr(plate_plane, "open_chunk", watching_open)
    with pytest.raises(CorruptMetadataError, match="ends before the plane"):
        read_plane(str(path), 2, _key((0,)))
    assert asked and max(asked) <= plate_plane.READ_BLOCK


def test_a_missing_chunk_of_a_huge_declared_plane_allocates_only_the_strided_plane(tmp_path, monkeypatch):
    """The fill-value plane of a never-written chunk was made at the declared plane's size
    (4 GiB here) before being strided down to a thumbnail."""
    import json
    import tracemalloc

    path = tmp_path / "h.zarr"
    path.mkdir()
    (path / ".zarray").write_text(json.dumps({
        "zarr_format": 2, "shape": [1, 65536, 65536], "chunks": [1, 65536, 65536], "dtype": "<u1",
        "compressor": None, "fill_value": 5, "order": "C", "filters": None}))
    real_array = plate_plane._array
    tracemalloc.start()
    try:  # the metadata read (its 64 MiB cap's buffer) is not what is measured
        monkeypatch.setattr(plate_plane, "_array", lambda *a: (real_array(*a), tracemalloc.reset_peak())[0])
        plane = read_plane(str(path), 2, lambda shape: (0, slice(None, None, 1024), slice(None, None, 1024)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plane is not None and plane.pixels.shape == (64, 64) and (plane.pixels == 5).all()
    assert peak < 8 << 20
