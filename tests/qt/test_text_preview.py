"""A text file is previewed in the system's fixed-width font, so that its columns line up
(the demo's README.txt read in a proportional font: a user trial, session 12)."""

from __future__ import annotations

from qtpy.QtGui import QFontDatabase, QFontInfo, QFontMetrics

from .helpers import preview_panel


def test_a_text_file_is_previewed_in_the_fixed_width_font_with_its_columns_lined_up(qtbot, tmp_path):
    path = tmp_path / "README.txt"
    lines = ["name      size", "iiiiiiii  1.1", "MMMMMMMM  2.2"]
    path.write_text("\n".join(lines) + "\n")
    with preview_panel(qtbot, 800, 600) as panel:
        with qtbot.waitSignal(panel.previewShown, timeout=15_000):
            panel.request("disk", str(path))
        assert panel.stack.currentWidget() is panel.text
        assert panel.text.toPlainText().splitlines() == lines
        font = panel.text.font()
        assert QFontInfo(font).fixedPitch()
        assert QFontInfo(font).family() == QFontInfo(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)).family()
        metrics = QFontMetrics(font)
        assert metrics.horizontalAdvance(lines[1]) == metrics.horizontalAdvance(lines[2])  # the columns line up
