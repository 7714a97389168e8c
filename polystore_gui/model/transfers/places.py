"""What is at an address, asked the same way of this machine's disk and of polystore's memory
backend: whether it exists, is a folder or a zarr node, how many bytes it holds, whether it is
the same entry as another; loading it through polystore, comparing two loaded values, and
removing it."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import numpy as np

from ..address import Address
from ..local_entries import identity as _identity, inside as _inside

def _memory() -> Any:
    """polystore's memory backend with its root folder made: the backend keeps a folder as
    a key holding None and makes ``/`` only when asked, so a transfer into ``memory:/``
    must not depend on the tree having listed it first."""
    from ..listing import memory_backend

    return memory_backend()


def _join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name if parent not in ("", "/") else "/" + name


def _basename(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path


def exists(address: Address) -> bool:
    if address.backend == "memory":
        return bool(_memory().exists(address.path))
    return os.path.lexists(address.path)


def is_folder(address: Address) -> bool:
    if address.backend == "memory":
        try:  # polystore's own answer (its key normalisation included); it raises for files
            return bool(_memory().is_dir(address.path))
        except (FileNotFoundError, NotADirectoryError):
            return False
    return os.path.isdir(address.path)


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
    if address.backend == "memory":
        memory = _memory()
        total = 0
        for key, value in list(memory._memory_store.items()):
            if key == address.path or key.startswith(address.path.rstrip("/") + "/"):
                total += int(getattr(value, "nbytes", 0) or 0)
        return total
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
    if address.backend == "memory":
        memory = _memory()
        if memory.exists(address.path):
            if is_folder(address):  # polystore's is_dir raises for a file
                memory.delete_all(address.path)
            else:
                memory.delete(address.path)
        return
    if os.path.isdir(address.path) and not os.path.islink(address.path):
        shutil.rmtree(address.path)
    elif os.path.lexists(address.path):
        os.unlink(address.path)


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
    from polystore.backend_registry import get_backend_instance

    if address.backend == "memory":
        return _memory().load(address.path)
    return get_backend_instance("disk").load(address.path)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind in "fc"))
    return bool(a == b)
