"""The backend tree: polystore's registry at the top, what each backend holds below.

Children are listed lazily by a worker when a node is first expanded (``fetchMore``),
with a "loading…" row meanwhile. Listed rows wait in a per-node queue and are inserted
a bounded number per event-loop turn, so a folder of 100,000 files never freezes the
window; ``canFetchMore``/``fetchMore`` also hand out queued rows on demand.

Sorting happens here, not in a proxy: a proxy compares rows through ``data()`` one
Python call at a time, which takes seconds for a large folder; sorting the node list
with precomputed keys takes milliseconds.

Roles for tests and automation (documented in the README):

- ``ADDRESS_ROLE``: ``(backend, path)`` for every row. A "loading…" or error row
  answers with the address of the node whose listing it stands for.
- ``ENTRY_ROLE``: the :class:`~polystore_gui.model.entries.Entry` of the row.
- ``ROW_KIND_ROLE``: ``"backend"``, ``"entry"``, ``"loading"`` or ``"error"``.
"""

from __future__ import annotations

import enum
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from qtpy.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from ..model.catalogue import BackendInfo, Capability, Discovery, Status
from ..model.entries import Entry, EntryKind
from ..model.listing import DEFAULT_BATCH, ListingError, describe, list_children
from . import icons
from .workers import WorkerPool

log = logging.getLogger(__name__)

ADDRESS_ROLE = int(Qt.ItemDataRole.UserRole) + 1
ENTRY_ROLE = int(Qt.ItemDataRole.UserRole) + 2
ROW_KIND_ROLE = int(Qt.ItemDataRole.UserRole) + 3

COLUMNS = ("Name", "Kind", "Size", "Shape", "Dtype", "Modified")
NAME, KIND, SIZE, SHAPE, DTYPE, MODIFIED = range(len(COLUMNS))

# Rows inserted per event-loop turn: bounds the GUI-thread time one turn can take.
DRAIN_ROWS = 4096


class State(enum.Enum):
    UNLISTED = "unlisted"
    LOADING = "loading"
    LISTED = "listed"
    FAILED = "failed"


class Node:
    """One row. The model's internal pointer; the view never sees it."""

    __slots__ = (
        "entry", "parent", "children", "row", "state", "pending", "generation",
        "job", "backend", "placeholder", "error_row", "sort_key", "alive",
    )

    def __init__(self, entry: Entry, parent: Node | None, *, backend: BackendInfo | None = None) -> None:
        self.entry = entry
        self.parent = parent
        self.children: list[Node] = []
        self.row = 0
        self.state = State.UNLISTED
        self.pending: list[Entry] = []
        self.generation = 0
        self.job: Any = None
        self.backend = backend
        self.placeholder = False
        self.error_row = False
        self.sort_key: Any = None
        self.alive = True

    @property
    def expandable(self) -> bool:
        if self.placeholder or self.error_row:
            return False
        if self.backend is not None:
            return _backend_browsable(self.backend)
        return self.entry.expandable

    @property
    def row_kind(self) -> str:
        if self.placeholder:
            return "loading"
        if self.error_row:
            return "error"
        return "backend" if self.backend is not None else "entry"

    def iter_subtree(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter_subtree()


def _backend_browsable(info: BackendInfo) -> bool:
    return info.status is Status.READY and info.capability in (Capability.READ_WRITE, Capability.READ_ONLY)


def _human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _fmt_time(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _kind_text(node: Node) -> str:
    if node.backend is not None:
        return node.backend.label
    entry = node.entry
    if node.placeholder:
        return ""
    if entry.error is not None:
        return f"error: {entry.error}" if node.error_row else f"{entry.kind.value} — {entry.error}"
    text = entry.kind.value
    if entry.detail and entry.kind in (
        EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.ZARR_STORE, EntryKind.OME_ZARR, EntryKind.GROUP
    ):
        text = f"{text} ({entry.detail})"
    return text


def _sort_key(node: Node, column: int) -> Any:
    e = node.entry
    folder_first = 0 if e.kind.expandable else 1
    name = e.name.casefold()
    if column == SIZE:
        return (folder_first, e.size if e.size is not None else -1, name)
    if column == MODIFIED:
        return (folder_first, e.modified or 0.0, name)
    if column == KIND:
        return (folder_first, e.kind.value, name)
    if column == SHAPE:
        return (folder_first, e.shape or (), name)
    if column == DTYPE:
        return (folder_first, e.dtype or "", name)
    return (folder_first, name)


class BackendTreeModel(QAbstractItemModel):
    """polystore's backends and their contents, listed lazily off the GUI thread."""

    storeMet = Signal(object)  # Entry: a zarr store seen while browsing disk
    listingFinished = Signal(object)  # QModelIndex-free: (backend, path) of the listed node
    listingFailed = Signal(object, str)  # (backend, path), message

    def __init__(self, workers: WorkerPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._root = Node(Entry("", "", "", EntryKind.ROOT), None)
        self._root.state = State.LISTED
        self._discovery: Discovery | None = None
        self._disk_roots: list[str] = []
        self._stores: dict[str, list[str]] = {"zarr": [], "ome_zarr": []}
        self._sort_column = NAME
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.show_hidden = False
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._on_drain_timer_timeout)
        self._draining: list[Node] = []
        self._to_start: list[Node] = []
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(0)
        self._start_timer.timeout.connect(self._on_start_timer_timeout)
        self._discovering = self._make_placeholder(self._root, "Discovering backends…")
        self._root.children = [self._discovering]

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

    def stores(self, backend: str) -> list[str]:
        return list(self._stores.get(backend, []))

    def set_discovery(self, discovery: Discovery) -> None:
        """Replace the "discovering" row by one top-level node per registered backend."""
        self.beginResetModel()
        self._discovery = discovery
        self._root.children = []
        for info in discovery.backends:
            path = "/" if info.key == "memory" else ""
            node = Node(Entry(info.key, path, info.key, EntryKind.BACKEND, error=info.error), self._root, backend=info)
            node.row = len(self._root.children)
            self._root.children.append(node)
            if info.key in ("disk", "zarr", "ome_zarr"):
                self._populate_roots(node)
        self.endResetModel()

    def discovery(self) -> Discovery | None:
        return self._discovery

    # -- index plumbing --------------------------------------------------------------------

    def node(self, index: QModelIndex) -> Node:
        if index.isValid():
            node = index.internalPointer()
            assert isinstance(node, Node)
            return node
        return self._root

    def index_for(self, node: Node, column: int = 0) -> QModelIndex:
        if node is self._root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def find(self, backend: str, path: str) -> QModelIndex:
        """The index of an already-listed row with this address (invalid when not loaded)."""
        for top in self._root.children:
            for node in top.iter_subtree():
                if not node.placeholder and not node.error_row and node.entry.backend == backend and node.entry.path == path:
                    return self.index_for(node)
        return QModelIndex()

    def backend_index(self, key: str) -> QModelIndex:
        for node in self._root.children:
            if node.backend is not None and node.backend.key == key:
                return self.index_for(node)
        return QModelIndex()

    def index(self, row: int, column: int, parent: QModelIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(COLUMNS) or row < 0:
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self.node(parent)
        if row >= len(node.children):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: QModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = self.node(index)
        parent = node.parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex = QModelIndex()) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        node = self.node(parent)
        if node.children:
            return True
        if node.state is State.UNLISTED or node.pending:
            return node.expandable
        return False

    def canFetchMore(self, parent: QModelIndex) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        node = self.node(parent)
        return bool(node.pending) or (node.state is State.UNLISTED and node.expandable)

    def fetchMore(self, parent: QModelIndex) -> None:
        # Views call this from inside their handlers of other changes (a re-expand during
        # layoutChanged, say); starting a change there would nest it. Defer by one turn.
        node = self.node(parent)
        if node.pending:
            self._schedule_drain(node)
            return
        if node.state is State.UNLISTED and node.expandable:
            node.state = State.LOADING
            self._to_start.append(node)
            self._start_timer.start()

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        node = self.node(index)
        if node.placeholder:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self.node(index)
        column = index.column()
        entry = node.entry
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return entry.name
            if column == KIND:
                return _kind_text(node)
            if column == SIZE:
                return _human_size(entry.size)
            if column == SHAPE:
                return "×".join(str(s) for s in entry.shape) if entry.shape is not None else ""
            if column == DTYPE:
                return entry.dtype or ""
            if column == MODIFIED:
                return _fmt_time(entry.modified)
            return None
        if role == ADDRESS_ROLE:
            return (entry.backend, entry.path)
        if role == ENTRY_ROLE:
            return entry
        if role == ROW_KIND_ROLE:
            return node.row_kind
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return icons.icon_for(node)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        if role == Qt.ItemDataRole.ForegroundRole:
            if node.placeholder or (node.backend is not None and node.backend.status is not Status.READY):
                return icons.muted_brush()
            if entry.error is not None or node.error_row:
                return icons.error_brush()
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_show_hidden(self, show: bool) -> None:
        """Show or hide dot-files on disk; relists what was listed."""
        if show != self.show_hidden:
            self.show_hidden = show
            self.refresh(QModelIndex())

    def _tooltip(self, node: Node) -> str:
        if node.backend is not None:
            info = node.backend
            lines = [
                f"{info.key} — {info.label}",
                info.context_detail or "",
                info.summary,
                f"{info.module}.{info.class_name}",
            ]
            if info.error:
                lines.append(f"Error: {info.error}")
            return "\n".join(line for line in lines if line)
        entry = node.entry
        if node.placeholder:
            return entry.name
        lines = [f"{entry.backend}:{entry.name if node.error_row else entry.path}"]
        if entry.detail:
            lines.append(entry.detail)
        if entry.error:
            lines.append(entry.error)
        return "\n".join(lines)

    # -- sorting ---------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = column
        self._sort_order = order
        nodes = [n for top in self._root.children for n in top.iter_subtree() if len(n.children) > 1]
        if not nodes:
            return
        self.layoutAboutToBeChanged.emit([], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)
        before = self.persistentIndexList()
        kept = [(self.node(i), i.column()) for i in before]
        for node in nodes:
            for child in node.children:
                child.sort_key = None
            self._sort_children(node)
        self.changePersistentIndexList(before, [self.createIndex(n.row, c, n) for n, c in kept])
        self.layoutChanged.emit([], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)

    def _sort_children(self, node: Node) -> None:
        """Order ``node.children`` (placeholders and error rows stay first) and renumber rows."""
        column = self._sort_column
        special = [c for c in node.children if c.placeholder or c.error_row]
        regular = [c for c in node.children if not (c.placeholder or c.error_row)]
        for child in regular:
            if child.sort_key is None:
                child.sort_key = _sort_key(child, column)
        reverse = self._sort_order == Qt.SortOrder.DescendingOrder
        regular.sort(key=lambda c: c.sort_key, reverse=reverse)
        if reverse:
            # Folders stay first whichever way names run.
            regular.sort(key=lambda c: c.sort_key[0])
        node.children = special + regular
        for i, child in enumerate(node.children):
            child.row = i

    # -- listing ---------------------------------------------------------------------------

    def _make_placeholder(self, parent: Node, text: str) -> Node:
        placeholder = Node(Entry(parent.entry.backend, parent.entry.path, text, EntryKind.ROOT), parent)
        placeholder.placeholder = True
        return placeholder

    def _on_start_timer_timeout(self) -> None:
        nodes, self._to_start = self._to_start, []
        for node in nodes:
            self._start_listing(node)

    def _start_listing(self, node: Node) -> None:
        if not node.alive:
            return
        node.state = State.LOADING
        node.generation += 1
        generation = node.generation
        parent_index = self.index_for(node)
        self.beginInsertRows(parent_index, 0, 0)
        placeholder = self._make_placeholder(node, "loading…")
        node.children.insert(0, placeholder)
        for i, child in enumerate(node.children):
            child.row = i
        self.endInsertRows()
        node.job = self._workers.start(
            _listing_job,
            node.entry,
            self.show_hidden,
            on_yield=lambda item, node=node, g=generation: self._on_listing_yield(node, g, item),
            on_return=lambda _r, node=node, g=generation: self._on_listing_done(node, g),
            on_error=lambda exc, node=node, g=generation: self._on_listing_error(node, g, exc),
        )

    def _current(self, node: Node, generation: int) -> bool:
        return node.alive and node.generation == generation

    def _on_listing_yield(self, node: Node, generation: int, item: tuple[str, list[Entry]]) -> None:
        if not self._current(node, generation):
            return
        what, entries = item
        if what == "rows":
            node.pending.extend(entries)
            self._schedule_drain(node)
        else:
            self._apply_details(node, entries)

    def _on_listing_done(self, node: Node, generation: int) -> None:
        if not self._current(node, generation):
            return
        node.job = None
        node.state = State.LISTED
        if not node.pending and node.children and node.children[0].placeholder:
            # Nothing was listed (an empty folder): the loading row goes.
            self._remove_placeholder(node)
        self.listingFinished.emit((node.entry.backend, node.entry.path))

    def _on_listing_error(self, node: Node, generation: int, exc: BaseException) -> None:
        if not self._current(node, generation):
            return
        node.job = None
        message = str(exc) if isinstance(exc, ListingError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ListingError):
            log.warning("listing %s:%s failed", node.entry.backend, node.entry.path, exc_info=exc)
        node.state = State.FAILED
        node.pending.clear()
        self._remove_placeholder(node)
        error_node = Node(Entry(node.entry.backend, node.entry.path, message, EntryKind.ERROR, error=message), node)
        error_node.error_row = True
        parent_index = self.index_for(node)
        self.beginInsertRows(parent_index, 0, 0)
        node.children.insert(0, error_node)
        for i, child in enumerate(node.children):
            child.row = i
        self.endInsertRows()
        self.listingFailed.emit((node.entry.backend, node.entry.path), message)

    def _remove_placeholder(self, node: Node) -> None:
        for i, child in enumerate(node.children):
            if child.placeholder:
                self.beginRemoveRows(self.index_for(node), i, i)
                child.alive = False
                del node.children[i]
                for j, c in enumerate(node.children):
                    c.row = j
                self.endRemoveRows()
                return

    def _schedule_drain(self, node: Node) -> None:
        if node not in self._draining:
            self._draining.append(node)
        if not self._drain_timer.isActive():
            self._drain_timer.start()

    def _on_drain_timer_timeout(self) -> None:
        budget = DRAIN_ROWS
        while self._draining and budget > 0:
            node = self._draining[0]
            budget -= self._drain(node, budget)
            if not node.pending or not node.alive:
                self._draining.pop(0)
        if self._draining:
            self._drain_timer.start()

    def _drain(self, node: Node, limit: int) -> int:
        """Insert up to ``limit`` queued rows of ``node``; returns how many went in."""
        if not node.alive or not node.pending:
            node.pending.clear()
            return 0
        take, node.pending = node.pending[:limit], node.pending[limit:]
        if node.state is State.LOADING:
            node.state = State.LISTED
        if node.children and node.children[0].placeholder:
            self._remove_placeholder(node)
        parent_index = self.index_for(node)
        first = len(node.children)
        new_nodes = []
        for entry in take:
            child = Node(entry, node)
            new_nodes.append(child)
        self.beginInsertRows(parent_index, first, first + len(new_nodes) - 1)
        for i, child in enumerate(new_nodes, first):
            child.row = i
        node.children.extend(new_nodes)
        self.endInsertRows()
        self._resort(node)
        for child in new_nodes:
            if child.entry.kind in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR) and child.entry.backend == "disk":
                self.storeMet.emit(child.entry)
        return len(take)

    def _resort(self, node: Node) -> None:
        """Put ``node``'s children back in order after rows were added or changed."""
        if len(node.children) < 2:
            return
        parent_index = QPersistentModelIndex(self.index_for(node))
        self.layoutAboutToBeChanged.emit([parent_index], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)
        before = [i for i in self.persistentIndexList() if i.isValid() and self.node(i).parent is node]
        kept = [(self.node(i), i.column()) for i in before]
        self._sort_children(node)
        self.changePersistentIndexList(before, [self.createIndex(n.row, c, n) for n, c in kept])
        self.layoutChanged.emit([parent_index], QAbstractItemModel.LayoutChangeHint.VerticalSortHint)

    def _apply_details(self, node: Node, updates: list[Entry]) -> None:
        by_path = {u.path: u for u in updates}
        touched = []
        for child in node.children:
            update = by_path.get(child.entry.path)
            if update is not None and not child.placeholder:
                was_store = child.entry.kind in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR)
                child.entry = update
                child.sort_key = None
                touched.append(child.row)
                if not was_store and update.kind in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR) and update.error is None:
                    self.storeMet.emit(update)
        # Updates for rows still queued (not drained yet) are merged into the queue.
        if len(touched) < len(by_path) and node.pending:
            node.pending = [by_path.get(e.path, e) for e in node.pending]
        if touched:
            parent_index = self.index_for(node)
            self.dataChanged.emit(
                self.index(min(touched), 0, parent_index),
                self.index(max(touched), len(COLUMNS) - 1, parent_index),
            )
            if self._sort_column != NAME or any(
                node.children[r].entry.kind.expandable for r in touched
            ):
                self._resort(node)

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self, index: QModelIndex) -> None:
        """List ``index`` again (its parent, when it is a leaf)."""
        node = self.node(index)
        while node is not self._root and not node.expandable and node.parent is not None:
            node = node.parent
        if node is self._root:
            for top in list(self._root.children):
                if top.state is not State.UNLISTED:
                    self._relist(top)
            return
        self._relist(node)

    def _relist(self, node: Node) -> None:
        was_listed = node.state is not State.UNLISTED
        if node.job is not None:
            node.job.quit()
            node.job = None
        node.generation += 1
        node.pending.clear()
        if node.backend is not None and node.backend.key in ("disk", "zarr", "ome_zarr"):
            # Roots are not listed by a worker: refresh each listed root instead.
            for child in list(node.children):
                if child.state is not State.UNLISTED:
                    self._relist(child)
            return
        if node.children:
            self.beginRemoveRows(self.index_for(node), 0, len(node.children) - 1)
            for child in node.children:
                for n in child.iter_subtree():
                    n.alive = False
                    if n.job is not None:
                        n.job.quit()
            node.children = []
            self.endRemoveRows()
        node.state = State.UNLISTED
        if was_listed:
            self._start_listing(node)

    # -- backend roots ---------------------------------------------------------------------

    def _populate_roots(self, backend_node: Node) -> None:
        key = backend_node.entry.backend
        paths = self._disk_roots if key == "disk" else self._stores.get(key, [])
        backend_node.children = [self._root_node(backend_node, p) for p in paths]
        for i, child in enumerate(backend_node.children):
            child.row = i
        backend_node.state = State.LISTED

    def _root_node(self, backend_node: Node, path: str, entry: Entry | None = None) -> Node:
        from ..model.listing import entry_for_path

        key = backend_node.entry.backend
        if entry is None:
            entry = entry_for_path("disk", path)
        home = os.path.expanduser("~")
        shown = path
        if key == "disk":
            shown = "~" + path[len(home):] if path == home or path.startswith(home + "/") else path
            if entry.kind in (EntryKind.DIRECTORY,):
                entry = entry.with_details(kind=EntryKind.ROOT)
        entry = entry.with_details(backend=key, name=shown)
        return Node(entry, backend_node)

    def _reset_backend_children(self, key: str) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return
        node = self.node(index)
        if node.children:
            self.beginRemoveRows(index, 0, len(node.children) - 1)
            for child in node.children:
                for n in child.iter_subtree():
                    n.alive = False
            node.children = []
            self.endRemoveRows()
        paths = self._disk_roots if key == "disk" else self._stores.get(key, [])
        if paths:
            self.beginInsertRows(index, 0, len(paths) - 1)
            self._populate_roots(node)
            self.endInsertRows()

    def _add_root_child(self, key: str, path: str, entry: Entry | None = None) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return  # discovery has not finished: set_discovery will add it
        node = self.node(index)
        row = len(node.children)
        self.beginInsertRows(index, row, row)
        child = self._root_node(node, path, entry)
        child.row = row
        node.children.append(child)
        self.endInsertRows()

    # -- shutdown --------------------------------------------------------------------------

    def cancel_all(self) -> None:
        for top in self._root.children:
            for node in top.iter_subtree():
                if node.job is not None:
                    node.job.quit()
                    node.job = None
                node.generation += 1
        self._draining.clear()
        self._drain_timer.stop()
        self._to_start.clear()
        self._start_timer.stop()


def _listing_job(entry: Entry, show_hidden: bool) -> Iterator[tuple[str, list[Entry]]]:
    """Worker body: all rows first (cheap), then their details (a stat or metadata read each)."""
    listed: list[Entry] = []
    for batch in list_children(entry, batch_size=DEFAULT_BATCH, show_hidden=show_hidden):
        listed.extend(batch)
        yield ("rows", batch)
    for update in describe(listed):
        yield ("details", update)
