"""Listing the chunk files of an unsharded array with GNU ``find``, several at a time.

Knowing every chunk's stored bytes costs one ``stat`` per chunk file. From Python that is
about 3-4 µs a file here (the call, the ``stat_result``, the path walk in the kernel), and
threads do not help (the GIL). ``find -printf '%s %p'`` does the same ``fstatat`` calls in C,
relative to each folder, and two or more ``find`` processes over separate slices of the
top-level folders use the other cores: the full scan of 102,400 chunks costs 1.7-2.7x a
bare Python ``scandir`` of names (see benchmarks/README.md, "Chunk scan"), where the
Python walk cost 4-6x. Where its time goes (2 cores): the find processes' own CPU, about
0.1 s each, four fifths of it in the kernel (the ``fstatat`` per chunk file, about half of
it, and fts's calls per folder); this process, about 15-25 ms of CPU (reading and parsing
their output, the batches).

The output, ``SIZE AXIS0/AXIS1/.../AXISn`` per line, is parsed a block at a time with
numpy (no Python object per chunk). What is not a plain readable file (a directory where a
chunk should be, a symlink, a file this user may not read) is printed
with size -1 and checked one by one by the caller, exactly as the Python walk checks
it (a user other than root: also a file ``access(2)`` says it may not read); a folder ``find`` cannot list is reported from its stderr. Only GNU ``find`` has
``-printf``: elsewhere (macOS, Windows) the caller keeps its Python walk.

``POLYSTORE_GUI_CHUNK_WALK`` picks the walk: ``find`` (whenever GNU find is there, whatever
the array's size; the test suite runs every scan test both ways), ``python`` (never), or
unset (``find`` from :data:`FIND_MIN_OBJECTS` objects up).
"""

from __future__ import annotations

import functools
import os
import re
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np


# Below this many objects the Python walk is as quick (process start-up dominates).
FIND_MIN_OBJECTS = 4096
READ_BYTES = 1 << 20
MAX_PROGRAM_BYTES = 16 << 20  # find's own size (GNU find: about 220 KiB)
PIPE_BYTES = 1 << 20  # each find's output pipe (Linux's default limit for a user; else 64 KiB)
TICK_SECONDS = 0.005  # find's output is read this often (about 50 KiB of it a tick here)
PARSE_BYTES = 1 << 16  # and parsed this much at a time ...
PARSE_SECONDS = 0.05  # ... or what came in this long (chunks.BATCH_SECONDS)
IDLE_SECONDS = 0.5  # no output for this long: an idle block is yielded (the scan can be cancelled)
_ERROR_LINE = re.compile(r"^[^:']*: '(.*)': (.*)$")  # "/usr/bin/find: 'PATH': REASON" (C locale)


def use_find(nobjects: int) -> bool:
    """Whether to list an array of ``nobjects`` stored objects with ``find``."""
    mode = os.environ.get("POLYSTORE_GUI_CHUNK_WALK", "")
    if mode == "python":
        return False
    return gnu_find() is not None and (mode == "find" or nobjects >= FIND_MIN_OBJECTS)


@functools.cache
def gnu_find() -> str | None:
    """The path of a GNU ``find`` (it has ``-printf``), or None."""
    path = shutil.which("find")
    if path is None:
        return None
    if _says_gnu_findutils(path):
        return path
    try:  # a wrapper, a packed binary, an unreadable one: ask it
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                             env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU findutils" in out.stdout else None


def _says_gnu_findutils(path: str) -> bool:
    """Whether the program at ``path`` is GNU find, from its bytes: its ``--version`` text
    and its option names are in them. Reading 200 KiB from the page cache takes 0.3 ms where running
    ``find --version`` took 1.5 ms on a quiet machine and up to 35 ms on a busy one, inside
    the first scan of a process."""
    try:
        with open(os.path.realpath(path), "rb") as fh:
            data = fh.read(MAX_PROGRAM_BYTES)
    except OSError:
        return False
    return data.startswith(b"\x7fELF") and b"GNU findutils" in data and b"maxdepth" in data  # not xargs


@dataclass
class FindBlock:
    """What one read of ``find``'s output gave."""

    rows: np.ndarray  # (n, ndim) int64: object indices of plain readable files
    sizes: np.ndarray  # (n,) int64: their sizes
    careful: list[tuple[tuple[int, ...], str]] = field(default_factory=list)  # check one by one
    strays: int = 0  # files whose names are not chunk keys inside the grid
    failed_dirs: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    swept: list[tuple[int, int]] = field(default_factory=list)  # axis-0 ranges fully listed
    done: float = 0.0
    idle: bool = False  # nothing came for IDLE_SECONDS: a chance for the consumer to stop


@dataclass
class _Worker:
    """One ``find`` process over a contiguous slice of the top-level folders."""

    process: subprocess.Popen[bytes]
    tops: list[int]  # its starting points, in the order find visits them
    low: int  # the first axis-0 index it answers for
    high: int  # one past the last
    swept_to: int  # axis-0 objects below this are fully listed
    parts: list[bytes] = field(default_factory=list)  # output read, not parsed yet
    pending: int = 0  # their bytes
    parsed_at: float = 0.0
    ended: bool = False  # its output has been read to the end
    exited: bool = False  # its stderr is closed: the process is gone
    errors: bytes = b""
    position: int = 0  # how many of its starting points have been reached


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else 0


def _groups(tops: Sequence[int], processes: int) -> list[list[int]]:
    count = max(1, min(processes, len(tops)))
    size = -(-len(tops) // count)
    return [list(tops[i:i + size]) for i in range(0, len(tops), size)]


def _widen(fd: int) -> bool:
    """Give the pipe room for a tick's output (find then never waits on this process)."""
    try:
        import fcntl  # POSIX (GNU find is only used there)

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        return False
    return True


def walk_nested(top: str, tops: Sequence[int], ndim: int, grid: Sequence[int], *,
                processes: int | None = None) -> Iterator[FindBlock]:
    """Yield the chunk files under ``top``: ``tops`` are its axis-0 folders (sorted ints).

    Keys are ``top/i0/i1/.../in`` (``ndim`` >= 2). Closing the generator ends the
    ``find`` processes.

    find writes its output 4 KiB at a time: woken at each write, this process spent more
    than find's output is worth (a scan of 102,400 chunks: about 250 wake-ups, a parse
    each). So its output goes into pipes of 1 MiB, read every ``TICK_SECONDS`` (and when a
    process ends: its stderr closes) and parsed ``PARSE_BYTES`` or ``PARSE_SECONDS`` at a
    time. Where a pipe cannot be widened, its output wakes this process as it comes.
    """
    find = gnu_find()
    assert find is not None and ndim >= 2
    if not tops:
        return  # nothing written yet: every chunk is missing
    depth = str(ndim - 1)
    # Root reads every file; anyone else asks access(2) (in C: modes, ACLs) before trusting
    # a file that is not readable by all (-perm -444 is decided from find's stat, no call).
    readable = [] if _euid() == 0 else ["(", "-perm", "-444", "-o", "-readable", ")"]
    expression = ["-mindepth", depth, "-maxdepth", depth,
                  "(", "-type", "f", *readable, "-printf", "%s %p\\n", ")", "-o", "-printf", "-1 %p\\n"]
    env = {**os.environ, "LC_ALL": "C"}
    processes = processes or max(2, min(4, os.cpu_count() or 1))
    groups = _groups(tops, processes)
    workers: list[_Worker] = []
    selector = selectors.DefaultSelector()
    grid_arr = np.array(grid, np.int64)
    try:
        for n, group in enumerate(groups):
            low = 0 if n == 0 else group[0]
            high = groups[n + 1][0] if n + 1 < len(groups) else int(grid[0])
            process = subprocess.Popen([find, *(str(i) for i in group), *expression], cwd=top, env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            worker = _Worker(process, group, low, max(low, high), low, parsed_at=time.monotonic())
            workers.append(worker)
            assert process.stdout is not None and process.stderr is not None
            os.set_blocking(process.stdout.fileno(), False)
            if not _widen(process.stdout.fileno()):
                selector.register(process.stdout, selectors.EVENT_READ, (worker, "out"))
            selector.register(process.stderr, selectors.EVENT_READ, (worker, "err"))
        total_tops = max(1, len(tops))
        heard = time.monotonic()  # when output last came
        while not all(w.ended for w in workers):
            ready = selector.select(TICK_SECONDS)
            for key, _mask in ready:
                worker, what = key.data
                if what == "err":
                    data = os.read(key.fd, READ_BYTES)
                    if data:
                        worker.errors += data
                    else:
                        selector.unregister(key.fileobj)
                        worker.exited = True
            now = time.monotonic()
            for worker in workers:
                if worker.ended or not _drain(worker):
                    continue
                heard = now
                if worker.ended and worker.process.stdout in selector.get_map():
                    selector.unregister(worker.process.stdout)
                if not worker.ended and worker.pending < PARSE_BYTES and now - worker.parsed_at < PARSE_SECONDS:
                    continue  # parsed in large pieces: each parse has a fixed cost
                worker.parsed_at = now
                block = _take(worker, top, ndim, grid_arr)
                if worker.ended:
                    worker.position = len(worker.tops)
                    block.swept.append((worker.swept_to, worker.high))
                    worker.swept_to = worker.high
                block.done = sum(w.position for w in workers) / total_tops
                yield block
            if now - heard >= IDLE_SECONDS:  # find is slow (a slow or stuck file system): let the consumer stop
                heard = now
                idle = _empty(ndim)
                idle.idle = True
                idle.done = sum(w.position for w in workers) / total_tops
                yield idle
        for worker in workers:
            worker.process.wait()
            if not worker.exited:  # its stderr outlived its stdout: what is left of it
                assert worker.process.stderr is not None
                worker.errors += worker.process.stderr.read()
        failed = [d for w in workers for d in _failed_dirs(w.errors, top)]
        if failed:
            yield FindBlock(np.zeros((0, ndim), np.int64), np.zeros(0, np.int64), failed_dirs=failed, done=1.0)
    finally:
        selector.close()
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait()
            for stream in (worker.process.stdout, worker.process.stderr):
                if stream is not None:
                    stream.close()


def _drain(worker: _Worker) -> bool:
    """Read what ``worker``'s find has written so far; True if anything came (or the end)."""
    assert worker.process.stdout is not None
    fd = worker.process.stdout.fileno()
    got = False
    while True:
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return got
        if not data:
            worker.ended = True
            return True
        worker.parts.append(data)
        worker.pending += len(data)
        got = True
        if len(data) < READ_BYTES and not worker.exited:
            return True  # the pipe (at most READ_BYTES) is empty: no second read to hear so


def _take(worker: _Worker, top: str, ndim: int, grid: np.ndarray) -> FindBlock:
    """The complete lines read from ``worker`` so far (all of it at its end), parsed."""
    data = b"".join(worker.parts)
    cut = len(data) if worker.ended else data.rfind(b"\n") + 1
    worker.parts = [data[cut:]] if cut < len(data) else []
    worker.pending = len(data) - cut
    return _parse(worker, data[:cut], top, ndim, grid) if cut else _empty(ndim)


def _empty(ndim: int) -> FindBlock:
    return FindBlock(np.zeros((0, ndim), np.int64), np.zeros(0, np.int64))


def _parse(worker: _Worker, data: bytes, top: str, ndim: int, grid: np.ndarray) -> FindBlock:
    """Complete lines ``SIZE i0/i1/.../in`` → rows; anything unusual goes line by line."""
    columns = ndim + 1
    lines = data.count(b"\n")
    values = None
    try:
        # A name that is not an integer makes numpy stop early: too few values, seen below.
        # (It also warns, soon an error: caught where warnings are errors.) No filter is
        # changed here: the process's filters are every thread's, and an "error" filter set
        # on this worker turned the GUI thread's warnings into exceptions meanwhile.
        values = np.fromstring(data.replace(b"/", b" "), dtype=np.int64, sep=" ")  # noqa: NPY201
    except (ValueError, DeprecationWarning):
        values = None
    if values is None or values.size != lines * columns or not lines:
        return _parse_slowly(worker, data, top, ndim, grid)
    table = values.reshape(lines, columns)
    sizes, rows = table[:, 0], table[:, 1:]
    block = FindBlock(rows, sizes)
    # The usual block: plain files, every name inside the grid (two reductions, no copy).
    if sizes.min() < 0 or rows.min() < 0 or bool((rows.max(axis=0) >= grid).any()):
        odd = sizes < 0
        if odd.any():
            odd_lines = [line for line in data.split(b"\n") if line.startswith(b"-1 ")]
            block.careful = [(tuple(int(i) for i in row), os.path.join(top, os.fsdecode(line[3:])))
                             for row, line in zip(rows[odd], odd_lines)]
            keep = ~odd
            rows, sizes = rows[keep], sizes[keep]
        inside = np.all((rows < grid) & (rows >= 0), axis=1)
        block.strays = int(np.count_nonzero(~inside))
        block.rows, block.sizes = rows[inside], sizes[inside]
    _advance(worker, block, int(table[-1, 1]))
    return block


def _parse_slowly(worker: _Worker, data: bytes, top: str, ndim: int, grid: np.ndarray) -> FindBlock:
    rows: list[tuple[int, ...]] = []
    sizes: list[int] = []
    block = _empty(ndim)
    last = None
    for line in data.split(b"\n"):
        if not line:
            continue
        size_text, _, path = line.partition(b" ")
        try:
            index = tuple(int(p) for p in path.split(b"/"))
            size = int(size_text)
        except ValueError:
            block.strays += 1
            continue
        last = index[0]
        if len(index) != ndim or any(i < 0 or i >= g for i, g in zip(index, grid.tolist())):
            block.strays += 1
        elif size < 0:
            block.careful.append((index, os.path.join(top, os.fsdecode(path))))
        else:
            rows.append(index)
            sizes.append(size)
    block.rows = np.array(rows, np.int64).reshape(len(rows), ndim)
    block.sizes = np.array(sizes, np.int64)
    _advance(worker, block, last)
    return block


def _advance(worker: _Worker, block: FindBlock, last: int | None) -> None:
    """find visits its starting points in order: every axis-0 index before ``last`` is done."""
    if last is None or last <= worker.swept_to:
        return
    while worker.position < len(worker.tops) and worker.tops[worker.position] < last:
        worker.position += 1
    block.swept.append((worker.swept_to, last))
    worker.swept_to = last


def _failed_dirs(errors: bytes, top: str) -> list[tuple[tuple[int, ...], str]]:
    """Folders find could not list (from its stderr, in the C locale) as (index prefix, message)."""
    out = []
    for line in os.fsdecode(errors).splitlines():
        match = _ERROR_LINE.match(line)
        if match is None:
            continue
        relative, reason = match.groups()
        try:
            prefix = tuple(int(p) for p in relative.split("/"))
        except ValueError:
            continue
        out.append((prefix, f"cannot list {os.path.join(top, relative)}: {reason}"))
    return out


__all__ = ["FIND_MIN_OBJECTS", "FindBlock", "gnu_find", "use_find", "walk_nested"]
