"""The one zarr metadata reader: zarr-python's own metadata classes decide, a hand reader
takes over only where zarr raises (a codec not installed), and chunk keys come from
zarr's own chunk key encodings."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import zarr

from polystore_gui.model.chunk_layout import ChunkLayoutError, read_layout
from polystore_gui.model.chunks import chunk_detail, scan_report
from polystore_gui.model.zarr_nodes import CorruptMetadataError, read_node


def _edit(path: str, name: str, change) -> None:
    meta = os.path.join(path, name)
    with open(meta) as fh:
        doc = json.load(fh)
    change(doc)
    with open(meta, "w") as fh:
        json.dump(doc, fh)


CASES = {
    "v3": dict(shape=(5, 7, 9), chunks=(2, 3, 4), dtype="uint16"),
    "v3-dot": dict(shape=(5, 9), chunks=(2, 4), dtype="<f4", chunk_key_encoding={"name": "default", "separator": "."}),
    "v3-v2keys": dict(shape=(5, 9), chunks=(2, 4), dtype="int8", chunk_key_encoding={"name": "v2", "separator": "/"}),
    "v3-sharded": dict(shape=(8, 8, 8), chunks=(2, 2, 4), shards=(4, 4, 8), dtype=">u2"),
    "v2": dict(shape=(6, 6), chunks=(4, 4), dtype="<i4", zarr_format=2),
    "v2-slash": dict(shape=(6, 6), chunks=(4, 4), dtype="float64", zarr_format=2,
                     chunk_key_encoding={"name": "v2", "separator": "/"}),
    "scalar": dict(shape=(), dtype="uint8"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_facts_and_keys_are_zarrs_own(tmp_path, case) -> None:
    path = str(tmp_path / "a.zarr")
    array = zarr.create_array(path, fill_value=0, **CASES[case])
    array[...] = 1
    meta = read_node(path)
    assert meta is not None and meta.metadata is not None  # parsed by zarr, not by hand
    assert meta.shape == array.shape
    assert meta.chunks == array.chunks and meta.shards == array.shards
    assert np.dtype(meta.dtype).newbyteorder("=") == array.dtype.newbyteorder("=")  # v3 types have no byte order
    layout = read_layout(path)
    grid = layout.object_grid
    for index in ([0] * len(grid), [g - 1 for g in grid]):
        key = layout.key(index)
        assert key == array.metadata.encode_chunk_key(tuple(index))
        assert os.path.isfile(os.path.join(path, *key.split("/")))  # where zarr wrote it
    assert scan_report(layout).summary()["nchunks_missing"] == 0


def test_a_codec_not_installed_is_read_by_hand(tmp_path) -> None:
    path = str(tmp_path / "a.zarr")
    zarr.create_array(path, shape=(4, 4), chunks=(2, 2), dtype="uint8")
    _edit(path, "zarr.json", lambda d: d["codecs"].append({"name": "made_up_codec"}))
    meta = read_node(path)
    assert meta is not None and meta.metadata is None  # zarr raised: the hand reader answered
    assert (meta.shape, meta.chunks, meta.dtype) == ((4, 4), (2, 2), "uint8")


@pytest.mark.parametrize("separator", ["/../../secret/", "..", "x", ""])
def test_a_hostile_key_separator_never_reaches_outside_the_array(tmp_path, separator) -> None:
    """A separator zarr refuses (anything but '.' and '/') once built chunk keys such as
    ``c/../../secret/0``: the inspector read a file outside the store as a chunk."""
    path = str(tmp_path / "store" / "a.zarr")
    array = zarr.create_array(path, shape=(4, 4), chunks=(2, 2), dtype="uint8")
    array[:] = 1
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "0").write_bytes(b"not a chunk of this array")
    _edit(path, "zarr.json", lambda d: d.update(
        chunk_key_encoding={"name": "default", "configuration": {"separator": separator}}))
    with pytest.raises((ChunkLayoutError, CorruptMetadataError), match="separator"):
        layout = read_layout(path)
        chunk_detail(layout, (0, 0))
    with pytest.raises(CorruptMetadataError, match="separator"):
        read_node(path)
