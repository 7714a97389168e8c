"""The chunk overlay as one RGBA raster of the displayed plane: heat map, chunk grid, shard
grid and the selected chunk's outline composited with numpy (issue 19).

Drawn as four napari layers (an RGBA image and three vectors layers), the overlay cost the
GUI four layer additions (controls, vispy visual, first draw through software GL: 0.1 s and
more each) and a redraw of every vectors mesh at each chunk clicked. One raster is one image
layer: the grid lines are rows and columns of texels at chunk boundaries, a few texels per
chunk (``raster_geometry``: at most about a million texels for the plane, never finer than
the data's pixels), composited "over" the heat map with the same colours and opacities the
layers had. A chunk clicked only copies the plane's raster and paints the outline's four
strips (:func:`with_outline`). Pure numpy: the napari side is ``qt/chunk_overlay.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .chunk_heat import heat_rgba
from .chunk_report import ERROR, MISSING, STORED, UNKNOWN

TEXEL_BUDGET = 1 << 20  # texels in one plane's raster (4 MiB of RGBA)
HEAT_OPACITY = 0.55  # the heat map's opacity over the image (the layer's before issue 19)
GRID_RGBA = (229, 231, 235, 0.7)  # #e5e7eb at 70 %
SHARD_RGBA = (249, 115, 22, 1.0)  # #f97316
OUTLINE_RGBA = (250, 204, 21, 1.0)  # #facc15
MIN_TEXELS_FOR_GRID = 4  # per chunk: below that a grid line would hide a chunk's colour


@dataclass(frozen=True)
class RasterGeometry:
    """How a plane of chunks maps onto the raster's texels (axes: the plane's two, y then x).

    ``per_chunk`` texels per chunk along both axes; ``per_texel`` chunks per texel along both
    axes (1 but for a plane of more chunks than the budget: then each texel shows a block of
    chunks, ``coarsened``); ``shape`` the raster's texels, cropped to the array's extent (a
    partial last chunk gets fewer texels); ``texel`` the data pixels a texel spans along each
    axis; line widths in texels (``grid_width`` 0: no grid lines at this density).
    """

    per_chunk: int
    shape: tuple[int, int]
    texel: tuple[float, float]
    grid_width: int
    shard_width: int
    outline_width: int
    per_texel: int = 1


def raster_geometry(plane: tuple[int, int], chunks: tuple[int, int], budget: int = TEXEL_BUDGET) -> RasterGeometry:
    """The raster of a ``plane`` (its height and width in data pixels) cut in ``chunks``.

    Line widths follow what the vectors layers drew (in data pixels: the grid
    ``max(1, longest side / 600)``, shards three times that, the outline ``longest side /
    250``), in texels, at least one.
    """
    height, width = (max(1, int(n)) for n in plane)
    cy, cx = (max(1, int(n)) for n in chunks)
    grid_y, grid_x = math.ceil(height / cy), math.ceil(width / cx)
    per_chunk = max(1, min(int(math.isqrt(budget // max(1, grid_y * grid_x))), cy, cx))
    per_texel = 1
    while math.ceil(grid_y / per_texel) * math.ceil(grid_x / per_texel) > max(1, budget):
        per_texel += 1  # more chunks than texels: blocks of chunks a texel (the budget held)
    texel = (cy * per_texel / per_chunk, cx * per_texel / per_chunk)
    shape = (math.ceil(height / texel[0]), math.ceil(width / texel[1]))
    side, step = max(height, width), min(texel)
    grid = max(1, round(max(1.0, side / 600.0) / step)) if per_chunk >= MIN_TEXELS_FOR_GRID else 0
    grid = min(grid, per_chunk // 4) if grid else 0
    shard = min(max(1, 3 * grid), max(1, per_chunk // 2)) if grid else 0
    outline = min(max(1, round(side / 250.0 / step)), max(1, per_chunk // 3))
    return RasterGeometry(per_chunk, shape, texel, grid, shard, outline, per_texel)


def coarsened(state: np.ndarray, stored: np.ndarray, per_texel: int) -> tuple[np.ndarray, np.ndarray]:
    """A plane's chunk states and stored bytes in blocks of ``per_texel`` x ``per_texel``
    chunks, one value a block: an unreadable chunk shows (never hidden by its neighbours),
    else a stored one (the block's largest stored size), else missing when every chunk of
    the block is, else not scanned yet."""
    if per_texel <= 1:
        return state, stored
    k = per_texel
    rows, cols = state.shape
    pad = ((0, -rows % k), (0, -cols % k))  # beyond the plane: neutral (missing, nothing stored)
    blocks = np.pad(state, pad, constant_values=MISSING).reshape(-1, k, (cols + pad[1][1]) // k, k)
    sizes = np.pad(np.where(state == STORED, stored, 0), pad).reshape(blocks.shape)
    out = np.where((blocks == MISSING).all(axis=(1, 3)), MISSING, UNKNOWN).astype(np.int8)
    out[(blocks == STORED).any(axis=(1, 3))] = STORED
    out[(blocks == ERROR).any(axis=(1, 3))] = ERROR
    return out, sizes.max(axis=(1, 3))


def overlay_raster(state: np.ndarray | None, stored: np.ndarray | None, span: tuple[int, int] | None,
                   geometry: RasterGeometry, *, grid: bool, shards: tuple[int, int] | None = None) -> np.ndarray:
    """The plane's whole raster without outline, from its chunks' facts: the heat map (when
    ``state`` is given: ``stored`` coloured over ``span``), coarsened to the geometry's
    blocks, enlarged to texels, the grids over it (:func:`plane_raster`). Pure numpy and
    safe in a worker: a plane of millions of chunks costs 0.1 s and more."""
    heat = None
    if state is not None and stored is not None:
        heat = heat_rgba(*coarsened(state, stored, geometry.per_texel), span)
    return plane_raster(heat, geometry, grid=grid, shards=shards)


def _over(dst: np.ndarray, rgba: tuple[int, int, int, float]) -> None:
    """Composite one colour at opacity ``rgba[3]`` over the texels ``dst`` (straight alpha, in place)."""
    alpha = float(rgba[3])
    below = dst[..., 3:4].astype(np.float32) / 255.0 * (1.0 - alpha)
    out_a = alpha + below
    colour = np.asarray(rgba[:3], np.float32)
    rgb = (colour * alpha + dst[..., :3].astype(np.float32) * below) / np.maximum(out_a, 1e-6)
    dst[..., :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    dst[..., 3:4] = np.clip(np.rint(out_a * 255.0), 0, 255).astype(np.uint8)


def _classes(size: int, per_chunk: int, width: int, shard_period: int | None, shard_width: int) -> np.ndarray:
    """Each texel's class along one axis: 0 inside a chunk, 1 on a chunk boundary (the first
    ``width`` texels of each chunk, and the axis's last ``width``: its far edge), 2 on a shard
    boundary (every ``shard_period`` texels, and the far edge)."""
    index = np.arange(size)
    out = np.zeros(size, np.intp)
    if width:
        out[(index % per_chunk) < width] = 1
        out[max(0, size - width):] = 1
        if shard_period:
            out[(index % shard_period) < shard_width] = 2
            out[max(0, size - shard_width):] = 2
    return out


def plane_raster(heat: np.ndarray | None, geometry: RasterGeometry, *, grid: bool,
                 shards: tuple[int, int] | None = None) -> np.ndarray:
    """The plane's raster without outline: ``heat`` (the plane's heat map, one RGBA pixel per
    chunk, or None) enlarged to texels at ``HEAT_OPACITY``, the chunk grid over it when
    ``grid``, and the shard grid (``shards``: chunks per shard along y and x) over that.

    Every texel's colour is one of three per chunk (inside, on a grid line, on a shard line),
    composited at chunk resolution; the raster is then rows of those colours (4-byte
    texels, no per-texel arithmetic: a few ms for a million texels).
    """
    rows, cols = geometry.shape
    p = geometry.per_chunk
    grid_y, grid_x = math.ceil(rows / p), math.ceil(cols / p)
    base = np.zeros((grid_y, grid_x, 4), np.uint8)
    if heat is not None:
        base[...] = heat[:grid_y, :grid_x]
        base[..., 3] = np.rint(base[..., 3] * HEAT_OPACITY).astype(np.uint8)
    width = geometry.grid_width if grid else 0
    if not width:  # no lines at this density (or none asked): each chunk's colour, enlarged
        if p == 1:
            return base  # a texel a chunk (millions of chunks: the tables below took 0.8 s for 4 million)
        return np.ascontiguousarray(np.repeat(np.repeat(base, p, axis=0), p, axis=1)[:rows, :cols])
    on_grid = base.copy()
    _over(on_grid, GRID_RGBA)
    on_shard = on_grid.copy()
    _over(on_shard, SHARD_RGBA)
    table = np.stack([base, on_grid, on_shard]).view(np.uint32)[..., 0]  # (class, chunk y, chunk x)
    periods = (p * max(1, shards[0]), p * max(1, shards[1])) if shards is not None else (None, None)
    row_class = _classes(rows, p, width, periods[0], geometry.shard_width)
    col_class = _classes(cols, p, width, periods[1], geometry.shard_width)
    col_chunk = np.arange(cols) // p
    # One row of texels per (row class, chunk row): the class of a texel is the larger of its
    # row's and its column's.
    patterns = table[np.maximum(np.arange(3)[:, None], col_class[None, :])[:, None, :],
                     np.arange(grid_y)[None, :, None], col_chunk[None, None, :]]
    texels = patterns[row_class, np.arange(rows) // p]
    return np.ascontiguousarray(texels).view(np.uint8).reshape(rows, cols, 4)


def with_outline(base: np.ndarray, geometry: RasterGeometry, chunk: tuple[int, int]) -> np.ndarray:
    """A copy of ``base`` with the outline of ``chunk`` (its y, x index in the plane's grid)
    painted on the chunk's border texels; ``base`` itself stays as it was."""
    out = base.copy()
    rows, cols = geometry.shape
    p, w = geometry.per_chunk, geometry.outline_width
    y0, x0 = chunk[0] // geometry.per_texel * p, chunk[1] // geometry.per_texel * p
    y1, x1 = min(y0 + p, rows), min(x0 + p, cols)
    if y0 >= rows or x0 >= cols or y1 <= 0 or x1 <= 0:
        return out
    colour = np.array([*OUTLINE_RGBA[:3], round(OUTLINE_RGBA[3] * 255)], np.uint8)
    out[y0:min(y0 + w, y1), x0:x1] = colour
    out[max(y0, y1 - w):y1, x0:x1] = colour
    out[y0:y1, x0:min(x0 + w, x1)] = colour
    out[y0:y1, max(x0, x1 - w):x1] = colour
    return out
