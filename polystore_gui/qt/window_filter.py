"""The tree's name filter: the proxy shown while a filter is typed, and what stays open.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QModelIndex, QPersistentModelIndex, Qt

from .tree_filter import TreeFilterProxy  # the proxy (narrowing key by key): see tree_filter


class TreeMapping:
    """Between the tree model's indexes and the view's: the same while no filter is typed.

    The tree view shows the model itself, and the filter proxy only while a filter is
    typed: a QSortFilterProxyModel doubles the Python calls of every layout (each row's
    index and flags go through it) and re-maps every inserted row, which made opening a
    large folder stall the window for 60-80 ms more (measured). Code that holds model
    indexes maps them through here, whichever model the view shows.
    """

    def __init__(self, window: Any) -> None:
        self._window = window

    @property
    def filtering(self) -> bool:
        return self._window.tree.model() is self._window.filter_proxy

    def mapFromSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802 (Qt's name)
        return self._window.filter_proxy.mapFromSource(index) if self.filtering else index

    def mapToSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802 (Qt's name)
        return self._window.filter_proxy.mapToSource(index) if self.filtering else index


class FilterMixin:
    """Filtering the tree by name: the view switches to the filter proxy while a filter is typed
    (and back), keeping what the user had expanded and the current row."""

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _on_tree_expanded(self, index: QModelIndex) -> None:
        if not self._switching:
            self._expanded.add(QPersistentModelIndex(self.proxy.mapToSource(index)))

    def _on_tree_collapsed(self, index: QModelIndex) -> None:
        if not self._switching:
            self._expanded.discard(QPersistentModelIndex(self.proxy.mapToSource(index)))

    _switching = False

    def _show_tree_model(self, model: Any) -> None:
        """Let the view show ``model`` (the tree model, or the filter proxy over it), keeping
        what was expanded, the current row and the columns' widths."""
        if self.tree.model() is model:
            return
        current = QPersistentModelIndex(self.proxy.mapToSource(self.tree.currentIndex()))
        header = self.tree.header().saveState()
        self._switching = True
        old_selection = self.tree.selectionModel()
        try:
            self.tree.setModel(model)
            old_selection.deleteLater()
            self.tree.header().restoreState(header)
            self.tree.selectionModel().currentChanged.connect(self._on_tree_current_changed)
            for index in sorted((i for i in self._expanded if i.isValid()), key=lambda i: _depth(QModelIndex(i))):
                self.tree.expand(self.proxy.mapFromSource(QModelIndex(index)))
            if current.isValid():
                shown = self.proxy.mapFromSource(QModelIndex(current))
                self.tree.selectionModel().setCurrentIndex(shown, self.tree.selectionModel().SelectionFlag.NoUpdate)
        finally:
            self._switching = False
        self._expanded = {i for i in self._expanded if i.isValid()}

    def _update_filter_placeholder(self, *_args: Any) -> None:
        text = self.filter_edit.text()
        empty = bool(text) and self.tree.model() is self.filter_proxy and self.filter_proxy.rowCount() == 0
        if empty:
            self.filter_placeholder.setText(
                f"No match for '{text}'\n\nOnly the folders already listed are searched. Esc clears the filter.")
        self.filter_placeholder.setVisible(empty)

    def _on_filter_edit_text_changed(self, text: str) -> None:
        self.filter_proxy.setFilterFixedString(text)
        self._show_tree_model(self.filter_proxy if text else self.tree_model)
        self._update_filter_placeholder()
        if self.folder_list.isVisible():
            self.folder_list.set_filter(text)
        if text:
            # Open the backends, so that what matches below them shows; what the user had
            # open stays open (expandToDepth would close it).
            model = self.tree.model()
            for row in range(model.rowCount()):
                self.tree.expand(model.index(row, 0))


def _depth(index: QModelIndex) -> int:
    depth = 0
    while index.isValid():
        index = index.parent()
        depth += 1
    return depth
