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

What a backend can do is its adapter's answer (``model.backends.adapter_for(...).capabilities``:
``local`` paths are this machine's, ``writable``, ``volatile``, ``holds_links``), and whether
something exists, is a folder, or goes away is asked of the adapter too; the writer for an
item is chosen from those facts (``run._write``).

Where each part lives: ``items`` (the item, its outcome, conflicts, errors, shared
constants), ``places`` (what is at an address: exists, folder, size, same entry, remove),
``plan`` (planning, conflicts, free names, where a drop lands), ``staging`` (partial names,
the sweep, a run's state, ``settle``), ``run`` (``run_item``, the journal, recovery,
placing), ``local_copy`` (files and trees onto disk, verified), ``into_zarr`` (arrays,
TIFFs and folders of images into zarr groups), ``memory`` (into and out of polystore's
memory backend), ``delete`` (delete for good, consolidated refresh), ``resume`` (taking up
an interrupted copy: ``cp --resume``). Everything used
outside the package is imported here: ``from polystore_gui.model import transfers`` and
``transfers.plan`` keep working.
"""

from __future__ import annotations

import shutil  # ``transfers.shutil``: tests replace shutil.rmtree to kill a process mid-delete

from .delete import delete, refresh_consolidated
from .into_zarr import IMAGE_EXTENSIONS, PASS_THROUGH, fit_chunks, plane_chunks
from .items import (
    BLOCK,
    COPY_THREADS,
    PARTIAL,
    STORE_SUFFIXES,
    ZARR_METADATA,
    Cancelled,
    Conflict,
    Item,
    Outcome,
    Progress,
    Refusal,
    TransferError,
    volatile_move_warning,
)
from .places import exists, in_process, is_folder, is_local
from .plan import destination_refusal, landing, plan, rename_to
from .run import recover_interrupted, run_item, writes_zarr
from .resume import resume, take_up
from .staging import _partial_name, settle, sweep_partials

__all__ = [
    "BLOCK", "COPY_THREADS", "IMAGE_EXTENSIONS", "PARTIAL", "PASS_THROUGH", "STORE_SUFFIXES", "ZARR_METADATA",
    "Cancelled", "Conflict", "Item", "Outcome", "Progress", "Refusal", "TransferError", "_partial_name", "delete",
    "destination_refusal", "exists", "fit_chunks", "in_process", "is_folder", "is_local", "landing", "plan",
    "plane_chunks", "recover_interrupted", "refresh_consolidated", "rename_to", "resume", "run_item", "settle",
    "shutil", "sweep_partials", "take_up", "volatile_move_warning", "writes_zarr",
]
