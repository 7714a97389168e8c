"""Hostile files and malformed stores on the command line (issue 14, items 6-8).

Each command runs in a subprocess with a timeout: a regression that opens a FIFO fails
the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TIMEOUT = 60


def run(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "polystore_gui", *args], capture_output=True, text=True,
                              timeout=TIMEOUT, env=dict(os.environ))
    except subprocess.TimeoutExpired:  # subprocess.run kills the child before raising
        pytest.fail(f"polystore-gui {' '.join(args)} did not return within {TIMEOUT} s (it hung)")


def _group(path, attributes: object = None) -> None:
    path.mkdir(parents=True)
    doc: dict[str, object] = {"zarr_format": 3, "node_type": "group"}
    if attributes is not None:
        doc["attributes"] = attributes
    (path / "zarr.json").write_text(json.dumps(doc))


def _array(path, shape, chunks) -> None:
    path.mkdir(parents=True)
    (path / "zarr.json").write_text(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": shape, "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
        "codecs": [{"name": "bytes"}],
    }))


def test_info_on_a_fifo_says_what_it_is_and_returns(tmp_path):
    fifo = tmp_path / "x.tif"
    os.mkfifo(fifo)
    out = run("info", str(fifo))
    assert out.returncode == 1
    assert "named pipe (FIFO)" in out.stderr and "Traceback" not in out.stderr
    out = run("info", str(fifo), "--json")
    assert json.loads(out.stdout)["error"].startswith("a named pipe (FIFO), not a regular file")


def test_ls_lists_a_fifo_beside_its_siblings_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "ok.txt").write_text("hi")
    out = run("ls", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    entries = {e["name"]: e for e in json.loads(out.stdout)}
    assert entries["ok.txt"]["size"] == 2
    assert entries["pipe.json"]["kind"] == "file" and "FIFO" in entries["pipe.json"]["detail"]


def test_info_on_proc_self_mem_and_a_device_is_an_error_not_a_traceback():
    out = run("info", "/proc/self/mem")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot read mem" in out.stderr
    out = run("info", "/dev/zero")
    assert out.returncode == 1 and "character device" in out.stderr


def test_a_symlink_loop_is_one_error_row_and_its_siblings_list(tmp_path):
    os.symlink("loop", tmp_path / "loop")
    (tmp_path / "ok.txt").write_text("hi")
    (tmp_path / "sub").mkdir()
    out = run("ls", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    entries = {e["name"]: e for e in json.loads(out.stdout)}
    assert set(entries) == {"loop", "ok.txt", "sub"}
    assert entries["loop"]["kind"] == "error" and "loop" in entries["loop"]["error"].lower()
    assert entries["sub"]["kind"] == "directory" and entries["ok.txt"]["error"] is None


def test_a_member_whose_attributes_are_a_list_is_an_error_row_beside_its_siblings(tmp_path):
    store = tmp_path / "s.zarr"
    _group(store)
    _group(store / "bad", attributes=[1, 2])
    _group(store / "good")
    _array(store / "arr", [4, 4], [2, 2])
    for address in (str(store), f"zarr:{store}"):
        out = run("ls", address, "--json")
        assert out.returncode == 0, out.stderr
        entries = {e["name"]: e for e in json.loads(out.stdout)}
        assert set(entries) == {"bad", "good", "arr"}
        assert entries["bad"]["kind"] == "error" and "attributes is a list" in entries["bad"]["error"]
        assert entries["arr"]["shape"] == [4, 4]
    # ... and a folder holding such a store lists it as a row with the error.
    (tmp_path / "top.zarr").mkdir()
    (tmp_path / "top.zarr" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group",
                                                                   "attributes": [1]}))
    out = run("ls", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    entries = {e["name"]: e for e in json.loads(out.stdout)}
    assert "attributes is a list" in entries["top.zarr"]["error"] and entries["s.zarr"]["error"] is None


def test_ls_escapes_newlines_and_terminal_escapes_in_text_and_keeps_json_exact(tmp_path):
    names = ["a\nb.txt", "x\x1b[31mred", "tab\there", "back\\slash"]
    for name in names:
        (tmp_path / name).write_text("")
    out = run("ls", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout and "\t" not in out.stdout
    lines = out.stdout.splitlines()
    assert len(lines) == len(names)  # one line per entry: no name breaks a line
    text = "\n".join(lines)
    for shown in ("a\\nb.txt", "x\\x1b[31mred", "tab\\there", "back\\\\slash"):
        assert shown in text
    out = run("ls", str(tmp_path), "--json")
    assert sorted(e["name"] for e in json.loads(out.stdout)) == sorted(names)


def test_chunks_on_a_negative_shape_or_a_zero_chunk_says_why(tmp_path):
    _array(tmp_path / "neg", [-5, 4], [2, 2])
    _array(tmp_path / "zero", [4, 4], [0, 2])
    for name, reason in (("neg", "negative"), ("zero", "below 1")):
        out = run("chunks", str(tmp_path / name))
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert reason in out.stderr
        out = run("info", str(tmp_path / name))
        assert out.returncode == 1 and "Traceback" not in out.stderr and reason in out.stderr


def test_deeply_nested_metadata_is_refused_with_a_message(tmp_path):
    store = tmp_path / "deep.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {"a": '
                                     + "[" * 100_000 + "]" * 100_000 + "}}")
    for command in ("ls", "info", "chunks"):
        out = run(command, str(store))
        assert "Traceback" not in out.stderr, out.stderr
        assert "nested" in out.stderr + out.stdout


def test_a_huge_sparse_zarr_json_is_refused_without_reading_it(tmp_path):
    store = tmp_path / "huge.zarr"
    store.mkdir()
    with open(store / "zarr.json", "wb") as fh:
        fh.write(b'{"zarr_format": 3, "node_type": "group", "attributes": {"x": "')
        fh.truncate(3 << 30)  # 3 GiB, sparse: costs no disk
    out = run("ls", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)
    assert "larger than 64 MiB" in entry["error"]
    out = run("info", str(store))
    assert out.returncode == 1 and "larger than 64 MiB" in out.stderr


def test_cp_refuses_zero_chunk_sizes(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"")
    for bad in ("0,0", "1,-512", "0"):
        out = run("cp", str(tmp_path / "a.npy"), f"zarr:{tmp_path}/dest.zarr", "--chunks", bad)
        assert out.returncode == 2, (bad, out.stdout, out.stderr)
        assert "--chunks" in out.stderr and "at least 1" in out.stderr
    assert not (tmp_path / "dest.zarr").exists()


def test_chunks_says_it_did_not_decode_and_verify_finds_truncated_and_garbage_chunks(tmp_path):
    import numpy as np
    import zarr

    plain = zarr.create_array(str(tmp_path / "plain.zarr"), shape=(4, 8), chunks=(2, 4), dtype="uint16",
                              fill_value=0, compressors=None)
    plain[:] = np.arange(32).reshape(4, 8)
    packed = zarr.create_array(str(tmp_path / "packed.zarr"), shape=(4, 8), chunks=(2, 4), dtype="uint16",
                               fill_value=0)
    packed[:] = np.arange(32).reshape(4, 8)
    os.truncate(tmp_path / "plain.zarr" / "c" / "0" / "0", 3)  # truncated
    (tmp_path / "packed.zarr" / "c" / "1" / "1").write_bytes(b"not zstd at all, garbage")
    for name, key in (("plain", "c/0/0"), ("packed", "c/1/1")):
        out = run("chunks", str(tmp_path / f"{name}.zarr"), "--summary")
        assert out.returncode == 0, out.stderr
        assert "0 unreadable; sizes only, chunks not decoded" in out.stdout
        doc = json.loads(run("chunks", str(tmp_path / f"{name}.zarr"), "--json", "--summary").stdout)
        assert doc["decoded"] is False and doc["nchunks_error"] == 0
        out = run("chunks", str(tmp_path / f"{name}.zarr"), "--summary", "--verify")
        assert out.returncode == 1 and "Traceback" not in out.stderr
        assert "3 of 4 (0 missing, 1 unreadable; every stored chunk decoded)" in out.stdout
        out = run("chunks", str(tmp_path / f"{name}.zarr"), "--json", "--verify")
        doc = json.loads(out.stdout)
        assert out.returncode == 1 and doc["decoded"] is True and doc["nchunks_error"] == 1
        assert [e["key"] for e in doc["errors"]] == [key] and "cannot decode" in doc["errors"][0]["message"]
        assert [row["key"] for row in doc["chunk_list"] if row["state"] == "error"] == [key]
