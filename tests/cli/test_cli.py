"""The command line, run as a user runs it: a subprocess, exit status and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(*args, timeout=120):
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "polystore_gui", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("polystore-gui ")


def test_backends_json_lists_the_registry():
    from polystore.backend_registry import STORAGE_BACKENDS

    out = run("backends", "--json")
    assert out.returncode == 0, out.stderr
    backends = {b["key"]: b for b in json.loads(out.stdout)}
    assert set(backends) == set(STORAGE_BACKENDS.keys())
    assert backends["disk"]["capability"] == "read-write storage"
    assert backends["disk"]["status"] == "ready"
    assert backends["napari_stream"]["capability"] == "write-only sink"
    assert backends["virtual_workspace"]["status"] == "ready"
    assert backends["omero_local"]["status"] == "needs context"


def test_backends_text():
    out = run("backends")
    assert out.returncode == 0
    assert any(line.startswith("disk ") and "read-write storage" in line for line in out.stdout.splitlines())


def test_ls_disk_and_zarr_addresses(demo_dir):
    out = run("ls", str(demo_dir / "images"), "--json")
    assert out.returncode == 0, out.stderr
    names = {e["name"]: e for e in json.loads(out.stdout)}
    assert names["z_stack.tif"]["kind"] == "image"
    assert names["z_stack.tif"]["size"] > 0
    out = run("ls", f"zarr:{demo_dir}/stores/experiment.zarr", "--json")
    assert out.returncode == 0, out.stderr
    members = {e["name"]: e for e in json.loads(out.stdout)}
    assert set(members) == {"plain", "sharded", "image"}
    assert members["sharded"]["shape"] == [4, 1024, 1024]
    assert members["plain"]["backend"] == "zarr"
    out = run("ls", f"zarr:{demo_dir}/stores/experiment.zarr")
    assert out.returncode == 0
    assert "16×512×512" in out.stdout and "uint16" in out.stdout


def test_ls_a_leaf_prints_the_entry_itself(demo_dir):
    out = run("ls", f"zarr:{demo_dir}/stores/experiment.zarr/plain", "--json")
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)
    assert entry["kind"] == "array" and entry["dtype"] == "uint16"


def test_ls_memory_root_of_a_fresh_process_is_empty():
    out = run("ls", "memory:/", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_unknown_backend_exits_2_and_lists_the_known_ones():
    out = run("ls", "s3:/bucket/plate")
    assert out.returncode == 2
    assert "unknown backend 's3'" in out.stderr
    assert "disk" in out.stderr and "zarr" in out.stderr


@pytest.mark.parametrize("target", ["missing", "corrupt"])
def test_ls_bad_input_says_why_on_stderr(tmp_path, target):
    path = tmp_path / target
    if target == "corrupt":
        path.mkdir()
        (path / "zarr.json").write_text("{")
    out = run("ls", str(path))
    assert out.returncode == 1
    assert ("Does not exist" if target == "missing" else "corrupt zarr metadata") in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_makes_the_workspace(tmp_path):
    out = run("demo", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "d")
    assert (tmp_path / "d" / "stores" / "experiment.zarr" / "zarr.json").exists()


def test_help_names_the_subcommands():
    out = run("--help")
    assert out.returncode == 0
    for word in ("backends", "ls", "demo", "PATH"):
        assert word in out.stdout


def test_info_json_for_an_array(demo_dir):
    out = run("info", f"zarr:{demo_dir}/stores/experiment.zarr/sharded", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "array"
    assert doc["shape"] == [4, 1024, 1024] and doc["dtype"] == "uint16"
    assert doc["chunks"] == [1, 128, 128] and doc["shards"] == [1, 512, 512]
    assert doc["zarr_format"] == 3 and doc["fill_value"] == 0 and doc["attributes"] == {}


def test_info_kinds(demo_dir):
    kinds = {}
    for address in (f"zarr:{demo_dir}/stores/experiment.zarr", str(demo_dir / "images"),
                    str(demo_dir / "tables" / "measurements.csv")):
        out = run("info", address, "--json")
        assert out.returncode == 0, out.stderr
        kinds[address] = json.loads(out.stdout)["kind"]
    assert sorted(kinds.values()) == ["directory", "file", "group"]


def test_info_text_shows_the_ome_summary(demo_dir):
    out = run("info", f"ome_zarr:{demo_dir}/stores/experiment.zarr/image")
    assert out.returncode == 0, out.stderr
    assert "version 0.5" in out.stdout and "nuclei" in out.stdout and "level 2" in out.stdout


def test_info_on_bad_input_exits_1_with_a_message(tmp_path):
    (tmp_path / "x.tif").write_bytes(b"garbage")
    out = run("info", str(tmp_path / "x.tif"))
    assert out.returncode == 1 and "cannot read x.tif" in out.stderr and "Traceback" not in out.stderr


def test_info_on_a_polystore_virtual_file(demo_dir):
    out = run("info", f"zarr:{demo_dir}/stores/polystore_plate/images/A02_c1_z2.tif", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "array" and doc["shape"] == [256, 256]
    assert doc["attributes"]["coordinates"] == [0, 1]


def test_chunks_json_on_the_demo_sharded_array(demo_dir):
    import zarr

    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    out = run("chunks", f"zarr:{path}", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    array = zarr.open_array(str(path), mode="r")
    assert doc["nchunks"] == array.nchunks == 256
    assert doc["nshards"] == 16 and doc["nshards_initialized"] == array._nshards_initialized
    assert doc["chunks"] == [1, 128, 128] and doc["shards"] == [1, 512, 512]
    listed = doc["chunk_list"]
    assert len(listed) == 256
    assert sum(c["present"] for c in listed) == doc["nchunks_initialized"]
    assert {tuple(c["index"]) for c in listed} == {(z, y, x) for z in range(4) for y in range(8) for x in range(8)}
    assert all(c["stored_bytes"] == 0 for c in listed if not c["present"])
    # The demo wrote plane 2 as a checkerboard of inner chunks: the index says so.
    plane2 = {tuple(c["index"][1:]): c["present"] for c in listed if c["index"][0] == 2}
    assert plane2 == {(y, x): (y + x) % 2 == 0 for y in range(8) for x in range(8)}
    assert doc["stored_bytes"] == sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path / "c") for f in fs
    )


def test_chunks_summary_and_text(demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "plain"
    out = run("chunks", str(path), "--json", "--summary")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert "chunk_list" not in doc and doc["nchunks_initialized"] == 64 and doc["shards"] is None
    assert doc["nshards"] is None and doc["nshards_initialized"] is None
    out = run("chunks", str(path))
    assert out.returncode == 0
    assert "chunks stored: 64 of 64" in out.stdout and "c/15/1/1" in out.stdout


def test_chunks_refuses_what_is_not_a_zarr_array(demo_dir):
    out = run("chunks", "memory:/demo")
    assert out.returncode == 1 and "zarr arrays on disk" in out.stderr
    out = run("chunks", str(demo_dir / "images"))
    assert out.returncode == 1 and "not a zarr array" in out.stderr
    out = run("chunks", "nosuch:/x")
    assert out.returncode == 2


def test_cp_copies_verifies_and_never_overwrites_unasked(tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(b"payload" * 1000)
    dst = tmp_path / "out"
    dst.mkdir()
    first = run("cp", str(src), str(dst))
    assert first.returncode == 0, first.stderr
    assert "copied" in first.stdout and "verified" in first.stdout
    assert (dst / "data.bin").read_bytes() == src.read_bytes()
    (dst / "data.bin").write_bytes(b"mine")
    again = run("cp", str(src), str(dst))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert (dst / "data.bin").read_bytes() == b"mine"
    skipped = run("cp", str(src), str(dst), "--on-conflict", "skip")
    assert skipped.returncode == 0 and "skipped" in skipped.stdout
    kept = run("cp", str(src), str(dst), "--on-conflict", "rename", "--move")
    assert kept.returncode == 0 and (dst / "data (2).bin").exists() and not src.exists()
    assert (dst / "data.bin").read_bytes() == b"mine"


@pytest.mark.gl
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="napari draws with OpenGL: run under xvfb-run (make test)")
def test_self_test_opens_the_demo_and_napari_draws(tmp_path):
    env = dict(os.environ, POLYSTORE_GUI_DEMO_DIR=str(tmp_path / "demo"), NAPARI_CONFIG=str(tmp_path / "napari.yaml"))
    out = subprocess.run([sys.executable, "-m", "polystore_gui", "--self-test"], capture_output=True, text=True,
                         timeout=400, env=env)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0 and report["ok"], (report, out.stderr[-2000:])
    assert "napari_stream" in report["backends"] and report["canvas_pixels_lit"] > 0
