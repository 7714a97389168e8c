"""A remote sparse array's contrast search reaches its layer without polling (issue 15,
last session's final read): the viewer looked at the search every 25 ms on the GUI thread
until it ended. Now the search is started when a run of steps ends or the layer's plane is
loaded, and its end is posted by its own thread through a queued signal."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from .test_layer_steps import panel, pytestmark  # noqa: F401  (the preview panel, its viewer built; needs GL)


def _search(release: threading.Event, limits=(10.0, 90.0)):
    from polystore_gui.model.contrast_search import ContrastSearch

    def run(cancelled):
        while not release.wait(0.01):  # the search's reads, checking between them
            if cancelled():
                return []
        return [SimpleNamespace(from_data=True, limits=limits)]

    return ContrastSearch(run)


def _sparse_spec(search):
    from polystore_gui.model.preview_types import LayerSpec

    data = np.zeros((3, 32, 32), dtype=np.uint16)  # no contrast in any plane shown: a placeholder
    return LayerSpec("image", "sparse", data, contrast_limits=(0.0, 1.0), contrast_placeholder=(True,),
                     contrast_later=search)


def test_a_contrast_search_reaches_its_layer_with_no_timer_polling_it(qtbot, panel, monkeypatch):
    from polystore_gui.qt import napari_layers

    pane = panel.viewer
    timers: list[int] = []
    real = napari_layers.call_later
    # the timers started meanwhile, but the image nodes' wait for a still view (SPARE_DELAY_MS:
    # it looks at the dims and camera, never at the search)
    monkeypatch.setattr(napari_layers, "call_later", lambda owner, ms, fn: (
        ms == napari_layers.SPARE_DELAY_MS or timers.append(ms), real(owner, ms, fn)))
    release = threading.Event()
    search = _search(release)
    shown: list[list] = []
    pane.show_layers((_sparse_spec(search),), on_shown=shown.append, on_failed=pytest.fail)
    qtbot.waitUntil(lambda: bool(shown) and search.started, timeout=20_000)
    (layer,) = shown[0]
    assert tuple(layer.contrast_limits) == (0.0, 1.0)
    before = len(timers)
    qtbot.wait(300)  # the event loop runs while the search does: a 25 ms poll would show here
    assert timers[before:] == []  # nothing looks at the running search on a timer
    release.set()  # the search ends in its own thread, which posts it to this one
    qtbot.waitUntil(lambda: tuple(layer.contrast_limits) == (10.0, 90.0), timeout=10_000)
    assert timers[before:] == []


def test_a_search_whose_layer_is_replaced_before_its_first_frame_is_cancelled(qtbot, panel):
    """The layer never shown (another show took its place): the search never starts."""
    pane = panel.viewer
    release = threading.Event()
    first = _search(release)
    done: list[list] = []
    pane.show_layers((_sparse_spec(first),), on_shown=done.append, on_failed=pytest.fail)
    qtbot.waitUntil(lambda: any(s is first for _ref, s in pane._contrast_waiting), timeout=20_000)  # inserted
    pane.show_layers((_sparse_spec(_search(threading.Event())),), on_shown=done.append, on_failed=pytest.fail)
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)
    qtbot.waitUntil(lambda: first.cancelled, timeout=10_000)
    assert not first.started
    release.set()
