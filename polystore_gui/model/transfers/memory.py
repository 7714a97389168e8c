"""Transfers through an in-process polystore backend (polystore's memory; see
``places.in_process``), by the backend instance's own ``save``, ``load`` and ``move``.

Into it: loaded through polystore, stored under a temporary key, compared, then moved into
place with the backend's own ``move``. From it onto disk: written with polystore's disk
``save`` (format by extension; ``.npy`` for a bare array) to a temporary name, loaded back
and compared.
"""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Generator, Iterable

import numpy as np

from ..address import Address
from ..local_entries import special_kind
from .into_zarr import _zarr_array
from .items import Progress, TransferError
from .places import _held, _is_zarr_array, _is_zarr_node, _join, _load, _same, _store, is_folder, is_local
from .staging import _leave_out, _partial_name, _Run

def _into_memory(run: _Run) -> Generator[Progress, None, None]:
    source, final = run.item.source, run.item.destination
    store = _store(final.backend)
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address(final.backend, staged))
    if is_local(source.backend) and _is_zarr_node(source.path):
        if not _is_zarr_array(source.path):
            raise TransferError(f"{source} is a zarr group: copy its arrays into {final.backend} one by one")
        yield from _one_into_memory(run, source, staged)
    elif is_folder(source):
        store.ensure_directory(staged)
        for rel, child in _folder_files(source, run):
            run.check()
            key = _join(staged, rel)
            store.ensure_directory(os.path.dirname(key))
            yield from _one_into_memory(run, child, key)
    else:
        yield from _one_into_memory(run, source, staged)


def _folder_files(folder: Address, run: _Run | None = None) -> Iterable[tuple[str, Address]]:
    """The files under a folder, as (relative name, address). On disk, links and special
    entries are not files to load: each is left out (and said, through ``run``)."""
    if not is_local(folder.backend):
        prefix = folder.path.rstrip("/") + "/"
        for key, value in _held(folder.backend, folder.path):
            if key.startswith(prefix) and value is not None:  # None: a folder's own key
                yield key[len(prefix):], Address(folder.backend, key)
        return
    for root, dirs, files in os.walk(folder.path):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder.path)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISREG(mode):
                yield rel, Address("disk", path)
            elif run is not None and stat.S_ISLNK(mode):
                _leave_out(run, rel, f"a symbolic link ({run.item.destination.backend} cannot hold links)")
            elif run is not None and not stat.S_ISDIR(mode):
                _leave_out(run, rel, f"{special_kind(mode)} is not a file")


def _one_into_memory(run: _Run, source: Address, key: str) -> Generator[Progress, None, None]:
    destination = run.item.destination.backend
    store = _store(destination)
    zarr_source = is_local(source.backend) and os.path.isdir(source.path)
    if zarr_source:
        data = _zarr_array(source.path)[...]
    else:
        data = _load(source)
        if not is_local(source.backend):
            data = copy.deepcopy(data)  # the copy must not be the source object
    store.save(data, key)
    if not _same(store.load(key), _zarr_array(source.path)[...] if zarr_source else _load(source)):
        raise TransferError(f"verification failed for {destination}:{key}")
    yield run.advance(int(getattr(data, "nbytes", 0) or 0))


def _memory_to_disk(run: _Run) -> Generator[Progress, None, None]:
    from polystore.backend_registry import get_backend_instance

    disk = get_backend_instance("disk")
    source, final = run.item.source, run.item.destination
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    if is_folder(source):
        os.mkdir(staged)
        pairs = [(child, os.path.join(staged, rel)) for rel, child in _folder_files(source)]
    else:
        pairs = [(source, staged)]
    for child, target in pairs:
        run.check()
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = _load(child)
        # polystore picks the writer by extension; a bare array becomes .npy (numpy's).
        bare = not os.path.splitext(child.path)[1]
        ext_target = target + ".npy" if bare else target
        disk.save(data, ext_target)
        if bare:
            os.rename(ext_target, target)
        back = np.load(target, allow_pickle=False) if bare else disk.load(target)
        if not _same(back, data):
            raise TransferError(f"verification failed for {target}")
        yield run.advance(int(getattr(data, "nbytes", 0) or 0))
