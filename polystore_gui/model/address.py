"""Addresses: ``BACKEND:PATH`` strings naming one thing inside one backend."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .remote_address import is_remote_path, normalise_url


class UnknownBackendError(KeyError):
    """An address names a backend that polystore's registry does not know."""

    def __init__(self, backend: str, known: list[str]) -> None:
        super().__init__(backend)
        self.backend = backend
        self.known = sorted(known)

    def __str__(self) -> str:
        return f"unknown backend {self.backend!r}; known backends: {', '.join(self.known)}"


@dataclass(frozen=True, slots=True)
class Address:
    """One place in one backend. ``path`` is POSIX text exactly as the backend takes it."""

    backend: str
    path: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.path}"

    def as_json(self) -> dict[str, str]:
        return {"backend": self.backend, "path": self.path}


def parse_address(text: str, known_backends: list[str] | None = None) -> Address:
    """Parse ``BACKEND:PATH``; a bare path (no known backend prefix) means ``disk``.

    ``known_backends`` decides what counts as a prefix, so ``C:`` style or ``a:b`` file
    names are not mistaken for backends. When it is ``None`` any identifier-like prefix
    before the first colon is taken as a backend name.
    A bare disk path is made absolute against the current directory. A remote store URL
    (``s3://…``, ``http(s)://…``, bare or after ``zarr:`` / ``ome_zarr:``) is kept as a
    URL (RemoteAddressError, a ValueError, when it names no bucket or host); bare, it
    means ``zarr``.
    """
    if is_remote_path(text):
        return Address("zarr", normalise_url(text))
    head, sep, tail = text.partition(":")
    if sep and head and _looks_like_backend(head):
        if known_backends is None or head in known_backends:
            return Address(head, _normalise(head, tail))
        # ``foo:bar`` where ``foo`` is not a backend: if no such file exists either,
        # the user most likely mistyped a backend name.
        if not os.path.lexists(text):
            raise UnknownBackendError(head, known_backends)
    return Address("disk", _normalise("disk", text))


def _looks_like_backend(head: str) -> bool:
    return head.replace("_", "").isalnum() and not head[0].isdigit() and "/" not in head


def _is_local(backend: str) -> bool:
    """Whether ``backend``'s paths are this machine's file paths (its adapter says so)."""
    from .backends import claimed_adapter

    adapter = claimed_adapter(backend)
    return adapter is not None and adapter.capabilities.local


def _is_remote(backend: str, path: str) -> bool:
    """Whether the adapter serving this URL path says it is reached over a network (the
    scheme's adapter answers: polystore's registry is not asked)."""
    from .backends import adapter_for

    return adapter_for(backend, path).capabilities.remote


def _normalise(backend: str, path: str) -> str:
    if is_remote_path(path) and _is_remote(backend, path):
        return normalise_url(path)
    if _is_local(backend):
        return os.path.abspath(os.path.expanduser(path or "."))
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


# The tree's drag-and-drop MIME type for its own entries: JSON [{"backend": ..., "path": ...}].
ENTRIES_MIME = "application/x-polystore-entries"


def path_under(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or lies under it, by spelling (any backend's paths:
    nothing is resolved or normalised)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def encode_entries(addresses: list[Address]) -> bytes:
    """The ``application/x-polystore-entries`` payload for ``addresses`` (order kept, no repeats)."""
    import json

    unique = list(dict.fromkeys(addresses))
    return json.dumps([a.as_json() for a in unique]).encode("utf-8")


def decode_entries(payload: bytes) -> list[Address]:
    """The addresses in an ``application/x-polystore-entries`` payload; ValueError when malformed."""
    import json

    try:
        items = json.loads(bytes(payload).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a polystore entries payload: {exc}") from exc
    if not isinstance(items, list):
        raise ValueError("not a polystore entries payload: expected a JSON list")
    out = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("backend"), str) and isinstance(item.get("path"), str)):
            raise ValueError(f"not a polystore entry: {item!r}")
        out.append(Address(item["backend"], item["path"]))
    return out
