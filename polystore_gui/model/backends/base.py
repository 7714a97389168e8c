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

Importing this module is cheap (no zarr, numpy or polystore): the built-in adapters are
imported on the first :func:`adapter_for`, and they import polystore only when used.
"""

from __future__ import annotations

import importlib
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
_built: dict[str, Adapter] = {}  # adapters made from a registry class, by key
_builtins_loaded = False

# The modules of the built-in adapters: each registers its adapters when imported.
_BUILTIN_MODULES = ("disk", "memory", "zarr_store", "context", "remote", "plate")


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


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _lock:
        if _builtins_loaded:
            return
        for module in _BUILTIN_MODULES:
            importlib.import_module(f"{__package__}.{module}")
        _builtins_loaded = True


def url_scheme(path: str) -> str | None:
    """The scheme of a URL path (``s3`` of ``s3://bucket/key``), lower-cased; None for a path."""
    head, sep, _ = path.partition("://")
    if sep and head and head.replace("+", "").replace("-", "").replace(".", "").isalnum() and "/" not in head:
        return head.lower()
    return None


def adapter_for(backend: str, path: str = "") -> Adapter:
    """The adapter serving ``backend`` (and, for a URL path, the adapter of its scheme).

    Never raises: a key that no adapter claims gets one made from polystore's registry
    class, and a key polystore does not know gets an adapter that says so.
    """
    _load_builtins()
    if path:
        scheme = url_scheme(path)
        if scheme is not None:
            found = _by_scheme.get(scheme)
            if found is not None:
                return found
    found = _by_key.get(backend)
    if found is not None:
        return found
    with _lock:
        made = _built.get(backend)
        if made is None:
            made = _from_registry(backend)
            _built[backend] = made
        return made


def claimed_adapter(backend: str) -> Adapter | None:
    """The adapter registered for the key ``backend``, or None: a quick answer that never
    asks polystore's registry (which imports every backend module on first use)."""
    _load_builtins()
    return _by_key.get(backend)


def registered_schemes() -> tuple[str, ...]:
    """The URL schemes some adapter claims."""
    _load_builtins()
    return tuple(sorted(_by_scheme))


def _from_registry(key: str) -> Adapter:
    """An adapter for a key no adapter claims, from the class polystore registered for it."""
    from .context import ContextAdapter
    from .generic import GenericAdapter, UnknownAdapter
    from .sinks import SinkAdapter

    try:
        from polystore.backend_registry import STORAGE_BACKENDS

        cls = STORAGE_BACKENDS.get(key) if key in STORAGE_BACKENDS else None
    except Exception:  # polystore could not even be imported: nothing is known
        cls = None
    if cls is None:
        return UnknownAdapter(key)
    from ..catalogue import Capability, _required_parameters, class_capability

    if _required_parameters(cls):
        return ContextAdapter(key)
    capability = class_capability(cls)
    if capability is Capability.SINK:
        return SinkAdapter(key)
    return GenericAdapter(key, writable_class=capability is Capability.READ_WRITE)
