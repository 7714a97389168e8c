"""Complex arrays are previewed as the image of their magnitude |z| (issue 13, item 14).

napari cannot show complex numbers; a 32 × 32 complex array was called "a 1-D array:
shown as a table". Like silx's complex view, the preview shows |z|, lazily, and says so.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model.lazy import open_preview


def _complex(shape, dtype="complex64"):
    rng = np.random.default_rng(3)
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)


def _write(kind, tmp_path, data):
    if kind.startswith("zarr"):
        path = tmp_path / "c.zarr"
        zarr.create_array(str(path), shape=data.shape, chunks=data.shape, dtype=data.dtype,
                          zarr_format=int(kind[-1]))[...] = data
        return "zarr", str(path)
    if kind == "npy":
        np.save(tmp_path / "c.npy", data)
        return "disk", str(tmp_path / "c.npy")
    if kind == "tiff":
        tifffile.imwrite(tmp_path / "c.tif", data)
        return "disk", str(tmp_path / "c.tif")
    from polystore_gui.model.listing import memory_backend

    key = f"/complex_preview_{tmp_path.name}"
    memory_backend().save(data, key)
    return "memory", key


@pytest.mark.parametrize("kind", ["zarr2", "zarr3", "npy", "tiff", "memory"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_a_2d_complex_array_shows_as_the_image_of_its_magnitude(tmp_path, kind, dtype):
    data = _complex((32, 32), dtype)
    backend, path = _write(kind, tmp_path, data)
    preview = open_preview(backend, path)
    try:
        (layer,) = preview.layers
        assert layer.kind == "image" and "|z|" in layer.name
        assert layer.shape == (32, 32)
        shown = np.asarray(layer.data[...] if not layer.multiscale else layer.data[0][...])
        assert shown.dtype == (np.float32 if dtype == "complex64" else np.float64)
        np.testing.assert_allclose(shown, np.abs(data), rtol=1e-6)
        low, high = layer.contrast_limits
        assert 0 <= low < high <= float(np.abs(data).max()) + 1e-6
        assert any("magnitude |z|" in note for note in preview.notes)
        assert not any("1-D" in note or "table" in note for note in preview.notes)
    finally:
        preview.close()
        if backend == "memory":
            from polystore_gui.model.listing import memory_backend

            memory_backend().delete(path)


def test_a_complex_stack_reads_one_plane_at_a_time(tmp_path):
    data = _complex((5, 16, 16))
    zarr.create_array(str(tmp_path / "s.zarr"), shape=data.shape, chunks=(1, 16, 16), dtype=data.dtype)[...] = data
    preview = open_preview("zarr", str(tmp_path / "s.zarr"))
    (layer,) = preview.layers
    assert layer.shape == (5, 16, 16)
    np.testing.assert_allclose(np.asarray(layer.data[3]), np.abs(data[3]), rtol=1e-6)


def test_a_1d_complex_array_is_still_a_table_and_says_why(tmp_path):
    np.save(tmp_path / "line.npy", _complex((7,)))
    preview = open_preview("disk", str(tmp_path / "line.npy"))
    assert not preview.layers and any("1-D" in note for note in preview.notes)


def test_a_2d_array_of_text_is_a_table_for_its_dtype_not_for_being_1d(tmp_path):
    np.save(tmp_path / "words.npy", np.array([["a", "b"], ["c", "d"]]))
    preview = open_preview("disk", str(tmp_path / "words.npy"))
    assert not preview.layers
    assert any("dtype <U1" in note for note in preview.notes) and not any("1-D" in n for n in preview.notes)


def test_a_complex_ome_zarr_image_shows_the_magnitude_of_each_level(tmp_path):
    data = _complex((2, 16, 16))
    root = zarr.open_group(str(tmp_path / "img.zarr"), mode="w", zarr_format=3)
    for level, step in (("0", 1), ("1", 2)):
        root.create_array(level, shape=data[:, ::step, ::step].shape, dtype=data.dtype)[...] = data[:, ::step, ::step]
    axes = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    datasets = [{"path": p, "coordinateTransformations": [{"type": "scale", "scale": [1, s, s]}]}
                for p, s in (("0", 1), ("1", 2))]
    root.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}
    preview = open_preview("ome_zarr", str(tmp_path / "img.zarr"))
    (layer,) = preview.layers
    assert layer.name.startswith("|z|") and layer.multiscale and layer.channel_axis == 0
    np.testing.assert_allclose(np.asarray(layer.data[1][...]), np.abs(data[:, ::2, ::2]), rtol=1e-6)
    for low, high in layer.contrast_limits:
        assert 0 <= low < high
    assert any("magnitude |z|" in note for note in preview.notes)
