"""What can name an entry in a folder: Rename and a copy's "rename" answer check a new name here.

Kept apart from :mod:`.rename` (which imports the transfer engine for its partial-name
suffix) so that the transfer engine can check a name without importing rename back.
"""

from __future__ import annotations

import os


class RenameError(ValueError):
    """The rename was refused or failed; the message is for the user."""


def check_name(name: str) -> str:
    """``name`` if it can name an entry in a folder, else RenameError saying why."""
    if not name or not name.strip():
        raise RenameError("a name cannot be empty")
    if name in (".", ".."):
        raise RenameError(f"{name!r} is not a name an entry can have")
    if "/" in name or "\0" in name:
        raise RenameError(f"{name!r}: a name cannot hold '/' (renaming never moves an entry to another folder)")
    if name != name.strip():
        raise RenameError(f"{name!r} starts or ends with spaces: take them out, or they are hard to type again")
    if len(os.fsencode(name)) > 255:
        raise RenameError("that name is longer than 255 bytes")
    return name
