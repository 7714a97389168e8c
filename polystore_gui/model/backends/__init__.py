"""One adapter per kind of storage: how the browser lists, describes, previews and deletes.

``adapter_for(backend, path)`` answers which adapter serves an address; each adapter
carries a frozen :class:`Capabilities`. See :mod:`.base` for the contract and the README's
"Adding a backend" for how a new kind of storage joins (one module, ``register_adapter``,
the conformance suite in ``tests/model/backends/``).

Importing this package is cheap: no zarr, numpy or polystore import happens until an
adapter is asked for.
"""

from __future__ import annotations

from .base import DEFAULT_BATCH, Adapter, Capabilities, register_adapter, url_scheme
from .registry import adapter_for, claimed_adapter, registered_schemes

__all__ = ["DEFAULT_BATCH", "Adapter", "Capabilities", "adapter_for", "claimed_adapter", "register_adapter",
           "registered_schemes",
           "url_scheme"]
