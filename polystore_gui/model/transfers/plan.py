"""Planning a transfer: one item per source with its final address, or the reason it cannot
go (the destination inside the source, a backend this browser does not write to, a zarr
array, a zarr node of the other format, a name taken while the policy says fail or skip);
free names ("name (2).ext"); where a drop lands; one item renamed."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from ..address import Address
from ..local_entries import inside as _inside, special_entry
from ..zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node
from .items import Conflict, Item, Refusal, TransferError, meet_conflict, volatile_move_warning
from .places import (
    _basename, _copies_into_itself, _join, _same_entry, _source_size, capabilities, exists, in_process, is_folder,
    is_local,
)

def _free_name(destination_folder: Address, name: str) -> str:
    stem, ext = name, ""
    match = re.match(r"^(.*?)(\.[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?)$", name)
    if match and match.group(1):
        stem, ext = match.group(1), match.group(2)
    for n in range(2, 10_000):
        candidate = f"{stem} ({n}){ext}"
        if not exists(Address(destination_folder.backend, _join(destination_folder.path, candidate))):
            return candidate
    raise TransferError(f"no free name for {name} in {destination_folder}")


def plan(
    sources: Sequence[Address],
    destination: Address,
    *,
    on_conflict: Conflict = Conflict.FAIL,
    move: bool = False,
    measure: bool = True,
    chunks: tuple[int, ...] | None = None,
    allow_volatile_move: bool = False,
) -> list[Item]:
    """One item per source, named like its source inside ``destination`` (a folder or group).

    ``measure=False`` leaves sizes to ``run_item`` (walking a 30,000-file store takes a
    noticeable moment: the window plans on its own thread and measures in the worker).
    """
    items: list[Item] = []
    refusal, group = _destination(destination, move=move, allow_volatile_move=allow_volatile_move)
    if refusal is not None:
        return [Item(s, destination, move, error=refusal.reason) for s in sources]
    into = capabilities(destination.backend)
    for source in sources:
        name = _basename(source.path)
        final = Address(destination.backend, _join(destination.path, name))
        item = Item(source, final, move, chunks=chunks)
        local = is_local(source.backend)
        if not local and not in_process(source.backend):
            item.error = (f"{source}: copies are made from this machine's files and polystore's memory, "
                          f"not from {source.backend}")
        elif not exists(source):
            item.error = f"{source} does not exist"
        elif local and (kind := special_entry(source.path)):
            item.error = f"{kind} is not a file: nothing to copy"
        elif local and not into.holds_links and os.path.islink(source.path):
            item.error = f"{source.path} is a symbolic link: {destination.backend} cannot hold links"
        elif local and into.local and _copies_into_itself(source.path, destination.path):
            item.error = f"{destination.path} is inside {source.path}: a folder cannot be copied into itself"
        elif (source.backend == destination.backend and not local and
              _inside(destination.path, source.path)):
            item.error = f"{destination} is inside {source}"
        elif group is not None and (mixed := _format_mismatch(source, group)):
            item.error = mixed
        elif source == final or (local and into.local and _same_entry(source.path, final.path)):
            if on_conflict is Conflict.RENAME:
                item.destination = Address(final.backend, _join(destination.path, _free_name(destination, name)))
            else:
                item.error = f"{final} is the source itself"
        elif exists(final):
            meet_conflict(item, on_conflict, str(final), lambda: Address(
                final.backend, _join(destination.path, _free_name(destination, name))))
        if item.runnable and measure:
            item.total = _source_size(source)
        items.append(item)
    return items


def destination_refusal(destination: Address, *, move: bool = False,
                        allow_volatile_move: bool = False) -> Refusal | None:
    """Why nothing can go into ``destination`` (for every source alike), or None: what ``plan``
    gives each item then, said once (``cp`` prints it once)."""
    return _destination(destination, move=move, allow_volatile_move=allow_volatile_move)[0]


def _destination(destination: Address, *, move: bool,
                 allow_volatile_move: bool) -> tuple[Refusal | None, ZarrNodeMeta | None]:
    """(why nothing can go into ``destination``, or None; the zarr group it is, or None)."""
    into = capabilities(destination.backend)
    if move and into.volatile and not allow_volatile_move:
        return Refusal(volatile_move_warning(destination) + " (copy instead)", loses_data=True), None
    if not into.writable or not (into.local or in_process(destination.backend)):
        return Refusal(f"{destination.backend} is not a storage backend this browser writes to"), None
    if into.local and not os.path.isdir(destination.path):
        return Refusal(f"{destination.path} is not a folder"), None
    if not into.local and not is_folder(destination):
        return Refusal(f"{destination} is not a folder"), None
    group, reason = _zarr_destination(destination)
    return (Refusal(reason) if reason is not None else None), group


def _zarr_destination(destination: Address) -> tuple[ZarrNodeMeta | None, str | None]:
    """(the zarr group ``destination`` is, or None; the reason it takes nothing, or None).

    Nothing goes inside a zarr array: its folder holds chunks, and a member put there is
    no member of anything zarr can open. A group with metadata that cannot be read is
    refused too (it could not be told apart from an array, nor consolidated afterwards).
    """
    if not is_local(destination.backend):
        return None, None
    try:
        meta = read_node(destination.path)
    except CorruptMetadataError as exc:
        return None, f"{destination.path} cannot take new members: {exc}"
    except OSError as exc:
        return None, f"{destination.path}: {exc.strerror or exc}"
    if meta is None:
        return None, None
    if meta.node_type == "array":
        parent = os.path.dirname(os.path.abspath(destination.path))
        return None, (f"{destination.path} is a zarr array, not a group or folder: nothing can be copied into an "
                      f"array (copy into the folder that holds it, {parent})")
    return meta, None


def _format_mismatch(source: Address, group: ZarrNodeMeta) -> str | None:
    """Why a zarr node cannot go into ``group`` as it is stored: zarr-python sees no v3
    member in a v2 group, nor v2 in v3. (Images, arrays and folders of images are written
    by the transfer itself, in the group's format, and never mismatch.)"""
    if not is_local(source.backend) or not os.path.isdir(source.path):
        return None
    try:
        meta = read_node(source.path)
    except (CorruptMetadataError, OSError):
        return None  # the copy reports what is wrong with it
    if meta is None or meta.zarr_format == group.zarr_format:
        return None
    return (f"{source.path} is a zarr v{meta.zarr_format} {meta.node_type} and {group.path} a zarr "
            f"v{group.zarr_format} group: zarr-python would not see it as a member (copy it into a "
            f"v{meta.zarr_format} group, or convert it first)")


def landing(destination: Address) -> tuple[Address, str | None]:
    """Where a drop on ``destination`` lands, and a note when that is somewhere else: a zarr
    array takes no members, so a drop on one goes into the folder or group that holds it."""
    if not is_local(destination.backend):
        return destination, None
    try:
        meta = read_node(destination.path)
    except (CorruptMetadataError, OSError):
        return destination, None  # plan() says what is wrong
    if meta is None or meta.node_type != "array":
        return destination, None
    parent = os.path.dirname(os.path.abspath(destination.path))
    try:
        parent_is_node = read_node(parent) is not None
    except (CorruptMetadataError, OSError):
        parent_is_node = True
    backend = destination.backend if parent_is_node else "disk"
    note = (f"{_basename(destination.path)} is a zarr array and takes no members: "
            f"the drop goes into the folder that holds it, {parent}")
    return Address(backend, parent), note


def rename_to(item: Item, name: str) -> Item:
    """``item`` going to ``name`` in the same folder instead; an error when ``name`` is no name
    an entry can have (checked as Rename checks it) or is taken too."""
    from ..entry_names import RenameError, check_name

    folder = item.destination.path.rstrip("/").rsplit("/", 1)[0] or "/"
    try:
        check_name(name)
    except RenameError as exc:
        return Item(item.source, item.destination, item.move, total=item.total, chunks=item.chunks, error=str(exc))
    target = Address(item.destination.backend, _join(folder, name))
    renamed = Item(item.source, target, item.move, total=item.total, chunks=item.chunks)
    if exists(target):
        renamed.error = f"{target} already exists"
    return renamed
