"""Delete and Rename from the window: what may be changed, the confirmation, the work in a worker.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

import os
from typing import Any

from qtpy.QtWidgets import QInputDialog, QMessageBox

from ..model.address import Address, path_under
from ..model.backends import adapter_for
from ..model.entries import Entry, EntryKind
from .tree_model import ADDRESS_ROLE, ENTRY_ROLE, ROW_KIND_ROLE


class EditsMixin:
    """Delete (to the trash where there is one) and Rename: which selected rows may be changed
    and why not, the confirmation, and the work run in a worker."""

    # What Delete removes: entries whose adapter is writable (disk, memory, zarr stores on
    # this machine) -- Rename: renamable -- never a root or a backend.

    def why_not_deletable(self, entry: Entry, *, root: bool = False, verb: str = "delete") -> str | None:
        """Why Delete (or ``verb``: Rename) leaves ``entry`` alone (None: it can be done).
        ``root``: a row right under a backend (a folder or store the user opened)."""
        where = f"{entry.backend}:{entry.path}"
        if root or entry.kind is EntryKind.ROOT:
            return (f"{where} is a root of the tree: it cannot be {verb}d here "
                    "(Remove from Tree takes it out of the tree; nothing on disk changes)")
        if entry.kind is EntryKind.BACKEND:
            return f"{entry.backend} is a backend: it cannot be {verb}d"
        if entry.error is not None:
            return f"{where} could not be read: there is nothing known to {verb}"
        if entry.kind is EntryKind.VIRTUAL_FILE:
            return f"{where} is a plane of a polystore array: {verb} the array that holds it"
        capabilities = adapter_for(entry.backend, entry.path).capabilities
        if not (capabilities.renamable if verb == "rename" else capabilities.writable):
            if capabilities.remote:
                return f"{where}: a remote store is read-only here"
            return f"{where}: the {entry.backend} backend is read-only here"
        return None

    def deletable_selection(self, verb: str = "delete") -> tuple[list[Entry], list[str]]:
        """(the selected entries Delete removes, why each other selected row is left alone);
        ``verb`` names the action in the reasons (Rename asks with "rename")."""
        rows: list[tuple[Entry, bool]] = []  # (entry, is a root of the tree)
        reasons: list[str] = []
        if self._folder_list_in_use():
            rows = [(e, False) for e in self.selected_entries()]
        else:
            selected = self.tree.selectionModel().selectedRows(0)
            for index in sorted(selected, key=lambda i: (self.tree.visualRect(i).top(), i.row())):
                source = self.proxy.mapToSource(index)
                kind = source.data(ROW_KIND_ROLE)
                if kind == "backend":
                    reasons.append(f"{source.data(ADDRESS_ROLE)[0]} is a backend: it cannot be {verb}d")
                elif kind == "entry":
                    parent = source.parent()
                    rows.append((source.data(ENTRY_ROLE), parent.isValid() and parent.data(ROW_KIND_ROLE) == "backend"))
        deletable = []
        for entry, root in rows:
            reason = self.why_not_deletable(entry, root=root, verb=verb)
            if reason is None:
                deletable.append(entry)
            else:
                reasons.append(reason)
        return deletable, reasons

    def delete_selection(self) -> None:
        """Delete the selected entries after asking (Delete key); folders go with their contents.

        Backends, roots of the tree, virtual files and read-only backends are left alone, and
        the status bar says why. Entries go to the desktop trash where there is one (the
        dialog says which ones have none and are deleted for good); the work runs in a worker
        and ``deleteFinished`` says when it is over.
        """
        entries, refused = self.deletable_selection()
        left = ""
        if refused:
            left = "; ".join(refused[:2]) + (f"; and {len(refused) - 2} more" if len(refused) > 2 else "")
        if not entries:
            self.statusBar().showMessage(left or "Nothing to delete here: select files, folders or arrays.", 15_000)
            return
        # To the trash where there is one; never through a link out of the root it is listed
        # under. Finding that out is I/O (a slow mount, a large trash volume): in a worker,
        # and the question is asked when the plans are back.
        count = f"{len(entries)} item{'s' if len(entries) != 1 else ''}"
        self.statusBar().showMessage(f"Preparing to delete {count}…")
        wanted = [(Address(e.backend, e.path), self._listed_root(e)) for e in entries]
        self.workers.start(_plan_deletes, wanted,
                           on_return=lambda plans: self._on_delete_planned(entries, plans, left),
                           on_error=self._on_delete_plan_failed)

    def _on_delete_planned(self, entries: list[Entry], plans: list[Any], left: str) -> None:
        """Delete's plans are back: say what is refused, ask, then delete in a worker."""
        refused_here = [p.error for p in plans if p.error]
        if refused_here:
            left = "; ".join(filter(None, [left, *refused_here[:2]]))
        kept = [(e, p) for e, p in zip(entries, plans) if p.error is None]
        if not kept:
            self.statusBar().showMessage(f"Not deleted: {left}", 15_000)
            return
        self.statusBar().clearMessage()
        entries, plans = [e for e, _ in kept], [p for _, p in kept]
        names = "\n".join(f"{e.backend}:{e.path}" for e in entries[:12]) + (f"\n… and {len(entries) - 12} more" if len(entries) > 12 else "")
        permanent = [str(p.address) for p in plans if p.permanent]
        if not self.delete_confirmer(entries, names, permanent):
            return
        self.statusBar().showMessage(f"Deleting {len(entries)} item{'s' if len(entries) != 1 else ''}…")
        # A preview of what goes stops first: its reads would fail midway, and its layers
        # would be built for data that is being removed.
        self.preview.release_under([(e.backend, e.path) for e in entries], "Deleted: no longer previewed.")
        self.workers.start(_delete_planned, plans, on_return=lambda results: self._on_deleted(entries, results, left))

    def _on_delete_plan_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Not deleted: {exc or type(exc).__name__}", 15_000)

    def _listed_root(self, entry: Entry) -> str | None:
        """The folder of the tree ``entry`` is listed under (the longest root holding its path)."""
        if not adapter_for(entry.backend, entry.path).capabilities.local:
            return None  # memory, a remote store: no folder of this machine holds it
        roots = [r for r in self.tree_model.disk_roots() if path_under(entry.path, r)]
        return max(roots, key=len) if roots else None

    def _on_deleted(self, entries: list[Entry], results: list[tuple[bool, str]], left: str) -> None:
        """A Delete's worker ended: update the folders in place and say what happened to each entry."""
        self._update_folders((entry.backend, entry.path) for entry in entries)
        failed = [text for ok, text in results if not ok]
        trashed = sum(1 for ok, text in results if ok and text.endswith("moved to the trash"))
        done = len(results) - len(failed)
        where = " (to the trash)" if trashed == done and done else f" ({trashed} to the trash)" if trashed else ""
        self.statusBar().showMessage(f"Deleted {done} of {len(results)}{where}" + (f"; {failed[0]}" if failed else "")
                                     + (f"; not deleted: {left}" if left else ""), 10_000)
        self.deleteFinished.emit(done, failed)

    def _confirm_delete(self, entries: list[Entry], names: str, permanent: list[str]) -> bool:
        count = f"{len(entries)} item{'s' if len(entries) != 1 else ''}"
        if not permanent:
            box = QMessageBox(QMessageBox.Icon.Question, "Move to Trash",
                              f"Move {count} to the trash?\n\n{names}\n\n"
                              "Folders and arrays go with everything in them; the trash can restore them.",
                              QMessageBox.StandardButton.Cancel, self)
            yes = box.addButton("Move to Trash", QMessageBox.ButtonRole.AcceptRole)
        else:
            gone = "\n".join(permanent[:12]) + (f"\n… and {len(permanent) - 12} more" if len(permanent) > 12 else "")
            box = QMessageBox(QMessageBox.Icon.Warning, "Delete for Good",
                              f"Delete {count}?\n\n{names}\n\n"
                              f"These have no trash (the memory backend, or a volume without a trash folder) and "
                              f"will be deleted for good; this cannot be undone:\n{gone}",
                              QMessageBox.StandardButton.Cancel, self)
            yes = box.addButton("Delete for Good", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is yes

    def _renamable(self, entry: Entry) -> bool:
        from ..model.address import Address
        from ..model.rename import renamable

        return renamable(Address(entry.backend, entry.path))

    def rename_selected(self, name: str | None = None) -> str | None:
        """Rename… (F2): the one selected entry gets a new name in its folder (asked when not
        given); the rename runs in a worker. Returns why it cannot, or None when on its way."""
        from ..model.rename import RenameError, check_name, rename

        entries = self.selected_entries()
        deletable, refused = self.deletable_selection(verb="rename")
        if len(entries) != 1:
            self.statusBar().showMessage("Select one entry to rename.", 5000)
            return "select one entry"
        if len(deletable) != 1 or not self._renamable(deletable[0]):
            reason = refused[0] if refused else f"entries of {entries[0].backend} cannot be renamed"
            self.statusBar().showMessage(f"Not renamed: {reason}", 10_000)
            return reason
        entry = deletable[0]
        if name is None:
            name = self.name_asker(entry)
            if name is None:
                return None
        try:
            check_name(name)
        except RenameError as exc:
            self.statusBar().showMessage(f"Not renamed: {exc}", 10_000)
            return str(exc)
        address = Address(entry.backend, entry.path)
        self.statusBar().showMessage(f"Renaming {entry.name}…")
        self.workers.start(rename, address, name,
                           on_return=lambda new, old=address: self._on_renamed(old, new),
                           on_error=lambda exc, old=address: self._on_rename_failed(old, exc))
        return None

    def _ask_new_name(self, entry: Entry) -> str | None:
        name, ok = QInputDialog.getText(self, "Rename", f"New name for {entry.name}:", text=entry.name)
        return str(name) if ok else None

    def _on_renamed(self, old: Address, new: Address) -> None:
        self.statusBar().showMessage(f"Renamed {os.path.basename(old.path)} to {os.path.basename(new.path)}", 8000)
        self._update_folders([(old.backend, old.path)])
        self.renamed.emit(old, new)

    def _on_rename_failed(self, old: Address, exc: BaseException) -> None:
        message = str(exc) if str(exc) else type(exc).__name__
        self.statusBar().showMessage(f"Not renamed: {message}", 15_000)
        self.renameFailed.emit(old, message)


def _plan_deletes(wanted: list[tuple[Address, str | None]]) -> list[Any]:
    """In a worker: Delete's plan for each (address, root it is listed under); a lookup that
    fails (a mount gone, no permission) is that entry's refusal, the others go on."""
    from ..model import trash

    plans = []
    for address, root in wanted:
        try:
            plans.append(trash.plan_delete(address, root))
        except OSError as exc:
            plans.append(trash.DeletePlan(address, None, f"{address.path}: {exc.strerror or exc}"))
    return plans


def _delete_planned(plans: list[Any]) -> list[tuple[bool, str]]:
    """In a worker: carry out Delete's plans (agreed, so permanent where there is no trash)."""
    from ..model import trash

    results: list[tuple[bool, str]] = []
    for plan in plans:
        try:
            results.append((True, trash.delete(plan, permanently=True)))
        except Exception as exc:  # each failure is said; the others go on
            results.append((False, f"{plan.address.path.rsplit('/', 1)[-1]}: {exc}"))
    return results
