"""Writing into zarr groups what is not a zarr node already.

An image or array becomes a zarr array in the format of the group it goes into, chunked per
plane (or as asked), written and compared slab by slab so that memory stays bounded; a TIFF
keeps its axes as dimension names (in OME-NGFF's order inside OME-Zarr); a folder of images
becomes a store in polystore's own layout.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Literal

import numpy as np

from ..address import Address
from ..local_entries import special_kind
from ..tiff_facts import dimension_names, is_tiff_name, ngff_layout, read_tiff_facts
from ..zarr_nodes import CorruptMetadataError, read_node
from .items import COPY_THREADS, Cancelled, Progress, TransferError
from .file_bytes import _copy_verify
from .places import _load, is_local
from .staging import _flush, _leave_out, _partial_name, _Run

TILE = 2048
BIG_PLANE = 4096


def _zarr_array(path: str) -> Any:
    import zarr

    return zarr.open_array(path, mode="r")


def plane_chunks(shape: Sequence[int]) -> tuple[int, ...]:
    """One chunk per plane; planes above 4096 x 4096 in 2048 x 2048 tiles."""
    if len(shape) < 2:
        return tuple(int(s) for s in shape) or (1,)
    y, x = int(shape[-2]), int(shape[-1])
    if y * x > BIG_PLANE * BIG_PLANE:
        y, x = min(y, TILE), min(x, TILE)
    return (1,) * (len(shape) - 2) + (y, x)


def fit_chunks(asked: Sequence[int] | None, shape: Sequence[int]) -> tuple[int, ...]:
    """The chunk shape the user asked for, fitted to ``shape`` (its trailing axes; at most
    the shape, at least 1); per plane when nothing was asked."""
    if not asked:
        return plane_chunks(shape)
    asked = tuple(int(n) for n in asked)[-len(shape):] if shape else ()
    padded = (1,) * (len(shape) - len(asked)) + asked
    return tuple(max(1, min(int(c), int(s))) for c, s in zip(padded, shape))


def _slabs(shape: Sequence[int], chunks: Sequence[int]) -> Iterable[tuple[slice, ...]]:
    """Keys over the leading axes (all but the last two) in steps of whole chunks: each slab
    writes whole chunks once, and memory holds one slab (one plane when chunks are planes)."""
    lead = len(shape) - 2
    if lead <= 0:
        yield ()
        return
    steps = [range(0, int(shape[i]), int(chunks[i])) for i in range(lead)]
    for starts in np.ndindex(*[len(r) for r in steps]):
        yield tuple(slice(steps[i][k], min(steps[i][k] + int(chunks[i]), int(shape[i]))) for i, k in enumerate(starts))


def _open_source_array(source: Address) -> Any:
    """An array-like for ``source`` that reads lazily where it can (zarr, npy, tiff)."""
    if not is_local(source.backend):
        return np.asarray(_load(source))
    path = source.path
    if os.path.isdir(path):
        return _zarr_array(path)
    lower = path.lower()
    if lower.endswith(".npy"):
        return np.load(path, mmap_mode="r")
    if lower.endswith((".tif", ".tiff")):
        import tifffile

        try:
            return tifffile.memmap(path, mode="r")
        except ValueError:  # compressed or tiled: decoded whole
            return tifffile.imread(path)
    data = _load(source)
    if not isinstance(data, np.ndarray):
        raise TransferError(f"{source} is not an array: zarr takes arrays")
    return data


def _array_to_zarr(run: _Run) -> Generator[Progress, None, None]:
    import zarr

    source, final = run.item.source, run.item.destination
    array = _open_source_array(source)
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biufc" or dtype.fields is not None:
        raise TransferError(f"{source} holds {dtype}: zarr arrays written here hold numbers")
    shape = tuple(int(s) for s in array.shape)
    names = _tiff_dimension_names(source, shape)
    if names and _ome_destination(final.path):
        array, names = _in_ngff_order(run, array, names)
        shape = tuple(int(s) for s in array.shape)
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    chunks = fit_chunks(run.item.chunks, shape)
    group_format = _group_format(final.path)  # read once: the group's metadata is read for each call
    fmt = group_format or 3
    out = zarr.create_array(staged, shape=shape, chunks=chunks, dtype=dtype, zarr_format=fmt, fill_value=0,
                            **_dimension_names_for(names, fmt))
    if names:
        run.notes.append(f"dimension names {', '.join(names)} (the TIFF's axes)")
    for index in _slabs(shape, chunks):
        run.check()
        plane = np.asarray(array[index])
        out[index] = plane
        if not np.array_equal(out[index], plane, equal_nan=dtype.kind in "fc"):
            raise TransferError(f"verification failed for plane {index} of {final}")
        yield run.advance(plane.nbytes)
    in_group = " (the format of the group it is in)" if group_format else ""
    run.notes.append(f"written as a zarr v{fmt} array{in_group}, chunks {chunks}")


def _tiff_dimension_names(source: Address, shape: tuple[int, ...]) -> tuple[str, ...] | None:
    """A TIFF source's axes as dimension names (tifffile's series axes, 'CYX' → c, y, x),
    when they describe the array read from it; None for anything else."""
    if not is_local(source.backend) or not is_tiff_name(source.path):
        return None
    try:
        facts = read_tiff_facts(source.path)
    except Exception:  # the copy itself says what is wrong with the file
        return None
    names = dimension_names(facts.axes)
    return names if facts.shape == shape and len(names) == len(shape) else None


def _ome_destination(path: str) -> bool:
    """Whether ``path`` goes into an OME-Zarr group (an image, plate, well, labels...)."""
    try:
        meta = read_node(os.path.dirname(os.path.abspath(path)))
    except (CorruptMetadataError, OSError):
        return False
    return meta is not None and meta.node_type == "group" and meta.is_ome_container


def _in_ngff_order(run: _Run, array: Any, names: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """A TIFF going into OME-Zarr: its axes in OME-NGFF's order and names (t, c, z, y, x;
    RGB samples are channels), the data transposed to match (a view: nothing read). Axes
    NGFF has no name for are kept as they are, and the notes say so."""
    layout = ngff_layout(names)
    if layout is None:
        run.notes.append(f"axes {', '.join(names)} are not OME-NGFF's (t, c, z, y, x): kept in the TIFF's order")
        return array, names
    order, ome_names = layout
    if order != tuple(range(len(order))):
        array = np.transpose(array, order)
        run.notes.append(f"axes put in OME-NGFF's order: {', '.join(names)} -> {', '.join(ome_names)}")
    return array, ome_names


def _dimension_names_for(names: tuple[str, ...] | None, zarr_format: int) -> dict[str, Any]:
    """``zarr.create_array`` keywords that keep ``names``: zarr 3's ``dimension_names``; in
    zarr v2, which has none, xarray's ``_ARRAY_DIMENSIONS`` attribute (read by xarray and
    by zarr-aware viewers)."""
    if not names:
        return {}
    if zarr_format == 3:
        return {"dimension_names": names}
    return {"attributes": {"_ARRAY_DIMENSIONS": list(names)}}


def _group_format(path: str) -> Literal[2, 3] | None:
    """The zarr format of the group that ``path`` goes into; None when its folder is no group.

    What the transfer writes itself (images, arrays, folders of images) takes the group's
    format: zarr-python lists no v3 member in a v2 group, nor v2 in v3.
    """
    try:
        meta = read_node(os.path.dirname(os.path.abspath(path)))
    except (CorruptMetadataError, OSError):
        return None
    if meta is None or meta.node_type != "group":
        return None
    return 2 if meta.zarr_format == 2 else 3


IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".npy")
PASS_THROUGH = (".json", ".csv", ".txt")  # polystore's zarr backend keeps these as plain files


def _polystore_codec() -> Any:
    """The compressor polystore's zarr backend writes by default (ZarrConfig: zlib, level 3)."""
    import numcodecs

    return numcodecs.Zlib(level=3)


def _write_polystore_array(path: str, source: str, cancelled: Callable[[], bool],
                           chunk_shape: tuple[int, ...] | None = None, zarr_format: Literal[2, 3] = 2) -> int:
    """One image file as a zarr array at ``path`` (v2 as polystore writes it, unless the group
    it goes into is v3), chunked per plane; compared; its bytes."""
    import zarr

    array = _open_source_array(Address("disk", source))
    dtype = np.dtype(array.dtype)
    shape = tuple(int(n) for n in array.shape)
    layout: dict[str, Any] = _dimension_names_for(_tiff_dimension_names(Address("disk", source), shape), zarr_format)
    if zarr_format == 2:
        layout.update(compressors=_polystore_codec(), chunk_key_encoding={"name": "v2", "separator": "/"})
    out = zarr.create_array(
        path, shape=shape, chunks=fit_chunks(chunk_shape, shape), dtype=dtype, zarr_format=zarr_format,
        fill_value=0, **layout,
    )
    nbytes = 0
    for index in _slabs(shape, fit_chunks(chunk_shape, shape)):
        if cancelled():
            raise Cancelled("cancelled")
        plane = np.asarray(array[index])
        out[index] = plane
        if not np.array_equal(out[index], plane, equal_nan=dtype.kind in "fc"):
            raise TransferError(f"verification failed for plane {index} of {path}")
        nbytes += plane.nbytes
    return nbytes


def _folder_to_zarr(run: _Run) -> Generator[Progress, None, None]:
    """A folder of images into a zarr group: one array per image, keyed by its file name.

    This is the layout polystore's zarr backend writes with ``save`` (zarr v2, zlib level
    3, keys like ``A01.tif``), so polystore lists it (``list_dir``) and loads each image by
    its file name; arrays are chunked per plane rather than polystore's one chunk per
    array. JSON, CSV and text files are kept as plain files, as polystore does.
    """
    import zarr

    source, final = run.item.source, run.item.destination
    if os.path.splitext(final.path)[1]:
        raise TransferError(f"{final}: polystore reads a zarr store whose name has no extension "
                            f"(it takes {os.path.basename(final.path)!r} for a key); rename the folder first")
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    fmt = _group_format(final.path) or 2
    zarr.open_group(staged, mode="w", zarr_format=fmt)
    if fmt != 2:
        run.notes.append(f"written as a zarr v{fmt} group (the format of the group it is in), "
                         "not polystore's v2 layout")
    names = sorted(os.listdir(source.path))
    skipped = []
    pending: set[Any] = set()
    with ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="zarr-write") as pool:
        for name in names:
            path = os.path.join(source.path, name)
            lower = name.lower()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                _leave_out(run, name, "a symbolic link (zarr cannot hold links)")
                continue
            if kind := special_kind(mode):
                _leave_out(run, name, f"{kind} is not a file")
                continue
            if stat.S_ISDIR(mode) or not lower.endswith(IMAGE_EXTENSIONS + PASS_THROUGH):
                skipped.append(name)
                run.left_out.append(f"{name}: neither an image nor a table")  # a move keeps the source
                continue
            target = os.path.join(staged, name)
            if lower.endswith(PASS_THROUGH):
                pending.add(pool.submit(_copy_verify, path, target, run.cancelled))
            else:
                pending.add(pool.submit(_write_polystore_array, target, path, run.cancelled, run.item.chunks, fmt))
            while len(pending) >= 2 * COPY_THREADS:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield run.advance(future.result())
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield run.advance(future.result())
    run.check()
    _flush(staged)
    if skipped:
        run.notes.append(f"left out {len(skipped)} entries that are neither images nor tables: {', '.join(skipped[:5])}")
