"""Running planned transfers to the end in tests, as the transfer queue does."""

from __future__ import annotations

from polystore_gui.model import transfers


def run(items, cancelled=lambda: False):
    """Each item's ``transfers.run_item`` driven to its end; their outcomes, in order."""
    outcomes = []
    for item in items:
        gen = transfers.run_item(item, cancelled=cancelled)
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            outcomes.append(stop.value)
    return outcomes
