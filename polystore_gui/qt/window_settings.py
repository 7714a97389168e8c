"""The window's settings (QSettings) and its geometry: sizes restored, fitted, the Name column.

A mixin of :class:`~polystore_gui.qt.main_window.MainWindow` (see its docstring for why
mixins): it uses the window's widgets and models through ``self``.
"""

from __future__ import annotations

import logging
from typing import Any

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QInputDialog

from ..model.chunk_shape import PLANE, ChunkShapeError, format_chunk_shape, parse_chunk_shape
from . import settings_writes, window_layout
from .later import next_turn
from .viewer_link import FIJI, NAPARI


log = logging.getLogger(__name__)


class SettingsMixin:
    """Settings read and written through QSettings (the preview's size limit, the chunks of arrays
    copied into zarr, the viewers' ports), and the window's geometry: restored, fitted into
    the screen, the tree's Name column fitted to its pane.

    Written through ``settings_writes`` (and read back through it): QSettings rewrites and
    flushes its file when written, a GUI stall under disk load (issue 19)."""

    SIZE_LIMIT_KEY = "preview/size_limit_bytes"

    def settings_size_limit(self) -> int:
        """The preview's size guard (bytes read whole without asking), from QSettings."""
        from ..model.arrays import DEFAULT_SIZE_LIMIT

        value = settings_writes.read(self.SIZE_LIMIT_KEY, DEFAULT_SIZE_LIMIT)
        try:
            return max(1 << 20, int(value))
        except (TypeError, ValueError):
            return DEFAULT_SIZE_LIMIT

    def set_size_limit(self, nbytes: int) -> None:
        self.preview.size_limit = int(nbytes)
        settings_writes.write(self.SIZE_LIMIT_KEY, int(nbytes))

    def choose_size_limit(self) -> None:
        gib, ok = QInputDialog.getDouble(
            self, "Preview size limit",
            "Ask before reading more than this many GiB into memory\n"
            "(only for data with no lazy path; lazy arrays are never read whole):",
            self.preview.size_limit / 2**30, 0.01, 1024.0, 2,
        )
        if ok:
            self.set_size_limit(int(gib * 2**30))

    def transfer_chunks(self) -> tuple[int, ...] | None:
        """The chunk shape for arrays copied into zarr (setting ``transfers/chunks``); None: per plane."""
        text = str(settings_writes.read("transfers/chunks", PLANE) or PLANE)
        try:
            return parse_chunk_shape(text)
        except ChunkShapeError:  # an old or hand-edited setting: per plane
            return None

    def set_transfer_chunks(self, chunks: tuple[int, ...] | None) -> None:
        settings_writes.write("transfers/chunks", format_chunk_shape(chunks))

    def choose_transfer_chunks(self) -> None:
        current = self.transfer_chunks()
        text, ok = QInputDialog.getText(
            self, "Chunks for arrays copied into zarr",
            "'plane' (one plane per chunk; 2048 x 2048 tiles for planes above 4096 x 4096),\n"
            "or the sizes of the trailing axes, e.g. 1,512,512:",
            text=format_chunk_shape(current))
        if not ok:
            return
        try:
            chunks = parse_chunk_shape(text, what="the chunk shape")
        except ChunkShapeError as exc:
            self.statusBar().showMessage(f"Not a chunk shape: {exc}", 5000)
            return
        self.set_transfer_chunks(chunks)

    def show_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        SettingsDialog(self).exec()

    @staticmethod
    def _viewer_ports(napari_port: int | None, fiji_port: int | None) -> tuple[int, int]:
        """The ports given, else the settings, else polystore's default (Fiji: one above it)."""
        from ..model.streaming import default_port

        def read(key: str, default: int) -> int:
            value = settings_writes.read(key, default)
            try:
                return int(value)
            except (TypeError, ValueError):  # a hand-edited setting: the default, never a traceback
                log.warning("setting %s is no port number (%r): %d used", key, value, default)
                return default

        base = default_port()
        napari = napari_port if napari_port is not None else read("viewer/napari_port", base)
        fiji = fiji_port if fiji_port is not None else read("viewer/fiji_port", base + 1)
        return napari, fiji

    def set_viewer_ports(self, napari_port: int, fiji_port: int) -> None:
        """Use (and remember) these ports for the napari viewer and the Fiji receiver."""
        settings_writes.write("viewer/napari_port", int(napari_port))
        settings_writes.write("viewer/fiji_port", int(fiji_port))
        if self.viewer_link.ports != {NAPARI: napari_port, FIJI: fiji_port}:
            self.viewer_link.ports = {NAPARI: int(napari_port), FIJI: int(fiji_port)}
            self.viewer_link.states.clear()
            self.viewer_link.poll()

    def _watch_settings_writes(self) -> None:
        """Say in the status bar, once a session, that the settings file cannot be written
        (``settings_writes``: the values stay in memory until quitting), also when a write
        failed before this window was there to show it."""
        settings_writes.on_failure(self._on_settings_not_saved)

    def _unwatch_settings_writes(self) -> None:
        """Stop listening (at shutdown): a write failing later is kept for a window built
        after this one, and logged."""
        settings_writes.stop_listening(self._on_settings_not_saved)

    def _on_settings_not_saved(self, message: str) -> None:
        self.statusBar().showMessage(message, 60_000)

    def _save_layout(self) -> None:
        """Window geometry and the splitter's sizes, for the next start (QSettings). With
        the chunk inspector open, the sizes it will have closed (the next start opens without
        it): the tree at its width from before the inspector narrowed it."""
        settings_writes.write("window/geometry", self.saveGeometry())
        tree = getattr(self, "_tree_before_inspector", None)
        if tree is None or self._inspector is None or self._inspector.isHidden():
            settings_writes.write("window/splitter", self.splitter.saveState())
            return
        shown = self.splitter.sizes()
        self.splitter.setSizes(self._sizes_inspector_closed(tree))
        settings_writes.write("window/splitter", self.splitter.saveState())
        self.splitter.setSizes(shown)

    def _restore_layout(self) -> None:
        """The last session's geometry, fitted into the screen it opens on (a window saved at
        100 % scaling is larger than the screen at 150 %), and its splitter, unless that
        would leave the tree or the preview narrower than their minimums."""
        geometry = settings_writes.read("window/geometry")
        if geometry is not None and self.restoreGeometry(geometry):
            self.fit_into_screen()
        splitter = settings_writes.read("window/splitter")
        if splitter is not None:
            self._default_splitter = self.splitter.saveState()
            self._splitter_restored = self.splitter.restoreState(splitter)  # checked once laid out

    def fit_into_screen(self) -> None:
        """Move and shrink the window so that all of it lies on the screen it is on."""
        from qtpy.QtGui import QGuiApplication

        frame = self.frameGeometry() if self.isVisible() else self.geometry()
        screen = QGuiApplication.screenAt(frame.center()) or self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
        if self.isMaximized() or self.isFullScreen() or available.contains(frame):
            return
        margins = frame.size() - self.geometry().size()  # the window manager's frame, when shown
        fitted = window_layout.fit_into(frame, available)
        self.move(fitted.topLeft())
        self.resize(fitted.size() - margins)

    _splitter_restored = False

    def _check_restored_splitter(self) -> None:
        """Undo a restored splitter that leaves the tree or the preview under its minimum
        (a tree dragged shut, a layout from a larger screen): the default sizes instead."""
        if not self._splitter_restored:
            return
        self._splitter_restored = False
        sizes = self.splitter.sizes()
        if not window_layout.splitter_sizes_usable(sizes, [self._left.minimumWidth(), self.PREVIEW_MIN_WIDTH, 0]):
            log.info("not restoring the splitter %s: it would hide the tree or the preview", sizes)
            self.splitter.restoreState(self._default_splitter)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._name_fitted:
            self._name_fitted = True
            self._check_restored_splitter()
            QTimer.singleShot(0, self._fit_name_column)

    _name_sized_by_user = False
    _fitting_name = False

    def _fit_name_column(self) -> None:
        """Fit the tree's columns to what they show: Name to the widest name shown (with its
        indentation) up to a cap, at least what the pane has left; the other columns to
        their content. A deep name reads whole; when Name and the rest do not all fit, the
        rightmost columns scroll. Done again when the pane is resized and when folders open
        or fill (debounced), until the user sizes a column by hand."""
        if self._name_sized_by_user:
            return
        tree, header = self.tree, self.tree.header()
        wanted = [max(header.sectionSizeHint(c), tree.sizeHintForColumn(c)) for c in range(header.count())]
        widths = window_layout.fitted_columns(tree.viewport().width(), wanted, self._column_widths)
        self._fitting_name = True
        try:
            for column, width in enumerate(widths):
                if header.sectionSize(column) != width:
                    header.resizeSection(column, width)
        finally:
            self._fitting_name = False

    def _schedule_column_fit(self, *_args: Any) -> None:
        """Fit the columns once the rows being added are in (one fit for a burst of them)."""
        if self._name_fitted and not self._name_sized_by_user:
            self._column_fit_timer.start()

    def _on_tree_header_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting_name and self._name_fitted and self.tree.header().isVisible() and _mouse_button_down():
            self._name_sized_by_user = True

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 (Qt override)
        from qtpy.QtCore import QEvent

        # The tree's own resizes (its pane), not its viewport's (a scroll bar coming and going).
        if watched is self.tree and event.type() == QEvent.Type.Resize and self._name_fitted:
            self._fit_name_column_next_turn()
        return super().eventFilter(watched, event)

    _column_fit_asked = False

    def _fit_name_column_next_turn(self) -> None:
        """The columns fitted in a turn of their own after the tree's resize, once for all
        the resizes of a turn: the fit asks each column's widest shown cell (10-35 ms), and
        it fell into the turn that resized the tree (the chunk inspector's opening: the
        splitter's new sizes, the canvas redrawn; issue 19)."""
        if self._column_fit_asked:
            return
        self._column_fit_asked = True

        def fit() -> None:
            self._column_fit_asked = False
            self._fit_name_column()

        next_turn(self, fit)


def _mouse_button_down() -> bool:
    """Whether a mouse button is held (a section resized then is the user's drag)."""
    from qtpy.QtWidgets import QApplication

    return QApplication.mouseButtons() != Qt.MouseButton.NoButton
