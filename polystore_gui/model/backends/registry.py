"""Who serves an address: :func:`adapter_for` and the adapters made from polystore's registry.

The tables live in :mod:`.base` (``register_adapter`` fills them, and every adapter module
imports it); this module reads them, loads the built-in adapter modules on the first
question and builds an adapter for a key no module claims (a sink, a backend that needs
context, a generic lister). No adapter module imports this one back but the plate adapter,
which asks it for the adapter of a plate's files, so the package has no import cycle.
Importing it is cheap: the built-in adapters are imported on the first :func:`adapter_for`.
"""

from __future__ import annotations

import importlib

from .base import Adapter, _built, _by_key, _by_scheme, _lock, url_scheme

# The modules of the built-in adapters: each registers its adapters when imported.
_BUILTIN_MODULES = ("disk", "memory", "zarr_store", "context", "remote", "plate")
_builtins_loaded = False


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


def load_adapters() -> None:
    """Import the built-in adapter modules now rather than at the first question: called
    by discovery in its worker, so that the tree's first rows (which ask each backend's
    adapter) import nothing on the GUI thread (30 ms at start-up, issue 19)."""
    _load_builtins()


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
