"""The plane's missing-chunks note, which comes once the slider rests, finds room in the notes
above the viewer (issue 19): a line it added grew the notes line and so resized the canvas
below, a whole frame drawn again with napari's resize (25-40 ms) amid the user's pan or zoom."""

from __future__ import annotations

import zarr

from .test_preview import panel, pytestmark, show  # noqa: F401 (panel: the fixture)


def test_the_plane_note_arriving_does_not_grow_the_notes_line(qtbot, panel, tmp_path):
    a = zarr.create_array(str(tmp_path / "big"), shape=(3, 2048, 2048), chunks=(1, 256, 256), shards=(1, 1024, 1024),
                          dtype="uint16", fill_value=0)
    a[1] = 5  # the middle plane (shown first) whole; the others never written
    a[1, :8, :8] = 900
    show(qtbot, panel, "zarr", tmp_path / "big")
    status = panel.status
    assert "shown every 2nd" in status.text() and "missing" not in status.text()
    assert status.fontMetrics().horizontalAdvance(status.text()) < status.width()  # one line of notes
    panel.layout().activate()  # laid out as shown
    height = status.height()
    panel.viewer.viewer.dims.set_current_step(0, 2)  # a plane never written: its note comes once the slider rests
    qtbot.waitUntil(lambda: "4 of 4 shards of this plane missing" in status.text(), timeout=20_000)
    assert status.fontMetrics().horizontalAdvance(status.text()) > status.width()  # the notes need two lines now
    panel.layout().activate()
    assert status.height() == height
