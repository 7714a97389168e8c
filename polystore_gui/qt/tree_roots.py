"""The backend tree's top rows: one per registered backend, and under disk, zarr and
ome_zarr the places the user opened (disk roots, zarr stores) rather than a listing."""

from __future__ import annotations

import os

from qtpy.QtCore import QModelIndex

from ..model.catalogue import Discovery
from ..model.entries import Entry, EntryKind
from ..model.folder_state import FolderState, Phase
from ..model.listing import entry_for_path
from ..model.remote_address import is_remote_path
from .tree_nodes import SIZE, Node, opened_places


def home_shortened(path: str) -> str:
    """``path`` with the user's home folder written ``~`` (a root's name in the tree)."""
    home = os.path.expanduser("~")
    return "~" + path[len(home):] if path == home or path.startswith(home + "/") else path


def _volatile(key: str) -> bool:
    """Whether the adapter of ``key`` says its contents live in this process (memory)."""
    from ..model.backends import claimed_adapter

    adapter = claimed_adapter(key)
    return adapter is not None and adapter.capabilities.volatile


class TreeRoots:
    """Part of :class:`~polystore_gui.qt.tree_model.BackendTreeModel` (a mixin: its state is
    the model's): discovery's backends, the disk roots and the opened stores."""

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
            path = "/" if _volatile(info.key) else ""  # memory: one root, "/", the keys under it
            node = Node(Entry(info.key, path, info.key, EntryKind.BACKEND, error=info.error), self._root, backend=info)
            self._root.children.append(node)
            if opened_places(info.key):
                self._populate_roots(node)
        self._root.renumber()
        self.endResetModel()

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
            self._places_counted(top)
        return True

    def _places_counted(self, index: QModelIndex) -> None:
        """The top row's Size cell counts its places: repainted when they change."""
        size = index.siblingAtColumn(SIZE)
        self.dataChanged.emit(size, size)

    def stores(self, backend: str) -> list[str]:
        return list(self._stores.get(backend, []))

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
        # A local root (a folder, or a store opened under zarr) is named with home as ~;
        # its tooltip has the whole address. A remote store's URL is shown as it is.
        shown = path if is_remote_path(path) else home_shortened(path)
        if key == "disk":
            if entry.kind is EntryKind.DIRECTORY:
                entry = entry.with_details(kind=EntryKind.ROOT)
        return self._learnt_when_remote(Node(entry.with_details(backend=key, name=shown), backend_node))

    def _reset_backend_children(self, key: str) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return
        node = self.node(index)
        self._remove_rows(node, 0, len(node.children))
        paths = self._disk_roots if key == "disk" else self._stores.get(key, [])
        self._insert_nodes(node, 0, [self._root_node(node, p) for p in paths])
        self._places_counted(index)

    def _add_root_child(self, key: str, path: str, entry: Entry | None = None) -> None:
        index = self.backend_index(key)
        if not index.isValid():
            return  # discovery has not finished: set_discovery will add it
        node = self.node(index)
        self._insert_nodes(node, len(node.children), [self._root_node(node, path, entry)])
        self._places_counted(index)

