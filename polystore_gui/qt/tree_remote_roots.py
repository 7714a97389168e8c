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

    def _learnt_when_remote(self, node: Node) -> Node:
        """``node`` (a place's row, just made); when it is a remote store's, its entry is
        read by a worker and put on the row when it comes."""
        if is_remote_path(node.entry.path):
            self._workers.start(  # type: ignore[attr-defined]
                _remote_entry, node.entry.backend, node.entry.path,
                on_return=lambda entry, node=node: self._on_remote_entry(node, entry),
                on_error=lambda _exc: None,  # the row stays as it was: its listing and preview say why
            )
        return node

    def _on_remote_entry(self, node: Node, learnt: Entry) -> None:
        """The row says what the store is; an error keeps the row as it was (expanding or
        previewing it says what went wrong, and may succeed later: the network)."""
        if not node.alive:
            return  # removed from the tree meanwhile
        if learnt.kind is EntryKind.ERROR or learnt.error is not None:
            return
        node.entry = learnt.with_details(backend=node.entry.backend, path=node.entry.path, name=node.entry.name)
        first = self.index_for(node)  # type: ignore[attr-defined]
        self.dataChanged.emit(first, first.siblingAtColumn(len(COLUMNS) - 1))  # type: ignore[attr-defined]
