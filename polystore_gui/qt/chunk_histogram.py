"""The stored-size histogram of a chunk report: power-of-two bins drawn as bars."""

from __future__ import annotations

import math
from typing import Any

from qtpy.QtCore import QRectF, Qt
from qtpy.QtGui import QColor, QPainter
from qtpy.QtWidgets import QWidget

from ..model.entries import human_size


class SizeHistogram(QWidget):
    """Stored chunk sizes in power-of-two bins, as bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chunkHistogram")
        self.bins: list[dict[str, int]] = []
        self.setMinimumHeight(70)
        self.setMaximumHeight(90)

    def set_bins(self, bins: list[dict[str, int]]) -> None:
        self.bins = bins
        self.setToolTip("\n".join(f"{human_size(b['min'], short=True)}–{human_size(b['max'], short=True)}: {b['count']:,} chunks"
                                  for b in bins))
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        rect = self.rect().adjusted(4, 4, -4, -18)
        palette = self.palette()
        painter.setPen(palette.color(palette.ColorRole.Mid))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        if not self.bins:
            painter.setPen(palette.color(palette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no chunks stored")
            return
        top = max(b["count"] for b in self.bins)
        width = min(44.0, rect.width() / max(len(self.bins), 1))
        font = painter.font()
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        painter.setFont(font)
        label_every = max(1, math.ceil(len(self.bins) * 48 / max(rect.width(), 1)))
        for i, b in enumerate(self.bins):
            h = rect.height() * (math.log1p(b["count"]) / math.log1p(top))
            bar = QRectF(rect.left() + i * width + 1, rect.bottom() - h, max(1.0, width - 2), h)
            painter.fillRect(bar, QColor("#2563eb"))
            if i % label_every == 0:
                painter.setPen(palette.color(palette.ColorRole.WindowText))
                painter.drawText(QRectF(rect.left() + i * width - 10, rect.bottom() + 2, width + 20, 14),
                                 Qt.AlignmentFlag.AlignHCenter, human_size(b["min"], short=True))
