"""How the browser reaches a remote store: options, credentials, and the client it builds.

Credentials are found the way the AWS tools find them, in this order: ``anonymous``
(asked for: no signature, for public data), a named ``~/.aws`` profile (``--profile``, a
per-store setting, or ``AWS_PROFILE``), the ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
/ ``AWS_SESSION_TOKEN`` environment variables, the default profile of ``~/.aws``. When
none is found the store is read anonymously (public data needs no keys). The instance
metadata service is never asked (it is a network address outside the user's choice and
costs seconds where there is none). The endpoint of an S3-compatible service comes from
``--endpoint-url`` / the per-store setting, then ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL``, then the profile's ``endpoint_url``.

:class:`RemoteOptions` (what the user chose) holds only names and URLs; secrets live in
:class:`Identity` for the life of one open store and are never written anywhere.

Client: obstore (Rust ``object_store``) under zarr 3's ``ObjectStore``. Measured against
fsspec/s3fs on the 50 ms loopback server (benchmarks/README.md, "Remote stores"): as quick
over HTTP (both are latency-bound), quicker over S3, with typed errors (403 is
``PermissionDeniedError``, 404 ``NotFoundError``), timeouts and retries set per client, and
no aiobotocore context-variable errors when a read is cancelled.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from .remote_address import RemoteURL

CONNECT_TIMEOUT = timedelta(seconds=5)
REQUEST_TIMEOUT = timedelta(seconds=30)
MAX_RETRIES = 2
RETRY_TIMEOUT = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class RemoteOptions:
    """What the user chose for one store (never a secret): a ``profile`` name, an
    ``endpoint_url``, ``anonymous`` access, a ``region``. Empty fields mean "as the
    environment says"."""

    profile: str | None = None
    endpoint_url: str | None = None
    anonymous: bool = False
    region: str | None = None

    def merged(self, other: RemoteOptions) -> RemoteOptions:
        """These options with the fields ``other`` sets taken from ``other``."""
        return RemoteOptions(
            profile=other.profile or self.profile,
            endpoint_url=other.endpoint_url or self.endpoint_url,
            anonymous=other.anonymous or self.anonymous,
            region=other.region or self.region,
        )

    def as_settings(self) -> dict[str, Any]:
        """What may be kept in the app's settings (names and URLs only)."""
        return {"profile": self.profile or "", "endpoint_url": self.endpoint_url or "", "anonymous": self.anonymous}


@dataclass(frozen=True, slots=True, repr=False)
class Identity:
    """Who the requests are made as, resolved from :class:`RemoteOptions`.

    ``description`` names it for messages ("anonymous", "access key AKIA…TEST from the
    environment", "profile 'lab'"); the secrets are never shown (``repr`` hides them).
    """

    description: str
    anonymous: bool
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    region: str = "us-east-1"
    endpoint_url: str | None = None

    def __repr__(self) -> str:
        return f"Identity({self.description!r}, endpoint={self.endpoint_url!r})"


class CredentialsError(Exception):
    """The chosen credentials cannot be used (a profile that does not exist, say)."""


# Options chosen per store root (the window's "Open Remote Store…" and the CLI's flags),
# for the life of the process: "s3://bucket/a.zarr" -> options. Only names and URLs.
_store_options: dict[str, RemoteOptions] = {}
_default_options = RemoteOptions()
_lock = threading.Lock()


def set_default_options(options: RemoteOptions) -> None:
    """Options for every store that has none of its own (the CLI's flags)."""
    global _default_options
    with _lock:
        _default_options = options


def set_store_options(root: str, options: RemoteOptions) -> None:
    """Options for the store at ``root`` and everything under it."""
    with _lock:
        _store_options[root.rstrip("/")] = options


def options_for(url: RemoteURL) -> RemoteOptions:
    """The options for ``url``: its store's own (the longest root it lies under), merged
    over the defaults."""
    text = str(url)
    with _lock:
        best = None
        for root, options in _store_options.items():
            if (text == root or text.startswith(root + "/")) and (best is None or len(root) > len(best[0])):
                best = (root, options)
        return _default_options if best is None else _default_options.merged(best[1])


def _mask(key: str) -> str:
    return f"{key[:4]}…{key[-4:]}" if len(key) > 10 else "…"


_resolving_lock = threading.Lock()
_resolving: dict[RemoteOptions, Future[Identity]] = {}


def resolve_identity(options: RemoteOptions) -> Identity:
    """The identity and endpoint for ``options`` (see the module docstring for the order).

    Raises CredentialsError when a named profile does not exist.

    Calls made while one for the same options is under way wait for its answer (or its
    error) instead of resolving again: opening a store starts its listing, its preview and
    its chunk map at once, and four botocore sessions built side by side (its imports, its
    configuration files, its credential chain: tens of ms of Python each) held the
    interpreter lock from the GUI thread for ~100 ms (bench_remote's window, issue 19). A
    call after that one has ended resolves afresh (credentials may have changed).
    """
    with _resolving_lock:
        pending = _resolving.get(options)
        mine = pending is None
        if pending is None:
            pending = _resolving[options] = Future()
    if not mine:
        return pending.result()  # waits without the interpreter lock; raises the first call's error
    try:
        identity = _resolve_identity(options)
    except BaseException as exc:
        pending.set_exception(exc)
        raise
    finally:
        with _resolving_lock:
            _resolving.pop(options, None)
    pending.set_result(identity)
    return identity


def _resolve_identity(options: RemoteOptions) -> Identity:
    endpoint = (options.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL") or None)
    region = options.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if options.anonymous:
        return Identity("anonymous (no credentials)", True, region=region or "us-east-1", endpoint_url=endpoint)
    import botocore.exceptions
    import botocore.session

    profile = options.profile or None
    try:
        session = botocore.session.Session(profile=profile)
        scoped = session.get_scoped_config()
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS profile {profile!r} is not in ~/.aws/config or ~/.aws/credentials "
            "(choose another with --profile, or --anonymous for public data)") from exc
    endpoint = endpoint or scoped.get("endpoint_url") or (scoped.get("s3") or {}).get("endpoint_url") or None
    region = region or scoped.get("region") or "us-east-1"
    resolver = session.get_component("credential_provider")
    for name in ("iam-role", "container-role"):  # never the instance metadata service
        try:
            resolver.remove(name)
        except Exception:  # not in this botocore's chain
            pass
    if profile is not None:
        # A named profile wins over the environment's keys, as the AWS CLI's --profile does.
        for name in ("env",):
            try:
                resolver.remove(name)
            except Exception:
                pass
    try:
        credentials = session.get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"cannot read the AWS credentials: {exc}") from exc
    if credentials is None:
        if profile is not None:
            raise CredentialsError(f"AWS profile {profile!r} holds no credentials "
                                   "(choose another with --profile, or --anonymous for public data)")
        return Identity("anonymous (no credentials found: no AWS_ACCESS_KEY_ID, AWS_PROFILE or ~/.aws profile)",
                        True, region=region, endpoint_url=endpoint)
    frozen = credentials.get_frozen_credentials()
    method = getattr(credentials, "method", "")
    where = {"env": "the environment (AWS_ACCESS_KEY_ID)", "shared-credentials-file": "~/.aws/credentials",
             "config-file": "~/.aws/config"}.get(method, method or "the AWS configuration")
    who = f"access key {_mask(frozen.access_key)} from {where}"
    if profile is not None or (method in ("shared-credentials-file", "config-file")):
        who += f", profile {profile or session.profile or 'default'!r}"
    return Identity(who, False, frozen.access_key, frozen.secret_key, frozen.token, region, endpoint)


def _client_options(url: str) -> dict[str, Any]:
    return {
        "connect_timeout": CONNECT_TIMEOUT,
        "timeout": REQUEST_TIMEOUT,
        "allow_http": url.startswith("http://"),
    }


def _retry_config() -> dict[str, Any]:
    return {
        "max_retries": MAX_RETRIES,
        "retry_timeout": RETRY_TIMEOUT,
        "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=2), "base": 2},
    }


def build_object_store(root: RemoteURL, identity: Identity | None) -> Any:
    """The obstore store whose keys are relative to ``root`` (an S3 prefix or an HTTP base)."""
    from obstore.store import HTTPStore, S3Store

    if root.is_http:
        base = str(root)
        return HTTPStore.from_url(base, client_options=_client_options(base),  # type: ignore[arg-type]
                                  retry_config=_retry_config())  # type: ignore[arg-type]
    assert identity is not None
    config: dict[str, Any] = {"region": identity.region}
    endpoint = identity.endpoint_url
    if endpoint:
        config["endpoint"] = endpoint.rstrip("/")
        config["virtual_hosted_style_request"] = False
    if identity.anonymous:
        config["skip_signature"] = True
    else:
        config["access_key_id"] = identity.access_key
        config["secret_access_key"] = identity.secret_key
        if identity.token:
            config["session_token"] = identity.token
    return S3Store(root.authority, prefix=root.key or None, config=config,  # type: ignore[arg-type]
                   client_options=_client_options(endpoint or "https://"),  # type: ignore[arg-type]
                   retry_config=_retry_config())  # type: ignore[arg-type]


def with_region(identity: Identity, region: str) -> Identity:
    return replace(identity, region=region)
