"""The chunk inspector made ahead, hidden, in short idle turns (issue 19).

Made when first asked for, the panel cost the click that opened it about 80 ms of the GUI
thread (its modules' import, about 36 ms even from cached bytecode; the construction of its
widgets; their first polish and layout). The window starts this chain once napari's
viewer is prepared, or after its first preview: one module imported a step, then the panel
built and polished, each step a turn of its own a little after the previous one, so a
click or a key of the user's waits for at most one step. A user who opens the inspector
before the chain is through gets it made on the spot (``MainWindow.inspector``), and the
rest of the chain then has nothing left to do.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence

from qtpy.QtCore import QObject

from .later import call_later

log = logging.getLogger(__name__)

# Leaves first: each import a step (the largest is about 5 ms). A module left out of this
# list is imported by the one that needs it, in that step: a longer step, nothing worse.
MODULES = (
    "polystore_gui.model.chunk_layout",
    "polystore_gui.model.chunk_detail",
    "polystore_gui.model.chunk_find",
    "polystore_gui.model.chunk_export",
    "polystore_gui.model.chunk_report",
    "polystore_gui.model.chunks",
    "polystore_gui.model.chunk_heat",
    "polystore_gui.model.chunk_raster",
    "html",
    "polystore_gui.qt.chunk_scan_gate",
    "polystore_gui.qt.chunk_table",
    "polystore_gui.qt.chunk_histogram",
    "polystore_gui.qt.chunk_details",
    "polystore_gui.qt.painted_later",
    "polystore_gui.qt.chunk_inspector",
    "polystore_gui.qt.chunk_alone",
    "polystore_gui.qt.chunk_overlay",
)

# The pause before each step: the event loop's own work (input, timers, paints) goes first.
STEP_MS = 25


def import_steps(modules: Sequence[str] | None = None) -> list[Callable[[], object]]:
    """One step per module (``MODULES`` by default): its import."""
    return [lambda name=name: importlib.import_module(name) for name in (MODULES if modules is None else modules)]


def run_ahead(owner: QObject, steps: Sequence[Callable[[], object]], step_ms: int | None = None,
              stop: Callable[[], bool] = lambda: False) -> None:
    """Run ``steps`` one per event-loop turn, ``step_ms`` apart, while ``owner`` lives and
    until ``stop()`` says so (the window shut down: no panel, and no job it would start).

    It is an optimisation: a step that fails is logged and ends the chain (the panel is
    then made when asked for, as without it)."""
    pending = list(steps)
    step_ms = STEP_MS if step_ms is None else step_ms

    def step() -> None:
        if not pending or stop():
            return
        try:
            pending.pop(0)()
        except Exception as exc:
            log.info("the chunk inspector could not be made ahead: %s", exc)
            return
        if pending:
            call_later(owner, step_ms, step)

    call_later(owner, step_ms, step)
