"""A registry backend no adapter claims: browsed through its own ``list_dir`` / ``is_dir``.

:func:`~.base.adapter_for` makes a :class:`GenericAdapter` for a readable registry class
with no adapter of its own, and an :class:`UnknownAdapter` for a key polystore does not
know (so a caller never meets a KeyError). Neither writes: the transfer engine knows how
to write only into the adapters that say ``writable``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..entries import Entry, EntryKind, kind_for_file_name
from .base import DEFAULT_BATCH, Capabilities
from .common import AdapterBase, HoldsNothingAdapter, ListingError, polystore_backend


class GenericAdapter(AdapterBase):
    """Any readable polystore backend, listed through the backend's own methods."""

    def __init__(self, key: str, *, writable_class: bool = False) -> None:
        self.key = key
        self.name = f"{key} (generic)"
        self.capabilities = Capabilities(readable=True, listable=True)
        self.writable_class = writable_class  # polystore can write it; the browser does not

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        try:
            backend = polystore_backend(entry.backend)
            names = sorted(backend.list_dir(entry.path))
        except Exception as exc:  # a backend's own failure is shown, never raised through
            raise ListingError(f"{entry.backend} cannot list {entry.path}: {exc}") from exc
        prefix = entry.path.rstrip("/") + "/"
        batch: list[Entry] = []
        for name in names:
            child = prefix + name
            try:
                is_dir = bool(backend.is_dir(child))
            except Exception:
                is_dir = False
            kind = EntryKind.DIRECTORY if is_dir else kind_for_file_name(name)
            batch.append(Entry(entry.backend, child, name, kind))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


class UnknownAdapter(HoldsNothingAdapter):
    """A key polystore's registry does not hold: everything about it says so."""

    capabilities = Capabilities()

    suffix = "(unknown)"

    def why_not_listed(self, backend: str) -> str:
        return f"polystore has no backend named {backend!r}"
