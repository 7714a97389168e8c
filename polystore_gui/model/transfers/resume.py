"""Taking up an interrupted copy (``cp --resume``) instead of starting it again.

A tree copied onto disk names its hidden folder in its journal record (``_Run.stage``).
When that writer was killed, ``take_up`` finds the record of a copy of the same source to
the same destination, renames its hidden folder to a partial name of this process (so no
sweep removes it while it is taken up) and ends the record; ``resume`` gives the folder to
the planned item, whose copy then keeps every file already there whose bytes equal the
source's and copies the rest (``local_copy._copy_tree``). Nothing is trusted unread: every
kept file is compared with its source in full.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .. import transfer_journal as journal
from ..address import Address
from .items import Item
from .places import _basename, _join, _remove
from .staging import _partial_name


def take_up(sources: Sequence[Address], destination: Address) -> dict[tuple[str, str], str]:
    """The hidden folders that killed copies of ``sources`` into ``destination`` left, now
    this process's own, by (source, final destination) as their records name them. Call it
    before ``recover_interrupted`` (which would remove them)."""
    wanted = {(str(s), str(Address(destination.backend, _join(destination.path, _basename(s.path)))))
              for s in sources}
    taken: dict[tuple[str, str], str] = {}
    for record in journal.orphans():
        key = (record.source, record.destination)
        staged = record.staged
        if (key not in wanted or key in taken or record.phase != "copying" or staged is None
                or not os.path.isdir(staged) or os.path.islink(staged)):
            continue
        mine = _partial_name(record.destination.split(":", 1)[-1])
        try:
            os.rename(staged, mine)  # one step: another process taking it up too fails here
        except OSError:
            continue
        journal.end(record)
        taken[key] = mine
    return taken


def resume(items: Sequence[Item], taken: dict[tuple[str, str], str]) -> list[str]:
    """Give each planned item the hidden folder taken up for it; the folders no item can use
    (the item was refused, skipped, or goes elsewhere) are removed. Messages for the user."""
    left = dict(taken)
    messages: list[str] = []
    for item in items:
        path = left.pop((str(item.source), str(item.destination)), None)
        if path is None:
            continue
        if item.runnable and not item.replace:
            item.resume = path
            messages.append(f"resuming the interrupted copy of {item.source} to {item.destination}")
        else:
            _remove(Address("disk", path))
    for (source, destination), path in left.items():
        _remove(Address("disk", path))
        messages.append(f"the interrupted copy of {source} to {destination} was not taken up: removed")
    return messages
