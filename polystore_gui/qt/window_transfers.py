"""Transfer control: drops, Copy / Paste / Copy To, conflicts asked, the queue's results shown.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QModelIndex, Qt
from qtpy.QtWidgets import QCheckBox, QFileDialog, QInputDialog, QMenu, QMessageBox

from ..model.address import ENTRIES_MIME, Address
from ..model.backends import adapter_for
from ..model.entries import Entry, EntryKind
from .later import next_turn
from .tree_model import ENTRY_ROLE, ROW_KIND_ROLE

if TYPE_CHECKING:
    from .transfer_queue import Summary


class TransfersMixin:
    """Transfers started from the window: a drop on the tree, Ctrl+C / Ctrl+V, Copy To…; the
    conflict and move-into-memory questions; the Transfers queue's results shown as folders
    updated in place."""

    _starts_after_panel: list[Any] | None = None  # queued while the panel appears (_show_panel_then)

    def _on_tree_model_entries_dropped(self, backend: str, path: str, addresses: list[Address], action: object) -> None:
        if adapter_for(backend, path).capabilities.sink:
            self.viewer_link.send(addresses, backend)  # it says which sinks it cannot reach
            return
        destination = Address(backend, path)
        choice = "move" if action == Qt.DropAction.MoveAction else "copy"
        if not self._pasting and self._offers_conversion(addresses, destination):
            # The drop menu: copy or move as dropped, or a conversion to OME-Zarr 0.5.
            choice = self.drop_chooser(addresses, destination, choice)
        if choice == "convert":
            self.convert_drop(addresses, destination)
        elif choice in ("copy", "move"):
            self.drop(addresses, destination, move=choice == "move")
        else:
            self.statusBar().showMessage("Drop cancelled: nothing was copied.", 5000)

    # What the drop menu's conversion takes: arrays and OME images the tree shows, and TIFFs.
    CONVERTIBLE = (EntryKind.ARRAY, EntryKind.OME_ZARR)

    def _offers_conversion(self, sources: list[Address], destination: Address) -> bool:
        """Whether the drop menu offers "Convert to OME-Zarr 0.5": every source an array, an
        OME image or a TIFF the browser reads, dropped on a disk folder or a zarr group.

        The adapters decide: the destination's is writable and local (a folder or zarr group
        of this machine), a tree source's is local and chunk-inspectable (a zarr array or
        OME image on this machine: never a remote store), a TIFF's local."""
        from ..model.convert_items import convertible_name

        into = adapter_for(destination.backend, destination.path).capabilities
        if not (into.writable and into.local) or not sources:
            return False
        for source in sources:
            index = self.tree_model.find(source.backend, source.path)
            entry = index.data(ENTRY_ROLE) if index.isValid() else None
            if isinstance(entry, Entry) and entry.kind in self.CONVERTIBLE:
                held = adapter_for(entry.backend, entry.path).capabilities
                if held.local and held.chunk_inspectable:
                    continue
            if adapter_for(source.backend, source.path).capabilities.local and convertible_name(source.path):
                continue
            return False
        return True

    def _ask_drop(self, sources: list[Address], destination: Address, default: str) -> str:
        """The drop menu, at the pointer: Copy Here, Move Here, Convert to OME-Zarr 0.5 Here, Cancel."""
        from qtpy.QtGui import QCursor

        menu = QMenu(self)
        menu.setObjectName("dropMenu")
        choices = {
            menu.addAction("&Copy Here"): "copy",
            menu.addAction("&Move Here"): "move",
        }
        menu.addSeparator()
        convert = menu.addAction("Convert to OME-&Zarr 0.5 Here")
        convert.setToolTip("Write each array or image as an OME-Zarr 0.5 image with a pyramid beside what is "
                           "there (verified; the source stays)")
        choices[convert] = "convert"
        menu.addSeparator()
        choices[menu.addAction("Cancel")] = "cancel"
        menu.setActiveAction(next(a for a, c in choices.items() if c == default))
        chosen = menu.exec(QCursor.pos())
        return choices.get(chosen, "cancel")

    def convert_drop(self, sources: list[Address], destination: Address) -> None:
        """Convert ``sources`` to OME-Zarr 0.5 into ``destination`` as jobs of the Transfers
        panel: planned in a worker (where it lands, which names are taken), taken names asked
        about as for a copy, then converted one after another with progress and cancel."""
        self.statusBar().showMessage(f"Preparing to convert {len(sources)} item{'s' if len(sources) != 1 else ''}…")
        self.workers.start(_plan_convert_drop, list(sources), destination,
                           on_return=self._on_convert_planned, on_error=self._on_drop_plan_failed)

    def _planned_decisions(self, note: str | None, items: list[Any]) -> Any:
        """A planned drop or conversion back from its worker: its note (where it lands) shown
        in place of "Preparing…", then the taken names asked about; None when cancelled."""
        if note:
            self.statusBar().showMessage(note, 15_000)
        else:
            self.statusBar().clearMessage()
        return self._decide_conflicts(items)

    def _on_convert_planned(self, planned: tuple[str | None, list[Any]]) -> None:
        note, items = planned
        decisions = self._planned_decisions(note, items)
        if decisions is None:
            return
        self.workers.start(_decide_conversions, decisions, on_return=self._queue_conversions,
                           on_error=self._on_drop_plan_failed)

    def _queue_conversions(self, items: list[Any]) -> None:
        if items:
            self._show_panel_then(lambda: self.transfer_queue.start_conversions(items))

    def _show_panel_then(self, start: Any) -> None:
        """The Transfers panel shown, then ``start()`` (the queue's rows added, its job
        started): in the same turn when the panel is on screen already, else in the turn
        after its appearance (issue 19: the dock's appearance lays the window out again, the
        tree's name column refitted and the canvas beside it resized and redrawn; with the
        rows and the job's start in the same turn, 50-65 ms). Nothing starts once the window
        is shutting down. Starts asked for while the panel's appearance is under way wait
        behind the first, so queues start (and their rows show) in the order asked."""
        if self._starts_after_panel is not None:
            self._starts_after_panel.append(start)
            return
        if self.transfer_dock.isVisible():
            start()
            return
        self.transfer_dock.show()
        self._starts_after_panel = [start]

        def start_unless_shut_down() -> None:
            starts, self._starts_after_panel = self._starts_after_panel or [], None
            if not self._shut_down:
                for each in starts:
                    each()

        next_turn(self, start_unless_shut_down)

    def drop(self, sources: list[Address], destination: Address, *, move: bool = False) -> None:
        """A drop (or a paste): where it lands and what is taken there are read in a worker,
        then the taken names are asked about here, then the queue runs it.

        ``landing``: a drop on a zarr array goes into the folder or group that holds it (its
        metadata is read to know). Nothing here waits for the file system on the GUI thread.
        """
        move_asked = self._move_answer(sources, destination, move)
        if move_asked is None:
            return
        chunks = self.transfer_chunks()
        self.statusBar().showMessage(f"Preparing to {'move' if move_asked else 'copy'} "
                                     f"{len(sources)} item{'s' if len(sources) != 1 else ''}…")
        self.workers.start(_plan_drop, list(sources), destination, move_asked, chunks,
                           on_return=self._on_drop_planned, on_error=self._on_drop_plan_failed)
        next_turn(self, self._build_transfer_panel)

    def _build_transfer_panel(self) -> None:
        """The Transfers panel made (not shown) in a turn of its own while a drop is planned:
        made when first shown, it was part of the turn that brings the plan back, with the
        dock's appearance and the canvas laid out again beside it (issue 19)."""
        _ = self.transfer_queue

    def _on_drop_planned(self, planned: tuple[Address, str | None, list[Any], bool, Any]) -> None:
        destination, note, items, move, chunks = planned
        decisions = self._planned_decisions(note, items)
        if decisions is None:
            return
        if any(action not in (None, "rename") for _item, action, _name in decisions):
            # "keep both", "skip", "overwrite": planned again (a free name is looked for): in a worker.
            self.workers.start(_apply_decisions, decisions, destination, move, chunks,
                               on_return=self._queue_transfer, on_error=self._on_drop_plan_failed)
        else:
            self._queue_transfer(_apply_decisions(decisions, destination, move, chunks))

    def _on_drop_plan_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Not copied: {exc or type(exc).__name__}", 15_000)

    def transfer(self, sources: list[Address], destination: Address, *, move: bool = False) -> list[Any]:
        """Copy (or move) ``sources`` into ``destination``, asking about taken names first.

        Planned on the calling thread, and the planned items returned (scripts, tests and the
        benchmarks call it); the window's own drops and pastes go through ``drop``.
        """
        from ..model import transfers

        move_asked = self._move_answer(sources, destination, move)
        if move_asked is None:
            return []
        chunks = self.transfer_chunks()
        items = transfers.plan(sources, destination, move=move_asked, measure=False, chunks=chunks,
                               allow_volatile_move=move_asked)
        decisions = self._decide_conflicts(items)
        if decisions is None:
            return []
        decided = _apply_decisions(decisions, destination, move_asked, chunks)
        self._queue_transfer(decided)
        return decided

    def _move_answer(self, sources: list[Address], destination: Address, move: bool) -> bool | None:
        """Whether to move (a move into memory is asked about first); None: cancelled."""
        from ..model.backends import adapter_for

        if move and adapter_for(destination.backend).capabilities.volatile:  # plan() refuses it: ask instead
            answer = self.volatile_move_resolver(sources, destination)
            if answer == "cancel":
                self.statusBar().showMessage("Move cancelled: nothing was copied or deleted.", 5000)
                return None
            return answer == "move"
        return move

    def _decide_conflicts(self, items: list[Any]) -> list[tuple[Any, str | None, str | None]] | None:
        """Ask about each taken name: [(item, action or None when free, new name)]; None: cancelled."""
        decisions: list[tuple[Any, str | None, str | None]] = []
        policy_for_all: tuple[str, str | None] | None = None
        left = sum(1 for item in items if item.conflict)
        for item in items:
            if not item.conflict:
                decisions.append((item, None, None))
                continue
            choice = policy_for_all
            if choice is None:
                self._conflicts_left = left  # the dialog offers "apply to all" when more than one
                action, name, to_all = self.conflict_resolver(item)
                choice = (action, name)
                if to_all and action != "rename":
                    policy_for_all = choice
            action, name = choice
            left -= 1
            if action == "cancel":
                self.statusBar().showMessage("Transfer cancelled: nothing was copied.", 5000)
                return None
            decisions.append((item, action if (action != "rename" or name) else "skip", name))
        return decisions

    def _queue_transfer(self, decided: list[Any]) -> None:
        if decided:
            self._show_panel_then(lambda: self.transfer_queue.start(decided))

    def _ask_volatile_move(self, sources: list[Address], destination: Address) -> str:
        """A move into memory would leave the only copy in this program's RAM: copy instead
        (the default), move anyway, or cancel."""
        from ..model import transfers

        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Move into memory?")
        count = f"{len(sources)} item{'s' if len(sources) != 1 else ''}"
        box.setText(f"Moving {count} into {destination} would delete the source.")
        box.setInformativeText(transfers.volatile_move_warning(destination).capitalize() + ".\n\n"
                               "Copy instead keeps the source where it is.")
        copy = box.addButton("Copy Instead", QMessageBox.ButtonRole.AcceptRole)
        move = box.addButton("Move Anyway", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(copy)
        box.setEscapeButton(cancel)
        box.exec()
        return {copy: "copy", move: "move"}.get(box.clickedButton(), "cancel")

    _conflicts_left = 1  # conflicts not yet decided, this one included (_decide_conflicts)

    def _ask_conflict(self, item: Any) -> tuple[str, str | None, bool]:
        """Skip, overwrite, keep both, rename or cancel, for one taken name (and maybe all)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Name already taken")
        box.setText(f"{item.destination} already exists.")
        box.setInformativeText(f"Copying {item.source}. What should happen?")
        buttons = {
            box.addButton("Skip", QMessageBox.ButtonRole.RejectRole): "skip",
            box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole): "overwrite",
            box.addButton("Keep Both", QMessageBox.ButtonRole.AcceptRole): "keep both",
            box.addButton("Rename…", QMessageBox.ButtonRole.ActionRole): "rename",
            box.addButton(QMessageBox.StandardButton.Cancel): "cancel",
        }
        to_all = QCheckBox("Apply to all remaining conflicts")  # no parent: shown only when set
        if self._conflicts_left > 1:  # this one and more: else there is nothing to apply it to
            box.setCheckBox(to_all)
        box.exec()
        action = buttons.get(box.clickedButton(), "cancel")
        name = None
        if action == "rename":
            current = item.destination.path.rstrip("/").rsplit("/", 1)[-1]
            name, ok = QInputDialog.getText(self, "Rename", "New name:", text=current)
            if not ok:
                return "cancel", None, False
        return action, name, to_all.isChecked()

    def _on_transfer_queue_transfer_finished(self, summary: Summary) -> None:
        self.statusBar().showMessage(summary.text + (f" — {summary.errors[0]}" if summary.errors else ""), 15_000)
        arrived, self._arrived = self._arrived, set()
        self._update_folders(arrived)

    def _on_transfer_queue_item_finished(self, outcome: Any) -> None:
        """Show what arrived (and what left, for a move): the folders involved update their rows
        in place (what is expanded, the current row, the selection and the preview stay)."""
        if outcome.status != "done":
            return
        item = outcome.item
        # Gathered, and listed again once the transfer (this start of the queue) has ended:
        # a job of many items walks each folder once, not once per item.
        self._arrived.update((address.backend, address.path) for address in (item.destination, item.source))

    def _update_folders(self, changed: Iterable[tuple[str, str]]) -> None:
        """Merge a fresh listing into every shown folder holding one of ``changed`` (backend, path).

        ``update`` (as after a transfer), not ``refresh``: what is expanded, the current row
        and the selection stay. A folder never listed is left alone; a store shows under
        disk and zarr alike, so each is updated wherever it shows.
        """
        folders = {(backend, path.rstrip("/").rsplit("/", 1)[0] or "/")
                   for key, path in changed for backend in {key, "disk", "zarr"}}
        for backend, folder in sorted(folders):
            for index in self.tree_model.find_all(backend, folder):
                self.tree_model.update(index)

    def copy_selection(self) -> None:
        """Ctrl+C: the selected entries on the clipboard as a drag carries them
        (application/x-polystore-entries, file URLs as text/uri-list) and as addresses in text."""
        from qtpy.QtWidgets import QApplication

        from .tree_model import entries_mime

        entries = [e for e in self.selected_entries() if e.error is None]
        if not entries:
            self.statusBar().showMessage("Nothing to copy: select files, folders or arrays.", 5000)
            return
        mime = entries_mime([Address(e.backend, e.path) for e in entries])
        mime.setText("\n".join(f"{e.backend}:{e.path}" for e in entries))
        QApplication.clipboard().setMimeData(mime)
        self.statusBar().showMessage(f"Copied {len(entries)} entr{'ies' if len(entries) != 1 else 'y'}: "
                                     "paste into a folder with Ctrl+V", 5000)

    def _paste_target(self) -> QModelIndex | None:
        """The tree model's index a paste drops onto (the selected folder), if it takes the clipboard."""
        from qtpy.QtWidgets import QApplication

        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return None
        table = self.folder_list.table
        index = QModelIndex()
        if self._folder_list_in_use():
            entry = table.currentIndex().data(ENTRY_ROLE) if table.currentIndex().isValid() else None
            if isinstance(entry, Entry) and entry.expandable:
                index = self.tree_model.find(entry.backend, entry.path)
            elif self.folder_list.model.folder is not None:
                index = self.tree_model.find(*self.folder_list.model.folder)
        else:
            index = self.proxy.mapToSource(self.tree.currentIndex())
        if not index.isValid():
            return None
        if not self.tree_model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index):
            # A file selected: into the folder that holds it, as a file manager pastes.
            parent = index.parent()
            if index.data(ROW_KIND_ROLE) != "entry" or not parent.isValid() or \
                    not self.tree_model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, parent):
                return None
            index = parent
        return index

    def paste_into_current(self) -> bool:
        """Ctrl+V: what the clipboard holds into the selected folder, through the same path as a drop."""
        from qtpy.QtWidgets import QApplication

        index = self._paste_target()
        if index is None:
            mime = QApplication.clipboard().mimeData()
            has = mime is not None and (mime.hasFormat(ENTRIES_MIME) or mime.hasUrls())
            self.statusBar().showMessage(
                "Cannot paste here: select a folder, a zarr store or group, or memory." if has else
                "Nothing to paste: copy entries (Ctrl+C) or files first.", 8000)
            return False
        mime = QApplication.clipboard().mimeData()
        self._pasting = True  # a paste copies: no drop menu
        try:
            return bool(self.tree_model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index))
        finally:
            self._pasting = False

    def copy_selection_to(self, destination: str | None = None) -> str | None:
        """Copy To…: the selected entries into a folder, store or address (asked when not given),
        through the transfer engine. Returns why it cannot, or None when on its way."""
        from ..model.address import UnknownBackendError, parse_address
        from ..model import transfers

        entries = [e for e in self.selected_entries() if e.error is None]
        if not entries:
            self.statusBar().showMessage("Select the entries to copy first.", 5000)
            return "nothing selected"
        asked = destination is None
        if destination is None:
            destination = self.destination_asker(entries)
            if destination is None:
                return None
        text = destination.strip()
        error = None
        if not text:
            error = "Type a folder, a zarr store or an address such as memory:/results."
        else:
            known = self.tree_model.backend_keys() or ["disk", "memory", "zarr", "ome_zarr"]
            try:
                target = parse_address(os.path.expanduser(text), known)
            except (UnknownBackendError, ValueError) as exc:
                error = str(exc)
            else:
                if adapter_for(target.backend, target.path).capabilities.sink:
                    error = f"{target.backend} takes arrays to show, not copies: use Send to napari Viewer"
                elif not transfers.is_folder(target):
                    error = (f"{target} does not exist" if not transfers.exists(target)
                             else f"{target} is not a folder, a zarr store or group")
        if error is not None:
            self.statusBar().showMessage(f"Not copied: {error}", 10_000)
            if asked:
                QMessageBox.warning(self, "Cannot copy there", error)
            return error
        self.transfer([Address(e.backend, e.path) for e in entries], target)
        return None

    def _ask_destination(self, entries: list[Entry]) -> str | None:
        """Where to copy ``entries``: an address, a path, or a folder picked in a dialog."""
        places = [*self.session.recent(), *self.tree_model.disk_roots()]
        browse = "Choose a folder…"
        what = entries[0].name if len(entries) == 1 else f"{len(entries)} entries"
        text, ok = QInputDialog.getItem(
            self, "Copy to", f"Copy {what} into: a folder, a zarr store or group, or an address such as "
            "memory:/results", [*dict.fromkeys(places), browse], 0, True)
        if not ok:
            return None
        if text == browse:
            path = QFileDialog.getExistingDirectory(self, f"Copy {what} into", os.path.expanduser("~"))
            return path or None
        return str(text)


def _plan_drop(sources: list[Address], destination: Address, move: bool, chunks: Any
               ) -> tuple[Address, str | None, list[Any], bool, Any]:
    """In a worker: where a drop on ``destination`` lands, and its items planned there."""
    from ..model import transfers

    landed, note = transfers.landing(destination)  # a zarr array: the folder holding it
    items = transfers.plan(sources, landed, move=move, measure=False, chunks=chunks, allow_volatile_move=move)
    return landed, note, items, move, chunks


def _plan_convert_drop(sources: list[Address], destination: Address) -> tuple[str | None, list[Any]]:
    """In a worker: where a conversion dropped on ``destination`` lands, and its items there."""
    from ..model import convert_items, transfers

    landed, note = transfers.landing(destination)  # a zarr array: the folder holding it
    return note, convert_items.plan(sources, landed)


def _decide_conversions(decisions: list[tuple[Any, str | None, str | None]]) -> list[Any]:
    """In a worker: the conversions to run once each taken name is answered."""
    from ..model import convert_items

    return [convert_items.decide(item, action, name) for item, action, name in decisions]


def _apply_decisions(decisions: list[tuple[Any, str | None, str | None]], destination: Address, move: bool,
                     chunks: Any) -> list[Any]:
    """The items to run once each taken name is decided (a worker's or the GUI's: it looks
    for free names, for "keep both")."""
    from ..model import transfers

    decided: list[Any] = []
    for item, action, name in decisions:
        if action is None:
            decided.append(item)
        elif action == "rename" and name:
            decided.append(transfers.rename_to(item, name))
        else:
            policy = {"skip": transfers.Conflict.SKIP, "overwrite": transfers.Conflict.OVERWRITE,
                      "keep both": transfers.Conflict.RENAME}[action]
            decided.extend(transfers.plan([item.source], destination, on_conflict=policy, move=move,
                                          measure=False, chunks=chunks, allow_volatile_move=move))
    return decided
