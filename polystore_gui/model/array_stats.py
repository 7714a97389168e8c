"""Exact statistics of a whole zarr array, chunk by chunk, on dask (see whole_array).

Each task (a few whole chunks, read in one zarr call; see whole_array.task_shape) becomes
a small ``Partial`` per channel; partials fold associatively:

- 8- and 16-bit integers (and bool): one pass. A chunk's partial is its exact per-value
  count (value_counts: a compiled loop, or ``np.bincount``), trimmed to the chunk's own
  range; every statistic — min, max, mean, std, percentiles, the histogram — follows
  exactly from the total count per value.
- Other integers: a first pass for min/max (and moments), then a second pass with the exact
  per-value count when the range spans at most 65,536 values, else fixed-edge bins.
- Floats: a first pass for NaN count, min/max, mean and variance (Chan et al.'s parallel
  update in float64), a second pass for a fixed-edge histogram of the finite values
  (float_bins: numpy's bins, counted in a compiled loop for large float32/float64 arrays).
  Their percentiles are estimates from 65,536 equal bins over [min, max], said so in the
  result with the bin width (the error is at most one bin).

Percentiles follow numpy's default (linear interpolation between order statistics).
Missing chunks read as the fill value and are counted like any other element.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import whole_array
from .float_bins import histograms
from .float_bins import warm as warm_float_bins
from .float_moments import moments
from .float_moments import warm as warm_float_moments
from .value_counts import COMPILED_FROM, count_small_integers
from .value_counts import warm as warm_counts
from .whole_array import (ArrayTarget, Engine, Progress, Region, SourceSpec, build_tree, chunk_regions, chunks_in,
                          compute, read_region, task_shape)

PERCENTILES = (0.1, 1.0, 50.0, 99.0, 99.9)
FINE_BINS = 65536
DEFAULT_BINS = 256


@dataclass(frozen=True)
class Partial:
    """What one chunk (or a fold of chunks) contributes for one channel."""

    count: int = 0  # elements, NaN included
    nan_count: int = 0
    n: int = 0  # non-NaN values
    min: float | int | None = None
    max: float | int | None = None
    finite_min: float | int | None = None
    finite_max: float | int | None = None
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    offset: int = 0  # value of values[0] in the exact per-value counts
    values: np.ndarray | None = None  # exact per-value counts (int64)
    fine: np.ndarray | None = None  # FINE_BINS counts over [finite_min, finite_max] (pass 2)
    coarse: np.ndarray | None = None  # the output histogram (pass 2, non-exact dtypes)


def exact_in_one_pass(dtype: np.dtype[Any]) -> bool:
    """8/16-bit integers and bool: an exact per-value count fits in 65,536 bins."""
    return dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize <= 2)


def _as_python(value: Any) -> float | int:
    return int(value) if isinstance(value, (np.integer, np.bool_)) else float(value)


def _lo(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def _add_counts(o1: int, v1: np.ndarray | None, o2: int, v2: np.ndarray | None) -> tuple[int, np.ndarray | None]:
    if v1 is None:
        return o2, v2
    if v2 is None:
        return o1, v1
    lo = min(o1, o2)
    hi = max(o1 + len(v1), o2 + len(v2))
    out = np.zeros(hi - lo, dtype=np.int64)
    out[o1 - lo:o1 - lo + len(v1)] += v1
    out[o2 - lo:o2 - lo + len(v2)] += v2
    return lo, out


def _sum(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a + b


def merge(a: Partial, b: Partial) -> Partial:
    """Two partials as one (Chan et al.'s pairwise update for mean and variance)."""
    n = a.n + b.n
    if n and a.n and b.n:
        delta = b.mean - a.mean
        mean = a.mean + delta * b.n / n
        m2 = a.m2 + b.m2 + delta * delta * a.n * b.n / n
    else:
        mean, m2 = (a.mean, a.m2) if a.n else (b.mean, b.m2)
    offset, values = _add_counts(a.offset, a.values, b.offset, b.values)
    return Partial(count=a.count + b.count, nan_count=a.nan_count + b.nan_count, n=n,
                   min=_lo(a.min, b.min), max=_hi(a.max, b.max), finite_min=_lo(a.finite_min, b.finite_min),
                   finite_max=_hi(a.finite_max, b.finite_max), mean=mean, m2=m2, offset=offset, values=values,
                   fine=_sum(a.fine, b.fine), coarse=_sum(a.coarse, b.coarse))


def merge_channels(*parts: dict[int, Partial]) -> dict[int, Partial]:
    """Per-channel partials folded channel by channel."""
    out: dict[int, Partial] = {}
    for part in parts:
        for channel, p in part.items():
            out[channel] = merge(out[channel], p) if channel in out else p
    return out


def _counts(x: np.ndarray, compiled: bool = False) -> tuple[int, np.ndarray | None]:
    """Exact per-value counts of integer values ``x``, from their own minimum."""
    if x.size == 0:
        return 0, None
    if x.dtype.itemsize <= 2:
        return count_small_integers(x, compiled)
    lo = int(x.min())  # wide integers, range under 65,536 here: subtract in their own type (uint64 beyond int64)
    shifted = x - x.dtype.type(lo)
    return lo, np.bincount(shifted.ravel().astype(np.intp)).astype(np.int64)


def first_pass(x: np.ndarray, compiled: bool = False) -> Partial:
    """One channel's values of one chunk: counts, NaNs, extremes, moments (or exact counts;
    ``compiled``: with value_counts' or float_moments' compiled loop when numba imports)."""
    count = int(x.size)
    if x.dtype.kind == "b":
        x = x.view(np.uint8)
    if exact_in_one_pass(x.dtype):
        offset, values = _counts(x, compiled)
        if values is None:
            return Partial()
        lo, hi = offset, offset + len(values) - 1
        return Partial(count=count, n=count, min=lo, max=hi, finite_min=lo, finite_max=hi, offset=offset,
                       values=values)
    found = moments(x, compiled) if x.dtype.kind == "f" else None
    if found is not None:  # float32/float64 in the compiled loop
        nan_count, n, low, high, flo, fhi, mean, m2 = found
        if n == 0:
            return Partial(count=count, nan_count=nan_count)
        return Partial(count=count, nan_count=nan_count, n=n, min=low, max=high, finite_min=flo, finite_max=fhi,
                       mean=mean, m2=m2)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        nan_count = int(nan.sum())
        values = x[~nan] if nan_count else x.ravel()
    else:
        nan_count, values = 0, x.ravel()
    n = int(values.size)
    if n == 0:
        return Partial(count=count, nan_count=nan_count)
    v64 = values.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # infinities give inf/NaN moments, as numpy's
        mean = float(v64.mean())
        m2 = float(np.square(v64 - mean).sum())
    vmin, vmax = _as_python(values.min()), _as_python(values.max())
    fmin: float | int | None = vmin
    fmax: float | int | None = vmax
    if x.dtype.kind == "f" and not (math.isfinite(vmin) and math.isfinite(vmax)):
        finite = values[np.isfinite(values)]
        fmin = _as_python(finite.min()) if finite.size else None
        fmax = _as_python(finite.max()) if finite.size else None
    return Partial(count=count, nan_count=nan_count, n=n, min=vmin, max=vmax, finite_min=fmin, finite_max=fmax,
                   mean=mean, m2=m2)


@dataclass(frozen=True)
class SecondPass:
    """What the second pass counts for one channel: exact values, or bins over a range."""

    exact: bool
    low: float
    high: float
    bins: int
    compiled: bool = False  # float bins counted by float_bins' compiled loop


def second_pass(x: np.ndarray, plan: SecondPass) -> Partial:
    """One channel's histogram counts of one chunk, as ``plan`` says."""
    values = x.ravel()
    if plan.exact:
        offset, counts = _counts(values)
        return Partial(offset=offset, values=counts)
    fine, coarse = histograms(values, (FINE_BINS, plan.bins), plan.low, plan.high, plan.compiled)
    return Partial(fine=fine, coarse=coarse)


def _per_channel(x: np.ndarray, start: int, channel_axis: int | None,
                 reduce: Callable[[np.ndarray, int], Partial]) -> dict[int, Partial]:
    if channel_axis is None:
        return {0: reduce(x, 0)}
    return {start + i: reduce(np.take(x, i, axis=channel_axis), start + i) for i in range(x.shape[channel_axis])}


def chunk_first_pass(path: str | SourceSpec, region: Region, channel_axis: int | None,
                     compiled: bool = False, piece: tuple[int, ...] | None = None) -> dict[int, Partial]:
    """The first-pass partials of one chunk (a dask task: reads the chunk through zarr; with
    ``piece``, in pieces of that shape one after another)."""
    parts = []
    for sub in _pieces(region, piece):
        x = np.asarray(read_region(path, sub))
        start = sub[channel_axis][0] if channel_axis is not None else 0
        parts.append(_per_channel(x, start, channel_axis, lambda v, c: first_pass(v, compiled)))
        del x  # freed before the next piece is read
    return parts[0] if len(parts) == 1 else merge_channels(*parts)


def _pieces(region: Region, piece: tuple[int, ...] | None) -> Iterator[Region]:
    if piece is None:
        return iter((region,))
    return itertools.product(*[[(i, min(i + p, b)) for i in range(a, b, p)] for (a, b), p in zip(region, piece)])


def chunk_second_pass(path: str | SourceSpec, region: Region, channel_axis: int | None,
                      plans: dict[int, SecondPass]) -> dict[int, Partial]:
    """The second-pass partials of one chunk (a dask task)."""
    x = np.asarray(read_region(path, region))
    start = region[channel_axis][0] if channel_axis is not None else 0
    return _per_channel(x, start, channel_axis, lambda v, c: second_pass(v, plans[c]))


def _run(target: ArrayTarget, name: str, task: Callable[..., Any], extra: tuple[Any, ...], engine: Engine,
         progress: Progress | None, cancelled: Callable[[], bool] | None, itemsize: int = 8) -> dict[int, Partial]:
    """Run ``task`` over the whole array in tasks of whole chunks sized by ``itemsize``: the
    bytes an element takes in the task's working copies (8 for numpy's float64 or intp
    copies; the compiled loops make none, so their tasks read 4x as many uint16 chunks at
    once: a fourth of dask's per-task work, 0.15-0.25 s of CPU on 1 GiB of 2 MiB chunks)."""
    unit = task_shape(target.shape, target.read_chunks, itemsize)
    regions = list(chunk_regions(target.shape, unit))
    leaves = {(name, i): (task, target.reader, region, target.channel_axis, *extra) for i, region in enumerate(regions)}
    weights = {(name, i): chunks_in(region, target.read_chunks) for i, region in enumerate(regions)}
    graph, keys = build_tree(leaves, merge_channels, name)
    parts = compute(graph, keys, leaves=sum(weights.values()), engine=engine, progress=progress, cancelled=cancelled,
                    weights=weights)
    return merge_channels(*parts)


def exact_percentiles(offset: int, counts: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Percentiles (numpy's linear method) from exact per-value counts."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    out = []
    for q in qs:
        pos = q / 100 * (n - 1)
        k = math.floor(pos)
        frac = pos - k
        lo = offset + int(np.searchsorted(cum, k, side="right"))
        hi = offset + int(np.searchsorted(cum, min(k + 1, n - 1), side="right"))
        out.append(float(lo + (hi - lo) * frac))
    return out


def binned_percentiles(low: float, high: float, counts: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Percentile estimates from equal bins over [low, high]: each order statistic is placed
    inside the bin that holds it (spread evenly over the bin), then numpy's linear
    interpolation between the two around the rank. Off by at most one bin width."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    edges = np.histogram_bin_edges(np.empty(0), bins=len(counts), range=(low, high))

    def order_statistic(k: int) -> float:
        b = min(int(np.searchsorted(cum, k, side="right")), len(counts) - 1)
        before = int(cum[b - 1]) if b else 0
        within = (k - before + 0.5) / max(int(counts[b]), 1)
        return float(edges[b] + min(max(within, 0.0), 1.0) * (edges[b + 1] - edges[b]))

    out = []
    for q in qs:
        pos = q / 100 * (n - 1)
        k = math.floor(pos)
        lo, hi = order_statistic(k), order_statistic(min(k + 1, n - 1))
        out.append(lo + (hi - lo) * (pos - k))
    return out


def _values_of(offset: int, n: int, dtype: np.dtype[Any]) -> np.ndarray:
    """The values offset, offset + 1, ... (n of them) in ``dtype`` (uint64 beyond int64 too)."""
    if dtype.itemsize <= 2:
        return np.arange(offset, offset + n).astype(dtype)
    out: np.ndarray = dtype.type(offset) + np.arange(n, dtype=dtype)
    return out


def _moments_from_counts(offset: int, counts: np.ndarray) -> tuple[float, float]:
    values = np.arange(offset, offset + len(counts), dtype=np.float64)
    n = counts.sum()
    mean = float((values * counts).sum() / n)
    var = float((np.square(values - mean) * counts).sum() / n)
    return mean, var


def _summary(p: Partial, bins: int, plan: SecondPass | None, dtype: np.dtype[Any]) -> dict[str, Any]:
    """The statistics of one channel, JSON-ready."""
    out: dict[str, Any] = {"count": p.count, "nan_count": p.nan_count, "min": p.min, "max": p.max}
    if p.n == 0:
        out.update(mean=None, std=None, percentiles=None, percentiles_exact=None, histogram=None)
        return out
    if p.values is not None:
        mean, var = _moments_from_counts(p.offset, p.values)
        lo, hi = p.finite_min, p.finite_max
        assert lo is not None and hi is not None
        values = _values_of(p.offset, len(p.values), dtype if dtype.kind != "b" else np.dtype(np.uint8))
        counts, edges = np.histogram(values, bins=bins, range=(values[0], values[-1]), weights=p.values)
        pct = exact_percentiles(p.offset, p.values, PERCENTILES)
        out.update(mean=mean, std=math.sqrt(var), percentiles_exact=True, percentile_bin_width=None)
    else:
        mean, var = p.mean, (p.m2 / p.n)
        assert plan is not None and p.coarse is not None and p.fine is not None
        counts = p.coarse
        edges = np.histogram_bin_edges(np.empty(0), bins=bins, range=(plan.low, plan.high))
        pct = binned_percentiles(plan.low, plan.high, p.fine, PERCENTILES)
        width = (plan.high - plan.low) / FINE_BINS
        out.update(mean=mean, std=math.sqrt(var) if math.isfinite(var) else var, percentiles_exact=False,
                   percentile_bin_width=width)
    out["percentiles"] = {f"{q:g}": v for q, v in zip(PERCENTILES, pct)}
    out["histogram"] = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}
    return out


def _plan(p: Partial, dtype: np.dtype[Any], bins: int, compiled: bool) -> SecondPass | None:
    if p.finite_min is None or p.finite_max is None:
        return None
    lo, hi = p.finite_min, p.finite_max
    exact = dtype.kind in "iu" and int(hi) - int(lo) < FINE_BINS
    return SecondPass(exact=exact, low=float(lo), high=float(hi), bins=bins, compiled=compiled and not exact)


def array_statistics(target: ArrayTarget, *, bins: int = DEFAULT_BINS, engine: Engine = Engine(),
                     progress: Callable[[str, int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Exact statistics of the whole array ``target`` (per channel for an OME image with
    a ``c`` axis), JSON-ready. ``progress(pass_name, done, total)`` as chunks are read;
    raises whole_array.Cancelled when ``cancelled()`` turns True."""
    if bins < 1:
        raise ValueError("the number of bins must be at least 1")
    dtype = np.dtype(target.dtype)

    def step(label: str) -> Progress | None:
        return None if progress is None else (lambda done, total: progress(label, done, total))

    one_pass = exact_in_one_pass(dtype)
    # Compiled loops, for large arrays, built or loaded here before the tasks (numpy's
    # passes where they cannot be): for 8/16-bit integers the counting loop (llvmlite, about
    # 40 ms once per process), for floats numba's (0.5-0.9 s in a fresh process).
    compiled = math.prod(target.shape) >= COMPILED_FROM
    if compiled:
        compiled = warm_counts(dtype) if one_pass else warm_float_moments(dtype)
    # 8/16-bit values counted in place: a task (four 2 MiB uint16 chunks) reads its region
    # in pieces of half TASK_BYTES (two chunks), one after the other. Read at once, the four
    # left malloc's arenas holding about 40 MiB more (each chunk in flight: its compressed
    # bytes, its decoded buffer, its place in the region): a fresh process's peak 242
    # against 199-205 MiB on 1 GiB. Tasks of two chunks instead cost 7 % more CPU on 4 GiB
    # (dask's work per task; issue 15, bench_whole_array, alternated A/B).
    counted_in_place = compiled and one_pass
    piece = (task_shape(target.shape, target.read_chunks, dtype.itemsize, whole_array.TASK_BYTES // 2)
             if counted_in_place else None)
    first = _run(target, "stats-pass1", chunk_first_pass, (compiled, piece), engine,
                 step("reading" if one_pass else "pass 1 of 2"), cancelled, dtype.itemsize if compiled else 8)
    plans: dict[int, SecondPass] = {}
    if not one_pass:
        # float bins in a compiled loop for large arrays (numba loaded, the loop compiled or
        # read from numba's cache here, before the tasks; numpy's histogram if it cannot be)
        compiled_bins = math.prod(target.shape) >= COMPILED_FROM and warm_float_bins(dtype)
        plans = {c: plan for c, p in first.items() if (plan := _plan(p, dtype, bins, compiled_bins)) is not None}
        if plans:
            in_place = all(plan.compiled for plan in plans.values())  # float bins counted without copies
            second = _run(target, "stats-pass2", chunk_second_pass, (plans,), engine, step("pass 2 of 2"), cancelled,
                          dtype.itemsize if in_place else 8)
            for c, extra in second.items():
                first[c] = replace(first[c], offset=extra.offset, values=extra.values, fine=extra.fine,
                                   coarse=extra.coarse)
    summaries = {c: _summary(p, bins, plans.get(c), dtype) for c, p in sorted(first.items())}
    result: dict[str, Any] = {
        "path": target.path, "shape": list(target.shape), "dtype": target.dtype, "fill_value": target.fill_value,
        "chunks": list(target.read_chunks), "shards": list(target.shards) if target.shards else None,
        "chunks_total": target.chunks_total,
        "missing": {"unit": "shards" if target.shards else "chunks", "count": target.stored_objects_missing,
                    "of": target.stored_objects_total,
                    "note": "missing chunks are counted as the fill value"
                    + (" (inner chunks absent from a stored shard too)" if target.shards else "")},
        "scheduler": engine.scheduler or "local threads",
        "axes": list(target.axes) if target.axes else None,
        "channel_axis": target.channel_axis,
    }
    if target.channel_axis is None:
        result["stats"] = summaries.get(0)
        result["channels"] = None
    else:
        labels = target.channel_labels or ()
        result["stats"] = None
        result["channels"] = [{"channel": c, "label": labels[c] if c < len(labels) else None, **s}
                              for c, s in summaries.items()]
    return result
