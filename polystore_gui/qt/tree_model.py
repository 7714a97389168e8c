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

The model is split by concern; this module holds its Qt item-model interface (indexes,
rows, cells, flags) and its configuration, and the class takes the rest from mixins:
``tree_roots`` (the backends and the places opened under them), ``tree_listing``
(listing, details and sorting, driven from ``fetchMore``), ``tree_jobs`` (the worker
bodies), ``tree_updates`` (``refresh`` and ``update`` after transfers, deletes and
renames) and ``tree_drops`` (drag and drop). The rows' nodes, cell texts and tooltips live
in ``tree_nodes``, their icons in ``icons``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt, QTimer, Signal

from ..model.catalogue import Status
from ..model.entries import Entry, EntryKind
from ..model.folder_state import FolderState, Phase
from ..model.listing import listing_position
from . import icons
from .cell_roles import OneCallPerCell
from .tree_drops import TreeDragDrop, entries_mime
from .tree_jobs import FOLD_AHEAD_FROM, _describe_all_job, _details_job, _listing_job, _sort_job
from .tree_listing import FIRST_ROWS, FREEZE_FROM, TreeListing
from .tree_nodes import COLUMNS, KIND, NAME, PAGE, SIZE, Node, State, cell_text, tooltip
from .tree_remote_roots import TreeRemoteRoots
from .tree_roots import TreeRoots
from .tree_updates import TreeUpdates
from .workers import WorkerPool

ADDRESS_ROLE = int(Qt.ItemDataRole.UserRole) + 1
ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 2
ROW_KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3

_SELECTABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF = _SELECTABLE | Qt.ItemFlag.ItemNeverHasChildren
_PLACEHOLDER = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren

__all__ = [
    "ADDRESS_ROLE", "COLUMNS", "ENTRY_ROLE", "FIRST_ROWS", "FOLD_AHEAD_FROM", "FREEZE_FROM", "PAGE", "ROW_KIND_ROLE",
    "BackendTreeModel", "FolderState", "State", "entries_mime",
    # worker bodies, imported by tests from here (they live in tree_jobs)
    "_describe_all_job", "_details_job", "_listing_job", "_sort_job",
]


class BackendTreeModel(TreeRoots, TreeRemoteRoots, TreeListing, TreeUpdates, TreeDragDrop, OneCallPerCell,
                       QAbstractItemModel):
    """polystore's backends and their contents, listed lazily off the GUI thread."""

    storeMet = Signal(object)  # Entry: a zarr store seen while browsing disk
    listingFinished = Signal(object)  # (backend, path) whose listing (not details) is complete
    listingFailed = Signal(object, str)  # (backend, path), the reason shown in its error row
    # A remote store's row read (backend, path), Entry: what it is, or its error (not reached)
    remoteRootRead = Signal(object, object)
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

