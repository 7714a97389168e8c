"""The ``memory`` backend: polystore's in-process memory store, rooted at ``/``.

What it holds ends with this process (a fresh CLI process holds nothing); it holds no
symbolic links. Everything goes through polystore's memory backend instance.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..entries import Entry, EntryKind
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .common import AdapterBase

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


class MemoryAdapter(AdapterBase):
    name = "memory"
    capabilities = Capabilities(readable=True, writable=True, listable=True, volatile=True, renamable=True)

    def entry(self, backend: str, path: str) -> Entry:
        from ..listing import memory_entry

        if path == "/":
            memory_backend()
            return Entry("memory", "/", "/", EntryKind.ROOT)
        return memory_entry(memory_backend(), path, listed=False)

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        from ..listing import _list_memory

        yield from _list_memory(entry.path, batch_size)

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        from ..arrays import inspect

        return inspect(backend, path, listed=listed)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False) -> Preview:
        from ..lazy import open_preview

        return open_preview(backend, path, size_limit=size_limit, confirmed=confirmed, listed=listed)

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
