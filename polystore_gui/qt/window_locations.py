"""Where the tree looks: roots and stores added, locations opened, the session's recent ones.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

import os

from qtpy.QtCore import QUrl
from qtpy.QtGui import QDragEnterEvent, QDropEvent
from qtpy.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ..model.address import Address
from ..model.entries import Entry, EntryKind
from ..model.listing import entry_for_path
from ..model.remote_access import RemoteOptions
from ..model.remote_address import is_remote_path
from .tree_model import ADDRESS_ROLE, ROW_KIND_ROLE


class LocationsMixin:
    """Roots and stores added or removed, Open Location and Open Recent, addresses copied, and
    folders dropped from the desktop onto the window (they become roots)."""

    def choose_disk_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to browse", os.path.expanduser("~"))
        if path:
            self.add_disk_root(path)

    def add_disk_root(self, path: str, *, remember: bool = True) -> None:
        """Show ``path`` as a disk root; ``remember``: reopen it at the next start (the session)."""
        path = os.path.abspath(path)
        self.tree_model.add_disk_root(path)
        if remember:
            self.session.add_root(path)
        self.statusBar().showMessage(f"Added {path}", 4000)

    def choose_location(self) -> None:
        """File → Open Location… (Ctrl+O): a path or an address, with the recent ones to pick from."""
        text, ok = QInputDialog.getItem(
            self, "Open location",
            "A path, or an address such as zarr:/data/plate.zarr/A/1/0, memory:/results or\n"
            "a remote store's URL (s3://bucket/plate.zarr, https://host/image.zarr):",
            self.session.recent(), 0, True)
        if not ok or not text.strip():
            return
        error = self.open_location(text)
        if error is not None:
            QMessageBox.warning(self, "Cannot open location", error)

    def open_location(self, text: str) -> str | None:
        """Show ``text`` (path or address) in the tree: add its root or store, reveal and select it.

        Returns None when on its way, else why it cannot be shown (also in the status bar).
        """
        from ..model.locate import LocationError, locate

        known = self.tree_model.backend_keys() or ["disk", "memory", "zarr", "ome_zarr"]
        try:
            stores = [Address(b, p) for b in ("zarr", "ome_zarr") for p in self.tree_model.stores(b)]
            location = locate(text, known, disk_roots=self.tree_model.disk_roots(), stores=stores)
        except LocationError as exc:
            self.statusBar().showMessage(str(exc), 10_000)
            return str(exc)
        if location.root is not None:
            if location.root_backend == "disk":
                self.add_disk_root(location.root)
            else:
                self._add_store(Address(location.root_backend or "zarr", location.root))
        self.session.remember(str(location.target) if location.target.backend != "disk" else location.target.path)
        self._location_note = (location.target, location.note)
        self.navigator.reveal(location.target, location.via)
        return None

    _location_note: tuple[Address, str | None] | None = None

    def _on_navigator_revealed(self, address: object) -> None:
        note = self._location_note
        if note is not None and note[0] == address and note[1]:
            self.statusBar().showMessage(note[1])  # the row shown is not exactly what was typed: why
        self._location_note = None

    def _on_navigator_failed(self, address: object, message: str) -> None:
        self.statusBar().showMessage(message)  # kept until the next message: the user must see it

    def restore_session(self) -> None:
        """Reopen the roots and stores the user added last time (those that still exist)."""
        if not self.session.reopen:
            return
        for path in reversed(self.session.roots()):
            if os.path.isdir(path):
                self.tree_model.add_disk_root(path)
        for address in reversed(self.session.stores()):
            if is_remote_path(address.path):  # reopened as it was: its options, no request now
                from ..model.remote_access import set_store_options
                from .remote_dialog import saved_options

                options = saved_options(address.path)
                if options is not None:
                    set_store_options(address.path, options)
                self._add_store(address)
            elif os.path.isdir(address.path):
                self.tree_model.add_store(entry_for_path(address.backend, address.path).with_details(backend=address.backend))

    def _on_recent_menu_about_to_show(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.session.recent()
        for text in recent:
            action = menu.addAction(text)
            action.triggered.connect(lambda _checked=False, t=text: self._open_recent(t))
        if not recent:
            menu.addAction("No recent locations").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Menu")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(self.session.clear_recent)

    def _open_recent(self, text: str) -> None:
        error = self.open_location(text)
        if error is not None:
            QMessageBox.warning(self, "Cannot open location", error)

    def selected_roots(self) -> list[tuple[str, str]]:
        """The selected rows that are disk roots or opened stores, as (backend, path)."""
        out = []
        for index in self.tree.selectionModel().selectedRows(0):
            source = self.proxy.mapToSource(index)
            parent = source.parent()
            if source.data(ROW_KIND_ROLE) == "entry" and parent.isValid() and parent.data(ROW_KIND_ROLE) == "backend":
                backend, path = source.data(ADDRESS_ROLE)
                out.append((parent.data(ADDRESS_ROLE)[0], path))
        return out

    def remove_selected_roots(self) -> None:
        """Take the selected roots or stores out of the tree and out of the session."""
        removed = 0
        for backend, path in self.selected_roots():
            if self.tree_model.remove_root(backend, path):
                removed += 1
                if backend == "disk":
                    self.session.remove_root(path)
                else:
                    self.session.remove_store(Address(backend, path))
        if not removed:
            self.statusBar().showMessage("Select a folder under disk, or a store under zarr, to remove it.", 5000)

    def copy_selected_addresses(self) -> None:
        """Put the selected rows' addresses (BACKEND:PATH, one per line) on the clipboard."""
        from qtpy.QtWidgets import QApplication

        lines = [f"{e.backend}:{e.path}" for e in self.selected_entries()]
        if lines:
            QApplication.clipboard().setText("\n".join(lines))
            self.statusBar().showMessage(f"Copied {len(lines)} address{'es' if len(lines) != 1 else ''}", 3000)

    def choose_store(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a zarr store (its folder)", os.path.expanduser("~"))
        if path:
            self.open_store(path)

    def open_store(self, path: str) -> bool:
        entry = entry_for_path("zarr", os.path.abspath(path))
        if entry.kind not in (EntryKind.ZARR_STORE, EntryKind.PLATE, EntryKind.OME_ZARR, EntryKind.ARRAY):
            QMessageBox.warning(self, "Not a zarr store", f"{path} holds no zarr.json, .zgroup or .zarray.")
            return False
        self.tree_model.add_store(entry)
        backend = "ome_zarr" if entry.kind is EntryKind.OME_ZARR else "zarr"
        self.session.add_store(Address(backend, entry.path))
        return True

    def _add_store(self, address: Address) -> None:
        if is_remote_path(address.path):  # no request on the GUI thread: the row is listed by a worker
            from ..model.remote_zarr import provisional_entry

            entry = provisional_entry(address.backend, address.path)
        else:
            entry = entry_for_path("zarr", address.path).with_details(backend=address.backend)
        self.tree_model.add_store(entry)
        self.session.add_store(address)

    def choose_remote_store(self) -> None:
        """File → Open Remote Store…: a URL on S3 or HTTP(S), a profile, an endpoint, anonymous."""
        from .remote_dialog import RemoteStoreDialog

        dialog = RemoteStoreDialog(self)
        self._remote_dialog = dialog  # tests drive it; closed when done
        try:
            if dialog.exec() != RemoteStoreDialog.DialogCode.Accepted:
                return
            self.open_remote_store(dialog.url(), dialog.options())
        finally:
            self._remote_dialog = None
            dialog.deleteLater()

    _remote_dialog = None

    def open_remote_store(self, url: str, options: RemoteOptions) -> None:
        """Show the remote store ``url`` under zarr (its rows are read by workers), read as
        ``options`` say; the options (names and URLs only) are kept for the next time."""
        from ..model.remote_access import set_store_options
        from .remote_dialog import save_options

        set_store_options(url, options)
        save_options(url, options)
        self._add_store(Address("zarr", url))
        self.session.remember(f"zarr:{url}")
        self.navigator.reveal(Address("zarr", url), None)
        self._remote_awaited = self._remote_awaited | {url}
        self.statusBar().showMessage(f"Opening {url}… (remote: its metadata is read over the network)")

    # Remote stores whose answer the user waits for: opened now, or not reached last time.
    _remote_awaited: frozenset[str] = frozenset()

    def _on_tree_model_remote_root_read(self, address: tuple[str, str], entry: Entry) -> None:
        """A remote store's metadata read (opened now, reopened, refreshed): a failure is
        said whenever it comes (what, why, what to do); a success when the user waits for
        it (the store being opened, or one that had failed), not for every store a session
        reopens or a refresh reads again."""
        url = address[1]
        if entry.error is not None:
            self._remote_awaited = self._remote_awaited | {url}  # its success, later, is said too
            why = entry.error.removeprefix(url).lstrip("/")  # the file it read, named under the store
            self.statusBar().showMessage(  # kept until the next message; what to do first (a long why is cut)
                f"Could not open {url} — Refresh (F5) on its row tries again, Remove from Tree takes it out. {why}")
        elif url in self._remote_awaited:
            self._remote_awaited = self._remote_awaited - {url}
            self.statusBar().showMessage(f"Opened {url}: {entry.kind.value} (remote: its rows are read over the network)",
                                         6000)

    def refresh_current(self) -> None:
        index = self.proxy.mapToSource(self.tree.currentIndex())
        self.tree_model.refresh(index)

    def _on_tree_model_store_met(self, entry: Entry) -> None:
        self.tree_model.add_store(entry)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls() and any(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        added = 0
        for url in event.mimeData().urls():
            if isinstance(url, QUrl) and url.isLocalFile() and os.path.isdir(url.toLocalFile()):
                self.add_disk_root(url.toLocalFile())
                added += 1
        if added:
            event.acceptProposedAction()
