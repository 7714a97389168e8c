"""How the viewer's sliders name an array's axes (a user trial, session 12: an array without
dimension names labelled its slider "-3", napari's default for the first of three axes)."""

from __future__ import annotations

import numpy as np
import zarr

from polystore_gui.model.lazy import open_preview
from polystore_gui.model.preview_types import axis_labels, unnamed_axis


def test_names_where_given_and_the_index_elsewhere():
    assert axis_labels(None, 3) == ("axis 0", "axis 1", "axis 2")
    assert axis_labels(("t", None, "y", "x"), 4) == ("t", "axis 1", "y", "x")
    assert axis_labels(("z", "y", "x"), 3) == ("z", "y", "x")
    assert axis_labels(("y", "x"), 3) == ("axis 0", "axis 1", "axis 2")  # names that do not fit: none used
    assert all(unnamed_axis(label) for label in [*axis_labels(None, 3), "-3", "-1"])
    assert not any(unnamed_axis(label) for label in ("t", "axis", "axis x", "x axis 1"))


def test_a_zarr_array_with_some_dimension_names_keeps_them(tmp_path):
    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(2, 3, 8, 8), chunks=(1, 1, 8, 8), dtype="u1",
                              dimension_names=["t", None, "y", "x"])
    array[:] = np.broadcast_to(np.arange(8, dtype=np.uint8), array.shape)
    (layer,) = open_preview("zarr", str(tmp_path / "a.zarr")).layers
    assert layer.axis_labels == ("t", "axis 1", "y", "x")
