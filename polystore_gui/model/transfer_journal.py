"""Who is writing what: the journal that lets an interrupted transfer be found and finished.

Every transfer onto this machine's disk writes a small record in the user's state folder
(``$XDG_STATE_HOME/polystore-gui/transfers``) before it writes anything else, updates it
as it goes (``copying`` → ``deleting source`` for a move) and removes it when it ends.
Each record is fsynced, with its folder, before the step it announces: it survives a
power cut. A record left behind names a writer that was killed (``kill -9``, a crash):
the next ``cp`` or the next start of the window reads it, removes the unfinished copy, and
finishes or reports the move it was in the middle of.

A writer is named by its PID *and* the time its process started (``/proc/PID/stat``), so
a PID reused by a later process is never taken for the writer still at work. The same
pair is written into the names of partial copies (see ``transfers.staging._partial_name``).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs


def process_start(pid: int) -> int:
    """When process ``pid`` started (clock ticks since boot; 0 when unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
        # The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
        return int(raw[raw.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


MY_START = process_start(os.getpid())


def writer_alive(pid: int, start: int | None) -> bool:
    """True when process ``pid`` runs and (when ``start`` is known) is the one that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is None or start == 0:
        return True
    now = process_start(pid)
    return now == 0 or now == start


def journal_dir() -> Path:
    return platformdirs.user_state_path("polystore-gui") / "transfers"


@dataclass(frozen=True)
class Record:
    """One transfer in progress, as written to the journal."""

    pid: int
    start: int
    source: str  # "backend:path"
    destination: str
    move: bool
    phase: str  # "copying", "deleting source"
    aside: str | None = None  # where the source of a move was renamed before it is deleted
    staged: str | None = None  # the hidden folder a tree is being copied into (``cp --resume`` takes it up)
    path: str = ""  # the record's own file (not written)

    @property
    def alive(self) -> bool:
        return writer_alive(self.pid, self.start)


def begin(source: str, destination: str, move: bool) -> Record:
    """Write the record of a transfer that starts now (before it writes anything)."""
    folder = journal_dir()
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        _sync_folder(folder.parent)  # the journal's own folder name, on disk before its first record
    path = folder / f"{os.getpid()}-{MY_START}-{uuid.uuid4().hex[:8]}.json"
    record = Record(os.getpid(), MY_START, source, destination, move, "copying", path=str(path))
    _write(record)
    return record


def mark(record: Record, phase: str, aside: str | None = None, *, staged: str | None = None) -> Record:
    """The record in its next phase, written (atomically) before that phase begins; ``staged``
    (kept from ``record`` when not given) names the hidden folder the copy is written into."""
    updated = replace(record, phase=phase, aside=aside, staged=staged if staged is not None else record.staged)
    _write(updated)
    return updated


def end(record: Record) -> None:
    try:
        os.unlink(record.path)
    except OSError:
        pass


def _write(record: Record) -> None:
    data = {k: v for k, v in asdict(record).items() if k != "path"}
    temp = f"{record.path}.{uuid.uuid4().hex[:6]}.tmp"
    # A record must outlive a crash or a power cut, not only its process: its bytes are
    # fsynced before it takes its name, and the folder after, so that the name is on disk
    # too. (Without this a power cut could lose the record of a move that was deleting its
    # source, and nothing would say where the data went.)
    with open(temp, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, record.path)
    _sync_folder(Path(record.path).parent)


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that the names it holds (a record just renamed into place) are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def orphans() -> list[Record]:
    """Records whose writer is gone (oldest first); unreadable records are dropped."""
    folder = journal_dir()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found: list[Record] = []
    for name in names:
        path = folder / name
        if name.endswith(".tmp"):
            pid = int(name.split("-", 1)[0]) if name.split("-", 1)[0].isdigit() else 0
            if not pid or not writer_alive(pid, None):
                path.unlink(missing_ok=True)
            continue
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            record = Record(**data, path=str(path))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if not record.alive:
            found.append(record)
    return found
