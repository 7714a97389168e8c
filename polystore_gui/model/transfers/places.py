"""What is at an address, asked of its adapter (``model.backends``): what its backend can do,
whether it exists, is a folder or a zarr node, how many bytes it holds, whether it is the
same entry as another; loading it through polystore, comparing two loaded values, and
removing it."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..address import Address
from ..backends import Capabilities, adapter_for
from ..local_entries import identity as _identity, inside as _inside

def capabilities(backend: str) -> Capabilities:
    """What the adapter of ``backend`` says it can do (``model.backends``)."""
    return adapter_for(backend).capabilities


def is_local(backend: str) -> bool:
    """Whether ``backend``'s paths are this machine's file paths (disk, zarr, ome_zarr)."""
    return adapter_for(backend).capabilities.local


def in_process(backend: str) -> bool:
    """Whether ``backend`` is a store of this process reached through polystore's own backend
    instance (``save``, ``load``, ``move``): polystore's memory. The engine writes into it and
    reads from it that way; the other non-local kinds (remote stores, sinks, backends that
    need context) it neither reads nor writes."""
    caps = adapter_for(backend).capabilities
    return caps.volatile and not caps.local and not caps.remote


def _store(backend: str) -> Any:
    """polystore's instance of an in-process backend with its root folder made: the memory
    backend keeps a folder as a key holding None and makes ``/`` only when asked, so a
    transfer into ``memory:/`` must not depend on the tree having listed it first."""
    from ..backends.common import polystore_backend

    instance = polystore_backend(backend)
    if not instance.exists("/"):
        instance.ensure_directory("/")
    return instance


def _held(backend: str, path: str) -> list[tuple[str, Any]]:
    """The values an in-process store holds at ``path`` and under it, by key (sorted). polystore's
    memory backend keeps them in one dict; a store without one answers nothing (its sizes are
    then learnt as the copy goes)."""
    held = getattr(_store(backend), "_memory_store", None)
    if not isinstance(held, dict):
        return []
    prefix = path.rstrip("/") + "/"
    return sorted((key, value) for key, value in list(held.items()) if key == path or key.startswith(prefix))


def _join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name if parent not in ("", "/") else "/" + name


def _basename(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path


def exists(address: Address) -> bool:
    """Whether something is at ``address`` (a link counts, followed or not): its adapter's answer."""
    return adapter_for(address.backend, address.path).exists(address.backend, address.path)


def is_folder(address: Address) -> bool:
    """Whether ``address`` holds entries (a folder, a memory folder): its adapter's answer."""
    return adapter_for(address.backend, address.path).is_folder(address.backend, address.path)


def _same_entry(a: str, b: str) -> bool:
    """True when two local paths name the same entry, through links or another spelling
    (a case-folding file system, a hard link): the same place, or the same inode."""
    if _identity(a) == _identity(b):
        return True
    try:
        x, y = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino)


def _copies_into_itself(source: str, destination_folder: str) -> bool:
    """True when ``destination_folder`` (followed: we write into it) is ``source`` or lies
    inside it, through links or not. A source that is a link is copied as a link: only its
    own place counts."""
    return _inside(os.path.realpath(destination_folder), _identity(source))


def _source_size(address: Address) -> int:
    if not is_local(address.backend):
        return sum(int(getattr(value, "nbytes", 0) or 0) for _key, value in _held(address.backend, address.path))
    if os.path.isdir(address.path) and not os.path.islink(address.path):
        total = 0
        for root, _dirs, files in os.walk(address.path):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_size
                except OSError:
                    pass
        return total
    try:
        return os.lstat(address.path).st_size
    except OSError:
        return 0


def _remove(address: Address) -> None:
    """Remove what is at ``address`` (a folder with everything in it; a link, never its
    target) through its adapter; nothing there is no error."""
    try:
        adapter_for(address.backend, address.path).delete(address.backend, address.path)
    except FileNotFoundError:
        pass


def _is_zarr_array(path: str) -> bool:
    if os.path.exists(os.path.join(path, ".zarray")):
        return True
    try:
        with open(os.path.join(path, "zarr.json")) as fh:
            return bool(json.load(fh).get("node_type") == "array")
    except (OSError, ValueError):
        return False


def _is_zarr_node(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, marker)) for marker in ("zarr.json", ".zarray", ".zgroup"))


def _load(address: Address) -> Any:
    """The value at ``address``, read by polystore: an in-process store's own ``load``, else
    polystore's disk backend (format by extension)."""
    from polystore.backend_registry import get_backend_instance

    if not is_local(address.backend):
        return _store(address.backend).load(address.path)
    if not os.path.splitext(address.path)[1] and _is_npy(address.path):
        # A bare array copied out of memory is written as .npy content under its own name
        # (memory_to_disk): polystore has no reader for a name without an extension.
        return np.load(address.path, allow_pickle=False)
    return get_backend_instance("disk").load(address.path)


def _is_npy(path: str) -> bool:
    """Whether the file at ``path`` starts with NumPy's ``.npy`` magic."""
    try:
        with open(path, "rb") as fh:
            return fh.read(6) == b"\x93NUMPY"
    except OSError:
        return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind in "fc"))
    return bool(a == b)
