"""The nodes behind the backend tree's rows, and how their cells read."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..model.catalogue import BackendInfo, Capability, Status
from ..model.entries import PLATE_FOLDER_SUFFIX, Entry, EntryKind, human_size
from ..model.folder_state import FolderState, Phase

COLUMNS = ("Name", "Kind", "Size", "Shape", "Dtype", "Modified")
NAME, KIND, SIZE, SHAPE, DTYPE, MODIFIED = range(len(COLUMNS))
SORT_FIELD = {NAME: "name", KIND: "kind", SIZE: "size", SHAPE: "shape", DTYPE: "dtype", MODIFIED: "modified"}


# Where a folder's listing is (the model's Phase; the tree's historical name for it).
State = Phase

# Rows of a folder the tree shows; a larger folder's last row stands for the rest.
PAGE = 1000

# Kinds of entry that are zarr stores (met under disk, they show under zarr / ome_zarr too).
STORE_KINDS = (EntryKind.ZARR_STORE, EntryKind.OME_ZARR, EntryKind.PLATE)


def opened_places(key: str) -> bool:
    """Whether backend ``key``'s top row holds the places the user opened (disk roots, zarr
    stores) rather than a listing: its adapter's paths are this machine's and hold zarr
    arrays to inspect (disk, zarr, ome_zarr; not memory, a sink or a virtual workspace)."""
    from ..model.backends import claimed_adapter

    adapter = claimed_adapter(key)
    return adapter is not None and adapter.capabilities.local and adapter.capabilities.chunk_inspectable


def plain_folders(backend: str) -> bool:
    """Whether ``backend`` lists a file system's own folders (its adapter is local and holds
    links: disk), where a zarr store met is announced to show under zarr / ome_zarr too;
    a store's members under zarr are never announced again."""
    from ..model.backends import claimed_adapter

    adapter = claimed_adapter(backend)  # asked per listed row: never polystore's registry
    return adapter is not None and adapter.capabilities.local and adapter.capabilities.holds_links


class Node:
    """One row: the model's internal pointer (the view never sees it).

    A folder's listing state (phase, whole listing, details learnt, counts, error) is its
    :class:`~polystore_gui.model.folder_state.FolderState` (``folder``, made when it is
    first listed), which the folder list shows too; the node holds what is the tree's own:
    ``children``, the rows shown, in order (at most a page of them, then a "more" row
    standing for the rest), with each row's entry as last learnt.
    """

    __slots__ = (
        "entry", "parent", "children", "row", "folder", "job", "backend", "placeholder", "error_row", "more", "alive",
        "provisional", "flags", "flags_of", "_by_path",
    )

    def __init__(self, entry: Entry, parent: Node | None, *, backend: BackendInfo | None = None) -> None:
        self.entry = entry
        self.parent = parent
        self.children: list[Node] = []
        self.row = 0
        self.folder: FolderState | None = None  # made when the folder is first listed
        self.job: Any = None
        self.backend = backend
        self.placeholder = False
        self.error_row = False
        self.alive = True
        self.provisional = False  # rows shown before the full, sorted listing arrived
        self.more = False  # the row standing for the entries beyond the first page
        self.flags: Any = None  # Qt item flags, cached for ``flags_of`` (the entry they were made for)
        self.flags_of: Entry | None = None
        self._by_path: dict[str, Node] | None = None

    def listing_state(self) -> FolderState:
        """This folder's listing state (made on first use)."""
        if self.folder is None:
            self.folder = FolderState(self.entry.backend, self.entry.path)
        return self.folder

    @property
    def state(self) -> Phase:
        folder = self.folder
        return folder.phase if folder is not None else Phase.UNLISTED

    @property
    def count(self) -> int | None:
        """Entries listed, once known."""
        folder = self.folder
        return folder.count if folder is not None else None

    @property
    def large(self) -> bool:
        """A listed folder with more entries than the tree shows (the rest: in the folder list)."""
        folder = self.folder
        return folder is not None and folder.phase is Phase.LISTED and len(folder.listing) > PAGE

    @property
    def pending(self) -> Sequence[Entry]:
        """The entries beyond the tree's page, in order (a view of the listing, not a copy)."""
        folder = self.folder
        return folder.beyond(PAGE) if folder is not None and folder.phase is Phase.LISTED else []

    @property
    def generation(self) -> int:
        folder = self.folder
        return folder.generation if folder is not None else 0

    def child_by_path(self, path: str) -> Node | None:
        """The shown child with this path (an index kept until the children change)."""
        if self._by_path is None:
            self._by_path = {c.entry.path: c for c in self.children if not (c.placeholder or c.error_row or c.more)}
        return self._by_path.get(path)

    @property
    def expandable(self) -> bool:
        if self.placeholder or self.error_row or self.more:
            return False
        if self.backend is not None:
            return backend_browsable(self.backend)
        return self.entry.expandable

    @property
    def row_kind(self) -> str:
        if self.placeholder:
            return "loading"
        if self.error_row:
            return "error"
        if self.more:
            return "more"
        return "backend" if self.backend is not None else "entry"

    def iter_subtree(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.iter_subtree()

    def renumber(self) -> None:
        """Call after every change to ``children``: rows, and the path index, follow."""
        for i, child in enumerate(self.children):
            child.row = i
        self._by_path = None

    def kill(self) -> None:
        """Mark this subtree gone: late worker answers for it are dropped."""
        for node in self.iter_subtree():
            node.alive = False
            if node.job is not None:
                node.job.quit()
                node.job = None


def backend_browsable(info: BackendInfo) -> bool:
    return info.status is Status.READY and info.capability in (Capability.READ_WRITE, Capability.READ_ONLY)


def format_time(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


_DETAILED_KINDS = (EntryKind.ARRAY, EntryKind.POLYSTORE_ARRAY, EntryKind.ZARR_STORE, EntryKind.PLATE, EntryKind.OME_ZARR,
                   EntryKind.GROUP)


def cell_text(node: Node, column: int) -> str:
    entry = node.entry
    if column == KIND:
        if node.backend is not None:
            return node.backend.label
        if node.placeholder or node.more:
            return ""
        if entry.error is not None and node.error_row:
            return f"error: {entry.error}"
    if column == SIZE and node.backend is not None and opened_places(entry.backend):
        return _count_text(len(node.children))  # the places opened (roots, stores): no listing to count
    return entry_text(entry, column, node.count if column == SIZE else None)


def _count_text(count: int) -> str:
    return f"{count:,} item{'s' if count != 1 else ''}"


def entry_text(entry: Entry, column: int, count: int | None = None) -> str:
    """What cell ``column`` of an entry's row reads (the tree and the folder list alike)."""
    if column == NAME:
        return entry.name
    if column == KIND:
        if entry.error is not None:
            return f"{entry.kind.value} — {entry.error}"
        if entry.detail and entry.kind in _DETAILED_KINDS:
            return f"{entry.kind.value} ({entry.detail})"
        if entry.kind is EntryKind.DIRECTORY and entry.detail and entry.detail.endswith(PLATE_FOLDER_SUFFIX):
            return f"{EntryKind.PLATE.value} ({entry.detail})"  # a polystore or TIFF plate folder
        return entry.kind.value
    if column == SIZE:
        if entry.size is None and count is not None and entry.kind.expandable:
            return _count_text(count)
        return human_size(entry.size)
    if column == SHAPE:
        return "×".join(str(s) for s in entry.shape) if entry.shape is not None else ""
    if column == DTYPE:
        return entry.dtype or ""
    if column == MODIFIED:
        return format_time(entry.modified)
    return ""


def tooltip(node: Node) -> str:
    if node.backend is not None:
        info = node.backend
        lines = [f"{info.key} — {info.label}", info.context_detail or "", info.summary, f"{info.module}.{info.class_name}"]
        if info.error:
            lines.append(f"Error: {info.error}")
        return "\n".join(line for line in lines if line)
    entry = node.entry
    if node.placeholder:
        return entry.name
    if node.more:
        return f"{entry.name}\nDouble-click (or Enter) to show every entry of the folder in the folder list"
    lines = [f"{entry.backend}:{entry.name if node.error_row else entry.path}"]
    if entry.detail:
        lines.append(entry.detail)
    if entry.error:
        lines.append(entry.error)
    if node.large:
        lines.append(f"{node.count:,} entries; the first {len(node.children) - 1:,} shown here, all in the folder list")
    return "\n".join(lines)


def tooltip_for_entry(entry: Entry) -> str:
    """An entry's address, what is known of it, and what is wrong with it."""
    lines = [f"{entry.backend}:{entry.path}"]
    if entry.detail:
        lines.append(entry.detail)
    if entry.error:
        lines.append(entry.error)
    return "\n".join(lines)
