"""Plates wherever they are met: which reader recognises a plate (or a well) at an address.

A plate is not a backend of its own: it is a folder or zarr group that some backend holds
(disk, zarr, ome_zarr; remote stores once they can be read the same way). This module
answers "is this address a plate?" for any backend through the adapter's capabilities, so
the CLI, ``info`` and the window ask one place. The readers themselves are in
:mod:`..plate_read` (metadata only), thumbnails in :mod:`..plate_thumbs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .registry import adapter_for

if TYPE_CHECKING:
    from ..arrays import Info
    from ..entries import Entry
    from ..folder_node import FolderNode
    from ..lazy import Preview
    from ..plate_summary import PlateSummary, WellSummary

# Readers for stores that are not this machine's files, by backend key (e.g. a remote store's
# adapter may register one); local paths are read by plate_read.
PlateReader = Callable[[str, str, bool], "PlateSummary | None"]
WellReader = Callable[[str, str], "tuple[PlateSummary | None, WellSummary] | None"]
_REMOTE_READERS: dict[str, PlateReader] = {}
_REMOTE_WELL_READERS: dict[str, WellReader] = {}


def register_plate_reader(backend: str, reader: PlateReader, well_reader: WellReader | None = None) -> None:
    """A plate reader (and a well reader) for a backend whose paths are not local files."""
    _REMOTE_READERS[backend] = reader
    if well_reader is not None:
        _REMOTE_WELL_READERS[backend] = well_reader


def _is_local(backend: str, path: str) -> bool:
    try:
        return adapter_for(backend, path).capabilities.local
    except Exception:  # an adapter that cannot even be built holds no plate we can read
        return False


def plate_at(backend: str, path: str, *, check_fields: bool = False,
             cancelled: Callable[[], bool] | None = None, node: FolderNode | None = None) -> PlateSummary | None:
    """The plate rooted at ``backend:path``; None when it is not a plate. ``cancelled``: the
    job's token; a remote store's requests stop on the wire when it says so. ``node``: a
    local folder's node document already read (``selection_read``)."""
    if _is_local(backend, path):
        from ..plate_read import plate_at as local_plate_at

        plate = local_plate_at(backend, path, check_fields=check_fields, node=node)
        if plate is not None and plate.workspace:
            _note_workspace(plate.workspace.removeprefix("virtual_workspace:"))
        return plate
    reader = _REMOTE_READERS.get(backend)
    if reader is None:
        return None
    from ..remote_zarr import read_session

    with read_session(cancelled):
        return reader(backend, path, check_fields)


def well_at(backend: str, path: str, *, cancelled: Callable[[], bool] | None = None,
            node: FolderNode | None = None) -> tuple[PlateSummary | None, WellSummary] | None:
    """The well at ``backend:path`` and the plate holding it; None when it is not a well.
    ``cancelled``, ``node``: see plate_at."""
    if not _is_local(backend, path):
        reader = _REMOTE_WELL_READERS.get(backend)
        if reader is None:
            return None
        from ..remote_zarr import read_session

        with read_session(cancelled):
            return reader(backend, path)
    from ..plate_read import well_at as local_well_at

    return local_well_at(backend, path, node)


# -- virtual_workspace: a plate's workspace, once a plate that has one is opened -------------------

# The plate folders with a workspace met in this process (a plate shown or an address inside
# one): what the virtual_workspace row lists. Appended from workers, read by the listing.
_MET_WORKSPACES: dict[str, None] = {}


def _note_workspace(root: str) -> None:
    _MET_WORKSPACES.setdefault(root, None)


def met_workspaces() -> list[str]:
    """The plate folders with a virtual workspace met so far, first met first."""
    return list(_MET_WORKSPACES)


def workspace_root(path: str) -> str | None:
    """The plate folder at or above ``path`` whose polystore (or OpenHCS) document maps a
    virtual workspace (``workspace_mapping``); None when there is none."""
    import json
    import os

    from ..plate_read import POLYSTORE_DOCUMENTS
    from ..safe_files import read_capped

    current = os.path.abspath(path) if path else ""
    while current:
        for name in POLYSTORE_DOCUMENTS:
            document = os.path.join(current, name)
            if os.path.isfile(document):
                try:
                    doc = json.loads(read_capped(document))
                    subdirectories = doc.get("subdirectories") if isinstance(doc, dict) else None
                    if isinstance(subdirectories, dict) and any(
                            isinstance(s, dict) and s.get("workspace_mapping") for s in subdirectories.values()):
                        _note_workspace(current)
                        return current
                except (OSError, ValueError, RecursionError):
                    pass
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
    return None


class _LazyRegistry(dict):  # type: ignore[type-arg]
    """polystore's backends by key, each built on first use (what a workspace reads through)."""

    def __missing__(self, key: str) -> object:
        from polystore.backend_registry import get_backend_instance

        value = get_backend_instance(key)
        self[key] = value
        return value


_WORKSPACES: dict[str, object] = {}


def _workspace(root: str) -> object:
    """polystore's VirtualWorkspaceBackend for a plate folder, bound to the backends it reads
    (one per folder: it reads its document again only when the document's time changes)."""
    from pathlib import Path

    from polystore.virtual_workspace import VirtualWorkspaceBackend

    found = _WORKSPACES.get(root)
    if found is None:
        backend = VirtualWorkspaceBackend(Path(root))
        backend.bind_registry(_LazyRegistry())
        found = _WORKSPACES[root] = backend
    return found


NO_WORKSPACE_YET = ("No plate with a virtual workspace opened yet: select a plate folder whose "
                    "polystore_metadata.json (or openhcs_metadata.json) maps a workspace, and it is listed here")


class VirtualWorkspaceAdapter:
    """``virtual_workspace:<plate>/<virtual path>``: polystore's virtual workspace of a plate
    folder whose document maps one. The plate root is found from the path itself (the
    nearest folder above it with such a document), so the backend that "needs a plate
    root" works as soon as an address names a plate that has its workspace file: it needs
    no other context (``needs_context`` is false for this adapter)."""

    name = "virtual workspace"

    def __init__(self) -> None:
        from .base import Capabilities

        self.capabilities = Capabilities(readable=True, listable=True, local=True)

    def _backend(self, path: str) -> tuple[str, Any]:
        root = workspace_root(path)
        if root is None:
            raise FileNotFoundError(f"{path} is not in a plate folder with a virtual workspace (a "
                                    "polystore_metadata.json with a workspace_mapping)")
        return root, _workspace(root)

    def _source(self, workspace: Any, path: str) -> str | None:
        """The file a virtual path's pixels come from, when its source is this machine's disk."""
        try:
            ref = workspace._resolve_ref(path)
            if ref.backend != "disk":
                return None
            return str(workspace._resolve_path(path))
        except Exception:  # polystore's own resolution errors: no source to describe
            return None

    def entry(self, backend: str, path: str) -> Entry:
        import os

        from ..entries import Entry, EntryKind

        name = os.path.basename(path.rstrip("/")) or path
        try:
            _, workspace = self._backend(path)
            if workspace.is_dir(path):
                return Entry(backend, path, name, EntryKind.DIRECTORY)
            if workspace.is_file(path):
                return Entry(backend, path, name, EntryKind.VIRTUAL_FILE, detail="a plane of the plate's workspace")
            error = f"Does not exist: {path} is not in the plate's virtual workspace"
        except FileNotFoundError as exc:
            error = f"Does not exist: {exc}"
        except Exception as exc:  # polystore's own errors: said on the row
            error = str(exc)
        return Entry(backend, path, name, EntryKind.ERROR, error=error)

    def list_children(self, entry: Entry, *, batch_size: int = 2048, show_hidden: bool = True) -> Iterator[list[Entry]]:
        import os

        from ..entries import Entry, EntryKind
        from .common import ListingError, os_error_text

        if entry.path in ("", "/"):  # the backend's own row: the plates met that have a workspace
            roots = [r for r in met_workspaces() if os.path.isdir(r)]
            if not roots:
                raise ListingError(NO_WORKSPACE_YET)
            yield [Entry(entry.backend, root, root, EntryKind.DIRECTORY, detail="a plate's virtual workspace")
                   for root in roots]
            return
        try:
            _, workspace = self._backend(entry.path)
            if not workspace.is_dir(entry.path):
                raise ListingError(f"No longer exists: {entry.path} is not in the plate's virtual workspace")
            names = workspace.list_dir(entry.path)
            files = {os.path.basename(f) for f in workspace.list_files(entry.path)}
        except ListingError:
            raise
        except OSError as exc:
            raise ListingError(os_error_text(exc, entry.path)) from exc
        except Exception as exc:
            raise ListingError(str(exc)) from exc
        batch = []
        for name in names:
            if not show_hidden and name.startswith("."):
                continue
            path = os.path.join(entry.path, name)
            batch.append(Entry(entry.backend, path, name, EntryKind.VIRTUAL_FILE, detail="a plane of the plate's workspace")
                         if name in files else Entry(entry.backend, path, name, EntryKind.DIRECTORY))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        """Sizes and times of the files the virtual files come from (disk sources), and
        TIFF shapes from their headers (never a pixel)."""
        import os

        from ..tiff_facts import is_tiff_name, read_tiff_facts

        done = []
        workspaces: dict[str, Any] = {}
        for entry in entries:
            if entry.kind.expandable or entry.error is not None:
                continue
            root = workspace_root(entry.path)
            if root is None:
                continue
            workspace = workspaces.get(root) or workspaces.setdefault(root, _workspace(root))
            source = self._source(workspace, entry.path)
            if source is None:
                continue
            try:
                st = os.stat(source)
            except OSError as exc:
                done.append(entry._replace(error=f"its source {source}: {exc.strerror}"))
                continue
            shape, dtype = entry.shape, entry.dtype
            if headers and is_tiff_name(source):
                try:
                    facts = read_tiff_facts(source)
                    shape, dtype = facts.shape, facts.dtype
                except Exception:  # a header we cannot read: size and time are still known
                    pass
            done.append(entry._replace(size=st.st_size, modified=st.st_mtime, shape=shape, dtype=dtype))
        if done:
            yield done

    def _load(self, path: str) -> Any:
        import numpy as np

        _, workspace = self._backend(path)
        return np.asarray(workspace.load(path))

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        from ..arrays import Info

        entry = self.entry(backend, path)
        if entry.error is not None:
            error = entry.error
            if listed and error.startswith("Does not exist"):
                error = "No longer exists" + error[len("Does not exist"):]
            return Info(backend, path, "file", error=error)
        if entry.kind.value == "directory":
            return Info(backend, path, "directory")
        try:
            data = self._load(path)
        except Exception as exc:
            return Info(backend, path, "file", error=f"cannot read this plane: {exc}")
        return Info(backend, path, "array", shape=tuple(data.shape), dtype=str(data.dtype), nbytes=int(data.nbytes),
                    format="a plane of polystore's virtual workspace")

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     listed: bool = False) -> Preview:
        from ..lazy import Preview, _array_preview

        info = self.info(backend, path, listed=listed)
        if info.kind != "array":
            return Preview(backend, path, info, notes=(info.error,) if info.error else ())
        return _array_preview(info, self._load(path), "a plane of the plate's virtual workspace")

    def exists(self, backend: str, path: str) -> bool:
        try:
            return bool(self._backend(path)[1].exists(path))
        except Exception:
            return False

    def is_folder(self, backend: str, path: str) -> bool:
        try:
            return bool(self._backend(path)[1].is_dir(path))
        except Exception:
            return False

    def delete(self, backend: str, path: str) -> None:
        import errno

        raise OSError(errno.EROFS, "the virtual workspace is read-only", path)


def _register() -> None:
    # After the built-in adapters (context.py's "needs a plate root" one among them), also
    # when this module is imported first (the CLI's plate command): it replaces that one.
    from .base import register_adapter
    from .registry import _load_builtins

    _load_builtins()
    register_adapter(VirtualWorkspaceAdapter(), keys=("virtual_workspace",))
    from ..plate_remote import remote_plate_at, remote_well_at

    for key in ("zarr", "ome_zarr"):  # their URL paths: OME-Zarr plates (and wells) on S3 or HTTP(S)
        _REMOTE_READERS.setdefault(key, remote_plate_at)
        _REMOTE_WELL_READERS.setdefault(key, remote_well_at)


_register()


def plate_or_well_at(backend: str, path: str, *, cancelled: Callable[[], bool] | None = None,
                     node: FolderNode | None = None) -> tuple[PlateSummary, WellSummary | None] | None:
    """The plate at ``backend:path``, or the plate of the well there with that well; None
    for anything else (what the plate view shows for a selection). ``cancelled``, ``node``:
    see plate_at (the node is read once for both questions)."""
    plate = plate_at(backend, path, cancelled=cancelled, node=node)
    if plate is not None:
        return plate, None
    found = well_at(backend, path, cancelled=cancelled, node=node)
    if found is None or found[0] is None:
        return None
    return found[0], found[1]
