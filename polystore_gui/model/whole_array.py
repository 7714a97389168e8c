"""Whole-array work: which zarr array an address means, and running dask graphs over it.

Questions that need every chunk (exact statistics, checksums, conversion) are dask graphs
whose leaves each read one region through zarr (so missing chunks read as the fill value,
and any store zarr opens works), reduce it to a small partial result, and are folded
together in a tree. The graph runs on

- dask's local **threaded** scheduler by default, sized to the machine (``os.cpu_count()``
  threads): zarr's decoders (blosc, zstd, ...) and numpy's reductions release the GIL, so
  threads use every core without pickling chunks between processes, and a worker holds one
  chunk at a time;
- an existing ``dask.distributed`` scheduler when the user names one
  (``tcp://HOST:PORT``): the same graph is sent through ``distributed.Client``; its workers
  open the array themselves from its path, so only paths and small partials travel.

No task system of our own: the graph is a plain dask graph, progress comes from dask's
callbacks (local) or from futures completing (distributed), and cancelling stops handing
out new chunks (local) or cancels the futures (distributed).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import math
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .chunk_layout import ChunkLayoutError, resolve_array
from .ome_meta import image_axes
from .zarr_nodes import CorruptMetadataError, read_node

#: Partial results are folded this many at a time.
FAN_IN = 8
#: At most this many partials come back to the caller (then folded there, one at a time).
MAX_GROUPS = 64

Region = tuple[tuple[int, int], ...]
Progress = Callable[[int, int], None]


class WholeArrayError(ValueError):
    """The address is not an array this work can run on, or the scheduler cannot be used."""


class Cancelled(Exception):
    """The caller asked the work to stop (between chunks)."""


@dataclass(frozen=True)
class ArrayTarget:
    """The zarr array an address means, with what whole-array work needs to know of it."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    read_chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    fill_value: Any
    zarr_format: int
    axes: tuple[str, ...] | None  # OME-NGFF axis names, when the address is an OME image
    channel_axis: int | None  # the OME axis of type/name "c"
    channel_labels: tuple[str, ...] | None
    note: str | None
    chunks_total: int
    stored_objects_missing: int  # chunks (or shards, when sharded) not stored
    stored_objects_total: int
    source: SourceSpec | None = None  # how to read it when not a zarr array at ``path`` (a TIFF)

    @property
    def reader(self) -> str | SourceSpec:
        """What tasks open to read it (see open_array)."""
        return self.source if self.source is not None else self.path


def _axes_of(group_attrs: dict[str, Any]) -> tuple[tuple[str, ...] | None, int | None, tuple[str, ...] | None]:
    """OME axes, the channel axis and the channel labels of an image group's attributes."""
    return image_axes(group_attrs)


def open_target(backend: str, path: str) -> ArrayTarget:
    """The array ``backend:path`` means (an OME image: its level 0, axes from its metadata).

    Raises WholeArrayError with a sentence for anything else.
    """
    import numpy as np

    from .chunk_layout import chunk_inspectable

    from .backends import adapter_for

    local = adapter_for(backend, path).capabilities.local  # a file on this machine
    if local and path.lower().endswith((".tif", ".tiff")) and os.path.isfile(path):
        return _tiff_target(os.path.abspath(path))
    if not chunk_inspectable(backend, path):
        raise WholeArrayError(f"whole-array work reads zarr arrays on disk (and TIFF files), not {backend!r}")
    if "://" in path:  # a remote store (s3://, https://): every chunk over the network
        raise WholeArrayError(f"whole-array work reads zarr arrays on this machine: copy {path} first "
                              "(polystore-gui cp URL FOLDER)")
    try:
        array_path, note = resolve_array(backend, path)
        # An array (no note) was read by resolve_array already: only a group's axes are read here.
        meta = read_node(os.path.abspath(path)) if note is not None and os.path.isdir(path) else None
    except (ChunkLayoutError, CorruptMetadataError, OSError) as exc:
        raise WholeArrayError(str(exc)) from None
    axes = channel = labels = None
    if meta is not None and meta.node_type == "group":
        axes, channel, labels = _axes_of(meta.attributes)
    arr = open_array(array_path)
    if axes is not None and len(axes) != arr.ndim:
        axes = channel = labels = None
    try:
        np.dtype(arr.dtype)
    except TypeError:
        raise WholeArrayError(f"{array_path}: dtype {arr.dtype} is not a numeric dtype") from None
    shards = tuple(arr.shards) if arr.shards is not None else None
    if shards is not None:
        total_objects = int(arr._nshards)
        stored = int(arr._nshards_initialized)
    else:
        total_objects = int(arr.nchunks)
        stored = int(arr.nchunks_initialized)
    return ArrayTarget(
        path=array_path, shape=tuple(arr.shape), dtype=str(arr.dtype), read_chunks=tuple(arr.chunks),
        shards=shards, fill_value=_plain(arr.fill_value), zarr_format=int(arr.metadata.zarr_format),
        axes=axes, channel_axis=channel, channel_labels=labels, note=note,
        chunks_total=math.prod(math.ceil(s / c) for s, c in zip(arr.shape, arr.chunks)) if arr.ndim else 1,
        stored_objects_missing=total_objects - stored, stored_objects_total=total_objects,
    )


def _tiff_target(path: str) -> ArrayTarget:
    """A TIFF's first series (through tifffile's zarr store), its axes from tifffile; the
    channel axis is ``c`` (or RGB samples ``s`` when there is no ``c``)."""
    from .tiff_facts import dimension_names, read_tiff_facts

    try:
        facts = read_tiff_facts(path)
    except Exception as exc:  # tifffile raises many kinds for files that are not TIFFs
        raise WholeArrayError(f"{path}: cannot read as a TIFF: {exc}") from None
    spec = SourceSpec(path, "tiff")
    arr = open_array(spec)
    names = dimension_names(facts.axes) if len(facts.axes) == arr.ndim else None
    channel = None
    if names is not None:
        channel = names.index("c") if "c" in names else names.index("s") if "s" in names else None
    chunks = tuple(int(c) for c in arr.chunks)
    total = math.prod(math.ceil(s / c) for s, c in zip(arr.shape, chunks)) if arr.ndim else 1
    return ArrayTarget(path=path, shape=tuple(int(n) for n in arr.shape), dtype=str(arr.dtype), read_chunks=chunks,
                       shards=None, fill_value=0, zarr_format=0, axes=names, channel_axis=channel, channel_labels=None,
                       note=f"TIFF, axes {facts.axes}", chunks_total=total, stored_objects_missing=0,
                       stored_objects_total=total, source=spec)


def _plain(value: Any) -> Any:
    """A JSON-friendly fill value."""
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (int, float, bool, str)) or value is None else str(value)


@dataclass(frozen=True)
class SourceSpec:
    """An array to read, by description (so that a distributed worker can open it too):
    a zarr array, or the first series of a TIFF (read through tifffile's zarr store);
    ``order`` transposes it (a TIFF's axes put in OME-NGFF's order)."""

    path: str
    kind: str = "zarr"  # "zarr" or "tiff"
    order: tuple[int, ...] | None = None


class SourceArray:
    """A TIFF or a transposed array with the face whole-array work reads: ``shape``,
    ``dtype``, ``chunks``, ``ndim`` and ``[region]``."""

    def __init__(self, spec: SourceSpec, base: Any, order: tuple[int, ...] | None, holder: Any = None) -> None:
        self._spec = spec
        self._base = base
        self._holder = holder  # keeps tifffile's file open as long as its store is read
        self._order = order or tuple(range(base.ndim))
        self.shape = tuple(int(base.shape[i]) for i in self._order)
        self.chunks = tuple(int(base.chunks[i]) for i in self._order)
        self.dtype = base.dtype
        self.ndim = len(self.shape)

    def __reduce__(self) -> tuple[Any, tuple[SourceSpec]]:
        """Sent to a distributed worker by description: it opens the source itself."""
        return open_array, (self._spec,)

    def __getitem__(self, key: tuple[slice, ...]) -> Any:
        import numpy as np

        inner: list[slice] = [slice(None)] * self.ndim
        for axis, where in zip(self._order, key):
            inner[axis] = where
        return np.transpose(np.asarray(self._base[tuple(inner)]), self._order)


def open_array(path: str | SourceSpec) -> Any:
    """The array at ``path``, opened read-only once per process (workers reuse it) and
    again when its metadata file (or the TIFF) changed since."""
    spec = path if isinstance(path, SourceSpec) else SourceSpec(path)
    stamp = None
    for name in ("zarr.json", ".zarray", "") if spec.kind == "zarr" else ("",):
        try:
            st = os.stat(os.path.join(spec.path, name) if name else spec.path)
        except OSError:
            continue
        stamp = (name, st.st_mtime_ns, st.st_size, st.st_ino)
        break
    return _open_array(spec, stamp)


@functools.lru_cache(maxsize=16)
def _open_array(spec: SourceSpec, stamp: Any) -> Any:
    import zarr

    try:
        if spec.kind == "tiff":
            import tifffile

            store = tifffile.imread(spec.path, aszarr=True, series=0, level=0)
            found = SourceArray(spec, zarr.open_array(store, mode="r"), spec.order, store)
            weakref.finalize(found, store.close)  # the file closes when the array is dropped
            return found
        arr = zarr.open_array(spec.path, mode="r")
        return arr if spec.order is None else SourceArray(spec, arr, spec.order)
    except Exception as exc:  # zarr and tifffile raise many kinds (missing codec, bad metadata, ...)
        raise WholeArrayError(f"{spec.path}: cannot open as an array: {exc}") from None


def chunk_regions(shape: Sequence[int], chunks: Sequence[int]) -> Iterator[Region]:
    """Every chunk-aligned region of the grid, in C order, as (start, stop) per axis."""
    ranges = [[(i, min(i + c, s)) for i in range(0, s, c)] for s, c in zip(shape, chunks)]
    return iter(itertools.product(*ranges))


#: A task reads about this many decoded bytes at once (whole chunks, in one zarr call, which
#: fetches and decodes them concurrently): one tiny chunk per task costs more in overhead
#: (about a millisecond) than in reading.
TASK_BYTES = 8 * 2**20


def task_shape(shape: Sequence[int], chunks: Sequence[int], itemsize: int, target: int | None = None) -> tuple[int, ...]:
    """A whole number of chunks per axis, grown from the last axis to the first while the
    region stays within ``target`` bytes (default TASK_BYTES): the regions tasks read."""
    target = TASK_BYTES if target is None else target
    task = [min(c, s) if s else c for c, s in zip(chunks, shape)]
    for axis in reversed(range(len(task))):
        while task[axis] < shape[axis] and math.prod(task) * itemsize * 2 <= target:
            task[axis] = min(shape[axis], task[axis] * 2)
        if task[axis] < shape[axis]:
            break
    # a whole number of chunks along each axis (the last region may be cut by the edge)
    return tuple(max(c, (t // c) * c) if t < s else t for t, c, s in zip(task, chunks, shape))


def chunks_in(region: Region, chunks: Sequence[int]) -> int:
    """How many storage chunks ``region`` touches."""
    return math.prod(-(-b // c) - a // c for (a, b), c in zip(region, chunks))


def read_region(path: str | SourceSpec, region: Region) -> Any:
    """The values of ``region`` of the array at ``path`` (missing chunks: fill value)."""
    return open_array(path)[tuple(slice(a, b) for a, b in region)]


@dataclass(frozen=True)
class Engine:
    """Where graphs run: ``scheduler`` None is the local threaded scheduler."""

    scheduler: str | None = None
    num_workers: int | None = None
    connect_timeout: float = 10.0  # seconds to reach a distributed scheduler


def build_tree(leaves: dict[Any, Any], combine: Callable[..., Any], name: str) -> tuple[dict[Any, Any], list[Any]]:
    """A graph folding ``leaves`` (key -> task) FAN_IN at a time until MAX_GROUPS remain.

    Returns the graph and the keys of the remaining partials (folded by the caller).
    """
    graph = dict(leaves)
    keys = list(leaves)
    level = 0
    while len(keys) > MAX_GROUPS:
        level += 1
        folded = []
        for j in range(0, len(keys), FAN_IN):
            key = (f"{name}-fold{level}", j // FAN_IN)
            graph[key] = (combine, *keys[j:j + FAN_IN])
            folded.append(key)
        keys = folded
    return graph, keys


def compute(graph: dict[Any, Any], keys: list[Any], *, leaves: int, engine: Engine,
            progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
            weights: dict[Any, int] | None = None) -> list[Any]:
    """Run ``graph`` and return the values of ``keys`` (in order).

    ``progress(done, total)`` counts leaves (chunks read); ``cancelled()`` is asked as tasks
    finish and raises Cancelled once it says True. ``weights``: what each leaf counts for
    (``leaves`` is then their sum), e.g. the chunks a task reads.
    """
    if engine.scheduler:
        return _compute_distributed(graph, keys, leaves, engine, progress, cancelled)
    return _compute_local(graph, keys, leaves, engine, progress, cancelled, weights)


def _compute_local(graph: dict[Any, Any], keys: list[Any], leaves: int, engine: Engine,
                   progress: Progress | None, cancelled: Callable[[], bool] | None,
                   weights: dict[Any, int] | None = None) -> list[Any]:
    import dask.threaded

    leaf_names = {k[0] for k in graph if isinstance(k, tuple) and "-fold" not in str(k[0])}
    done = [0]

    def finished(key: Any) -> None:
        if isinstance(key, tuple) and key[0] in leaf_names:
            done[0] += weights.get(key, 1) if weights else 1
            if progress is not None:
                progress(done[0], leaves)

    with _local_run(engine, finished, cancelled) as pool:
        result = dask.threaded.get(graph, keys, pool=pool)
    return list(result)


@contextlib.contextmanager
def _local_run(engine: Engine, finished: Callable[[Any], None],
               cancelled: Callable[[], bool] | None) -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """The pool of ``_local_pool`` with dask callbacks for the run inside: ``finished(key)``
    after each task (for progress), and Cancelled raised before and after a task once
    ``cancelled()`` says so, which stops the local scheduler between tasks."""
    import dask.callbacks

    callbacks: Any = dask.callbacks  # untyped: typed as Any here

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        finished(key)
        if cancelled is not None and cancelled():
            raise Cancelled()

    def pretask(key: Any, dsk: Any, state: Any) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled()

    with _local_pool(engine) as pool, callbacks.Callback(pretask=pretask, posttask=posttask):
        yield pool


@contextlib.contextmanager
def _local_pool(engine: Engine) -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """A thread per core for one run; on the way out (cancel, Ctrl-C, error) the chunks
    already being read finish before this returns, so nothing runs on behind the caller
    (e.g. writing into a folder being removed) and none is started."""
    pool = concurrent.futures.ThreadPoolExecutor(engine.num_workers or os.cpu_count() or 1,
                                                 thread_name_prefix="polystore-gui-dask")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _compute_distributed(graph: dict[Any, Any], keys: list[Any], leaves: int, engine: Engine,
                         progress: Progress | None, cancelled: Callable[[], bool] | None) -> list[Any]:
    import distributed

    dist: Any = distributed  # untyped: typed as Any here
    address = engine.scheduler
    try:
        client = dist.Client(address, timeout=f"{engine.connect_timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise WholeArrayError(f"cannot reach the dask scheduler at {address}: {exc}") from None
    try:
        futures = client.get(graph, keys, sync=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        per_key = leaves / max(len(keys), 1)
        finished = 0
        try:
            for future in dist.as_completed(futures, loop=client.loop):
                results[index[future.key]] = future.result()
                future.release()
                finished += 1
                if progress is not None:
                    progress(min(leaves, round(finished * per_key)), leaves)
                if cancelled is not None and cancelled():
                    raise Cancelled()
        except BaseException:
            client.cancel(futures)
            raise
        return results
    finally:
        client.close()


def compute_collection(collection: Any, *, engine: Engine, progress: Progress | None = None,
                       cancelled: Callable[[], bool] | None = None) -> Any:
    """Run a dask collection (e.g. ``da.store(..., compute=False)``) on ``engine``.

    Locally ``progress(done, total)`` counts tasks; on a distributed scheduler it says
    0 then 1 (the cluster runs the graph as one computation)."""
    if engine.scheduler:
        return _compute_distributed_collection(collection, engine, progress, cancelled)
    import dask

    dask_: Any = dask  # untyped: typed as Any here
    total = len(collection.__dask_graph__())
    done = [0]

    def finished(key: Any) -> None:
        done[0] += 1
        if progress is not None:
            progress(min(done[0], total), total)

    with _local_run(engine, finished, cancelled) as pool:
        return dask_.compute(collection, scheduler="threads", pool=pool)[0]


def _compute_distributed_collection(collection: Any, engine: Engine, progress: Progress | None,
                                    cancelled: Callable[[], bool] | None) -> Any:
    import distributed

    dist: Any = distributed
    try:
        client = dist.Client(engine.scheduler, timeout=f"{engine.connect_timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise WholeArrayError(f"cannot reach the dask scheduler at {engine.scheduler}: {exc}") from None
    try:
        if progress is not None:
            progress(0, 1)
        future = client.compute(collection)
        try:
            for finished in dist.as_completed([future], loop=client.loop):
                result = finished.result()
        except BaseException:
            client.cancel([future])
            raise
        if progress is not None:
            progress(1, 1)
        if cancelled is not None and cancelled():
            raise Cancelled()
        return result
    finally:
        client.close()
