"""The preview's metadata pane: an entry's ``Info`` as a collapsible key/value tree.

Split from ``preview_panel`` (the pane had grown past one concern).
"""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from ..model.arrays import Info

EMPTY = "none"  # what an empty mapping or list (an array with no attributes) reads as


class MetadataTree(QTreeWidget):
    """Info as a collapsible key/value tree (attributes and OME summary as nested JSON)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metadataTree")
        self.setColumnCount(2)
        self.setHeaderLabels(["Property", "Value"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.header().resizeSection(0, 180)

    def show_info(self, info: Info) -> None:
        self.clear()
        doc = info.as_json()
        doc.pop("preview", None)
        doc.pop("truncated", None)
        for key, value in doc.items():
            if value in (None, {}, []) and key not in ("attributes",):
                continue
            item = self._item(self.invisibleRootItem(), key, value)
            if key in ("ome",):
                item.setExpanded(True)
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None and item.text(0) == "attributes" and item.childCount() <= 8:
                item.setExpanded(True)

    def _item(self, parent: QTreeWidgetItem, key: str, value: Any) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent)
        item.setText(0, str(key))
        if isinstance(value, (dict, list)) and not value:
            item.setText(1, EMPTY)  # not "{0}" nor "[]": a reader's word for nothing there
        elif isinstance(value, dict):
            item.setText(1, f"{{{len(value)}}}")
            for k, v in value.items():
                self._item(item, str(k), v)
        elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            item.setText(1, f"[{len(value)}]")
            for i, v in enumerate(value):
                self._item(item, str(i), v)
        else:
            text = json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)
            item.setText(1, text)
            item.setToolTip(1, text)
        return item

    def rows(self) -> dict[str, str]:
        """Top-level property → value text (for tests)."""
        out = {}
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None:
                out[item.text(0)] = item.text(1)
        return out
