"""Listing in the backend tree: ``fetchMore``'s work, run in workers (``tree_jobs``), and
what their answers do to the rows and to the folder's
:class:`~polystore_gui.model.folder_state.FolderState`: the first batch, the whole sorted
listing (a page of rows), details learnt, errors; sorting; a large folder's details asked
for by the rows on screen (``request_details``) or by a sort (``describe_all``).

Every answer carries the generation of the listing it belongs to; one for a listing
replaced since (a refresh, a sort) is dropped.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable, Sequence
from typing import Any

from qtpy.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from ..model.entries import Entry, EntryKind, sort_entries
from ..model.folder_state import FolderState, Phase
from ..model.listing import ListingError
from .tree_jobs import _describe_all_job, _details_job, _listing_job, _sort_job
from .tree_nodes import COLUMNS, NAME, PAGE, SIZE, SORT_FIELD, STORE_KINDS, Node, State, plain_folders

log = logging.getLogger(__name__)

# Listings from this size on are frozen out of the garbage collector's sight once shown.
FREEZE_FROM = 100_000
# Rows shown from the first scanned batch, while the rest of a folder is read (a screenful).
FIRST_ROWS = 200


class TreeListing:
    """Part of :class:`~polystore_gui.qt.tree_model.BackendTreeModel` (a mixin): listing
    folders in workers, sorting, learning details."""

    def request_details(self, index: QModelIndex, entries: list[Entry]) -> None:
        """Learn size, time and zarr facts of these entries of a large folder (rows on screen)."""
        folder = self.node(index).folder
        if folder is not None:
            folder.want_details(entries)

    def _on_details_wanted(self, node: Node, folder: FolderState, todo: list[Entry]) -> None:
        """A view of ``folder`` (the folder list) shows entries whose details are not known."""
        if not node.alive or folder is not node.folder:
            return
        generation = folder.generation
        self._workers.start(
            _details_job, todo,
            on_yield=lambda item, node=node, g=generation: self._on_listing_yield(node, g, item),
        )

    def _folder(self, node: Node) -> FolderState:
        """``node``'s listing state, made on first use and wired to this model's details pass."""
        folder = node.listing_state()
        if folder.details_wanted is None:
            folder.details_wanted = functools.partial(self._on_details_wanted, node)
        return folder

    def describe_all(self, index: QModelIndex) -> None:
        """Learn every entry's details (sorting a large folder by size, time or kind needs them)."""
        node = self.node(index)
        folder = node.folder
        if folder is None or folder.described or folder.phase is not Phase.LISTED or node.job is not None:
            return
        generation = folder.generation
        node.job = self._workers.start(
            _describe_all_job, folder.listing, dict(folder.details),
            on_yield=lambda item, node=node, g=generation: self._on_listing_yield(node, g, item),
            on_return=lambda _r, node=node, g=generation: self._on_described(node, g),
            on_error=lambda exc, node=node, g=generation: self._on_listing_error(node, g, exc),
        )
        folder.set_remaining(max(1, len(folder.listing) - len(folder.details)))
        self.detailsProgress.emit(folder.address, folder.remaining)

    def _on_described(self, node: Node, generation: int) -> None:
        if not self._current(node, generation):
            return
        node.job = None
        assert node.folder is not None
        node.folder.set_remaining(0)
        if self._sort_column != NAME:
            self._reorder(node)
        self.detailsProgress.emit(node.folder.address, 0)

    # -- sorting ---------------------------------------------------------------------------

    @property
    def sort_field(self) -> str:
        return SORT_FIELD.get(self._sort_column, "name")

    @property
    def _order(self) -> tuple[str, bool]:
        return (self.sort_field, self._descending)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        descending = order == Qt.SortOrder.DescendingOrder
        if (column, descending) == (self._sort_column, self._descending):
            return
        self._sort_column = column
        self._descending = descending
        for top in list(self._root.children):
            for node in list(top.iter_subtree()):
                if node.alive and node.state is State.LISTED and node.backend is None and (len(node.children) > 1 or node.large):
                    self._reorder(node)

    def _ordered(self, entries: list[Entry]) -> list[Entry]:
        return sort_entries(entries, self.sort_field, self._descending)

    def _reorder(self, node: Node) -> None:
        """Put a listed folder's rows in the current order.

        Fully shown: one layout change (selection and expanded sub-folders survive).
        A large folder: the tree's page becomes the first page of the new order.
        """
        folder = node.folder
        assert folder is not None
        if node.large and self._sort_column != NAME and not folder.described:
            self.describe_all(self.index_for(node))  # sizes, times, kinds first; reordered after
            return
        shown = [c for c in node.children if not (c.placeholder or c.error_row or c.more)]
        if not node.large:
            ordered = self._ordered([c.entry for c in shown])
            by_path = {c.entry.path: c for c in shown}
            special = [c for c in node.children if c.placeholder or c.error_row]
            parent = QPersistentModelIndex(self.index_for(node))
            self.layoutAboutToBeChanged.emit([parent], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)
            before = [i for i in self.persistentIndexList() if i.isValid() and i.internalPointer().parent is node]
            kept = [(i.internalPointer(), i.column()) for i in before]
            node.children = special + [by_path[e.path] for e in ordered]
            node.renumber()
            self.changePersistentIndexList(before, [self.createIndex(n.row, c, n) for n, c in kept])
            self.layoutChanged.emit([parent], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)
            if folder.phase is Phase.LISTED:
                folder.set_listing([by_path[e.path].entry for e in ordered], order=self._order, keep_details=True)  # the list's order too
            self.listingReordered.emit((node.entry.backend, node.entry.path))
        else:
            # A large folder is sorted in a worker (a million names take a second to sort).
            generation = folder.generation
            self._workers.start(
                _sort_job, folder.listing, dict(folder.details), self.sort_field, self._descending,
                on_return=lambda result, node=node, g=generation: self._on_sorted(node, g, result),
            )

    def _on_sorted(self, node: Node, generation: int, result: tuple[list[Entry], list[Node]]) -> None:
        if not self._current(node, generation) or node.state is not State.LISTED:
            return
        ordered, first_nodes = result
        assert node.folder is not None
        node.folder.set_listing(ordered, order=self._order)  # the details are in the entries now
        self._remove_rows(node, 0, len(node.children))
        self._show_page(node, ordered, first_nodes)
        self.listingReordered.emit((node.entry.backend, node.entry.path))

    # -- listing ---------------------------------------------------------------------------

    def _defer(self, action: Callable[[], None]) -> None:
        self._deferred.append(action)
        self._defer_timer.start()

    def _on_defer_timer_timeout(self) -> None:
        actions, self._deferred = self._deferred, []
        for action in actions:
            action()

    def _placeholder(self, parent: Node, text: str) -> Node:
        placeholder = Node(Entry(parent.entry.backend, parent.entry.path, text, EntryKind.ROOT), parent)
        placeholder.placeholder = True
        return placeholder

    def _insert_nodes(self, node: Node, position: int, new: list[Node]) -> None:
        if not new:
            return
        self.beginInsertRows(self.index_for(node), position, position + len(new) - 1)
        node.children[position:position] = new
        node.renumber()
        self.endInsertRows()

    def _remove_rows(self, node: Node, first: int, count: int) -> None:
        if count <= 0:
            return
        self.beginRemoveRows(self.index_for(node), first, first + count - 1)
        for child in node.children[first : first + count]:
            child.kill()
        del node.children[first : first + count]
        node.renumber()
        self.endRemoveRows()

    def _show_page(self, node: Node, ordered: Sequence[Entry], first_nodes: list[Node] | None = None) -> None:
        """Show the first page of ``ordered`` (a folder's whole listing) and keep the rest.

        A large folder's last row stands for the entries beyond the page; the folder list
        shows them all.
        """
        if first_nodes is not None and len(first_nodes) == min(PAGE, len(ordered)):
            new = first_nodes
            for child in new:
                child.parent = node
        else:
            new = [Node(e, node) for e in ordered[:PAGE]]
        if len(ordered) > PAGE:
            new.append(self._more_node(node, len(ordered)))
        self._insert_nodes(node, len(node.children), new)
        for child in new:
            if child.entry.kind in STORE_KINDS and plain_folders(child.entry.backend) and child.entry.error is None:
                self.storeMet.emit(child.entry)

    def _start_listing(self, node: Node) -> None:
        if not node.alive:
            return
        generation = self._folder(node).begin()
        self._insert_nodes(node, 0, [self._placeholder(node, "loading…")])
        self._list_in_worker(node, generation, self._on_listing_yield)

    def _list_in_worker(self, node: Node, generation: int, on_yield: Callable[[Node, int, Any], None]) -> None:
        """List ``node``'s folder on a worker, in the model's order and hidden-entry choice.

        Each batch goes to ``on_yield(node, generation, item)``; the end and a failure go to
        the usual handlers. ``generation`` lets every handler drop the answer of a listing
        that was replaced since (the handlers check it against the folder's generation).
        """
        node.job = self._workers.start(
            _listing_job,
            node.entry,
            self.show_hidden,
            self.sort_field,
            self._descending,
            on_yield=lambda item, node=node, g=generation: on_yield(node, g, item),
            on_return=lambda _r, node=node, g=generation: self._on_listing_returned(node, g),
            on_error=lambda exc, node=node, g=generation: self._on_listing_error(node, g, exc),
        )

    def _current(self, node: Node, generation: int) -> bool:
        return node.alive and node.folder is not None and node.folder.generation == generation

    def _on_listing_yield(self, node: Node, generation: int, item: tuple[str, list[Entry]]) -> None:
        if not self._current(node, generation):
            return
        what, entries = item
        if what == "rows":
            self._on_first_rows(node, entries)
        elif what == "all":
            ordered, first_nodes = entries  # type: ignore[misc]
            self._on_full_listing(node, ordered, first_nodes)
        else:
            self._on_details(node, entries)

    def _on_first_rows(self, node: Node, entries: list[Entry]) -> None:
        """The first scanned batch shows at once (in order among itself) while the rest is read."""
        if node.state is not State.LOADING or node.provisional or not entries:
            return
        node.provisional = True
        self._remove_rows(node, 0, len(node.children))  # the loading row
        self._insert_nodes(node, 0, [Node(e, node) for e in self._ordered(entries)[:FIRST_ROWS]])

    def _on_full_listing(self, node: Node, ordered: Sequence[Entry], first_nodes: list[Node] | None = None) -> None:
        """The whole listing, sorted in the worker: show its first page, keep the rest.

        ``first_nodes``: the first page's rows, built in the worker (a thousand objects that
        the GUI thread need not make).
        """
        provisional, node.provisional = node.provisional, False
        assert node.folder is not None
        node.folder.set_listing(ordered, order=self._order)  # the folder list, if it shows this folder, follows
        first = ordered[:PAGE]
        if provisional and len(ordered) <= FIRST_ROWS and [c.entry.path for c in node.children] == [e.path for e in first]:
            pass  # the first batch was the whole listing, already in order: nothing moves
        else:
            self._remove_rows(node, 0, len(node.children))
            self._show_page(node, ordered, first_nodes)
        if len(ordered) >= FREEZE_FROM:
            # The lists just made here hold a reference to every entry; out of the cyclic
            # collector's sight, so that no collection walks a million references again and
            # again (0.1 s each, measured). The entries themselves were frozen by the worker.
            gc.freeze()
        self.dataChanged.emit(self.index_for(node, SIZE), self.index_for(node, SIZE))
        self.listingFinished.emit((node.entry.backend, node.entry.path))

    def _on_details(self, node: Node, updates: list[Entry]) -> None:
        """Facts learnt for a batch of entries: O(batch), whatever the folder's size."""
        touched = []
        renamed = []  # rows whose kind (so icon, column 0) changed
        assert node.folder is not None
        node.folder.learn(updates)  # the folder list, if it shows this folder, follows
        self.detailsLearnt.emit((node.entry.backend, node.entry.path), updates)
        for update in updates:
            child = node.child_by_path(update.path)
            if child is None:
                continue  # a row the tree does not show
            was_store = child.entry.kind in STORE_KINDS
            if update.kind is not child.entry.kind or update.error != child.entry.error:
                renamed.append(child.row)
            child.entry = update
            touched.append(child.row)
            if not was_store and update.kind in STORE_KINDS and update.error is None:
                self.storeMet.emit(update)
        if touched:
            # Columns 1.. only: column 0 is what the filter proxy filters on, and a change
            # there makes it re-examine every row of the range (a second for 100,000 rows).
            parent = self.index_for(node)
            self.dataChanged.emit(self.index(min(touched), 1, parent), self.index(max(touched), len(COLUMNS) - 1, parent))
            for row in renamed:
                self.dataChanged.emit(self.index(row, 0, parent), self.index(row, 0, parent))

    def _on_listing_returned(self, node: Node, generation: int) -> None:
        if not self._current(node, generation):
            return
        node.job = None
        if node.state is State.LISTED and not node.large and node.folder is not None:
            node.folder.described = True  # the details pass covered every entry
        if self._sort_column != NAME and node.state is State.LISTED:
            self._reorder(node)  # sizes and times are known now

    def _on_listing_error(self, node: Node, generation: int, exc: BaseException) -> None:
        if not self._current(node, generation):
            return
        node.job = None
        message = str(exc) if isinstance(exc, ListingError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ListingError):
            log.warning("listing %s:%s failed", node.entry.backend, node.entry.path, exc_info=exc)
        assert node.folder is not None
        node.folder.fail(message)
        node.provisional = False
        self._remove_rows(node, 0, len(node.children))
        error_node = Node(Entry(node.entry.backend, node.entry.path, message, EntryKind.ERROR, error=message), node)
        error_node.error_row = True
        self._insert_nodes(node, 0, [error_node])
        self.listingFailed.emit((node.entry.backend, node.entry.path), message)

