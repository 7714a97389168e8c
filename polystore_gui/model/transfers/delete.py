"""Deleting for good, and what must follow a member leaving a zarr group: the consolidated
metadata of the groups above it written again (the window's Delete and the trash use both)."""

from __future__ import annotations

import os

from .. import zarr_consolidated
from ..address import Address
from .items import PARTIAL, TransferError, _describe
from .places import _remove, exists, is_local

def delete(address: Address) -> None:
    """Delete an entry for good (the window's Delete, after it asked): a file, or a folder,
    store or array with everything in it. Through polystore's backend for memory."""
    if not exists(address):
        raise TransferError(f"{address} no longer exists")
    _remove(address)
    try:
        refresh_consolidated(address)
    except TransferError as exc:
        raise TransferError(f"{address} was deleted, but {exc}") from exc


def refresh_consolidated(address: Address) -> None:
    """After ``address`` left its folder (Delete, to the trash or for good): the consolidated
    metadata of the zarr groups above it written again, so zarr no longer lists it."""
    if not is_local(address.backend):
        return
    try:
        zarr_consolidated.refresh(os.path.dirname(os.path.abspath(address.path)), leave_out=PARTIAL)
    except Exception as exc:  # deleted all the same; say why zarr still lists it
        raise TransferError("the consolidated metadata that lists it could not be written again: "
                            f"{_describe(exc)}") from exc
