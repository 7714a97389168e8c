"""Settings (Edit → Settings…, Ctrl+,): the few options a user changes, stored with QSettings."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


from ..model.chunk_shape import format_chunk_shape, parse_chunk_shape

def parse_chunks(text: str) -> tuple[int, ...] | None:
    """'plane' (or nothing) → None; '1,512,512' → (1, 512, 512); ValueError otherwise
    (model.chunk_shape's parser, the one the command line uses)."""
    return parse_chunk_shape(text, what="the chunk shape")


class SettingsDialog(QDialog):
    """Edits the window's settings; ``apply()`` (on OK) writes them to the window and QSettings."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        self.window_ = window
        self.size_limit = QDoubleSpinBox(self)
        self.size_limit.setRange(0.01, 1024.0)
        self.size_limit.setDecimals(2)
        self.size_limit.setSuffix(" GiB")
        self.size_limit.setValue(window.preview.size_limit / 2**30)
        self.size_limit.setToolTip("Ask before reading more than this into memory (data with no lazy path only)")
        self.show_hidden = QCheckBox("Show hidden files", self)
        self.show_hidden.setChecked(window.hidden_action.isChecked())
        self.reopen = QCheckBox("Reopen the folders and stores I added, at start", self)
        self.reopen.setChecked(window.session.reopen)
        self.chunks = QLineEdit(self)
        chunks = window.transfer_chunks()
        self.chunks.setText(format_chunk_shape(chunks))
        self.chunks.setToolTip("'plane': one plane per chunk (2048 x 2048 tiles above 4096 x 4096); "
                               "or the sizes of the trailing axes, e.g. 1,512,512")
        self.napari_port = QSpinBox(self)
        self.napari_port.setRange(1, 64535)
        self.napari_port.setValue(window.viewer_link.ports["napari_stream"])
        self.fiji_port = QSpinBox(self)
        self.fiji_port.setRange(1, 64535)
        self.fiji_port.setValue(window.viewer_link.ports["fiji_stream"])
        layout = QVBoxLayout(self)
        for title, rows, note in (
            ("Browsing", [("", self.show_hidden), ("", self.reopen)], None),
            ("Preview", [("Size limit:", self.size_limit)],
             "Data with no lazy path (a CSV, a PNG, a plain file) is read whole: above this size you are asked first."),
            ("Copies into zarr", [("Chunk shape:", self.chunks)],
             "'plane' writes one plane per chunk; or give the trailing axes, e.g. 1,512,512."),
            ("Viewers", [("napari viewer port:", self.napari_port), ("Fiji receiver port:", self.fiji_port)],
             "On this machine's loopback interface; the napari viewer's control channel is 1000 above its port."),
        ):
            box = QGroupBox(title, self)
            form = QFormLayout(box)
            for label, widget in rows:
                form.addRow(label, widget)
            if note:
                hint = QLabel(note, box)
                hint.setWordWrap(True)
                hint.setStyleSheet("color: #64748b")
                form.addRow(hint)
            layout.addWidget(box)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #b91c1c")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self._on_buttons_accepted)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _on_buttons_accepted(self) -> None:
        if self.apply():
            self.accept()

    def apply(self) -> bool:
        """Write the settings; False (with the reason shown) when one is not valid."""
        try:
            chunks = parse_chunks(self.chunks.text())
        except ValueError:
            self.error.setText(f"Not a chunk shape: {self.chunks.text()!r} (use 'plane' or e.g. 1,512,512)")
            return False
        window = self.window_
        window.set_size_limit(int(self.size_limit.value() * 2**30))
        window.hidden_action.setChecked(self.show_hidden.isChecked())
        window.session.reopen = self.reopen.isChecked()
        window.set_transfer_chunks(chunks)
        window.set_viewer_ports(self.napari_port.value(), self.fiji_port.value())
        return True
