"""The right-hand side: a preview of the selected entry above its metadata.

A selection becomes a request with a generation number; one job (``model.selection_read``)
opens the data lazily (``model.lazy.open_preview``), then asks whether the address is a plate
(shown in the plate view); an answer is shown only if no newer request came since.
Arrays go to the napari viewer, JSON/text to a text view, CSV to a table, and anything
else gets a message — never an empty pane.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QFontDatabase
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..model.arrays import DEFAULT_SIZE_LIMIT, Info, inspect

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..model.lazy import Preview
from .metadata_tree import MetadataTree
from .napari_view import ViewerPane
from .plane_note import PlaneNotes
from .plate_view import PlateView
from .status_line import StatusLine
from .workers import WorkerPool

log = logging.getLogger(__name__)
PLANE_NOTE_ROOM = "1,024 of 1,024 chunks of this plane missing (never written: shown as the fill value 65535)"

SCREEN_LEVEL_NOTE = "a large plane: shown every 2nd, 4th, … pixel as the zoom allows, full resolution when zoomed in"


class PreviewPanel(QWidget):
    """Preview above metadata, for whatever the tree has selected."""

    previewShown = Signal(object)  # Preview
    previewFailed = Signal(str)
    plateShown = Signal(object)  # PlateSummary, once its grid is painted
    chunkFailed = Signal(int, object, str)  # generation, chunk index, message (from napari's slicing thread)

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPanel")
        self._workers = workers
        self._generation = 0
        self._pending: tuple[str, str] | None = None
        # The selection's job still running (its preview, then its plate lookup), with its
        # generation: a newer request quits it, so that its reads of a remote store stop on
        # the wire (open_preview and the plate readers check its token).
        self._preview_job: tuple[int, Any] | None = None
        self._awaiting_viewer = -1  # the generation of the array shown once the viewer is built
        self.size_limit = DEFAULT_SIZE_LIMIT
        self.current: Preview | None = None
        self.shown_layers: list[Any] = []  # napari layers of the current array preview

        self.title = QLabel("Nothing selected", self)
        self.title.setObjectName("previewTitle")
        self.title.setStyleSheet("font-weight: 600;")
        self.busy = QProgressBar(self)
        self.busy.setObjectName("previewBusy")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = StatusLine(self)
        self.status.setObjectName("previewStatus")
        self.status.setWordWrap(True)
        header = QHBoxLayout()
        header.setContentsMargins(6, 4, 6, 2)
        header.addWidget(self.title, 1)
        header.addWidget(self.busy)
        # Back from a field opened from the plate view to that plate (see _open_plate_field).
        self.plate_back = QPushButton("◀ Plate", self)
        self.plate_back.setObjectName("plateBack")
        self.plate_back.hide()
        header.addWidget(self.plate_back)

        self.viewer = ViewerPane(workers, self)
        self.plane_notes = PlaneNotes(self)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("textPreview")
        self.text.setReadOnly(True)
        # The system's fixed-width font, as every file browser's text preview: a text
        # file's columns (a README's table, aligned output) line up.
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table = QTableWidget(self)
        self.table.setObjectName("tablePreview")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setAlternatingRowColors(True)
        self.message = QLabel("Select an entry in the tree to preview it.", self)
        self.message.setObjectName("previewMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.plate_view = PlateView(workers, self)
        self.plate_view.cache_folder = _plate_cache_folder()
        self._plate_generation = -1  # the request whose address is the plate shown
        self._plate_field_of: tuple[Any, str, str] | None = None  # (plate, backend, path) opened from it
        for widget in (self.message, self.viewer, self.text, self.table, self.plate_view):
            self.stack.addWidget(widget)
        self.metadata = MetadataTree(self)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        top_layout.addLayout(header)
        top_layout.addWidget(self.status)
        top_layout.addWidget(self.stack, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("previewSplitter")
        splitter.addWidget(top)
        splitter.addWidget(self.metadata)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([560, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.viewer.ready.connect(self._on_viewer_ready)
        self.viewer.failed.connect(self._on_viewer_failed)
        self.chunkFailed.connect(self._on_chunk_failed)
        self.plate_view.fieldActivated.connect(self._open_plate_field)
        self.plate_back.clicked.connect(self._on_plate_back_clicked)

    # -- requests ------------------------------------------------------------------------------

    def request(self, backend: str, path: str, *, confirmed: bool = False,
                opener: Callable[..., Preview] | None = None) -> int:
        """Preview ``backend:path``; supersedes any pending request. Returns its generation.
        ``opener``: what makes the preview instead of ``open_preview`` (called as it is: a
        TIFF plate's field stacks its site's files)."""
        self._generation += 1
        generation = self._generation
        self._pending = (backend, path)
        name = path.rstrip("/").rsplit("/", 1)[-1] or path
        self.title.setText(f"{name}  —  {backend}:{path}")
        self.title.setToolTip(f"{backend}:{path}")
        self.status.setText("")
        self.status.setStyleSheet("")
        self.message.setStyleSheet("")
        self.busy.show()
        if self._plate_field_of is None or (backend, path) != self._plate_field_of[1:]:
            self.plate_back.hide()
        # numpy and the readers: not before the window paints
        from ..model.selection_read import read_selection

        self._stop_contrast_searches()
        self._quit_preview_job()
        # One job: the preview, then whether the address is a plate (or a well) that the plate
        # view shows instead; a local folder's node document is read once for both.
        job = self._workers.start(
            read_selection,
            backend,
            path,
            size_limit=self.size_limit,
            confirmed=confirmed,
            listed=True,  # a row of the tree: if it is missing now, it "no longer exists"
            opener=opener,
            pass_cancel=True,  # the job's token: quitting the job stops a remote store's reads
            on_yield=lambda answer, g=generation: self._on_selection_answer(g, backend, path, answer),
            on_error=lambda exc, g=generation: self._on_preview_errored(g, backend, path, exc),
            on_finish=lambda g=generation: self._on_preview_job_finished(g),
        )
        self._preview_job = (generation, job)
        return generation

    def _stop_contrast_searches(self) -> None:
        """Cancel the shown preview's background contrast search (a remote sparse array's
        other planes): the user moved on, and its requests would slow the new preview's.
        The shown layers keep their limits until the new preview replaces them."""
        for spec in self.current.layers if self.current is not None else ():
            if spec.contrast_later is not None:
                spec.contrast_later.cancel()

    def _quit_preview_job(self) -> None:
        """Quit the preview job still running (superseded): what it returns is dropped anyway."""
        if self._preview_job is not None:
            self._preview_job[1].quit()
            self._preview_job = None

    def _on_preview_job_finished(self, generation: int) -> None:
        if self._preview_job is not None and self._preview_job[0] == generation:
            self._preview_job = None  # its preview's own reads are the preview's now (closed with it)

    def _replace_current(self, preview: Preview | None) -> None:
        old, self.current = self.current, preview
        if old is not None and old is not preview:
            self.plane_notes.stop()
            if old.is_array and self.viewer.is_ready:
                self.shown_layers = []
                self.viewer.clear()
            old.close()

    def close_preview(self) -> None:
        """Drop what is shown and release its files (on exit)."""
        self._generation += 1
        self._replace_current(None)

    def release_under(self, addresses: list[tuple[str, str]], why: str) -> bool:
        """Stop previewing what lies at or under any of ``addresses`` (about to be deleted):
        its reading job quits and its files are released. True if something was shown."""
        from ..model.address import path_under

        def under(backend: str, path: str) -> bool:
            return any(backend == b and path_under(path, p) for b, p in addresses)

        shown = self._pending if self._pending is not None else (
            (self.current.backend, self.current.path) if self.current is not None else None)
        if shown is None or not under(*shown):
            return False
        self.show_message(shown[1].rstrip("/").rsplit("/", 1)[-1] or shown[1], why)
        return True

    def show_message(self, title: str, text: str, facts: dict[str, str] | None = None) -> None:
        """A pane for things with nothing to preview (backends, placeholders), with facts below."""
        self._generation += 1
        self._quit_preview_job()
        self.plate_view.stop()
        self.plate_back.hide()
        self._pending = None
        self._replace_current(None)
        self.busy.hide()
        self.title.setText(title)
        self.title.setToolTip("")
        self.status.setText("")
        self.status.setStyleSheet("")
        self.message.setStyleSheet("")
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self.metadata.clear()
        for key, value in (facts or {}).items():
            item = QTreeWidgetItem(self.metadata)
            item.setText(0, key)
            item.setText(1, value)
            item.setToolTip(1, value)

    def _on_preview_returned(self, generation: int, preview: Preview) -> None:
        if generation != self._generation:
            preview.close()
            return  # a newer selection superseded this one
        self._replace_current(preview)
        self.metadata.show_info(preview.info)
        notes = list(preview.notes)
        if preview.info.error and preview.info.error not in notes:
            notes.append(preview.info.error)
        if preview.is_array:
            if not self.viewer.is_ready:
                # The pane says where the viewer is ("Starting…", or why it failed, with Retry).
                self.stack.setCurrentWidget(self.viewer)
                self.status.setText("; ".join(notes))
                self._awaiting_viewer = generation
                self.viewer.build()  # built on the first array shown, not at start-up
                if self.viewer.error is not None:
                    self.busy.hide()
                return  # shown by _on_viewer_ready
            self._show_array(preview, notes)  # previewShown once its layers are in (_on_layers_shown)
            return
        self.busy.hide()
        self._show_non_array(preview, notes)
        self.previewShown.emit(preview)

    def _on_viewer_ready(self) -> None:
        preview = self.current
        # Only the answer to the latest request, and only if it was waiting for the viewer.
        if preview is not None and preview.is_array and self._awaiting_viewer == self._generation:
            self._show_array(preview, list(preview.notes))

    def _on_viewer_failed(self, message: str) -> None:
        # The pane shows why, with Retry; a retry that works shows the pending array.
        self.busy.hide()

    def _show_array(self, preview: Preview, notes: list[str]) -> None:
        generation = self._generation
        for spec in preview.layers:
            for source in spec.sources:
                # Called from napari's slicing thread: a signal carries it to this one.
                source.on_failure = lambda index, message, g=generation: self.chunkFailed.emit(g, index, message)
        from ..model.screen_levels import with_screen_levels

        # A plane larger than a screen is shown at a screen-sized level made on the fly
        # (napari uploads what it shows as one texture, at every slider step).
        layers, given = with_screen_levels(preview.layers)
        if given:
            notes = [*notes, SCREEN_LEVEL_NOTE]
        # The layers are added in steps, one GUI turn each (issue 19): shown, and previewShown
        # emitted, once all are in.
        self.viewer.show_layers(
            layers, on_shown=lambda added: self._on_layers_shown(generation, preview, added, notes),
            on_failed=lambda exc: self._on_layers_failed(generation, preview, exc))

    def _on_layers_shown(self, generation: int, preview: Preview, added: list[Any], notes: list[str]) -> None:
        if generation != self._generation:
            return
        self.shown_layers = added
        self.busy.hide()
        self.stack.setCurrentWidget(self.viewer)
        if getattr(preview, "plane_note", None) is not None:
            # Room for the plane's missing-chunks note, joined to these once the slider rests: a line it
            # added resized the canvas (a frame and napari's resize, 25-40 ms) amid a pan/zoom (issue 19).
            self.status.make_room("; ".join([*(n for n in notes if n), PLANE_NOTE_ROOM]))
        self.status.setText("; ".join(n for n in notes if n))
        self.plane_notes.follow(preview, added, notes)  # the missing chunks' note follows the plane shown
        self.previewShown.emit(preview)

    def _on_layers_failed(self, generation: int, preview: Preview, exc: Exception) -> None:
        if generation != self._generation:
            return
        log.warning("napari could not show %s", preview.path, exc_info=exc)  # napari refusing the data
        self._show_error(f"napari cannot show this array: {exc}")

    def _on_chunk_failed(self, generation: int, index: object, message: str) -> None:
        if generation != self._generation:
            return
        note = f"chunk {index} could not be read ({message}): shown as the fill value"
        current = self.status.text()
        if note not in current:
            self.status.setText(f"{current}; {note}" if current else note)
            self.status.setStyleSheet("color: #b45309;")

    def _show_non_array(self, preview: Preview, notes: list[str]) -> None:
        info = preview.info
        if self._plate_generation == self._generation:  # the plate view shows it
            self.status.setText("; ".join(n for n in notes if n))
            return
        if isinstance(info.preview, list):
            rows = info.preview
            self.table.clear()
            width = max((len(r) for r in rows), default=0)
            header, body = (rows[0], rows[1:]) if rows else ([], [])
            self.table.setColumnCount(width)
            self.table.setRowCount(len(body))
            self.table.setHorizontalHeaderLabels(header + [""] * (width - len(header)))
            for r, row in enumerate(body):
                for c, value in enumerate(row):
                    self.table.setItem(r, c, QTableWidgetItem(value))
            self.stack.setCurrentWidget(self.table)
            if info.truncated:
                notes.append(f"first {len(body)} rows shown")
        elif isinstance(info.preview, str):
            self.text.setPlainText(info.preview)
            self.stack.setCurrentWidget(self.text)
            if info.truncated:
                notes.append("first 64 KiB shown")
        else:
            self.message.setText(_describe(info, notes))
            self.stack.setCurrentWidget(self.message)
        self.status.setText("; ".join(n for n in notes if n))

    def _on_preview_errored(self, generation: int, backend: str, path: str, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._replace_current(None)
        from ..model.lazy import NeedsConfirmation, PreviewError

        if isinstance(exc, NeedsConfirmation):
            self.busy.hide()
            answer = QMessageBox.question(
                self, "Read a large array?", f"{exc}.\n\nRead it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if generation != self._generation:
                return  # something else was selected while the question was open: it is shown
            if answer == QMessageBox.StandardButton.Yes:
                self.request(backend, path, confirmed=True)
            else:
                self._show_error(f"Not shown: {exc}")
            return
        if not isinstance(exc, PreviewError):
            log.warning("preview of %s:%s failed", backend, path, exc_info=exc)
        self._show_error(str(exc) if isinstance(exc, PreviewError) else f"{type(exc).__name__}: {exc}")
        info = getattr(exc, "info", None)
        if info is not None:
            self.metadata.show_info(info)
            return
        # Unexpected failure: the facts are read again, off the GUI thread.
        self._workers.start(
            inspect, backend, path,
            on_return=lambda found, g=generation: self.metadata.show_info(found) if g == self._generation else None,
            on_error=lambda _exc: None,  # the metadata may be what is broken; the message says enough
        )

    # -- plates --------------------------------------------------------------------------------

    def _on_selection_answer(self, generation: int, backend: str, path: str, answer: Any) -> None:
        """One answer of the selection's job (``model.selection_read``): the preview, then
        whether the address is a plate (or a well), which is shown in the plate view instead
        of its member counts."""
        if answer.part == "preview":
            if answer.error is not None:
                self._on_preview_errored(generation, backend, path, answer.error)
            else:
                self._on_preview_returned(generation, answer.value)
        elif answer.error is not None:
            self._on_plate_lookup_failed(generation, answer.error)
        else:
            self._on_plate_found(generation, answer.value)

    def _on_plate_lookup_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation:  # a superseded lookup was cancelled: nothing to say
            log.warning("looking for a plate failed", exc_info=exc)

    def _on_plate_found(self, generation: int, found: Any) -> None:
        """``found``: (plate, the selected well or None), or None when it is no plate or well."""
        if generation != self._generation:
            return
        if found is None:
            self.plate_view.stop()
            return
        plate, well = found
        self._plate_generation = generation
        self.plate_back.hide()
        self.plate_view.show_plate(plate, well)
        self.stack.setCurrentWidget(self.plate_view)
        self.busy.hide()
        self.plateShown.emit(plate)

    def _open_plate_field(self, backend: str, path: str) -> None:
        """A field double-clicked in the plate view: its image in the embedded viewer, with
        a way back to the plate."""
        plate = self.plate_view.plate
        self.plate_view.stop()
        self.request(backend, path, opener=_field_opener(plate, backend, path))
        self._plate_field_of = (plate, backend, path)
        self.plate_back.show()

    def _on_plate_back_clicked(self) -> None:
        if self._plate_field_of is not None:
            plate = self._plate_field_of[0]
            self.request(plate.backend, plate.path)

    def _show_error(self, text: str) -> None:
        self.busy.hide()
        self.message.setText(f"Cannot preview this:\n{text}")
        self.message.setStyleSheet("color: #b91c1c;")
        self.stack.setCurrentWidget(self.message)
        self.status.setText(text)
        self.status.setStyleSheet("color: #b91c1c;")
        self.previewFailed.emit(text)


def _field_opener(plate: Any, backend: str, path: str) -> Callable[..., Preview] | None:
    """A TIFF plate's field of several files opens as its site's stack (model.plate_tiff);
    any other field through its address."""
    import functools

    for well in plate.wells if plate is not None else ():
        for field in well.fields:
            if field.backend == backend and field.path == path and len(field.files) > 1:
                from ..model.plate_tiff import site_preview

                return functools.partial(site_preview, files=field.files)
    return None


def _plate_cache_folder() -> str:
    """Where plate thumbnails are cached: Qt's user cache folder for this application."""
    import os

    from qtpy.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    if not base:
        from ..model.plate_thumbs import default_cache_folder

        return default_cache_folder()
    return os.path.join(base, "plate-thumbnails")


def _describe(info: Info, notes: list[str]) -> str:
    if info.kind in ("directory", "group") and info.members:
        parts = ", ".join(f"{v} {k[:-1] if v == 1 and k.endswith('s') else k}" for k, v in info.members.items())
        return f"{info.kind.capitalize()} holding {parts}."
    if info.error:
        return info.error
    if info.kind == "array":
        return "; ".join(notes) or "This array cannot be shown as an image; see its metadata below."
    return f"{info.format or info.kind} — no preview for this kind of file."
