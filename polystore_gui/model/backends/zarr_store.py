"""zarr stores (the ``zarr`` and ``ome_zarr`` keys, and stores met while browsing disk).

A group's children are its members (from consolidated metadata when it is fresh); an
array is a leaf, except an array written by polystore's ``save_batch``, whose children are
polystore's virtual files (see :mod:`.virtual`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..entries import Entry
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .disk import LocalAdapter


def list_group(entry: Entry, batch_size: int = DEFAULT_BATCH) -> Iterator[list[Entry]]:
    """A zarr group's members (an array: nothing, or polystore's virtual files)."""
    from ..listing import _list_zarr_group

    yield from _list_zarr_group(entry, batch_size)


class ZarrStoreAdapter(LocalAdapter):
    """A zarr hierarchy on this machine; ``key``: the backend it is shown under."""

    def __init__(self, key: str, capabilities: Capabilities) -> None:
        self.name = "zarr store" if key == "zarr" else "OME-Zarr store"
        self.key = key
        self.capabilities = capabilities

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        yield from list_group(entry, batch_size)

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        return iter(())  # a member's facts come with its listing (its metadata was read)


# zarr: polystore's read-write zarr backend. ome_zarr: polystore's read-only OME-Zarr source
# (the transfer engine writes into zarr only; Rename would break an image's multiscales).
ZARR = ZarrStoreAdapter("zarr", Capabilities(readable=True, writable=True, listable=True, local=True,
                                              renamable=True, chunk_inspectable=True))
OME_ZARR = ZarrStoreAdapter("ome_zarr", Capabilities(readable=True, listable=True, local=True,
                                                      chunk_inspectable=True))
register_adapter(ZARR, keys=("zarr",))
register_adapter(OME_ZARR, keys=("ome_zarr",))
