from __future__ import annotations

import os

import pytest

from polystore_gui.model.address import Address, UnknownBackendError, parse_address

KNOWN = ["disk", "memory", "zarr", "ome_zarr", "napari_stream"]


def test_backend_prefix_is_parsed():
    assert parse_address("zarr:/data/plate.zarr/A/1/0", KNOWN) == Address("zarr", "/data/plate.zarr/A/1/0")
    assert parse_address("memory:/results", KNOWN) == Address("memory", "/results")


def test_bare_path_means_disk_and_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_address("images", KNOWN) == Address("disk", str(tmp_path / "images"))
    assert parse_address("/abs/x.tif", KNOWN) == Address("disk", "/abs/x.tif")


def test_memory_paths_are_rooted():
    assert parse_address("memory:results/", KNOWN).path == "/results"
    assert parse_address("memory:", KNOWN).path == "/"


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(UnknownBackendError) as info:
        parse_address("s3:/bucket/key", KNOWN)
    assert "s3" in str(info.value)
    assert all(k in str(info.value) for k in KNOWN)


def test_existing_file_with_colon_is_a_disk_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd:name.txt").write_text("x")
    assert parse_address("odd:name.txt", KNOWN) == Address("disk", os.path.join(tmp_path, "odd:name.txt"))
