"""polystore's virtual files: the planes of an array written by polystore's ``save_batch``
(an OpenHCS plate), listed under the names polystore knows them by (``A01_c1_z2.tif``)
and addressed ``zarr:<store>/<name>`` exactly as polystore's ``load`` takes them.

Their metadata and preview are read by ``arrays.virtual_file_info`` and the preview code
(found by ``zarr_nodes.find_virtual_file``); this module lists them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..entries import Entry, EntryKind
from ..zarr_nodes import ZarrNodeMeta


def list_virtual_files(entry: Entry, meta: ZarrNodeMeta, batch_size: int) -> Iterator[list[Entry]]:
    """polystore's virtual files of one array, addressed as polystore addresses them."""
    from ..zarr_nodes import store_root

    mapping = meta.filename_map or {}
    root = store_root(entry.path) or os.path.dirname(entry.path)
    backend = entry.backend if entry.backend in ("zarr", "ome_zarr") else "zarr"
    plane = meta.shape[-2:] if meta.shape is not None and len(meta.shape) >= 2 else None
    itemsize = None
    if meta.dtype is not None and plane is not None:
        import numpy as np

        itemsize = int(np.dtype(meta.dtype).itemsize)
    batch: list[Entry] = []
    for name, coords in sorted(mapping.items()):
        batch.append(
            Entry(
                backend,
                os.path.join(root, name),
                name,
                EntryKind.VIRTUAL_FILE,
                size=plane[0] * plane[1] * itemsize if plane and itemsize else None,
                modified=meta.metadata_mtime,
                shape=plane,
                dtype=meta.dtype,
                detail=f"plane {list(coords)} of {os.path.relpath(entry.path, root)}",
            )
        )
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
