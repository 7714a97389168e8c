"""The preview's note about the plane shown, kept about the plane shown.

A zarr array's preview says how many chunks (or shards) of the plane shown were never
written ("2 of 4 shards of this plane missing …", ``lazy.PlaneNote``). It was counted once,
for the middle plane, and stayed in the status line whatever plane the slider showed. Now
each plane shown is counted again in a worker (up to 10,000 existence checks: never on the
GUI thread), one count at a time: a count finished for a plane no longer shown is dropped
and the plane shown now is counted. Its answer replaces the note in the status line (or
removes it: a plane with nothing missing says nothing).

A plane is counted once the slider rests on it (``REST_MS`` without another step), not at
every step: a worker's start costs the GUI thread 2-15 ms (the worker's Python then takes
the interpreter lock from napari's slicing), which fell in every slider step (issue 15/19).
"""

from __future__ import annotations

import logging
from typing import Any

from qtpy.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

SEPARATOR = "; "
REST_MS = 200  # the plane shown is counted once the slider has rested on it this long


def _replaced(text: str, old: str | None, new: str | None) -> str:
    """The status ``text`` (notes joined by SEPARATOR) with the note ``old`` replaced by
    ``new`` (either may be None: added, or removed)."""
    notes = [n for n in text.split(SEPARATOR) if n] if text else []
    if old is not None and old in notes:
        at = notes.index(old)
        notes[at:at + 1] = [new] if new else []
    elif new:
        notes.append(new)
    return SEPARATOR.join(notes)


class PlaneNotes(QObject):
    """Follows the dims of a preview panel's viewer and keeps its plane note up to date."""

    noteChanged = Signal(object)  # the note now shown (None: none)

    def __init__(self, panel: Any) -> None:
        super().__init__(panel)
        self.panel = panel
        self._note: Any = None  # the preview's lazy.PlaneNote (None: nothing followed)
        self._layer: Any = None
        self._shown: str | None = None  # the note in the status line now
        self._point: tuple[int, ...] | None = None  # the plane wanted (indices along the leading axes)
        self._counting = False
        self._hooked: Any = None  # the dims whose steps are followed
        self._rest = QTimer(self)  # restarted at each step: the count starts when the slider rests
        self._rest.setSingleShot(True)
        self._rest.setInterval(REST_MS)
        self._rest.timeout.connect(self._count)

    def follow(self, preview: Any, layers: list[Any], notes: list[str]) -> None:
        """Follow ``preview``'s plane (its first layer's), whose note is among ``notes``, shown."""
        note = getattr(preview, "plane_note", None)
        self._note, self._layer = note, (layers[0] if layers else None)
        if note is None or self._layer is None:
            self._note = None
            return
        self._shown = next((n for n in notes if n and note.PHRASE in n), None)
        self._point = self._plane()
        dims = self.panel.viewer.viewer.dims
        if self._hooked is not dims:
            dims.events.current_step.connect(self._on_step)
            self._hooked = dims

    def stop(self) -> None:
        """Follow nothing (the preview is replaced); a count on its way is dropped."""
        self._note = self._layer = self._point = self._shown = None
        self._rest.stop()

    def _plane(self) -> tuple[int, ...] | None:
        try:
            point = self._layer.world_to_data(self.panel.viewer.viewer.dims.point)
        except Exception:  # not placed (yet)
            return None
        return tuple(int(round(float(p))) for p in list(point)[:-2])

    def _on_step(self, _event: Any = None) -> None:
        if self._note is None:
            return
        point = self._plane()
        if point is None or point == self._point:
            return
        self._point = point
        self._rest.start()  # counted once the slider rests (a step meanwhile starts it again)

    def _count(self) -> None:
        if self._counting or self._note is None:
            return
        self._counting = True
        note, point = self._note, self._point
        self.panel._workers.start(note, point, on_return=lambda text: self._on_counted(note, point, text),
                                  on_error=lambda exc: self._on_failed(note, point, exc))

    def _on_counted(self, note: Any, point: tuple[int, ...] | None, text: str | None) -> None:
        self._counting = False
        if note is not self._note or point != self._point:
            # another preview (or none) or another plane shown meanwhile: that one counted,
            # now unless the slider is still moving (then when it rests)
            if not self._rest.isActive():
                self._count()
            return
        if text != self._shown:
            self.panel.status.setText(_replaced(self.panel.status.text(), self._shown, text))
            self._shown = text
        self.noteChanged.emit(text)

    def _on_failed(self, note: Any, point: tuple[int, ...] | None, exc: BaseException) -> None:
        """As an answer of no note: the one shown is of another plane (it goes), and a plane
        or preview shown meanwhile is counted all the same."""
        log.warning("the plane's missing chunks could not be counted: %s", exc)
        self._on_counted(note, point, None)
