"""Lower resolutions made on the fly for planes larger than a screen (model.screen_levels)."""

from __future__ import annotations

import numpy as np
import pytest

from polystore_gui.model import screen_levels
from polystore_gui.model.screen_levels import StridedLevel, level_factors, screen_levels as levels_of


class CountingArray:
    """An array-like that counts its reads (as a zarr array would decode them)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.reads: list[tuple] = []

    def __getitem__(self, key):
        self.reads.append(key)
        return self.data[key]


def test_only_planes_larger_than_a_screen_get_levels():
    assert level_factors((512, 512)) == [] and level_factors((1024, 2000)) == []
    assert level_factors((2048, 2048)) == [2, 4, 8]
    assert level_factors((8192, 8192)) == [2, 4, 8, 16, 32]
    assert levels_of(np.zeros((3, 100, 100))) is None
    levels = levels_of(np.zeros((3, 4097, 5000), np.uint16))
    assert [lv.shape for lv in levels[1:]] == [(3, 2049, 2500), (3, 1025, 1250), (3, 513, 625), (3, 257, 313)]


def test_a_level_reads_the_pixels_every_nth_pixel_at_every_index():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 60000, (3, 2100, 2300)).astype(np.uint16)
    levels = levels_of(base)
    for level in levels[1:]:
        f = level.factor
        expected = base[:, ::f, ::f]
        assert level.shape == expected.shape and level.dtype == base.dtype
        np.testing.assert_array_equal(np.asarray(level), expected)
        np.testing.assert_array_equal(level[1], expected[1])
        np.testing.assert_array_equal(level[-1, 5:40, 7:-3], expected[-1, 5:40, 7:-3])
        np.testing.assert_array_equal(level[2, ::-3, 10], expected[2, ::-3, 10])
        # napari's multiscale slicing: the displayed region first (lazy), then the plane
        window = level[:, 10:200, 30:90]
        assert isinstance(window, StridedLevel) and window.shape == (3, 190, 60)
        np.testing.assert_array_equal(window[0], expected[0, 10:200, 30:90])
        np.testing.assert_array_equal(level[..., 3], expected[..., 3])
        with pytest.raises(IndexError):
            level[3]


def test_each_plane_is_read_once_for_the_shown_level_and_the_thumbnail(monkeypatch):
    base = CountingArray((np.arange(2 * 4096 * 4096, dtype=np.uint32) % 65521).astype(np.uint16).reshape(2, 4096, 4096))
    levels = levels_of(base)
    shown, thumbnail = levels[3], levels[-1]  # every 8th pixel (512²) and every 16th (256²)
    assert (shown.factor, thumbnail.factor) == (8, 16)
    np.testing.assert_array_equal(shown[1], base.data[1, ::8, ::8])
    np.testing.assert_array_equal(thumbnail[1], base.data[1, ::16, ::16])
    np.testing.assert_array_equal(shown[1, 100:300, 0:50], base.data[1, 800:2400:8, 0:400:8])
    assert len(base.reads) == 1  # the thumbnail came from the plane already read
    # read at the finest level kept whole (every 2nd pixel, 2048²): the same chunks decoded
    assert base.reads[0] == (1, slice(0, 4096, 2), slice(0, 4096, 2))


class ChunkedCountingArray(CountingArray):
    """A CountingArray with a zarr-like regular chunk shape."""

    def __init__(self, data: np.ndarray, chunks: tuple[int, ...]) -> None:
        super().__init__(data)
        self.chunks = chunks


def test_zooming_into_a_finer_level_kept_whole_reads_the_plane_no_more():
    # 8192² planes: the shown level every 8th pixel (1024²), the next finer every 4th (2048²)
    # is still kept whole. A zoom from one into the other reads the plane again only if the
    # first read kept just the level shown: every chunk of the plane decoded a second time.
    base = ChunkedCountingArray(np.zeros((2, 8192, 8192), np.uint8), (1, 512, 512))
    base.data[1, ::4, ::4] = (np.arange(2048 * 2048) % 251).reshape(2048, 2048)
    levels = levels_of(base)
    by_factor = {level.factor: level for level in levels}
    np.testing.assert_array_equal(by_factor[8][1], base.data[1, ::8, ::8])
    np.testing.assert_array_equal(by_factor[32][1], base.data[1, ::32, ::32])  # napari's thumbnail
    np.testing.assert_array_equal(by_factor[4][1, 0:1024, 512:2048], base.data[1, 0:4096:4, 2048:8192:4])
    assert len(base.reads) == 1
    # another plane: read once too, the level shown then its finer level
    np.testing.assert_array_equal(by_factor[8][0], base.data[0, ::8, ::8])
    np.testing.assert_array_equal(by_factor[4][0], base.data[0, ::4, ::4])
    assert len(base.reads) == 2


def test_chunks_narrower_than_the_finer_stride_read_only_the_level_asked():
    # chunks 2 pixels wide: a read every 8th pixel skips 3 chunks in 4 that a read every 4th
    # pixel would decode, so the level shown is read at its own stride
    base = ChunkedCountingArray(np.zeros((1, 8192, 8192), np.uint8), (1, 2, 2))
    level = {lv.factor: lv for lv in levels_of(base)}[8]
    level[0]
    assert base.reads == [(0, slice(0, 8192, 8), slice(0, 8192, 8))]



def test_chunks_as_wide_as_the_finer_stride_but_narrower_than_the_level_read_only_the_level_asked():
    # chunks 4 pixels wide: a read every 4th pixel (the finest level kept whole) decodes every
    # chunk, a read every 8th pixel (the level shown) one chunk in 2 along each axis: reading
    # the finer level for a possible zoom would decode 4 times the chunks the user sees
    base = ChunkedCountingArray(np.zeros((1, 8192, 8192), np.uint8), (1, 4, 4))
    level = {lv.factor: lv for lv in levels_of(base)}[8]
    level[0]
    assert base.reads == [(0, slice(0, 8192, 8), slice(0, 8192, 8))]

def test_levels_too_large_to_keep_read_only_the_region_asked():
    base = CountingArray(np.zeros((1, 8192, 8192), np.uint8))
    level = levels_of(base)[1]  # every 2nd pixel: 4096², not kept whole
    assert not level._pyramid.memoised(2)
    level[0, 10:20, 30:40]
    assert base.reads == [(0, slice(20, 40, 2), slice(60, 80, 2))]


def test_with_screen_levels_gives_levels_to_large_single_resolution_images_only():
    from polystore_gui.model.lazy import LayerSpec

    big = LayerSpec("image", "big", np.zeros((2, 3000, 3000), np.uint8))
    small = LayerSpec("image", "small", np.zeros((2, 300, 300), np.uint8))
    rgb = LayerSpec("image", "rgb", np.zeros((3000, 3000, 3), np.uint8), rgb=True)
    labels = LayerSpec("labels", "labels", np.zeros((3000, 3000), np.uint8))
    out, given = screen_levels.with_screen_levels((big, small, rgb, labels))
    assert given == 1
    assert out[0].multiscale and out[0].data[0].base is big.data and len(out[0].data) == 4
    np.testing.assert_array_equal(np.asarray(out[0].data[0]), big.data)
    assert out[1:] == (small, rgb, labels)
