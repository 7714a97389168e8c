"""Copies between remote stores and this machine, verified, never leaving a partial copy.

Remote → local is a raw copy: every stored object (metadata documents, chunks, shards)
is written byte for byte under a hidden staging folder beside the destination, checked,
and only then renamed into place. The objects come from S3's listing (with sizes and
ETags) or, over HTTP where nothing lists, from the metadata: every node the group's
metadata names, and every chunk key of every array's grid (a missing key is a chunk
never written, as zarr reads it). Verification: each file on disk, read back, is byte for
byte the bytes received, which have the size S3's listing gave and (single-part uploads)
the MD5 S3 gives as ETag; then zarr opens the copy's metadata.

Local → S3 uploads chunks first and metadata documents last (a reader never sees a node
before its data), then lists what arrived and compares sizes and ETags with the local
files; on any failure the objects it wrote are deleted again.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from .direct_write import DIRECT_FROM, DirectMismatch, direct_possible, release_buffers, write_direct_checked
from .remote_address import RemoteURL, parse_url
from .remote_errors import RemoteError
from .remote_nodes import read_node_async
from .remote_store import ObjectFacts, RemoteStore, _zarr_sync, forget_reads, remote_store
from .transfers.staging import _flush
from .zarr_nodes import METADATA_NAMES, V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, ZarrNodeMeta

CONCURRENCY = 32

Progress = Callable[[int, int], None]


class CopyError(Exception):
    """A copy failed; nothing was left at the destination. The message is for the user."""


@dataclass
class CopyReport:
    """What a copy did: ``objects`` written, ``nbytes`` in them, ``missing`` chunk keys
    that were never written in the source (HTTP: found by trying the grid)."""

    source: str
    destination: str
    objects: int = 0
    nbytes: int = 0
    missing: int = 0
    notes: list[str] = field(default_factory=list)


def _never(*_args: Any) -> bool:
    return False


# -- what a remote store holds -------------------------------------------------------------------


def _chunk_keys(meta_doc: dict[str, Any], shape: tuple[int, ...], grid: tuple[int, ...], zarr_format: int) -> list[str]:
    """Every storage key of an array's grid (shards when sharded), as zarr names them."""
    import itertools

    counts = [max(1, math.ceil(s / g)) if s else 0 for s, g in zip(shape, grid)]
    if 0 in counts:
        return []
    if zarr_format == 3:
        encoding = meta_doc.get("chunk_key_encoding") or {"name": "default"}
        name = encoding.get("name", "default")
        separator = (encoding.get("configuration") or {}).get("separator", "/" if name == "default" else ".")
        prefix = "c" + separator if name == "default" else ""
        if not shape:
            return [prefix.rstrip(separator) or "0"] if name == "default" else ["0"]
        return [prefix + separator.join(map(str, index)) for index in itertools.product(*map(range, counts))]
    separator = meta_doc.get("dimension_separator") or "."
    if not shape:
        return ["0"]
    return [separator.join(map(str, index)) for index in itertools.product(*map(range, counts))]


async def _http_objects(store: RemoteStore, key: str, cancelled: Callable[[], bool]) -> list[str]:
    """Every key (relative to ``key``) the metadata of the node at ``key`` leads to."""
    from .backends.remote import _names_from_metadata, _plate_wells
    from .remote_nodes import parse_json

    meta = await read_node_async(store, key, cancelled)
    if meta is None:
        raise CopyError(f"{store.url(key)}: no zarr metadata there (a plain HTTP server lists nothing else)")
    found: list[str] = []
    pending: list[tuple[str, ZarrNodeMeta]] = [("", meta)]
    while pending:
        relative, node = pending.pop()
        base = f"{key}/{relative}".strip("/") if relative else key
        docs = [V3_META] if node.zarr_format == 3 else ([V2_ARRAY] if node.node_type == "array" else [V2_GROUP])
        if node.zarr_format == 2:
            docs.append(V2_ATTRS)
            docs.append(".zmetadata")
        found += [f"{relative}/{d}".lstrip("/") for d in docs]
        if node.node_type == "array":
            raw = await store.get_async(f"{base}/{docs[0]}", cancelled)
            doc = parse_json(raw, docs[0]) if raw is not None else {}
            grid = node.shards or node.chunks or ()
            keys = _chunk_keys(doc, node.shape or (), grid, node.zarr_format)
            found += [f"{relative}/{k}".lstrip("/") for k in keys]
            continue
        names = _names_from_metadata(node)
        if node.zarr_format == 3:
            raw = await store.get_async(f"{base}/{V3_META}", cancelled)
            doc = parse_json(raw, V3_META) if raw is not None else {}
            consolidated = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
            if isinstance(consolidated, dict) and isinstance(consolidated.get("metadata"), dict):
                names += [n for n in consolidated["metadata"] if "/" not in n and n not in names]
        if not names:
            parent_key = base.rsplit("/", 1)[0] if "/" in base else ""
            parent = await read_node_async(store, parent_key, cancelled) if parent_key != base else None
            if parent is not None:
                row = base.rsplit("/", 1)[-1]
                names = [w.split("/", 1)[1] for w in _plate_wells(parent) if w.startswith(row + "/")]
        children = await asyncio.gather(*(read_node_async(store, f"{base}/{n}", cancelled) for n in names),
                                        return_exceptions=True)
        for name, child in zip(names, children):
            if isinstance(child, ZarrNodeMeta):
                pending.append((f"{relative}/{name}".lstrip("/"), child))
            elif isinstance(child, BaseException):
                raise child
    return found


def _md5(data: bytes | memoryview) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _plain_md5_etag(etag: str | None) -> str | None:
    text = (etag or "").strip('"').lower()
    return text if len(text) == 32 and all(c in "0123456789abcdef" for c in text) else None


# -- remote → local ------------------------------------------------------------------------------


def _staging(final: str) -> str:
    return os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.partial-{uuid.uuid4().hex[:8]}")


def copy_to_local(source: str, destination_dir: str, *, on_conflict: str = "fail",
                  cancelled: Callable[[], bool] = _never, progress: Progress | None = None) -> CopyReport:
    """Copy the remote node ``source`` (a URL) into the folder ``destination_dir`` under
    its own name. ``on_conflict``: fail, skip, overwrite (replaced once the copy verified)
    or rename (``name-1``). Raises CopyError (nothing left behind) or RemoteError."""
    url = parse_url(source)
    if not os.path.isdir(destination_dir):
        raise CopyError(f"{destination_dir} is not a folder")
    name = url.name
    final = os.path.join(destination_dir, name)
    report = CopyReport(str(url), final)
    if os.path.lexists(final):
        if on_conflict == "skip":
            report.notes.append(f"skipped: {final} exists")
            return report
        if on_conflict == "rename":
            stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
            n = 1
            while os.path.lexists(final):
                final = os.path.join(destination_dir, f"{stem}-{n}{dot}{ext}")
                n += 1
            report.destination = final
        elif on_conflict != "overwrite":
            raise CopyError(f"{final} exists (choose --on-conflict skip, overwrite or rename)")
    store = remote_store(url)
    staging = _staging(final)
    try:
        _zarr_sync(_fetch_all(store, url, staging, report, cancelled, progress))
        _check_opens(staging)
        _flush(staging)  # on disk before it takes its name, as a local copy (transfers.local_copy)
        if os.path.lexists(final):  # overwrite: the old copy goes only now, after verification
            old = _staging(final)
            os.rename(final, old)
            os.rename(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        release_buffers()  # the writing threads live on (zarr's loop executor): their buffers do not
    return report


async def _fetch_all(store: RemoteStore, url: RemoteURL, staging: str, report: CopyReport,
                     cancelled: Callable[[], bool], progress: Progress | None) -> None:
    from .remote_errors import RemoteCancelled

    key = url.key
    expected: dict[str, ObjectFacts | None] = {}
    if store.can_list:
        async for page in store.walk_async(key, cancelled):
            for item in page:
                expected[item.key] = item
        if not expected:
            raise CopyError(f"{url}: nothing there to copy")
    else:
        for relative in await _http_objects(store, key, cancelled):
            expected[relative] = None
    # Folder markers (empty 'name/' objects some S3 consoles make) hold nothing to copy.
    expected = {relative: facts for relative, facts in expected.items() if not relative.endswith("/")}
    for relative in expected:  # S3 keys are any text, metadata names too: '..' would write outside the copy
        if any(part in ("", ".", "..") for part in relative.split("/")) or "\0" in relative:
            raise CopyError(f"{url}: the key {relative!r} leads out of the copy (empty, '.' or '..' parts): "
                            "nothing copied")
    total = sum(item.size for item in expected.values() if item is not None)
    done = 0
    os.makedirs(staging)
    # Every folder once, here, rather than a makedirs per object in the writing threads
    # (its stat calls, from several threads at once, cost a 1 GiB copy a second).
    for folder in sorted({relative.rpartition("/")[0] for relative in expected} - {""}):
        os.makedirs(os.path.join(staging, *folder.split("/")), exist_ok=True)
    direct = direct_possible(staging)  # large objects past the page cache (model.direct_write)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(relative: str, facts: ObjectFacts | None) -> None:
        nonlocal done
        if cancelled():
            raise RemoteCancelled("the copy")
        async with gate:
            if cancelled():  # asked again at its turn: every object passed the first look at the start
                raise RemoteCancelled("the copy")
            data = await store.get_buffer_async(f"{key}/{relative}" if key else relative, cancelled, cache=False)
        if data is None:
            if facts is not None:
                raise CopyError(f"{url}/{relative} vanished while it was copied")
            report.missing += 0 if relative.rsplit("/", 1)[-1] in METADATA_NAMES else 1
            return
        # Checked and written in a thread (hashing lets go of the interpreter lock): the
        # event loop goes on fetching meanwhile. A write once begun is waited for even when
        # the copy fails meanwhile: the staging folder is removed only after the last write.
        await _finish_even_if_cancelled(asyncio.to_thread(
            _store_checked, url, relative, data, facts, os.path.join(staging, *relative.split("/")), direct))
        report.objects += 1
        report.nbytes += len(data)
        done += len(data)
        if progress is not None:
            progress(done, max(total, done))

    await _all_or_none(one(r, f) for r, f in expected.items())
    if report.missing:
        report.notes.append(f"{report.missing} chunk keys of the grid are not stored (never written: "
                            "they read as the fill value, in the copy too)")


async def _all_or_none(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run ``coroutines`` together; at the first failure cancel the others and wait until
    every one has ended before raising it (``asyncio.gather`` leaves them running, and a
    late write landed in a staging folder already removed, or a late upload after the
    cleanup deleted what was written)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _finish_even_if_cancelled(work: Coroutine[Any, Any, None]) -> None:
    """Await ``work`` (a thread's write); if cancelled meanwhile, let it end first."""
    future = asyncio.ensure_future(work)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


def _store_checked(url: RemoteURL, relative: str, data: bytes | memoryview, facts: ObjectFacts | None,
                   path: str, direct: bool = False) -> None:
    """Check ``data`` against the listing, write it to the new file ``path`` and check
    what landed there.

    The size and (S3's ETag of a single-part upload) MD5 say the bytes received are the
    server's; the file, read back through the descriptor it was written with, is byte for
    byte those bytes (as local copies check theirs: ``transfers.local_copy``)."""
    _check_facts(url, relative, data, facts)
    _write_checked(path, data, direct)


def _write_checked(path: str, data: bytes | memoryview, direct: bool = False) -> None:
    """Write ``data`` to the new file ``path``; raise CopyError unless reading it back
    gives exactly ``data`` (one open, one pread: no second open and no Python file object).
    ``direct``: an object of ``DIRECT_FROM`` bytes or more goes past the page cache and is
    read back from the disk (:func:`model.direct_write.write_direct_checked`) where the
    system takes it."""
    if direct and len(data) >= DIRECT_FROM:
        try:
            if write_direct_checked(path, memoryview(data).cast("B")):
                return
        except DirectMismatch:
            raise CopyError(f"{path}: the bytes written differ from the bytes received") from None
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except FileNotFoundError:  # a folder _fetch_all did not make (a caller of its own)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, flags, 0o666)
    try:
        view = memoryview(data).cast("B")
        rest = view
        while rest:
            rest = rest[os.write(fd, rest):]
        same = _holds_exactly(fd, view)
    finally:
        os.close(fd)
    if not same:
        raise CopyError(f"{path}: the bytes written differ from the bytes received")


def _holds_exactly(fd: int, view: memoryview) -> bool:
    """Whether the file ``fd`` holds ``view`` and nothing more, read with pread (in pieces
    when the system returns less: Linux gives at most about 2 GiB a call)."""
    offset = 0
    while True:
        piece = os.pread(fd, len(view) + 1 - offset, offset)
        if not piece:
            return offset == len(view)
        end = offset + len(piece)
        # bytes.startswith compares with memcmp; ``piece != view[...]`` (bytes against a
        # memoryview) goes element by element, 2.5 ms a MiB: as long as the MD5.
        if end > len(view) or not piece.startswith(view[offset:end]):
            return False
        offset = end


def _check_facts(url: RemoteURL, relative: str, data: bytes | memoryview, facts: ObjectFacts | None) -> None:
    if facts is None:
        return
    if len(data) != facts.size:
        raise CopyError(f"{url}/{relative}: received {len(data)} bytes, the listing says {facts.size}")
    md5 = _plain_md5_etag(facts.etag)
    if md5 is not None and md5 != _md5(data):
        raise CopyError(f"{url}/{relative}: the bytes received do not match the server's MD5 (ETag)")


def _check_opens(path: str) -> None:
    """zarr reads the copy's top node (a copy of a folder of plain files is not checked)."""
    from .zarr_nodes import read_node

    if read_node(path) is None:
        return
    import zarr

    try:
        zarr.open(path, mode="r")
    except Exception as exc:  # the copy's metadata is not what zarr reads
        raise CopyError(f"the copy does not open with zarr: {exc}") from exc


# -- local → S3 ----------------------------------------------------------------------------------


def copy_to_remote(source: str, destination: str, *, on_conflict: str = "fail",
                   cancelled: Callable[[], bool] = _never, progress: Progress | None = None) -> CopyReport:
    """Upload the local file or folder ``source`` under the S3 prefix ``destination``
    (as ``destination/<name>``), chunks before metadata, then verify by listing."""
    target = parse_url(destination)
    if not target.is_s3:
        raise CopyError(f"{destination}: only S3 stores can be written (an HTTP server takes no uploads)")
    if not os.path.exists(source):
        raise CopyError(f"{source} does not exist")
    name = os.path.basename(os.path.normpath(source))
    final = target.child(name)
    store = remote_store(final)
    report = CopyReport(source, str(final))
    existing = [o for page in store.walk(final.key, cancelled) for o in page]
    if existing or store.get(f"{final.key}") is not None:
        if on_conflict == "skip":
            report.notes.append(f"skipped: {final} exists")
            return report
        if on_conflict != "overwrite":
            raise CopyError(f"{final} exists (choose --on-conflict skip or overwrite)")
    files: list[tuple[str, str]] = []
    if os.path.isdir(source):
        for folder, dirs, names in os.walk(source):
            dirs.sort()
            for n in sorted(names):
                path = os.path.join(folder, n)
                if os.path.isfile(path) and not os.path.islink(path):
                    files.append((os.path.relpath(path, source).replace(os.sep, "/"), path))
    else:
        files.append(("", source))
    files.sort(key=lambda item: (item[0].rsplit("/", 1)[-1] in METADATA_NAMES, item[0]))  # metadata last
    total = sum(os.path.getsize(p) for _, p in files)
    written: list[str] = []
    try:
        _zarr_sync(_upload_all(store, final.key, files, written, report, total, cancelled, progress))
        _verify_upload(store, final, files)
    except BaseException:
        for key in written:
            try:
                store.delete(key)
            except RemoteError:
                pass
        raise
    finally:
        forget_reads(str(final))  # reads made before (by any open store of the bucket) see what is there now
    return report


async def _upload_all(store: RemoteStore, prefix: str, files: list[tuple[str, str]], written: list[str],
                      report: CopyReport, total: int, cancelled: Callable[[], bool],
                      progress: Progress | None) -> None:
    import obstore as obs

    from .remote_errors import RemoteCancelled

    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(relative: str, path: str) -> None:
        if cancelled():
            raise RemoteCancelled("the copy")
        key = f"{prefix}/{relative}" if relative else prefix
        async with gate:  # read in its turn: a file waiting for the gate holds no memory
            if cancelled():  # asked again at its turn: every file passed the first look at the start
                raise RemoteCancelled("the copy")
            with open(path, "rb") as f:
                data = f.read()
            written.append(key)  # before the request: a put cancelled mid-way may still land, and is deleted too
            try:
                store._counted()
                await obs.put_async(store.client, key, data)
            except Exception as exc:
                raise store.error(exc, key) from exc
        report.objects += 1
        report.nbytes += len(data)
        if progress is not None:
            progress(report.nbytes, total)

    data_files = [(r, p) for r, p in files if r.rsplit("/", 1)[-1] not in METADATA_NAMES]
    meta_files = [(r, p) for r, p in files if r.rsplit("/", 1)[-1] in METADATA_NAMES]
    await _all_or_none(one(r, p) for r, p in data_files)
    await _all_or_none(one(r, p) for r, p in meta_files)


def _verify_upload(store: RemoteStore, final: RemoteURL, files: list[tuple[str, str]]) -> None:
    listed: dict[str, ObjectFacts] = {}
    if len(files) == 1 and files[0][0] == "":
        parent = final.parent()
        for page in store.walk(parent.key if parent is not None else ""):
            for item in page:
                if item.key == final.name:
                    listed[""] = item
    else:
        listed = {item.key: item for page in store.walk(final.key) for item in page}
    for relative, path in files:
        found = listed.get(relative)
        if found is None:
            raise CopyError(f"{final}/{relative}: not found after the upload")
        item = found
        size = os.path.getsize(path)
        if item.size != size:
            raise CopyError(f"{final}/{relative}: {item.size} bytes arrived, {size} were sent")
        md5 = _plain_md5_etag(item.etag)
        if md5 is not None:
            with open(path, "rb") as f:
                if _md5(f.read()) != md5:
                    raise CopyError(f"{final}/{relative}: the server's MD5 (ETag) differs from the file's")
