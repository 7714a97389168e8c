"""The main window: the backend tree on the left, what is selected on the right.

This module builds the window and owns its life (start in the background, quit); what the
window does is split by concern into mixins, one module each:

- ``window_actions``: menus, toolbar, context menu, Help;
- ``window_filter``: the name filter (``TreeFilterProxy``, ``TreeMapping``);
- ``window_locations``: roots, stores, Open Location, Open Recent, desktop drops;
- ``window_selection``: selection to the preview, chunk inspector, folder list and viewers;
- ``window_transfers``: drops on the tree, Copy / Paste / Copy To, conflicts, the queue;
- ``window_edits``: Delete and Rename;
- ``window_settings``: settings and geometry (restored layout, the Name column).
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

from qtpy.QtCore import QPersistentModelIndex, Qt, QTimer, Signal
from qtpy.QtGui import QAction, QCloseEvent, QKeySequence
from qtpy.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFrame,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..model.catalogue import Discovery, close_connections, discover_backends
from . import icons, window_layout
from .folder_list import FolderList
from .later import call_later
from .navigator import Navigator, Session
from .preview_panel import PreviewPanel
from .tree_model import COLUMNS, BackendTreeModel
from .tree_view import BackendTreeView
from .viewer_link import SINKS, SendReport, ViewerLink, note_for
from .window_actions import ActionsMixin
from .window_edits import EditsMixin
from .window_filter import FilterMixin, TreeFilterProxy, TreeMapping
from .window_locations import LocationsMixin
from .window_selection import SelectionMixin
from .window_settings import SettingsMixin
from .window_transfers import TransfersMixin
from .workers import WorkerPool


log = logging.getLogger(__name__)


class MainWindow(ActionsMixin, FilterMixin, LocationsMixin, SelectionMixin, TransfersMixin, EditsMixin,
                 SettingsMixin, QMainWindow):
    """The browser window. Builds nothing slow itself: discovery runs in a worker.

    Its behaviour comes from mixins (plain classes, one module per concern) rather than
    controller objects: tests, benchmarks and the other panels reach the window's widgets,
    actions and hooks as ``window.<name>`` (``window.transfer``, ``window.conflict_resolver``,
    ``window.delete_action``…), and mixins keep every one of those names on the window with
    no forwarding layer; Qt signals stay here (only a QObject subclass can declare them).
    """

    PREVIEW_MIN_WIDTH = 320  # the napari canvas and its layer controls

    discoveryFinished = Signal(object)  # Discovery
    deleteFinished = Signal(int, list)  # entries deleted, what failed (text per entry)
    renamed = Signal(object, object)  # old Address, new Address
    renameFailed = Signal(object, str)  # Address, why
    shutdownFinished = Signal()

    def __init__(self, roots: list[str] | None = None, *, viewer_port: int | None = None,
                 fiji_port: int | None = None) -> None:
        super().__init__()
        self.setObjectName("polystoreGuiMainWindow")
        self.setWindowTitle("polystore-gui")
        self.setWindowIcon(icons.named("app"))
        from qtpy.QtWidgets import QApplication

        screen = QApplication.primaryScreen()
        self.resize(window_layout.default_window_size(screen.availableGeometry()) if screen is not None
                    else window_layout.DEFAULT_MAX)
        self.setAcceptDrops(True)
        self._shut_down = False
        self._arrived: set[tuple[str, str]] = set()  # (backend, path) a running transfer changed
        self.workers = WorkerPool(parent=self)
        self.tree_model = BackendTreeModel(self.workers, self)
        self.tree_model.set_disk_roots([*(roots or []), os.path.expanduser("~")])
        self.tree_model.storeMet.connect(self._on_tree_model_store_met)
        self.tree_model.remoteRootRead.connect(self._on_tree_model_remote_root_read)
        self.tree_model.entriesDropped.connect(self._on_tree_model_entries_dropped)
        napari_port, fiji_port = self._viewer_ports(viewer_port, fiji_port)
        self.viewer_link = ViewerLink(self.workers, napari_port=napari_port, fiji_port=fiji_port, parent=self)
        self.viewer_link.stateChanged.connect(self._on_viewer_link_state_changed)
        self.viewer_link.sendProgress.connect(lambda text: self.statusBar().showMessage(text))
        self.viewer_link.sendFinished.connect(self._on_viewer_link_send_finished)
        self.viewer_link.sendFailed.connect(self._on_viewer_link_send_failed)
        self.filter_proxy = TreeFilterProxy(self)
        self.filter_proxy.setSourceModel(self.tree_model)
        self.proxy = TreeMapping(self)
        self.session = Session()
        self._build_ui()
        self.navigator = Navigator(self)
        self.navigator.failed.connect(self._on_navigator_failed)
        self.navigator.revealed.connect(self._on_navigator_revealed)
        self._build_actions()
        self.statusBar().showMessage("Discovering backends…")
        self._restore_layout()
        self._watch_settings_writes()

    @property
    def inspector(self) -> Any:
        """The chunk inspector panel (made ahead, hidden, by ``prepare_inspector``; else
        the first time it is asked for)."""
        if self._inspector is None:
            from .chunk_inspector import ChunkInspector
            from .chunk_overlay import ChunkOverlay

            inspector = ChunkInspector(self.workers, self)
            inspector.hide()
            self.splitter.replaceWidget(2, inspector)
            self._inspector_slot.deleteLater()
            self._inspector = inspector
            self._overlay = ChunkOverlay(self.preview.viewer, inspector, self)
            inspector.ensurePolished()  # its children's style, before it is first shown
            inspector.minimumSizeHint()  # its layout, laid out hidden
        return self._inspector

    def prepare_inspector(self) -> None:
        """Make the chunk inspector ahead, hidden, in short idle turns (once; chunk_ahead)."""
        if self._inspector is not None or self._inspector_ahead:
            return
        from . import chunk_ahead

        self._inspector_ahead = True
        chunk_ahead.run_ahead(self, [*chunk_ahead.import_steps(), lambda: self.inspector],
                              stop=lambda: self._shut_down)

    @property
    def overlay(self) -> Any:
        """The inspector over the napari canvas (built with the inspector)."""
        if self._overlay is None:
            self.inspector  # noqa: B018 (builds both)
        return self._overlay

    def _inspecting(self) -> bool:
        return self._inspector is not None and self._inspector.isVisible()

    @property
    def transfer_queue(self) -> Any:
        """The Transfers panel (built the first time it is asked for)."""
        if self._transfer_queue is None:
            from .transfer_queue import TransferQueue

            queue = TransferQueue(self.workers, self)
            queue.transferFinished.connect(self._on_transfer_queue_transfer_finished)
            queue.itemFinished.connect(self._on_transfer_queue_item_finished)
            self._transfer_queue = queue
            self.transfer_dock.setWidget(queue)
        return self._transfer_queue

    def _build_ui(self) -> None:
        left = QWidget(self)
        layout = QVBoxLayout(left)
        layout.setContentsMargins(4, 4, 0, 4)
        layout.setSpacing(4)
        self.filter_edit = QLineEdit(left)
        self.filter_edit.setObjectName("treeFilter")
        self.filter_edit.setPlaceholderText("Filter by name (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        layout.addWidget(self.filter_edit)
        self.tree = BackendTreeView(left)
        self.tree.setObjectName("backendTree")
        self.tree.setModel(self.tree_model)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAnimated(False)
        self.tree.setDragEnabled(True)
        self.tree.setAcceptDrops(True)
        self.tree.setDropIndicatorShown(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_tree_context_menu_requested)
        # Over the tree while a filter matches no loaded row: says so instead of a blank tree.
        self.filter_placeholder = QLabel("", self.tree.viewport())
        self.filter_placeholder.setObjectName("treeFilterPlaceholder")
        self.filter_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.filter_placeholder.setWordWrap(True)
        self.filter_placeholder.setStyleSheet("color: palette(mid); padding: 24px;")
        self.filter_placeholder.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        placeholder_layout = QVBoxLayout(self.tree.viewport())
        placeholder_layout.addWidget(self.filter_placeholder, 0, Qt.AlignmentFlag.AlignTop)
        self.filter_placeholder.hide()
        for signal in (self.filter_proxy.rowsInserted, self.filter_proxy.rowsRemoved,
                       self.filter_proxy.modelReset, self.filter_proxy.layoutChanged):
            signal.connect(self._update_filter_placeholder)
        # Esc in the filter clears it (the whole tree again).
        clear_filter = QAction("Clear Filter", self.filter_edit)
        clear_filter.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear_filter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear_filter.triggered.connect(self.filter_edit.clear)
        self.filter_edit.addAction(clear_filter)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        # Widths from the font (they hold at any scaling); Name gets what the pane has left
        # when it is first shown (see _fit_name_column).
        self._column_widths = window_layout.tree_column_widths(self.tree.fontMetrics())
        for col, width in enumerate(self._column_widths):
            header.resizeSection(col, width)
        self._name_fitted = False
        header.sectionResized.connect(self._on_tree_header_section_resized)
        # Columns fitted to what is shown (the rows in view only: a Python model answers each
        # cell measured), once a burst of rows is in (see _fit_name_column).
        header.setResizeContentsPrecision(0)
        self._column_fit_timer = QTimer(self)
        self._column_fit_timer.setSingleShot(True)
        self._column_fit_timer.setInterval(60)
        self._column_fit_timer.timeout.connect(self._fit_name_column)
        self.tree.expanded.connect(self._schedule_column_fit)
        self.tree.collapsed.connect(self._schedule_column_fit)
        self.tree_model.listingFinished.connect(self._schedule_column_fit)
        self.tree.installEventFilter(self)
        self.tree.selectionModel().currentChanged.connect(self._on_tree_current_changed)
        self.tree.activated.connect(self._on_tree_activated)
        self.tree.expanded.connect(self._on_tree_expanded)
        self.tree.collapsed.connect(self._on_tree_collapsed)
        self._expanded: set[QPersistentModelIndex] = set()  # source indexes, kept across filtering
        # Below the tree: every entry of a large folder (the tree shows its first page).
        self.folder_list = FolderList(left)
        self.folder_list.hide()
        self._list_last_used = False  # the selection actions act on the list (True) or the tree
        self.folder_list.table.selectionModel().currentChanged.connect(self._on_folder_list_current_changed)
        self.folder_list.table.doubleClicked.connect(self._on_folder_list_double_clicked)
        self.folder_list.model.sortRequested.connect(self._on_folder_list_sort_requested)
        self.folder_list.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.folder_list.table.customContextMenuRequested.connect(self._on_folder_list_context_menu_requested)
        # The folder list follows the folder's listing state itself (a view of the same
        # FolderState as the tree's rows): the window only opens it and shows progress.
        self.tree_model.listingFinished.connect(self._on_tree_model_listing_finished)
        self.tree_model.detailsProgress.connect(self._on_tree_model_details_progress)
        self.left_splitter = QSplitter(Qt.Orientation.Vertical, left)
        self.left_splitter.setObjectName("leftSplitter")
        self.left_splitter.addWidget(self.tree)
        self.left_splitter.addWidget(self.folder_list)
        self.left_splitter.setStretchFactor(0, 2)
        self.left_splitter.setStretchFactor(1, 3)
        # The list's share when it first appears (set now: resizing the tree later would
        # make it lay out its rows again on the spot).
        self.left_splitter.setSizes([320, 480])
        self.left_splitter.setCollapsible(1, False)
        layout.addWidget(self.left_splitter)
        # The tree's pane never narrower than Name and Kind need (a splitter dragged shut, or
        # a layout restored from a smaller screen, would hide it).
        left.setMinimumWidth(window_layout.tree_minimum_width(self.tree.fontMetrics()))
        self._left = left
        self.preview = PreviewPanel(self.workers, self)
        self.preview.size_limit = self.settings_size_limit()
        self._show_welcome()
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(left)
        splitter.addWidget(self.preview)
        # The chunk inspector and the Transfers panel are built when first used (hidden at
        # start): their modules (numpy, the chunk scanner, the transfer engine) are not
        # imported before the window paints. A placeholder keeps the inspector's place.
        self._inspector: Any = None
        self._overlay: Any = None
        self._transfer_queue: Any = None
        self._inspector_slot = QWidget(self)
        self._inspector_slot.hide()
        splitter.addWidget(self._inspector_slot)
        # ... made ahead once napari's viewer is prepared (or after the first preview).
        self._inspector_ahead = False
        self._inspector_opening: Any = None  # the entry an opening inspector inspects next turn
        self.preview.viewer.prepared.connect(self.prepare_inspector)
        self.preview.previewShown.connect(self._on_preview_shown)
        self.preview.plate_view.sendRequested.connect(self._on_plate_view_send_requested)
        self.preview.plate_view.mosaicRequested.connect(self._on_plate_view_mosaic_requested)
        # A wider window gives the preview the room; the tree keeps its columns' width.
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(1, False)
        self.preview.setMinimumWidth(self.PREVIEW_MIN_WIDTH)
        width = self.width()
        tree = min(sum(self._column_widths) + 24, int(width * 0.5))
        splitter.setSizes([max(tree, left.minimumWidth()), width - tree, 0])
        self.setCentralWidget(splitter)
        self.transfer_dock = QDockWidget("Transfers", self)
        self.transfer_dock.setObjectName("transferDock")
        self.transfer_dock.visibilityChanged.connect(lambda shown: shown and self.transfer_queue)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.transfer_dock)
        self.transfer_dock.hide()
        # How a name taken at the destination is resolved, and a deletion confirmed; tests
        # replace them (no modal dialog).
        self.conflict_resolver = self._ask_conflict
        self.volatile_move_resolver = self._ask_volatile_move  # "copy", "move" or "cancel"
        self.delete_confirmer = self._confirm_delete
        self.destination_asker = self._ask_destination  # Copy To…: entries -> text or None
        self.name_asker = self._ask_new_name  # Rename…: entry -> new name or None
        # The drop menu (sources, destination, the drop's own "copy" / "move") -> "copy",
        # "move", "convert" or "cancel"; shown when a conversion is on offer (see window_transfers).
        self.drop_chooser = self._ask_drop
        self._pasting = False
        self.splitter = splitter
        # What is under the cursor on the napari canvas (layer, position by axis, value), as
        # napari's own status bar says it; a permanent widget, so messages never hide it.
        self.cursor_label = QLabel("", self)
        self.cursor_label.setObjectName("cursorStatus")
        self.preview.viewer.cursorMoved.connect(self._show_cursor_text)
        self.statusBar().addPermanentWidget(self.cursor_label)
        # A line between the readout and the backend count, which otherwise read as one
        # phrase ("value 10344  9 backends"); shown only while the readout says something.
        self._status_separator = QFrame(self)
        self._status_separator.setObjectName("statusSeparator")
        self._status_separator.setFrameShape(QFrame.Shape.VLine)
        self._status_separator.setFrameShadow(QFrame.Shadow.Sunken)
        self._status_separator.setContentsMargins(6, 0, 6, 0)
        self._status_separator.hide()
        self.statusBar().addPermanentWidget(self._status_separator)
        self.backend_count_label = QLabel("", self)
        self.statusBar().addPermanentWidget(self.backend_count_label)
        from .exact_stats import ExactStatistics

        self.exact_stats = ExactStatistics(self.workers, self.preview, self.statusBar(), self)
        self.statusBar().addPermanentWidget(self.exact_stats.widget)

    def _show_cursor_text(self, text: str) -> None:
        """The canvas readout in the status bar, set apart from the backend count by a line."""
        self.cursor_label.setText(text)
        self._status_separator.setVisible(bool(text))

    def start_background(self, *, viewer: bool = True) -> None:
        """Start backend discovery (the tree fills in when it finishes), then napari's import.

        One after the other, not side by side: two threads importing at once starve the GUI
        thread of the interpreter lock (stalls of 100-150 ms measured). After the import,
        napari's viewer is built ahead in short turns and warmed (qt/napari_warmup.py),
        unless a preview asks for it first.
        """
        self._start_viewer = viewer
        self.workers.start(
            discover,
            on_return=self._on_discovery_returned,
            on_error=self._on_discovery_errored,
        )

    # After the tree is filled, napari's import (and the jobs of _after_tree_painted) wait
    # this long: the tree lays out and paints its backends and first folder (many short
    # calls into Python, each of which waited for the interpreter lock while the import
    # ran: a 90-130 ms stall, measured).
    VIEWER_IMPORT_DELAY_MS = 400

    def _on_discovery_returned(self, discovery: Discovery) -> None:
        if getattr(self, "_start_viewer", False):
            self._start_viewer = False
            call_later(self, self.VIEWER_IMPORT_DELAY_MS, lambda: self.preview.viewer.start(build=False))
        gc.freeze()  # the imports' long-lived objects: out of every later full collection
        self.tree_model.set_discovery(discovery)
        ready = sum(1 for b in discovery.backends if b.status.value == "ready")
        self.backend_count_label.setText(f"{len(discovery.backends)} backends · {ready} ready")
        self.statusBar().showMessage(f"Found {len(discovery.backends)} backends in {discovery.seconds:.1f} s", 5000)
        self.tree.expand(self.proxy.mapFromSource(self.tree_model.backend_index("disk")))
        self.expand_first_root()
        self.discoveryFinished.emit(discovery)
        # The viewers' probe and the interrupted transfers' recovery import modules in workers
        # (ZeroMQ, polystore's streaming and zarr backends): they wait as napari's import does,
        # so the tree's first paint does not share the interpreter lock with their imports.
        call_later(self, self.VIEWER_IMPORT_DELAY_MS, lambda: self._after_tree_painted(discovery))

    def _after_tree_painted(self, discovery: Discovery) -> None:
        if self.workers.closed:  # quit within the delay: nothing more starts
            return
        if any(discovery.get(sink) is not None for sink in SINKS):
            self.viewer_link.start()
        self.workers.start(_recover_interrupted_transfers, on_return=self._on_transfers_recovered)

    def _on_transfers_recovered(self, messages: list[str]) -> None:
        """Say what the transfers interrupted by a kill or a crash left, and what was done about it."""
        for message in messages:
            log.warning("%s", message)
        if messages:
            more = f" (and {len(messages) - 1} more: see the log)" if len(messages) > 1 else ""
            self.statusBar().showMessage(messages[0][0].upper() + messages[0][1:] + more, 30_000)

    def expand_first_root(self) -> None:
        """Open the first folder the user asked for (or the demo), as a file browser would."""
        roots = self.tree_model.disk_roots()
        if roots:
            index = self.tree_model.find("disk", roots[0])
            if index.isValid():
                self.tree.expand(self.proxy.mapFromSource(index))

    def _on_discovery_errored(self, exc: BaseException) -> None:
        if getattr(self, "_start_viewer", False):
            self._start_viewer = False
            self.preview.viewer.start(build=False)
        log.error("backend discovery failed", exc_info=exc)
        self.statusBar().showMessage(f"Backend discovery failed: {exc}")
        self.preview.show_message("Backend discovery failed", str(exc))

    def _on_viewer_link_state_changed(self, sink: str, state: object) -> None:
        self.tree_model.set_backend_note(sink, note_for(sink, state))  # type: ignore[arg-type]

    def _on_viewer_link_send_finished(self, report: SendReport) -> None:
        self.statusBar().showMessage(report.text, 10_000)

    def _on_viewer_link_send_failed(self, message: str) -> None:
        log.warning("not sent: %s", message)
        self.statusBar().showMessage(f"Not sent: {message}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self, timeout_ms: int = 1_000) -> None:
        """Cancel every worker, await them briefly, then close backend connections exactly once.

        Quitting should feel immediate: cancelled jobs get about a second to stop at their
        next step; a job still running then (stuck in a system call: a hung mount, a FIFO)
        is abandoned, never waited for (``WorkerPool.wait``), and ends with the process. A
        transfer cut short that way is cleaned up at the next start (``recover_interrupted``).
        Connections close with polystore's ``cleanup_backend_connections()`` so that a
        persistent streaming viewer outlives the browser.
        """
        if self._shut_down:
            return
        self._shut_down = True
        self._unwatch_settings_writes()
        self.navigator.cancel()
        self.viewer_link.stop()
        if self._transfer_queue is not None:
            self._transfer_queue.cancel_all()
        self.tree_model.cancel_all()
        if self._inspector is not None:
            self._inspector.cancel()
        self.exact_stats.cancel()  # its job stops after the chunks being read
        self.workers.cancel_all(close=True)
        # The window goes first: a job that cannot stop at once (the viewer link's probe
        # waits up to a second for a viewer's answer) must not leave a frozen window on
        # screen while it is awaited. The persistent viewer is another process: it stays.
        self.hide()
        if not self.workers.wait(timeout_ms):
            log.warning("some background jobs did not stop within %d ms", timeout_ms)
        # The preview hidden before its layers go: napari resizes its dims sliders and lays
        # out its layer list for each layer removed, and a shown panel pays a layout (and a
        # frame) for each (a 130 ms stall at quit, measured by the session benchmark).
        self.preview.setUpdatesEnabled(False)
        self.preview.hide()
        self.preview.close_preview()
        self.preview.viewer.close_viewer()
        try:
            close_connections()
        except Exception as exc:  # closing must never crash the exit
            log.warning("closing backend connections failed: %s", exc)
        self.shutdownFinished.emit()


def discover() -> Discovery:
    """In a worker: polystore's backends discovered, then the adapters' modules loaded, which
    the tree's first rows ask about each backend (on the GUI thread, their first question
    imported them: 30 ms in one turn at start-up, issue 19).

    With the cyclic collector paused, and what was loaded frozen after: a full collection
    that the imports set off on this thread holds the interpreter lock for all of its
    length (the window froze 35-75 ms while the tree was still being discovered)."""
    from ..model.backends.common import gc_paused
    from ..model.backends.registry import load_adapters

    with gc_paused(freeze=True):
        discovery = discover_backends()
        load_adapters()
    return discovery


def _recover_interrupted_transfers() -> list[str]:
    """In a worker: clean up after transfers killed mid-way (see transfers.recover_interrupted)."""
    from ..model import transfers

    return transfers.recover_interrupted()


__all__ = ["COLUMNS", "MainWindow", "TreeFilterProxy", "TreeMapping"]
