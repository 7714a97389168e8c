"""Where a typed location lives in the tree: File → Open Location… (Ctrl+O).

The user types what they have — a path from a terminal, an address from the CLI
(``zarr:/data/plate.zarr/A/1/0``), ``memory:/results`` — and the browser shows it:
:func:`locate` says which root or store has to be added for it to be reachable, and
which row to reveal. It reads metadata only (``stat`` and zarr marker files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .address import Address, UnknownBackendError, parse_address, path_under
from .zarr_nodes import find_virtual_file, has_zarr_marker, store_root


class LocationError(ValueError):
    """The location cannot be shown; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class Location:
    """What to do to show a location: maybe add a root (or a store), then reveal a row.

    ``root_backend``/``root`` name the disk root or zarr store to add first (``root`` is
    None when the row is already reachable); ``target`` is the row to select; ``via`` the
    row whose children hold it when its path does not say so (a polystore virtual file,
    ``store/name``, is a child of the array holding its plane).
    """

    target: Address
    root_backend: str | None = None
    root: str | None = None
    via: str | None = None
    note: str | None = None  # said to the user when the row shown is not exactly what was typed


def not_found(part: str, folder: str) -> str:
    """How a missing part of a path is said, wherever it is found missing (here, the tree)."""
    return f"{part} is not in {folder} (the last part of the path found)"


def _missing_part(path: str) -> tuple[str, str]:
    """The deepest existing folder above ``path`` and the name under it that does not exist."""
    found, part = os.path.dirname(path), os.path.basename(path)
    while found != os.path.dirname(found) and not os.path.lexists(found):
        found, part = os.path.dirname(found), os.path.basename(found)
    return found, part


def _zarr_node_at(path: str, root: str) -> str:
    """The zarr array or group at or above ``path`` (inside the store at ``root``)."""
    current = path
    while path_under(current, root) and current != root:
        if os.path.isdir(current) and has_zarr_marker(current):
            return current
        current = os.path.dirname(current)
    return root



def locate(text: str, known_backends: Sequence[str], *, disk_roots: Sequence[str] = (),
           stores: Sequence[Address] = ()) -> Location:
    """The :class:`Location` of ``text``; raises :class:`LocationError` with the reason.

    A path inside a zarr store (typed as a disk path or as ``zarr:``/``ome_zarr:``) is
    shown inside the store, under the backend the tree shows that store in (``stores``:
    the stores shown already). A disk path under a root already shown
    needs no new root; otherwise its folder (a file: the folder holding it) becomes one.
    """
    text = text.strip()
    if not text:
        raise LocationError("Type a path or an address such as zarr:/data/plate.zarr/A/1/0")
    try:
        address = parse_address(text, list(known_backends))
    except UnknownBackendError as exc:
        raise LocationError(str(exc)) from exc
    backend, path = address.backend, address.path
    from .backends import adapter_for

    adapter = adapter_for(backend, path)
    if adapter.capabilities.remote:  # a URL: shown inside a remote store already open, else as a store itself
        shown = next((s for s in stores if path_under(path, s.path)), None)
        if shown is not None:
            return Location(Address(shown.backend, path))
        return Location(Address(backend, path), backend, path)
    if adapter.capabilities.local:
        # Plain folders are rows only where the adapter holds a file system's own things
        # (links among them: disk); the store adapters show what is inside a zarr store.
        return _locate_local(address, list(disk_roots), list(stores), folders=adapter.capabilities.holds_links)
    if adapter.capabilities.volatile:  # memory: one root, "/", and the keys under it
        if path != "/" and not adapter.exists(backend, path):
            raise LocationError(f"Nothing in {backend} at {path} ({backend}: is this program's own memory)")
        return Location(Address(backend, path))
    # Any other backend: its row (the sinks and the backends that need context have none below).
    return Location(Address(backend, ""))


def _locate_local(address: Address, disk_roots: list[str], stores: list[Address], *, folders: bool) -> Location:
    """A path of this machine: inside the zarr store holding it, else (``folders``) as a
    folder or file under a disk root."""
    backend, path = address.backend, address.path
    exists = os.path.lexists(path)
    virtual = None if exists else find_virtual_file(path)
    if not exists and virtual is None:
        found, part = _missing_part(path)
        raise LocationError(f"No such file or folder: {path}; {not_found(part, found)}")
    via = virtual.array.path if virtual is not None else None
    root = store_root(path if exists else os.path.dirname(path))
    note = None
    if root is not None:
        if virtual is None:
            node = _zarr_node_at(path, root)
            if node != path:
                # Metadata, a chunk, a chunk folder: the store's files are not rows.
                note = (f"{os.path.relpath(path, node)} is part of the zarr node {node} (its metadata or "
                        "chunks), not an array or group: its node is shown (chunks: View → Chunk Inspector)")
                path = node
        shown = next((s for s in stores if s.path == root), None)
        if shown is not None:
            return Location(Address(shown.backend, path), via=via, note=note)
        from .backends.zarr_store import store_backend

        kind = store_backend(root)
        return Location(Address(kind, path), kind, root, via=via, note=note)
    if not folders:
        raise LocationError(f"Not inside a zarr store (no zarr.json, .zgroup or .zarray above it): {path}")
    if any(path_under(path, r) for r in disk_roots):
        return Location(Address("disk", path))
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return Location(Address("disk", path), "disk", folder)


__all__ = ["Location", "LocationError", "locate", "not_found"]
