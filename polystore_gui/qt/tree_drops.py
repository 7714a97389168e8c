"""Drag and drop in the backend tree: what a drag carries, and where a drop may land.

A drop is not carried out here: the model says which entries landed where
(``entriesDropped``) and the window plans and runs the transfer.
"""

from __future__ import annotations

import logging
import os

from qtpy.QtCore import QMimeData, QModelIndex, Qt, QUrl

from ..model.address import ENTRIES_MIME, Address, decode_entries, encode_entries
from ..model.backends import Capabilities, adapter_for
from ..model.catalogue import Capability, Status
from ..model.entries import EntryKind

log = logging.getLogger(__name__)


def _capabilities(backend: str, path: str = "") -> Capabilities:
    """What the adapter serving this address says it can do (a URL path asks its scheme's)."""
    return adapter_for(backend, path).capabilities


def _writable(address: Address) -> Address | None:
    """``address`` when its adapter takes copies, else None (a remote store is read-only)."""
    return address if _capabilities(address.backend, address.path).writable else None


class TreeDragDrop:
    """Part of :class:`~polystore_gui.qt.tree_model.BackendTreeModel` (a mixin): the Qt
    drag-and-drop interface and ``drop_target``."""

    # -- drag and drop ---------------------------------------------------------------------
    # Entries drag out as application/x-polystore-entries (and local ones as file URLs).
    # Drops land on the streaming sinks, and on folders, zarr stores and groups, and roots
    # of the backends whose adapter is writable (disk, memory, zarr: never a read-only or
    # remote store); files from the desktop arrive as disk.

    def drop_target(self, index: QModelIndex) -> Address | None:
        """Where a drop on ``index`` goes: a sink, or a writable folder/group; None when nowhere."""
        if not index.isValid():
            return None
        node = self.node(index)
        if node.placeholder or node.error_row or node.more:
            return None
        info = node.backend
        if info is not None:
            if info.status is not Status.READY:
                return None
            if info.capability is Capability.SINK:
                return Address(info.key, "")
            # A writable backend whose paths are not this machine's (memory) is one root to
            # drop into; disk and zarr take drops on their folders and stores instead.
            capabilities = _capabilities(info.key)
            return Address(info.key, "/") if capabilities.writable and not capabilities.local else None
        entry = node.entry
        if entry.error is not None:
            return None
        capabilities = _capabilities(entry.backend, entry.path)
        if entry.kind in (EntryKind.ZARR_STORE, EntryKind.PLATE, EntryKind.GROUP):
            return _writable(Address("zarr", entry.path))
        if entry.kind in (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY) and capabilities.writable and capabilities.local:
            # An array takes no members: the window lands the drop in the folder that holds
            # it and says so (transfers.landing); `cp` into an array is refused instead.
            return _writable(Address("zarr", entry.path))
        if entry.kind in (EntryKind.ROOT, EntryKind.DIRECTORY) and capabilities.writable:
            return Address(entry.backend, entry.path)
        return None

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt override)
        return [ENTRIES_MIME, "text/uri-list"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 (Qt override)
        addresses = []
        for index in indexes:
            node = self.node(index)
            if index.isValid() and node.row_kind == "entry" and node.entry.error is None:
                addresses.append(Address(node.entry.backend, node.entry.path))
        return entries_mime(addresses)

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802 (Qt override)
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: QModelIndex) -> bool:  # noqa: N802
        target = self.drop_target(parent)
        if target is None:
            return False
        if data.hasFormat(ENTRIES_MIME):
            return True
        # Files from the desktop: not onto the viewers (they take arrays from the tree).
        return (data.hasUrls() and _capabilities(target.backend, target.path).writable
                and any(u.isLocalFile() for u in data.urls()))

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: QModelIndex) -> bool:  # noqa: N802
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        if data.hasFormat(ENTRIES_MIME):
            try:
                addresses = decode_entries(bytes(data.data(ENTRIES_MIME)))
            except ValueError as exc:
                log.warning("ignored a drop: %s", exc)
                return False
        else:
            addresses = [Address("disk", u.toLocalFile()) for u in data.urls() if u.isLocalFile()]
        if not addresses:
            return False
        target = self.drop_target(parent)
        assert target is not None
        self.entriesDropped.emit(target.backend, target.path, addresses, action)
        # Accepted; the transfer decides what happens to the sources (a move deletes them only
        # once verified, then the folders are listed again), never the view's removeRows.
        return True


def entries_mime(addresses: list[Address]) -> QMimeData:
    """What dragging these entries carries: application/x-polystore-entries, and file URLs
    for those that are files or folders on this machine (the desktop takes them)."""
    mime = QMimeData()
    mime.setData(ENTRIES_MIME, encode_entries(addresses))
    local = [a.path for a in dict.fromkeys(addresses)
             if _capabilities(a.backend, a.path).local and os.path.lexists(a.path)]
    urls = [QUrl.fromLocalFile(path) for path in local]
    if urls:
        mime.setUrls(urls)
    return mime

