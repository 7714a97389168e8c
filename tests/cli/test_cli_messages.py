"""What the command line says (issue 13, item 13): missing paths, `info` for people and
for machines, one usage block for --help, and `ls` in the tree's name order."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from tests.cli.test_cli import run


@pytest.mark.parametrize("command", ["ls", "info", "cp"])
@pytest.mark.parametrize("backend", ["", "zarr:", "memory:"])
def test_a_path_that_never_existed_does_not_exist(tmp_path, command, backend):
    """Nothing was ever there: "does not exist", never "no longer exists"."""
    missing = f"{backend}{tmp_path / 'never'}"
    args = [command, missing] + ([str(tmp_path)] if command == "cp" else [])
    out = run(*args)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "does not exist" in out.stderr.lower() and "never" in out.stderr
    assert "no longer" not in out.stderr.lower() and "Traceback" not in out.stderr
    assert "does not exist" not in out.stdout.lower()  # the reason goes to stderr only
    if command == "info":
        assert out.stdout == ""  # nothing is known of it: not even "kind file"


def test_info_text_is_indented_with_human_sizes(demo_dir):
    out = run("info", f"zarr:{demo_dir}/stores/experiment.zarr/sharded")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"zarr:{demo_dir}/stores/experiment.zarr/sharded"
    assert all(line.startswith("  ") for line in lines[1:])
    fields = {line.split(None, 1)[0]: line for line in lines[1:]}
    assert "4 × 1024 × 1024" in fields["shape"]
    assert "1 × 128 × 128, in shards of 1 × 512 × 512" in fields["chunks"]
    assert "8.0 MiB (8,388,608 bytes)" in out.stdout
    assert "bytes(endian=little) → zstd(level=0, checksum=false)" in fields["codecs"]
    assert "{'" not in out.stdout and "['" not in out.stdout  # no Python reprs


def test_info_text_shows_attributes_as_an_outline_not_one_long_line(demo_dir):
    out = run("info", f"ome_zarr:{demo_dir}/stores/experiment.zarr/image")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) < 120
    assert "  attributes" in lines
    assert any(line.strip() == "multiscales:" for line in lines)
    assert any(line.strip() == "- name: c, type: channel" for line in lines)
    assert "level 2" in out.stdout and "version 0.5" in out.stdout and "nuclei" in out.stdout


def test_info_text_caps_huge_attributes_and_json_keeps_them_all(tmp_path):
    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(2, 2), dtype="u1", zarr_format=3)
    array.attrs["names"] = {f"A{i:04d}.tif": [i, i + 1] for i in range(5000)}
    text = run("info", str(tmp_path / "a.zarr"))
    assert text.returncode == 0, text.stderr
    assert len(text.stdout.splitlines()) < 120 and "more" in text.stdout
    machine = run("info", str(tmp_path / "a.zarr"), "--json")
    doc = json.loads(machine.stdout)  # one JSON document, nothing else on stdout
    assert len(doc["attributes"]["names"]) == 5000 and doc["nbytes"] == 4


def test_info_json_is_one_exact_document(demo_dir):
    out = run("info", f"ome_zarr:{demo_dir}/stores/experiment.zarr/image", "--json")
    doc = json.loads(out.stdout)
    assert doc["ome"]["version"] == "0.5" and doc["kind"] == "group"
    assert doc["attributes"]["ome"]["multiscales"][0]["axes"][0] == {"name": "c", "type": "channel"}


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_one_usage_block(flag):
    out = run(flag)
    assert out.returncode == 0, out.stderr
    assert out.stdout.lower().count("usage:") == 1, out.stdout
    for word in ("PATH", "--demo-dir", "--self-test", "backends", "ls", "info", "chunks", "demo", "viewer",
                 "send", "cp"):
        assert word in out.stdout
    sub = run("ls", "--help")
    assert sub.returncode == 0 and sub.stdout.lower().count("usage:") == 1 and "ADDRESS" in sub.stdout.upper()


def test_ls_prints_names_in_the_trees_order(tmp_path):
    for name in ("b", "B", "a", "A", "é", "E"):
        (tmp_path / name).touch()
    out = run("ls", str(tmp_path), "--json")
    assert [e["name"] for e in json.loads(out.stdout)] == ["A", "a", "B", "b", "E", "é"]


def test_ls_of_a_polystore_array_under_disk_lists_what_zarr_lists(demo_dir):
    """The parent calls it a polystore array; under disk it listed nothing ([])."""
    array = demo_dir / "stores" / "polystore_plate" / "images" / "A" / "01" / "0" / "0"
    parent = json.loads(run("ls", str(array.parent), "--json").stdout)
    assert [(e["name"], e["kind"]) for e in parent] == [("0", "polystore array")]
    on_disk = json.loads(run("ls", str(array), "--json").stdout)
    in_zarr = json.loads(run("ls", f"zarr:{array}", "--json").stdout)
    assert len(on_disk) == 8 and on_disk == in_zarr
    assert {e["kind"] for e in on_disk} == {"virtual file"} and on_disk[0]["name"] == "A01_c1_z1.tif"


def test_ls_of_a_plain_zarr_array_under_disk_is_the_array_itself(tmp_path):
    for fmt in (2, 3):
        path = tmp_path / f"v{fmt}.zarr"
        zarr.create_array(str(path), shape=(3, 4), chunks=(1, 4), dtype="i2", zarr_format=fmt)[:] = np.ones((3, 4))
        for address in (str(path), f"zarr:{path}"):
            out = run("ls", address, "--json")
            assert out.returncode == 0, out.stderr
            (entry,) = json.loads(out.stdout)
            assert entry["kind"] == "array" and entry["shape"] == [3, 4] and entry["dtype"] == "int16"
