"""The find walk's reading of find's output: whatever the pieces it arrives in, every chunk's
presence and stored bytes come out as written (model/chunk_find.py); and the report's
bookkeeping of the batches the scan yields (model/chunk_report.py)."""

from __future__ import annotations

import functools
import os
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import zarr

from polystore_gui.model import chunk_find
from polystore_gui.model.chunk_layout import read_layout
from polystore_gui.model.chunks import ERROR, MISSING, STORED, scan_report


@pytest.fixture(autouse=True)
def find_walk(monkeypatch):
    assert chunk_find.gnu_find() is not None, "GNU find is part of the machine this suite runs on"
    monkeypatch.setenv("POLYSTORE_GUI_CHUNK_WALK", "find")


def _written(tmp_path) -> tuple[str, dict[tuple[int, ...], int]]:
    """An array of 4 x 6 x 6 chunks whose stored sizes differ, a few never written, a few odd
    entries: a folder where a chunk should be, a symlink, a stray name; and each stored chunk
    file's size by index."""
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(4, 48, 48), chunks=(1, 8, 8), dtype="uint8", fill_value=0,
                          compressors=None)
    rng = np.random.default_rng(3)
    data = rng.integers(1, 255, size=(4, 48, 48), dtype=np.uint8)
    data[2, :8, :16] = 0  # two chunks all fill value: never written
    a[:] = data
    # Uncompressed chunks all have one size: make some files shorter or longer, as a
    # compressed array's would be.
    for index, size in (((0, 0, 1), 3), ((1, 5, 5), 1000), ((3, 2, 4), 0)):
        with open(os.path.join(path, "c", *map(str, index)), "wb") as fh:
            fh.write(b"x" * size)
    os.remove(os.path.join(path, "c", "1", "1", "1"))
    os.mkdir(os.path.join(path, "c", "1", "1", "1"))  # a folder where a chunk should be
    os.remove(os.path.join(path, "c", "3", "3", "3"))
    os.symlink(os.path.join(path, "c", "3", "3", "2"), os.path.join(path, "c", "3", "3", "3"))
    with open(os.path.join(path, "c", "0", "4", "notes.txt"), "wb") as fh:
        fh.write(b"not a chunk")
    sizes = {}
    for z in range(4):
        for y in range(6):
            for x in range(6):
                file = os.path.join(path, "c", str(z), str(y), str(x))
                if os.path.isfile(file):
                    sizes[(z, y, x)] = os.path.getsize(file)
    return path, sizes


def _check(report, sizes) -> None:
    expected_state = np.full((4, 6, 6), MISSING, np.int8)
    expected_bytes = np.zeros((4, 6, 6), np.int64)
    for index, size in sizes.items():
        expected_state[index] = STORED
        expected_bytes[index] = size
    expected_state[1, 1, 1] = ERROR  # a folder is not a chunk
    assert (report.state == expected_state).all()
    assert (report.stored[report.state == STORED] == expected_bytes[expected_state == STORED]).all()
    summary = report.summary()
    assert summary["stray_files"] == 1 and summary["stored_bytes"] == sum(sizes.values())
    assert summary["nchunks_initialized"] == len(sizes) == 4 * 36 - 3


def test_output_read_a_few_bytes_at_a_time(tmp_path, monkeypatch):
    """Lines cut anywhere between two reads: the same report."""
    path, sizes = _written(tmp_path)
    monkeypatch.setattr(chunk_find, "READ_BYTES", 7)
    monkeypatch.setattr(chunk_find, "PARSE_BYTES", 40)
    _check(scan_report(read_layout(path)), sizes)


def test_a_block_parsed_while_find_writes_keeps_its_last_partial_line_for_the_next():
    """What a tick reads ends anywhere in a line: the complete lines are parsed, the rest
    waits for the next read; at the end everything is parsed."""
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb", buffering=0)
    try:
        os.set_blocking(read_end, False)
        worker = chunk_find._Worker(SimpleNamespace(stdout=reader), tops=[0, 1, 2], low=0, high=3, swept_to=0)
        grid = np.array([3, 2, 2], np.int64)
        os.write(write_end, b"10 0/0/0\n11 0/0/1\n12 1/1/")
        assert chunk_find._drain(worker) and not worker.ended
        block = chunk_find._take(worker, "/top", 3, grid)
        assert block.rows.tolist() == [[0, 0, 0], [0, 0, 1]] and block.sizes.tolist() == [10, 11]
        assert worker.parts == [b"12 1/1/"] and worker.pending == len(b"12 1/1/")
        assert not chunk_find._drain(worker)  # nothing new: no block
        os.write(write_end, b"1\n-1 2/0/0\n13 2/1/1\n")
        os.close(write_end)
        write_end = -1
        worker.exited = True  # its stderr closed: read to the end
        assert chunk_find._drain(worker) and worker.ended
        block = chunk_find._take(worker, "/top", 3, grid)
        assert block.rows.tolist() == [[1, 1, 1], [2, 1, 1]] and block.sizes.tolist() == [12, 13]
        assert block.careful == [((2, 0, 0), "/top/2/0/0")]
        assert worker.parts == [] and worker.pending == 0
    finally:
        reader.close()
        if write_end >= 0:
            os.close(write_end)


def test_output_parsed_whole_when_find_is_quicker_than_a_tick(tmp_path, monkeypatch):
    """Large parse thresholds: each find's output is parsed once, at its end."""
    path, sizes = _written(tmp_path)
    monkeypatch.setattr(chunk_find, "PARSE_BYTES", 1 << 30)
    monkeypatch.setattr(chunk_find, "PARSE_SECONDS", 3600.0)
    _check(scan_report(read_layout(path)), sizes)


@pytest.mark.timeout(120, method="signal")  # broken, the scan waits for ever on a find that waits on its pipe
def test_a_pipe_that_cannot_be_widened_is_read_as_its_output_comes(tmp_path, monkeypatch):
    """Where the pipe cannot be widened, find's output wakes the scan as it comes: a pipe
    full between two ticks would make find wait. Here each pipe holds one page (4 KiB)
    and each find writes more than that, and no tick comes."""
    path = str(tmp_path / "a")
    a = zarr.create_array(path, shape=(8, 96, 96), chunks=(1, 8, 8), dtype="uint8", fill_value=0, compressors=None)
    a[:] = 1  # 1,152 chunks of 64 bytes: about 6 KiB of find's output per process

    real_popen = subprocess.Popen
    monkeypatch.setattr(chunk_find.subprocess, "Popen", functools.partial(real_popen, pipesize=4096))
    monkeypatch.setattr(chunk_find, "_widen", lambda fd: False)
    monkeypatch.setattr(chunk_find, "TICK_SECONDS", 3600.0)
    summary = scan_report(read_layout(path)).summary()
    assert summary["nchunks_initialized"] == 1152 and summary["stored_bytes"] == 1152 * 64


def test_a_batch_that_names_chunks_known_already_still_keeps_the_counts_right(tmp_path):
    """A scan's batches name chunks not known yet (nothing of theirs taken back, no recount);
    a batch naming known chunks again (another size, another state) takes theirs back."""
    from polystore_gui.model.chunk_report import ChunkReport, ScanBatch

    path = str(tmp_path / "a")
    zarr.create_array(path, shape=(4, 4), chunks=(1, 1), dtype="uint8", fill_value=0)
    report = ChunkReport.empty(read_layout(path))

    def batch(flat, sizes, states):
        flat, sizes, states = np.array(flat, np.int64), np.array(sizes, np.int64), np.array(states, np.int8)
        return ScanBatch(flat, sizes, states, flat, sizes, states, {})

    report.apply(batch([0, 1, 2, 3], [10, 20, 300, 4000], [STORED] * 4))
    report.apply(batch([2, 3, 5], [5000, 0, 7], [STORED, ERROR, STORED]))
    summary = report.summary()
    assert summary["nchunks_initialized"] == 4 and summary["nchunks_error"] == 1
    assert summary["stored_bytes"] == 10 + 20 + 5000 + 7
    assert summary["size_histogram"] == [
        {"min": 4, "max": 8, "count": 1}, {"min": 8, "max": 16, "count": 1}, {"min": 16, "max": 32, "count": 1},
        *({"min": 2 ** k, "max": 2 ** (k + 1), "count": 0} for k in range(5, 12)),
        {"min": 4096, "max": 8192, "count": 1},
    ]
    assert report.heat_span() == (7, 5000)


def test_gnu_find_known_from_its_bytes_and_else_from_its_version(tmp_path, monkeypatch):
    """GNU find is recognised from its program's bytes (no process); a program that does not
    show it (a wrapper script) is asked for its --version, and what is not GNU find is not used."""
    import shutil

    real = shutil.which("find")
    assert real is not None and chunk_find._says_gnu_findutils(real)
    assert not chunk_find._says_gnu_findutils(shutil.which("xargs") or real + "-missing")
    wrapper = tmp_path / "gnu" / "find"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    other = tmp_path / "other" / "find"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho 'find: unknown option -- -' >&2\nexit 1\n")
    for script in (wrapper, other):
        script.chmod(0o755)
    try:
        for folder, expected in ((wrapper.parent, str(wrapper)), (other.parent, None)):
            monkeypatch.setenv("PATH", str(folder))
            chunk_find.gnu_find.cache_clear()
            assert not chunk_find._says_gnu_findutils(str(folder / "find"))
            assert chunk_find.gnu_find() == expected
    finally:
        monkeypatch.undo()
        chunk_find.gnu_find.cache_clear()
    assert chunk_find.gnu_find() == real
