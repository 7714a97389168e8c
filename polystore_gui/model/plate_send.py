"""What Send Wells to Viewer sends of a TIFF plate's field: the whole site, as the plate view
shows it.

A TIFF plate's field (a site) is several files: one a channel, z plane and time point. Its
address is its first file, so sending the address sent that file only. A
:class:`SiteAddress` carries the site's files too; the sending reads the site as
:func:`.plate_tiff.site_preview` stacks it (time and z as leading axes) and sends one array
a channel, each named as the plate view names its channel layers ("B02 s1 c2").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .address import Address


@dataclass(frozen=True, slots=True)
class SiteAddress(Address):
    """A TIFF plate site: ``path`` its first file (its address), ``files`` every file of it."""

    files: tuple[str, ...]

    def stream_items(self, *, limit: int | None = None) -> list[Any]:
        """The site's arrays to send (``streaming.StreamItem``), one a channel; Refused when
        one would not fit in memory, StreamError when the site cannot be read."""
        return site_items(self.backend, self.path, self.files, limit=limit)


def site_items(backend: str, path: str, files: tuple[str, ...], *, limit: int | None = None) -> list[Any]:
    """See :meth:`SiteAddress.stream_items`. A site whose files are RGB or multi-page (not
    stacked by the plate view either) sends its first file, as the plate view shows it."""
    import numpy as np

    from . import streaming
    from .entries import human_size
    from .viewer_control import StreamError
    from .plate_tiff import site_preview

    if len(files) <= 1:
        return [streaming.prepare(backend, path, limit=limit)]
    try:
        preview = site_preview(backend, path, files=files)
    except (OSError, ValueError) as exc:
        raise StreamError(f"{backend}:{path}: this site cannot be read ({exc})") from exc
    try:
        if not (preview.info.format or "").startswith("TIFF plate field"):
            return [streaming.prepare(backend, path, limit=limit)]
        (layer,) = preview.layers
        data = layer.data
        limit = streaming.memory_limit() if limit is None else limit
        nbytes = int(np.prod(data.shape, dtype=np.int64)) * np.dtype(data.dtype).itemsize
        if nbytes > limit:
            raise streaming.Refused(
                f"{backend}:{path}: this site's {len(files)} files ({human_size(nbytes)}) would not fit: "
                f"streaming copies them through shared memory (at most {human_size(limit)})")
        if layer.channel_axis is None:
            return [streaming.StreamItem(layer.name, np.asarray(data), f"{backend}:{path}")]
        names = layer.channel_names or [f"{layer.name} c{i + 1}" for i in range(data.shape[0])]
        return [streaming.StreamItem(name, np.asarray(data[i]), f"{backend}:{path}") for i, name in enumerate(names)]
    finally:
        preview.close()
