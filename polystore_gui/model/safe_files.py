"""Opening files that may be hostile: regular files only, and reads with a cap.

A FIFO opened for reading blocks until a writer comes (for ever, usually); a character
device such as ``/dev/zero`` never ends; ``/proc`` files claim a size of 0 and fail on
read. So every file this application reads by name goes through here: its type is
checked first (a FIFO, socket or device is never opened), it is opened with
``O_NONBLOCK`` (in case the name was swapped for a FIFO since the check) and checked
again on the open descriptor, and metadata reads stop at a cap instead of reading a
3 GiB sparse ``zarr.json`` into memory.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
from typing import BinaryIO

# Metadata documents (zarr.json, .zarray, .zattrs, .zgroup) above this are refused: real
# ones are kilobytes, the largest OME plates' a few megabytes.
MAX_METADATA_BYTES = 64 << 20

# The deepest nesting of JSON metadata accepted (real metadata nests a handful of levels);
# deeper documents are refused before anything walks them recursively.
MAX_JSON_DEPTH = 200


class NotRegularFileError(OSError):
    """The path is a FIFO, socket, device or folder where a file was expected; never opened.

    ``mode`` is the stat mode of what was found (``S_IFLNK`` for a link refused by
    ``open_regular(..., follow_links=False)``), so callers can word their own message.
    """

    mode: int = 0


class FileTooLargeError(OSError):
    """A capped read found more bytes than the cap."""


def file_type_text(mode: int) -> str:
    """What kind of thing a stat mode is, for people."""
    if stat_module.S_ISREG(mode):
        return "regular file"
    if stat_module.S_ISDIR(mode):
        return "folder"
    if stat_module.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat_module.S_ISSOCK(mode):
        return "socket"
    if stat_module.S_ISCHR(mode):
        return "character device"
    if stat_module.S_ISBLK(mode):
        return "block device"
    if stat_module.S_ISLNK(mode):
        return "symbolic link"
    return "special file"


def _refuse(mode: int, path: str) -> NotRegularFileError:
    what = file_type_text(mode)
    article = "an" if what[0] in "aeiou" else "a"
    error = NotRegularFileError(errno.EINVAL, f"{article} {what}, not a regular file: not read", path)
    error.mode = mode
    return error


def check_regular(path: str) -> os.stat_result:
    """``stat`` of ``path`` (links followed); raises NotRegularFileError unless it is a
    regular file, OSError when it cannot be looked at. Nothing is opened."""
    st = os.stat(path)
    if not stat_module.S_ISREG(st.st_mode):
        raise _refuse(st.st_mode, path)
    return st


def open_regular(path: str, *, follow_links: bool = True) -> BinaryIO:
    """``path`` opened for reading in binary, only if it is a regular file.

    The type is checked before opening (a FIFO or device is never opened), then the file
    is opened non-blocking and checked again on the descriptor, in case the name now
    means something else. Readers follow links (``follow_links=True``); transfers pass
    ``follow_links=False`` so that a link, even one swapped in after the listing, is
    refused (``O_NOFOLLOW``) rather than copied as what it points to. Raises
    NotRegularFileError or OSError.
    """
    mode = (os.stat(path) if follow_links else os.lstat(path)).st_mode
    if not stat_module.S_ISREG(mode):
        raise _refuse(mode, path)
    opener = _nonblocking_regular if follow_links else _nonblocking_regular_no_links
    return open(path, "rb", opener=opener)  # a file object named by its path (tifffile wants one)


def _nonblocking_regular_no_links(path: str, flags: int) -> int:
    try:
        return _nonblocking_regular(path, flags | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not isinstance(exc, NotRegularFileError):
            raise _refuse(stat_module.S_IFLNK, path) from exc
        raise


def _nonblocking_regular(path: str, flags: int) -> int:
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode):
            raise _refuse(st.st_mode, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_capped(path: str, cap: int = MAX_METADATA_BYTES) -> bytes:
    """The bytes of the regular file ``path``; FileTooLargeError when it holds more than ``cap``.

    At most ``cap + 1`` bytes are read, whatever the file claims its size is (``/proc``
    files claim 0; a sparse file can claim terabytes).
    """
    with open_regular(path) as fh:
        raw = fh.read(cap + 1)
    if len(raw) > cap:
        raise FileTooLargeError(errno.EFBIG, f"larger than {cap >> 20} MiB: not read", path)
    return raw


def json_depth_exceeds(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``value`` (parsed JSON) nests deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
