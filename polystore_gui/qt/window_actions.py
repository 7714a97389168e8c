"""The window's menus, toolbar, context menu and help boxes.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QAction, QKeySequence
from qtpy.QtWidgets import QMenu, QMessageBox

from .. import __version__
from . import icons
from .tree_model import ROW_KIND_ROLE, State
from .viewer_link import FIJI, NAPARI


class ActionsMixin:
    """The menus and toolbar (every QAction the window has), the tree's and folder list's context
    menu, and the Help menu's boxes."""

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_location_action = self._action("Open &Location…", QKeySequence.StandardKey.Open, self.choose_location)
        self.open_location_action.setToolTip("Go to a path or an address such as zarr:/data/plate.zarr/A/1/0 (Ctrl+O)")
        self.add_root_action = self._action("Add &Folder…", None, self.choose_disk_root)
        self.open_store_action = self._action("Open &Zarr Store…", "Ctrl+Shift+O", self.choose_store)
        self.open_remote_action = self._action("Open Re&mote Store…", None, self.choose_remote_store)
        self.open_remote_action.setToolTip("A zarr or OME-Zarr store on S3 or HTTP(S): its URL, and the AWS "
                                           "profile, endpoint or anonymous access to read it with")
        self.refresh_action = self._action("&Refresh", QKeySequence.StandardKey.Refresh, self.refresh_current)
        self.refresh_action.setShortcuts([QKeySequence("F5")])
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        self.quit_action.setShortcuts([QKeySequence("Ctrl+Q")])
        for action in (self.open_location_action, self.add_root_action, self.open_store_action,
                       self.open_remote_action):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        self.remove_root_action = self._action("Remove from &Tree", None, self.remove_selected_roots)
        self.remove_root_action.setToolTip("Take the selected folder or store out of the tree (nothing is deleted)")
        self.copy_address_action = self._action("Copy &Address", None, self.copy_selected_addresses)
        file_menu.addAction(self.remove_root_action)
        file_menu.addSeparator()
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        self.delete_action = self._action("&Delete…", QKeySequence.StandardKey.Delete, self.delete_selection)
        self.delete_action.setObjectName("deleteAction")
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tree.addAction(self.delete_action)
        self.removeAction(self.delete_action)
        edit_menu.addAction(self.delete_action)
        # Copy and paste for transfers (the same MIME data as a drag, and the same path as a
        # drop), Rename, Copy To, Inspect Chunks: on the tree and the folder list.
        self.copy_action = self._action("&Copy", QKeySequence.StandardKey.Copy, self.copy_selection)
        self.copy_action.setObjectName("copyAction")
        self.copy_action.setToolTip("Put the selected entries on the clipboard, to paste into a folder (Ctrl+V)")
        self.paste_action = self._action("&Paste", QKeySequence.StandardKey.Paste, self.paste_into_current)
        self.paste_action.setObjectName("pasteAction")
        self.paste_action.setToolTip("Copy what is on the clipboard into the selected folder, as a drop does")
        self.rename_action = self._action("Re&name…", "F2", lambda: self.rename_selected())
        self.rename_action.setObjectName("renameAction")
        self.copy_to_action = self._action("Copy &To…", None, lambda: self.copy_selection_to())
        self.copy_to_action.setObjectName("copyToAction")
        self.copy_to_action.setToolTip("Copy the selected entries into a folder, store or address you type")
        self.inspect_action = self._action("&Inspect Chunks", None, self.inspect_selected)
        self.inspect_action.setObjectName("inspectChunksAction")
        for action in (self.copy_action, self.paste_action, self.rename_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.tree.addAction(action)
            self.folder_list.table.addAction(action)
            self.removeAction(action)
        self.folder_list.table.addAction(self.delete_action)
        edit_menu.addActions([self.copy_action, self.paste_action, self.copy_to_action, self.rename_action])
        edit_menu.addSeparator()
        self.settings_action = self._action("&Settings…", QKeySequence.StandardKey.Preferences, self.show_settings)
        self.settings_action.setShortcuts([QKeySequence("Ctrl+,")])
        edit_menu.addAction(self.settings_action)
        view_menu = self.menuBar().addMenu("&View")
        self.filter_action = self._action("&Filter…", QKeySequence.StandardKey.Find, self._focus_filter)
        view_menu.addAction(self.filter_action)
        self.hidden_action = QAction("Show &Hidden Files", self)
        self.hidden_action.setCheckable(True)
        self.hidden_action.toggled.connect(self.tree_model.set_show_hidden)
        view_menu.addAction(self.hidden_action)
        self.inspector_action = QAction("&Chunk Inspector", self)
        self.inspector_action.setObjectName("chunkInspectorAction")
        self.inspector_action.setCheckable(True)
        self.inspector_action.setShortcut(QKeySequence("Ctrl+K"))
        self.inspector_action.setToolTip("How the selected zarr array is stored, chunk by chunk (Ctrl+K)")
        self.inspector_action.toggled.connect(self.set_inspector_visible)
        self.addAction(self.inspector_action)
        view_menu.addAction(self.inspector_action)
        transfers_action = self.transfer_dock.toggleViewAction()
        transfers_action.setText("&Transfers")
        view_menu.addAction(transfers_action)
        view_menu.addSeparator()
        self.exact_stats_action = self._action("Compute Exact &Statistics", None, self.exact_stats.start)
        self.exact_stats_action.setToolTip("Read every chunk of the shown array (on dask) for its exact range, mean, "
                                           "percentiles and histogram; the contrast limits become the exact range")
        view_menu.addAction(self.exact_stats_action)
        view_menu.addAction(self._action("Dask Scheduler for Exact Statistics…", None,
                                         lambda: self.exact_stats.choose_scheduler(self)))
        view_menu.addAction(self._action("Preview &Size Limit…", None, self.choose_size_limit))
        view_menu.addAction(self._action("&Chunks for Arrays Copied into Zarr…", None, self.choose_transfer_chunks))
        viewer_menu = self.menuBar().addMenu("&Viewer")
        self.send_action = self._action("&Send to napari Viewer", "Ctrl+Shift+N", lambda: self.send_selection(NAPARI))
        self.send_action.setObjectName("sendToNapariAction")
        self.send_action.setToolTip("Stream the selected arrays to the persistent napari viewer (started when none runs)")
        self.send_fiji_action = self._action("Send to &Fiji", None, lambda: self.send_selection(FIJI))
        self.start_viewer_action = self._action("S&tart napari Viewer", None, self.viewer_link.start_viewer)
        self.stop_viewer_action = self._action("St&op napari Viewer", None, self.viewer_link.stop_viewer)
        for action in (self.send_action, self.send_fiji_action):
            viewer_menu.addAction(action)
        viewer_menu.addSeparator()
        viewer_menu.addAction(self.start_viewer_action)
        viewer_menu.addAction(self.stop_viewer_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard Shortcuts", None, self._show_shortcuts))
        help_menu.addAction(self._action("&About polystore-gui", None, self._show_about))
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action, icon in (
            (self.add_root_action, "folder"),
            (self.open_store_action, "zarr-store"),
            (self.refresh_action, "refresh"),
            (self.inspector_action, "array"),
            (self.send_action, "backend-sink"),
        ):
            action.setIcon(icons.named(icon))
            toolbar.addAction(action)

    def _action(self, text: str, shortcut: Any, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def tree_context_menu(self, *, from_list: bool = False) -> QMenu:
        """The tree's (or the folder list's) context menu for the current selection, built fresh."""
        menu = QMenu(self.folder_list.table if from_list else self.tree)
        sendable = any(e.kind in self.SENDABLE for e in self.selected_entries())
        for action in (self.send_action, self.send_fiji_action):
            action.setEnabled(sendable)
            menu.addAction(action)
        menu.addSeparator()
        entries = self.selected_entries()
        menu.addAction(self.copy_address_action)
        self.copy_address_action.setEnabled(bool(entries))
        # Enabled only where the backend allows it (the rules Delete and Rename follow).
        deletable, _refused = self.deletable_selection()
        self.copy_action.setEnabled(bool(entries))
        self.copy_to_action.setEnabled(bool(entries))
        self.paste_action.setEnabled(self._paste_target() is not None)
        self.rename_action.setEnabled(len(entries) == 1 and len(deletable) == 1 and self._renamable(deletable[0]))
        self.delete_action.setEnabled(bool(deletable))
        self.inspect_action.setEnabled(len(entries) == 1 and self._inspectable(entries[0]))
        # As View's: on the array the preview shows, so only once the row's array is the one shown.
        shown = self.preview.current
        self.exact_stats_action.setEnabled(len(entries) == 1 and shown is not None and shown.is_array
                                           and shown.path == entries[0].path)
        menu.addSeparator()
        for action in (self.copy_action, self.paste_action, self.copy_to_action, self.rename_action,
                       self.delete_action, self.inspect_action, self.exact_stats_action):
            menu.addAction(action)
        menu.aboutToHide.connect(self._enable_edit_actions)
        menu.addSeparator()
        if not from_list and self.selected_roots():
            menu.addAction(self.remove_root_action)
        if not from_list:
            current = self.proxy.mapToSource(self.tree.currentIndex())
            if current.isValid() and self.tree_model.node(current).state is State.LISTED and current.data(ROW_KIND_ROLE) == "entry":
                show = menu.addAction("Show in Folder &List")
                show.triggered.connect(lambda _c=False, i=current: self.show_folder_list(i))
        menu.addAction(self.refresh_action)
        return menu

    def _on_tree_context_menu_requested(self, pos: Any) -> None:
        self.tree_context_menu().popup(self.tree.viewport().mapToGlobal(pos))

    def _enable_edit_actions(self) -> None:
        """The shortcuts work whatever the menu last showed: each action checks when run."""
        for action in (self.copy_action, self.paste_action, self.copy_to_action, self.rename_action,
                       self.delete_action, self.inspect_action, self.exact_stats_action):
            action.setEnabled(True)

    def _show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+O", "Open a location: a path, or an address such as zarr:/data/plate.zarr/A/1/0"),
            ("Ctrl+Shift+O", "Open a zarr store"),
            ("Ctrl+F", "Filter the tree by name (Esc clears the filter)"),
            ("Ctrl+C / Ctrl+V", "Copy the selected entries; paste them into the selected folder (a verified copy)"),
            ("F2", "Rename the selected entry"),
            ("F5", "Refresh the selected folder"),
            ("Ctrl+K", "Show or hide the chunk inspector"),
            ("Ctrl+Shift+N", "Send the selected arrays to the napari viewer"),
            ("Delete", "Delete the selected entries (asks first)"),
            ("Ctrl+,", "Settings"),
            ("Ctrl+Q", "Quit"),
        ]
        text = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def about_text(self) -> str:
        """The About box's text: this program and the versions it runs with."""
        from importlib import metadata

        from qtpy import PYQT_VERSION, QT_VERSION

        def version(name: str) -> str:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                return "not installed"

        import platform

        rows = [("polystore", version("polystore")), ("napari", version("napari")), ("zarr", version("zarr")),
                ("numpy", version("numpy")), ("Qt", str(QT_VERSION)), ("PyQt", str(PYQT_VERSION)),
                ("Python", platform.python_version())]
        table = "".join(f"<tr><td>{name}</td><td><b>{value}</b></td></tr>" for name, value in rows)
        return (f"<h3>polystore-gui {__version__}</h3>"
                "<p>A desktop storage browser for polystore: its backends in a tree, arrays in napari, "
                "zarr chunks inspected, verified copies between backends, a persistent napari viewer.</p>"
                f"<table cellspacing='6'>{table}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(self, "About polystore-gui", self.about_text())
