"""A local folder's zarr node document read once for one selection: the preview and the
plate lookup share it.

Why: selecting a folder starts two jobs at once (qt/preview_panel.py): the generic preview
(``arrays.local_info``) and the plate lookup (``plate_read``). Both read the folder's zarr
document, so a plate's document (and a well's) was read twice per opening (issue 16: the
object reads a well).

The first of them to ask reads; one asking meanwhile waits for that read; one asking within
``SHARE_SECONDS`` after takes the same result, but only while the document's files are
unchanged (the same inode, size and modification time: ``os.stat``, not a read). A read
that failed is not shared (the other job reads and reports for itself). Only these two
callers use this module: every other read sees the files as they are.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field

from .zarr_nodes import V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, ZarrNodeMeta, read_node

SHARE_SECONDS = 1.0  # longer than the two jobs of one selection are apart
_WAIT_SECONDS = 10.0  # for the other job's read, before reading for itself
_KEPT = 16  # the most results kept (a selection needs one or two)

Identity = tuple[tuple[str, int, int, int], ...]


@dataclass(eq=False)
class _Slot:
    """One read of a folder's node, under way (``done`` not set) or finished."""

    identity: Identity
    at: float
    done: threading.Event = field(default_factory=threading.Event)
    meta: ZarrNodeMeta | None = None
    failed: bool = False


_lock = threading.Lock()
_slots: dict[str, _Slot] = {}


def _identity(directory: str) -> Identity:
    """The files ``read_node`` would read, each as (name, inode, size, modification time)."""
    found = []
    for name in (V3_META, V2_ATTRS, V2_GROUP, V2_ARRAY):
        try:
            st = os.stat(os.path.join(directory, name))
        except OSError:
            continue
        found.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


def _forget_old(now: float) -> None:
    for key in [k for k, s in _slots.items() if s.done.is_set() and now - s.at > SHARE_SECONDS]:
        del _slots[key]
    finished = [k for k, s in _slots.items() if s.done.is_set()]
    for key in finished[:max(0, len(_slots) - _KEPT)]:
        del _slots[key]


def shared_read_node(directory: str) -> ZarrNodeMeta | None:
    """``zarr_nodes.read_node(directory)``, shared with the other job of the same selection
    (see the module's docstring). Raises as read_node does.

    The folder is shared however it is spelled (the preview passes the listed path, the
    plate lookup an absolute one); the answer names it as this caller spelled it."""
    meta = _shared(directory)
    return meta if meta is None or meta.path == directory else dataclasses.replace(meta, path=directory)


def _shared(directory: str) -> ZarrNodeMeta | None:
    identity = _identity(directory)
    key = os.path.abspath(directory)
    with _lock:
        now = time.monotonic()
        _forget_old(now)
        slot = _slots.get(key)
        mine = slot is None or slot.identity != identity or (slot.done.is_set() and slot.failed)
        if mine:
            slot = _slots[key] = _Slot(identity, now)
    assert slot is not None
    if mine:
        try:
            slot.meta = read_node(directory)
        except BaseException:
            slot.failed = True
            raise
        finally:
            slot.done.set()
        return slot.meta
    if not slot.done.wait(_WAIT_SECONDS) or slot.failed:
        return read_node(directory)  # that read is stuck or failed: this job reads for itself
    return slot.meta
