"""Running one planned item, and recovering after a run whose process was killed.

A run is journalled (``transfer_journal``), written aside by the writer for its kind (local
bytes, into zarr, into or out of memory), verified, put in place; the consolidated metadata
of the groups around it is written again; a move deletes its source last, and only when
every entry of it arrived.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator

from .. import zarr_consolidated
from .. import transfer_journal as journal
from ..address import Address
from .into_zarr import _array_to_zarr, _folder_to_zarr
from .items import PARTIAL, Cancelled, Item, Outcome, Progress, TransferError, _describe
from .local_copy import _copy_local
from .memory import _into_memory, _memory_to_disk
from .places import _is_zarr_node, _remove, _same_entry, _source_size, _store, in_process, is_local
from .staging import _partial_name, _Run, sweep_partials

def run_item(item: Item, *, cancelled: Callable[[], bool] = lambda: False) -> Generator[Progress, None, Outcome]:
    """Transfer one planned item; yields progress, returns its outcome (never raises)."""
    if item.error is not None:
        return Outcome(item, "failed", message=item.error)
    if item.skip_reason is not None:
        return Outcome(item, "skipped", message=item.skip_reason)
    run = _Run(item, cancelled)
    run.record = _journal_begin(item)
    if item.resume is not None:
        run.temporaries.append(Address("disk", item.resume))  # taken up by _copy_tree; removed on failure
    try:
        if not item.total:
            item.total = _source_size(item.source)
        if is_local(item.destination.backend):
            if is_local(item.source.backend) and _same_entry(item.source.path, item.destination.path):
                raise TransferError(f"{item.destination} is the source itself")  # a link changed since planning
            sweep_partials(os.path.dirname(item.destination.path.rstrip("/")))
        yield from _write(run)
        run.check()
        if item.resume is not None and run.staged != item.resume:  # the source is no longer a tree
            _remove(Address("disk", item.resume))
        _place(run)
        run.record = _journal_mark(run.record, "placed")
        _refresh_consolidated(run, item.destination, placed=True)
        if item.move and run.left_out:
            message = (f"copied; the source was kept: {len(run.left_out)} of its entries could not be copied "
                       f"({'; '.join(run.left_out[:3])}{'; …' if len(run.left_out) > 3 else ''})")
            return Outcome(item, "done", run.done, message=message, notes=run.notes, left_out=run.left_out)
        if item.move:
            _remove_source(item.source, run.record)
            _refresh_consolidated(run, item.source, placed=False)
        return Outcome(item, "done", run.done, notes=run.notes, left_out=run.left_out)
    except Cancelled:
        run.discard()
        return Outcome(item, "cancelled", run.done, message="cancelled: nothing was written")
    except Exception as exc:  # every failure is reported per item; the queue goes on
        run.discard()
        return Outcome(item, "failed", run.done, message=_describe(exc))
    finally:
        if run.record is not None:
            journal.end(run.record)


def _journal_begin(item: Item) -> journal.Record | None:
    """The journal record of a transfer onto this machine's disk (None when the journal
    cannot be written: the transfer still runs, as safely, but is not found after a kill)."""
    if not is_local(item.destination.backend):
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
    if is_local(source.backend) and os.path.isdir(source.path) and not os.path.islink(source.path):
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
    if not is_local(address.backend):
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


def writes_zarr(backend: str) -> bool:
    """Whether what goes into ``backend`` is written as zarr (polystore's zarr backend): arrays
    and images become zarr arrays, folders of images stores; zarr nodes are copied as stored.
    Every other local destination takes files byte for byte."""
    return backend == "zarr" and is_local(backend)


def _write(run: _Run) -> Generator[Progress, None, None]:
    """The writer for this item's kind of source and destination (asked of their adapters)."""
    source, final = run.item.source, run.item.destination
    source_local = is_local(source.backend)
    if writes_zarr(final.backend):
        if source_local and _is_zarr_node(source.path):
            yield from _copy_local(run, source.path, final.path)  # encoded bytes, as stored
        elif source_local and os.path.isdir(source.path):
            yield from _folder_to_zarr(run)
        else:
            yield from _array_to_zarr(run)
    elif is_local(final.backend) and source_local:
        yield from _copy_local(run, source.path, final.path)
    elif in_process(final.backend) and (source_local or in_process(source.backend)):
        yield from _into_memory(run)
    elif is_local(final.backend) and in_process(source.backend):
        yield from _memory_to_disk(run)
    else:
        raise TransferError(f"cannot copy from {source.backend} to {final.backend}")


def _place(run: _Run) -> None:
    """Put the verified temporary in place (replacing the old one only now, when asked)."""
    final = run.item.destination
    staged = run.staged
    if staged is None:
        return
    if not is_local(final.backend):
        store = _store(final.backend)
        if run.item.replace and store.exists(final.path):
            _remove(final)
        store.move(staged, final.path)
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
