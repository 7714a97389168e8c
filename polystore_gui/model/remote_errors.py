"""What went wrong with a remote store, in one sentence that says which failure it was.

obstore raises typed errors for what the server answered (403, 404) and a generic error,
with reqwest's chain of causes in the text, for what the network did (DNS, refused,
timed out, TLS, dropped). :func:`explain` turns either into a :class:`RemoteError` whose
``kind`` a caller can test and whose text a user can act on.
"""

from __future__ import annotations

from .remote_access import REQUEST_TIMEOUT, Identity
from .remote_address import RemoteURL

ACCESS_DENIED = "access denied"
NOT_FOUND = "not found"
DNS = "DNS failure"
REFUSED = "connection refused"
TIMEOUT = "timeout"
TLS = "TLS error"
DROPPED = "connection dropped"
CANCELLED = "cancelled"
OTHER = "network error"

_HOW_TO_CHOOSE = ("choose another identity with --profile NAME (or AWS_PROFILE), AWS_ACCESS_KEY_ID / "
                  "AWS_SECRET_ACCESS_KEY, or --anonymous for public data; in the window: File → Open Remote Store…")


class RemoteError(OSError):
    """A remote store could not be read or written; ``kind`` is one of this module's constants."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


class RemoteCancelled(RemoteError):
    """A read was cancelled (the user moved on); its requests were dropped."""

    def __init__(self, what: str = "the read") -> None:
        super().__init__(CANCELLED, f"{what} was cancelled")


def _host(url: RemoteURL, identity: Identity | None) -> str:
    if url.is_s3:
        endpoint = identity.endpoint_url if identity is not None else None
        return endpoint or "AWS S3"
    return url.authority


def explain(exc: BaseException, url: RemoteURL, identity: Identity | None = None) -> RemoteError:
    """``exc`` (from obstore, asyncio or the OS) as a RemoteError about ``url``."""
    if isinstance(exc, RemoteError):
        return exc
    name = type(exc).__name__
    full = str(exc)
    text = full.split("\n\nDebug source:", 1)[0]
    # obstore's text names its retry settings ("retry_timeout: 10s") whatever failed: not a timeout.
    low = full.lower().replace("retry_timeout", "").replace("_", "")
    where = str(url)
    host = _host(url, identity)
    who = identity.description if identity is not None else "anonymous"
    if name in ("PermissionDeniedError", "UnauthenticatedError") or "403 forbidden" in low or "401 unauthorized" in low:
        if url.is_s3:
            how = _HOW_TO_CHOOSE.replace(", or --anonymous for public data", "") if identity is None or identity.anonymous \
                else _HOW_TO_CHOOSE
            return RemoteError(ACCESS_DENIED, f"{where}: Permission denied (403) to {who}; {how}")
        return RemoteError(ACCESS_DENIED, f"{where}: the server refused access (HTTP 403/401); "
                                          "it may need a login the browser cannot give, or the address is private")
    if name == "NotFoundError" or "404 not found" in low or "nosuchkey" in low:
        return RemoteError(NOT_FOUND, f"{where}: does not exist on {host}")
    if "nosuchbucket" in low or "bucket does not exist" in low:
        return RemoteError(NOT_FOUND, f"{where}: bucket {url.authority!r} does not exist on {host}")
    if "dns error" in low or "failed to lookup address" in low or "name or service not known" in low \
            or "nodename nor servname" in low or "temporary failure in name resolution" in low:
        return RemoteError(DNS, f"{where}: DNS failure: the host name of {host} cannot be resolved "
                                "(check the address or the endpoint URL, and the network)")
    if any(s in low for s in ("certificate", "tls", "ssl", "handshake", "invalidmessage", "alertreceived")):
        return RemoteError(TLS, f"{where}: TLS error talking to {host}: the server's certificate was not "
                                "accepted (self-signed or expired?) or it does not speak HTTPS")
    if "connection refused" in low or "actively refused" in low or "connectionrefused" in low:
        return RemoteError(REFUSED, f"{where}: connection refused by {host} (no server listens there: "
                                    "is it running, is the endpoint URL right?)")
    if isinstance(exc, TimeoutError) or "timed out" in low or "timedout" in low or "timeout" in low:
        return RemoteError(TIMEOUT, f"{where}: timeout: {host} did not answer within "
                                    f"{int(REQUEST_TIMEOUT.total_seconds())} s (a slow or unreachable network)")
    if any(s in low for s in ("connection closed", "connection reset", "connectionreset", "incomplete message",
                              "incompletemessage", "unexpected eof", "unexpectedeof", "broken pipe",
                              "error sending request", "connection error", "error reading")):
        return RemoteError(DROPPED, f"{where}: the connection to {host} was dropped before the answer was complete "
                                    "(the server stopped or the network failed)")
    first = text.strip().splitlines()[0] if text.strip() else name
    return RemoteError(OTHER, f"{where}: network error from {host}: {first[:300]}")
