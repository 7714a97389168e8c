"""The adapter contract: what the browser asks of each kind of storage, and who answers.

polystore's registry (``polystore.backend_registry.STORAGE_BACKENDS``) stays the only list
of the backends that exist. An *adapter* says how the browser handles one kind of them:
how it lists, describes, inspects, previews, tests and deletes, and a frozen
:class:`Capabilities` record of what it can do. The tree, the folder list, the CLI, the
transfer engine and the model's entry points ask :func:`adapter_for` instead of testing
``backend == "zarr"``.

Adapters register themselves (:func:`register_adapter`) by backend key, by URL scheme, or
both. A key no adapter claims gets one built from polystore's registry class: a sink
(:mod:`.sinks`), a backend that needs context (:mod:`.context`, when its constructor needs
arguments), or a generic read-only lister over the backend's own ``list_dir``
(:mod:`.generic`) -- never a hand-kept list of keys.

The tables and :func:`register_adapter` live here; :func:`adapter_for` and the adapters
made from the registry live in :mod:`.registry`, which no adapter module imports back
(the package has no import cycle: import-linter's contract in pyproject.toml).

Importing this module is cheap (no zarr, numpy or polystore): the built-in adapters are
imported on the first :func:`adapter_for`, and they import polystore only when used.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..arrays import Info
    from ..entries import Entry
    from ..lazy import Preview

DEFAULT_BATCH = 2048


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the browser can do with one kind of storage (a fact, never changed).

    ``readable``: its contents can be opened; ``writable``: the browser copies into it
    (the transfer engine knows how); ``listable``: it has a hierarchy to browse;
    ``sink``: it only receives data (a streaming viewer); ``needs_context``: polystore
    cannot build it without arguments (a plate root, a connection); ``local``: its paths
    are this machine's file paths; ``volatile``: its contents end with this process;
    ``holds_links``: it can hold a symbolic link; ``renamable``: Rename works in it;
    ``chunk_inspectable``: its zarr arrays can be scanned chunk by chunk; ``remote``: it
    is reached over a network.
    """

    readable: bool = False
    writable: bool = False
    listable: bool = False
    sink: bool = False
    needs_context: bool = False
    local: bool = False
    volatile: bool = False
    holds_links: bool = False
    renamable: bool = False
    chunk_inspectable: bool = False
    remote: bool = False


@runtime_checkable
class Adapter(Protocol):
    """How the browser handles one kind of storage (see the module docstring)."""

    name: str
    capabilities: Capabilities

    def entry(self, backend: str, path: str) -> Entry:
        """The entry for one address (a root, a typed address); never raises."""
        ...

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        """The children of ``entry`` in batches; raises ``ListingError`` (for the user)."""
        ...

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        """The entries whose details (size, time, shape) could be learnt, with them."""
        ...

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        """The metadata facts of one address; never raises for bad data."""
        ...

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool) -> Preview:
        """What to show for one address; raises ``PreviewError`` / ``NeedsConfirmation``."""
        ...

    def exists(self, backend: str, path: str) -> bool:
        ...

    def is_folder(self, backend: str, path: str) -> bool:
        ...

    def delete(self, backend: str, path: str) -> None:
        """Remove one address for good (the trash and the transfer engine call this)."""
        ...


_lock = threading.RLock()
_by_key: dict[str, Adapter] = {}
_by_scheme: dict[str, Adapter] = {}
_built: dict[str, Adapter] = {}  # adapters made from a registry class, by key (see .registry)


def register_adapter(adapter: Adapter, *, keys: tuple[str, ...] = (), schemes: tuple[str, ...] = ()) -> None:
    """Make ``adapter`` serve the backend ``keys`` and the URL ``schemes`` (``s3``, ``https``).

    A later registration for the same key or scheme replaces the earlier one.
    """
    with _lock:
        for key in keys:
            _by_key[key] = adapter
            _built.pop(key, None)
        for scheme in schemes:
            _by_scheme[scheme.lower()] = adapter


def url_scheme(path: str) -> str | None:
    """The scheme of a URL path (``s3`` of ``s3://bucket/key``), lower-cased; None for a path."""
    head, sep, _ = path.partition("://")
    if sep and head and head.replace("+", "").replace("-", "").replace(".", "").isalnum() and "/" not in head:
        return head.lower()
    return None
