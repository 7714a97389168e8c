"""The notes line above the preview, whose height changes only to grow (issue 19)."""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QRect, Qt
from qtpy.QtWidgets import QLabel, QWidget


KEPT_LINES = 3  # at most this many lines kept: a longer text (an error) grows it for itself only


class StatusLine(QLabel):
    """The notes above the preview (word-wrapped), keeping the tallest height their text has
    needed (issue 19): each preview cleared them and its own set them again, and a change in
    their number of lines resized the viewer's canvas below, drawn again at once in software
    GL (a full frame, in the turn of the request or of the preview's show). Shorter notes
    leave a blank line or two instead; a longer one grows it, once (up to ``KEPT_LINES``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setWordWrap(True)

    def setText(self, text: str | None) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self._keep_height()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._keep_height()  # the text's lines at the width the layout gave it

    def make_room(self, text: str) -> None:
        """Keep at least the height ``text`` would need at the present width (up to
        ``KEPT_LINES``): for a note known to come later (the plane's missing chunks)."""
        if not text or self.width() <= 0:
            return
        box = self.fontMetrics().boundingRect(QRect(0, 0, self.width(), 1 << 20), Qt.TextFlag.TextWordWrap, text)
        self._hold(box.height() + 2 * self.margin())

    def _keep_height(self) -> None:
        if self.text() and self.width() > 0:
            self._hold(self.heightForWidth(self.width()))

    def _hold(self, needed: int) -> None:
        """Grow the kept height to ``needed`` pixels, at most ``KEPT_LINES`` lines; never shrink it."""
        needed = min(needed, KEPT_LINES * self.fontMetrics().lineSpacing() + 2 * self.margin())
        if needed > self.minimumHeight():
            self.setMinimumHeight(needed)
