"""The backend tree: polystore's registry at the top, what each backend holds below.

Listing is lazy and never blocks: expanding a folder starts a worker (``fetchMore``),
a "loading…" row stands in meanwhile, the first batch shows as soon as it is scanned,
and when the worker has the whole listing (sorted in the worker) the folder shows its
first page of rows (``PAGE``). A QTreeView lays out every row it holds again on each
change, a Python call or more per row, so a large folder never puts more than a page in
the tree: its last row ("… 98,000 more") stands for the rest, which the folder list
(``folder_list.py``, a table with no per-row layout) shows, all of them. A large folder
learns details (size, time, zarr facts) for the rows on screen (``request_details``),
and for all its entries only when sorted by a column that needs them (``describe_all``).

A folder's listing state (phase, whole listing, details learnt, counts, error) is a
:class:`~polystore_gui.model.folder_state.FolderState` (``folder_state``), not this
model's: its rows here and the folder list's table are two views of it. This model lists
the folder (in workers) and writes what it learns into the state; the folder list reads
and follows the state itself.

Sorting happens here, not in a proxy (a proxy compares rows through ``data()`` one
Python call at a time): the worker sorts the listing, and ``sort()`` re-sorts it.

Roles for tests and automation (documented in the README):

- ``ADDRESS_ROLE``: ``(backend, path)`` for every row. A "loading…" or error row
  answers with the address of the node whose listing it stands for.
- ``ENTRY_ROLE``: the :class:`~polystore_gui.model.entries.Entry` of the row.
- ``ROW_KIND_ROLE``: ``"backend"``, ``"entry"``, ``"loading"``, ``"error"`` or ``"more"``
  (the last row of a large folder, standing for the entries the tree does not show).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from qtpy.QtCore import QAbstractItemModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, QUrl, Signal

from ..model import pacing
from ..model.address import ENTRIES_MIME, Address, decode_entries, encode_entries
from ..model.remote_address import is_remote_path
from ..model.catalogue import Capability, Discovery, Status
from ..model.entries import Entry, EntryKind, sort_entries
from ..model.folder_state import FolderState, Phase
from ..model.listing import (
    FolderNames,
    ListingError,
    describe,
    entry_for_path,
    gc_paused,
    listing_position,
    sorted_listing,
)
from . import icons
from .tree_nodes import COLUMNS, KIND, NAME, PAGE, SIZE, SORT_FIELD, Node, State, cell_text, tooltip
from .workers import WorkerPool

log = logging.getLogger(__name__)

ADDRESS_ROLE = int(Qt.ItemDataRole.UserRole) + 1
ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 2
ROW_KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3

# Listings from this size on are frozen out of the garbage collector's sight once shown.
FREEZE_FROM = 100_000
# Rows shown from the first scanned batch, while the rest of a folder is read (a screenful).
FIRST_ROWS = 200

_SELECTABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF = _SELECTABLE | Qt.ItemFlag.ItemNeverHasChildren
_PLACEHOLDER = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
_STORE_KINDS = (EntryKind.ZARR_STORE, EntryKind.OME_ZARR)
_LOCAL_BACKENDS = ("disk", "zarr", "ome_zarr")  # their paths are paths on this machine

__all__ = ["ADDRESS_ROLE", "COLUMNS", "ENTRY_ROLE", "PAGE", "ROW_KIND_ROLE", "BackendTreeModel", "FolderState", "State"]


class BackendTreeModel(QAbstractItemModel):
    """polystore's backends and their contents, listed lazily off the GUI thread."""

    storeMet = Signal(object)  # Entry: a zarr store seen while browsing disk
    listingFinished = Signal(object)  # (backend, path) whose listing (not details) is complete
    listingFailed = Signal(object, str)  # (backend, path), the reason shown in its error row
    # Entries of a folder learnt anew (details): (backend, path) of the folder, [Entry]
    detailsLearnt = Signal(object, object)
    # A large folder's details pass: (backend, path), entries to describe (0: done)
    detailsProgress = Signal(object, int)
    # The order of a listed folder changed (sorting): (backend, path)
    listingReordered = Signal(object)
    # Entries dropped on a row: (target backend, target path, [Address], Qt.DropAction)
    entriesDropped = Signal(str, str, object, object)

    def __init__(self, workers: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._root = Node(Entry("", "", "", EntryKind.ROOT), None)
        self._root.folder = FolderState("", "", phase=Phase.LISTED)
        self._disk_roots: list[str] = []
        self._stores: dict[str, list[str]] = {"zarr": [], "ome_zarr": []}
        self._sort_column = NAME
        self._descending = False
        self.show_hidden = False
        self._notes: dict[str, str] = {}  # live state shown beside a backend (a viewer's PID…)
        # Work asked for from inside a view's handler (fetchMore) runs one turn later,
        # so that no change of ours ever starts inside another.
        self._deferred: list[Callable[[], None]] = []
        self._defer_timer = QTimer(self)
        self._defer_timer.setSingleShot(True)
        self._defer_timer.setInterval(0)
        self._defer_timer.timeout.connect(self._on_defer_timer_timeout)
        discovering = self._placeholder(self._root, "Discovering backends…")
        self._root.children = [discovering]

    # -- configuration ---------------------------------------------------------------------

    def set_disk_roots(self, roots: list[str]) -> None:
        self._disk_roots = list(dict.fromkeys(os.path.abspath(r) for r in roots))
        self._reset_backend_children("disk")

    def add_disk_root(self, path: str) -> None:
        path = os.path.abspath(path)
        if path not in self._disk_roots:
            self._disk_roots.append(path)
            self._add_root_child("disk", path)

    def disk_roots(self) -> list[str]:
        return list(self._disk_roots)

    def add_store(self, entry: Entry) -> None:
        """Show a zarr store under ``zarr`` (or ``ome_zarr`` when it holds OME-NGFF)."""
        backend = "ome_zarr" if entry.kind is EntryKind.OME_ZARR or entry.backend == "ome_zarr" else "zarr"
        if entry.path in self._stores[backend]:
            return
        self._stores[backend].append(entry.path)
        self._add_root_child(backend, entry.path, entry)

    def set_discovery(self, discovery: Discovery) -> None:
        """Replace the "discovering" row by one top-level node per registered backend."""
        self.beginResetModel()
        self._root.children = []
        for info in discovery.backends:
            path = "/" if info.key == "memory" else ""
            node = Node(Entry(info.key, path, info.key, EntryKind.BACKEND, error=info.error), self._root, backend=info)
            self._root.children.append(node)
            if info.key in ("disk", "zarr", "ome_zarr"):
                self._populate_roots(node)
        self._root.renumber()
        self.endResetModel()

    def set_backend_note(self, key: str, note: str | None) -> None:
        """Show ``note`` beside backend ``key``'s capability (e.g. "viewer running on port 7777, PID 42")."""
        if (note or None) == self._notes.get(key):
            return
        if note:
            self._notes[key] = note
        else:
            self._notes.pop(key, None)
        top = self.backend_index(key)
        if top.isValid():
            cell = self.index(top.row(), KIND, QModelIndex())
            self.dataChanged.emit(top, cell)

    def backend_keys(self) -> list[str]:
        """The registry keys shown at the top level (empty until discovery has answered)."""
        return [n.backend.key for n in self._root.children if n.backend is not None]

    def backend_note(self, key: str) -> str | None:
        return self._notes.get(key)

    def set_show_hidden(self, show: bool) -> None:
        """Show or hide dot-files on disk; lists again what was listed."""
        if show != self.show_hidden:
            self.show_hidden = show
            self.refresh(QModelIndex())

    # -- index plumbing --------------------------------------------------------------------

    def node(self, index: QModelIndex) -> Node:
        if index.isValid():
            node: Node = index.internalPointer()
            return node
        return self._root

    def index_for(self, node: Node, column: int = 0) -> QModelIndex:
        if node is self._root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def find(self, backend: str, path: str) -> QModelIndex:
        """The index of a shown row with this address (invalid when it is not shown)."""
        for top in self._root.children:
            for node in top.iter_subtree():
                entry = node.entry
                if entry.path == path and entry.backend == backend and not (node.placeholder or node.error_row or node.more):
                    return self.index_for(node)
        return QModelIndex()

    def find_all(self, backend: str, path: str) -> list[QModelIndex]:
        """Every shown row with this address (a store met under disk shows under zarr too)."""
        return [self.index_for(node) for top in self._root.children for node in top.iter_subtree()
                if node.entry.path == path and node.entry.backend == backend
                and not (node.placeholder or node.error_row or node.more)]

    def deepest_shown_ancestor(self, backend: str, path: str) -> QModelIndex:
        """The shown row of ``backend`` whose path holds ``path`` most closely (itself included).

        Roots of ``disk``, stores of ``zarr``/``ome_zarr`` and memory's ``/`` are where the
        search starts; invalid when no shown row holds the path.
        """
        top = self.backend_index(backend)
        if not top.isValid():
            return QModelIndex()
        best, best_len = None, -1
        for node in self.node(top).iter_subtree():
            if node.placeholder or node.error_row or node.more or node.backend is not None:
                continue
            candidate = node.entry.path.rstrip("/") or "/"
            inside = path == candidate or path.startswith(candidate if candidate.endswith("/") else candidate + "/")
            if inside and len(candidate) > best_len:
                best, best_len = node, len(candidate)
        return self.index_for(best) if best is not None else top

    def folder_state(self, index: QModelIndex) -> FolderState | None:
        """The listing state of the folder at ``index``: what the folder list shows too (None
        when it was never listed)."""
        return self.node(index).folder

    def listing(self, index: QModelIndex) -> list[Entry]:
        """The whole listing of a listed folder, in the tree's order, with what is known of each."""
        folder = self.node(index).folder
        return folder.merged() if folder is not None else []

    def is_large(self, index: QModelIndex) -> bool:
        """A listed folder with more entries than the tree shows (the rest: in the folder list)."""
        return self.node(index).large

    def holds_unshown(self, index: QModelIndex, path: str) -> bool:
        """Whether ``path`` is an entry of this folder beyond the rows the tree shows."""
        return listing_position(self.node(index).pending, path) is not None

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

    def remove_root(self, backend: str, path: str) -> bool:
        """Take a disk root or an opened store out of the tree (nothing on disk changes)."""
        roots = self._disk_roots if backend == "disk" else self._stores.get(backend)
        if roots is None or path not in roots:
            return False
        roots.remove(path)
        top = self.backend_index(backend)
        if top.isValid():
            node = self.node(top)
            for child in node.children:
                if child.entry.path == path:
                    self._remove_rows(node, child.row, 1)
                    break
        return True

    def stores(self, backend: str) -> list[str]:
        return list(self._stores.get(backend, []))

    def backend_index(self, key: str) -> QModelIndex:
        for node in self._root.children:
            if node.backend is not None and node.backend.key == key:
                return self.index_for(node)
        return QModelIndex()

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        # Called once or more per shown row on every layout of the view: kept lean.
        if parent.isValid():
            if parent.column():
                return QModelIndex()
            children = parent.internalPointer().children
        else:
            children = self._root.children
        if 0 <= row < len(children) and 0 <= column < 6:
            return self.createIndex(row, column, children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        parent = index.internalPointer().parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            return len(parent.internalPointer().children) if parent.column() == 0 else 0
        return len(self._root.children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        if not parent.isValid():
            return bool(self._root.children)
        if parent.column() != 0:
            return False
        node = parent.internalPointer()
        if node.children:
            return True
        return node.state is State.UNLISTED and node.expandable

    def canFetchMore(self, parent: QModelIndex) -> bool:
        # Only a folder never listed: a QTreeView asks canFetchMore/fetchMore on every
        # re-layout of an expanded row. A large folder's rows beyond the first page are
        # not fetched into the tree at all: its last row stands for them, and the folder
        # list shows them (a tree view lays out every row it holds on each change).
        if parent.isValid() and parent.column() != 0:
            return False
        node = self.node(parent)
        return node.state is State.UNLISTED and node.expandable

    def fetchMore(self, parent: QModelIndex) -> None:
        node = self.node(parent)
        if node.state is State.UNLISTED and node.expandable:
            self._folder(node).phase = Phase.LOADING  # asked once: canFetchMore says no from now
            self._defer(lambda: self._start_listing(node))

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        # Asked for every shown row on every layout of the view (QTreeView checks each
        # row's ItemNeverHasChildren): answered from the node's cache while its entry stays.
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        node = index.internalPointer()
        if node.flags_of is node.entry:
            return node.flags
        node.flags = self._flags(index, node)
        node.flags_of = node.entry
        return node.flags

    def _flags(self, index: QModelIndex, node: Node) -> Qt.ItemFlag:
        if node.placeholder or node.error_row or node.more:
            return _PLACEHOLDER if node.placeholder else _LEAF
        flags = _SELECTABLE if node.expandable or node.backend is not None else _LEAF
        if node.backend is None and node.entry.error is None:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        if self.drop_target(index) is not None:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        return flags

    # -- drag and drop ---------------------------------------------------------------------
    # Entries drag out as application/x-polystore-entries (and local ones as file URLs).
    # Drops land on the streaming sinks, and on folders, zarr stores and groups, and roots
    # of the writable backends (disk, memory, zarr); files from the desktop arrive as disk.

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
            return Address("memory", "/") if info.key == "memory" else None
        entry = node.entry
        if entry.error is not None:
            return None
        if entry.kind in (EntryKind.ZARR_STORE, EntryKind.GROUP):
            return Address("zarr", entry.path)
        if entry.kind in (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY) and entry.backend in ("zarr", "disk"):
            # An array takes no members: the window lands the drop in the folder that holds
            # it and says so (transfers.landing); `cp` into an array is refused instead.
            return Address("zarr", entry.path)
        if entry.kind in (EntryKind.ROOT, EntryKind.DIRECTORY) and entry.backend in ("disk", "memory"):
            return Address(entry.backend, entry.path)
        return None

    @staticmethod
    def _accepts_drops(node: Node) -> bool:
        info = node.backend
        return info is not None and info.capability is Capability.SINK and info.status is Status.READY

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
        return data.hasUrls() and target.backend in ("disk", "memory", "zarr") and any(u.isLocalFile() for u in data.urls())

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

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = index.internalPointer()
        if role == Qt.ItemDataRole.DisplayRole:
            text = cell_text(node, index.column())
            if node.backend is not None and index.column() == KIND and node.backend.key in self._notes:
                text = f"{text} — {self._notes[node.backend.key]}"
            return text
        if role == ADDRESS_ROLE:
            return (node.entry.backend, node.entry.path)
        if role == ENTRY_ROLE:
            return node.entry
        if role == ROW_KIND_ROLE:
            return node.row_kind
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.icon_for(node) if index.column() == NAME else None
        if role == Qt.ItemDataRole.ToolTipRole:
            note = self._notes.get(node.backend.key) if node.backend is not None else None
            return tooltip(node) + (f"\n{note}" if note else "")
        if role == Qt.ItemDataRole.ForegroundRole:
            if node.placeholder or (node.backend is not None and node.backend.status is not Status.READY):
                return icons.muted_brush()
            if node.entry.error is not None or node.error_row:
                return icons.error_brush()
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

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
            if child.entry.kind in _STORE_KINDS and child.entry.backend == "disk" and child.entry.error is None:
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
            was_store = child.entry.kind in _STORE_KINDS
            if update.kind is not child.entry.kind or update.error != child.entry.error:
                renamed.append(child.row)
            child.entry = update
            touched.append(child.row)
            if not was_store and update.kind in _STORE_KINDS and update.error is None:
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

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self, index: QModelIndex) -> None:
        """List ``index`` again (its parent, when it is a leaf); everything when invalid."""
        node = self.node(index)
        while node is not self._root and not node.expandable and node.parent is not None:
            node = node.parent
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
        if node.state is not State.LISTED or (node.backend is not None and node.backend.key in ("disk", "zarr", "ome_zarr")):
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
            if child.entry.kind in _STORE_KINDS and child.entry.backend == "disk" and child.entry.error is None:
                self.storeMet.emit(child.entry)

    def _relist(self, node: Node) -> None:
        was_listed = node.state is not State.UNLISTED
        if node.job is not None:
            node.job.quit()
            node.job = None
        node.provisional = False
        if node.backend is not None and node.backend.key in ("disk", "zarr", "ome_zarr"):
            for child in list(node.children):  # roots are not listed: refresh each listed one
                if child.state is not State.UNLISTED:
                    self._relist(child)
            return
        self._remove_rows(node, 0, len(node.children))
        if node.folder is not None:
            node.folder.forget()  # unlisted; late answers for the old listing are dropped
        if was_listed:
            self._start_listing(node)

    # -- backend roots ---------------------------------------------------------------------

    def _populate_roots(self, backend_node: Node) -> None:
        key = backend_node.entry.backend
        paths = self._disk_roots if key == "disk" else self._stores.get(key, [])
        backend_node.children = [self._root_node(backend_node, p) for p in paths]
        backend_node.renumber()
        backend_node.folder = FolderState(key, "", phase=Phase.LISTED)  # its rows are the roots, not a listing

    def _root_node(self, backend_node: Node, path: str, entry: Entry | None = None) -> Node:
        key = backend_node.entry.backend
        if entry is None and is_remote_path(path):  # a remote store: no request on the GUI thread
            from ..model.remote_zarr import provisional_entry

            entry = provisional_entry(key, path)
        if entry is None:
            entry = entry_for_path("disk", path)
        shown = path
        if key == "disk":
            home = os.path.expanduser("~")
            shown = "~" + path[len(home):] if path == home or path.startswith(home + "/") else path
            if entry.kind is EntryKind.DIRECTORY:
                entry = entry.with_details(kind=EntryKind.ROOT)
        return Node(entry.with_details(backend=key, name=shown), backend_node)

    def _reset_backend_children(self, key: str) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return
        node = self.node(index)
        self._remove_rows(node, 0, len(node.children))
        paths = self._disk_roots if key == "disk" else self._stores.get(key, [])
        self._insert_nodes(node, 0, [self._root_node(node, p) for p in paths])

    def _add_root_child(self, key: str, path: str, entry: Entry | None = None) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return  # discovery has not finished: set_discovery will add it
        node = self.node(index)
        self._insert_nodes(node, len(node.children), [self._root_node(node, path, entry)])

    # -- shutdown --------------------------------------------------------------------------

    def cancel_all(self) -> None:
        for top in self._root.children:
            for node in top.iter_subtree():
                if node.job is not None:
                    node.job.quit()
                    node.job = None
                if node.folder is not None:
                    node.folder.renew()  # late answers are dropped
        self._deferred.clear()
        self._defer_timer.stop()


def entries_mime(addresses: list[Address]) -> QMimeData:
    """What dragging these entries carries: application/x-polystore-entries, and file URLs
    for those that are files or folders on this machine (the desktop takes them)."""
    mime = QMimeData()
    mime.setData(ENTRIES_MIME, encode_entries(addresses))
    local = [a.path for a in dict.fromkeys(addresses) if a.backend in _LOCAL_BACKENDS and os.path.lexists(a.path)]
    urls = [QUrl.fromLocalFile(path) for path in local]
    if urls:
        mime.setUrls(urls)
    return mime


# From this size on, the listing worker case-folds a disk folder's names for the filter.
FOLD_AHEAD_FROM = 20_000


def _listing_job(
    entry: Entry, show_hidden: bool, sort_field: str, descending: bool
) -> Iterator[tuple[str, Any]]:
    """Worker body: the first batch at once, then the whole listing sorted, then details."""
    with gc_paused(freeze=True):
        for what, listed in sorted_listing(entry, show_hidden=show_hidden, field=sort_field, descending=descending):
            if what == "rows":
                yield ("rows", listed)
                pacing.after_rows()  # the GUI thread builds and paints them with the lock to itself
        ordered: Sequence[Entry] = listed
        # The first page's rows are made here, not on the GUI thread (attached to the folder there).
        first_nodes = [Node(e, None) for e in ordered[:PAGE]]
        # What the details pass covers, worked out before the GUI thread gets busy with the rows.
        # A large folder: the rows the tree shows, and every folder (one may be a zarr store);
        # the folder list asks for the rows it shows, and sorting by a column that needs
        # every entry's details asks for all (describe_all).
        todo = list(ordered[:PAGE])
        if len(ordered) > PAGE:
            if isinstance(ordered, FolderNames):
                todo += ordered[PAGE:max(PAGE, ordered.folder_count())]
            else:
                todo += [e for e in ordered[PAGE:] if e.kind is EntryKind.DIRECTORY]
    yield ("all", (ordered, first_nodes))
    if len(ordered) > PAGE:
        pacing.after_listing()
    yield from _details_job(todo)
    if isinstance(ordered, FolderNames) and len(ordered) >= FOLD_AHEAD_FROM:
        ordered.prepare_folded()  # for the filter, once the rows on screen know their details


def _sort_job(listing: Sequence[Entry], details: dict[str, Entry], field: str,
              descending: bool) -> tuple[list[Entry], list[Node]]:
    """Worker body: a large folder's listing, with its details, in a new order (and the rows
    of its first page)."""
    merged = _merged(listing, details)  # in the worker: never a million entries on the GUI thread
    ordered = sort_entries(merged, field, descending)
    return ordered, [Node(e, None) for e in ordered[:PAGE]]


def _merged(listing: Sequence[Entry], details: dict[str, Entry]) -> list[Entry]:
    return [details.get(e.path, e) for e in listing] if details else list(listing)


def _describe_all_job(listing: Sequence[Entry], details: dict[str, Entry]) -> Iterator[tuple[str, list[Entry]]]:
    """Worker body: the details of every entry of a large folder not known yet."""
    # Sizes and times only: a TIFF header each would make a million files minutes, not seconds.
    yield from _details_job([e for e in _merged(listing, details) if e.modified is None and e.error is None],
                            headers=False)


def _details_job(entries: list[Entry], headers: bool = True) -> Iterator[tuple[str, list[Entry]]]:
    for update in describe(entries, headers=headers):
        yield ("details", update)
        # A stat per entry, mostly Python: step aside for the GUI thread between batches
        # instead of contending for the interpreter lock throughout.
        pacing.between_batches()
