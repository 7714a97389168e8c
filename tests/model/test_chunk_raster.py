"""The chunk overlay's raster (model/chunk_raster.py): one RGBA image holding the heat map,
the chunk and shard grids and the chosen chunk's outline, in place of four napari layers."""

from __future__ import annotations

import numpy as np
import pytest

from polystore_gui.model.chunk_heat import MISSING_RGBA, heat_rgba
from polystore_gui.model.chunk_raster import (
    GRID_RGBA,
    HEAT_OPACITY,
    OUTLINE_RGBA,
    SHARD_RGBA,
    TEXEL_BUDGET,
    plane_raster,
    raster_geometry,
    with_outline,
)
from polystore_gui.model.chunk_report import MISSING, STORED


def test_geometry_stays_within_budget_and_never_finer_than_the_data():
    big = raster_geometry((8192, 8192), (256, 256))
    assert big.per_chunk == 32 and big.shape == (1024, 1024) and big.texel == (8.0, 8.0)
    assert big.grid_width >= 1 and big.shard_width > big.grid_width and big.outline_width >= 1
    small = raster_geometry((100, 60), (16, 16))  # a partial last chunk on each axis
    assert small.per_chunk == 16 and small.texel == (1.0, 1.0) and small.shape == (100, 60)
    dense = raster_geometry((16_000, 640), (16, 16))  # 1000 x 40 chunks
    assert dense.shape[0] * dense.shape[1] <= TEXEL_BUDGET and dense.per_chunk >= 1
    million = raster_geometry((1000, 1000), (1, 1))  # a chunk per pixel: one texel each, no grid
    assert million.per_chunk == 1 and million.grid_width == 0


def test_each_chunk_shows_its_heat_colour_and_the_lines_their_own():
    state = np.array([[STORED, MISSING, STORED], [MISSING, STORED, STORED]], np.int8)
    stored = np.array([[100, 0, 6400], [0, 800, 1600]], np.int64)
    heat = heat_rgba(state, stored)
    geometry = raster_geometry((2 * 64, 3 * 64), (64, 64))
    raster = plane_raster(heat, geometry, grid=True, shards=(1, 3))
    p = geometry.per_chunk
    assert raster.shape == (*geometry.shape, 4) and raster.dtype == np.uint8
    for y in range(2):
        for x in range(3):
            inside = raster[y * p + p // 2, x * p + p // 2]
            assert tuple(inside[:3]) == tuple(heat[y, x, :3])
            assert inside[3] == round(heat[y, x, 3] * HEAT_OPACITY)
    assert tuple(raster[p + p // 2, p // 2, :3]) == MISSING_RGBA[:3]
    # A chunk boundary inside a shard: the grid's light grey over the heat map.
    line = raster[p // 2, p]
    assert line[3] > raster[p // 2, p // 2][3] and abs(int(line[0]) - GRID_RGBA[0]) < 60
    # Shards of one row of chunks: every row boundary is a shard boundary, drawn orange.
    assert tuple(raster[p, p // 2]) == (*SHARD_RGBA[:3], 255)
    # Without heat map, the chunks are clear and the lines stay; without grid, no lines.
    lines_only = plane_raster(None, geometry, grid=True)
    assert lines_only[p // 2, p // 2, 3] == 0 and lines_only[p // 2, p, 3] > 0
    heat_only = plane_raster(heat, geometry, grid=False)
    assert tuple(heat_only[p // 2, p]) == tuple(heat_only[p // 2, p + p // 2])


def test_outline_marks_the_chosen_chunk_and_leaves_the_plane_raster_alone():
    geometry = raster_geometry((256, 256), (64, 64))
    base = plane_raster(None, geometry, grid=True)
    before = base.copy()
    out = with_outline(base, geometry, (1, 2))
    np.testing.assert_array_equal(base, before)
    p, yellow = geometry.per_chunk, OUTLINE_RGBA[:3]
    y0, x0 = p, 2 * p
    for y, x in ((y0, x0 + p // 2), (y0 + p - 1, x0 + p // 2), (y0 + p // 2, x0), (y0 + p // 2, x0 + p - 1)):
        assert tuple(out[y, x, :3]) == yellow
    assert tuple(out[y0 + p // 2, x0 + p // 2, :3]) != yellow
    changed = np.argwhere((out != base).any(axis=-1))
    assert changed.min(axis=0).tolist() == [y0, x0] and changed.max(axis=0).tolist() == [y0 + p - 1, x0 + p - 1]
    np.testing.assert_array_equal(with_outline(base, geometry, (9, 9)), base)  # outside the plane: nothing


@pytest.mark.parametrize("span", [None, (100, 6400)])
def test_heat_colours_follow_the_given_span(span):
    """A plane coloured on the whole array's range: the same bytes, the same colour in every plane."""
    state = np.array([[STORED, STORED]], np.int8)
    stored = np.array([[800, 1600]], np.int64)
    rgba = heat_rgba(state, stored, span)
    if span is None:
        assert tuple(rgba[0, 0, :3]) == (68, 1, 84)  # the plane's own smallest: viridis' dark end
    else:
        whole = heat_rgba(np.array([[STORED] * 4], np.int8), np.array([[100, 800, 1600, 6400]]))
        np.testing.assert_array_equal(rgba[0], whole[0, 1:3])


@pytest.mark.parametrize("plane, chunks", [((2000, 1500), (1, 1)), ((100, 70), (16, 16)), ((8192, 6000), (256, 256))])
def test_without_lines_every_texel_is_its_chunks_colour(plane, chunks):
    """No grid (not asked, or too dense to draw: a texel a chunk): the raster is the heat
    map enlarged, partial last chunks cropped, at the heat map's opacity."""
    geometry = raster_geometry(plane, chunks)
    grid_y, grid_x = -(-plane[0] // chunks[0]), -(-plane[1] // chunks[1])
    rng = np.random.default_rng(8)
    state = rng.choice(np.array([STORED, MISSING], np.int8), size=(grid_y, grid_x))
    heat = heat_rgba(state, rng.integers(1, 10_000, size=(grid_y, grid_x)), (1, 10_000))
    raster = plane_raster(heat, geometry, grid=False)
    p = geometry.per_chunk
    rows, cols = np.arange(geometry.shape[0]) // p, np.arange(geometry.shape[1]) // p
    expected = heat[rows[:, None], cols[None, :]].copy()
    expected[..., 3] = np.rint(expected[..., 3] * HEAT_OPACITY).astype(np.uint8)
    assert raster.shape == (*geometry.shape, 4) and raster.dtype == np.uint8 and raster.flags.c_contiguous
    assert np.array_equal(raster, expected)
    assert not np.shares_memory(raster, heat)


def test_a_plane_of_more_chunks_than_the_budget_gives_a_bounded_raster_that_hides_no_error():
    """A plane of more chunks than the raster's texel budget (here 3000 x 2500 chunks against
    a budget of 2**16) gives a raster within the budget, several chunks a texel: a texel
    with an unreadable chunk is red, one with a stored chunk that chunk's colour, one whose
    chunks are all missing grey (issue 19's review: the cap was not held)."""
    from polystore_gui.model.chunk_heat import ERROR_RGBA
    from polystore_gui.model.chunk_raster import overlay_raster

    budget = 1 << 16
    state = np.full((3000, 2500), MISSING, np.int8)
    stored = np.zeros((3000, 2500), np.int64)
    state[0, 1] = STORED
    stored[0, 1] = 5000
    state[1500, 1200] = 3  # ERROR
    geometry = raster_geometry((3000, 2500), (1, 1), budget=budget)
    assert geometry.shape[0] * geometry.shape[1] <= budget
    k = geometry.per_texel
    assert k > 1 and geometry.texel == (float(k), float(k))
    raster = overlay_raster(state, stored, (1000, 5000), geometry, grid=True)
    assert raster.shape == (*geometry.shape, 4) and raster.nbytes <= 4 * budget
    def colour(rgba):
        return (*rgba[:3], round(rgba[3] * HEAT_OPACITY))
    assert tuple(raster[1500 // k, 1200 // k]) == colour(ERROR_RGBA)
    assert tuple(raster[0, 0]) == colour(tuple(heat_rgba(state[:1, 1:2], stored[:1, 1:2], (1000, 5000))[0, 0]))
    assert tuple(raster[-1, -1]) == colour(MISSING_RGBA)
    outlined = with_outline(raster, geometry, (1500, 1200))
    assert tuple(outlined[1500 // k, 1200 // k]) == (*OUTLINE_RGBA[:3], 255)
