"""What is selected and where it goes: the preview, the chunk inspector, the folder list, the viewers.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QModelIndex, QPersistentModelIndex, QSignalBlocker, Qt

from ..model.address import Address
from ..model.entries import Entry, EntryKind
from . import window_layout
from .later import call_later, next_turn
from .tree_model import ENTRY_ROLE, ROW_KIND_ROLE, State
from .viewer_link import NAPARI


class SelectionMixin:
    """Selection routing: the tree's or the folder list's current row to the preview (and the
    chunk inspector when it is open); the folder list kept in step with the tree model;
    the selection sent to the persistent viewers."""

    # What "Send to napari viewer" takes: things that can hold an image.
    SENDABLE = (
        EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.OME_ZARR, EntryKind.IMAGE_FILE,
        EntryKind.ARRAY_FILE, EntryKind.VIRTUAL_FILE, EntryKind.OBJECT,
    )

    INSPECTABLE = (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.OME_ZARR)

    def show_folder_list(self, index: QModelIndex) -> bool:
        """Show every entry of the listed folder ``index`` (a source index) below the tree."""
        model = self.tree_model
        node = model.node(index)
        folder = model.folder_state(index)
        if node.state is not State.LISTED or node.backend is not None or folder is None:
            return False
        self.folder_list.show_folder(folder, node.entry.name)  # it follows the folder from now on
        self.folder_list.set_filter(self.filter_edit.text())
        return True

    def _folder_list_index(self) -> QModelIndex:
        folder = self.folder_list.model.folder
        return self.tree_model.find(*folder) if folder is not None else QModelIndex()

    def _on_tree_model_listing_finished(self, address: tuple[str, str]) -> None:
        index = self.tree_model.find(*address)
        if not index.isValid():
            return
        if self.folder_list.model.state is self.tree_model.folder_state(index):
            return  # the list shows this folder's state already, and follows it itself
        if address == self.folder_list.model.folder or (
                self.tree_model.is_large(index) and self.tree.isExpanded(self.proxy.mapFromSource(index))):
            # A large folder opened (or the one the list showed, listed anew under a new row):
            # all its entries below, one event-loop turn later (the tree lays out its page in
            # between: two short pauses rather than one long).
            persistent = QPersistentModelIndex(index)
            call_later(self, 0, lambda: persistent.isValid() and self.show_folder_list(QModelIndex(persistent)))

    def _on_tree_model_details_progress(self, address: tuple[str, str], remaining: int) -> None:
        if remaining:
            self.statusBar().showMessage(f"Reading the sizes and times of {remaining:,} entries of {address[1]} to sort them…")
        else:
            self.statusBar().showMessage("Sorted.", 3000)

    def _on_folder_list_sort_requested(self, column: int, order: Qt.SortOrder) -> None:
        self.tree.sortByColumn(column, order)  # one order for the tree and the list

    def _on_folder_list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._list_last_used = True
        if current.isValid():
            self._show_entry(current.data(ENTRY_ROLE))

    def _on_folder_list_double_clicked(self, index: QModelIndex) -> None:
        entry = index.data(ENTRY_ROLE)
        if isinstance(entry, Entry) and entry.expandable:
            self.navigator.reveal(Address(entry.backend, entry.path))
            self.tree.expand(self.tree.currentIndex())

    def _on_folder_list_context_menu_requested(self, pos: Any) -> None:
        self._list_last_used = True
        self.tree_context_menu(from_list=True).popup(self.folder_list.table.viewport().mapToGlobal(pos))

    def _on_tree_activated(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if source.data(ROW_KIND_ROLE) == "more":
            self.show_folder_list(source.parent())
            self.folder_list.table.setFocus()

    def _show_welcome(self) -> None:
        self.preview.show_message(
            "polystore-gui",
            "Select an entry in the tree to preview it.\n\n"
            "Expand disk to browse folders, memory for in-process arrays, and zarr / ome_zarr "
            "for the stores you opened or met while browsing.",
        )

    def _on_tree_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._list_last_used = False  # what the selection actions act on: the tree's selection
        if not current.isValid():
            self._show_welcome()
            return
        source = self.proxy.mapToSource(current)
        kind = source.data(ROW_KIND_ROLE)
        if kind == "backend":
            info = self.tree_model.node(source).backend
            assert info is not None
            facts = {
                "backend": info.key,
                "capability": info.label,
                "status": info.status.value,
                "context": info.context_detail or "",
                "class": f"{info.module}.{info.class_name}",
                "about": info.summary,
                "error": info.error or "",
            }
            text = f"{info.key}: {info.label}"
            if info.context_detail:
                text += f"\n\n{info.context_detail}"
            if info.error:
                text += f"\n\n{info.error}"
            self.preview.show_message(info.key, text, {k: v for k, v in facts.items() if v})
            return
        entry: Entry = source.data(ENTRY_ROLE)
        if kind == "more":
            self.preview.show_message(entry.name, "Double-click this row (or press Enter) to show every entry of "
                                      "the folder in the folder list below the tree.")
            return
        if kind in ("loading", "error") or entry.kind is EntryKind.ERROR:
            self.preview.show_message(entry.name, entry.error or entry.name)
            return
        self._show_entry(entry)

    def _show_entry(self, entry: Entry) -> None:
        """Preview an entry (and inspect its chunks when the inspector is open)."""
        if entry.kind is EntryKind.ERROR:
            self.preview.show_message(entry.name, entry.error or entry.name)
            return
        self.preview.request(entry.backend, entry.path)
        if self._inspecting():
            self._inspector_opening = None  # chosen since the inspector opened: this one, not that
            self._inspect(entry)

    def set_inspector_visible(self, visible: bool) -> None:
        """Show or hide the chunk inspector beside the preview (View → Chunk Inspector)."""
        if self.inspector_action.isChecked() != visible:
            self.inspector_action.setChecked(visible)
            return
        if not visible:
            self._inspector_opening = None  # an opening's inspection, if still to come: dropped
            if self._inspector is not None:
                from . import chunk_refit

                viewer = self.preview.viewer.viewer if self.preview.viewer.is_ready else None
                fitted = chunk_refit.at_fit(viewer)  # before the canvas widens (as on opening)
                self.inspector.clear()
                self.overlay.detach()
                shown = not self.inspector.isHidden()
                self.inspector.hide()
                if shown:
                    self._give_back_inspector_room()
                if shown and fitted:
                    next_turn(self, lambda: self.preview.viewer.viewer is viewer and self.inspector.isHidden()
                              and chunk_refit.refit(viewer))
            return
        current = self.proxy.mapToSource(self.tree.currentIndex())
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        self._open_inspector(entry if isinstance(entry, Entry) else None)

    def _open_inspector(self, entry: Entry | None) -> None:
        """Open the inspector beside the preview, in turns of its own (issue 19): the panel
        shown and the canvas narrowed (and redrawn); the view fitted again if it was at the
        preview's fit (chunk_refit); then ``entry`` inspected. Each turn checks that
        nothing changed its ground in between (closed, or another array asked for)."""
        from . import chunk_refit

        viewer = self.preview.viewer.viewer if self.preview.viewer.is_ready else None
        fitted = chunk_refit.at_fit(viewer)
        opening = self.inspector.isHidden()
        if opening:
            self._tree_before_inspector = self.splitter.sizes()[0]
        self.inspector.show()
        sizes = self.splitter.sizes()
        inspector_minimum = max(self.inspector.minimumWidth(), self.inspector.minimumSizeHint().width())
        minimums = (self._left.minimumWidth(), self._fit_preview_minimum(), inspector_minimum)
        if opening or sizes[2] < minimums[2] or sizes[0] < minimums[0] or sizes[1] < minimums[1]:
            # The room for the canvas: the tree narrower while the inspector is open.
            self.splitter.setSizes(window_layout.inspector_sizes(sum(sizes), sizes[0], minimums))
        address = self.inspector.address
        self._inspector_opening = entry

        def refit() -> None:
            if not self.inspector.isHidden() and fitted and self.preview.viewer.viewer is viewer:
                chunk_refit.refit(viewer)
            next_turn(self, inspect)

        def inspect() -> None:
            if self._inspector_opening is not entry:
                return
            self._inspector_opening = None
            # isHidden, not isVisible: a window not shown (yet) inspects all the same.
            if entry is None or self.inspector.isHidden() or self.inspector.address != address:
                return  # closed, or an array inspected meanwhile
            self._inspect(entry)
            if self.preview.current is not None:
                self._on_preview_shown(self.preview.current)

        next_turn(self, refit)

    _tree_before_inspector: int | None = None  # the tree's width before the inspector opened

    def _give_back_inspector_room(self) -> None:
        """The inspector closed: the tree at the width it had before it opened (it was
        narrowed for the canvas), the preview the rest."""
        tree, self._tree_before_inspector = self._tree_before_inspector, None
        if tree is None:
            return
        self.splitter.setSizes(self._sizes_inspector_closed(tree))

    def _sizes_inspector_closed(self, tree: int) -> list[int]:
        """The splitter's sizes with the inspector closed and the tree back at ``tree``."""
        return window_layout.sizes_after_inspector(
            sum(self.splitter.sizes()), tree, self._left.minimumWidth(), self.preview.minimumWidth())

    def _inspect(self, entry: Entry) -> None:
        if self._inspectable(entry):
            self.inspector.inspect(entry.backend, entry.path)
        else:
            self.overlay.detach()
            self.inspector.clear(f"{entry.name} is not a zarr array: select an array (or an OME-Zarr image) "
                                 "to see how it is stored.")

    def _fit_preview_minimum(self) -> int:
        """The preview's minimum width set to what napari's canvas and its layer controls
        beside it need, each at its own minimum (never under ``PREVIEW_MIN_WIDTH``), and
        returned. With a fixed 320 px, opening the chunk inspector narrowed the preview
        below that and napari's controls were cut off on the right (their values,
        "continuous"): now the main splitter takes the room from the tree and the inspector.
        Never more than the window leaves beside the tree's and the open inspector's own
        minimums: a preview wider than its place was drawn over the inspector."""
        pane = self.preview.viewer
        minimum = self.PREVIEW_MIN_WIDTH
        if pane.is_ready and pane.width() > 0:
            margins = max(0, self.preview.width() - pane.width())  # the preview's own layout around the pane
            others = self._left.minimumWidth() + self.splitter.handleWidth()
            if self._inspector is not None and not self._inspector.isHidden():
                others += self._inspector.minimumSizeHint().width() + self.splitter.handleWidth()
            room = self.splitter.width() - others
            minimum = max(minimum, min(pane.minimumSizeHint().width() + margins, room))
        if self.preview.minimumWidth() != minimum:
            self.preview.setMinimumWidth(minimum)
        return minimum

    def _on_preview_shown(self, preview: Any) -> None:
        self.prepare_inspector()  # ahead, hidden, in idle turns (once; after the first preview at the latest)
        self._fit_preview_minimum()  # this layer's controls may want more room than the last one's
        if not self._inspecting() or self.inspector.address != (preview.backend, preview.path):
            return
        images = [layer for layer in self.preview.shown_layers if type(layer).__name__ == "Image"]
        if not images:
            return
        spec = preview.layers[0] if preview.layers else None
        self.overlay.attach(images[0], channel_axis=getattr(spec, "channel_axis", None), channel=0)

    def _inspectable(self, entry: Entry) -> bool:
        from ..model.chunk_layout import chunk_inspectable
        from ..model.remote_address import is_remote_path

        # A remote store's own row is made without a request (remote_zarr.provisional_entry),
        # so its kind says "store" whether the URL names an array, an OME-NGFF image or a
        # group: the inspector reads which (a group is refused there, with its own words).
        remote_store = entry.kind is EntryKind.ZARR_STORE and is_remote_path(entry.path)
        return (entry.kind in self.INSPECTABLE or remote_store) and chunk_inspectable(entry.backend, entry.path)

    def inspect_selected(self) -> None:
        """Inspect Chunks: open the chunk inspector on the selected zarr array and preview it."""
        entries = self.selected_entries()
        if len(entries) != 1 or not self._inspectable(entries[0]):
            self.statusBar().showMessage("Select one zarr array (or OME-Zarr image) to inspect its chunks.", 5000)
            return
        entry = entries[0]
        if not self._inspecting():
            with QSignalBlocker(self.inspector_action):
                self.inspector_action.setChecked(True)
            self._open_inspector(entry)  # the entry inspected in a turn of its own
        elif self.inspector.address != (entry.backend, entry.path):
            self._inspect(entry)
        current = self.preview.current
        if current is None or (current.backend, current.path) != (entry.backend, entry.path):
            self.preview.request(entry.backend, entry.path)

    def _folder_list_in_use(self) -> bool:
        """Whether the selection is the folder list's (it has the focus, or its context menu is open)."""
        return self.folder_list.isVisible() and (self.folder_list.table.hasFocus() or self._list_last_used)

    def selected_entries(self) -> list[Entry]:
        """The selected rows' entries (one per row, in view order), backends and placeholders left out.

        From the folder list when it has the focus (or its context menu is open), else the tree.
        """
        table = self.folder_list.table
        if self._folder_list_in_use():
            return [table.model().entry(i.row()) for i in sorted(table.selectionModel().selectedRows(0), key=lambda i: i.row())]
        rows = sorted(self.tree.selectionModel().selectedRows(0), key=lambda i: (self.tree.visualRect(i).top(), i.row()))
        entries = []
        for index in rows:
            source = self.proxy.mapToSource(index)
            if source.data(ROW_KIND_ROLE) == "entry":
                entries.append(source.data(ENTRY_ROLE))
        return entries

    def _on_plate_view_send_requested(self, addresses: list[Address]) -> None:
        """The plate view's Send Wells to Viewer: every field of the chosen wells, one layer each."""
        self.viewer_link.send(addresses, NAPARI)

    def _on_plate_view_mosaic_requested(self, named: tuple[str, Any]) -> None:
        """The plate view's Send Mosaic: the thumbnails, laid out as the plate, as one image.

        It is put in polystore's memory backend (this process) and sent from there like any
        other array, so the viewer link's one sending path serves it."""
        from ..model.listing import memory_backend

        name, pixels = named
        folder = "/plate-mosaics"
        backend = memory_backend()
        if not backend.exists(folder):
            backend.ensure_directory(folder)
        path = f"{folder}/{name.replace('/', '_')}"
        if backend.exists(path):
            backend.delete(path)
        backend.save(pixels, path)
        self.viewer_link.send([Address("memory", path)], NAPARI)

    def send_selection(self, sink: str = NAPARI) -> None:
        """Send the selected arrays to the napari viewer (or Fiji); the work runs in a worker."""
        entries = [e for e in self.selected_entries() if e.kind in self.SENDABLE]
        if not entries:
            self.statusBar().showMessage("Select one or more arrays or images to send.", 5000)
            return
        self.viewer_link.send([Address(e.backend, e.path) for e in entries], sink)
