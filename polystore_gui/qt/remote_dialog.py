"""File → Open Remote Store…: a URL, and how to reach it (profile, endpoint, anonymous).

Only names and URLs are asked for and kept (QSettings ``remoteStores/<url>``): keys stay in
the environment or in ``~/.aws``, where the AWS tools keep them.
"""

from __future__ import annotations

import json

from qtpy.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from ..model.remote_access import RemoteOptions
from ..model.remote_address import RemoteAddressError, normalise_url

SETTINGS_GROUP = "remoteStores"


def saved_options(url: str) -> RemoteOptions | None:
    """The options last used for the store ``url`` (None: never opened here)."""
    from . import settings_writes

    raw = settings_writes.read(f"{SETTINGS_GROUP}/{_key(url)}", "")
    try:
        doc = json.loads(str(raw)) if raw else None
    except json.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    return RemoteOptions(profile=str(doc.get("profile") or "") or None,
                         endpoint_url=str(doc.get("endpoint_url") or "") or None,
                         anonymous=bool(doc.get("anonymous")))


def save_options(url: str, options: RemoteOptions) -> None:
    """Keep ``options`` (a profile name, an endpoint, anonymous: never a secret) for ``url``."""
    from . import settings_writes

    # The file's write and flush in the settings writer, off the GUI thread (issue 19).
    settings_writes.write(f"{SETTINGS_GROUP}/{_key(url)}", json.dumps(options.as_settings()))


def _key(url: str) -> str:
    return url.replace("/", "|")  # QSettings reads "/" as a group separator


class RemoteStoreDialog(QDialog):
    """The URL of a zarr / OME-Zarr store on S3 or HTTP(S), and the identity to read it as."""

    def __init__(self, parent: QWidget | None = None, url: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Remote Store")
        self.setObjectName("remoteStoreDialog")
        self.url_edit = QLineEdit(url)
        self.url_edit.setPlaceholderText("s3://bucket/plate.zarr or https://host/image.ome.zarr")
        self.profile_edit = QLineEdit()
        self.profile_edit.setPlaceholderText("default: AWS_PROFILE, AWS_ACCESS_KEY_ID, the default profile")
        self.endpoint_edit = QLineEdit()
        self.endpoint_edit.setPlaceholderText("S3-compatible service, e.g. https://s3.example.org (default: AWS)")
        self.anonymous_box = QCheckBox("Anonymous (public data: send no credentials)")
        self.error_label = QLabel()
        self.error_label.setObjectName("remoteStoreError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b91c1c;")  # a refusal, not one more line of the note
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("URL:", self.url_edit)
        form.addRow("AWS profile:", self.profile_edit)
        form.addRow("Endpoint URL:", self.endpoint_edit)
        form.addRow("", self.anonymous_box)
        note = QLabel("Keys are never asked for or stored here: they come from the environment "
                      "(AWS_ACCESS_KEY_ID…) or from ~/.aws, as for the AWS tools.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.anonymous_box.toggled.connect(self._on_anonymous_box_toggled)
        self.url_edit.editingFinished.connect(self._on_url_edit_finished)
        self.resize(560, self.sizeHint().height())

    def _on_anonymous_box_toggled(self, on: bool) -> None:
        self.profile_edit.setEnabled(not on)

    def _on_url_edit_finished(self) -> None:
        """Fill in what was used for this store last time."""
        try:
            url = normalise_url(self.url_edit.text())
        except RemoteAddressError:
            return
        saved = saved_options(url)
        if saved is not None:
            self.set_options(saved)

    def set_options(self, options: RemoteOptions) -> None:
        self.profile_edit.setText(options.profile or "")
        self.endpoint_edit.setText(options.endpoint_url or "")
        self.anonymous_box.setChecked(options.anonymous)

    def url(self) -> str:
        """The URL typed, normalised; RemoteAddressError says what is wrong with it."""
        return normalise_url(self.url_edit.text())

    def options(self) -> RemoteOptions:
        anonymous = self.anonymous_box.isChecked()
        return RemoteOptions(profile=None if anonymous else (self.profile_edit.text().strip() or None),
                             endpoint_url=self.endpoint_edit.text().strip() or None, anonymous=anonymous)

    def accept(self) -> None:
        try:
            self.url()
        except RemoteAddressError as exc:
            self._refuse(str(exc), self.url_edit)
            return
        endpoint = self.endpoint_edit.text().strip()
        if endpoint and not endpoint.lower().startswith(("http://", "https://")):
            self._refuse(f"The endpoint URL must start with http:// or https://, not {endpoint[:80]!r}", self.endpoint_edit)
            return
        super().accept()

    def _refuse(self, message: str, field: QLineEdit) -> None:
        """Say why the dialog stays open; the field at fault focused, its text selected to retype."""
        self.error_label.setText(message)
        self.error_label.show()
        field.setFocus()
        field.selectAll()
