"""Zarr on a remote store, by URL: nodes, arrays, ``info`` facts, OME-NGFF summaries.

Every read in one *session* (one preview, one info) checks one cancel test
(:func:`read_session`): the session's own token (cancelled when its preview is closed) or
the job's token it was given (``cancelled``, as every job takes it); either stops the
session's requests on the wire. Outside a session reads are not cancellable but still
time out (``remote_access``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from .arrays import Info, opened_array_facts
from .cancel import CancelToken
from .entries import Entry
from .ome_meta import OmeLevel, OmeSummary, ome_attributes, ome_summary
from .remote_address import RemoteURL, parse_url
from .remote_nodes import consolidated_members, prime_from_consolidated, read_node, read_nodes
from .remote_store import RemoteStore, remote_store
from .zarr_nodes import CorruptMetadataError, ZarrNodeMeta

_session: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar("remote_session", default=None)


class CancelOnClose:
    """A Preview resource: closing the preview cancels the network reads it would make."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token

    def close(self) -> None:
        self.token.cancel()


@contextlib.contextmanager
def read_session(cancelled: Callable[[], bool] | None = None) -> Iterator[CancelToken]:
    """Reads made inside stop when the session's own token (yielded) is cancelled, or when
    ``cancelled()`` (the job's token) says so."""
    own = CancelToken()
    job = cancelled
    check: Callable[[], bool] = own if job is None else (lambda: own.cancelled or job())
    reset = _session.set(check)
    try:
        yield own
    finally:
        _session.reset(reset)


def _cancelled() -> Callable[[], bool]:
    check = _session.get()
    return check if check is not None else (lambda: False)


def provisional_entry(backend: str, path: str) -> Entry:
    """A store row for the URL ``path`` made without a request (the window adds it at once;
    its listing, in a worker, reads the metadata). Its kind column says it is remote."""
    from .entries import Entry, EntryKind

    return Entry(backend if backend in ("zarr", "ome_zarr") else "zarr", path, path, EntryKind.ZARR_STORE,
                 detail="remote")


def locate(path: str) -> tuple[RemoteStore, str, RemoteURL]:
    """The open store holding ``path`` (a URL), the key of ``path`` in it, and the URL."""
    url = parse_url(path)
    return remote_store(url), url.key, url


def node(path: str) -> ZarrNodeMeta | None:
    """The zarr node at ``path`` (None: no zarr metadata there). RemoteError, CorruptMetadataError."""
    store, key, _ = locate(path)
    return read_node(store, key, _cancelled())


def open_array(path: str, zarr_format: int | None = None) -> Any:
    """A read-only ``zarr.Array`` at ``path`` reading through the cache, in the current session."""
    import zarr

    store, key, _ = locate(path)
    if zarr_format is None:
        meta = read_node(store, key, _cancelled())
        zarr_format = meta.zarr_format if meta is not None else None
    reader = array_store(path)
    return zarr.open_array(store=reader, mode="r", zarr_format=3 if zarr_format == 3 else 2 if zarr_format == 2 else None)


def array_store(path: str) -> Any:
    """A read-only zarr store rooted at ``path`` reading through the cache, in the current
    session (what :func:`open_array` opens; a plate's wells open it with known metadata)."""
    store, key, _ = locate(path)
    reader = store.reader(key)
    check = _session.get()
    if check is not None:
        reader.follow(check)  # the session's test: cancelling the session stops this reader too
    return reader


def array_info(backend: str, path: str, meta: ZarrNodeMeta) -> Info:
    """What ``info`` says about a remote array (zarr reads only the cached metadata)."""
    codecs: dict[str, Any] = {}
    fill_value: Any = None
    dimension_names: tuple[str | None, ...] | None = None
    error = None
    try:
        codecs, fill_value, dimension_names = opened_array_facts(open_array(path, meta.zarr_format), meta.zarr_format)
    except OSError:
        raise
    except Exception as exc:  # a codec that is not installed: the metadata is still shown
        error = f"zarr cannot open this array: {exc}"
    return Info(backend, path, "array", shape=meta.shape, dtype=meta.dtype, chunks=meta.chunks, shards=meta.shards,
                zarr_format=meta.zarr_format, fill_value=fill_value, codecs=codecs,
                dimension_names=dimension_names, nbytes=meta.nbytes, attributes=meta.attributes,
                format=f"zarr v{meta.zarr_format} (remote)", error=error)


def remote_ome_summary(path: str, meta: ZarrNodeMeta) -> OmeSummary | None:
    """The OME-NGFF summary of a remote image: the metadata's own facts (read by
    ``ome_meta``), with each level's shape and the labels read from the store, concurrently.
    ``labels`` is asked for only when no consolidated metadata says whether it exists."""
    summary = ome_summary("/nonexistent-remote-placeholder", meta)
    if summary is None:
        return None
    store, key, _ = locate(path)
    # Consolidated metadata (v3, in the zarr.json read already) answers for the levels and
    # says whether labels exist: their documents are then read from the cache.
    known = prime_from_consolidated(store, key, meta, _cancelled())
    keys = [f"{key}/{lv.path}" for lv in summary.levels]
    labels_meta: ZarrNodeMeta | None | Exception = known.get("labels") if known is not None else None
    if known is None:  # nothing says whether labels exist: asked in the same round as the levels
        keys.append(f"{key}/labels")
    found = read_nodes(store, keys, _cancelled(), zarr_format=meta.zarr_format)  # members share the group's format
    levels = tuple(
        OmeLevel(lv.path, item.shape if isinstance(item, ZarrNodeMeta) else None, lv.scale, lv.translation)
        for lv, item in zip(summary.levels, found))
    if known is None:
        labels_meta = found[-1]
    labels: tuple[str, ...] = ()
    if isinstance(labels_meta, ZarrNodeMeta):
        names = ome_attributes(labels_meta.attributes).get("labels") or []
        labels = tuple(str(x) for x in (names if isinstance(names, list) else [])
                       if "/" not in str(x) and str(x) not in ("", ".", ".."))
    return replace(summary, levels=levels, labels=labels)


def group_info(backend: str, path: str, meta: ZarrNodeMeta, *, count_members: bool = True) -> Info:
    """A remote group's facts; ``count_members``: count its groups and arrays also where that takes
    a listing (S3 without consolidated metadata: one more round trip, which a preview of an
    OME image, whose levels and labels the summary names, does without)."""
    try:
        ome = remote_ome_summary(path, meta)
    except CorruptMetadataError as exc:
        return Info(backend, path, "group", zarr_format=meta.zarr_format, attributes=meta.attributes,
                    format=f"zarr v{meta.zarr_format} (remote)", error=str(exc))
    store, key, _ = locate(path)
    members = consolidated_members(store, key, meta, _cancelled())
    counts: dict[str, int] = {}
    if members is not None:
        direct = [m for name, m in members.items() if "/" not in name]
        counts = {"groups": sum(m.node_type == "group" for m in direct),
                  "arrays": sum(m.node_type == "array" for m in direct)}
    elif store.can_list and (count_members or ome is None):
        folders, _objects = store.list_dir(key, _cancelled())
        found = read_nodes(store, [f"{key}/{f}" for f in folders], _cancelled())
        counts = {"groups": sum(isinstance(m, ZarrNodeMeta) and m.node_type == "group" for m in found),
                  "arrays": sum(isinstance(m, ZarrNodeMeta) and m.node_type == "array" for m in found)}
    consolidated = {"consolidated": True, "members": len(members)} if members is not None else None
    return Info(backend, path, "group", zarr_format=meta.zarr_format, attributes=meta.attributes, ome=ome,
                members=counts, consolidated=consolidated, format=f"zarr v{meta.zarr_format} (remote)")


def inspect(backend: str, path: str, *, listed: bool = False, count_members: bool = True) -> Info:
    """The facts of a remote address; never raises: ``error`` says what went wrong.
    ``count_members``: see :func:`group_info`."""
    try:
        meta = node(path)
        if meta is None:
            store, key, _ = locate(path)
            if store.can_list:
                folders, objects = store.list_dir(key, _cancelled())
                if folders or objects:
                    return Info(backend, path, "directory", members={"folders": len(folders), "files": len(objects)},
                                format="S3 prefix")
            what = "No longer exists" if listed else "Does not exist"
            return Info(backend, path, "file", error=f"{what}: {path} (no zarr metadata there)")
        if meta.node_type == "array":
            return array_info(backend, path, meta)
        return group_info(backend, path, meta, count_members=count_members)
    except CorruptMetadataError as exc:
        return Info(backend, path, "group", error=str(exc))
    except Exception as exc:  # RemoteError, CredentialsError, RemoteAddressError: said on the row
        return Info(backend, path, "file", error=str(exc))
