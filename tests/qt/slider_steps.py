"""A user stepping a preview's slider plane after plane, for the tests that watch what a
slider step does (or does not) start."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qtpy.QtCore import QTimer


class SliderSteps:
    """``viewer``'s slider along ``axis`` shown each plane of ``planes`` in turn, one every
    ``interval_ms`` (a timer: the event loop runs between two steps); ``running`` until the
    last plane is shown."""

    def __init__(self, viewer: Any, planes: Iterable[int], axis: int = 0, interval_ms: int = 30) -> None:
        self.viewer, self.axis = viewer, axis
        self._planes = iter(planes)
        self.running = True
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._step)
        self.timer.start()

    def _step(self) -> None:
        plane = next(self._planes, None)
        if plane is None:
            self.timer.stop()
            self.running = False
            return
        steps = list(self.viewer.dims.current_step)
        steps[self.axis] = plane
        self.viewer.dims.current_step = tuple(steps)
