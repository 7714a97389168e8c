"""zarr stores (the ``zarr`` and ``ome_zarr`` keys, and stores met while browsing disk).

A group's children are its members, read from their node metadata (``zarr_nodes``), or
from the group's consolidated metadata when that is fresh; an array is a leaf (chunk keys
are never children), except an array written by polystore's ``save_batch``, whose children
are polystore's virtual files (:mod:`.virtual`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..entries import Entry, EntryKind, display_name
from ..zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node
from .base import DEFAULT_BATCH, Capabilities, register_adapter
from .common import ListingError, os_error_text
from .local import LocalAdapter
from .local_entries import zarr_entry  # noqa: F401  (importable from here)
from .virtual import list_virtual_files

if TYPE_CHECKING:
    from ..arrays import Info
    from ..folder_node import FolderNode


def read_node_for_listing(path: str) -> ZarrNodeMeta | None:
    """A folder's zarr metadata (None: not a zarr node); raises ListingError saying why not."""
    try:
        return read_node(path)
    except CorruptMetadataError as exc:
        raise ListingError(str(exc)) from exc
    except OSError as exc:
        raise ListingError(os_error_text(exc, path)) from exc


def store_backend(root: str) -> str:
    """The key the tree shows the local store at ``root`` under: ``ome_zarr`` when its root
    is an OME-NGFF image, else ``zarr`` (unreadable metadata too: the store is still shown)."""
    try:
        meta = read_node(root)
    except (CorruptMetadataError, OSError):
        return "zarr"
    return "ome_zarr" if meta is not None and meta.is_ome else "zarr"


def _zarr_backend_for(entry: Entry, meta: ZarrNodeMeta | None) -> str:
    if entry.backend in ("zarr", "ome_zarr"):
        return entry.backend
    if entry.kind is EntryKind.OME_ZARR or (meta is not None and meta.is_ome_container):
        return "ome_zarr"
    return "zarr"


def list_group(
    entry: Entry, batch_size: int, meta: ZarrNodeMeta | None = None
) -> Iterator[list[Entry]]:
    if meta is None:
        meta = read_node_for_listing(entry.path)
        if meta is None:
            if not os.path.lexists(entry.path):  # listed a moment ago: it went away since
                raise ListingError(f"No longer exists: {display_name(entry.path)}")
            raise ListingError(f"Not a zarr group (no zarr.json or .zgroup): {display_name(entry.path)}")
    if meta.node_type == "array":
        # An array is a leaf: chunk keys are never children. The one exception is an
        # array written by polystore's save_batch: its children are polystore's "files".
        if meta.filename_map:
            yield from list_virtual_files(entry, meta, batch_size)
        return
    backend = _zarr_backend_for(entry, meta)
    quick = _consolidated_members(entry.path, backend)
    if quick is not None:
        for start in range(0, len(quick), batch_size):
            yield quick[start:start + batch_size]
        return
    try:
        iterator = os.scandir(entry.path)
    except OSError as exc:
        raise ListingError(os_error_text(exc, entry.path)) from exc
    batch: list[Entry] = []
    with iterator:
        for item in iterator:
            try:
                if not item.is_dir():
                    continue
            except OSError:
                continue
            name = display_name(item.name)
            try:
                child = read_node(item.path)
            except CorruptMetadataError as exc:
                batch.append(Entry(backend, item.path, name, EntryKind.ERROR, error=str(exc)))
                continue
            except OSError as exc:
                batch.append(
                    Entry(backend, item.path, name, EntryKind.ERROR, error=os_error_text(exc, item.path))
                )
                continue
            if child is None:
                continue  # not a member (stray folder inside a group)
            batch.append(zarr_entry(child, backend, name))
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def _consolidated_members(path: str, backend: str) -> list[Entry] | None:
    """A group's members from its consolidated metadata (one document instead of a metadata
    read per member), when there is a document and it is fresh: the folders under the group
    are exactly the members it names (see ``zarr_consolidated``). None: read each member."""
    from .. import zarr_consolidated

    def folders() -> Iterator[str]:  # listed only when there is a document to compare with
        with os.scandir(path) as it:
            yield from (item.name for item in it if item.is_dir())

    try:  # one walk up the hierarchy (fresh_members finds the document itself)
        members = zarr_consolidated.fresh_members(path, folders())
    except OSError:
        return None
    if members is None:
        return None
    return [zarr_entry(meta, backend, display_name(name)) for name, meta in sorted(members.items())]


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

    def info(self, backend: str, path: str, *, listed: bool = False, for_preview: bool = False,
             node: FolderNode | None = None) -> Info:
        """A path in a store; one that is no file may be a polystore virtual file."""
        if not os.path.lexists(path):
            from ..arrays import virtual_file_info
            from ..zarr_nodes import find_virtual_file

            virtual = find_virtual_file(path)
            if virtual is not None:
                return virtual_file_info(backend, virtual)
        return super().info(backend, path, listed=listed, for_preview=for_preview, node=node)


# zarr: polystore's read-write zarr backend. ome_zarr: polystore's read-only OME-Zarr source
# (the transfer engine writes into zarr only; Rename would break an image's multiscales).
ZARR = ZarrStoreAdapter("zarr", Capabilities(readable=True, writable=True, listable=True, local=True,
                                              renamable=True, chunk_inspectable=True))
OME_ZARR = ZarrStoreAdapter("ome_zarr", Capabilities(readable=True, listable=True, local=True,
                                                      chunk_inspectable=True))
register_adapter(ZARR, keys=("zarr",))
register_adapter(OME_ZARR, keys=("ome_zarr",))
