"""One regular file of a folder or store copied into place and verified, byte for byte.

The bytes go from the source to the copy inside the kernel (``copy_file_range``, as
``cp`` does; ``read``/``write`` where the file systems cannot), the kernel is asked at
once to start writing the copy to disk (``sync_file_range``: the folder's one flush at
the end then finds little left to write), and the source and the copy are read back,
block by block, into two buffers that each copy thread keeps, and compared. A file under
1 MiB (a 32 KiB chunk) is read once into the buffer, written from it, read back and
compared with the bytes in hand, and left to the flush.

Why this shape (issue 15, the 1 GiB store of 4 MiB chunks): writing each file from a
fresh Python buffer and reading it back into another cost 1.1-2.8 s against ``cp``'s
0.5 s on this machine, swinging from run to run (``write`` into new page-cache pages
through Python was the slow, unsteady step; the read-back was never slowed by the
write-back, which had not begun before the flush), and the flush of the whole GiB came
only after the last file.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import threading
from collections.abc import Callable

from ..local_entries import open_regular
from .items import BLOCK, Cancelled, TransferError

# copy_file_range refuses these when the two files cannot be copied in the kernel
# (another file system, an old kernel, a special file system): read and write instead.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTSUP}
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writing the dirty range, do not wait
# Below this a file goes through the buffer and is left to the flush: for 32 KiB chunks one
# write-back started per file, and copy_file_range's setup, cost more than the bytes.
_KERNEL_FROM = 1 << 20
_THREAD = threading.local()  # each copy thread's two comparison buffers


def _start_writeback(fd: int) -> None:
    """Ask the kernel to start writing ``fd``'s dirty pages to disk now, without waiting
    (Linux's ``sync_file_range``; nothing elsewhere). Durability still comes from the
    folder's flush before its rename: this only moves the disk's work earlier."""
    call = _sync_file_range()
    if call is not None:
        call(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # a failure only leaves the work to the flush


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _buffers(size: int) -> tuple[bytearray, bytearray]:
    """This thread's two comparison buffers, at least ``size`` bytes (at most a block) each:
    kept between files, so that no file costs a fresh allocation of its size."""
    pair: tuple[bytearray, bytearray] | None = getattr(_THREAD, "pair", None)
    want = min(max(size, 1 << 16), BLOCK)
    if pair is None or len(pair[0]) < want:
        pair = (bytearray(want), bytearray(want))
        _THREAD.pair = pair
    return pair


def _read_full(fd: int, buffer: bytearray, offset: int) -> int:
    """Fill ``buffer`` from ``fd`` at ``offset``; the bytes read (fewer only at the end)."""
    view = memoryview(buffer)
    got = 0
    while got < len(buffer):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n == 0:
            break
        got += n
    return got


def _same_bytes(source_fd: int, copy_fd: int, size: int, cancelled: Callable[[], bool]) -> bool:
    """Whether the two files hold the same bytes, read from both in blocks and compared."""
    a, b = _buffers(size + 1)
    offset = 0
    while True:
        if cancelled():
            raise Cancelled("cancelled")
        n, m = _read_full(source_fd, a, offset), _read_full(copy_fd, b, offset)
        if n != m or not a.startswith(memoryview(b)[:n]):  # startswith: one memcmp of n bytes
            return False
        if n < len(a):
            return True
        offset += n


def _kernel_copy(source_fd: int, copy_fd: int, offset: int) -> int:
    """Up to one block from ``source_fd`` to ``copy_fd`` at ``offset`` inside the kernel."""
    return os.copy_file_range(source_fd, copy_fd, BLOCK, offset, offset)


def _buffered_copy(source_fd: int, copy_fd: int, offset: int) -> int:
    """Up to one block through this thread's buffer (where the kernel cannot copy)."""
    buffer = _buffers(BLOCK)[0]
    n = _read_full(source_fd, buffer, offset)
    view = memoryview(buffer)[:n]
    done = 0
    while done < n:
        done += os.pwrite(copy_fd, view[done:], offset + done)
    return n


def _copy_bytes(source_fd: int, copy_fd: int, size: int, cancelled: Callable[[], bool]) -> int:
    """Every byte of ``source_fd`` into ``copy_fd``; the count copied."""
    step = _kernel_copy
    offset = 0
    while True:
        if cancelled():
            raise Cancelled("cancelled")
        try:
            n = step(source_fd, copy_fd, offset)
        except OSError as exc:
            if step is not _kernel_copy or offset or exc.errno not in _NO_KERNEL_COPY:
                raise
            step = _buffered_copy
            continue
        except AttributeError:  # no copy_file_range on this system
            step = _buffered_copy
            continue
        if n == 0 and offset == 0 and size and step is _kernel_copy:
            step = _buffered_copy  # a file system whose sizes copy_file_range does not trust
            continue
        if n == 0:
            return offset
        offset += n


def _copy_verify(source: str, target: str, cancelled: Callable[[], bool]) -> int:
    """Copy one file to ``target`` (which must not exist), start its write to disk, then
    read it back and compare it with its source; its size. The mode is the source's."""
    with open_regular(source) as src:
        source_fd = src.fileno()
        info = os.fstat(source_fd)
        fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, info.st_mode & 0o777)
            size = _copy_small(source_fd, fd, info.st_size) if info.st_size < _KERNEL_FROM else None
            if size is None:
                size = _copy_bytes(source_fd, fd, info.st_size, cancelled)
                _start_writeback(fd)
                if not _same_bytes(source_fd, fd, size, cancelled):
                    size = -1
        finally:
            os.close(fd)
    if size < 0:
        raise TransferError(f"verification failed: {target} differs from {source}")
    return size


def _copy_small(source_fd: int, copy_fd: int, size: int) -> int | None:
    """A small file read once, written, read back and compared with the bytes in hand; its
    size, -1 when the copy differs, None when it grew past the buffer (copied as a large one)."""
    a, b = _buffers(size + 1)
    n = _read_full(source_fd, a, 0)
    if n == len(a):
        return None
    view = memoryview(a)[:n]
    done = 0
    while done < n:
        done += os.pwrite(copy_fd, view[done:], done)
    m = _read_full(copy_fd, b, 0)
    return n if m == n and a.startswith(memoryview(b)[:n]) else -1


def _compare(source: str, target: str, cancelled: Callable[[], bool] = lambda: False) -> None:
    """Byte-for-byte comparison of a copy with its source (raises when they differ;
    Cancelled between blocks once ``cancelled()``)."""
    with open_regular(source) as a, open(target, "rb") as b:
        if not _same_bytes(a.fileno(), b.fileno(), os.fstat(a.fileno()).st_size, cancelled):
            raise TransferError(f"verification failed: {target} differs from {source}")
