"""The plane's note is counted when the slider rests, not at each step (issue 15/19).

Each slider step started a worker to count the plane's missing shards (qt/plane_note.py):
2-15 ms of the GUI thread in every step, and the worker's Python taking the interpreter
lock from napari's slicing. A user stepping through planes now starts no count until the
slider rests; then the plane it rests on is counted and its note shown.
"""

from __future__ import annotations

import zarr
from polystore_gui.model import lazy

from .slider_steps import SliderSteps
from .test_preview import panel, pytestmark, show  # noqa: F401 (panel: the fixture)


def test_steps_in_a_row_start_no_count_and_the_plane_rested_on_is_counted(qtbot, panel, tmp_path):
    a = zarr.create_array(str(tmp_path / "arr"), shape=(13, 64, 64), chunks=(1, 16, 16), shards=(1, 32, 32),
                          dtype="uint16", fill_value=7)
    a[:12, :32, :] = 100  # each plane: 2 of its 4 shards written ...
    a[12, :32, :32] = 100  # ... the last: 1 (its note says 3 missing)
    show(qtbot, panel, "zarr", tmp_path / "arr")
    assert "2 of 4 shards of this plane missing" in panel.status.text()
    started = []
    real_start = panel._workers.start

    def start(fn, *args, **kwargs):
        if isinstance(fn, lazy.PlaneNote):
            started.append(args[0])
        return real_start(fn, *args, **kwargs)

    panel._workers.start = start
    slider = SliderSteps(panel.viewer.viewer, range(13))  # the slider stepped plane after plane
    qtbot.waitUntil(lambda: not slider.running, timeout=30_000)
    qtbot.waitUntil(lambda: (12,) in started, timeout=20_000)
    # 13 steps: a count at each before; at most one started during the steps (a stall of
    # the loaded machine longer than the rest), and the last plane's once it rests
    assert len(started) <= 2, started
    assert started[-1] == (12,)
    qtbot.waitUntil(lambda: "3 of 4 shards of this plane missing" in panel.status.text(), timeout=20_000)
    assert "2 of 4" not in panel.status.text()
