"""A large object received from a remote store written to a new file past the page cache
(``O_DIRECT``) and read back from the disk, compared with the bytes received.

Why (issue 17, the 1 GiB S3 → disk copy): writing into new page-cache pages was the
largest CPU cost of the copy on the benchmark's machine (1.1-2.0 s a GiB, unsteady),
more than the MD5 that S3's ETag is checked with (1.4 s); with the server on the same
two cores the copy is bound by CPU, and the direct write costs 0.2 s a GiB. The read-back
then reads what the disk holds, not the page cache's copy of it.

Only on local disk file systems known to take direct I/O (ext4, XFS), only for objects of
:data:`DIRECT_FROM` bytes and more; elsewhere (tmpfs, network and FUSE file systems, other
systems than Linux) and whenever the system refuses direct I/O, the caller writes through
the page cache as before. The data goes through a page-aligned buffer (:data:`BLOCK`
bytes) taken from a small shared set for the time of one object: memory stays flat
whatever the object's size, and bounded whatever the number of writing threads (a copy's
threads live on in zarr's event-loop executor): at most :data:`KEEP` idle buffers are kept
between objects, and :func:`release_buffers` (at the end of a copy) lets them all go.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import sys
import threading
from collections.abc import Iterator

DIRECT_FROM = 1 << 20  # smaller objects (metadata, small chunks) go through the page cache
BLOCK = 4 << 20  # bytes written or read back at a time through the aligned buffer
ALIGN = 4096  # offsets, lengths and the buffer's address: a multiple of any usual logical block
# statfs(2) f_type of the file systems taken: ext4 (also ext2/3's magic) and XFS
_DIRECT_FILE_SYSTEMS = {0xEF53, 0x58465342}
KEEP = 4  # idle buffers kept for the next objects (a copy's writes at once, on a few cores)
_IDLE: list[tuple[bytearray, int]] = []
_IDLE_LOCK = threading.Lock()


class DirectMismatch(Exception):
    """The file read back from the disk is not the bytes received."""


def direct_possible(folder: str) -> bool:
    """Whether files under ``folder`` are written past the page cache (see the module)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "O_DIRECT"):  # statfs's layout is Linux's
        return False
    return _file_system_type(os.path.realpath(folder)) in _DIRECT_FILE_SYSTEMS


@functools.lru_cache(maxsize=64)
def _file_system_type(folder: str) -> int | None:
    """statfs(2)'s ``f_type`` of ``folder`` (its first field, a C long), None when unknown."""
    try:
        statfs = ctypes.CDLL(None, use_errno=True).statfs
    except (OSError, AttributeError):
        return None
    buffer = ctypes.create_string_buffer(512)  # struct statfs is 120 bytes on 64-bit Linux
    if statfs(os.fsencode(folder), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


@contextlib.contextmanager
def _aligned_buffer() -> Iterator[tuple[bytearray, int]]:
    """A buffer of :data:`BLOCK` aligned bytes for the time of the ``with``: (the buffer, the
    offset in it where :data:`ALIGN`-aligned memory starts); an idle one when there is one
    (no new pages to fault in), kept for the next object afterwards unless :data:`KEEP` are."""
    with _IDLE_LOCK:
        found = _IDLE.pop() if _IDLE else None
    if found is None:
        raw = bytearray(BLOCK + ALIGN)
        address = ctypes.addressof((ctypes.c_char * len(raw)).from_buffer(raw))
        found = (raw, (-address) % ALIGN)
    try:
        yield found
    finally:
        with _IDLE_LOCK:
            if len(_IDLE) < KEEP:
                _IDLE.append(found)


def release_buffers() -> None:
    """Let the idle buffers go (a copy ended: nothing kept for the process's life)."""
    with _IDLE_LOCK:
        _IDLE.clear()


def write_direct_checked(path: str, view: memoryview) -> bool:
    """Write ``view`` (bytes, format 'B') to the new file ``path`` with direct I/O and
    compare it, read back from the disk, with ``view``. False, with no file left at
    ``path``, when the system refuses direct I/O here (the caller then writes it as usual);
    raises DirectMismatch when the file does not hold ``view``."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_DIRECT, 0o666)
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # the file system takes no direct I/O
            return False
        raise
    try:
        try:
            _write_blocks(fd, view)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # alignment the device does not take: write it as usual
                raise
            os.close(fd)
            fd = -1
            os.unlink(path)
            return False
        same = _holds_exactly(fd, view)
    finally:
        if fd >= 0:
            os.close(fd)
    if not same:
        raise DirectMismatch(path)
    return True


def _write_blocks(fd: int, view: memoryview) -> None:
    """``view`` into ``fd`` block by block through the aligned buffer; the last block is
    padded to :data:`ALIGN` and the file cut back to the exact size."""
    with _aligned_buffer() as (raw, start):
        buffer = memoryview(raw)[start:start + BLOCK]
        for offset, n, padded in _blocks(len(view)):
            buffer[:n] = view[offset:offset + n]
            if padded != n:
                buffer[n:padded] = bytes(padded - n)
            done = 0
            while done < padded:
                done += os.pwrite(fd, buffer[done:padded], offset + done)
    if len(view) % ALIGN:
        os.ftruncate(fd, len(view))


def _blocks(size: int) -> list[tuple[int, int, int]]:
    """(offset, bytes, bytes padded to whole :data:`ALIGN` blocks) of each :data:`BLOCK`
    of a file of ``size`` bytes: direct I/O asks whole aligned blocks."""
    return [(offset, min(BLOCK, size - offset), -(-min(BLOCK, size - offset) // ALIGN) * ALIGN)
            for offset in range(0, size, BLOCK)]


def _holds_exactly(fd: int, view: memoryview) -> bool:
    """Whether ``fd`` holds ``view`` and nothing more, read back block by block (direct
    reads: from the disk) and compared with memcmp."""
    if os.fstat(fd).st_size != len(view):
        return False
    with _aligned_buffer() as (raw, start):
        buffer = memoryview(raw)[start:start + BLOCK]
        for offset, expected, want in _blocks(len(view)):
            got = 0
            while got < expected:  # the size was checked: a short read is one at an aligned end
                n = os.preadv(fd, [buffer[got:want]], offset + got)
                if n == 0:
                    break
                got += n
            # bytearray.startswith(view, start) compares with one memcmp
            if got != expected or not raw.startswith(view[offset:offset + expected], start):
                return False
    return True
