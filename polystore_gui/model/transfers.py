"""Copies between backends that never lose data: planned, written aside, verified, then placed.

``plan(sources, destination, on_conflict)`` turns what the user dropped into items, each
with its final address, or with the reason it cannot go (destination inside the source,
a sink that takes no files, a name taken and the policy says fail or skip).
``run_item(item, ...)`` is a generator of progress (bytes done, bytes total) that writes
the item beside its destination under a hidden temporary name, verifies it, and only then
puts it in place; a cancel or an error removes what it wrote and leaves the source alone.
``move`` deletes a source only after its copy verified.

How each kind of item is written:

- a local file (``disk``; also the files inside a zarr store) onto ``disk``: bytes in
  blocks into an unnamed ``O_TMPFILE`` in the destination folder, hashed on the way,
  fsynced, re-read and compared, then linked into place (a killed process leaves nothing:
  the kernel frees an unlinked file). Folders, zarr stores and zarr arrays: the same per
  file into a hidden temporary folder renamed into place at the end; zarr to zarr thus
  copies the encoded chunk and shard bytes as they are, no decoding.
- into ``memory``: read through polystore's backend (``load``), stored under a temporary
  key, compared, then moved into place with the memory backend's own ``move``.
- from ``memory`` onto ``disk``: written with polystore's disk ``save`` (format by
  extension; ``.npy`` for a bare array) to a temporary name, loaded back and compared.
- an image or array onto a ``zarr`` group: a zarr array chunked per plane (tiled for planes
  above 4096 x 4096), written plane by plane (memory stays bounded), compared plane by
  plane, renamed into place.

Into zarr groups, so that zarr-python sees what arrived: a zarr array takes nothing (its
folder holds chunks; ``plan`` refuses it, and ``landing`` gives a drop on one to the folder
that holds it); what the transfer writes itself (images, arrays, folders of images) takes
the format of the group it goes into; a zarr node copied as stored must already have that
format (zarr-python lists no v3 member in a v2 group, nor v2 in v3), else it is refused;
and every group above that holds consolidated metadata has it written again
(``zarr_consolidated.refresh``) once a member arrived or left.

Hidden temporaries are named ``.NAME.polystore-partial-PID-START-XXXXXXXX`` (their writer's
PID and process start time; never a ``.zarr`` suffix), and a store's zarr metadata is copied
last, so an unfinished copy is no store any reader opens. Each transfer onto disk is recorded
in a journal (``transfer_journal``): after a kill, the next transfer into that folder, the
next ``cp`` and the window's next start remove what it left and finish or report its move.

Links are copied as links and FIFOs, sockets and devices are never opened (``local_entries``);
same-file and inside-itself checks resolve links; a move into memory (gone with the process)
is refused unless the caller asked the user.
"""

from __future__ import annotations

import copy
import ctypes
import enum
import errno
import json
import os
import re
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import zarr_consolidated
from . import transfer_journal as journal
from .address import Address
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta, read_node
from .local_entries import copied_link_target, copy_link, open_regular, special_entry, special_kind
from .local_entries import identity as _identity, inside as _inside
from .tiff_facts import dimension_names, is_tiff_name, ngff_layout, read_tiff_facts

NO_LINKS = ("memory", "zarr")  # backends that cannot hold a symbolic link
VOLATILE = ("memory",)  # backends whose contents end with this process


def volatile_move_warning(destination: Address) -> str:
    """Why a move into a volatile backend loses data (the window asks; the CLI refuses)."""
    return (f"{destination.backend} lives in this program's RAM: a move would delete the source and leave "
            f"the only copy there, lost when the program quits")

BLOCK = 8 << 20
COPY_THREADS = 4  # files copied at a time within a folder or store
TILE = 2048
BIG_PLANE = 4096
PARTIAL = ".polystore-partial-"
LOCAL = ("disk", "zarr", "ome_zarr")  # backends whose paths are this machine's paths
WRITABLE = ("disk", "memory", "zarr")
_PARTIAL_RE = re.compile(r"^\..*\.polystore-partial-(\d+)(?:-(\d+))?-[0-9a-f]{8}(\.[^.]*)?$")
STORE_SUFFIXES = (".zarr", ".n5", ".zr", ".zarr3")  # a partial never ends so: no reader takes it for a store
ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")

Progress = tuple[int, int]  # bytes done, bytes total


class Conflict(str, enum.Enum):
    FAIL = "fail"
    SKIP = "skip"
    OVERWRITE = "overwrite"
    RENAME = "rename"  # keep both: the new one gets "name (2).ext"


class TransferError(RuntimeError):
    """An item that could not be transferred; the text is for the user."""


class Cancelled(TransferError):
    pass


@dataclass
class Item:
    source: Address
    destination: Address  # the final place
    move: bool = False
    replace: bool = False  # overwrite an existing destination once the copy verified
    skip_reason: str | None = None  # planned as skipped (a conflict with policy skip)
    error: str | None = None  # refused at planning
    total: int = 0
    conflict: bool = False  # the destination name was taken when planned
    chunks: tuple[int, ...] | None = None  # chunk shape for arrays written into zarr (None: per plane)

    @property
    def runnable(self) -> bool:
        return self.error is None and self.skip_reason is None


@dataclass
class Outcome:
    item: Item
    status: str  # "done", "skipped", "failed", "cancelled"
    nbytes: int = 0
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # entries of the source not copied, each with why


# -- planning ---------------------------------------------------------------------------------


def _memory() -> Any:
    """polystore's memory backend with its root folder made: the backend keeps a folder as
    a key holding None and makes ``/`` only when asked, so a transfer into ``memory:/``
    must not depend on the tree having listed it first."""
    from .listing import memory_backend

    return memory_backend()


def _join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name if parent not in ("", "/") else "/" + name


def _basename(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path


def exists(address: Address) -> bool:
    if address.backend == "memory":
        return bool(_memory().exists(address.path))
    return os.path.lexists(address.path)


def is_folder(address: Address) -> bool:
    if address.backend == "memory":
        try:  # polystore's own answer (its key normalisation included); it raises for files
            return bool(_memory().is_dir(address.path))
        except (FileNotFoundError, NotADirectoryError):
            return False
    return os.path.isdir(address.path)


def _same_entry(a: str, b: str) -> bool:
    """True when two local paths name the same entry, through links or another spelling
    (a case-folding file system, a hard link): the same place, or the same inode."""
    if _identity(a) == _identity(b):
        return True
    try:
        x, y = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (x.st_dev, x.st_ino) == (y.st_dev, y.st_ino)


def _copies_into_itself(source: str, destination_folder: str) -> bool:
    """True when ``destination_folder`` (followed: we write into it) is ``source`` or lies
    inside it, through links or not. A source that is a link is copied as a link: only its
    own place counts."""
    return _inside(os.path.realpath(destination_folder), _identity(source))


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


def _source_size(address: Address) -> int:
    if address.backend == "memory":
        memory = _memory()
        total = 0
        for key, value in list(memory._memory_store.items()):
            if key == address.path or key.startswith(address.path.rstrip("/") + "/"):
                total += int(getattr(value, "nbytes", 0) or 0)
        return total
    if os.path.isdir(address.path) and not os.path.islink(address.path):
        total = 0
        for root, _dirs, files in os.walk(address.path):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_size
                except OSError:
                    pass
        return total
    try:
        return os.lstat(address.path).st_size
    except OSError:
        return 0


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
    if move and destination.backend in VOLATILE and not allow_volatile_move:
        reason = volatile_move_warning(destination) + " (copy instead)"
        return [Item(s, destination, move, error=reason) for s in sources]
    if destination.backend not in WRITABLE:
        reason = f"{destination.backend} is not a storage backend this browser writes to"
        return [Item(s, destination, move, error=reason) for s in sources]
    if destination.backend in LOCAL and not os.path.isdir(destination.path):
        reason = f"{destination.path} is not a folder"
        return [Item(s, destination, move, error=reason) for s in sources]
    if destination.backend == "memory" and not is_folder(destination):
        return [Item(s, destination, move, error=f"memory:{destination.path} is not a folder") for s in sources]
    group, refusal = _zarr_destination(destination)
    if refusal is not None:
        return [Item(s, destination, move, error=refusal) for s in sources]
    for source in sources:
        name = _basename(source.path)
        final = Address(destination.backend, _join(destination.path, name))
        item = Item(source, final, move, chunks=chunks)
        if not exists(source):
            item.error = f"{source} does not exist"
        elif source.backend in LOCAL and (kind := special_entry(source.path)):
            item.error = f"{kind} is not a file: nothing to copy"
        elif source.backend in LOCAL and destination.backend in NO_LINKS and os.path.islink(source.path):
            item.error = f"{source.path} is a symbolic link: {destination.backend} cannot hold links"
        elif source.backend in LOCAL and destination.backend in LOCAL and _copies_into_itself(source.path, destination.path):
            item.error = f"{destination.path} is inside {source.path}: a folder cannot be copied into itself"
        elif source.backend == destination.backend == "memory" and _inside(destination.path, source.path):
            item.error = f"memory:{destination.path} is inside memory:{source.path}"
        elif group is not None and (mixed := _format_mismatch(source, group)):
            item.error = mixed
        elif source == final or (source.backend in LOCAL and destination.backend in LOCAL and
                                 _same_entry(source.path, final.path)):
            if on_conflict is Conflict.RENAME:
                item.destination = Address(final.backend, _join(destination.path, _free_name(destination, name)))
            else:
                item.error = f"{final} is the source itself"
        elif exists(final):
            item.conflict = True
            if on_conflict is Conflict.FAIL:
                item.error = f"{final} already exists"
            elif on_conflict is Conflict.SKIP:
                item.skip_reason = f"{final} already exists"
            elif on_conflict is Conflict.OVERWRITE:
                item.replace = True
            else:
                item.destination = Address(final.backend, _join(destination.path, _free_name(destination, name)))
        if item.runnable and measure:
            item.total = _source_size(source)
        items.append(item)
    return items


def _zarr_destination(destination: Address) -> tuple[ZarrNodeMeta | None, str | None]:
    """(the zarr group ``destination`` is, or None; the reason it takes nothing, or None).

    Nothing goes inside a zarr array: its folder holds chunks, and a member put there is
    no member of anything zarr can open. A group with metadata that cannot be read is
    refused too (it could not be told apart from an array, nor consolidated afterwards).
    """
    if destination.backend not in LOCAL:
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
    if source.backend not in LOCAL or not os.path.isdir(source.path):
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
    if destination.backend not in LOCAL:
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
    """``item`` going to ``name`` in the same folder instead; an error when that is taken too."""
    folder = item.destination.path.rstrip("/").rsplit("/", 1)[0] or "/"
    target = Address(item.destination.backend, _join(folder, name))
    renamed = Item(item.source, target, item.move, total=item.total, chunks=item.chunks)
    if "/" in name or not name.strip():
        renamed.error = f"{name!r} is not a name"
    elif exists(target):
        renamed.error = f"{target} already exists"
    return renamed


# -- running ------------------------------------------------------------------------------------


def _partial_name(final_path: str) -> str:
    """A hidden sibling name, ``.NAME.polystore-partial-PID-START-XXXXXXXX[.ext]``: it names
    its writer (PID and process start time, so a reused PID is never taken for it) and keeps a
    file's extension (polystore picks writers by it), but never a store's (``.zarr``)."""
    parent, name = os.path.split(final_path.rstrip("/"))
    ext = os.path.splitext(name)[1]
    if ext.lower() in STORE_SUFFIXES:
        ext = ""
    return os.path.join(parent, f".{name}{PARTIAL}{os.getpid()}-{journal.MY_START}-{uuid.uuid4().hex[:8]}{ext}")


def sweep_partials(folder: str) -> list[str]:
    """Remove temporaries left in ``folder`` by transfers whose process has died."""
    removed: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _PARTIAL_RE.match(name)
        if not match or journal.writer_alive(int(match.group(1)), int(match.group(2)) if match.group(2) else None):
            continue
        path = os.path.join(folder, name)
        try:
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


_DISCARDS: list[Any] = []  # threads deleting what cancelled or failed runs wrote


def settle(timeout: float | None = None) -> bool:
    """Wait until every discarded temporary is gone; True when they all are."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while _DISCARDS:
        thread = _DISCARDS[0]
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            return False
        _DISCARDS.pop(0)
    return True


class _Run:
    """One item's run: progress, cancellation and the temporaries to remove on failure."""

    def __init__(self, item: Item, cancelled: Callable[[], bool]) -> None:
        self.item = item
        self.cancelled = cancelled
        self.done = 0
        self.temporaries: list[Address] = []
        self.notes: list[str] = []
        self.left_out: list[str] = []  # entries of the source not copied (links, FIFOs, …): a move keeps the source
        self.staged: str | None = None  # the verified temporary that _place() puts in place

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled("cancelled")

    def advance(self, n: int) -> Progress:
        self.done += n
        return (self.done, max(self.item.total, self.done))

    def discard(self) -> None:
        """Remove what this run wrote. A written folder is first renamed out of the way, then
        deleted by a (non-daemon) thread, so a cancel returns at once even for 30,000 files."""
        for temp in reversed(self.temporaries):
            try:
                if temp.backend != "memory" and os.path.isdir(temp.path) and not os.path.islink(temp.path):
                    doomed = _partial_name(temp.path.replace(PARTIAL, ".gone" + PARTIAL))
                    os.rename(temp.path, doomed)
                    thread = threading.Thread(target=shutil.rmtree, args=(doomed, True), name="discard")
                    thread.start()
                    _DISCARDS.append(thread)
                else:
                    _remove(temp)
            except OSError:
                pass
        self.temporaries.clear()


def delete(address: Address) -> None:
    """Delete an entry for good (the window's Delete, after it asked): a file, or a folder,
    store or array with everything in it. Through polystore's backend for memory."""
    if not exists(address):
        raise TransferError(f"{address} no longer exists")
    _remove(address)
    try:
        refresh_consolidated(address)
    except TransferError as exc:
        raise TransferError(f"{address} was deleted, but {exc}") from exc


def refresh_consolidated(address: Address) -> None:
    """After ``address`` left its folder (Delete, to the trash or for good): the consolidated
    metadata of the zarr groups above it written again, so zarr no longer lists it."""
    if address.backend not in LOCAL:
        return
    try:
        zarr_consolidated.refresh(os.path.dirname(os.path.abspath(address.path)), leave_out=PARTIAL)
    except Exception as exc:  # deleted all the same; say why zarr still lists it
        raise TransferError("the consolidated metadata that lists it could not be written again: "
                            f"{_describe(exc)}") from exc


def _remove(address: Address) -> None:
    if address.backend == "memory":
        memory = _memory()
        if memory.exists(address.path):
            if is_folder(address):  # polystore's is_dir raises for a file
                memory.delete_all(address.path)
            else:
                memory.delete(address.path)
        return
    if os.path.isdir(address.path) and not os.path.islink(address.path):
        shutil.rmtree(address.path)
    elif os.path.lexists(address.path):
        os.unlink(address.path)


def run_item(item: Item, *, cancelled: Callable[[], bool] = lambda: False) -> Generator[Progress, None, Outcome]:
    """Transfer one planned item; yields progress, returns its outcome (never raises)."""
    if item.error is not None:
        return Outcome(item, "failed", message=item.error)
    if item.skip_reason is not None:
        return Outcome(item, "skipped", message=item.skip_reason)
    run = _Run(item, cancelled)
    record = _journal_begin(item)
    try:
        if not item.total:
            item.total = _source_size(item.source)
        if item.destination.backend in LOCAL:
            if item.source.backend in LOCAL and _same_entry(item.source.path, item.destination.path):
                raise TransferError(f"{item.destination} is the source itself")  # a link changed since planning
            sweep_partials(os.path.dirname(item.destination.path.rstrip("/")))
        yield from _write(run)
        run.check()
        _place(run)
        record = _journal_mark(record, "placed")
        _refresh_consolidated(run, item.destination, placed=True)
        if item.move and run.left_out:
            message = (f"copied; the source was kept: {len(run.left_out)} of its entries could not be copied "
                       f"({'; '.join(run.left_out[:3])}{'; …' if len(run.left_out) > 3 else ''})")
            return Outcome(item, "done", run.done, message=message, notes=run.notes, left_out=run.left_out)
        if item.move:
            _remove_source(item.source, record)
            _refresh_consolidated(run, item.source, placed=False)
        return Outcome(item, "done", run.done, notes=run.notes, left_out=run.left_out)
    except Cancelled:
        run.discard()
        return Outcome(item, "cancelled", run.done, message="cancelled: nothing was written")
    except Exception as exc:  # every failure is reported per item; the queue goes on
        run.discard()
        return Outcome(item, "failed", run.done, message=_describe(exc))
    finally:
        if record is not None:
            journal.end(record)


def _journal_begin(item: Item) -> journal.Record | None:
    """The journal record of a transfer onto this machine's disk (None when the journal
    cannot be written: the transfer still runs, as safely, but is not found after a kill)."""
    if item.destination.backend not in LOCAL:
        return None
    try:
        return journal.begin(str(item.source), str(item.destination), item.move)
    except Exception:  # noqa: BLE001 - a journal that cannot be written never stops a transfer
        return None


def _journal_mark(record: journal.Record | None, phase: str, aside: str | None = None) -> journal.Record | None:
    if record is None:
        return None
    try:
        return journal.mark(record, phase, aside)
    except OSError:
        return record


def _remove_source(source: Address, record: journal.Record | None) -> None:
    """Delete a moved source (its copy is in place and verified). A folder is first renamed
    aside to a partial name, in one step, then deleted: a kill half-way leaves a partial that
    the next start removes (finishing the move), never a half-deleted folder under its name."""
    if source.backend != "memory" and os.path.isdir(source.path) and not os.path.islink(source.path):
        aside = _partial_name(source.path)
        _journal_mark(record, "deleting source", aside)
        os.rename(source.path, aside)
        shutil.rmtree(aside)
    else:
        _journal_mark(record, "deleting source")
        _remove(source)


def recover_interrupted() -> list[str]:
    """Clean up after transfers whose process was killed, and say what is where.

    Unfinished copies are removed; a move killed while it deleted its (verified, placed)
    source is finished; a move killed before that leaves both copies and says so. Run by
    ``cp`` and at the window's start. One message per interrupted transfer.
    """
    messages: list[str] = []
    for record in journal.orphans():
        try:
            messages.append(_recover(record))
        except OSError as exc:  # another process cleaning up the same record, a folder gone read-only
            messages.append(f"could not clean up after an interrupted transfer of {record.source} to "
                            f"{record.destination}: {_describe(exc)}")
        journal.end(record)
    return messages


def _recover(record: journal.Record) -> str:
    """Clean up after one interrupted transfer; what is where, for the user."""
    source, destination = record.source, record.destination
    dest_path = destination.split(":", 1)[-1]
    source_path = source.split(":", 1)[-1]
    sweep_partials(os.path.dirname(dest_path.rstrip("/")))
    what = "move" if record.move else "copy"
    if record.phase == "copying":
        return (f"an interrupted {what} of {source} to {destination} was cleaned up: its unfinished copy is "
                f"removed, nothing was placed at {destination}; the source is untouched")
    if record.phase == "placed" and not record.move:
        return f"the copy of {source} to {destination} had arrived, verified, before it was interrupted"
    if record.phase == "placed":
        return (f"an interrupted move of {source} to {destination}: {destination} is complete and verified; "
                f"the source was not deleted and is still at {source}")
    if record.aside and os.path.lexists(record.aside):
        _remove(Address("disk", record.aside))
        return (f"finished an interrupted move of {source} to {destination}: {destination} is complete and "
                f"verified; what was left of the source (renamed to {record.aside}) is deleted now")
    if os.path.lexists(source_path) and source.startswith("disk:"):
        return (f"an interrupted move of {source} to {destination}: {destination} is complete and verified; "
                f"the source is still at {source}")
    return f"the move of {source} to {destination} had finished before it was interrupted"


def _refresh_consolidated(run: _Run, address: Address, *, placed: bool) -> None:
    """After a member arrived in (``placed``) or left a zarr group: write the consolidated
    metadata of the groups above it again, so that ``zarr.open_group`` lists what is there."""
    if address.backend not in LOCAL:
        return
    folder = os.path.dirname(os.path.abspath(address.path))
    try:
        refreshed = zarr_consolidated.refresh(folder, leave_out=PARTIAL)
    except Exception as exc:
        what = "arrived in" if placed else "left"
        problem = (f"{address.path} {what} its group, but the consolidated metadata of the group could not be "
                   f"written again ({_describe(exc)}): zarr-python lists the group's old members until "
                   f"zarr.consolidate_metadata is run on it")
        if placed:
            run.temporaries.clear()  # the copy is in place and verified: keep it
            raise TransferError(problem) from exc
        run.notes.append(problem)
        return
    if refreshed:
        run.notes.append(f"consolidated metadata written again in {', '.join(refreshed)}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TransferError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    if isinstance(exc, FileNotFoundError):
        return f"vanished during the copy: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "no space left on the destination"
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) not in text:
        text += f" ({cause})"
    return text


def _write(run: _Run) -> Generator[Progress, None, None]:
    source, final = run.item.source, run.item.destination
    if final.backend == "disk" and source.backend in LOCAL:
        yield from _copy_local(run, source.path, final.path)
    elif final.backend == "zarr" and source.backend in LOCAL and _is_zarr_node(source.path):
        yield from _copy_local(run, source.path, final.path)  # encoded bytes, as stored
    elif final.backend == "zarr" and source.backend == "disk" and os.path.isdir(source.path):
        yield from _folder_to_zarr(run)
    elif final.backend == "zarr":
        yield from _array_to_zarr(run)
    elif final.backend == "memory":
        yield from _into_memory(run)
    elif final.backend == "disk" and source.backend == "memory":
        yield from _memory_to_disk(run)
    else:
        raise TransferError(f"cannot copy from {source.backend} to {final.backend}")


def _is_zarr_array(path: str) -> bool:
    if os.path.exists(os.path.join(path, ".zarray")):
        return True
    try:
        with open(os.path.join(path, "zarr.json")) as fh:
            return bool(json.load(fh).get("node_type") == "array")
    except (OSError, ValueError):
        return False


def _is_zarr_node(path: str) -> bool:
    return any(os.path.exists(os.path.join(path, marker)) for marker in ("zarr.json", ".zarray", ".zgroup"))


# -- local bytes ----------------------------------------------------------------------------------


def _copy_local(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    if os.path.islink(source):
        staged = _partial_name(final)  # a link is copied as a link, its target text kept
        run.temporaries.append(Address("disk", staged))
        text = os.readlink(source)
        copy_link(staged, text)
        run.staged = staged
        run.notes.append(f"a symbolic link to {text}, copied as a link")
        yield run.advance(0)
    elif os.path.isdir(source):
        yield from _copy_tree(run, source, final)
    else:
        yield from _copy_file(run, source, final)


def _leave_out(run: _Run, rel: str, why: str) -> None:
    """An entry of a folder that is not copied: said per entry; a move keeps its source."""
    run.left_out.append(f"{rel}: {why}")
    run.notes.append(f"skipped {rel}: {why}")


def _copy_tree(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    """A folder (or a zarr store or array) into a hidden folder, several files at a time.

    Every file is copied and compared with its source by a pool of threads (reads and
    writes release the GIL); the folder is flushed once (syncfs) before it is renamed
    into place, as ``cp -r`` followed by ``sync`` would be.
    """
    temp = _partial_name(final)
    run.temporaries.append(Address("disk", temp))
    os.mkdir(temp)
    jobs: list[tuple[str, str]] = []
    # zarr metadata goes last: an unfinished copy of a store is no store any reader opens.
    metadata: list[tuple[str, str]] = []
    for root, dirs, files in os.walk(source):  # links to folders are listed in dirs, never entered
        run.check()
        rel = os.path.relpath(root, source)
        target_root = temp if rel == "." else os.path.join(temp, rel)
        for name in dirs + files:
            src = os.path.join(root, name)
            try:
                mode = os.lstat(src).st_mode
            except FileNotFoundError:
                _leave_out(run, os.path.relpath(src, source), "vanished during the copy")
                continue
            if stat.S_ISLNK(mode):
                copy_link(os.path.join(target_root, name), copied_link_target(src, source, final))
            elif stat.S_ISDIR(mode):
                os.mkdir(os.path.join(target_root, name))
            elif stat.S_ISREG(mode) and name in ZARR_METADATA:
                metadata.append((src, os.path.join(target_root, name)))
            elif stat.S_ISREG(mode):
                jobs.append((src, os.path.join(target_root, name)))
            else:
                _leave_out(run, os.path.relpath(src, source), f"{special_kind(mode)} is not a file")
    pending: set[Any] = set()
    with ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="copy") as pool:
        try:
            # Small files go in batches (a task per 32 KiB chunk would cost more than the copy).
            for batch in _batches(jobs):
                pending.add(pool.submit(_copy_batch, batch, run.cancelled))
                if len(pending) >= 2 * COPY_THREADS:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield run.advance(future.result())
                    run.check()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield run.advance(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    run.check()
    metadata.sort(key=lambda job: -job[1].count("/"))  # the deepest first, the store's own last
    yield run.advance(_copy_batch(metadata, run.cancelled))
    _flush(temp)
    run.staged = temp


def _batches(jobs: list[tuple[str, str]], nbytes: int = BLOCK, count: int = 128) -> Iterable[list[tuple[str, str]]]:
    """Consecutive groups of files of about ``nbytes`` (or ``count`` files), for the pool."""
    batch: list[tuple[str, str]] = []
    size = 0
    for job in jobs:
        try:
            size += os.lstat(job[0]).st_size
        except OSError:
            pass  # it vanished: the copy says so
        batch.append(job)
        if size >= nbytes or len(batch) >= count:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _copy_batch(batch: list[tuple[str, str]], cancelled: Callable[[], bool]) -> int:
    total = 0
    for source, target in batch:
        if cancelled():
            raise Cancelled("cancelled")
        total += _copy_verify(source, target, cancelled)
    return total


def _flush(path: str) -> None:
    """Write the file system holding ``path`` to disk (syncfs; sync where it is missing)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) != 0:
            os.sync()
    except (OSError, AttributeError):
        os.sync()
    finally:
        os.close(fd)


def _copy_verify(source: str, target: str, cancelled: Callable[[], bool]) -> int:
    """Copy one file into a staged folder, then compare it with its source; its size.

    A file up to one block (every chunk of a usual zarr store) is read once, written, read
    back and compared with the bytes in hand: two opens and a handful of system calls.
    """
    with open_regular(source) as src:
        info = os.fstat(src.fileno())
        if info.st_size <= BLOCK:
            data = src.read()
            fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, info.st_mode & 0o777)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                back = os.pread(fd, len(data) + 1, 0)
            finally:
                os.close(fd)
            if back != data:
                raise TransferError(f"verification failed: {target} differs from {source}")
            return len(data)
        with open(target, "xb") as dst:
            size = 0
            while block := src.read(BLOCK):
                if cancelled():
                    raise Cancelled("cancelled")
                dst.write(block)
                size += len(block)
        os.chmod(target, info.st_mode & 0o777)
    _compare(source, target)
    return size


def _compare(source: str, target: str) -> None:
    """Byte-for-byte comparison of the copy with its source (raises when they differ)."""
    with open_regular(source) as a, open(target, "rb") as b:
        while True:
            x, y = a.read(BLOCK), b.read(BLOCK)
            if x != y:
                raise TransferError(f"verification failed: {target} differs from {source}")
            if not x:
                return


def _copy_file(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    """One file into an unnamed O_TMPFILE beside ``final``: copied, flushed, compared, named."""
    with open_regular(source) as src:
        fd, staged = _open_output(run, final)
        try:
            while True:
                run.check()
                block = src.read(BLOCK)
                if not block:
                    break
                view = memoryview(block)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                yield run.advance(len(block))
            os.fsync(fd)
            os.fchmod(fd, os.fstat(src.fileno()).st_mode & 0o777)
            src.seek(0)
            os.lseek(fd, 0, os.SEEK_SET)
            while True:
                run.check()
                x, y = src.read(BLOCK), os.read(fd, BLOCK)
                if x != y:
                    raise TransferError(f"verification failed: the copy of {source} differs")
                if not x:
                    break
            if staged is None:
                # Give the unnamed file a hidden name beside the destination; _place() renames it.
                hidden = _partial_name(final)
                _link_unnamed(fd, hidden)
                run.temporaries.append(Address("disk", hidden))
                run.staged = hidden
        finally:
            os.close(fd)


def _link_unnamed(fd: int, path: str) -> None:
    """Give an O_TMPFILE file a name: linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N.

    Passing a directory fd makes Python call linkat with the follow flag; plain link()
    would try to link the /proc symlink itself (EXDEV).
    """
    folder = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(path), dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _open_output(run: _Run, target: str) -> tuple[int, str | None]:
    """(fd, staged path): an unnamed O_TMPFILE (path None), else a hidden named temporary."""
    folder = os.path.dirname(target) or "."
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600), None
    except (AttributeError, OSError) as exc:
        if isinstance(exc, PermissionError):
            raise
        staged = _partial_name(target)  # the file system has no O_TMPFILE
        run.temporaries.append(Address("disk", staged))
        run.staged = staged
        return os.open(staged, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), staged


def _place(run: _Run) -> None:
    """Put the verified temporary in place (replacing the old one only now, when asked)."""
    final = run.item.destination
    staged = run.staged
    if staged is None:
        return
    if final.backend == "memory":
        memory = _memory()
        if run.item.replace and memory.exists(final.path):
            _remove(final)
        memory.move(staged, final.path)
        run.temporaries.clear()
        return
    if run.item.replace and os.path.lexists(final.path):
        aside = _partial_name(final.path)
        os.rename(final.path, aside)
        try:
            os.rename(staged, final.path)
        except OSError:
            os.rename(aside, final.path)
            raise
        run.temporaries.clear()
        _remove(Address("disk", aside))
        return
    if os.path.lexists(final.path):
        raise TransferError(f"{final} appeared during the copy; nothing was replaced")
    os.rename(staged, final.path)
    run.temporaries.clear()


# -- through polystore: memory --------------------------------------------------------------------


def _load(address: Address) -> Any:
    from polystore.backend_registry import get_backend_instance

    if address.backend == "memory":
        return _memory().load(address.path)
    return get_backend_instance("disk").load(address.path)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind in "fc"))
    return bool(a == b)


def _into_memory(run: _Run) -> Generator[Progress, None, None]:
    memory = _memory()
    source, final = run.item.source, run.item.destination
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("memory", staged))
    if source.backend in LOCAL and _is_zarr_node(source.path):
        if not _is_zarr_array(source.path):
            raise TransferError(f"{source} is a zarr group: copy its arrays into memory one by one")
        yield from _one_into_memory(run, source, staged)
    elif is_folder(source):
        memory.ensure_directory(staged)
        for rel, child in _folder_files(source, run):
            run.check()
            key = _join(staged, rel)
            memory.ensure_directory(os.path.dirname(key))
            yield from _one_into_memory(run, child, key)
    else:
        yield from _one_into_memory(run, source, staged)


def _folder_files(folder: Address, run: _Run | None = None) -> Iterable[tuple[str, Address]]:
    """The files under a folder, as (relative name, address). On disk, links and special
    entries are not files to load: each is left out (and said, through ``run``)."""
    if folder.backend == "memory":
        prefix = folder.path.rstrip("/") + "/"
        for key, value in sorted(_memory()._memory_store.items()):
            if key.startswith(prefix) and value is not None:
                yield key[len(prefix):], Address("memory", key)
        return
    for root, dirs, files in os.walk(folder.path):
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder.path)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            if stat.S_ISREG(mode):
                yield rel, Address("disk", path)
            elif run is not None and stat.S_ISLNK(mode):
                _leave_out(run, rel, "a symbolic link (memory cannot hold links)")
            elif run is not None and not stat.S_ISDIR(mode):
                _leave_out(run, rel, f"{special_kind(mode)} is not a file")


def _one_into_memory(run: _Run, source: Address, key: str) -> Generator[Progress, None, None]:
    memory = _memory()
    if source.backend in LOCAL and os.path.isdir(source.path):
        data = _zarr_array(source.path)[...]
    else:
        data = _load(source)
        if source.backend == "memory":
            data = copy.deepcopy(data)  # the copy must not be the source object
    memory.save(data, key)
    if not _same(memory.load(key), _load(source) if not os.path.isdir(source.path) else _zarr_array(source.path)[...]):
        raise TransferError(f"verification failed for memory:{key}")
    yield run.advance(int(getattr(data, "nbytes", 0) or 0))


def _memory_to_disk(run: _Run) -> Generator[Progress, None, None]:
    from polystore.backend_registry import get_backend_instance

    disk = get_backend_instance("disk")
    source, final = run.item.source, run.item.destination
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    if is_folder(source):
        os.mkdir(staged)
        pairs = [(Address("memory", key.path), os.path.join(staged, rel)) for rel, key in _folder_files(source)]
    else:
        pairs = [(source, staged)]
    for child, target in pairs:
        run.check()
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = _memory().load(child.path)
        # polystore picks the writer by extension; a bare array becomes .npy (numpy's).
        bare = not os.path.splitext(child.path)[1]
        ext_target = target + ".npy" if bare else target
        disk.save(data, ext_target)
        if bare:
            os.rename(ext_target, target)
        back = np.load(target, allow_pickle=False) if bare else disk.load(target)
        if not _same(back, data):
            raise TransferError(f"verification failed for {target}")
        yield run.advance(int(getattr(data, "nbytes", 0) or 0))


# -- arrays into zarr -------------------------------------------------------------------------------


def _zarr_array(path: str) -> Any:
    import zarr

    return zarr.open_array(path, mode="r")


def plane_chunks(shape: Sequence[int]) -> tuple[int, ...]:
    """One chunk per plane; planes above 4096 x 4096 in 2048 x 2048 tiles."""
    if len(shape) < 2:
        return tuple(int(s) for s in shape) or (1,)
    y, x = int(shape[-2]), int(shape[-1])
    if y * x > BIG_PLANE * BIG_PLANE:
        y, x = min(y, TILE), min(x, TILE)
    return (1,) * (len(shape) - 2) + (y, x)


def fit_chunks(asked: Sequence[int] | None, shape: Sequence[int]) -> tuple[int, ...]:
    """The chunk shape the user asked for, fitted to ``shape`` (its trailing axes; at most
    the shape, at least 1); per plane when nothing was asked."""
    if not asked:
        return plane_chunks(shape)
    asked = tuple(int(n) for n in asked)[-len(shape):] if shape else ()
    padded = (1,) * (len(shape) - len(asked)) + asked
    return tuple(max(1, min(int(c), int(s))) for c, s in zip(padded, shape))


def _slabs(shape: Sequence[int], chunks: Sequence[int]) -> Iterable[tuple[slice, ...]]:
    """Keys over the leading axes (all but the last two) in steps of whole chunks: each slab
    writes whole chunks once, and memory holds one slab (one plane when chunks are planes)."""
    lead = len(shape) - 2
    if lead <= 0:
        yield ()
        return
    steps = [range(0, int(shape[i]), int(chunks[i])) for i in range(lead)]
    for starts in np.ndindex(*[len(r) for r in steps]):
        yield tuple(slice(steps[i][k], min(steps[i][k] + int(chunks[i]), int(shape[i]))) for i, k in enumerate(starts))


def _open_source_array(source: Address) -> Any:
    """An array-like for ``source`` that reads lazily where it can (zarr, npy, tiff)."""
    if source.backend == "memory":
        return np.asarray(_memory().load(source.path))
    path = source.path
    if os.path.isdir(path):
        return _zarr_array(path)
    lower = path.lower()
    if lower.endswith(".npy"):
        return np.load(path, mmap_mode="r")
    if lower.endswith((".tif", ".tiff")):
        import tifffile

        try:
            return tifffile.memmap(path, mode="r")
        except ValueError:  # compressed or tiled: decoded whole
            return tifffile.imread(path)
    data = _load(source)
    if not isinstance(data, np.ndarray):
        raise TransferError(f"{source} is not an array: zarr takes arrays")
    return data


def _array_to_zarr(run: _Run) -> Generator[Progress, None, None]:
    import zarr

    source, final = run.item.source, run.item.destination
    array = _open_source_array(source)
    dtype = np.dtype(array.dtype)
    if dtype.kind not in "biufc" or dtype.fields is not None:
        raise TransferError(f"{source} holds {dtype}: zarr arrays written here hold numbers")
    shape = tuple(int(s) for s in array.shape)
    names = _tiff_dimension_names(source, shape)
    if names and _ome_destination(final.path):
        array, names = _in_ngff_order(run, array, names)
        shape = tuple(int(s) for s in array.shape)
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    chunks = fit_chunks(run.item.chunks, shape)
    group_format = _group_format(final.path)  # read once: the group's metadata is read for each call
    fmt = group_format or 3
    out = zarr.create_array(staged, shape=shape, chunks=chunks, dtype=dtype, zarr_format=fmt, fill_value=0,
                            **_dimension_names_for(names, fmt))
    if names:
        run.notes.append(f"dimension names {', '.join(names)} (the TIFF's axes)")
    for index in _slabs(shape, chunks):
        run.check()
        plane = np.asarray(array[index])
        out[index] = plane
        if not np.array_equal(out[index], plane, equal_nan=dtype.kind in "fc"):
            raise TransferError(f"verification failed for plane {index} of {final}")
        yield run.advance(plane.nbytes)
    in_group = " (the format of the group it is in)" if group_format else ""
    run.notes.append(f"written as a zarr v{fmt} array{in_group}, chunks {chunks}")


def _tiff_dimension_names(source: Address, shape: tuple[int, ...]) -> tuple[str, ...] | None:
    """A TIFF source's axes as dimension names (tifffile's series axes, 'CYX' → c, y, x),
    when they describe the array read from it; None for anything else."""
    if source.backend not in LOCAL or not is_tiff_name(source.path):
        return None
    try:
        facts = read_tiff_facts(source.path)
    except Exception:  # the copy itself says what is wrong with the file
        return None
    names = dimension_names(facts.axes)
    return names if facts.shape == shape and len(names) == len(shape) else None


def _ome_destination(path: str) -> bool:
    """Whether ``path`` goes into an OME-Zarr group (an image, plate, well, labels...)."""
    try:
        meta = read_node(os.path.dirname(os.path.abspath(path)))
    except (CorruptMetadataError, OSError):
        return False
    return meta is not None and meta.node_type == "group" and meta.is_ome_container


def _in_ngff_order(run: _Run, array: Any, names: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """A TIFF going into OME-Zarr: its axes in OME-NGFF's order and names (t, c, z, y, x;
    RGB samples are channels), the data transposed to match (a view: nothing read). Axes
    NGFF has no name for are kept as they are, and the notes say so."""
    layout = ngff_layout(names)
    if layout is None:
        run.notes.append(f"axes {', '.join(names)} are not OME-NGFF's (t, c, z, y, x): kept in the TIFF's order")
        return array, names
    order, ome_names = layout
    if order != tuple(range(len(order))):
        array = np.transpose(array, order)
        run.notes.append(f"axes put in OME-NGFF's order: {', '.join(names)} -> {', '.join(ome_names)}")
    return array, ome_names


def _dimension_names_for(names: tuple[str, ...] | None, zarr_format: int) -> dict[str, Any]:
    """``zarr.create_array`` keywords that keep ``names``: zarr 3's ``dimension_names``; in
    zarr v2, which has none, xarray's ``_ARRAY_DIMENSIONS`` attribute (read by xarray and
    by zarr-aware viewers)."""
    if not names:
        return {}
    if zarr_format == 3:
        return {"dimension_names": names}
    return {"attributes": {"_ARRAY_DIMENSIONS": list(names)}}


def _group_format(path: str) -> Literal[2, 3] | None:
    """The zarr format of the group that ``path`` goes into; None when its folder is no group.

    What the transfer writes itself (images, arrays, folders of images) takes the group's
    format: zarr-python lists no v3 member in a v2 group, nor v2 in v3.
    """
    try:
        meta = read_node(os.path.dirname(os.path.abspath(path)))
    except (CorruptMetadataError, OSError):
        return None
    if meta is None or meta.node_type != "group":
        return None
    return 2 if meta.zarr_format == 2 else 3


# -- a folder of images into zarr: a store polystore lists and loads ------------------------------

IMAGE_EXTENSIONS = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".npy")
PASS_THROUGH = (".json", ".csv", ".txt")  # polystore's zarr backend keeps these as plain files


def _polystore_codec() -> Any:
    """The compressor polystore's zarr backend writes by default (ZarrConfig: zlib, level 3)."""
    import numcodecs

    return numcodecs.Zlib(level=3)


def _write_polystore_array(path: str, source: str, cancelled: Callable[[], bool],
                           chunk_shape: tuple[int, ...] | None = None, zarr_format: Literal[2, 3] = 2) -> int:
    """One image file as a zarr array at ``path`` (v2 as polystore writes it, unless the group
    it goes into is v3), chunked per plane; compared; its bytes."""
    import zarr

    array = _open_source_array(Address("disk", source))
    dtype = np.dtype(array.dtype)
    shape = tuple(int(n) for n in array.shape)
    layout: dict[str, Any] = _dimension_names_for(_tiff_dimension_names(Address("disk", source), shape), zarr_format)
    if zarr_format == 2:
        layout.update(compressors=_polystore_codec(), chunk_key_encoding={"name": "v2", "separator": "/"})
    out = zarr.create_array(
        path, shape=shape, chunks=fit_chunks(chunk_shape, shape), dtype=dtype, zarr_format=zarr_format,
        fill_value=0, **layout,
    )
    nbytes = 0
    for index in _slabs(shape, fit_chunks(chunk_shape, shape)):
        if cancelled():
            raise Cancelled("cancelled")
        plane = np.asarray(array[index])
        out[index] = plane
        if not np.array_equal(out[index], plane, equal_nan=dtype.kind in "fc"):
            raise TransferError(f"verification failed for plane {index} of {path}")
        nbytes += plane.nbytes
    return nbytes


def _folder_to_zarr(run: _Run) -> Generator[Progress, None, None]:
    """A folder of images into a zarr group: one array per image, keyed by its file name.

    This is the layout polystore's zarr backend writes with ``save`` (zarr v2, zlib level
    3, keys like ``A01.tif``), so polystore lists it (``list_dir``) and loads each image by
    its file name; arrays are chunked per plane rather than polystore's one chunk per
    array. JSON, CSV and text files are kept as plain files, as polystore does.
    """
    import zarr

    source, final = run.item.source, run.item.destination
    if os.path.splitext(final.path)[1]:
        raise TransferError(f"{final}: polystore reads a zarr store whose name has no extension "
                            f"(it takes {os.path.basename(final.path)!r} for a key); rename the folder first")
    staged = _partial_name(final.path)
    run.staged = staged
    run.temporaries.append(Address("disk", staged))
    fmt = _group_format(final.path) or 2
    zarr.open_group(staged, mode="w", zarr_format=fmt)
    if fmt != 2:
        run.notes.append(f"written as a zarr v{fmt} group (the format of the group it is in), "
                         "not polystore's v2 layout")
    names = sorted(os.listdir(source.path))
    skipped = []
    pending: set[Any] = set()
    with ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="zarr-write") as pool:
        for name in names:
            path = os.path.join(source.path, name)
            lower = name.lower()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                _leave_out(run, name, "a symbolic link (zarr cannot hold links)")
                continue
            if kind := special_kind(mode):
                _leave_out(run, name, f"{kind} is not a file")
                continue
            if stat.S_ISDIR(mode) or not lower.endswith(IMAGE_EXTENSIONS + PASS_THROUGH):
                skipped.append(name)
                run.left_out.append(f"{name}: neither an image nor a table")  # a move keeps the source
                continue
            target = os.path.join(staged, name)
            if lower.endswith(PASS_THROUGH):
                pending.add(pool.submit(_copy_verify, path, target, run.cancelled))
            else:
                pending.add(pool.submit(_write_polystore_array, target, path, run.cancelled, run.item.chunks, fmt))
            while len(pending) >= 2 * COPY_THREADS:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield run.advance(future.result())
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield run.advance(future.result())
    run.check()
    _flush(staged)
    if skipped:
        run.notes.append(f"left out {len(skipped)} entries that are neither images nor tables: {', '.join(skipped[:5])}")
