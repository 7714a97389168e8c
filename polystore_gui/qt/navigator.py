"""Going to an address: File → Open Location… (Ctrl+O), Open Recent, and the session.

:class:`Navigator` reveals a row that may not be listed yet: it expands the nearest
shown ancestor, waits for that listing (the tree's ``listingFinished``/``listingFailed``
signals, never a timer), and goes on one level at a time until the row is there, then
selects it. :class:`Session` keeps, with QSettings, the roots and stores the user added
(restored at the next start) and the locations opened lately (File → Open Recent).
"""

from __future__ import annotations

import os
from typing import Any

from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import QAbstractItemView

from ..model.address import Address
from ..model.backends import adapter_for
from ..model.hidden_names import is_hidden_name, is_polystore_lock
from ..model.locate import not_found
from . import settings_writes
from .tree_model import State

MAX_STEPS = 64  # levels a reveal may descend (a path deeper than this is not revealed)


class Navigator(QObject):
    """Reveals an address in the window's tree, listing its ancestors as needed."""

    revealed = Signal(object)  # Address: selected and scrolled to
    failed = Signal(object, str)  # Address, why it could not be shown

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._target: Address | None = None
        self._via: str | None = None
        self._steps = 0
        model = window.tree_model
        model.listingFinished.connect(self._on_tree_model_listing_finished)
        model.listingFailed.connect(self._on_tree_model_listing_failed)

    @property
    def busy(self) -> bool:
        return self._target is not None

    def reveal(self, address: Address, via: str | None = None) -> None:
        """Select ``address`` in the tree, listing the folders above it first when needed.

        ``via``: the path of the row whose children hold it, when its own path does not say
        (a polystore virtual file is a child of its array).
        """
        window = self._window
        if window.filter_edit.text():
            window.filter_edit.clear()  # a filter could hide the row being revealed
        self._target = address
        self._via = via
        self._steps = 0
        self._updated: set[str] = set()  # folders listed again during this reveal
        self._step()

    def cancel(self) -> None:
        self._target = None

    def _step(self) -> None:
        target = self._target
        if target is None:
            return
        window = self._window
        model = window.tree_model
        self._steps += 1
        index = model.find(target.backend, target.path) if target.path else model.backend_index(target.backend)
        if index.isValid():
            self._target = None
            shown = window.proxy.mapFromSource(index)
            window.tree.setCurrentIndex(shown)
            window.tree.scrollTo(shown, QAbstractItemView.ScrollHint.PositionAtCenter)
            self.revealed.emit(target)
            return
        ancestor = model.deepest_shown_ancestor(target.backend, self._via or target.path)
        if not ancestor.isValid() or self._steps > MAX_STEPS:
            self._fail(f"{target} is not in the tree (add its folder or store first)")
            return
        node = model.node(ancestor)
        shown = window.proxy.mapFromSource(ancestor)
        if node.state is State.FAILED:
            window.tree.setCurrentIndex(shown)
            error = node.children[0].entry.error if node.children else None
            self._fail(f"Cannot show {target}: {node.entry.path} (the last part of the path found) could not be "
                       f"listed" + (f": {error}" if error else ""))
            return
        if node.state is State.LISTED:
            wanted = self._via if self._via and node.entry.path != self._via else target.path
            if model.holds_unshown(ancestor, wanted):
                # Beyond the page a large folder shows in the tree: in the folder list.
                window.show_folder_list(ancestor)
                if wanted == target.path and window.folder_list.select_path(target.path):
                    self._target = None
                    self.revealed.emit(target)
                else:
                    self._fail(f"{os.path.basename(wanted)} is in the folder list below the tree")
                return
            if window.tree.isExpanded(shown) or not node.expandable:
                folder = node.entry.path.rstrip("/") or "/"
                part = _next_part(wanted, folder)
                hidden = not model.show_hidden and is_hidden_name(  # a dot-name, or polystore's lock file
                    part, folder=is_polystore_lock(part) and os.path.isdir(os.path.join(folder, part)))
                if (node.expandable and not hidden and folder not in self._updated
                        and adapter_for(target.backend, target.path).capabilities.local
                        and os.path.lexists(os.path.join(folder, part))):
                    # There on disk, not in the rows: listed before it was made. List it again
                    # (rows merged, nothing else moves); its listingFinished steps on.
                    self._updated.add(folder)
                    model.update(ancestor)
                    return
                window.tree.setCurrentIndex(shown)  # the last part found
                if hidden:
                    hint = " (hidden: View → Show Hidden Files)"
                elif not node.expandable:
                    hint = f" ({node.entry.name} has no rows below it)"
                else:
                    hint = ""
                self._fail(f"Cannot show {target}: {not_found(part, folder)}{hint}")
                return
            window.tree.expand(shown)
            QTimer.singleShot(0, self._step)
            return
        # Not listed yet, or being listed: expanding asks for the listing; its end steps on.
        window.tree.expand(shown)
        if model.canFetchMore(ancestor):
            model.fetchMore(ancestor)

    def _fail(self, message: str) -> None:
        target, self._target = self._target, None
        self.failed.emit(target, message)

    def _on_tree_model_listing_finished(self, _address: object) -> None:
        if self._target is not None:
            QTimer.singleShot(0, self._step)

    def _on_tree_model_listing_failed(self, _address: object, _message: str) -> None:
        if self._target is not None:
            QTimer.singleShot(0, self._step)


def _next_part(path: str, folder: str) -> str:
    """The name under ``folder`` on the way to ``path`` (``path``'s own name when not below it)."""
    rest = path[len(folder):].lstrip("/") if path.startswith(folder.rstrip("/") + "/") else ""
    return rest.split("/", 1)[0] if rest else os.path.basename(path.rstrip("/"))


class Session:
    """What the user opened, kept with QSettings: roots and stores for the next start, recent places.

    Written through ``settings_writes``: the settings file's write and flush run off the GUI
    thread (Open Location remembers each place opened), and the values read back at once."""

    ROOTS = "session/roots"
    STORES = "session/stores"  # "backend:path" strings
    RECENT = "recent/locations"
    REOPEN = "session/reopen"
    LIMIT = 10

    @staticmethod
    def _list(key: str) -> list[str]:
        value = settings_writes.read(key, [])
        if value is None:
            return []
        if isinstance(value, str):  # QSettings gives back a one-item list as its item
            return [value] if value else []
        return [str(v) for v in value if v]

    @staticmethod
    def _set(key: str, values: list[str]) -> None:
        settings_writes.write(key, list(values))  # the file's write and flush: off the GUI thread

    def _push(self, key: str, value: str, limit: int | None = None) -> None:
        values = [value, *(v for v in self._list(key) if v != value)]
        self._set(key, values[:limit] if limit else values)

    def _drop(self, key: str, value: str) -> None:
        self._set(key, [v for v in self._list(key) if v != value])

    # roots and stores reopened at the next start
    @property
    def reopen(self) -> bool:
        return str(settings_writes.read(self.REOPEN, "true")).lower() in ("true", "1")

    @reopen.setter
    def reopen(self, value: bool) -> None:
        settings_writes.write(self.REOPEN, "true" if value else "false")

    def roots(self) -> list[str]:
        return self._list(self.ROOTS)

    def stores(self) -> list[Address]:
        out = []
        for text in self._list(self.STORES):
            backend, _, path = text.partition(":")
            if backend in ("zarr", "ome_zarr") and path:
                out.append(Address(backend, path))
        return out

    def add_root(self, path: str) -> None:
        self._push(self.ROOTS, path)
        self.remember(path)

    def remove_root(self, path: str) -> None:
        self._drop(self.ROOTS, path)

    def add_store(self, address: Address) -> None:
        self._push(self.STORES, str(address))
        self.remember(str(address))

    def remove_store(self, address: Address) -> None:
        self._drop(self.STORES, str(address))

    # File → Open Recent
    def recent(self) -> list[str]:
        return self._list(self.RECENT)

    def remember(self, location: str) -> None:
        self._push(self.RECENT, location, self.LIMIT)

    def clear_recent(self) -> None:
        self._set(self.RECENT, [])


__all__ = ["MAX_STEPS", "Navigator", "Session"]
