"""The backend tree listed again: ``refresh`` (a folder's rows made anew) and ``update``
(after a transfer, delete or rename: the new listing merged into the rows shown, so that
what is expanded, current and selected stays)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtpy.QtCore import QModelIndex

from ..model.entries import Entry, EntryKind
from .tree_nodes import COLUMNS, PAGE, SIZE, STORE_KINDS, Node, State, opened_places, plain_folders


class TreeUpdates:
    """Part of :class:`~polystore_gui.qt.tree_model.BackendTreeModel` (a mixin): listing
    shown folders again."""

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self, index: QModelIndex) -> None:
        """List ``index`` again (its parent, when it is a leaf); everything when invalid."""
        node = chosen = self.node(index)
        while node is not self._root and not node.expandable and node.parent is not None:
            node = node.parent
        from ..model.remote_store import forget_reads

        forget_reads(None if node is self._root else node.entry.path)  # a remote store's reads asked again
        if chosen is not node:  # a row that could not be read (a remote store not reached): its own too
            forget_reads(chosen.entry.path)
        if chosen is not self._root:
            self.read_remote_root_again(chosen)  # type: ignore[attr-defined]  # a remote store's row: read again
        if node is self._root:
            for top in list(self._root.children):
                if top.state is not State.UNLISTED:
                    self._relist(top)
            return
        self._relist(node)

    def update(self, index: QModelIndex) -> None:
        """List a listed folder again and merge the answer into its rows (after a transfer).

        New entries are inserted where the order puts them, changed ones updated in place
        (their details as the details pass learns them), vanished ones removed; every other
        row stays as it is, and with it what is expanded below it, the current row and the
        selection. A folder never listed is left alone; a failed one is listed again.
        """
        node = self.node(index)
        while node is not self._root and not node.expandable and node.parent is not None:
            node = node.parent
        if node is self._root or node.state is State.UNLISTED:
            return
        if node.state is not State.LISTED or (node.backend is not None and opened_places(node.backend.key)):
            self._relist(node)
            return
        if node.job is not None:
            node.job.quit()
            node.job = None
        self._list_in_worker(node, self._folder(node).renew(), self._on_update_yield)

    def _on_update_yield(self, node: Node, generation: int, item: tuple[str, Any]) -> None:
        if not self._current(node, generation):
            return
        what, payload = item
        if what == "all":
            self._merge_listing(node, payload[0])
        elif what == "details":
            self._on_details(node, payload)
        # "rows" (the first batch of a listing shown while the rest is read): the rows are there

    def _merge_listing(self, node: Node, ordered: Sequence[Entry]) -> None:
        """Make the rows of a listed folder those of ``ordered``, moving as few as possible.

        A large folder merges its first page the same way; the rest is kept for the folder
        list, and its last row says the new count.
        """
        assert node.folder is not None
        # Facts learnt before are dropped: the details pass that follows learns the page's
        # again, and the rows beyond it are asked for again as they show.
        node.folder.set_listing(ordered, order=self._order)
        page = ordered[:PAGE]
        wanted = {e.path: e for e in page}
        for child in reversed(list(node.children)):  # gone (and stale placeholders, the "more" row)
            if child.placeholder or child.error_row or child.more or child.entry.path not in wanted:
                self._remove_rows(node, child.row, 1)
        parent = self.index_for(node)
        existing = {c.entry.path: c for c in node.children}
        for child in node.children:  # a new kind (a folder that became a zarr store…): now
            new = wanted[child.entry.path]
            if new.kind is not child.entry.kind or new.error != child.entry.error:
                child.entry = new
                self.dataChanged.emit(self.index(child.row, 0, parent), self.index(child.row, len(COLUMNS) - 1, parent))
        position, run, in_order = 0, [], True
        for entry in page:
            child = existing.get(entry.path)
            if child is None:
                run.append(Node(entry, node))
                continue
            if run:
                self._insert_nodes(node, position, run)
                self._announce_stores(run)
                run = []
            in_order = in_order and child.row >= position
            position = child.row + 1
        if run:
            self._insert_nodes(node, min(position, len(node.children)), run)
            self._announce_stores(run)
        if len(ordered) > PAGE:
            self._insert_nodes(node, len(node.children), [self._more_node(node, len(ordered))])
        if not in_order:
            self._reorder(node)  # a sort key changed (size, time): one layout change
        self.dataChanged.emit(self.index_for(node, SIZE), self.index_for(node, SIZE))
        self.listingFinished.emit((node.entry.backend, node.entry.path))

    @staticmethod
    def _more_node(node: Node, total: int) -> Node:
        """A large folder's last row, standing for the entries beyond the page (``node.pending``)."""
        more = Node(Entry(node.entry.backend, node.entry.path,
                          f"… {total - PAGE:,} more of {total:,}: show all in the folder list",
                          EntryKind.ROOT), node)
        more.more = True
        return more

    def _announce_stores(self, nodes: list[Node]) -> None:
        for child in nodes:
            if child.entry.kind in STORE_KINDS and plain_folders(child.entry.backend) and child.entry.error is None:
                self.storeMet.emit(child.entry)

    def _relist(self, node: Node) -> None:
        was_listed = node.state is not State.UNLISTED
        if node.job is not None:
            node.job.quit()
            node.job = None
        node.provisional = False
        if node.backend is not None and opened_places(node.backend.key):
            for child in list(node.children):  # roots are not listed: refresh each listed one
                if child.state is not State.UNLISTED:
                    self._relist(child)
            return
        self._remove_rows(node, 0, len(node.children))
        if node.folder is not None:
            node.folder.forget()  # unlisted; late answers for the old listing are dropped
        if was_listed:
            self._start_listing(node)

