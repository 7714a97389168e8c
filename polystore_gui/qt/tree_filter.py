"""The tree's name filter: a proxy that hides the rows whose names do not hold the text.

Qt's own fixed-string filter asks the tree model for every row's text through ``data()``
(a Python call, a string made, a QVariant) on every key, and again for each ancestor of
each row (``setAutoAcceptChildRows``). This proxy answers from the tree's nodes directly,
once per row and text, and narrows as the user types: a key that adds to the text hides at
once every row the text before hid, examining only the rows shown; going back to a text
already answered (Backspace) reuses its answers. ``examined`` counts the names looked at
since the text last changed.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QModelIndex, QSortFilterProxyModel, Qt

from .tree_nodes import Node

# Texts whose answers are kept (the keys of one filter typed and deleted).
REMEMBERED = 16


class TreeFilterProxy(QSortFilterProxyModel):
    """Narrows the tree by name (case-blind); sorting is left to the source model (see tree_model)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.setDynamicSortFilter(False)
        self._needle = ""
        self._answers: dict[Node, bool] = {}  # for the current text: does the row's name hold it
        self._before: dict[Node, bool] = {}  # for a text the current one holds (narrowing), or {}
        self._by_text: dict[str, dict[Node, bool]] = {}
        self.examined = 0

    def setFilterFixedString(self, text: str) -> None:  # noqa: N802 (Qt's name)
        """Show the rows whose names hold ``text`` (and their ancestors and children)."""
        needle = text.casefold()
        if needle == self._needle:
            return
        if not needle:
            self.clear_answers()  # the filter is done with: what was answered may change meanwhile
        elif self._needle:
            self._by_text[self._needle] = self._answers
            while len(self._by_text) > REMEMBERED:
                self._by_text.pop(next(iter(self._by_text)))
        self._needle = needle
        self._answers = self._by_text.pop(needle, {})
        within = [t for t in self._by_text if t and t in needle]
        self._before = self._by_text[max(within, key=len)] if within else {}
        self.examined = 0
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802 (Qt's name)
        needle = self._needle
        if not needle:
            return True
        source = self.sourceModel()
        children = source.node(source_parent).children
        if not 0 <= source_row < len(children):
            return False
        node = children[source_row]
        answer = self._answers.get(node)
        if answer is None:
            if self._before.get(node) is False:
                answer = False  # hidden by a text this one holds: hidden still, not examined
            else:
                self.examined += 1
                answer = needle in node.entry.name.casefold()
            self._answers[node] = answer
        return answer

    def clear_answers(self) -> None:
        """Forget every answer (rows were listed again: their names may have changed)."""
        self._answers, self._before, self._by_text = {}, {}, {}

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)


__all__ = ["TreeFilterProxy"]
