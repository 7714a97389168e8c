"""A remote store's row learns what it is: the backend tree adds a store opened by its URL
at once, as "zarr store (remote)" (no request on the GUI thread); a worker then reads its
metadata and the row says what it is — an OME-Zarr image, a plate, an array, a group — with
the icon that goes with it, as a local store's row does from the start.
"""

from __future__ import annotations

from ..model.entries import Entry, EntryKind
from ..model.remote_address import is_remote_path
from .tree_nodes import COLUMNS, Node


def _remote_entry(backend: str, path: str) -> Entry:
    """Worker body: the entry of the remote address ``path`` from its metadata (one read,
    cached for the listing and the preview that follow)."""
    from ..model.backends.remote import ADAPTER

    return ADAPTER.entry(backend, path)


class TreeRemoteRoots:
    """Part of :class:`~polystore_gui.qt.tree_model.BackendTreeModel` (a mixin)."""

    def read_remote_root_again(self, node: Node) -> None:
        """Refresh on a remote store's row: its metadata read again (a store that could not
        be reached may answer now); the mark of a failure stays until the answer."""
        if node.parent is not None and node.parent.backend is not None:
            self._learnt_when_remote(node)

    def _learnt_when_remote(self, node: Node) -> Node:
        """``node`` (a place's row, just made); when it is a remote store's, its entry is
        read by a worker and put on the row when it comes."""
        if is_remote_path(node.entry.path):
            self._workers.start(  # type: ignore[attr-defined]
                _remote_entry, node.entry.backend, node.entry.path,
                on_return=lambda entry, node=node: self._on_remote_entry(node, entry),
                on_error=lambda exc, node=node: self._on_remote_entry(node, node.entry.with_details(error=str(exc))),
            )
        return node

    def _on_remote_entry(self, node: Node, learnt: Entry) -> None:
        """The row says what the store is; a store that could not be read (not reached, not
        there) keeps its kind and is marked failed with the reason (red, in its kind and
        tooltip): Refresh reads it again (the network may be back), Remove from Tree drops it."""
        if not node.alive:
            return  # removed from the tree meanwhile
        if learnt.kind is EntryKind.ERROR or learnt.error is not None:
            node.entry = node.entry.with_details(error=learnt.error or "could not be read")
        else:
            node.entry = learnt.with_details(backend=node.entry.backend, path=node.entry.path, name=node.entry.name)
        self.remoteRootRead.emit((node.entry.backend, node.entry.path), node.entry)  # type: ignore[attr-defined]
        first = self.index_for(node)  # type: ignore[attr-defined]
        self.dataChanged.emit(first, first.siblingAtColumn(len(COLUMNS) - 1))  # type: ignore[attr-defined]
