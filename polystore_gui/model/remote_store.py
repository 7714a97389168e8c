"""An open remote store: one obstore client per bucket or host, a small shared cache,
and reads that can be cancelled on the wire.

zarr reads through :class:`CachedStore`, a ``zarr.storage.WrapperStore`` over zarr's own
``ObjectStore``: whole objects up to :data:`CACHE_OBJECT_LIMIT` (metadata documents, recent
chunks, shard indexes) are kept in an LRU of :data:`CACHE_BYTES`, so opening the array
after the browser has read its metadata costs no request, and a plane looked at again
costs none. Each reader has its own cancel token (:class:`~polystore_gui.model.cancel.CancelToken`),
and may also follow a job's (``follow``): when either is cancelled, every request in flight
is cancelled (the asyncio task awaiting obstore is cancelled, which drops the Rust future
and its HTTP request) and later reads raise :class:`RemoteCancelled` at once.

zarr gathers the chunks of one selection concurrently (``async.concurrency``); listings
and metadata reads here use ``asyncio.gather`` on zarr's own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .cancel import CancelToken
from .remote_absent import AbsentKeys
from .remote_cancel import _cancellable, _stop_reads
from .remote_access import Identity, RemoteOptions, build_object_store, options_for, resolve_identity
from .remote_address import RemoteURL
from .remote_errors import RemoteCancelled, RemoteError, explain
from .zarr_nodes import METADATA_NAMES

CACHE_BYTES = 64 * 1024 * 1024
CACHE_OBJECT_LIMIT = 16 * 1024 * 1024

T = TypeVar("T")


class ByteCache:
    """A thread-safe LRU of objects' bytes, bounded by total size."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: bytes) -> None:
        if len(value) > CACHE_OBJECT_LIMIT:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.limit and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def drop_under(self, prefix: str) -> None:
        """Forget the object ``prefix`` and every object below it, ranged reads included
        (their keys are ``(key, range)``): they were written since they were read."""
        with self._lock:
            for key in [k for k in self._items if _under(k[0] if isinstance(k, tuple) else k, prefix)]:
                self._size -= len(self._items.pop(key))


def _under(key: str, prefix: str) -> bool:
    """Whether ``key`` is ``prefix`` or below it (everything when ``prefix`` is empty)."""
    return not prefix or key == prefix or key.startswith(prefix.rstrip("/") + "/")


def _zarr_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on zarr's own event loop (where the obstore futures live) and wait."""
    from zarr.core.sync import sync

    return sync(coro)


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """One object a listing found: its key below the listed prefix, its size, its ETag."""

    key: str
    size: int
    etag: str | None = None


class RemoteStore:
    """One bucket (S3) or host (HTTP), opened with one identity; shared by every reader.

    ``get`` / ``get_many`` / ``list_dir`` / ``walk`` take keys relative to the bucket or the
    host (``experiment.zarr/image/zarr.json``); errors come out as :class:`RemoteError`.
    """

    def __init__(self, top: RemoteURL, identity: Identity | None) -> None:
        self.top = top
        self.identity = identity
        self.client = build_object_store(top, identity)
        self.cache = ByteCache()
        self.absent = AbsentKeys()  # chunks and shards just answered 404 (remote_absent)
        self.requests = 0  # requests made (a benchmark and the tests count them)
        self._count_lock = threading.Lock()

    @property
    def can_list(self) -> bool:
        """S3 lists its keys; a plain HTTP server does not."""
        return self.top.is_s3

    def url(self, key: str) -> RemoteURL:
        return RemoteURL(self.top.scheme, self.top.authority, key.strip("/"))

    def _counted(self) -> None:
        with self._count_lock:
            self.requests += 1

    def error(self, exc: BaseException, key: str) -> RemoteError:
        return explain(exc, self.url(key), self.identity)

    async def get_async(self, key: str, cancelled: Callable[[], bool] = lambda: False, *,
                        cache: bool = True) -> bytes | None:
        """The bytes of one object (cached unless ``cache`` is false: a copy passes every
        object once), None when it does not exist."""
        data = await self.get_buffer_async(key, cancelled, cache=cache)
        return data if data is None or isinstance(data, bytes) else bytes(data)

    async def get_buffer_async(self, key: str, cancelled: Callable[[], bool] = lambda: False, *,
                               cache: bool = True) -> bytes | memoryview | None:
        """As :meth:`get_async`, without copying what is not kept: an object the cache does
        not keep (``cache`` false, or over ``CACHE_OBJECT_LIMIT``: a shard, a copy's chunk)
        comes back as a view of the client's own buffer (a 32 MiB shard was copied once more)."""
        import obstore as obs
        from obstore.exceptions import NotFoundError

        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if cache and self.absent.known(key):  # a shard whose index was just answered 404 (a copy asks)
            return None

        async def fetch() -> Any:
            self._counted()
            response = await obs.get_async(self.client, key)
            return await response.bytes_async()

        try:
            raw = await _cancellable(fetch(), cancelled, f"reading {self.url(key)}")
        except (NotFoundError, FileNotFoundError):
            return None
        except RemoteError:
            raise
        except Exception as exc:
            raise self.error(exc, key) from exc
        if not cache or len(raw) > CACHE_OBJECT_LIMIT:
            return memoryview(raw)
        data = bytes(raw)
        self.cache.put(key, data)
        return data

    def get(self, key: str, cancelled: Callable[[], bool] = lambda: False) -> bytes | None:
        return _zarr_sync(self.get_async(key, cancelled))

    def get_many(self, keys: Sequence[str], cancelled: Callable[[], bool] = lambda: False) -> list[bytes | None]:
        """Several objects at once (concurrent requests); None for each that does not exist."""
        async def all_of() -> list[bytes | None]:
            return list(await asyncio.gather(*(self.get_async(k, cancelled) for k in keys)))

        return _zarr_sync(all_of())

    async def list_dir_async(self, prefix: str,
                             cancelled: Callable[[], bool] = lambda: False) -> tuple[list[str], list[ObjectFacts]]:
        import obstore as obs

        path = prefix.strip("/")

        async def listing() -> Any:
            self._counted()
            return await obs.list_with_delimiter_async(self.client, path + "/" if path else None)

        try:
            result = await _cancellable(listing(), cancelled, f"listing {self.url(path)}")
        except RemoteError:
            raise
        except Exception as exc:
            raise self.error(exc, path) from exc
        cut = len(path) + 1 if path else 0
        folders = [p.rstrip("/")[cut:] for p in result["common_prefixes"]]
        objects = [ObjectFacts(o["path"][cut:], int(o["size"])) for o in result["objects"]]
        return folders, objects

    def list_dir(self, prefix: str, cancelled: Callable[[], bool] = lambda: False) -> tuple[list[str], list[ObjectFacts]]:
        """The folder names and the objects (with sizes) directly under ``prefix`` (S3 only)."""
        return _zarr_sync(self.list_dir_async(prefix, cancelled))

    async def walk_async(self, prefix: str, cancelled: Callable[[], bool] = lambda: False,
                         page: int = 1000) -> Any:
        """Every object under ``prefix`` (keys relative to it), in pages (an async generator)."""
        import obstore as obs

        path = prefix.strip("/")
        cut = len(path) + 1 if path else 0
        stream = obs.list(self.client, path + "/" if path else None, chunk_size=page)
        while True:
            self._counted()
            try:
                batch = await _cancellable(stream.__anext__(), cancelled, f"listing {self.url(path)}")
            except StopAsyncIteration:
                return
            except RemoteError:
                raise
            except Exception as exc:
                raise self.error(exc, path) from exc
            yield [ObjectFacts(o["path"][cut:], int(o["size"]), o.get("e_tag")) for o in batch]

    def walk(self, prefix: str, cancelled: Callable[[], bool] = lambda: False,
             page: int = 1000) -> Iterator[list[ObjectFacts]]:
        """Every object under ``prefix`` (keys relative to it), in pages as S3 returns them."""
        pages = self.walk_async(prefix, cancelled, page)

        async def next_page() -> list[ObjectFacts] | None:
            try:
                return await pages.__anext__()  # type: ignore[no-any-return]
            except StopAsyncIteration:
                return None

        while True:
            batch = _zarr_sync(next_page())
            if batch is None:
                return
            yield batch

    def put(self, key: str, data: bytes) -> None:
        """Write one object (S3 only)."""
        import obstore as obs

        async def upload() -> None:
            self._counted()
            await obs.put_async(self.client, key, data)

        try:
            _zarr_sync(upload())
        except Exception as exc:
            raise self.error(exc, key) from exc
        self.absent.forget(key)
        self.cache.put(key, data)

    def written_under(self, prefix: str) -> None:
        """Objects at or below ``prefix`` were just written (or deleted) here: what was
        read of them before, and the 404s remembered for them, are forgotten, so that
        the next read asks the server (an upload previewed at once shows what was sent)."""
        self.cache.drop_under(prefix)
        self.absent.forget_under(prefix)

    def delete(self, key: str) -> None:
        import obstore as obs

        try:
            self._counted()
            _zarr_sync(obs.delete_async(self.client, key))
        except Exception as exc:
            raise self.error(exc, key) from exc

    def reader(self, root_key: str) -> Any:
        """A zarr store rooted at ``root_key`` that reads through this store's cache, with
        its own cancel token (:class:`CachedStore`)."""
        return make_cached_store(self, root_key)


# -- zarr's view ---------------------------------------------------------------------------------

_store_class: Any = None


def make_cached_store(remote: RemoteStore, root_key: str) -> Any:
    """A zarr ``Store`` for ``remote`` below ``root_key``, read-only, cached, cancellable."""
    global _store_class
    if _store_class is None:
        _store_class = _define_store_class()
    return _store_class(remote, root_key.strip("/"))


def _define_store_class() -> Any:
    from zarr.abc.store import ByteRequest, RangeByteRequest, Store
    from zarr.core.buffer import Buffer, BufferPrototype

    class CachedStore(Store):
        """zarr's door to a :class:`RemoteStore`: keys below ``root``; whole objects come
        from the shared cache when they are there; ``cancel()`` stops this reader's reads."""

        supports_writes = False
        supports_deletes = False
        supports_partial_writes = False
        supports_listing = True

        def __init__(self, remote: RemoteStore, root: str) -> None:
            super().__init__(read_only=True)
            self.remote = remote
            self.root = root
            self.token = CancelToken()  # this reader's own: cancel() / close()
            self.cancelled: Callable[[], bool] = self.token  # what every read checks
            self.supports_listing = remote.can_list

        def follow(self, cancelled: Callable[[], bool]) -> None:
            """Stop this reader's reads also when ``cancelled()`` says so (a job's token, or
            the read session's: ``remote_zarr.read_session``)."""
            own = self.token
            self.cancelled = lambda: own.cancelled or cancelled()

        def cancel(self) -> None:
            """Stop every read of this reader, in flight or to come."""
            self.token.cancel()

        close_reads = cancel

        def close(self) -> None:  # Preview.close(): the preview is gone, so are its reads
            self.token.cancel()

        def __eq__(self, other: object) -> bool:
            return isinstance(other, CachedStore) and other.remote is self.remote and other.root == self.root

        __hash__ = object.__hash__

        def _key(self, key: str) -> str:
            return f"{self.root}/{key}" if self.root else key

        def _stop(self) -> Callable[[], bool]:
            """What stops a read made now: this reader's test, and the context's
            (:func:`~.remote_cancel.reads_stopped_by`) when one is set."""
            extra, own = _stop_reads.get(), self.cancelled
            return own if extra is None else (lambda: own() or extra())

        async def get(self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None) -> Buffer | None:
            full = self._key(key)
            if byte_range is None:
                if self.remote.absent.known(full):  # answered from memory: not noted again (no longer believed)
                    return None
                data = await self.remote.get_buffer_async(full, self._stop())
                if data is None and not _is_metadata(key):
                    self.remote.absent.note(full)  # a chunk or shard (read whole): see remote_absent
                return None if data is None else prototype.buffer.from_bytes(data)
            whole = self.remote.cache.get(full)
            if whole is not None:
                return prototype.buffer.from_bytes(_slice(whole, byte_range))
            import obstore as obs
            from obstore.exceptions import NotFoundError

            async def ranged() -> bytes:
                self.remote._counted()
                if isinstance(byte_range, RangeByteRequest):
                    return bytes(await obs.get_range_async(self.remote.client, full, start=byte_range.start,
                                                           end=byte_range.end))
                options: dict[str, Any] = {}
                if hasattr(byte_range, "suffix"):
                    options["range"] = {"suffix": byte_range.suffix}
                else:
                    options["range"] = {"offset": byte_range.offset}
                response = await obs.get_async(self.remote.client, full, options=options)  # type: ignore[arg-type]
                return bytes(await response.bytes_async())

            cache_key = (full, repr(byte_range))
            cached = self.remote.cache.get(cache_key)
            if cached is not None:
                return prototype.buffer.from_bytes(cached)
            if self.remote.absent.known(full):
                return None
            try:
                data = await _cancellable(ranged(), self._stop(), f"reading {self.remote.url(full)}")
            except (NotFoundError, FileNotFoundError):
                self.remote.absent.note(full)  # the same shard read whole next (napari) costs no request
                return None
            except RemoteError:
                raise
            except Exception as exc:
                raise self.remote.error(exc, full) from exc
            self.remote.cache.put(cache_key, data)
            return prototype.buffer.from_bytes(data)

        async def get_partial_values(self, prototype: BufferPrototype,
                                     key_ranges: Any) -> list[Buffer | None]:
            return list(await asyncio.gather(*(self.get(k, prototype, r) for k, r in key_ranges)))

        async def exists(self, key: str) -> bool:
            return await self.remote.get_async(self._key(key), self._stop()) is not None

        async def set(self, key: str, value: Buffer) -> None:
            raise PermissionError("remote stores are opened read-only")

        async def delete(self, key: str) -> None:
            raise PermissionError("remote stores are opened read-only")

        async def list(self) -> Any:
            async for page in self.remote.walk_async(self.root, self.cancelled):
                for item in page:
                    yield item.key

        async def list_prefix(self, prefix: str) -> Any:
            base = self._key(prefix).strip("/")
            cut = len(self.root) + 1 if self.root else 0
            async for page in self.remote.walk_async(base, self.cancelled):
                for item in page:
                    yield f"{base}/{item.key}"[cut:] if base else item.key

        async def list_dir(self, prefix: str) -> Any:
            folders, objects = await self.remote.list_dir_async(self._key(prefix), self.cancelled)
            for name in folders:
                yield name
            for item in objects:
                yield item.key

    return CachedStore


def _is_metadata(key: str) -> bool:
    """A zarr metadata document (never remembered absent: a node may be made any time)."""
    return key.rsplit("/", 1)[-1] in METADATA_NAMES


def _slice(data: bytes, byte_range: Any) -> bytes:
    if hasattr(byte_range, "suffix"):
        return data[-byte_range.suffix:] if byte_range.suffix else b""
    if hasattr(byte_range, "end"):
        return data[byte_range.start:byte_range.end]
    return data[byte_range.offset:]


# -- the open stores -----------------------------------------------------------------------------

_open: dict[tuple[str, str, RemoteOptions], RemoteStore] = {}
_open_lock = threading.Lock()


def remote_store(url: RemoteURL, options: RemoteOptions | None = None) -> RemoteStore:
    """The open store for ``url``'s bucket or host with ``options`` (the store's own
    settings when None); made once and kept for the process. Raises RemoteError /
    CredentialsError when the identity cannot be resolved."""
    chosen = options if options is not None else options_for(url)
    key = (url.scheme, url.authority, chosen)
    with _open_lock:
        found = _open.get(key)
        if found is not None:
            return found
    identity = None if url.is_http else resolve_identity(chosen)
    top = RemoteURL(url.scheme, url.authority, "")
    made = RemoteStore(top, identity)
    with _open_lock:
        return _open.setdefault(key, made)


def forget_reads(path: str | None) -> None:
    """View → Refresh (F5) on the remote address ``path`` (None: on every store): the open
    stores of its bucket or host forget what they read at or below it and the 404s they
    remember there, so the next reads ask the server. Not a remote address: nothing
    happens. No request is made (cheap enough for the GUI thread)."""
    from .remote_address import RemoteAddressError, parse_url

    url: RemoteURL | None = None
    if path is not None:
        try:
            url = parse_url(path)
        except RemoteAddressError:
            return
    with _open_lock:
        stores = [store for (scheme, authority, _options), store in _open.items()
                  if url is None or (scheme, authority) == (url.scheme, url.authority)]
    for store in stores:
        store.written_under("" if url is None else url.key)


def forget_stores() -> None:
    """Drop every open store (new options, or a test's end)."""
    with _open_lock:
        _open.clear()
