"""Remote zarr and OME-Zarr stores (S3, HTTP(S)): the adapter for ``s3://`` / ``http(s)://`` paths.

An address is ``zarr:s3://bucket/plate.zarr`` or ``ome_zarr:https://host/image.zarr`` (a
bare URL means ``zarr``). Listing: S3 lists keys (a folder's sizes come with it); a plain
HTTP server lists nothing, so a group's members are the ones its metadata names:
consolidated metadata, OME-NGFF multiscales levels, labels, plate wells and well fields.
Everything goes through zarr 3's stores over obstore (see ``remote_access``), cached and
cancellable (``remote_store``). Importing this module is cheap: the clients load on use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .base import DEFAULT_BATCH, Capabilities, register_adapter

if TYPE_CHECKING:
    from ..arrays import Info
    from ..entries import Entry
    from ..lazy import Preview
    from ..zarr_nodes import ZarrNodeMeta

NO_LISTING = ("this HTTP server lists nothing: only the members its metadata names (consolidated "
              "metadata, OME-NGFF levels, labels, plate wells) can be shown")


def _backend_for(backend: str, meta: ZarrNodeMeta | None) -> str:
    if backend in ("zarr", "ome_zarr"):
        if meta is not None and meta.is_ome_container:
            return "ome_zarr"
        return backend
    return "zarr"


class RemoteZarr:
    """zarr and OME-Zarr stores reached over S3 or HTTP(S)."""

    name = "remote zarr"
    capabilities = Capabilities(readable=True, writable=False, listable=True, chunk_inspectable=True, remote=True)

    # -- entries ---------------------------------------------------------------------------------

    def entry(self, backend: str, path: str) -> Entry:
        from ..entries import Entry, EntryKind
        from .local_entries import zarr_entry
        from ..remote_address import parse_url
        from ..remote_zarr import locate, node

        try:
            url = parse_url(path)
            meta = node(path)
            if meta is not None:
                found = zarr_entry(meta, _backend_for(backend, meta), url.name, top_level=True)
                return found.with_details(detail=f"{found.detail}, remote")
            store, key, _ = locate(path)
            if store.can_list:
                folders, objects = store.list_dir(key)
                if folders or objects:
                    return Entry(backend, path, url.name, EntryKind.DIRECTORY, detail="S3 prefix, remote")
                return Entry(backend, path, url.name, EntryKind.ERROR, error=f"Does not exist: {path}")
            return Entry(backend, path, url.name, EntryKind.ERROR,
                         error=f"Does not exist: {path} (no zarr metadata there)")
        except Exception as exc:  # RemoteError, CredentialsError, RemoteAddressError: for the row
            return Entry(backend, path, path.rstrip("/").rsplit("/", 1)[-1] or path, EntryKind.ERROR, error=str(exc))

    def list_children(self, entry: Entry, *, batch_size: int = DEFAULT_BATCH,
                      show_hidden: bool = True) -> Iterator[list[Entry]]:
        from .common import ListingError

        try:
            found = self._children(entry, show_hidden)
        except ListingError:
            raise
        except Exception as exc:
            raise ListingError(str(exc)) from exc
        for i in range(0, len(found), batch_size):
            yield found[i:i + batch_size]
        if not found:
            yield []

    def _children(self, entry: Entry, show_hidden: bool) -> list[Entry]:
        from ..entries import Entry, EntryKind, kind_for_file_name, sort_entries
        from ..hidden_names import is_hidden_name
        from .common import ListingError
        from .local_entries import zarr_entry
        from ..remote_nodes import consolidated_members, read_nodes
        from ..remote_zarr import locate, node
        from ..zarr_nodes import ZarrNodeMeta

        store, key, url = locate(entry.path)
        meta = node(entry.path)
        if meta is not None and meta.node_type == "array":
            return []
        out: list[Entry] = []
        if store.can_list:
            folders, objects = store.list_dir(key)
            if not folders and not objects:  # not even its own metadata: gone since it was listed
                raise ListingError(f"No longer exists: {entry.path}")
            names = [f for f in folders if show_hidden or not f.startswith(".")]
            metas = read_nodes(store, [f"{key}/{f}" if key else f for f in names])
            for name, child in zip(names, metas):
                child_path = str(url.child(name))
                if isinstance(child, ZarrNodeMeta):
                    out.append(zarr_entry(child, _backend_for(entry.backend, child), name,
                                          top_level=meta is None))
                elif isinstance(child, Exception):
                    out.append(Entry(entry.backend, child_path, name, EntryKind.ERROR, error=str(child)))
                elif meta is None:  # a prefix that is no zarr node: a folder of the bucket
                    out.append(Entry(entry.backend, child_path, name, EntryKind.DIRECTORY))
            if meta is None:
                for item in objects:
                    if not show_hidden and is_hidden_name(item.key):  # a dot-name, or polystore's lock file
                        continue
                    out.append(Entry(entry.backend, str(url.child(item.key)), item.key,
                                     kind_for_file_name(item.key), size=item.size))
            return sort_entries(out)
        if meta is None:
            raise ListingError(f"no zarr metadata at {entry.path}; {NO_LISTING}")
        members = consolidated_members(store, key, meta)
        if members is not None:
            direct = {name: m for name, m in members.items() if "/" not in name}
            return sort_entries([zarr_entry(m, _backend_for(entry.backend, m), name)
                                 for name, m in direct.items()])
        names = _names_from_metadata(meta)
        parent = url.parent()
        if not names and parent is not None and parent.key:  # a plate's row: its wells are in the plate's metadata
            plate = node(str(parent))
            if plate is not None:
                names = [w.split("/", 1)[1] for w in _plate_wells(plate) if w.startswith(url.name + "/")]
        if not names and meta.node_type == "group":
            raise ListingError(f"{entry.path}: {NO_LISTING}; open a member by its address, or consolidate "
                               "the store's metadata (zarr.consolidate_metadata)")
        metas = read_nodes(store, [f"{key}/{n}" if key else n for n in names], zarr_format=meta.zarr_format)
        for name, child in zip(names, metas):
            if isinstance(child, ZarrNodeMeta):
                out.append(zarr_entry(child, _backend_for(entry.backend, child), name))
            elif isinstance(child, Exception):
                out.append(Entry(entry.backend, str(url.child(name)), name, EntryKind.ERROR, error=str(child)))
        return sort_entries(out)

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        """Remote rows carry their details from the listing (sizes, shapes): nothing to add."""
        yield list(entries)

    # -- facts and previews ----------------------------------------------------------------------

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        from ..remote_zarr import inspect

        return inspect(backend, path, listed=listed)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool,
                     cancelled: Callable[[], bool] | None = None) -> Preview:
        """A lazy preview: only the chunks the viewer asks for are fetched. ``cancelled``
        (the job's cancel token) or closing the preview stops its requests on the wire."""
        from .. import lazy
        from ..remote_errors import RemoteError
        from ..remote_zarr import CancelOnClose, inspect, read_session

        with read_session(cancelled) as session:
            info = inspect(backend, path, count_members=False)  # an image's levels and labels need no listing
            if info.error is not None:
                error = lazy.PreviewError(info.error)
                error.info = info
                raise error
            try:
                if info.kind == "array":
                    preview = lazy._zarr_array_preview(info, path, size_limit, confirmed)
                elif info.ome is not None:
                    preview = lazy._ome_preview(info, path)
                else:
                    return lazy.Preview(backend, path, info, notes=("a group: choose an array or an image in it",),
                                        resources=(CancelOnClose(session),))
            except RemoteError as exc:
                error = lazy.PreviewError(str(exc))
                error.info = info
                raise error from exc
            return replace(preview, resources=(*preview.resources, CancelOnClose(session)))

    def exists(self, backend: str, path: str) -> bool:
        from ..remote_zarr import locate, node

        if node(path) is not None:
            return True
        store, key, _ = locate(path)
        if not store.can_list:
            return False
        folders, objects = store.list_dir(key)
        return bool(folders or objects)

    def is_folder(self, backend: str, path: str) -> bool:
        from ..remote_zarr import node

        meta = node(path)
        if meta is not None:
            return meta.node_type == "group"
        return self.exists(backend, path)  # an S3 prefix holding something is a folder

    def delete(self, backend: str, path: str) -> None:
        raise PermissionError(f"{path}: remote stores are opened read-only in this version")


def _names_from_metadata(meta: ZarrNodeMeta) -> list[str]:
    """The members a group's OME-NGFF metadata names (levels, labels, wells, fields)."""
    from ..ome_meta import ome_attributes

    attrs = ome_attributes(meta.attributes)
    names: list[str] = []

    def add(value: Any) -> None:
        text = str(value).strip("/")
        if text and not text.startswith("/") and all(p not in ("", ".", "..") for p in text.split("/")):
            if "\0" not in text and text not in names:
                names.append(text)

    for ms in attrs.get("multiscales") or [] if isinstance(attrs.get("multiscales"), list) else []:
        for ds in (ms.get("datasets") or []) if isinstance(ms, dict) else []:
            if isinstance(ds, dict):
                add(ds.get("path", ""))
    if attrs.get("multiscales"):
        add("labels")  # read if there; absent ones are dropped
    for label in attrs.get("labels") or [] if isinstance(attrs.get("labels"), list) else []:
        add(label)
    plate = attrs.get("plate")
    if isinstance(plate, dict):
        rows: set[str] = set()
        for well in plate.get("wells") or []:
            if isinstance(well, dict) and well.get("path"):
                rows.add(str(well["path"]).split("/")[0])
        for row in sorted(rows):
            add(row)
    well = attrs.get("well")
    if isinstance(well, dict):
        for image in well.get("images") or []:
            if isinstance(image, dict):
                add(image.get("path", ""))
    if "bioformats2raw.layout" in attrs:
        for i in range(8):
            add(str(i))
    return names


def _plate_wells(meta: ZarrNodeMeta) -> list[str]:
    """The well paths (``A/1``) a plate's metadata lists."""
    from ..ome_meta import ome_attributes

    plate = ome_attributes(meta.attributes).get("plate")
    wells = plate.get("wells") if isinstance(plate, dict) else None
    return [str(w["path"]) for w in wells or [] if isinstance(w, dict) and isinstance(w.get("path"), str)]


ADAPTER = RemoteZarr()
register_adapter(ADAPTER, schemes=("s3", "http", "https"))
