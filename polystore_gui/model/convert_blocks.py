"""How a conversion writes its pyramid: in blocks, each read once, level 0 verified as it
is written.

The levels are written in **passes** over one array each. The first pass reads the source
in blocks; from each block it writes level 0, reads that back, then halves the block in
memory for level 1, 2, ... for as long as the block still holds whole write units
(shards, else chunks) of that level. A later pass reads the last level written and makes
the next levels from it the same way. So level 0 is never decoded again to make level 1:
with the default 512 x 512 chunks and 16-bit values a block of up to BLOCK_BYTES makes
levels 0 to 2 at once, and what later passes read is a sixteenth of the data or less.

Verification: each level-0 block is read back through the store right after it is
written (its objects are still in the page cache) and compared with the block read from
the source, byte for byte in little-endian order (so NaN payloads and -0.0 count, as in
model.checksum). A store that alters what it is given, or an object changed between its
write and its read-back, fails the conversion. This replaced a second full pass (the
content checksum of level 0 and another read of the source): level 0 is still compared
with the source value for value, with one read of the source and one of level 0 (there were
two of each).

Each task writes whole write units of every level it writes, so no two tasks ever write
one stored object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .whole_array import TASK_BYTES, Region, SourceSpec, WholeArrayError, read_region

#: A block read from the source (or from a level) is grown up to this many bytes: big
#: enough for levels 0-2 from 512 x 512 chunks of 16-bit values (0-1 from 1024 x 1024),
#: small enough that a block, its read-back and its halvings stay near 50 MiB a thread.
#: 8, 16 and 32 MiB took the same CPU time on bench_whole_array's conversion, 128 MiB
#: a third more (caches), 4 MiB a tenth more (its blocks of 1024 x 1024 chunks make level 0
#: alone, which is then read again for level 1).
BLOCK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Pass:
    """One pass: blocks of ``block`` read from level ``read`` (-1: the source, whose
    shape is level 0's) write ``levels`` (consecutive, in order)."""

    read: int
    levels: tuple[int, ...]
    block: tuple[int, ...]

    @property
    def label(self) -> str:
        first, last = self.levels[0], self.levels[-1]
        return f"level {first}" if first == last else f"levels {first}-{last}"


def _holds_whole_units(block: tuple[int, ...], shape: tuple[int, ...], unit: tuple[int, ...],
                       factor: int, yx: tuple[int, int]) -> bool:
    """Whether blocks of ``block`` (of an array of ``shape``), halved ``log2(factor)``
    times along y and x, cover whole ``unit``s of the level they make (or the whole axis)."""
    for axis, (b, n, u) in enumerate(zip(block, shape, unit)):
        f = factor if axis in yx else 1
        if b < n and (b % f or (b // f) % u):
            return False
    return True


def _grow(block: list[int], shape: tuple[int, ...], yx: tuple[int, int], itemsize: int, budget: int) -> None:
    """Double ``block`` axis by axis: y and x within ``budget`` bytes (the smaller of the
    two each time, so that more levels fit), then the other axes from the last within
    TASK_BYTES only (that saves tasks, not reads; smaller tasks cancel sooner)."""
    while True:
        open_yx = sorted((a for a in yx if block[a] < shape[a]), key=lambda a: block[a])
        others = [a for a in reversed(range(len(block))) if a not in yx and block[a] < shape[a]]
        axis, limit = (open_yx[0], budget) if open_yx else (others[0], min(budget, TASK_BYTES)) if others else (-1, 0)
        if axis < 0 or math.prod(block) * itemsize * 2 > limit:
            return
        block[axis] = min(shape[axis], block[axis] * 2)


def plan_passes(shapes: list[tuple[int, ...]], units: list[tuple[int, ...]], yx: tuple[int, int], itemsize: int,
                budget: int | None = None) -> tuple[Pass, ...]:
    """The passes that write levels ``0 .. len(shapes) - 1`` (``units``: each level's write
    unit, its shard or chunk shape cut to the level's shape; ``budget``: BLOCK_BYTES)."""
    budget = BLOCK_BYTES if budget is None else budget
    passes: list[Pass] = []
    read, base = -1, 0  # the array read and the level whose shape it has
    nxt = 0  # the next level to write
    while nxt < len(shapes):
        shape = shapes[base]
        if read < 0:
            block = [min(u, n) for u, n in zip(units[0], shape)]
        else:
            block = [min(u * 2 if a in yx else u, n) for a, (u, n) in enumerate(zip(units[nxt], shape))]
        _grow(block, shape, yx, itemsize, budget)
        levels = [nxt]
        while levels[-1] + 1 < len(shapes) and _holds_whole_units(
                tuple(block), shape, units[levels[-1] + 1], 2 ** (levels[-1] + 1 - base), yx):
            levels.append(levels[-1] + 1)
        passes.append(Pass(read=read, levels=tuple(levels), block=tuple(block)))
        read = base = nxt = levels[-1]
        nxt += 1
    return tuple(passes)


def block_regions(shape: tuple[int, ...], block: tuple[int, ...]) -> list[Region]:
    """Every block of the grid, in C order, as (start, stop) per axis."""
    import itertools

    ranges = [[(i, min(i + b, n)) for i in range(0, n, b)] for n, b in zip(shape, block)]
    return list(itertools.product(*ranges))


def downsample(block: np.ndarray, yx: tuple[int, int]) -> np.ndarray:
    """Halve ``block`` along the axes ``yx``: 2 x 2 means (rounded for integers)."""
    pad = [(0, 0)] * block.ndim
    for axis in yx:
        pad[axis] = (0, block.shape[axis] % 2)
    if any(p != (0, 0) for p in pad):
        block = np.pad(block, pad, mode="edge")
    y, x = yx  # y comes before x in OME-NGFF
    if block.dtype.kind in "iu" and block.dtype.itemsize <= 4:
        return _integer_means(block, y, x)
    s = block.shape
    split = (*s[:y], s[y] // 2, 2, *s[y + 1:x], s[x] // 2, 2, *s[x + 1:])
    means = block.astype(np.float64).reshape(split).mean(axis=(y + 1, x + 2))
    if np.dtype(block.dtype).kind in "iub":
        means = np.rint(means)
    out: np.ndarray = means.astype(block.dtype)
    return out


def _integer_means(block: np.ndarray, y: int, x: int) -> np.ndarray:
    """2 x 2 means of an integer block (even along y and x), rounded half to even as
    ``np.rint`` of the float64 mean: the four values summed in a wider integer, then
    divided by 4 with shifts. The float64 route made the pyramid of a uint16 image the
    slowest step of a conversion (8 bytes an element converted and averaged)."""
    wide = np.int64 if block.dtype.itemsize == 4 else np.int32

    def part(dy: int, dx: int) -> Any:  # numpy's stubs type integer shifts on concrete dtypes only
        where: list[slice] = [slice(None)] * block.ndim
        where[y], where[x] = slice(dy, None, 2), slice(dx, None, 2)
        return block[tuple(where)]

    total = part(0, 0).astype(wide)
    total += part(0, 1)
    total += part(1, 0)
    total += part(1, 1)
    quotient, rest = total >> 2, total & 3  # floor division: total = 4 * quotient + rest
    quotient += (rest > 2) | ((rest == 2) & ((quotient & 1) == 1))
    out: np.ndarray = quotient.astype(block.dtype)
    return out


def same_values(a: Any, b: Any, dtype: str) -> bool:
    """Whether ``a`` and ``b`` hold the same values: same shape, same bytes once both are
    in the little-endian ``dtype`` (model.checksum's canonical dtype)."""
    left, right = np.ascontiguousarray(a, dtype=dtype), np.ascontiguousarray(b, dtype=dtype)
    size = left.dtype.itemsize
    same = np.dtype(f"u{size}") if size in (1, 2, 4, 8) else np.dtype(np.uint8)  # whole words compare quicker
    return left.shape == right.shape and bool(np.array_equal(left.view(same), right.view(same)))


def _halved(region: Region, yx: tuple[int, int]) -> Region:
    return tuple((a // 2, -(-b // 2)) if i in yx else (a, b) for i, (a, b) in enumerate(region))


def _shown(region: Region) -> str:
    return "[" + ", ".join(f"{a}:{b}" for a, b in region) + "]"


def write_block(source: SourceSpec | Any, region: Region, targets: tuple[Any, ...], first_pass: bool,
                yx: tuple[int, int], dtype: str) -> int:
    """One task: read ``region`` of ``source`` (a SourceSpec, or a level's zarr array) and
    write the levels ``targets`` from it, in order. In the first pass ``targets[0]`` is
    level 0: written, read back and compared with the block read (WholeArrayError if they
    differ); every further target gets the block halved once more. Returns the bytes read."""
    block = np.asarray(read_region(source, region) if isinstance(source, SourceSpec)
                       else source[tuple(slice(a, b) for a, b in region)])
    nbytes = int(block.nbytes)
    outputs = iter(targets)
    if first_pass:
        where = tuple(slice(a, b) for a, b in region)
        level0 = next(outputs)
        level0[where] = block
        try:
            written = level0[where]
        except Exception as exc:  # a codec's own error for bytes it cannot decode
            raise WholeArrayError(f"level 0 does not hold the source's values: the block {_shown(region)} cannot be "
                                  f"read back after writing ({type(exc).__name__}: {exc}): nothing was put in place"
                                  ) from None
        if not same_values(written, block, dtype):
            raise WholeArrayError(f"level 0 does not hold the source's values: the block {_shown(region)} read back "
                                  "after writing differs from the source's: nothing was put in place")
    for target in outputs:
        block = downsample(block, yx)
        region = _halved(region, yx)
        target[tuple(slice(a, b) for a, b in region)] = block
    return nbytes


def total(*parts: int) -> int:
    """Bytes read by consecutive tasks (a fold of the pass's graph)."""
    return sum(parts)
