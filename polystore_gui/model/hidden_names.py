"""Which names a listing hides while hidden files are hidden (View → Show Hidden Files).

Dot-names, as every file manager hides them; and polystore's lock files, as Finder and
Cyberduck hide the bookkeeping files of the tools they know. polystore takes an exclusive
``portalocker`` lock on a 0-byte file while it writes and never removes the file
(``polystore/atomic.py``: ``LockConfig.lock_path`` gives ``openhcs_metadata.json.lock``
for an atomic JSON write; ``polystore/zarr.py`` gives ``images.metadata.lock`` beside a
plate store ``images`` for its plate metadata). The file means something only to a process
holding its lock at that moment; no user reads, opens or copies it. Only those two
spellings are polystore's: another ``*.lock`` file (``Cargo.lock``, ``poetry.lock``) is a
project's content and always shows.
"""

from __future__ import annotations

# polystore's lock spellings: "<store>.metadata.lock" (zarr plate metadata) and
# "<file>.json.lock" (its atomic JSON writes, e.g. openhcs_metadata.json).
POLYSTORE_LOCK_SUFFIXES = (".metadata.lock", ".json.lock")


def is_polystore_lock(name: str) -> bool:
    """Whether a *file* named ``name`` is one of polystore's lock files."""
    return name.endswith(POLYSTORE_LOCK_SUFFIXES) and not name.startswith(POLYSTORE_LOCK_SUFFIXES)


def is_hidden_name(name: str, *, folder: bool = False) -> bool:
    """Whether an entry named ``name`` is hidden while hidden files are (``folder``: it is a
    folder, which polystore's locks never are)."""
    return name.startswith(".") or (not folder and is_polystore_lock(name))


def visible_names(names: list[str], *, folders: bool) -> list[str]:
    """``names`` without the hidden ones; the same list when none is (the common case, found
    with one search of the joined names: this runs on folders of millions of files)."""
    joined = "\0".join(names)
    dotted = joined.startswith(".") or "\0." in joined
    if not dotted and (folders or ".lock" not in joined):
        return names
    return [n for n in names if not is_hidden_name(n, folder=folders)]
