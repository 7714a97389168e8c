"""Write-only sinks (polystore's streaming viewers: ``napari_stream``, ``fiji_stream`` ...).

Which backends are sinks is the registry's word (their class is a ``DataSink`` and no
``DataSource``): :func:`~.base.adapter_for` makes a :class:`SinkAdapter` for each. A sink
holds nothing to browse: its listing says so, and the browser sends arrays to it instead.
"""

from __future__ import annotations

from .base import Capabilities
from .common import HoldsNothingAdapter

SINK = Capabilities(sink=True)


class SinkAdapter(HoldsNothingAdapter):
    """A streaming sink: receives arrays, holds nothing to list, open or delete."""

    capabilities = SINK

    suffix = "sink"

    def why_not_listed(self, backend: str) -> str:
        return f"{backend} is a write-only sink (a streaming viewer): it holds nothing to list; send arrays to it"
