"""What Delete does: to the desktop trash where there is one, never through a link.

The trash is the freedesktop.org Trash specification (1.0), the part a file manager needs
to put things in it: the home trash ``$XDG_DATA_HOME/Trash`` (``~/.local/share/Trash``)
for what lives on the home trash's file system, else the volume's ``$topdir/.Trash/$uid``
(when ``.Trash`` is a sticky folder, not a link) or ``$topdir/.Trash-$uid``. An entry goes
in by one ``rename`` into ``files/``, after its ``info/NAME.trashinfo`` (original path,
deletion date) reserved the name with ``O_EXCL``; GNOME Files, Dolphin and ``gio trash``
list and restore it. It is written here (some 100 lines) rather than taken from Send2Trash:
that package is not installed here, and Delete must never follow a link, which is easier
to guarantee in code we hold (Send2Trash's own checks differ between versions).

Delete never follows a link: a link is trashed or deleted as the link itself, and an entry
reached through a link that leads out of the listed root (``root/link/f`` with ``link``
pointing elsewhere) is refused. Where there is no trash (another volume without a usable
trash folder, the ``memory`` backend) deletion is permanent, and the window says so and
asks before.
"""

from __future__ import annotations

import os
import stat
import time
import urllib.parse
from dataclasses import dataclass

from .address import Address
from .local_entries import identity as _identity, inside as _inside


class DeleteError(RuntimeError):
    """An entry that was not deleted; the text is for the user."""


@dataclass(frozen=True)
class DeletePlan:
    """What Delete will do with one entry: to ``trash`` (a trash folder), or for good (None)."""

    address: Address
    trash: str | None
    error: str | None = None

    @property
    def permanent(self) -> bool:
        return self.error is None and self.trash is None


def home_trash() -> str:
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data, "Trash")


def _device(path: str) -> int | None:
    """The device of ``path``, or of its nearest existing parent (the trash may not exist yet)."""
    while True:
        try:
            return os.stat(path).st_dev
        except OSError:
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent


def _top_dir(path: str) -> str:
    """The mount point of the file system holding ``path`` (a folder)."""
    dev = os.lstat(path).st_dev
    while path != "/":
        parent = os.path.dirname(path)
        if os.lstat(parent).st_dev != dev:
            break
        path = parent
    return path


def trash_for(path: str, *, create: bool = False) -> str | None:
    """The trash folder an entry at ``path`` goes to; None when its volume has none usable."""
    real = _identity(path)
    try:
        dev = os.lstat(real).st_dev
    except OSError:
        return None
    home = home_trash()
    if _device(home) == dev:
        if create:
            os.makedirs(home, mode=0o700, exist_ok=True)
        return home
    top = _top_dir(os.path.dirname(real))
    uid = str(os.getuid())
    shared = os.path.join(top, ".Trash")
    try:
        info = os.lstat(shared)
        if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
            mine = os.path.join(shared, uid)
            if create:
                os.makedirs(mine, mode=0o700, exist_ok=True)
            if create or os.path.isdir(mine) or os.access(shared, os.W_OK):
                return mine
    except OSError:
        pass
    own = os.path.join(top, f".Trash-{uid}")
    try:
        info = os.lstat(own)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            return own
        return None  # a file, a link or someone else's: not ours to use
    except FileNotFoundError:
        if not os.access(top, os.W_OK):
            return None
        if create:
            os.mkdir(own, 0o700)
        return own
    except OSError:
        return None


def plan_delete(address: Address, root: str | None) -> DeletePlan:
    """What Delete does with ``address``, listed under the folder ``root`` (None: not known)."""
    from .backends import adapter_for

    adapter = adapter_for(address.backend, address.path)
    if not adapter.capabilities.local:  # no trash there: for good, if the user agrees
        if not adapter.capabilities.writable:
            return DeletePlan(address, None, f"{address}: {adapter.name} is read-only here: not deleted")
        return DeletePlan(address, None)
    path = address.path
    if not os.path.lexists(path):
        return DeletePlan(address, None, f"{path} no longer exists")
    if root is not None:
        real_root = os.path.realpath(root)
        if not _inside(_identity(path), real_root) or os.path.abspath(path) == os.path.abspath(root):
            return DeletePlan(address, None, f"{path} is reached through a link that leads out of {root}: not deleted")
    return DeletePlan(address, trash_for(path))


def move_to_trash(path: str, trash: str) -> str:
    """Put ``path`` (a link as the link) in ``trash``; the name it has there."""
    files, info = os.path.join(trash, "files"), os.path.join(trash, "info")
    os.makedirs(files, mode=0o700, exist_ok=True)
    os.makedirs(info, mode=0o700, exist_ok=True)
    real = _identity(path)
    top = os.path.dirname(trash) if os.path.basename(trash).startswith(".Trash-") else None
    shown = os.path.relpath(real, top) if top and _inside(real, top) else real
    text = ("[Trash Info]\nPath=" + urllib.parse.quote(os.fsencode(shown), safe="/") + "\nDeletionDate="
            + time.strftime("%Y-%m-%dT%H:%M:%S") + "\n").encode()
    base = os.path.basename(real)
    stem, ext = os.path.splitext(base)
    for n in range(1, 10_000):
        name = base if n == 1 else f"{stem}.{n}{ext}"
        info_path = os.path.join(info, name + ".trashinfo")
        try:
            fd = os.open(info_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            os.write(fd, text)
        finally:
            os.close(fd)
        if os.path.lexists(os.path.join(files, name)):
            os.unlink(info_path)
            continue
        try:
            os.rename(real, os.path.join(files, name))
        except BaseException:
            os.unlink(info_path)
            raise
        return name
    raise DeleteError(f"no free name for {base} in the trash")


def delete(plan: DeletePlan, *, permanently: bool = False) -> str:
    """Carry out ``plan``: to the trash, or for good when it has none and ``permanently``
    was agreed. Returns what was done, for the user; raises DeleteError. A zarr group's
    consolidated metadata is written again either way, so zarr no longer lists the entry."""
    from . import transfers

    if plan.error is not None:
        raise DeleteError(plan.error)
    address = plan.address
    if plan.trash is not None:
        try:
            trash = trash_for(address.path, create=True) or plan.trash
            move_to_trash(address.path, trash)
        except OSError as exc:
            raise DeleteError(f"{address.path} could not go to the trash ({exc.strerror or exc}): not deleted") from exc
        try:
            transfers.refresh_consolidated(address)
        except transfers.TransferError as exc:
            raise DeleteError(f"{address.path} moved to the trash, but {exc}") from exc
        return f"{address.path} moved to the trash"
    if not permanently:
        raise DeleteError(f"{address} has no trash: not deleted")
    try:
        transfers.delete(address)  # removes, then writes the consolidated metadata again
    except transfers.TransferError as exc:
        raise DeleteError(str(exc)) from exc
    from .backends import adapter_for

    local = adapter_for(address.backend, address.path).capabilities.local
    return f"{address.path} deleted for good" if local else f"{address} deleted"
