"""The main window: the backend tree on the left, what is selected on the right."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QModelIndex, QPersistentModelIndex, QSettings, QSortFilterProxyModel, Qt, QTimer, QUrl, Signal
from qtpy.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..model.address import ENTRIES_MIME, Address
from ..model.catalogue import Discovery, close_connections, discover_backends
from ..model.entries import Entry, EntryKind
from ..model.listing import entry_for_path
from . import icons, window_layout
from .folder_list import FolderList
from .later import call_later
from .navigator import Navigator, Session
from .preview_panel import PreviewPanel
from .tree_model import ADDRESS_ROLE, COLUMNS, ENTRY_ROLE, ROW_KIND_ROLE, BackendTreeModel, State
from .viewer_link import FIJI, NAPARI, SINKS, SendReport, ViewerLink, note_for
from .workers import WorkerPool

if TYPE_CHECKING:
    from .transfer_queue import Summary

log = logging.getLogger(__name__)


class TreeFilterProxy(QSortFilterProxyModel):
    """Narrows the tree by name; sorting is left to the source model (see tree_model)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.setDynamicSortFilter(False)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)


class TreeMapping:
    """Between the tree model's indexes and the view's: the same while no filter is typed.

    The tree view shows the model itself, and the filter proxy only while a filter is
    typed: a QSortFilterProxyModel doubles the Python calls of every layout (each row's
    index and flags go through it) and re-maps every inserted row, which made opening a
    large folder stall the window for 60-80 ms more (measured). Code that holds model
    indexes maps them through here, whichever model the view shows.
    """

    def __init__(self, window: MainWindow) -> None:
        self._window = window

    @property
    def filtering(self) -> bool:
        return self._window.tree.model() is self._window.filter_proxy

    def mapFromSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802 (Qt's name)
        return self._window.filter_proxy.mapFromSource(index) if self.filtering else index

    def mapToSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802 (Qt's name)
        return self._window.filter_proxy.mapToSource(index) if self.filtering else index


class MainWindow(QMainWindow):
    """The browser window. Builds nothing slow itself: discovery runs in a worker."""

    PREVIEW_MIN_WIDTH = 320  # the napari canvas and its layer controls

    discoveryFinished = Signal(object)  # Discovery
    deleteFinished = Signal(int, list)  # entries deleted, what failed (text per entry)
    renamed = Signal(object, object)  # old Address, new Address
    renameFailed = Signal(object, str)  # Address, why
    shutdownFinished = Signal()

    # What "Send to napari viewer" takes: things that can hold an image.
    SENDABLE = (
        EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.OME_ZARR, EntryKind.IMAGE_FILE,
        EntryKind.ARRAY_FILE, EntryKind.VIRTUAL_FILE, EntryKind.OBJECT,
    )

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
        self.workers = WorkerPool(parent=self)
        self.tree_model = BackendTreeModel(self.workers, self)
        self.tree_model.set_disk_roots([*(roots or []), os.path.expanduser("~")])
        self.tree_model.storeMet.connect(self._on_tree_model_store_met)
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

    # -- panels built on first use -------------------------------------------------------

    @property
    def inspector(self) -> Any:
        """The chunk inspector panel (built the first time it is asked for)."""
        if self._inspector is None:
            from .chunk_inspector import ChunkInspector
            from .chunk_overlay import ChunkOverlay

            inspector = ChunkInspector(self.workers, self)
            inspector.hide()
            self.splitter.replaceWidget(2, inspector)
            self._inspector_slot.deleteLater()
            self._inspector = inspector
            self._overlay = ChunkOverlay(self.preview.viewer, inspector, self)
        return self._inspector

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

    # -- construction ----------------------------------------------------------------------

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
        self.tree = QTreeView(left)
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
        self.folder_list.detailsWanted.connect(self._on_folder_list_details_wanted)
        self.folder_list.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.folder_list.table.customContextMenuRequested.connect(self._on_folder_list_context_menu_requested)
        self.tree_model.listingFinished.connect(self._on_tree_model_listing_finished)
        self.tree_model.listingReordered.connect(self._on_tree_model_listing_reordered)
        self.tree_model.detailsLearnt.connect(self._on_tree_model_details_learnt)
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
        self.preview.previewShown.connect(self._on_preview_shown)
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
        self.splitter = splitter
        # What is under the cursor on the napari canvas (layer, position by axis, value), as
        # napari's own status bar says it; a permanent widget, so messages never hide it.
        self.cursor_label = QLabel("", self)
        self.cursor_label.setObjectName("cursorStatus")
        self.preview.viewer.cursorMoved.connect(self.cursor_label.setText)
        self.statusBar().addPermanentWidget(self.cursor_label)
        self.backend_count_label = QLabel("", self)
        self.statusBar().addPermanentWidget(self.backend_count_label)
        from .exact_stats import ExactStatistics

        self.exact_stats = ExactStatistics(self.workers, self.preview, self.statusBar(), self)
        self.statusBar().addPermanentWidget(self.exact_stats.widget)

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_location_action = self._action("Open &Location…", QKeySequence.StandardKey.Open, self.choose_location)
        self.open_location_action.setToolTip("Go to a path or an address such as zarr:/data/plate.zarr/A/1/0 (Ctrl+O)")
        self.add_root_action = self._action("Add &Folder…", None, self.choose_disk_root)
        self.open_store_action = self._action("Open &Zarr Store…", "Ctrl+Shift+O", self.choose_store)
        self.refresh_action = self._action("&Refresh", QKeySequence.StandardKey.Refresh, self.refresh_current)
        self.refresh_action.setShortcuts([QKeySequence("F5")])
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        self.quit_action.setShortcuts([QKeySequence("Ctrl+Q")])
        for action in (self.open_location_action, self.add_root_action, self.open_store_action):
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        self.remove_root_action = self._action("Remove from &Tree", None, self.remove_selected_roots)
        self.remove_root_action.setToolTip("Take the selected folder or store out of the tree (nothing is deleted)")
        self.copy_address_action = self._action("Copy &Address", None, self.copy_selected_addresses)
        file_menu.addAction(self.remove_root_action)
        file_menu.addSeparator()
        file_menu.addAction(self.refresh_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        self.delete_action = self._action("&Delete…", QKeySequence.StandardKey.Delete, self.delete_selection)
        self.delete_action.setObjectName("deleteAction")
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.tree.addAction(self.delete_action)
        self.removeAction(self.delete_action)
        edit_menu.addAction(self.delete_action)
        # Copy and paste for transfers (the same MIME data as a drag, and the same path as a
        # drop), Rename, Copy To, Inspect Chunks: on the tree and the folder list.
        self.copy_action = self._action("&Copy", QKeySequence.StandardKey.Copy, self.copy_selection)
        self.copy_action.setObjectName("copyAction")
        self.copy_action.setToolTip("Put the selected entries on the clipboard, to paste into a folder (Ctrl+V)")
        self.paste_action = self._action("&Paste", QKeySequence.StandardKey.Paste, self.paste_into_current)
        self.paste_action.setObjectName("pasteAction")
        self.paste_action.setToolTip("Copy what is on the clipboard into the selected folder, as a drop does")
        self.rename_action = self._action("Re&name…", "F2", lambda: self.rename_selected())
        self.rename_action.setObjectName("renameAction")
        self.copy_to_action = self._action("Copy &To…", None, lambda: self.copy_selection_to())
        self.copy_to_action.setObjectName("copyToAction")
        self.copy_to_action.setToolTip("Copy the selected entries into a folder, store or address you type")
        self.inspect_action = self._action("&Inspect Chunks", None, self.inspect_selected)
        self.inspect_action.setObjectName("inspectChunksAction")
        for action in (self.copy_action, self.paste_action, self.rename_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.tree.addAction(action)
            self.folder_list.table.addAction(action)
            self.removeAction(action)
        self.folder_list.table.addAction(self.delete_action)
        edit_menu.addActions([self.copy_action, self.paste_action, self.copy_to_action, self.rename_action])
        edit_menu.addSeparator()
        self.settings_action = self._action("&Settings…", QKeySequence.StandardKey.Preferences, self.show_settings)
        self.settings_action.setShortcuts([QKeySequence("Ctrl+,")])
        edit_menu.addAction(self.settings_action)
        view_menu = self.menuBar().addMenu("&View")
        self.filter_action = self._action("&Filter…", QKeySequence.StandardKey.Find, self._focus_filter)
        view_menu.addAction(self.filter_action)
        self.hidden_action = QAction("Show &Hidden Files", self)
        self.hidden_action.setCheckable(True)
        self.hidden_action.toggled.connect(self.tree_model.set_show_hidden)
        view_menu.addAction(self.hidden_action)
        self.inspector_action = QAction("&Chunk Inspector", self)
        self.inspector_action.setObjectName("chunkInspectorAction")
        self.inspector_action.setCheckable(True)
        self.inspector_action.setShortcut(QKeySequence("Ctrl+K"))
        self.inspector_action.setToolTip("How the selected zarr array is stored, chunk by chunk (Ctrl+K)")
        self.inspector_action.toggled.connect(self.set_inspector_visible)
        self.addAction(self.inspector_action)
        view_menu.addAction(self.inspector_action)
        transfers_action = self.transfer_dock.toggleViewAction()
        transfers_action.setText("&Transfers")
        view_menu.addAction(transfers_action)
        view_menu.addSeparator()
        self.exact_stats_action = self._action("Compute Exact &Statistics", None, self.exact_stats.start)
        self.exact_stats_action.setToolTip("Read every chunk of the shown array (on dask) for its exact range, mean, "
                                           "percentiles and histogram; the contrast limits become the exact range")
        view_menu.addAction(self.exact_stats_action)
        view_menu.addAction(self._action("Dask Scheduler for Exact Statistics…", None,
                                         lambda: self.exact_stats.choose_scheduler(self)))
        view_menu.addAction(self._action("Preview &Size Limit…", None, self.choose_size_limit))
        view_menu.addAction(self._action("&Chunks for Arrays Copied into Zarr…", None, self.choose_transfer_chunks))
        viewer_menu = self.menuBar().addMenu("&Viewer")
        self.send_action = self._action("&Send to napari Viewer", "Ctrl+Shift+N", lambda: self.send_selection(NAPARI))
        self.send_action.setObjectName("sendToNapariAction")
        self.send_action.setToolTip("Stream the selected arrays to the persistent napari viewer (started when none runs)")
        self.send_fiji_action = self._action("Send to &Fiji", None, lambda: self.send_selection(FIJI))
        self.start_viewer_action = self._action("S&tart napari Viewer", None, self.viewer_link.start_viewer)
        self.stop_viewer_action = self._action("St&op napari Viewer", None, self.viewer_link.stop_viewer)
        for action in (self.send_action, self.send_fiji_action):
            viewer_menu.addAction(action)
        viewer_menu.addSeparator()
        viewer_menu.addAction(self.start_viewer_action)
        viewer_menu.addAction(self.stop_viewer_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Keyboard Shortcuts", None, self._show_shortcuts))
        help_menu.addAction(self._action("&About polystore-gui", None, self._show_about))
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action, icon in (
            (self.add_root_action, "folder"),
            (self.open_store_action, "zarr-store"),
            (self.refresh_action, "refresh"),
            (self.inspector_action, "array"),
            (self.send_action, "backend-sink"),
        ):
            action.setIcon(icons.named(icon))
            toolbar.addAction(action)

    def _action(self, text: str, shortcut: Any, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # -- background start ------------------------------------------------------------------

    def start_background(self, *, viewer: bool = True) -> None:
        """Start backend discovery (the tree fills in when it finishes), then napari's import.

        One after the other, not side by side: two threads importing at once starve the GUI
        thread of the interpreter lock (stalls of 100-150 ms measured). napari's viewer is
        built when the first array is previewed (about 0.13 s of GUI time that start-up
        does not pay).
        """
        self._start_viewer = viewer
        self.workers.start(
            discover_backends,
            on_return=self._on_discovery_returned,
            on_error=self._on_discovery_errored,
        )

    # After the tree is filled, napari's import waits this long: the tree lays out and paints
    # its backends and first folder (many short calls into Python, each of which waited for
    # the interpreter lock while the import ran: a 90-130 ms stall, measured).
    VIEWER_IMPORT_DELAY_MS = 400

    def _on_discovery_returned(self, discovery: Discovery) -> None:
        if getattr(self, "_start_viewer", False):
            self._start_viewer = False
            call_later(self, self.VIEWER_IMPORT_DELAY_MS, lambda: self.preview.viewer.start(build=False))
        if any(discovery.get(sink) is not None for sink in SINKS):
            self.viewer_link.start()
        gc.freeze()  # the imports' long-lived objects: out of every later full collection
        self.tree_model.set_discovery(discovery)
        ready = sum(1 for b in discovery.backends if b.status.value == "ready")
        self.backend_count_label.setText(f"{len(discovery.backends)} backends · {ready} ready")
        self.statusBar().showMessage(f"Found {len(discovery.backends)} backends in {discovery.seconds:.1f} s", 5000)
        self.tree.expand(self.proxy.mapFromSource(self.tree_model.backend_index("disk")))
        self.expand_first_root()
        self.discoveryFinished.emit(discovery)
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

    # -- actions ---------------------------------------------------------------------------

    def choose_disk_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to browse", os.path.expanduser("~"))
        if path:
            self.add_disk_root(path)

    def add_disk_root(self, path: str, *, remember: bool = True) -> None:
        """Show ``path`` as a disk root; ``remember``: reopen it at the next start (the session)."""
        path = os.path.abspath(path)
        self.tree_model.add_disk_root(path)
        if remember:
            self.session.add_root(path)
        self.statusBar().showMessage(f"Added {path}", 4000)

    def choose_location(self) -> None:
        """File → Open Location… (Ctrl+O): a path or an address, with the recent ones to pick from."""
        text, ok = QInputDialog.getItem(
            self, "Open location",
            "A path, or an address such as zarr:/data/plate.zarr/A/1/0 or memory:/results:",
            self.session.recent(), 0, True)
        if not ok or not text.strip():
            return
        error = self.open_location(text)
        if error is not None:
            QMessageBox.warning(self, "Cannot open location", error)

    def open_location(self, text: str) -> str | None:
        """Show ``text`` (path or address) in the tree: add its root or store, reveal and select it.

        Returns None when on its way, else why it cannot be shown (also in the status bar).
        """
        from ..model.locate import LocationError, locate

        known = self.tree_model.backend_keys() or ["disk", "memory", "zarr", "ome_zarr"]
        try:
            stores = [Address(b, p) for b in ("zarr", "ome_zarr") for p in self.tree_model.stores(b)]
            location = locate(text, known, disk_roots=self.tree_model.disk_roots(), stores=stores)
        except LocationError as exc:
            self.statusBar().showMessage(str(exc), 10_000)
            return str(exc)
        if location.root is not None:
            if location.root_backend == "disk":
                self.add_disk_root(location.root)
            else:
                self._add_store(Address(location.root_backend or "zarr", location.root))
        self.session.remember(str(location.target) if location.target.backend != "disk" else location.target.path)
        self._location_note = (location.target, location.note)
        self.navigator.reveal(location.target, location.via)
        return None

    _location_note: tuple[Address, str | None] | None = None

    def _on_navigator_revealed(self, address: object) -> None:
        note = self._location_note
        if note is not None and note[0] == address and note[1]:
            self.statusBar().showMessage(note[1])  # the row shown is not exactly what was typed: why
        self._location_note = None

    def _on_navigator_failed(self, address: object, message: str) -> None:
        self.statusBar().showMessage(message)  # kept until the next message: the user must see it

    def restore_session(self) -> None:
        """Reopen the roots and stores the user added last time (those that still exist)."""
        if not self.session.reopen:
            return
        for path in reversed(self.session.roots()):
            if os.path.isdir(path):
                self.tree_model.add_disk_root(path)
        for address in reversed(self.session.stores()):
            if os.path.isdir(address.path):
                self.tree_model.add_store(entry_for_path(address.backend, address.path).with_details(backend=address.backend))

    def _on_recent_menu_about_to_show(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.session.recent()
        for text in recent:
            action = menu.addAction(text)
            action.triggered.connect(lambda _checked=False, t=text: self._open_recent(t))
        if not recent:
            menu.addAction("No recent locations").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Menu")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(self.session.clear_recent)

    def _open_recent(self, text: str) -> None:
        error = self.open_location(text)
        if error is not None:
            QMessageBox.warning(self, "Cannot open location", error)

    def selected_roots(self) -> list[tuple[str, str]]:
        """The selected rows that are disk roots or opened stores, as (backend, path)."""
        out = []
        for index in self.tree.selectionModel().selectedRows(0):
            source = self.proxy.mapToSource(index)
            parent = source.parent()
            if source.data(ROW_KIND_ROLE) == "entry" and parent.isValid() and parent.data(ROW_KIND_ROLE) == "backend":
                backend, path = source.data(ADDRESS_ROLE)
                out.append((parent.data(ADDRESS_ROLE)[0], path))
        return out

    def remove_selected_roots(self) -> None:
        """Take the selected roots or stores out of the tree and out of the session."""
        removed = 0
        for backend, path in self.selected_roots():
            if self.tree_model.remove_root(backend, path):
                removed += 1
                if backend == "disk":
                    self.session.remove_root(path)
                else:
                    self.session.remove_store(Address(backend, path))
        if not removed:
            self.statusBar().showMessage("Select a folder under disk, or a store under zarr, to remove it.", 5000)

    def copy_selected_addresses(self) -> None:
        """Put the selected rows' addresses (BACKEND:PATH, one per line) on the clipboard."""
        from qtpy.QtWidgets import QApplication

        lines = [f"{e.backend}:{e.path}" for e in self.selected_entries()]
        if lines:
            QApplication.clipboard().setText("\n".join(lines))
            self.statusBar().showMessage(f"Copied {len(lines)} address{'es' if len(lines) != 1 else ''}", 3000)

    def choose_store(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a zarr store (its folder)", os.path.expanduser("~"))
        if path:
            self.open_store(path)

    def open_store(self, path: str) -> bool:
        entry = entry_for_path("zarr", os.path.abspath(path))
        if entry.kind not in (EntryKind.ZARR_STORE, EntryKind.OME_ZARR, EntryKind.ARRAY):
            QMessageBox.warning(self, "Not a zarr store", f"{path} holds no zarr.json, .zgroup or .zarray.")
            return False
        self.tree_model.add_store(entry)
        backend = "ome_zarr" if entry.kind is EntryKind.OME_ZARR else "zarr"
        self.session.add_store(Address(backend, entry.path))
        return True

    def _add_store(self, address: Address) -> None:
        entry = entry_for_path("zarr", address.path).with_details(backend=address.backend)
        self.tree_model.add_store(entry)
        self.session.add_store(address)

    SIZE_LIMIT_KEY = "preview/size_limit_bytes"

    def settings_size_limit(self) -> int:
        """The preview's size guard (bytes read whole without asking), from QSettings."""
        from ..model.arrays import DEFAULT_SIZE_LIMIT

        value = QSettings().value(self.SIZE_LIMIT_KEY, DEFAULT_SIZE_LIMIT)
        try:
            return max(1 << 20, int(value))
        except (TypeError, ValueError):
            return DEFAULT_SIZE_LIMIT

    def set_size_limit(self, nbytes: int) -> None:
        self.preview.size_limit = int(nbytes)
        QSettings().setValue(self.SIZE_LIMIT_KEY, int(nbytes))

    def choose_size_limit(self) -> None:
        gib, ok = QInputDialog.getDouble(
            self, "Preview size limit",
            "Ask before reading more than this many GiB into memory\n"
            "(only for data with no lazy path; lazy arrays are never read whole):",
            self.preview.size_limit / 2**30, 0.01, 1024.0, 2,
        )
        if ok:
            self.set_size_limit(int(gib * 2**30))

    def refresh_current(self) -> None:
        index = self.proxy.mapToSource(self.tree.currentIndex())
        self.tree_model.refresh(index)

    # -- the folder list ---------------------------------------------------------------

    def show_folder_list(self, index: QModelIndex) -> bool:
        """Show every entry of the listed folder ``index`` (a source index) below the tree."""
        model = self.tree_model
        node = model.node(index)
        if node.state is not State.LISTED or node.backend is not None:
            return False
        header = self.tree.header()
        shown, rest, details = model.listing_parts(index)
        self.folder_list.show_folder((node.entry.backend, node.entry.path), node.entry.name, shown, details,
                                     tail=rest, sort_column=header.sortIndicatorSection(),
                                     order=header.sortIndicatorOrder())
        self.folder_list.set_filter(self.filter_edit.text())
        return True

    def _folder_list_index(self) -> QModelIndex:
        folder = self.folder_list.model.folder
        return self.tree_model.find(*folder) if folder is not None else QModelIndex()

    def _on_tree_model_listing_finished(self, address: tuple[str, str]) -> None:
        index = self.tree_model.find(*address)
        if not index.isValid():
            return
        if address == self.folder_list.model.folder or (
                self.tree_model.is_large(index) and self.tree.isExpanded(self.proxy.mapFromSource(index))):
            # A large folder opened: all its entries below, one event-loop turn later (the
            # tree lays out its page in between: two short pauses rather than one long).
            persistent = QPersistentModelIndex(index)
            call_later(self, 0, lambda: persistent.isValid() and self.show_folder_list(QModelIndex(persistent)))

    def _on_tree_model_listing_reordered(self, address: tuple[str, str]) -> None:
        if address == self.folder_list.model.folder:
            index = self.tree_model.find(*address)
            if index.isValid():
                self.show_folder_list(index)

    def _on_tree_model_details_learnt(self, address: tuple[str, str], updates: list[Entry]) -> None:
        if address == self.folder_list.model.folder:
            self.folder_list.model.update_entries(updates)

    def _on_tree_model_details_progress(self, address: tuple[str, str], remaining: int) -> None:
        if remaining:
            self.statusBar().showMessage(f"Reading the sizes and times of {remaining:,} entries of {address[1]} to sort them…")
        else:
            self.statusBar().showMessage("Sorted.", 3000)

    def _on_folder_list_details_wanted(self, folder: tuple[str, str], entries: list[Entry]) -> None:
        index = self.tree_model.find(*folder)
        if index.isValid():
            self.tree_model.request_details(index, entries)

    def _on_folder_list_sort_requested(self, column: int, order: Qt.SortOrder) -> None:
        self.tree.sortByColumn(column, order)  # one order for the tree and the list

    def _on_folder_list_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._list_last_used = True
        if current.isValid():
            self._show_entry(current.data(ENTRY_ROLE))

    def _on_folder_list_double_clicked(self, index: QModelIndex) -> None:
        entry = index.data(ENTRY_ROLE)
        if isinstance(entry, Entry) and entry.expandable:
            self.navigator.reveal(Address(entry.backend, entry.path))
            self.tree.expand(self.tree.currentIndex())

    def _on_folder_list_context_menu_requested(self, pos: Any) -> None:
        self._list_last_used = True
        self.tree_context_menu(from_list=True).popup(self.folder_list.table.viewport().mapToGlobal(pos))

    def _on_tree_activated(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if source.data(ROW_KIND_ROLE) == "more":
            self.show_folder_list(source.parent())
            self.folder_list.table.setFocus()

    def _focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _on_tree_expanded(self, index: QModelIndex) -> None:
        if not self._switching:
            self._expanded.add(QPersistentModelIndex(self.proxy.mapToSource(index)))

    def _on_tree_collapsed(self, index: QModelIndex) -> None:
        if not self._switching:
            self._expanded.discard(QPersistentModelIndex(self.proxy.mapToSource(index)))

    _switching = False

    def _show_tree_model(self, model: Any) -> None:
        """Let the view show ``model`` (the tree model, or the filter proxy over it), keeping
        what was expanded, the current row and the columns' widths."""
        if self.tree.model() is model:
            return
        current = QPersistentModelIndex(self.proxy.mapToSource(self.tree.currentIndex()))
        header = self.tree.header().saveState()
        self._switching = True
        old_selection = self.tree.selectionModel()
        try:
            self.tree.setModel(model)
            old_selection.deleteLater()
            self.tree.header().restoreState(header)
            self.tree.selectionModel().currentChanged.connect(self._on_tree_current_changed)
            for index in sorted((i for i in self._expanded if i.isValid()), key=lambda i: _depth(QModelIndex(i))):
                self.tree.expand(self.proxy.mapFromSource(QModelIndex(index)))
            if current.isValid():
                shown = self.proxy.mapFromSource(QModelIndex(current))
                self.tree.selectionModel().setCurrentIndex(shown, self.tree.selectionModel().SelectionFlag.NoUpdate)
        finally:
            self._switching = False
        self._expanded = {i for i in self._expanded if i.isValid()}

    def _update_filter_placeholder(self, *_args: Any) -> None:
        text = self.filter_edit.text()
        empty = bool(text) and self.tree.model() is self.filter_proxy and self.filter_proxy.rowCount() == 0
        if empty:
            self.filter_placeholder.setText(
                f"No match for '{text}'\n\nOnly the folders already listed are searched. Esc clears the filter.")
        self.filter_placeholder.setVisible(empty)

    def _on_filter_edit_text_changed(self, text: str) -> None:
        self.filter_proxy.setFilterFixedString(text)
        self._show_tree_model(self.filter_proxy if text else self.tree_model)
        self._update_filter_placeholder()
        if self.folder_list.isVisible():
            self.folder_list.set_filter(text)
        if text:
            # Open the backends, so that what matches below them shows; what the user had
            # open stays open (expandToDepth would close it).
            model = self.tree.model()
            for row in range(model.rowCount()):
                self.tree.expand(model.index(row, 0))

    def _on_tree_model_store_met(self, entry: Entry) -> None:
        self.tree_model.add_store(entry)

    # -- details panel ---------------------------------------------------------------------

    def _show_welcome(self) -> None:
        self.preview.show_message(
            "polystore-gui",
            "Select an entry in the tree to preview it.\n\n"
            "Expand disk to browse folders, memory for in-process arrays, and zarr / ome_zarr "
            "for the stores you opened or met while browsing.",
        )

    def _on_tree_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._list_last_used = False  # what the selection actions act on: the tree's selection
        if not current.isValid():
            self._show_welcome()
            return
        source = self.proxy.mapToSource(current)
        kind = source.data(ROW_KIND_ROLE)
        if kind == "backend":
            info = self.tree_model.node(source).backend
            assert info is not None
            facts = {
                "backend": info.key,
                "capability": info.label,
                "status": info.status.value,
                "context": info.context_detail or "",
                "class": f"{info.module}.{info.class_name}",
                "about": info.summary,
                "error": info.error or "",
            }
            text = f"{info.key}: {info.label}"
            if info.context_detail:
                text += f"\n\n{info.context_detail}"
            if info.error:
                text += f"\n\n{info.error}"
            self.preview.show_message(info.key, text, {k: v for k, v in facts.items() if v})
            return
        entry: Entry = source.data(ENTRY_ROLE)
        if kind == "more":
            self.preview.show_message(entry.name, "Double-click this row (or press Enter) to show every entry of "
                                      "the folder in the folder list below the tree.")
            return
        if kind in ("loading", "error") or entry.kind is EntryKind.ERROR:
            self.preview.show_message(entry.name, entry.error or entry.name)
            return
        self._show_entry(entry)

    def _show_entry(self, entry: Entry) -> None:
        """Preview an entry (and inspect its chunks when the inspector is open)."""
        if entry.kind is EntryKind.ERROR:
            self.preview.show_message(entry.name, entry.error or entry.name)
            return
        self.preview.request(entry.backend, entry.path)
        if self._inspecting():
            self._inspect(entry)

    # -- chunk inspector -------------------------------------------------------------------

    INSPECTABLE = (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.OME_ZARR)

    def set_inspector_visible(self, visible: bool) -> None:
        """Show or hide the chunk inspector beside the preview (View → Chunk Inspector)."""
        if self.inspector_action.isChecked() != visible:
            self.inspector_action.setChecked(visible)
            return
        if not visible:
            if self._inspector is not None:
                self.inspector.clear()
                self.overlay.detach()
                self.inspector.hide()
            return
        self.inspector.show()
        sizes = self.splitter.sizes()
        minimums = (self._left.minimumWidth(), self.PREVIEW_MIN_WIDTH, self.inspector.minimumSizeHint().width())
        if sizes[2] < minimums[2] or sizes[0] < minimums[0] or sizes[1] < minimums[1]:
            self.splitter.setSizes(window_layout.inspector_sizes(sum(sizes), sizes[0], minimums))
        current = self.proxy.mapToSource(self.tree.currentIndex())
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        if isinstance(entry, Entry):
            self._inspect(entry)
            if self.preview.current is not None:
                self._on_preview_shown(self.preview.current)

    def _inspect(self, entry: Entry) -> None:
        from ..model.chunk_layout import INSPECTABLE_BACKENDS

        if entry.kind in self.INSPECTABLE and entry.backend in INSPECTABLE_BACKENDS:
            self.inspector.inspect(entry.backend, entry.path)
        else:
            self.overlay.detach()
            self.inspector.clear(f"{entry.name} is not a zarr array: select an array (or an OME-Zarr image) "
                                 "to see how it is stored.")

    def _on_preview_shown(self, preview: Any) -> None:
        if not self._inspecting() or self.inspector.address != (preview.backend, preview.path):
            return
        images = [layer for layer in self.preview.shown_layers if type(layer).__name__ == "Image"]
        if not images:
            return
        spec = preview.layers[0] if preview.layers else None
        self.overlay.attach(images[0], channel_axis=getattr(spec, "channel_axis", None), channel=0)

    # -- the persistent viewers ------------------------------------------------------------

    @staticmethod
    def _viewer_ports(napari_port: int | None, fiji_port: int | None) -> tuple[int, int]:
        """The ports given, else the settings, else polystore's default (Fiji: one above it)."""
        from ..model.streaming import default_port

        settings = QSettings()
        base = default_port()
        napari = napari_port if napari_port is not None else int(settings.value("viewer/napari_port", base))
        fiji = fiji_port if fiji_port is not None else int(settings.value("viewer/fiji_port", base + 1))
        return napari, fiji

    def _folder_list_in_use(self) -> bool:
        """Whether the selection is the folder list's (it has the focus, or its context menu is open)."""
        return self.folder_list.isVisible() and (self.folder_list.table.hasFocus() or self._list_last_used)

    def selected_entries(self) -> list[Entry]:
        """The selected rows' entries (one per row, in view order), backends and placeholders left out.

        From the folder list when it has the focus (or its context menu is open), else the tree.
        """
        table = self.folder_list.table
        if self._folder_list_in_use():
            return [table.model().entry(i.row()) for i in sorted(table.selectionModel().selectedRows(0), key=lambda i: i.row())]
        rows = sorted(self.tree.selectionModel().selectedRows(0), key=lambda i: (self.tree.visualRect(i).top(), i.row()))
        entries = []
        for index in rows:
            source = self.proxy.mapToSource(index)
            if source.data(ROW_KIND_ROLE) == "entry":
                entries.append(source.data(ENTRY_ROLE))
        return entries

    def send_selection(self, sink: str = NAPARI) -> None:
        """Send the selected arrays to the napari viewer (or Fiji); the work runs in a worker."""
        entries = [e for e in self.selected_entries() if e.kind in self.SENDABLE]
        if not entries:
            self.statusBar().showMessage("Select one or more arrays or images to send.", 5000)
            return
        self.viewer_link.send([Address(e.backend, e.path) for e in entries], sink)

    def _on_tree_model_entries_dropped(self, backend: str, path: str, addresses: list[Address], action: object) -> None:
        if backend in SINKS:
            self.viewer_link.send(addresses, backend)
            return
        from ..model.transfers import landing

        destination, note = landing(Address(backend, path))  # a zarr array: the folder holding it
        if note:
            self.statusBar().showMessage(note, 15_000)
        self.transfer(addresses, destination, move=action == Qt.DropAction.MoveAction)

    # -- transfers -------------------------------------------------------------------------

    def transfer(self, sources: list[Address], destination: Address, *, move: bool = False) -> list[Any]:
        """Copy (or move) ``sources`` into ``destination``, asking about taken names first."""
        from ..model import transfers

        chunks = self.transfer_chunks()
        if move and destination.backend in transfers.VOLATILE:
            answer = self.volatile_move_resolver(sources, destination)
            if answer == "cancel":
                self.statusBar().showMessage("Move cancelled: nothing was copied or deleted.", 5000)
                return []
            move = answer == "move"
        items = transfers.plan(sources, destination, move=move, measure=False, chunks=chunks,
                               allow_volatile_move=move)
        decided: list[Any] = []
        policy_for_all: tuple[str, str | None] | None = None
        for item in items:
            if not item.conflict:
                decided.append(item)
                continue
            choice = policy_for_all
            if choice is None:
                action, name, to_all = self.conflict_resolver(item)
                choice = (action, name)
                if to_all and action != "rename":
                    policy_for_all = choice
            action, name = choice
            if action == "cancel":
                self.statusBar().showMessage("Transfer cancelled: nothing was copied.", 5000)
                return []
            if action == "rename" and name:
                decided.append(transfers.rename_to(item, name))
            else:
                policy = {"skip": transfers.Conflict.SKIP, "overwrite": transfers.Conflict.OVERWRITE,
                          "keep both": transfers.Conflict.RENAME}[action]
                decided.extend(transfers.plan([item.source], destination, on_conflict=policy, move=move,
                                              measure=False, chunks=chunks, allow_volatile_move=move))
        if decided:
            self.transfer_dock.show()
            self.transfer_queue.start(decided)
        return decided

    def transfer_chunks(self) -> tuple[int, ...] | None:
        """The chunk shape for arrays copied into zarr (setting ``transfers/chunks``); None: per plane."""
        text = str(QSettings().value("transfers/chunks", "plane") or "plane")
        try:
            return None if text == "plane" else tuple(int(n) for n in text.split(","))
        except ValueError:
            return None

    def set_transfer_chunks(self, chunks: tuple[int, ...] | None) -> None:
        QSettings().setValue("transfers/chunks", "plane" if not chunks else ",".join(str(n) for n in chunks))

    def show_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        SettingsDialog(self).exec()

    def set_viewer_ports(self, napari_port: int, fiji_port: int) -> None:
        """Use (and remember) these ports for the napari viewer and the Fiji receiver."""
        settings = QSettings()
        settings.setValue("viewer/napari_port", int(napari_port))
        settings.setValue("viewer/fiji_port", int(fiji_port))
        if self.viewer_link.ports != {NAPARI: napari_port, FIJI: fiji_port}:
            self.viewer_link.ports = {NAPARI: int(napari_port), FIJI: int(fiji_port)}
            self.viewer_link.states.clear()
            self.viewer_link.poll()

    # What Delete removes: entries of the read-write backends, never a root or a backend.
    DELETABLE_BACKENDS = ("disk", "memory", "zarr")

    def why_not_deletable(self, entry: Entry, *, root: bool = False, verb: str = "delete") -> str | None:
        """Why Delete (or ``verb``: Rename) leaves ``entry`` alone (None: it can be done).
        ``root``: a row right under a backend (a folder or store the user opened)."""
        where = f"{entry.backend}:{entry.path}"
        if root or entry.kind is EntryKind.ROOT:
            return (f"{where} is a root of the tree: it cannot be {verb}d here "
                    "(Remove from Tree takes it out of the tree; nothing on disk changes)")
        if entry.kind is EntryKind.BACKEND:
            return f"{entry.backend} is a backend: it cannot be {verb}d"
        if entry.error is not None:
            return f"{where} could not be read: there is nothing known to {verb}"
        if entry.kind is EntryKind.VIRTUAL_FILE:
            return f"{where} is a plane of a polystore array: {verb} the array that holds it"
        if entry.backend not in self.DELETABLE_BACKENDS:
            return f"{where}: the {entry.backend} backend is read-only here"
        return None

    def deletable_selection(self, verb: str = "delete") -> tuple[list[Entry], list[str]]:
        """(the selected entries Delete removes, why each other selected row is left alone);
        ``verb`` names the action in the reasons (Rename asks with "rename")."""
        rows: list[tuple[Entry, bool]] = []  # (entry, is a root of the tree)
        reasons: list[str] = []
        if self._folder_list_in_use():
            rows = [(e, False) for e in self.selected_entries()]
        else:
            selected = self.tree.selectionModel().selectedRows(0)
            for index in sorted(selected, key=lambda i: (self.tree.visualRect(i).top(), i.row())):
                source = self.proxy.mapToSource(index)
                kind = source.data(ROW_KIND_ROLE)
                if kind == "backend":
                    reasons.append(f"{source.data(ADDRESS_ROLE)[0]} is a backend: it cannot be {verb}d")
                elif kind == "entry":
                    parent = source.parent()
                    rows.append((source.data(ENTRY_ROLE), parent.isValid() and parent.data(ROW_KIND_ROLE) == "backend"))
        deletable = []
        for entry, root in rows:
            reason = self.why_not_deletable(entry, root=root, verb=verb)
            if reason is None:
                deletable.append(entry)
            else:
                reasons.append(reason)
        return deletable, reasons

    def delete_selection(self) -> None:
        """Delete the selected entries after asking (Delete key); folders go with their contents.

        Backends, roots of the tree, virtual files and read-only backends are left alone, and
        the status bar says why. Entries go to the desktop trash where there is one (the
        dialog says which ones have none and are deleted for good); the work runs in a worker
        and ``deleteFinished`` says when it is over.
        """
        from ..model import trash

        entries, refused = self.deletable_selection()
        left = ""
        if refused:
            left = "; ".join(refused[:2]) + (f"; and {len(refused) - 2} more" if len(refused) > 2 else "")
        if not entries:
            self.statusBar().showMessage(left or "Nothing to delete here: select files, folders or arrays.", 15_000)
            return
        # To the trash where there is one; never through a link out of the root it is listed under.
        plans = [trash.plan_delete(Address(e.backend, e.path), self._listed_root(e)) for e in entries]
        refused_here = [p.error for p in plans if p.error]
        if refused_here:
            left = "; ".join(filter(None, [left, *refused_here[:2]]))
        kept = [(e, p) for e, p in zip(entries, plans) if p.error is None]
        if not kept:
            self.statusBar().showMessage(f"Not deleted: {left}", 15_000)
            return
        entries, plans = [e for e, _ in kept], [p for _, p in kept]
        names = "\n".join(f"{e.backend}:{e.path}" for e in entries[:12]) + (f"\n… and {len(entries) - 12} more" if len(entries) > 12 else "")
        permanent = [str(p.address) for p in plans if p.permanent]
        if not self.delete_confirmer(entries, names, permanent):
            return
        self.statusBar().showMessage(f"Deleting {len(entries)} item{'s' if len(entries) != 1 else ''}…")
        self.workers.start(_delete_planned, plans, on_return=lambda results: self._on_deleted(entries, results, left))

    def _listed_root(self, entry: Entry) -> str | None:
        """The folder of the tree ``entry`` is listed under (the longest root holding its path)."""
        if entry.backend == "memory":
            return None
        roots = [r for r in self.tree_model.disk_roots() if entry.path == r or entry.path.startswith(r.rstrip("/") + "/")]
        return max(roots, key=len) if roots else None

    def _on_deleted(self, entries: list[Entry], results: list[tuple[bool, str]], left: str) -> None:
        """A Delete's worker ended: update the folders in place and say what happened to each entry."""
        self._update_folders((entry.backend, entry.path) for entry in entries)
        failed = [text for ok, text in results if not ok]
        trashed = sum(1 for ok, text in results if ok and text.endswith("moved to the trash"))
        done = len(results) - len(failed)
        where = " (to the trash)" if trashed == done and done else f" ({trashed} to the trash)" if trashed else ""
        self.statusBar().showMessage(f"Deleted {done} of {len(results)}{where}" + (f"; {failed[0]}" if failed else "")
                                     + (f"; not deleted: {left}" if left else ""), 10_000)
        self.deleteFinished.emit(done, failed)

    def _confirm_delete(self, entries: list[Entry], names: str, permanent: list[str]) -> bool:
        count = f"{len(entries)} item{'s' if len(entries) != 1 else ''}"
        if not permanent:
            box = QMessageBox(QMessageBox.Icon.Question, "Move to Trash",
                              f"Move {count} to the trash?\n\n{names}\n\n"
                              "Folders and arrays go with everything in them; the trash can restore them.",
                              QMessageBox.StandardButton.Cancel, self)
            yes = box.addButton("Move to Trash", QMessageBox.ButtonRole.AcceptRole)
        else:
            gone = "\n".join(permanent[:12]) + (f"\n… and {len(permanent) - 12} more" if len(permanent) > 12 else "")
            box = QMessageBox(QMessageBox.Icon.Warning, "Delete for Good",
                              f"Delete {count}?\n\n{names}\n\n"
                              f"These have no trash (the memory backend, or a volume without a trash folder) and "
                              f"will be deleted for good; this cannot be undone:\n{gone}",
                              QMessageBox.StandardButton.Cancel, self)
            yes = box.addButton("Delete for Good", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is yes

    def choose_transfer_chunks(self) -> None:
        current = self.transfer_chunks()
        text, ok = QInputDialog.getText(
            self, "Chunks for arrays copied into zarr",
            "'plane' (one plane per chunk; 2048 x 2048 tiles for planes above 4096 x 4096),\n"
            "or the sizes of the trailing axes, e.g. 1,512,512:",
            text="plane" if current is None else ",".join(str(n) for n in current))
        if not ok:
            return
        text = text.strip()
        try:
            chunks = None if text in ("", "plane") else tuple(int(n) for n in text.split(","))
        except ValueError:
            self.statusBar().showMessage(f"Not a chunk shape: {text!r}", 5000)
            return
        self.set_transfer_chunks(chunks)

    def _ask_volatile_move(self, sources: list[Address], destination: Address) -> str:
        """A move into memory would leave the only copy in this program's RAM: copy instead
        (the default), move anyway, or cancel."""
        from ..model import transfers

        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Move into memory?")
        count = f"{len(sources)} item{'s' if len(sources) != 1 else ''}"
        box.setText(f"Moving {count} into {destination} would delete the source.")
        box.setInformativeText(transfers.volatile_move_warning(destination).capitalize() + ".\n\n"
                               "Copy instead keeps the source where it is.")
        copy = box.addButton("Copy Instead", QMessageBox.ButtonRole.AcceptRole)
        move = box.addButton("Move Anyway", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(copy)
        box.setEscapeButton(cancel)
        box.exec()
        return {copy: "copy", move: "move"}.get(box.clickedButton(), "cancel")

    def _ask_conflict(self, item: Any) -> tuple[str, str | None, bool]:
        """Skip, overwrite, keep both, rename or cancel, for one taken name (and maybe all)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Name already taken")
        box.setText(f"{item.destination} already exists.")
        box.setInformativeText(f"Copying {item.source}. What should happen?")
        buttons = {
            box.addButton("Skip", QMessageBox.ButtonRole.RejectRole): "skip",
            box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole): "overwrite",
            box.addButton("Keep Both", QMessageBox.ButtonRole.AcceptRole): "keep both",
            box.addButton("Rename…", QMessageBox.ButtonRole.ActionRole): "rename",
            box.addButton(QMessageBox.StandardButton.Cancel): "cancel",
        }
        to_all = QCheckBox("Apply to all remaining conflicts", box)
        box.setCheckBox(to_all)
        box.exec()
        action = buttons.get(box.clickedButton(), "cancel")
        name = None
        if action == "rename":
            current = item.destination.path.rstrip("/").rsplit("/", 1)[-1]
            name, ok = QInputDialog.getText(self, "Rename", "New name:", text=current)
            if not ok:
                return "cancel", None, False
        return action, name, to_all.isChecked()

    def _on_transfer_queue_transfer_finished(self, summary: Summary) -> None:
        self.statusBar().showMessage(summary.text + (f" — {summary.errors[0]}" if summary.errors else ""), 15_000)

    def _on_transfer_queue_item_finished(self, outcome: Any) -> None:
        """Show what arrived (and what left, for a move): the folders involved update their rows
        in place (what is expanded, the current row, the selection and the preview stay)."""
        if outcome.status != "done":
            return
        item = outcome.item
        self._update_folders((address.backend, address.path) for address in (item.destination, item.source))

    def _on_viewer_link_state_changed(self, sink: str, state: object) -> None:
        self.tree_model.set_backend_note(sink, note_for(sink, state))  # type: ignore[arg-type]

    def _on_viewer_link_send_finished(self, report: SendReport) -> None:
        self.statusBar().showMessage(report.text, 10_000)

    def _on_viewer_link_send_failed(self, message: str) -> None:
        log.warning("not sent: %s", message)
        self.statusBar().showMessage(f"Not sent: {message}")

    def tree_context_menu(self, *, from_list: bool = False) -> QMenu:
        """The tree's (or the folder list's) context menu for the current selection, built fresh."""
        menu = QMenu(self.folder_list.table if from_list else self.tree)
        sendable = any(e.kind in self.SENDABLE for e in self.selected_entries())
        for action in (self.send_action, self.send_fiji_action):
            action.setEnabled(sendable)
            menu.addAction(action)
        menu.addSeparator()
        entries = self.selected_entries()
        menu.addAction(self.copy_address_action)
        self.copy_address_action.setEnabled(bool(entries))
        # Enabled only where the backend allows it (the rules Delete and Rename follow).
        deletable, _refused = self.deletable_selection()
        self.copy_action.setEnabled(bool(entries))
        self.copy_to_action.setEnabled(bool(entries))
        self.paste_action.setEnabled(self._paste_target() is not None)
        self.rename_action.setEnabled(len(entries) == 1 and len(deletable) == 1 and self._renamable(deletable[0]))
        self.delete_action.setEnabled(bool(deletable))
        self.inspect_action.setEnabled(len(entries) == 1 and self._inspectable(entries[0]))
        menu.addSeparator()
        for action in (self.copy_action, self.paste_action, self.copy_to_action, self.rename_action,
                       self.delete_action, self.inspect_action):
            menu.addAction(action)
        menu.aboutToHide.connect(self._enable_edit_actions)
        menu.addSeparator()
        if not from_list and self.selected_roots():
            menu.addAction(self.remove_root_action)
        if not from_list:
            current = self.proxy.mapToSource(self.tree.currentIndex())
            if current.isValid() and self.tree_model.node(current).state is State.LISTED and current.data(ROW_KIND_ROLE) == "entry":
                show = menu.addAction("Show in Folder &List")
                show.triggered.connect(lambda _c=False, i=current: self.show_folder_list(i))
        menu.addAction(self.refresh_action)
        return menu

    def _on_tree_context_menu_requested(self, pos: Any) -> None:
        self.tree_context_menu().popup(self.tree.viewport().mapToGlobal(pos))

    def _enable_edit_actions(self) -> None:
        """The shortcuts work whatever the menu last showed: each action checks when run."""
        for action in (self.copy_action, self.paste_action, self.copy_to_action, self.rename_action,
                       self.delete_action, self.inspect_action):
            action.setEnabled(True)

    # -- copy, paste, copy to, rename, inspect ----------------------------------------------

    def copy_selection(self) -> None:
        """Ctrl+C: the selected entries on the clipboard as a drag carries them
        (application/x-polystore-entries, file URLs as text/uri-list) and as addresses in text."""
        from qtpy.QtWidgets import QApplication

        from .tree_model import entries_mime

        entries = [e for e in self.selected_entries() if e.error is None]
        if not entries:
            self.statusBar().showMessage("Nothing to copy: select files, folders or arrays.", 5000)
            return
        mime = entries_mime([Address(e.backend, e.path) for e in entries])
        mime.setText("\n".join(f"{e.backend}:{e.path}" for e in entries))
        QApplication.clipboard().setMimeData(mime)
        self.statusBar().showMessage(f"Copied {len(entries)} entr{'ies' if len(entries) != 1 else 'y'}: "
                                     "paste into a folder with Ctrl+V", 5000)

    def _paste_target(self) -> QModelIndex | None:
        """The tree model's index a paste drops onto (the selected folder), if it takes the clipboard."""
        from qtpy.QtWidgets import QApplication

        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return None
        table = self.folder_list.table
        index = QModelIndex()
        if self._folder_list_in_use():
            entry = table.currentIndex().data(ENTRY_ROLE) if table.currentIndex().isValid() else None
            if isinstance(entry, Entry) and entry.expandable:
                index = self.tree_model.find(entry.backend, entry.path)
            elif self.folder_list.model.folder is not None:
                index = self.tree_model.find(*self.folder_list.model.folder)
        else:
            index = self.proxy.mapToSource(self.tree.currentIndex())
        if not index.isValid():
            return None
        if not self.tree_model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index):
            # A file selected: into the folder that holds it, as a file manager pastes.
            parent = index.parent()
            if index.data(ROW_KIND_ROLE) != "entry" or not parent.isValid() or \
                    not self.tree_model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, parent):
                return None
            index = parent
        return index

    def paste_into_current(self) -> bool:
        """Ctrl+V: what the clipboard holds into the selected folder, through the same path as a drop."""
        from qtpy.QtWidgets import QApplication

        index = self._paste_target()
        if index is None:
            mime = QApplication.clipboard().mimeData()
            has = mime is not None and (mime.hasFormat(ENTRIES_MIME) or mime.hasUrls())
            self.statusBar().showMessage(
                "Cannot paste here: select a folder, a zarr store or group, or memory." if has else
                "Nothing to paste: copy entries (Ctrl+C) or files first.", 8000)
            return False
        mime = QApplication.clipboard().mimeData()
        return bool(self.tree_model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, index))

    def copy_selection_to(self, destination: str | None = None) -> str | None:
        """Copy To…: the selected entries into a folder, store or address (asked when not given),
        through the transfer engine. Returns why it cannot, or None when on its way."""
        from ..model.address import UnknownBackendError, parse_address
        from ..model import transfers

        entries = [e for e in self.selected_entries() if e.error is None]
        if not entries:
            self.statusBar().showMessage("Select the entries to copy first.", 5000)
            return "nothing selected"
        asked = destination is None
        if destination is None:
            destination = self.destination_asker(entries)
            if destination is None:
                return None
        text = destination.strip()
        error = None
        if not text:
            error = "Type a folder, a zarr store or an address such as memory:/results."
        else:
            known = self.tree_model.backend_keys() or ["disk", "memory", "zarr", "ome_zarr"]
            try:
                target = parse_address(os.path.expanduser(text), known)
            except (UnknownBackendError, ValueError) as exc:
                error = str(exc)
            else:
                if target.backend in SINKS:
                    error = f"{target.backend} takes arrays to show, not copies: use Send to napari Viewer"
                elif not transfers.is_folder(target):
                    error = (f"{target} does not exist" if not transfers.exists(target)
                             else f"{target} is not a folder, a zarr store or group")
        if error is not None:
            self.statusBar().showMessage(f"Not copied: {error}", 10_000)
            if asked:
                QMessageBox.warning(self, "Cannot copy there", error)
            return error
        self.transfer([Address(e.backend, e.path) for e in entries], target)
        return None

    def _ask_destination(self, entries: list[Entry]) -> str | None:
        """Where to copy ``entries``: an address, a path, or a folder picked in a dialog."""
        places = [*self.session.recent(), *self.tree_model.disk_roots()]
        browse = "Choose a folder…"
        what = entries[0].name if len(entries) == 1 else f"{len(entries)} entries"
        text, ok = QInputDialog.getItem(
            self, "Copy to", f"Copy {what} into: a folder, a zarr store or group, or an address such as "
            "memory:/results", [*dict.fromkeys(places), browse], 0, True)
        if not ok:
            return None
        if text == browse:
            path = QFileDialog.getExistingDirectory(self, f"Copy {what} into", os.path.expanduser("~"))
            return path or None
        return str(text)

    def _renamable(self, entry: Entry) -> bool:
        from ..model.rename import RENAMABLE_BACKENDS

        return entry.backend in RENAMABLE_BACKENDS

    def rename_selected(self, name: str | None = None) -> str | None:
        """Rename… (F2): the one selected entry gets a new name in its folder (asked when not
        given); the rename runs in a worker. Returns why it cannot, or None when on its way."""
        from ..model.rename import RenameError, check_name, rename

        entries = self.selected_entries()
        deletable, refused = self.deletable_selection(verb="rename")
        if len(entries) != 1:
            self.statusBar().showMessage("Select one entry to rename.", 5000)
            return "select one entry"
        if len(deletable) != 1 or not self._renamable(deletable[0]):
            reason = refused[0] if refused else f"entries of {entries[0].backend} cannot be renamed"
            self.statusBar().showMessage(f"Not renamed: {reason}", 10_000)
            return reason
        entry = deletable[0]
        if name is None:
            name = self.name_asker(entry)
            if name is None:
                return None
        try:
            check_name(name)
        except RenameError as exc:
            self.statusBar().showMessage(f"Not renamed: {exc}", 10_000)
            return str(exc)
        address = Address(entry.backend, entry.path)
        self.statusBar().showMessage(f"Renaming {entry.name}…")
        self.workers.start(rename, address, name,
                           on_return=lambda new, old=address: self._on_renamed(old, new),
                           on_error=lambda exc, old=address: self._on_rename_failed(old, exc))
        return None

    def _ask_new_name(self, entry: Entry) -> str | None:
        name, ok = QInputDialog.getText(self, "Rename", f"New name for {entry.name}:", text=entry.name)
        return str(name) if ok else None

    def _on_renamed(self, old: Address, new: Address) -> None:
        self.statusBar().showMessage(f"Renamed {os.path.basename(old.path)} to {os.path.basename(new.path)}", 8000)
        self._update_folders([(old.backend, old.path)])
        self.renamed.emit(old, new)

    def _update_folders(self, changed: Iterable[tuple[str, str]]) -> None:
        """Merge a fresh listing into every shown folder holding one of ``changed`` (backend, path).

        ``update`` (as after a transfer), not ``refresh``: what is expanded, the current row
        and the selection stay. A folder never listed is left alone; a store shows under
        disk and zarr alike, so each is updated wherever it shows.
        """
        folders = {(backend, path.rstrip("/").rsplit("/", 1)[0] or "/")
                   for key, path in changed for backend in {key, "disk", "zarr"}}
        for backend, folder in sorted(folders):
            for index in self.tree_model.find_all(backend, folder):
                self.tree_model.update(index)

    def _on_rename_failed(self, old: Address, exc: BaseException) -> None:
        message = str(exc) if str(exc) else type(exc).__name__
        self.statusBar().showMessage(f"Not renamed: {message}", 15_000)
        self.renameFailed.emit(old, message)

    def _inspectable(self, entry: Entry) -> bool:
        from ..model.chunk_layout import INSPECTABLE_BACKENDS

        return entry.kind in self.INSPECTABLE and entry.backend in INSPECTABLE_BACKENDS

    def inspect_selected(self) -> None:
        """Inspect Chunks: open the chunk inspector on the selected zarr array and preview it."""
        entries = self.selected_entries()
        if len(entries) != 1 or not self._inspectable(entries[0]):
            self.statusBar().showMessage("Select one zarr array (or OME-Zarr image) to inspect its chunks.", 5000)
            return
        entry = entries[0]
        if not self._inspecting():
            self.set_inspector_visible(True)
        if self.inspector.address != (entry.backend, entry.path):
            self._inspect(entry)
        current = self.preview.current
        if current is None or (current.backend, current.path) != (entry.backend, entry.path):
            self.preview.request(entry.backend, entry.path)

    # -- help ------------------------------------------------------------------------------

    def _show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+O", "Open a location: a path, or an address such as zarr:/data/plate.zarr/A/1/0"),
            ("Ctrl+Shift+O", "Open a zarr store"),
            ("Ctrl+F", "Filter the tree by name (Esc clears the filter)"),
            ("Ctrl+C / Ctrl+V", "Copy the selected entries; paste them into the selected folder (a verified copy)"),
            ("F2", "Rename the selected entry"),
            ("F5", "Refresh the selected folder"),
            ("Ctrl+K", "Show or hide the chunk inspector"),
            ("Ctrl+Shift+N", "Send the selected arrays to the napari viewer"),
            ("Delete", "Delete the selected entries (asks first)"),
            ("Ctrl+,", "Settings"),
            ("Ctrl+Q", "Quit"),
        ]
        text = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def about_text(self) -> str:
        """The About box's text: this program and the versions it runs with."""
        from importlib import metadata

        from qtpy import PYQT_VERSION, QT_VERSION

        def version(name: str) -> str:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                return "not installed"

        import platform

        rows = [("polystore", version("polystore")), ("napari", version("napari")), ("zarr", version("zarr")),
                ("numpy", version("numpy")), ("Qt", str(QT_VERSION)), ("PyQt", str(PYQT_VERSION)),
                ("Python", platform.python_version())]
        table = "".join(f"<tr><td>{name}</td><td><b>{value}</b></td></tr>" for name, value in rows)
        return (f"<h3>polystore-gui {__version__}</h3>"
                "<p>A desktop storage browser for polystore: its backends in a tree, arrays in napari, "
                "zarr chunks inspected, verified copies between backends, a persistent napari viewer.</p>"
                f"<table cellspacing='6'>{table}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(self, "About polystore-gui", self.about_text())

    # -- drops from the desktop ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls() and any(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        added = 0
        for url in event.mimeData().urls():
            if isinstance(url, QUrl) and url.isLocalFile() and os.path.isdir(url.toLocalFile()):
                self.add_disk_root(url.toLocalFile())
                added += 1
        if added:
            event.acceptProposedAction()

    # -- exit ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self._save_layout()
        self.shutdown()
        super().closeEvent(event)

    def _save_layout(self) -> None:
        """Window geometry and the splitter's sizes, for the next start (QSettings)."""
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())

    def _restore_layout(self) -> None:
        """The last session's geometry, fitted into the screen it opens on (a window saved at
        100 % scaling is larger than the screen at 150 %), and its splitter, unless that
        would leave the tree or the preview narrower than their minimums."""
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None and self.restoreGeometry(geometry):
            self.fit_into_screen()
        splitter = settings.value("window/splitter")
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
        """Name takes what the tree's pane has beside the other columns (never under its own
        minimum): all six columns show when the pane has room for them. Done again when the
        pane is resized (the inspector opened, the splitter moved), until the user sizes
        the Name column by hand."""
        if self._name_sized_by_user:
            return
        header = self.tree.header()
        others = sum(header.sectionSize(c) for c in range(1, header.count()))
        available = self.tree.viewport().width() - others
        self._fitting_name = True
        try:
            header.resizeSection(0, max(self._column_widths[0] - 60, min(available, self._column_widths[0] + 120)))
        finally:
            self._fitting_name = False

    def _on_tree_header_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == 0 and not self._fitting_name and self._name_fitted and self.tree.header().isVisible() \
                and _mouse_button_down():
            self._name_sized_by_user = True

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 (Qt override)
        from qtpy.QtCore import QEvent

        # The tree's own resizes (its pane), not its viewport's (a scroll bar coming and going).
        if watched is self.tree and event.type() == QEvent.Type.Resize and self._name_fitted:
            self._fit_name_column()
        return super().eventFilter(watched, event)

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
        self.navigator.cancel()
        self.viewer_link.stop()
        if self._transfer_queue is not None:
            self._transfer_queue.cancel_all()
        self.tree_model.cancel_all()
        if self._inspector is not None:
            self._inspector.cancel()
        self.exact_stats.cancel()  # its job stops after the chunks being read
        self.workers.cancel_all(close=True)
        if not self.workers.wait(timeout_ms):
            log.warning("some background jobs did not stop within %d ms", timeout_ms)
        self.preview.close_preview()
        self.preview.viewer.close_viewer()
        try:
            close_connections()
        except Exception as exc:  # closing must never crash the exit
            log.warning("closing backend connections failed: %s", exc)
        self.shutdownFinished.emit()


def _delete_planned(plans: list[Any]) -> list[tuple[bool, str]]:
    """In a worker: carry out Delete's plans (agreed, so permanent where there is no trash)."""
    from ..model import trash

    results: list[tuple[bool, str]] = []
    for plan in plans:
        try:
            results.append((True, trash.delete(plan, permanently=True)))
        except Exception as exc:  # each failure is said; the others go on
            results.append((False, f"{plan.address.path.rsplit('/', 1)[-1]}: {exc}"))
    return results


def _recover_interrupted_transfers() -> list[str]:
    """In a worker: clean up after transfers killed mid-way (see transfers.recover_interrupted)."""
    from ..model import transfers

    return transfers.recover_interrupted()


def _mouse_button_down() -> bool:
    """Whether a mouse button is held (a section resized then is the user's drag)."""
    from qtpy.QtWidgets import QApplication

    return QApplication.mouseButtons() != Qt.MouseButton.NoButton


def _depth(index: QModelIndex) -> int:
    depth = 0
    while index.isValid():
        index = index.parent()
        depth += 1
    return depth


__all__ = ["COLUMNS", "MainWindow", "TreeFilterProxy", "TreeMapping"]
