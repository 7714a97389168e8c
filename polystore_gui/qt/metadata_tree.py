"""The preview's metadata pane: an entry's ``Info`` as a collapsible key/value tree.

Split from ``preview_panel`` (the pane had grown past one concern).
"""

from __future__ import annotations

import json
from typing import Any

from qtpy.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from ..info_text import ome_fields, value_text
from ..model.arrays import Info
from ..model.codec_text import codec_steps, codec_text

EMPTY = "none"  # what an empty mapping or list (an array with no attributes) reads as
# Fields said in words, as ``polystore-gui info`` says them (not as JSON: "codecs {3}",
# "[4, 1024, 1024]", "8388608").
READ_AS_TEXT = {"shape", "chunks", "shards", "nbytes", "stored_bytes", "size", "members", "dimension_names"}


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
        # What could not be read at all (nothing there, a store that does not answer): its
        # kind and attributes are placeholders ("kind: file" beside a remote store's error).
        unread = bool(doc.get("error")) and doc.get("size") is None
        for key, value in doc.items():
            if value in (None, {}, []) and (key != "attributes" or unread):
                continue
            if key == "kind" and unread:
                continue
            if key == "codecs" and isinstance(value, dict):
                self._codecs_item(value)
                continue
            if key == "ome" and isinstance(value, dict):
                self._ome_item(value)
                continue
            if key in READ_AS_TEXT:
                self._text_item(key, value_text(key, value, {}))
                continue
            self._item(self.invisibleRootItem(), key, value)
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None and item.text(0) == "attributes" and item.childCount() <= 8:
                item.setExpanded(True)

    def _text_item(self, key: str, text: str, parent: QTreeWidgetItem | None = None) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent if parent is not None else self.invisibleRootItem())
        item.setText(0, key)
        item.setText(1, text)
        item.setToolTip(1, text)
        return item

    def _codecs_item(self, codecs: dict[str, Any]) -> None:
        """The pipeline on one row (``bytes(endian=little) → zstd(level=3)``), a row per
        codec under it, named for its role (filter, serializer, compressor)."""
        steps = codec_steps(codecs)
        item = self._text_item("codecs", " → ".join(codec_text(codec) for _role, codec in steps) or "none")
        for role, codec in steps:
            self._text_item(role, codec_text(codec), item)

    def _ome_item(self, ome: dict[str, Any]) -> None:
        """The OME summary as ``info`` prints it: version and axes on the row, a row per
        level, channel and the labels under it (open)."""
        (_label, head), *rest = ome_fields(ome)
        item = self._text_item("ome", head)
        for label, text in rest:
            self._text_item(label, text, item)
        item.setExpanded(True)

    def _item(self, parent: QTreeWidgetItem, key: str, value: Any) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent)
        item.setText(0, str(key))
        if isinstance(value, (dict, list)) and not value:
            item.setText(1, EMPTY)  # not "{0}" nor "[]": a reader's word for nothing there
        elif isinstance(value, dict):
            item.setText(1, _count(len(value), "entry", "entries"))
            for k, v in value.items():
                self._item(item, str(k), v)
        elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            item.setText(1, _count(len(value), "item", "items"))
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


def _count(n: int, one: str, many: str) -> str:
    """What a nested mapping or list holds, in words ("3 entries", not "{3}")."""
    return f"{n:,} {one if n == 1 else many}"
