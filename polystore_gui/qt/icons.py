"""Icons for rows of the backend tree, loaded once from the package's SVG set."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from qtpy.QtGui import QBrush, QColor, QIcon

from ..model.catalogue import Capability, Status
from ..model.entries import Entry, EntryKind

if TYPE_CHECKING:  # the node type lives in tree_nodes: importing tree_model here made a cycle
    from .tree_nodes import Node

_KIND_ICONS = {
    EntryKind.ROOT: "root",
    EntryKind.DIRECTORY: "folder",
    EntryKind.FILE: "file",
    EntryKind.IMAGE_FILE: "image",
    EntryKind.ARRAY_FILE: "npy",
    EntryKind.TABLE_FILE: "table",
    EntryKind.TEXT_FILE: "text",
    EntryKind.ZARR_STORE: "zarr-store",
    EntryKind.PLATE: "zarr-store",
    EntryKind.OME_ZARR: "ome-zarr",
    EntryKind.GROUP: "group",
    EntryKind.ARRAY: "array",
    EntryKind.POLYSTORE_ARRAY: "array",
    EntryKind.VIRTUAL_FILE: "image",
    EntryKind.OBJECT: "object",
    EntryKind.ERROR: "error",
    EntryKind.BACKEND: "backend-readwrite",
}

_CAPABILITY_ICONS = {
    Capability.READ_WRITE: "backend-readwrite",
    Capability.READ_ONLY: "backend-readonly",
    Capability.SINK: "backend-sink",
    Capability.NEEDS_CONTEXT: "backend-context",
}


# The style's own icon for each name, used when an SVG of ours is missing or unreadable.
_FALLBACKS = {
    "folder": "SP_DirIcon",
    "folder-open": "SP_DirOpenIcon",
    "root": "SP_DriveHDIcon",
    "memory": "SP_DriveFDIcon",
    "error": "SP_MessageBoxCritical",
    "warning": "SP_MessageBoxWarning",
    "loading": "SP_BrowserReload",
    "refresh": "SP_BrowserReload",
    "backend-error": "SP_MessageBoxCritical",
    "backend-sink": "SP_ComputerIcon",
    "backend-context": "SP_DriveNetIcon",
    "backend-readwrite": "SP_DriveHDIcon",
    "backend-readonly": "SP_DriveCDIcon",
    "zarr-store": "SP_DirLinkIcon",
    "ome-zarr": "SP_DirLinkIcon",
    "group": "SP_DirIcon",
}


def icon_files() -> list[Any]:
    """Every SVG icon shipped in the package (``polystore_gui/resources/icons``)."""
    folder = resources.files("polystore_gui").joinpath("resources", "icons")
    return sorted((f for f in folder.iterdir() if f.name.endswith(".svg")), key=lambda f: f.name)


def load_svg(name: str) -> QIcon | None:
    """The icon ``name`` drawn from its SVG in the package (crisp at every size, Qt's SVG
    icon engine), or None when the file is missing or does not draw."""
    ref = resources.files("polystore_gui").joinpath("resources", "icons", f"{name}.svg")
    try:
        with resources.as_file(ref) as path:
            if not path.is_file():
                return None
            icon = QIcon(str(path))
            if icon.isNull() or icon.pixmap(32, 32).isNull():
                return None
            return icon
    except (FileNotFoundError, OSError):
        return None


@cache
def named(name: str) -> QIcon:
    """The icon ``name`` from ``polystore_gui/resources/icons``, else the style's nearest."""
    icon = load_svg(name)
    if icon is not None and not icon.isNull():
        return icon
    from qtpy.QtWidgets import QApplication, QStyle

    app = QApplication.instance()
    if app is None:
        return QIcon()
    pixmap = getattr(QStyle.StandardPixmap, _FALLBACKS.get(name, "SP_FileIcon"))
    return app.style().standardIcon(pixmap)


def icon_for(node: Node) -> QIcon:
    if node.placeholder:
        return named("loading")
    if node.error_row:
        return named("error")
    if node.backend is not None:
        if node.backend.status is Status.ERROR:
            return named("backend-error")
        if _volatile(node.backend.key):
            return named("memory")
        return named(_CAPABILITY_ICONS[node.backend.capability])
    if node.more:
        return named("folder-open")
    return icon_for_entry(node.entry)


def _volatile(backend: str) -> bool:
    """Whether ``backend``'s contents live in this process (memory): its root has the memory icon."""
    from ..model.backends import claimed_adapter

    adapter = claimed_adapter(backend)  # never polystore's registry: an icon is asked per row
    return adapter is not None and adapter.capabilities.volatile


def icon_for_entry(entry: Entry) -> QIcon:
    """The icon of an entry's row (the tree and the folder list alike)."""
    if entry.error is not None:
        return named("warning") if entry.kind is not EntryKind.ERROR else named("error")
    if entry.kind is EntryKind.ROOT and _volatile(entry.backend):
        return named("memory")
    return named(_KIND_ICONS.get(entry.kind, "file"))


@cache
def muted_brush() -> QBrush:
    return QBrush(QColor("#64748b"))


@cache
def error_brush() -> QBrush:
    return QBrush(QColor("#b91c1c"))
