"""The ``memory`` backend: polystore's in-process memory store, rooted at ``/``.

What it holds ends with this process (a fresh CLI process holds nothing) and it holds no
symbolic links. Everything goes through polystore's memory backend instance: listing, the
facts of a value (an array's shape and dtype, a text's length), preview and delete.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..entries import Entry, EntryKind, kind_for_file_name
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .common import AdapterBase, ListingError, os_error_text

if TYPE_CHECKING:
    from ..arrays import Info
    from ..lazy import Preview


def memory_backend() -> Any:
    """polystore's in-process memory backend (the registry's cached instance), rooted at ``/``."""
    from polystore.backend_registry import get_backend_instance

    backend = get_backend_instance("memory")
    if not backend.exists("/"):
        backend.ensure_directory("/")
    return backend


def memory_entry(backend: Any, path: str, *, listed: bool = True) -> Entry:
    """The entry for a memory key; ``listed``: the key was just listed (so if it is missing
    now, it "no longer exists"; an address typed by the user "does not exist")."""
    name = path.rstrip("/").rsplit("/", 1)[-1] or "/"
    try:
        value = backend.load(path)
    except IsADirectoryError:
        return Entry("memory", path, name, EntryKind.DIRECTORY)
    except FileNotFoundError:
        said = "No longer exists" if listed else "Does not exist"
        return Entry("memory", path, name, EntryKind.ERROR, error=f"{said}: memory:{path}")
    return _memory_value_entry(path, name, value)


def _memory_value_entry(path: str, name: str, value: Any) -> Entry:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        try:
            nbytes = int(getattr(value, "nbytes"))
        except (TypeError, ValueError, AttributeError):
            nbytes = None
        return Entry(
            "memory", path, name, EntryKind.ARRAY,
            size=nbytes, shape=tuple(int(s) for s in shape), dtype=str(dtype),
            detail=type(value).__name__,
        )
    if isinstance(value, (bytes, bytearray)):
        return Entry("memory", path, name, kind_for_file_name(name), size=len(value), detail="bytes")
    if isinstance(value, str):
        return Entry("memory", path, name, EntryKind.TEXT_FILE, size=len(value.encode()), detail="text")
    return Entry("memory", path, name, EntryKind.OBJECT, detail=type(value).__name__)


def list_memory(path: str, batch_size: int) -> Iterator[list[Entry]]:
    backend = memory_backend()
    try:
        names = sorted(n for n in backend.list_dir(path) if n)
    except FileNotFoundError as exc:
        raise ListingError(f"No longer exists: memory:{path}") from exc
    except NotADirectoryError as exc:
        raise ListingError(f"Not a folder: memory:{path}") from exc
    except OSError as exc:  # any other refusal (permission, I/O), in words, never raw
        raise ListingError(os_error_text(exc, f"memory:{path}")) from exc
    prefix = path.rstrip("/") + "/"
    batch: list[Entry] = []
    for name in names:
        batch.append(memory_entry(backend, prefix + name))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def memory_info(path: str, listed: bool = False) -> Info:
    """The facts of a memory key (``listed``: see ``arrays.inspect``)."""
    from ..arrays import TEXT_PREVIEW_BYTES, Info, _missing

    backend = memory_backend()
    try:
        value = backend.load(path)
    except IsADirectoryError:
        try:
            names = [n for n in backend.list_dir(path) if n]
        except (FileNotFoundError, NotADirectoryError):
            names = []
        return Info("memory", path, "directory", members={"entries": len(names)})
    except FileNotFoundError:
        return Info("memory", path, "file", error=f"{_missing(listed)}: memory:{path}")
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return Info("memory", path, "array", shape=tuple(int(s) for s in shape), dtype=str(dtype),
                    nbytes=int(getattr(value, "nbytes", 0)) or None, format=type(value).__name__)
    if isinstance(value, str):
        return Info("memory", path, "file", format="text", preview=value[:TEXT_PREVIEW_BYTES],
                    truncated=len(value) > TEXT_PREVIEW_BYTES, size=len(value))
    return Info("memory", path, "file", format=type(value).__name__, preview=repr(value)[:2000])


def memory_preview(info: Info, path: str, size_limit: int, confirmed: bool) -> Preview:
    """What to show for a memory key whose facts are ``info``."""
    import numpy as np

    from ..lazy import NeedsConfirmation, Preview, _array_preview, _lazily_sliceable

    if info.kind != "array":
        return Preview("memory", path, info, notes=(info.error,) if info.error else ())
    data = memory_backend().load(path)
    if not isinstance(data, np.ndarray) and not _lazily_sliceable(data):
        # No lazy path (an opaque array-like): showing it means converting it whole.
        nbytes = int(getattr(data, "nbytes", 0) or info.nbytes or 0)
        if nbytes > size_limit and not confirmed:
            raise NeedsConfirmation(nbytes, size_limit, f"converting this {type(data).__name__}")
        data = np.asarray(data)
    return _array_preview(info, data, "held by polystore's memory backend")


class MemoryAdapter(AdapterBase):
    """polystore's in-process memory (see the module docstring)."""

    name = "memory"
    capabilities = Capabilities(readable=True, writable=True, listable=True, volatile=True, renamable=True)

    def entry(self, backend: str, path: str) -> Entry:
        if path == "/":
            memory_backend()
            return Entry("memory", "/", "/", EntryKind.ROOT)
        return memory_entry(memory_backend(), path, listed=False)

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        yield from list_memory(entry.path, batch_size)

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        return memory_info(path, listed)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False) -> Preview:
        return memory_preview(memory_info(path, listed), path, size_limit, confirmed)

    def exists(self, backend: str, path: str) -> bool:
        return bool(memory_backend().exists(path))

    def is_folder(self, backend: str, path: str) -> bool:
        try:  # polystore's own answer (its key normalisation included); it raises for files
            return bool(memory_backend().is_dir(path))
        except (FileNotFoundError, NotADirectoryError):
            return False

    def delete(self, backend: str, path: str) -> None:
        memory = memory_backend()
        if not memory.exists(path):
            raise FileNotFoundError(errno.ENOENT, "Nothing in memory there", f"memory:{path}")
        if self.is_folder(backend, path):  # polystore's is_dir raises for a file
            memory.delete_all(path)
        else:
            memory.delete(path)


MEMORY = MemoryAdapter()
register_adapter(MEMORY, keys=("memory",))
