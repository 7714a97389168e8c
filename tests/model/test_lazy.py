"""Lazy opening without a viewer: what would be shown, and what is read to show it."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from polystore_gui.model import lazy
from polystore_gui.model.lazy import NeedsConfirmation, SafeArray, open_preview, plane_chunk_report

from ..fakes import CountingStore, OpaqueArray


@pytest.fixture
def damaged(tmp_path):
    """(3, 64, 64) uint16, chunks (1, 32, 32), fill 7: plane 1 has one chunk never
    written and one chunk corrupt on disk."""
    a = zarr.create_array(str(tmp_path / "arr"), shape=(3, 64, 64), chunks=(1, 32, 32), dtype="uint16", fill_value=7)
    a[:] = 100
    os.remove(tmp_path / "arr" / "c" / "1" / "0" / "0")
    (tmp_path / "arr" / "c" / "1" / "1" / "1").write_bytes(b"garbage")
    return tmp_path / "arr"


def test_missing_and_corrupt_chunks_are_reported_and_the_rest_shown(damaged):
    preview = open_preview("zarr", str(damaged))
    notes = " ".join(preview.notes)
    assert "1 of 4 chunks of this plane missing" in notes and "fill value 7" in notes
    assert "chunk (1, 1, 1) could not be read" in notes
    data = preview.layers[0].data
    assert isinstance(data, SafeArray)
    plane = data[1]
    assert plane.shape == (64, 64)
    assert plane[0, 0] == 7  # never written
    assert plane[40, 40] == 7  # corrupt: fill value, reported
    assert plane[0, 40] == 100 and plane[40, 0] == 100  # the rest is real data
    assert set(data.failures) == {(1, 1, 1)}


def test_safe_array_reports_failures_met_later(damaged):
    a = zarr.open_array(str(damaged), mode="r")
    seen = []
    safe = SafeArray(a, on_failure=lambda index, message: seen.append(index))
    assert safe[0].mean() == 100
    safe[1, 30:40, 30:40]
    assert seen == [(1, 1, 1)]


def test_plane_report_for_sharded_arrays(demo_dir):
    path = demo_dir / "stores" / "experiment.zarr" / "sharded"
    a = zarr.open_array(str(path), mode="r")
    # Plane 1 of 4: its top half (2 of 4 shards) was written.
    assert plane_chunk_report(a, str(path)) == (2, 2)


def test_structured_string_one_d_and_empty_arrays_fall_back(tmp_path):
    zarr.create_array(str(tmp_path / "rec"), shape=(4,), chunks=(4,), dtype=[("x", "<f4"), ("n", "<i2")], zarr_format=2)
    preview = open_preview("zarr", str(tmp_path / "rec"))
    assert not preview.layers and preview.info.preview[0] == ["index", "x", "n"]
    text = zarr.create_array(str(tmp_path / "txt"), shape=(3,), chunks=(3,), dtype=str)
    text[:] = np.array(["a", "bb", "ccc"])
    preview = open_preview("zarr", str(tmp_path / "txt"))
    assert [row[1] for row in preview.info.preview[1:]] == ["a", "bb", "ccc"]
    one = zarr.create_array(str(tmp_path / "one"), shape=(5,), chunks=(5,), dtype="f4")
    one[:] = np.arange(5)
    preview = open_preview("zarr", str(tmp_path / "one"))
    assert "1-D" in preview.notes[0] and preview.info.preview[3] == ["2", "2.0"]
    zarr.create_array(str(tmp_path / "empty"), shape=(0, 4), chunks=(1, 4), dtype="u1")
    assert "empty" in open_preview("zarr", str(tmp_path / "empty")).notes[0]


def test_opaque_memory_arrays_above_the_limit_ask_first():
    from polystore_gui.model.listing import memory_backend

    memory_backend().ensure_directory("/lazy_test")
    memory_backend().save(OpaqueArray((2048, 2048)), "/lazy_test/opaque")
    with pytest.raises(NeedsConfirmation) as info:
        open_preview("memory", "/lazy_test/opaque", size_limit=1 << 20)
    assert info.value.nbytes == 2048 * 2048 * 2
    preview = open_preview("memory", "/lazy_test/opaque", size_limit=1 << 20, confirmed=True)
    assert preview.layers[0].shape == (2048, 2048)
    # zarr arrays held in memory stay lazy: no question asked.
    z = zarr.zeros(shape=(4096, 4096), chunks=(512, 512), dtype="uint16")
    memory_backend().save(z, "/lazy_test/big_zarr")
    assert open_preview("memory", "/lazy_test/big_zarr", size_limit=1 << 20).layers[0].data is z


def test_contrast_sample_reads_a_bounded_region(tmp_path):
    """The sample reads the middle plane only, and at most a 512² crop of it."""
    big = zarr.create_array(str(tmp_path / "big"), shape=(9, 2048, 2048), chunks=(1, 256, 256), dtype="uint16")
    big[4, 768:1280, 768:1280] = 1000
    stores = []
    lazy.set_store_wrapper(lambda store: stores.append(CountingStore(store)) or stores[-1])
    try:
        open_preview("zarr", str(tmp_path / "big"))
    finally:
        lazy.set_store_wrapper(None)
    chunk_reads = {k for s in stores for k in s.keys if k.startswith("c/")}
    assert chunk_reads and all(k.startswith("c/4/") for k in chunk_reads)
    assert len(chunk_reads) <= 4  # a 512x512 centred crop touches at most 2x2 chunks of 256


def test_polystore_virtual_file_opens_its_plane_lazily(demo_dir):
    from polystore.backend_registry import get_backend_instance

    path = str(demo_dir / "stores" / "polystore_plate" / "images" / "B01_c2_z4.tif")
    preview = open_preview("zarr", path)
    assert preview.info.kind == "array" and preview.info.format == "polystore virtual file"
    assert preview.info.attributes["coordinates"] == [1, 3]
    (layer,) = preview.layers
    assert layer.shape == (256, 256)
    expected = get_backend_instance("zarr").load(path)  # polystore's own reading
    np.testing.assert_array_equal(np.asarray(layer.data[:, :]), expected)
    assert any("span several planes" in n for n in preview.notes)  # polystore's one-chunk-per-well


def test_ome_ngff_04_on_zarr_v2(demo_dir):
    """polystore's HCS fields are OME-NGFF 0.4 images on zarr v2."""
    field = demo_dir / "stores" / "polystore_plate" / "images" / "A" / "02" / "0"
    preview = open_preview("ome_zarr", str(field))
    assert preview.info.ome.version == "0.4"
    (image,) = preview.layers
    assert image.channel_axis == 0 and image.shape == (2, 4, 256, 256)
    assert image.name == "A/02/0"
    assert len(image.contrast_limits) == 2  # one per channel, from the sample


def test_the_plane_sampled_for_contrast_is_not_read_twice(tmp_path):
    """The contrast sample and the viewer's slice of the same plane share one read."""
    a = zarr.create_array(str(tmp_path / "a"), shape=(3, 256, 256), chunks=(1, 256, 256), dtype="uint16")
    # Values that vary within the plane: a constant middle plane makes the sample look further.
    a[:] = np.broadcast_to(np.arange(256, dtype=np.uint16), (3, 256, 256))
    stores = []
    lazy.set_store_wrapper(lambda store: stores.append(CountingStore(store)) or stores[-1])
    try:
        preview = open_preview("zarr", str(tmp_path / "a"))
        np.asarray(preview.layers[0].data[1])  # what napari does for the middle plane
    finally:
        lazy.set_store_wrapper(None)
    reads = [k for s in stores for k in s.keys if k.startswith("c/")]
    assert reads == ["c/1/0/0"]


def test_reading_a_previews_levels_never_imports_distributed(tmp_path):
    """dask's default scheduler imports ``distributed`` at the first compute to look for a
    client (0.3-0.4 s of a first frame, with the interpreter lock held); a preview's levels
    compute on the threaded scheduler without it. Run in a fresh interpreter: this one may
    have imported distributed already (the LocalCluster tests)."""
    import subprocess
    import sys

    zarr.create_array(str(tmp_path / "arr"), shape=(4, 64, 64), chunks=(1, 32, 32), dtype="uint16")[:] = 3
    code = f"""
import sys
import numpy as np
import zarr
from polystore_gui.model.lazy_views import lazy_levels
(level,) = lazy_levels([zarr.open_array({str(tmp_path / "arr")!r}, mode="r")])  # how a pyramid's levels are shown
plane = np.asarray(level[1])
assert int(plane.sum()) == 3 * 64 * 64, plane.sum()
print("distributed" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
