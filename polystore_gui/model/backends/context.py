"""Backends polystore builds only with context: ``virtual_workspace`` (a plate root),
``omero_local`` (an OMERO connection), ``bioformats`` (Bio-Formats plane references).

polystore's own ``create_storage_registry()`` leaves exactly these out; any other registry
class whose constructor needs arguments gets a :class:`ContextAdapter` too (made by
:func:`~.base.adapter_for` from the class). The browser has no such context to give, so
their listing says what they need (the catalogue's words) rather than failing obscurely.
"""

from __future__ import annotations

from .base import Capabilities, register_adapter
from .common import HoldsNothingAdapter

NEEDS_CONTEXT = Capabilities(needs_context=True)


class ContextAdapter(HoldsNothingAdapter):
    """A backend that needs context the browser cannot give: listed as what it needs."""

    capabilities = NEEDS_CONTEXT

    suffix = "(needs context)"

    def why_not_listed(self, backend: str) -> str:
        from ..catalogue import _CONTEXT_NEEDS

        need = _CONTEXT_NEEDS.get(backend, ("needs context", ""))[0]
        return f"{backend} {need}: polystore builds it only with that context, so it cannot be browsed here"


def _register() -> None:
    from ..catalogue import _CONTEXT_NEEDS  # the catalogue's words for what each one needs

    for key in _CONTEXT_NEEDS:
        register_adapter(ContextAdapter(key), keys=(key,))


_register()
