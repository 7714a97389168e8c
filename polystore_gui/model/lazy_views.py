"""Lazy views over arrays: what the preview hands napari instead of reading the data.

A view reads only what a slice asks for: :class:`SafeArray` turns a failing chunk read
into a blank plane and a report (the viewer keeps drawing); :class:`TakeAxis` shows one
index of an axis (a label image's channel); :class:`Magnitude` shows ``|z|`` of a complex
array. :func:`lazy_levels` makes a pyramid's levels dask arrays chunked as stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .raw_chunks import RawChunks


def _full_key(key: Any, ndim: int) -> tuple[Any, ...]:
    """``key`` as a tuple with one item per axis (Ellipsis expanded, missing axes whole)."""
    if not isinstance(key, tuple):
        key = (key,)
    i = next((j for j, k in enumerate(key) if k is Ellipsis), None)  # never ``==`` on an index array
    if i is not None:
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1 :]
    return tuple(key) + (slice(None),) * (ndim - len(key))


class _ArrayView:
    """What napari needs of an array-like besides ``shape``, ``dtype`` and ``__getitem__``."""

    shape: tuple[int, ...]

    def __getitem__(self, key: Any) -> Any:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self[...])
        return out.astype(dtype) if dtype is not None else out

    def __len__(self) -> int:
        return self.shape[0]


class TakeAxis(_ArrayView):
    """A lazy view of ``array`` with one axis fixed at an index (no data read until sliced)."""

    def __init__(self, array: Any, axis: int, index: int) -> None:
        self._array = array
        self._axis = axis
        self._index = index
        shape = tuple(int(s) for s in array.shape)
        self.shape = shape[:axis] + shape[axis + 1 :]
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(int(c) for i, c in enumerate(chunks) if i != axis) if chunks is not None else None

    def __getitem__(self, key: Any) -> Any:
        key = _full_key(key, self.ndim)
        return self._array[key[: self._axis] + (self._index,) + key[self._axis :]]


class Magnitude(_ArrayView):
    """A lazy view of a complex array's magnitude ``|z|`` (float32 for complex64, else
    float64): napari cannot show complex numbers, and the modulus is what silx's complex
    view shows first. Each slice reads only what the complex array's slice reads."""

    def __init__(self, array: Any) -> None:
        self._array = array
        self.shape = tuple(int(s) for s in array.shape)
        self.dtype = np.dtype(np.float32 if np.dtype(array.dtype).itemsize <= 8 else np.float64)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        chunks = getattr(array, "chunks", None)
        self.chunks = tuple(int(c) for c in chunks) if chunks is not None else None

    def __getitem__(self, key: Any) -> Any:
        return np.abs(np.asarray(self._array[key])).astype(self.dtype, copy=False)


def _magnitude_if_complex(data: Any, name: str, notes: list[str]) -> tuple[Any, str]:
    """``data`` and its layer name, or, for complex values, its :class:`Magnitude` named
    ``|z| name``; the note says so."""
    if np.dtype(data.dtype).kind != "c":
        return data, name
    notes.append("complex values: shown as their magnitude |z| (napari cannot show complex numbers)")
    return Magnitude(data), f"|z| {name}"


class SafeArray(_ArrayView):
    """A zarr array whose unreadable chunks read as the fill value instead of failing.

    A selection is first read whole; if that raises (a truncated or corrupt chunk, a
    codec error), it is read again chunk by chunk, the failing chunks filled with the
    fill value and reported through ``on_failure(chunk_index, message)``. So one bad
    chunk costs the user that chunk, not the view.

    An array whose chunk files hold the bare values on this machine is read from them
    directly (``raw_chunks``, unless ``direct`` is false): the same values and reports,
    without zarr's event loop and file threads taking the interpreter lock from the GUI
    thread chunk after chunk (issue 19).
    """

    def __init__(self, array: Any, on_failure: Callable[[tuple[int, ...], str], None] | None = None,
                 direct: bool = True) -> None:
        self.array = array
        self.shape = tuple(int(n) for n in array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))
        self.chunks = tuple(int(c) for c in array.chunks)
        fill = array.fill_value
        self.fill_value = 0 if fill is None else fill
        self.failures: dict[tuple[int, ...], str] = {}
        self.on_failure = on_failure
        self._raw = RawChunks.of(array) if direct else None

    def __getitem__(self, key: Any) -> Any:
        if self._raw is not None:
            box = _basic_box(key, self.shape)
            if box is not None:
                return self._raw.read(box, self.dtype, self.fill_value, self._failed)
        try:
            return self.array[key]
        except (IndexError, TypeError):
            raise
        except Exception as exc:  # decode/IO failure somewhere in the selection
            box = _basic_box(key, self.shape)
            if box is None:
                raise
            return self._read_chunkwise(box, exc)

    def _read_chunkwise(self, box: list[tuple[int, int, bool]], first_error: Exception) -> np.ndarray:
        starts = [b[0] for b in box]
        stops = [b[1] for b in box]
        out = np.full([e - b for b, e in zip(starts, stops)], self.fill_value, dtype=self.dtype)
        ranges = [range(b // c, (e - 1) // c + 1) if e > b else range(0) for b, e, c in zip(starts, stops, self.chunks)]
        import itertools

        for index in itertools.product(*ranges):
            lo = [max(i * c, b) for i, c, b in zip(index, self.chunks, starts)]
            hi = [min((i + 1) * c, e) for i, c, e in zip(index, self.chunks, stops)]
            source = tuple(slice(a, z) for a, z in zip(lo, hi))
            target = tuple(slice(a - b, z - b) for a, z, b in zip(lo, hi, starts))
            try:
                out[target] = self.array[source]
            except Exception as exc:
                self._failed(index, exc)
        squeeze = tuple(i for i, b in enumerate(box) if b[2])
        return out.reshape([n for i, n in enumerate(out.shape) if i not in squeeze]) if squeeze else out

    def _failed(self, index: tuple[int, ...], exc: BaseException) -> None:
        """Chunk ``index`` could not be read: reported once (``failures``, ``on_failure``)."""
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if index not in self.failures:
            self.failures[index] = message
            if self.on_failure is not None:
                self.on_failure(index, message)


def _basic_box(key: Any, shape: tuple[int, ...]) -> list[tuple[int, int, bool]] | None:
    """(start, stop, is_integer) per axis for basic indexing (ints, unit-step slices, ...)."""
    box = []
    full = _full_key(key, len(shape))
    if len(full) != len(shape):
        return None
    for k, n in zip(full, shape):
        if isinstance(k, (bool, np.bool_)):
            return None
        if isinstance(k, (int, np.integer)):
            k = int(k) + n if int(k) < 0 else int(k)
            box.append((k, k + 1, True))
        elif isinstance(k, slice) and k.step in (None, 1):
            start, stop, _ = k.indices(n)
            box.append((start, max(start, stop), False))
        else:
            return None
    return box


def lazy_levels(levels: list[Any]) -> list[Any]:
    """Levels as dask arrays, one dask chunk per storage chunk.

    napari slices a multiscale level by the displayed region first, with every other
    axis whole, and picks the plane afterwards: it counts on lazily sliceable data. A
    zarr array reads eagerly, so each level goes behind dask (napari's own convention);
    reading still happens through SafeArray, chunk by chunk, only for what is shown.
    """
    import dask.array as da

    threads_unless_configured()
    out = []
    for level in levels:
        chunks = _dask_chunks(level)
        out.append(da.from_array(level, chunks=chunks, asarray=True, fancy=False, lock=False, name=False))  # type: ignore[no-untyped-call]
    return out


def threads_unless_configured() -> None:
    """Make dask's threaded scheduler the default, given as a function, unless one is configured.

    With nothing configured, every compute first imports ``distributed`` to look for a
    default client: 0.3-0.4 s on a preview's first frame, paid in napari's slicing thread
    while it holds the interpreter lock. The browser never makes a default client (stats
    and convert pass theirs, or ``scheduler="threads"``, explicitly), and dask takes a
    scheduler function without that import. A scheduler the user configured (dask's
    config files, ``DASK_SCHEDULER``) is left as it is.
    """
    import dask
    import dask.threaded

    if dask.config.get("scheduler", None) is None:
        dask.config.set(scheduler=dask.threaded.get)


def _dask_chunks(level: Any) -> Any:
    """Whole storage objects (shards when sharded), grown in-plane towards 2048 pixels.

    Each dask chunk is one read call; a call per small inner chunk of a shard costs more
    in overhead than the read itself.
    """
    inner = getattr(level, "chunks", None)
    if inner is None:
        return "auto"
    base = getattr(level, "array", level)
    outer = getattr(base, "shards", None) or inner
    if len(outer) != len(inner):
        outer = inner
    shape = tuple(int(n) for n in level.shape)
    grown = list(int(c) for c in outer)
    for axis in (-2, -1):
        if len(grown) >= 2:
            while grown[axis] < 2048 and grown[axis] < shape[axis]:
                grown[axis] *= 2
    return tuple(grown)
