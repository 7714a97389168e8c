"""What every adapter shares: the listing error, OS error wording, the GC pause, a base class.

:class:`AdapterBase` answers every :class:`~.base.Adapter` method with what a backend
that cannot do it says (listing refused with the reason, no details, a bare ``info``), so
that an adapter writes only what its kind of storage does. Subclassing it is optional: the
protocol is what counts.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..entries import Entry, EntryKind, display_name
from .base import DEFAULT_BATCH, Capabilities

if TYPE_CHECKING:
    from ..arrays import Info
    from ..lazy import Preview

class ListingError(Exception):
    """A listing failed as a whole; the message is meant for the user."""


def os_error_text(exc: OSError, path: str) -> str:
    """An OS error about ``path`` in words for the user ("Permission denied: /x")."""
    shown = display_name(path)
    if isinstance(exc, PermissionError):
        return f"Permission denied: {shown}"
    if isinstance(exc, FileNotFoundError):
        return f"No longer exists: {shown}"
    if isinstance(exc, NotADirectoryError):
        return f"Not a folder: {shown}"
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
    return f"{reason}: {shown}"


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextlib.contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic garbage collection while listing a large folder (any thread may nest this).

    A listing makes an object per entry: a million of them made the collector traverse a
    growing heap again and again (listing 1,000,000 files took 3-7 s instead of 1.5 s, and
    each full collection froze the GUI thread for 0.1-0.5 s). ``freeze``: move what exists
    out of the collector's sight when the pause ends, so that the first collection after it
    does not traverse the new objects either (they are freed by reference counting as usual).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if freeze:
                gc.freeze()
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def batched(entries: Sequence[Entry] | list[Entry], batch_size: int) -> Iterator[list[Entry]]:
    """``entries`` as lists of at most ``batch_size``."""
    for start in range(0, len(entries), batch_size):
        yield list(entries[start:start + batch_size])


def polystore_backend(key: str) -> Any:
    """polystore's cached instance of the backend ``key`` (raises as polystore does)."""
    from polystore.backend_registry import get_backend_instance

    return get_backend_instance(key)


class AdapterBase:
    """Defaults for an adapter: what a backend that cannot do a thing answers.

    Subclasses set ``name`` and ``capabilities`` and override what their storage does.
    ``why_not_listed`` is the sentence a refused listing shows.
    """

    name: str = "backend"
    capabilities: Capabilities = Capabilities()

    def why_not_listed(self, backend: str) -> str:
        return f"{backend} holds nothing the browser can list"

    def entry(self, backend: str, path: str) -> Entry:
        name = os.path.basename(path.rstrip("/")) or path or backend
        return Entry(backend, path, display_name(name), EntryKind.DIRECTORY)

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        raise ListingError(self.why_not_listed(entry.backend))
        yield []  # pragma: no cover  (a generator, like every listing)

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        return iter(())

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        from ..arrays import Info

        if self.capabilities.listable:
            return Info(backend, path, "directory")
        return Info(backend, path, "directory", error=self.why_not_listed(backend))

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False) -> Preview:
        from ..lazy import Preview

        info = self.info(backend, path, listed=listed)
        return Preview(backend, path, info, notes=(info.error,) if info.error else ())

    def exists(self, backend: str, path: str) -> bool:
        try:
            return bool(polystore_backend(backend).exists(path))
        except Exception:  # a backend that cannot answer holds nothing we can reach
            return False

    def is_folder(self, backend: str, path: str) -> bool:
        try:
            return bool(polystore_backend(backend).is_dir(path))
        except Exception:
            return False

    def delete(self, backend: str, path: str) -> None:
        raise OSError(errno.EROFS, f"{backend} cannot delete: {self.name} is read-only here", path)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class HoldsNothingAdapter(AdapterBase):
    """A backend whose addresses hold nothing here (a sink, one that needs context, an
    unknown key): made per registry key, named ``key`` and ``suffix``, and no path exists
    or is a folder in it (polystore is not asked). Subclasses say ``why_not_listed``."""

    suffix = "(holds nothing)"

    def __init__(self, key: str) -> None:
        self.key = key
        self.name = f"{key} {self.suffix}"

    def exists(self, backend: str, path: str) -> bool:
        return False

    def is_folder(self, backend: str, path: str) -> bool:
        return False


def sorted_batches(batches: Iterator[list[Entry]], field: str, descending: bool) -> Iterator[tuple[str, Any]]:
    """``("rows", first batch)`` as soon as it is read, then ``("all", every entry sorted)``:
    the whole-listing shape of ``listing.sorted_listing`` for any adapter's batches."""
    from ..entries import sort_entries

    listed: list[Entry] = []
    for i, batch in enumerate(batches):
        listed.extend(batch)
        if i == 0:
            yield ("rows", batch)
    yield ("all", sort_entries(listed, field, descending))
