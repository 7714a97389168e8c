"""What a local directory entry is, asked before it is opened: files, links and the rest.

A transfer must know an entry's type from ``lstat`` before it touches its contents:
opening a FIFO for reading blocks until a writer comes (``cp`` hung, deaf to SIGTERM),
a device can be endless, and following a link copies or deletes what it points to.
Files are opened with ``O_NONBLOCK | O_NOFOLLOW`` and checked again with ``fstat`` on the
open descriptor, so an entry swapped for a FIFO or a link after the ``lstat`` is refused
too. Links are copied as links (as ``cp -a`` and ``rsync -a`` do): their target text is
kept, and an absolute target inside the copied tree is pointed at the same place inside
the copy.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from . import safe_files

_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotAFile(OSError):
    """An entry that is not a regular file where one was to be read; the text is for the user."""


def inside(child: str, parent: str) -> bool:
    """True when the local path ``child`` is ``parent`` or lies under it (spelling only:
    links are not resolved here; pass ``identity``'s answers to see through them)."""
    child, parent = os.path.abspath(child), os.path.abspath(parent)
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def identity(path: str) -> str:
    """Where an entry really is: its folder with every link resolved, its own name kept
    (an entry that is a link is the link, not what it points to)."""
    path = os.path.abspath(path.rstrip("/") or "/")
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def special_kind(mode: int) -> str | None:
    """"a FIFO", "a socket", … for what is neither a file, a folder nor a link; else None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return None
    for test, name in _SPECIAL:
        if test(mode):
            return name
    return "not a regular file"


def special_entry(path: str) -> str | None:
    """``special_kind`` of ``path`` itself (a link is not followed); None when it is missing."""
    try:
        return special_kind(os.lstat(path).st_mode)
    except OSError:
        return None


def open_regular(path: str) -> BinaryIO:
    """``path`` opened for reading only if it is a regular file (never a FIFO, socket,
    device or link, even one swapped in after it was listed): ``safe_files.open_regular``
    with links refused, its refusal worded for a transfer's report as NotAFile."""
    try:
        return safe_files.open_regular(path, follow_links=False)
    except safe_files.NotRegularFileError as exc:
        if stat.S_ISLNK(exc.mode):
            raise NotAFile(f"{path} is a link, not a file") from exc
        kind = "a folder" if stat.S_ISDIR(exc.mode) else special_kind(exc.mode)
        raise NotAFile(f"{path}: {kind} is not a file") from exc


def copied_link_target(link: str, source_root: str, final_root: str) -> str:
    """The target text a copy of ``link`` (inside the tree ``source_root``) gets in the copy
    placed at ``final_root``: the same text, except that an absolute target inside the source
    tree points at the same place inside the copy (a relative one already does)."""
    text = os.readlink(link)
    if not os.path.isabs(text):
        return text
    for root in {os.path.abspath(source_root), os.path.realpath(source_root)}:
        norm = os.path.normpath(text)
        if norm == root or norm.startswith(root.rstrip("/") + "/"):
            return os.path.abspath(final_root) + norm[len(root):]
    return text


def copy_link(target: str, text: str) -> None:
    """Make ``target`` a link holding ``text``, and verify it holds exactly that."""
    os.symlink(text, target)
    if os.readlink(target) != text:
        raise NotAFile(f"verification failed: the link {target} does not hold {text!r}")
