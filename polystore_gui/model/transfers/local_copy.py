"""Copies onto this machine's disk, byte for byte.

A file goes into an unnamed ``O_TMPFILE`` beside its destination (copied, fsynced, compared,
then named); a folder, zarr store or zarr array into a hidden folder, its files copied and
compared by a pool of threads in batches, zarr metadata last, the file system flushed once.
Links are copied as links; FIFOs, sockets and devices are never opened.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from ..address import Address
from ..local_entries import copied_link_target, copy_link, open_regular, special_kind
from .file_bytes import _compare, _copy_verify
from .items import BLOCK, COPY_THREADS, ZARR_METADATA, Cancelled, Progress, TransferError
from .staging import _flush, _leave_out, _partial_name, _Run

def _copy_local(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    if os.path.islink(source):
        staged = _partial_name(final)  # a link is copied as a link, its target text kept
        run.temporaries.append(Address("disk", staged))
        text = os.readlink(source)
        copy_link(staged, text)
        run.staged = staged
        run.notes.append(f"a symbolic link to {text}, copied as a link")
        yield run.advance(0)
    elif os.path.isdir(source):
        yield from _copy_tree(run, source, final)
    else:
        yield from _copy_file(run, source, final)


def _copy_tree(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    """A folder (or a zarr store or array) into a hidden folder, several files at a time.

    Every file is copied and compared with its source by a pool of threads (``file_bytes``:
    the kernel copies, the GIL is released) while the walk goes on making folders (a
    ``mkdir`` costs 0.3-1 ms here: 512 of them for a store of 256 chunks); the folder is
    flushed once (syncfs) before it is renamed into place, as ``cp -r`` followed by ``sync``
    would be, but each file's write to disk was started as soon as it was copied.

    A resumed copy (``item.resume``: the hidden folder an interrupted copy left) keeps each
    file already there whose bytes equal its source's (compared in full), writes the others
    again, and removes what the source no longer holds.
    """
    resumed = run.item.resume is not None and os.path.isdir(run.item.resume) and not os.path.islink(run.item.resume)
    temp = run.item.resume if resumed and run.item.resume is not None else _partial_name(final)
    run.stage(temp)
    if not resumed:
        os.mkdir(temp)
    kept: list[int] | None = [] if resumed else None  # files of a resumed copy found whole
    expected = {temp}
    files = 0  # regular files handed to the pool
    # zarr metadata goes last: an unfinished copy of a store is no store any reader opens.
    metadata: list[tuple[str, str]] = []
    # The walk (its folders made as it goes) runs on while the pool copies the files it found.
    walk = _walk_into(run, source, final, temp, resumed, expected, metadata)
    pending: set[Any] = set()
    with ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="copy") as pool:
        try:
            # Small files go in batches (a task per 32 KiB chunk would cost more than the copy).
            for batch in _batches(walk):
                files += len(batch)
                pending.add(pool.submit(_copy_batch, batch, run.cancelled, kept))
                if len(pending) >= 2 * COPY_THREADS:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield run.advance(future.result())
                    run.check()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield run.advance(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    run.check()
    metadata.sort(key=lambda job: -job[1].count("/"))  # the deepest first, the store's own last
    if resumed:
        _clear_all(temp, expected | {target for _src, target in metadata})
    yield run.advance(_copy_batch(metadata, run.cancelled, kept))
    _flush(temp)
    run.staged = temp
    if kept is not None:
        run.notes.append(f"resumed an interrupted copy: {len(kept)} of {files + len(metadata)} files were "
                         "already there, each compared with its source; the rest were copied now")


def _walk_into(run: _Run, source: str, final: str, temp: str, resumed: bool, expected: set[str],
               metadata: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Walk ``source``, making its folders and links under ``temp`` as it goes; yields each
    regular file to copy as (source, target), puts zarr metadata files in ``metadata`` (they
    are copied last) and every target in ``expected`` (what a resumed copy keeps)."""
    for root, dirs, files in os.walk(source):  # links to folders are listed in dirs, never entered
        run.check()
        rel = os.path.relpath(root, source)
        target_root = temp if rel == "." else os.path.join(temp, rel)
        for name in dirs + files:
            src = os.path.join(root, name)
            try:
                mode = os.lstat(src).st_mode
            except FileNotFoundError:
                _leave_out(run, os.path.relpath(src, source), "vanished during the copy")
                continue
            target = os.path.join(target_root, name)
            expected.add(target)
            if stat.S_ISLNK(mode):
                if resumed:
                    _clear(target)
                copy_link(target, copied_link_target(src, source, final))
            elif stat.S_ISDIR(mode):
                if not resumed or not os.path.isdir(target) or os.path.islink(target):
                    if resumed:
                        _clear(target)
                    os.mkdir(target)
            elif stat.S_ISREG(mode) and name in ZARR_METADATA:
                metadata.append((src, target))
            elif stat.S_ISREG(mode):
                yield src, target
            else:
                _leave_out(run, os.path.relpath(src, source), f"{special_kind(mode)} is not a file")


def _clear(path: str) -> None:
    """Remove whatever a resumed copy finds at ``path`` (a link, a file, a folder)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _clear_all(temp: str, expected: set[str]) -> None:
    """Remove from a resumed copy what its source no longer holds (deepest first)."""
    for root, dirs, files in os.walk(temp, topdown=False):
        for name in files + dirs:
            path = os.path.join(root, name)
            if path not in expected:
                _clear(path)


def _copy_or_keep(source: str, target: str, cancelled: Callable[[], bool], kept: list[int]) -> int:
    """For a resumed copy: a file already at ``target`` whose bytes equal ``source``'s is kept
    (and counted in ``kept``); anything else there is removed and the file copied again."""
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return _copy_verify(source, target, cancelled)
    if stat.S_ISREG(found.st_mode):
        try:
            _compare(source, target, cancelled)
        except Cancelled:
            raise
        except TransferError:
            pass
        else:
            os.chmod(target, os.stat(source).st_mode & 0o777)
            kept.append(1)
            return found.st_size
    _clear(target)
    return _copy_verify(source, target, cancelled)


def _batches(jobs: Iterable[tuple[str, str]], nbytes: int = BLOCK, count: int = 128) -> Iterable[list[tuple[str, str]]]:
    """Consecutive groups of files of about ``nbytes`` (or ``count`` files), for the pool."""
    batch: list[tuple[str, str]] = []
    size = 0
    for job in jobs:
        try:
            size += os.lstat(job[0]).st_size
        except OSError:
            pass  # it vanished: the copy says so
        batch.append(job)
        if size >= nbytes or len(batch) >= count:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _copy_batch(batch: list[tuple[str, str]], cancelled: Callable[[], bool], kept: list[int] | None = None) -> int:
    """Copy and compare each (source, target); ``kept``: a resumed copy (see ``_copy_or_keep``)."""
    total = 0
    for source, target in batch:
        if cancelled():
            raise Cancelled("cancelled")
        total += _copy_verify(source, target, cancelled) if kept is None else _copy_or_keep(source, target, cancelled, kept)
    return total


def _copy_file(run: _Run, source: str, final: str) -> Generator[Progress, None, None]:
    """One file into an unnamed O_TMPFILE beside ``final``: copied, flushed, compared, named."""
    with open_regular(source) as src:
        fd, staged = _open_output(run, final)
        try:
            while True:
                run.check()
                block = src.read(BLOCK)
                if not block:
                    break
                view = memoryview(block)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                yield run.advance(len(block))
            os.fsync(fd)
            os.fchmod(fd, os.fstat(src.fileno()).st_mode & 0o777)
            src.seek(0)
            os.lseek(fd, 0, os.SEEK_SET)
            while True:
                run.check()
                x, y = src.read(BLOCK), os.read(fd, BLOCK)
                if x != y:
                    raise TransferError(f"verification failed: the copy of {source} differs")
                if not x:
                    break
            if staged is None:
                # Give the unnamed file a hidden name beside the destination; _place() renames it.
                hidden = _partial_name(final)
                _link_unnamed(fd, hidden)
                run.temporaries.append(Address("disk", hidden))
                run.staged = hidden
        finally:
            os.close(fd)


def _link_unnamed(fd: int, path: str) -> None:
    """Give an O_TMPFILE file a name: linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N.

    Passing a directory fd makes Python call linkat with the follow flag; plain link()
    would try to link the /proc symlink itself (EXDEV).
    """
    folder = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(path), dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _open_output(run: _Run, target: str) -> tuple[int, str | None]:
    """(fd, staged path): an unnamed O_TMPFILE (path None), else a hidden named temporary."""
    folder = os.path.dirname(target) or "."
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600), None
    except (AttributeError, OSError) as exc:
        if isinstance(exc, PermissionError):
            raise
        staged = _partial_name(target)  # the file system has no O_TMPFILE
        run.temporaries.append(Address("disk", staged))
        run.staged = staged
        return os.open(staged, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), staged
