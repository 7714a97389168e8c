"""The shown plane read ahead for a remote preview (model/remote_plane.py): every read of it
is answered from what was read, exactly as the array answers; other planes, selections
across planes and planes too large to hold go to the array."""

from __future__ import annotations

import numpy as np
import pytest

from polystore_gui.model import remote_plane
from polystore_gui.model.remote_plane import PlaneAhead, shown_plane_ahead


class Counted:
    """An array-like counting the reads that reach it."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.chunks = (1,) * (data.ndim - 2) + data.shape[-2:]
        self.fill_value = 0
        self.reads: list[object] = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.data[key]


@pytest.fixture
def source() -> Counted:
    return Counted(np.arange(2 * 5 * 6 * 7, dtype=np.uint16).reshape(2, 5, 6, 7))


def test_reads_of_the_shown_plane_are_answered_as_the_array_would(source):
    view = shown_plane_ahead(source)
    assert isinstance(view, PlaneAhead) and len(source.reads) == 1  # (0, 2): the middle of 2 and of 5
    for key in [(0, 2, slice(1, 4), slice(None, None, 3)), (0, -3, 5, slice(2, 6)), (0, 2, slice(None), 4),
                (0, 2, slice(0, 6), slice(1, 7))]:
        assert np.array_equal(view[key], source.data[key]), key
    assert len(source.reads) == 1 and view.holding
    assert np.array_equal(view[0, 2, ::2, ::2], source.data[0, 2, ::2, ::2])  # covers the plane: handed over
    assert not view.holding
    assert np.array_equal(view[0, 2, 1:3], source.data[0, 2, 1:3]) and len(source.reads) == 2


def test_the_whole_plane_asked_with_an_ellipsis_is_handed_over(source):
    view = shown_plane_ahead(source)
    assert np.array_equal(view[0, 2, ...], source.data[0, 2]) and not view.holding and len(source.reads) == 1


def test_a_part_handed_out_is_a_copy_not_a_view_holding_the_plane(source):
    view = shown_plane_ahead(source)
    part = view[0, 2, 1:3, :]
    assert part.base is None


def test_another_plane_or_a_selection_across_planes_goes_to_the_array_and_lets_the_plane_go(source):
    view = shown_plane_ahead(source)
    assert np.array_equal(view[:, 2, 0, 0], source.data[:, 2, 0, 0]) and not view.holding  # across channels
    view = shown_plane_ahead(source)
    assert np.array_equal(view[1, 2], source.data[1, 2]) and not view.holding  # another plane
    assert len(source.reads) == 4


def test_closing_the_preview_lets_the_plane_go(source):
    view = shown_plane_ahead(source)
    view.close()
    assert not view.holding


def test_a_plane_larger_than_the_limit_is_not_read_ahead(source, monkeypatch):
    monkeypatch.setattr(remote_plane, "AHEAD_BYTES", 6 * 7 * 2 - 1)
    assert shown_plane_ahead(source) is source and not source.reads


def test_a_two_dimensional_array_is_its_own_plane():
    source = Counted(np.arange(12, dtype=np.int8).reshape(3, 4))
    view = shown_plane_ahead(source)
    assert np.array_equal(view[1:, -1], source.data[1:, -1])
    assert np.array_equal(np.asarray(view), source.data) and len(source.reads) == 1


@pytest.mark.parametrize("key", [
    (slice(None), slice(None), slice(None), slice(None)),  # napari's 3D view: the whole volume
    (0, slice(None), 3, slice(None)),  # other axes displayed (the dims rolled): planes across the held one
    (0, slice(1, 4), slice(None), slice(None)),  # a thick slice projected
])
def test_a_view_across_planes_lets_the_held_plane_go(source, key):
    """napari reading across planes (3D, rolled axes, a projection) shows something else than
    the held plane: the plane (up to AHEAD_BYTES) is not kept for the rest of the preview."""
    view = shown_plane_ahead(source)
    assert np.array_equal(view[key], source.data[key])
    assert not view.holding


def test_a_plane_shown_at_a_screen_level_that_skips_chunks_is_not_read_ahead():
    """Rows stored one a chunk in a 4096² plane: the screen level shown reads every 4th row
    or fewer, so reading the plane whole ahead would fetch 4 times (or more) what is shown."""
    source = Counted(np.zeros((3, 4096, 4096), np.uint8))
    source.chunks = (1, 1, 4096)
    assert shown_plane_ahead(source) is source and not source.reads
    source.chunks = (1, 256, 256)  # every chunk read by the level anyway: read ahead
    assert isinstance(shown_plane_ahead(source), PlaneAhead)
