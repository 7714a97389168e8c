"""Remote store addresses: ``s3://bucket/key`` and ``http(s)://host/path`` URLs.

A remote address keeps its URL exactly as typed (no ``abspath``, no lower-casing of the
key), apart from a trailing slash, so that ``zarr:s3://bucket/a.zarr`` and the bare
``s3://bucket/a.zarr`` name the same store. Cheap to import: no network client here.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

SCHEMES = ("s3", "http", "https")


class RemoteAddressError(ValueError):
    """A URL the browser cannot use as a remote store (an unknown scheme, no bucket)."""


def is_remote_path(path: str) -> bool:
    """True for ``s3://…``, ``http://…`` and ``https://…`` (any case of the scheme)."""
    head, sep, _ = path.partition("://")
    return bool(sep) and head.lower() in SCHEMES


@dataclass(frozen=True, slots=True)
class RemoteURL:
    """One remote place: ``scheme`` (s3, http, https), ``authority`` (a bucket, or
    ``host[:port]``) and ``key`` (the object path inside, no leading or trailing slash)."""

    scheme: str
    authority: str
    key: str

    @property
    def url(self) -> str:
        return str(self)

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"

    @property
    def is_http(self) -> bool:
        return self.scheme in ("http", "https")

    @property
    def name(self) -> str:
        """The last part of the key (the bucket or host for the top)."""
        return self.key.rsplit("/", 1)[-1] if self.key else self.authority

    def child(self, name: str) -> RemoteURL:
        name = name.strip("/")
        return RemoteURL(self.scheme, self.authority, f"{self.key}/{name}" if self.key else name)

    def parent(self) -> RemoteURL | None:
        if not self.key:
            return None
        return RemoteURL(self.scheme, self.authority, self.key.rsplit("/", 1)[0] if "/" in self.key else "")

    def relative_to(self, root: RemoteURL) -> str:
        """The key of this place below ``root`` ("" for the root itself)."""
        if (self.scheme, self.authority) != (root.scheme, root.authority):
            raise ValueError(f"{self} is not inside {root}")
        if not root.key:
            return self.key
        if self.key == root.key:
            return ""
        if not self.key.startswith(root.key + "/"):
            raise ValueError(f"{self} is not inside {root}")
        return self.key[len(root.key) + 1:]

    def __str__(self) -> str:
        return f"{self.scheme}://{self.authority}/{self.key}" if self.key else f"{self.scheme}://{self.authority}"


def parse_url(text: str) -> RemoteURL:
    """``text`` as a :class:`RemoteURL`; RemoteAddressError with a sentence when it is not one."""
    head, sep, rest = text.strip().partition("://")
    scheme = head.lower()
    if not sep or scheme not in SCHEMES:
        raise RemoteAddressError(
            f"not a remote store address: {text[:200]!r} (use s3://bucket/path or https://host/path)")
    if "?" in rest or "#" in rest:
        rest = rest.split("?", 1)[0].split("#", 1)[0]
    authority, _, key = rest.partition("/")
    if not authority:
        what = "no bucket" if scheme == "s3" else "no host"
        raise RemoteAddressError(f"{text[:200]!r} names {what}: none is given")
    if scheme == "s3" and (":" in authority or "@" in authority):
        raise RemoteAddressError(f"{authority!r} is not an S3 bucket name (give the endpoint with --endpoint-url)")
    parts = [p for p in urllib.parse.unquote(key).split("/") if p]
    if any(p in (".", "..") or "\0" in p for p in parts):
        raise RemoteAddressError(f"{text[:200]!r}: '.' and '..' are not allowed in a remote path")
    return RemoteURL(scheme, authority if scheme == "s3" else authority.lower(), "/".join(parts))


def normalise_url(text: str) -> str:
    """The canonical text of a remote address (scheme lower-cased, no trailing slash)."""
    return str(parse_url(text))
