"""The Open Remote Store dialog's refusal is seen: in red, under the note, with the field at
fault focused and its text selected for retyping (it read as one more line of the note, in
black: a new user's pass, session 13)."""

from __future__ import annotations

import pytest

from polystore_gui.qt.remote_dialog import RemoteStoreDialog


@pytest.fixture
def dialog(qtbot):
    shown = RemoteStoreDialog()
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def _red_pixels(widget) -> int:
    image = widget.grab().toImage()
    return sum(1 for x in range(image.width()) for y in range(image.height())
               if (c := image.pixelColor(x, y)).red() > 150 and c.green() < 90 and c.blue() < 90)


def test_a_refused_url_is_said_in_red_and_the_url_selected(qtbot, dialog):
    dialog.url_edit.setText("bucket/plate.zarr")
    dialog.anonymous_box.setFocus()
    dialog.accept()
    assert dialog.isVisible() and "not a remote store address" in dialog.error_label.text()
    qtbot.waitUntil(lambda: _red_pixels(dialog.error_label) > 20, timeout=3_000)
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.url_edit, timeout=3_000)
    assert dialog.url_edit.selectedText() == "bucket/plate.zarr"


def test_a_refused_endpoint_is_focused(qtbot, dialog):
    dialog.url_edit.setText("s3://bucket/plate.zarr")
    dialog.endpoint_edit.setText("s3.example.org")
    dialog.accept()
    assert "must start with http://" in dialog.error_label.text()
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.endpoint_edit, timeout=3_000)
    assert dialog.endpoint_edit.selectedText() == "s3.example.org"
