"""The chunk scan against what was written, and against zarr's own counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import zarr

from polystore_gui.model.chunk_layout import ChunkLayoutError, read_layout, resolve_array
from polystore_gui.model.chunks import (
    ERROR,
    MISSING,
    STORED,
    UNKNOWN,
    ChunkReport,
    chunk_detail,
    scan,
    scan_report,
    warnings,
)


@pytest.fixture(autouse=True, params=["python", "find"])
def chunk_walk(request, monkeypatch):
    """Every scan test runs with the Python walk and with the find(1) walk (chunk_find)."""
    from polystore_gui.model import chunk_find

    if request.param == "find":
        assert chunk_find.gnu_find() is not None, "GNU find is part of the machine this suite runs on"
    monkeypatch.setenv("POLYSTORE_GUI_CHUNK_WALK", request.param)  # subprocesses inherit it
    return request.param


def _files(root: str) -> dict[str, int]:
    """Relative key -> size of every chunk file under an array directory."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name in ("zarr.json", ".zarray", ".zattrs"):
                continue
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root).replace(os.sep, "/")] = os.path.getsize(full)
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _written(array: zarr.Array, regions: list[tuple[slice, ...]], rng: np.random.Generator) -> None:
    for region in regions:
        shape = tuple(s.stop - s.start for s in region)
        array[region] = rng.integers(1, 60000, size=shape, dtype=np.uint16)


def test_plain_v3_presence_and_sizes_match_the_files_and_zarr(tmp_path):
    rng = np.random.default_rng(0)
    a = zarr.create_array(str(tmp_path / "a"), shape=(3, 100, 90), chunks=(1, 32, 32), dtype="uint16", fill_value=0)
    _written(a, [(slice(0, 1), slice(0, 100), slice(0, 90)), (slice(2, 3), slice(32, 64), slice(64, 90))], rng)
    report = scan_report(read_layout(str(tmp_path / "a")))
    files = _files(str(tmp_path / "a"))
    layout = report.layout
    assert layout.grid == (3, 4, 3) and report.complete
    for row in report.chunk_rows():
        key = layout.key(row["index"])
        assert row["present"] == (key in files), key
        assert row["stored_bytes"] == files.get(key, 0)
    summary = report.summary()
    assert summary["nchunks"] == a.nchunks == 36
    assert summary["nchunks_initialized"] == a.nchunks_initialized == 13
    assert summary["stored_bytes"] == sum(files.values())
    assert summary["nshards"] is None and summary["nshards_initialized"] is None


def test_sharded_inner_chunks_come_from_the_decoded_index(tmp_path):
    from zarr.codecs.sharding import ShardingCodec
    from zarr.core.buffer.cpu import Buffer
    from zarr.core.sync import sync

    rng = np.random.default_rng(1)
    path = str(tmp_path / "s")
    a = zarr.create_array(path, shape=(2, 300, 300), shards=(1, 128, 128), chunks=(1, 32, 32), dtype="uint16", fill_value=0)
    # Plane 0 whole; plane 1 only the inner chunks (0..1, 0..2) of the first shard.
    _written(a, [(slice(0, 1), slice(0, 300), slice(0, 300)), (slice(1, 2), slice(0, 64), slice(0, 96))], rng)
    report = scan_report(read_layout(path))
    summary = report.summary()
    layout = report.layout
    assert layout.grid == (2, 10, 10) and layout.object_grid == (2, 3, 3) and layout.per_shard == (1, 4, 4)
    # zarr's own counts: shards agree; zarr calls every inner chunk of a stored shard initialized.
    assert summary["nshards"] == 18
    assert summary["nshards_initialized"] == a._nshards_initialized == 10
    assert a.nchunks_initialized == 10 * 16
    # The decoded index: plane 0 holds all 100 chunks of its grid, plane 1 exactly 2 x 3.
    assert summary["nchunks"] == a.nchunks == 200
    assert summary["nchunks_initialized"] == 100 + 6
    assert (report.state[1, :2, :3] == STORED).all()
    assert (report.state[1] == STORED).sum() == 6
    # Byte counts per inner chunk equal what zarr's own sharding codec decodes.
    codec = ShardingCodec.from_dict(a.metadata.to_dict()["codecs"][0])
    for key, size in _files(path).items():
        raw = _read(os.path.join(path, key))
        assert report.object_bytes[tuple(int(p) for p in key.split("/")[1:])] == size
        index = sync(codec._decode_shard_index(Buffer.from_bytes(raw[-(16 * 16 + 4):]), (1, 4, 4)))
        shard = tuple(int(p) for p in key.split("/")[1:])
        for local in np.ndindex(1, 4, 4):
            chunk = tuple(s * p + i for s, p, i in zip(shard, (1, 4, 4), local))
            if any(c >= g for c, g in zip(chunk, layout.grid)):
                continue
            got = index.get_chunk_slice(local)
            assert report.stored[chunk] == (got[1] - got[0] if got else 0)
            assert report.state[chunk] == (STORED if got else MISSING)


@pytest.mark.parametrize("separator", [".", "/"])
def test_format_2_arrays(tmp_path, separator):
    rng = np.random.default_rng(2)
    path = str(tmp_path / "v2")
    a = zarr.create_array(path, shape=(50, 70), chunks=(16, 16), dtype="uint16", zarr_format=2,
                          chunk_key_encoding={"name": "v2", "separator": separator}, compressors=None, fill_value=0)
    _written(a, [(slice(0, 16), slice(0, 70)), (slice(48, 50), slice(64, 70))], rng)
    report = scan_report(read_layout(path))
    files = _files(path)
    assert report.layout.zarr_format == 2 and report.layout.separator == separator
    assert report.summary()["nchunks_initialized"] == a.nchunks_initialized == len(files) == 6
    assert report.stored[3, 4] == 16 * 16 * 2  # uncompressed: stored = decoded, edge chunks full size
    assert report.state[1, 0] == MISSING
    assert "uncompressed" in report.layout.pipeline


def test_zero_chunks_stored(tmp_path):
    zarr.create_array(str(tmp_path / "e"), shape=(4, 64, 64), chunks=(1, 32, 32), dtype="float32")
    report = scan_report(read_layout(str(tmp_path / "e")))
    summary = report.summary()
    assert summary["nchunks"] == 16 and summary["nchunks_initialized"] == 0 and summary["nchunks_missing"] == 16
    assert summary["stored_bytes"] == 0 and summary["size_histogram"] == [] and summary["compression_ratio"] is None
    detail = chunk_detail(report.layout, (0, 0, 0))
    assert detail.state == MISSING and detail.stats is not None and detail.stats["fill_count"] == 32 * 32


def test_corrupt_and_truncated_shards_are_flagged_and_the_scan_goes_on(tmp_path):
    path = str(tmp_path / "s")
    a = zarr.create_array(path, shape=(3, 64, 64), shards=(1, 64, 64), chunks=(1, 32, 32), dtype="uint16")
    a[:] = 7
    flipped = os.path.join(path, "c", "0", "0", "0")
    raw = bytearray(_read(flipped))
    raw[-10] ^= 0xFF  # inside the index: the checksum no longer matches
    _write(flipped, bytes(raw))
    truncated = os.path.join(path, "c", "1", "0", "0")
    with open(truncated, "r+b") as fh:
        fh.truncate(12)
    report = scan_report(read_layout(path))
    summary = report.summary()
    assert report.complete
    messages = {e["key"]: e["message"] for e in summary["errors"]}
    assert "checksum" in messages["c/0/0/0"] and "truncated" in messages["c/1/0/0"]
    assert (report.state[0] == ERROR).all() and (report.state[1] == ERROR).all()
    assert (report.state[2] == STORED).all()  # the healthy shard is still read
    assert summary["nchunks_initialized"] == 4 and summary["nchunks_error"] == 8
    assert any("could not be read" in w for w in summary["warnings"])
    detail = chunk_detail(report.layout, (0, 0, 0))
    assert detail.state == ERROR and "checksum" in (detail.error or "")


def test_index_pointing_outside_the_shard_is_flagged(tmp_path):
    path = str(tmp_path / "s")
    a = zarr.create_array(path, shape=(64, 64), shards=(64, 64), chunks=(32, 32), dtype="uint8",
                          serializer={"name": "bytes"}, compressors=None)
    a[:] = 1
    shard = os.path.join(path, "c", "0", "0")
    raw = bytearray(_read(shard))
    index = np.frombuffer(bytes(raw[-(16 * 4 + 4):-4]), "<u8").copy()
    index[1] = 10**9  # the first chunk's length runs past the end of the file
    body = index.tobytes()
    import google_crc32c

    raw[-(16 * 4 + 4):] = body + np.uint32(google_crc32c.value(body)).tobytes()
    _write(shard, bytes(raw))
    report = scan_report(read_layout(path))
    assert "outside" in report.summary()["errors"][0]["message"]


def test_broken_symlink_and_directory_in_place_of_a_chunk_are_flagged(tmp_path):
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(64, 64), chunks=(32, 32), dtype="uint8")
    a[:] = 3
    os.remove(os.path.join(path, "c", "0", "1"))
    os.symlink(str(tmp_path / "nowhere"), os.path.join(path, "c", "0", "1"))
    os.remove(os.path.join(path, "c", "1", "0"))
    os.mkdir(os.path.join(path, "c", "1", "0"))
    report = scan_report(read_layout(path))
    assert report.state[0, 0] == STORED and report.state[1, 1] == STORED
    assert report.state[0, 1] == ERROR and report.state[1, 0] == ERROR
    messages = [e["message"] for e in report.summary()["errors"]]
    assert any("No such file" in m for m in messages) and any("not a file" in m for m in messages)


def test_unreadable_chunk_file_is_flagged(shared_tmp):
    """Root reads everything: the scan runs as 'nobody' in a child process then."""
    path = str(shared_tmp / "a")
    a = zarr.create_array(path, shape=(64, 64), chunks=(32, 32), dtype="uint8")
    a[:] = 3
    locked = os.path.join(path, "c", "1", "1")
    os.chmod(locked, 0o000)
    b = zarr.create_array(str(shared_tmp / "b"), shape=(64, 64), chunks=(32, 32), dtype="uint8")
    b[:] = 3
    locked_dir = str(shared_tmp / "b" / "c" / "0")
    os.chmod(locked_dir, 0o000)
    code = textwrap.dedent(
        f"""
        import json, os
        import zarr.core.chunk_key_encodings  # error rows name keys through zarr: imported while root can
        from polystore_gui.model.chunk_layout import read_layout
        from polystore_gui.model.chunks import scan_report
        layout = read_layout({path!r})
        other = read_layout({str(shared_tmp / "b")!r})
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)
        report = scan_report(layout)
        print(json.dumps(report.summary()["errors"]))
        print(json.dumps(report.state.tolist()))
        report = scan_report(other)
        print(json.dumps(report.summary()["errors"]))
        print(json.dumps(report.state.tolist()))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    errors_line, state_line, dir_errors_line, dir_state_line = out.stdout.strip().splitlines()
    errors = json.loads(errors_line)
    assert errors == [{"object": [1, 1], "key": "c/1/1", "message": f"Permission denied: {locked}"}]
    assert json.loads(state_line) == [[STORED, STORED], [STORED, ERROR]]
    # A folder of chunks that cannot be listed: its chunks are unreadable, not missing.
    dir_errors = json.loads(dir_errors_line)
    assert [e["key"] for e in dir_errors] == ["c/0/0", "c/0/1"]
    assert dir_errors[0]["message"] == f"cannot list {locked_dir}: Permission denied"
    assert json.loads(dir_state_line) == [[ERROR, ERROR], [STORED, STORED]]


def test_codec_not_installed_keeps_metadata_and_explains_decoding(tmp_path):
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(64, 64), chunks=(32, 32), dtype="uint8")
    a[:] = 3
    meta_path = os.path.join(path, "zarr.json")
    doc = json.loads(_read(meta_path))
    doc["codecs"].append({"name": "made_up_codec", "configuration": {"level": 9}})
    _write(meta_path, json.dumps(doc).encode())
    layout = read_layout(path)
    assert layout.missing_codecs() == ["made_up_codec"]
    assert "made_up_codec(level=9)" in layout.pipeline
    report = scan_report(layout)
    summary = report.summary()
    assert summary["nchunks_initialized"] == 4
    assert any("'made_up_codec' is not installed" in w for w in summary["warnings"])
    detail = chunk_detail(layout, (0, 0))
    assert detail.state == STORED and detail.stored_bytes > 0
    assert detail.error is not None and "codec 'made_up_codec' is not installed" in detail.error


def test_chunk_detail_of_a_stored_chunk(tmp_path):
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(2, 50, 50), chunks=(1, 32, 32), dtype="uint16", fill_value=0)
    data = np.arange(2 * 50 * 50, dtype=np.uint16).reshape(2, 50, 50)
    data[1, 40:, 40:] = 0
    a[:] = data
    detail = chunk_detail(read_layout(path), (1, 1, 1))
    region = data[1:2, 32:50, 32:50]
    assert detail.key == "c/1/1/1" and detail.file == os.path.join(path, "c", "1", "1", "1")
    assert detail.stored_bytes == os.path.getsize(detail.file)
    assert detail.decoded_bytes == 32 * 32 * 2
    assert detail.region == ((1, 2), (32, 50), (32, 50))
    assert detail.stats == {"count": region.size, "min": int(region.min()), "max": int(region.max()),
                            "mean": pytest.approx(float(region.mean())), "fill_count": int((region == 0).sum())}
    assert detail.decode_seconds is not None and detail.read_seconds is not None
    assert detail.ratio == pytest.approx(32 * 32 * 2 / detail.stored_bytes)
    with pytest.raises(IndexError):
        chunk_detail(read_layout(path), (2, 0, 0))


def test_scan_is_progressive_and_can_stop(tmp_path, monkeypatch):
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 8)
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(10, 32, 32), chunks=(1, 8, 8), dtype="uint8", fill_value=0)
    a[:] = 1
    a[9] = 0  # never stored (all fill value)
    layout = read_layout(path)
    report = ChunkReport.empty(layout)
    batches = iter(scan(layout))
    first = next(batches)
    report.apply(first)
    assert 0 < report.done < 1 and not report.complete
    assert (report.state == UNKNOWN).any() and (report.state == STORED).any()
    # Planes already listed (swept) are known; the rest are still being scanned.
    swept = [(a, b) for a, b in ((first.swept,) if first.swept else ()) + first.swept_ranges if b > a]
    assert swept and all((report.state[a:b] != UNKNOWN).all() for a, b in swept)
    stopped = list(scan(layout, should_stop=lambda: True))
    assert len(stopped) == 1 and not stopped[0].final
    for batch in batches:
        report.apply(batch)
    assert report.complete and (report.state[9] == MISSING).all() and (report.state[:9] == STORED).all()


def test_read_amplification_and_warnings(tmp_path):
    path = str(tmp_path / "deep")
    zarr.create_array(path, shape=(64, 512, 512), chunks=(32, 256, 256), dtype="uint16")
    summary = scan_report(read_layout(path)).summary()
    assert summary["read_amplification"] == 32
    assert summary["plane_read"]["chunks"] == 4
    assert any("reads 32x" in w and "32 planes" in w for w in summary["warnings"])
    big = read_layout(_array(tmp_path / "big", (4, 8192, 8192), (1, 8192, 8192), "float32"))
    assert any("Chunks of 256.0 MiB" in w for w in warnings(scan_report(big).summary(), big))
    small = read_layout(_array(tmp_path / "small", (64, 64), (16, 16), "uint8"))
    assert any("Chunks of 256 bytes" in w for w in warnings(scan_report(small).summary(), small))
    many = {"nobjects_stored": 100_001, "read_amplification": None, "errors": []}
    assert any("100,001 objects" in w for w in warnings(many, small))


def _array(path, shape, chunks, dtype) -> str:
    zarr.create_array(str(path), shape=shape, chunks=chunks, dtype=dtype)
    return str(path)


def test_resolve_array(demo_dir, tmp_path):
    store = demo_dir / "stores" / "experiment.zarr"
    assert resolve_array("zarr", str(store / "sharded")) == (str(store / "sharded"), None)
    path, note = resolve_array("ome_zarr", str(store / "image"))
    assert path == str(store / "image" / "0") and "full-resolution" in (note or "")
    with pytest.raises(ChunkLayoutError, match="not on 'memory'"):
        resolve_array("memory", "/demo")
    with pytest.raises(ChunkLayoutError, match="group"):
        resolve_array("zarr", str(store))
    with pytest.raises(ChunkLayoutError, match="does not exist"):
        resolve_array("disk", str(tmp_path / "nothing"))
    images = demo_dir / "stores" / "polystore_plate" / "images"
    path, note = resolve_array("zarr", str(images / "A01_c2_z3.tif"))
    assert read_layout(path).shape[-2:] == (256, 256) and "plane" in (note or "")


def test_zero_dimensional_array(tmp_path):
    path = str(tmp_path / "scalar")
    a = zarr.create_array(path, shape=(), chunks=(), dtype="float64", fill_value=0.0)
    a[()] = 4.5
    report = scan_report(read_layout(path))
    assert report.summary()["nchunks_initialized"] == 1 == a.nchunks_initialized
    assert list(report.chunk_rows())[0]["present"] is True


def test_files_that_are_not_chunk_keys_are_counted_as_strays(tmp_path):
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(2, 64, 64), chunks=(1, 32, 32), dtype="uint8", fill_value=0)
    a[:] = 5
    _write(os.path.join(path, "c", "0", "0", "notes.txt"), b"a stray")  # not an integer
    _write(os.path.join(path, "c", "1", "1", "7"), b"outside")  # beyond the grid (2 x 2 per plane)
    report = scan_report(read_layout(path))
    assert report.summary()["stray_files"] == 2
    assert (report.state == STORED).all() and report.summary()["nchunks_initialized"] == 8
    assert report.summary()["stored_bytes"] == sum(v for k, v in _files(path).items() if k.count("/") == 3 and not k.endswith(("notes.txt", "/7")))


@pytest.mark.parametrize("warnings_are", ["errors", "python's defaults"])
def test_a_stray_name_is_counted_without_touching_the_processs_warning_filters(tmp_path, monkeypatch, warnings_are):
    """The scan's parse runs on a worker: a filter it set ("error") was every thread's, so the
    GUI thread's warnings became exceptions while a block was parsed. It sets none, and finds
    the stray whether warnings are errors (the tests) or Python's defaults (the app)."""
    import warnings as python_warnings

    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(1, 64, 64), chunks=(1, 32, 32), dtype="uint8", fill_value=0)
    a[:] = 5
    _write(os.path.join(path, "c", "0", "0", "notes.txt"), b"a stray")  # makes numpy stop early
    with python_warnings.catch_warnings():
        if warnings_are != "errors":
            python_warnings.resetwarnings()
            python_warnings.simplefilter("default")
            python_warnings.filterwarnings("ignore", category=DeprecationWarning)  # as outside __main__
        changed: list[tuple] = []
        for name in ("simplefilter", "filterwarnings", "resetwarnings"):
            real = getattr(python_warnings, name)
            monkeypatch.setattr(python_warnings, name, lambda *a, _real=real, _n=name, **k: (changed.append((_n, a)), _real(*a, **k))[1])
        report = scan_report(read_layout(path))
    assert changed == []
    assert report.summary()["stray_files"] == 1 and report.summary()["nchunks_initialized"] == 4


def test_size_histogram_kept_batch_by_batch_matches_a_recount(tmp_path, monkeypatch):
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 7)
    rng = np.random.default_rng(5)
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(6, 64, 64), chunks=(1, 16, 16), dtype="uint16", fill_value=0)
    for z in range(6):  # planes that compress differently: sizes over several bins
        a[z] = rng.integers(0, 2 ** (2 + 2 * z), size=(64, 64), dtype=np.uint16)
    layout = read_layout(path)
    report = ChunkReport.empty(layout)
    batches = 0
    for batch in scan(layout):
        if batch.final:
            kept = report.size_histogram()  # before the final recount: kept batch by batch
        report.apply(batch)
        batches += 1
    assert batches >= 2
    assert report.size_histogram() == kept
    sizes = report.stored[report.state == STORED]
    recount = {}
    for size in sizes[sizes > 0].tolist():
        k = size.bit_length() - 1
        recount[k] = recount.get(k, 0) + 1
    assert kept == [{"min": 2 ** k, "max": 2 ** (k + 1), "count": recount.get(k, 0)} for k in range(min(recount), max(recount) + 1)]
    assert len([b for b in kept if b["count"]]) >= 3



def test_heat_colour_range_kept_batch_by_batch_without_a_pass_over_the_chunks(tmp_path, monkeypatch):
    """The heat map's colour range (the whole array's) matches a recount after every batch,
    and is kept from the batches: no pass over the array's chunks unless a batch re-reports
    a stored chunk (the final one), then once."""
    import polystore_gui.model.chunk_report as chunk_report
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 7)
    rng = np.random.default_rng(6)
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(6, 64, 64), chunks=(1, 16, 16), dtype="uint16", fill_value=0)
    for z in range(1, 6):  # plane 0 never written: missing chunks
        a[z] = rng.integers(0, 2 ** (2 + 2 * z), size=(64, 64), dtype=np.uint16)
    passes = []
    real = chunk_report._merge_extent
    monkeypatch.setattr(chunk_report, "_merge_extent",
                        lambda extent, sizes: passes.append(sizes.size) or real(extent, sizes))
    report = ChunkReport.empty(read_layout(path))
    assert report.heat_span() == chunk_report.heat_range(np.zeros(0, np.int64))
    batches = listed = 0
    for batch in scan(read_layout(path)):
        report.apply(batch)
        batches += 1
        listed += len(batch.chunks)
        assert report.heat_span() == chunk_report.heat_range(report.stored[report.state == STORED])
        assert report.revision == batches
    assert batches >= 3
    assert report.complete and report.heat_span()[1] > report.heat_span()[0]
    # The batches' own sizes, and one recount of the stored chunks (the final batch's) at most.
    assert sum(passes) <= listed + int(np.count_nonzero(report.state == STORED))
def test_the_inspector_and_info_spell_a_codec_the_same_way(tmp_path):
    """One codec formatter: the chunk inspector's pipeline once read ``checksum=False``
    (Python's spelling) where ``info`` read ``checksum=false`` for the same zstd codec, and
    it printed a hostile configuration value of any length."""
    from polystore_gui.info_text import codecs_text
    from polystore_gui.model.arrays import inspect

    path = str(tmp_path / "a")
    zarr.create_array(path, shape=(8, 8), chunks=(4, 4), dtype="uint8",
                      compressors=[zarr.codecs.ZstdCodec(level=3, checksum=False)])
    layout = read_layout(path)
    info = inspect("zarr", path)
    zstd = codecs_text({"compressors": info.codecs["compressors"]})
    assert zstd == "zstd(level=3, checksum=false)"
    assert zstd in layout.pipeline
    meta_path = os.path.join(path, "zarr.json")
    doc = json.loads(_read(meta_path))
    doc["codecs"].append({"name": "made_up_codec", "configuration": {"note": "x" * 5000}})
    _write(meta_path, json.dumps(doc).encode())
    (last,) = [p for p in read_layout(path).pipeline if p.startswith("made_up_codec")]
    assert len(last) < 400


def test_whether_chunks_can_be_inspected_is_the_adapters_capability(tmp_path, monkeypatch):
    """No backend list in chunk_layout: a backend whose adapter says chunk_inspectable (and
    local) is inspected; one that does not is refused with a sentence."""
    from dataclasses import replace

    from polystore_gui.model.backends import adapter_for, base
    from polystore_gui.model.chunk_layout import chunk_inspectable

    path = str(tmp_path / "a")
    zarr.create_array(path, shape=(8, 8), chunks=(4, 4), dtype="uint8")
    disk = adapter_for("disk")

    class Local:
        name = "scratch"
        capabilities = disk.capabilities

    class Opaque:
        name = "opaque"
        capabilities = replace(disk.capabilities, chunk_inspectable=False)

    monkeypatch.setitem(base._by_key, "scratch_local", Local())
    monkeypatch.setitem(base._by_key, "scratch_opaque", Opaque())
    assert chunk_inspectable("scratch_local") and chunk_inspectable("zarr") and chunk_inspectable("disk")
    assert not chunk_inspectable("scratch_opaque") and not chunk_inspectable("memory")
    assert resolve_array("scratch_local", path) == (path, None)
    with pytest.raises(ChunkLayoutError, match="chunks are inspected on zarr arrays"):
        resolve_array("scratch_opaque", path)


def test_the_heat_map_pixels_are_computed_without_qt():
    """The overlay's data side lives in model.chunk_heat: sizes on a log scale from the
    smallest (viridis' dark end) to the largest (its bright end), missing grey, errors red;
    a channel axis collapses to 'stored when any channel is'."""
    from polystore_gui.model.chunk_heat import ERROR_RGBA, MISSING_RGBA, _reduce_axis, heat_rgba

    state = np.array([[STORED, STORED], [MISSING, ERROR]], np.int8)
    stored = np.array([[100, 6400], [0, 0]], np.int64)
    rgba = heat_rgba(state, stored)
    assert tuple(rgba[1, 0]) == MISSING_RGBA and tuple(rgba[1, 1]) == ERROR_RGBA
    assert tuple(rgba[0, 0, :3]) == (68, 1, 84) and tuple(rgba[0, 1, :3]) == (253, 231, 37)
    merged, sizes = _reduce_axis(np.array([[MISSING, STORED], [MISSING, MISSING]], np.int8),
                                 np.array([[0, 5], [0, 0]]), 0)
    assert list(merged) == [MISSING, STORED] and list(sizes) == [0, 5]


@pytest.mark.parametrize("channel_axis", [None, 0, 1, 2, 3])
def test_one_planes_chunks_are_those_of_the_whole_grid_collapsed(channel_axis):
    """The overlay reads only the shown plane's chunks (``plane_chunks``): the same states
    and sizes as collapsing the channel axis over the whole grid and taking the plane."""
    from polystore_gui.model.chunk_heat import _reduce_axis, plane_chunks

    rng = np.random.default_rng(7)
    state = rng.integers(0, 4, size=(3, 4, 5, 6)).astype(np.int8)
    stored = rng.integers(0, 1000, size=state.shape).astype(np.int64)
    whole_state, whole_stored = (state, stored) if channel_axis is None else _reduce_axis(state, stored, channel_axis)
    lead = whole_state.ndim - 2
    for plane in np.ndindex(*whole_state.shape[:lead]):
        got = plane_chunks(state, stored, plane, channel_axis)
        assert np.array_equal(got[0], whole_state[plane]) and np.array_equal(got[1], whole_stored[plane])


def test_every_chunk_gets_its_states_colour_and_stored_ones_their_sizes():
    """Each chunk's pixel, chunk by chunk: stored ones viridis at the level of log2 of their
    size within the span (alpha STORED_ALPHA), missing grey, errors red, not scanned clear."""
    import math

    from polystore_gui.model.chunk_heat import _LUT, ERROR_RGBA, MISSING_RGBA, STORED_ALPHA, heat_rgba

    rng = np.random.default_rng(9)
    state = rng.integers(0, 4, size=(5, 7, 3)).astype(np.int8)
    stored = rng.integers(0, 50_000, size=state.shape).astype(np.int64)
    span = (100, 40_000)
    rgba = heat_rgba(state, stored, span)
    assert rgba.shape == (*state.shape, 4) and rgba.dtype == np.uint8
    for index in np.ndindex(*state.shape):
        s = state[index]
        if s == STORED:
            level = (math.log2(max(int(stored[index]), 1)) - math.log2(span[0])) / (math.log2(span[1]) - math.log2(span[0]))
            want = (*_LUT[min(max(round(level * 255), 0), 255)].tolist(), STORED_ALPHA)
        else:
            want = {MISSING: MISSING_RGBA, ERROR: ERROR_RGBA}.get(int(s), (0, 0, 0, 0))
        assert tuple(rgba[index].tolist()) == tuple(want), index


def test_summary_counts_kept_batch_by_batch_without_a_pass_over_the_chunks(tmp_path, monkeypatch):
    """The summary's counts (stored, missing, unreadable chunks; stored objects and bytes)
    match a recount after every batch, and are kept from the batches: drawing the summary
    at each scan refresh counts nothing over the whole array (issue 19's review)."""
    import polystore_gui.model.chunks as chunks

    monkeypatch.setattr(chunks, "BATCH_ENTRIES", 2)
    rng = np.random.default_rng(7)
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(6, 64, 64), chunks=(1, 16, 16), shards=(1, 32, 32), dtype="uint16",
                          fill_value=0)
    for z in (1, 3, 4):  # the other planes never written: missing shards
        a[z] = rng.integers(0, 2 ** (2 + 2 * z), size=(64, 64), dtype=np.uint16)
    _write(os.path.join(path, "c", "4", "1", "1"), b"garbage")  # an unreadable shard
    layout = read_layout(path)
    report = ChunkReport.empty(layout)
    counted: list[int] = []
    real = np.count_nonzero

    def spy(a, *args, **kwargs):
        counted.append(np.size(a))
        return real(a, *args, **kwargs)

    batches = 0
    for batch in scan(layout):
        report.apply(batch)
        batches += 1
        monkeypatch.setattr(np, "count_nonzero", spy)
        summary = report.summary()
        monkeypatch.setattr(np, "count_nonzero", real)
        assert summary["nchunks_initialized"] == int(real(report.state == STORED))
        assert summary["nchunks_missing"] == int(real(report.state == MISSING))
        assert summary["nchunks_error"] == int(real(report.state == ERROR))
        assert summary["nshards_initialized"] == int(real(report.object_state == STORED))
        assert summary["nobjects_stored"] == int(real(report.object_state == STORED) + real(report.object_state == ERROR))
        assert summary["stored_bytes"] == int(report.object_bytes.sum())
    assert batches >= 3 and report.complete
    assert summary["nchunks_error"] == 4 and summary["nchunks_missing"] > 0
    assert not [n for n in counted if n >= min(report.state.size, report.object_state.size)]
