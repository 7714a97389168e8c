"""The persistent viewer's wire rules: JSON only, bounded sizes, a per-session token.

Nothing that arrives on a viewer socket is unpickled, on either side. The control channel
(data port + 1000, ZeroMQ REQ/REP) carries one JSON object per message:

- request: ``{"protocol": PROTOCOL, "type": "ping" | "status" | "shutdown", "token": "..."}``
- reply: ``{"protocol": PROTOCOL, "server": SERVER_NAME, "status": "ok" | "error", ...}``;
  an error carries ``error`` (``"token"`` or ``"request"``) and ``message``. A reply to a
  request with a wrong or missing token still names the server (and nothing else: no PID,
  no layers), so a client can say "a viewer runs here but your token does not match"
  instead of "another program".

Data batches (polystore's ``napari_stream`` JSON on the data port) carry the same token in
``display_config["token"]`` (our display config's ``display_payload_extra``); the viewer
refuses a batch without it before it touches any shared memory.

The token is made by the viewer when it starts (``secrets.token_urlsafe``) and written to
``token_path(port)``: mode 0600 in a 0700 folder, as Jupyter keeps its runtime files, so
only the user who started the viewer (and root) can use it. ``POLYSTORE_GUI_VIEWER_TOKEN``
overrides the file on the client side (a viewer on another machine).

Every socket bound or connected for the viewer sets ZeroMQ's ``MAXMSGSIZE``: a peer that
announces a longer message is disconnected by libzmq before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import os
import secrets
import socket
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROTOCOL = "polystore-gui-viewer/1"
SERVER_NAME = "PolystoreNapariViewer"

PING = "ping"
STATUS = "status"
SHUTDOWN = "shutdown"
REQUEST_TYPES = (PING, STATUS, SHUTDOWN)

# Size caps (bytes). A control request is a few hundred bytes; a status reply lists layers
# (about 150 bytes each); a data batch is polystore's JSON, about 1 KB per image (the
# pixels travel in shared memory, never on the socket).
MAX_REQUEST_BYTES = 16 << 10
MAX_REPLY_BYTES = 4 << 20
MAX_BATCH_BYTES = 64 << 20
MAX_TOKEN_CHARS = 256
MAX_LAYERS_REPORTED = 10_000
# A REP socket queues at most this many requests; more wait in the peers' own queues.
RECEIVE_QUEUE = 16

TOKEN_ENV = "POLYSTORE_GUI_VIEWER_TOKEN"
RUNTIME_DIR_ENV = "POLYSTORE_GUI_RUNTIME_DIR"


class ProtocolError(ValueError):
    """A message that is not what the protocol allows; the text says why."""


# -- the token ----------------------------------------------------------------------------


def runtime_dir() -> Path:
    """Where the viewers' token files live (not created here).

    ``$POLYSTORE_GUI_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/polystore-gui`` (a per-user
    tmpfs on most Linux desktops), else the user data folder's ``runtime`` (as Jupyter's
    ``~/.local/share/jupyter/runtime``).
    """
    explicit = os.environ.get(RUNTIME_DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg) / "polystore-gui"
    import platformdirs

    return platformdirs.user_data_path("polystore-gui") / "runtime"


def token_path(port: int) -> Path:
    return runtime_dir() / f"viewer-{port}.token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) or make sure it is ours and closed to others."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(f"{path} is not a folder")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise OSError(f"{path} belongs to another user: the viewer's token cannot be kept private there")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)


def write_token(port: int, token: str, *, pid: int, host: str) -> Path:
    """Write the token file for ``port`` (0600 in a 0700 folder), atomically; returns its path."""
    path = token_path(port)
    _private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    body = json.dumps({"protocol": PROTOCOL, "port": port, "host": host, "pid": pid, "token": token})
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(body)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def read_token(port: int) -> str | None:
    """The token clients send to the viewer on ``port``: the environment's, else the file's."""
    explicit = os.environ.get(TOKEN_ENV)
    if explicit:
        return explicit
    try:
        with open(token_path(port), encoding="utf-8") as handle:
            text = handle.read(4096)
        doc = json.loads(text)
    except (OSError, ValueError):
        return None
    token = doc.get("token") if isinstance(doc, dict) else None
    return token if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS else None


def remove_token(port: int, token: str) -> None:
    """Remove the token file of ``port`` if it still holds ``token`` (a newer viewer's stays)."""
    path = token_path(port)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("token") == token:
            path.unlink()
    except (OSError, ValueError):
        pass


def token_matches(offered: object, expected: str) -> bool:
    """Constant-time comparison; anything but a string of the right kind is a mismatch."""
    if not isinstance(offered, str) or not offered or len(offered) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


# -- hosts and routes ----------------------------------------------------------------------


def is_loopback(host: str, *, resolve: bool = True) -> bool:
    """Whether ``host`` names only this machine's loopback interface (``*`` is every interface).

    A name other than ``localhost`` is looked up only when ``resolve`` (never for an
    address that came over a socket).
    """
    host = host.strip().strip("[]")
    if not host or host == "*":
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not resolve:
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def exposure_warning(host: str) -> str | None:
    """The warning to print before listening on ``host``, or None on the loopback."""
    if is_loopback(host):
        return None
    return (
        f"WARNING: the viewer listens on {host}, reachable from other machines. Every request "
        f"must carry the session token, but the traffic is not encrypted: anyone who can read "
        f"it can take the token and use the viewer. Prefer the default (127.0.0.1) and an SSH tunnel."
    )


def route_refusal(url: object, *, allow_remote: bool) -> str | None:
    """Why the viewer must not connect to an acknowledgement route ``url``, or None.

    A batch names where each image's acknowledgement goes; a hostile batch could name any
    address. Only ``tcp://`` routes are taken, and only on the loopback unless the viewer
    was deliberately bound to another interface.
    """
    if not isinstance(url, str) or len(url) > 300:
        return "the acknowledgement route is not an address"
    parts = urlsplit(url)
    if parts.scheme != "tcp":
        return f"the acknowledgement route {url!r} is not tcp://"
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return f"the acknowledgement route {url!r} has no valid port"
    if not host or not port:
        return f"the acknowledgement route {url!r} names no host and port"
    if not allow_remote and not is_loopback(host, resolve=False):
        return f"the acknowledgement route {url!r} is not on this machine"
    return None


# -- messages -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Request:
    """One control request, checked against the schema."""

    kind: str
    token: str | None


def _load_object(raw: bytes, limit: int, what: str) -> dict[str, Any]:
    if len(raw) > limit:
        raise ProtocolError(f"{what} of {len(raw):,} bytes is over the {limit:,}-byte limit")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"{what} is not JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return doc


def encode_request(kind: str, token: str | None) -> bytes:
    return json.dumps({"protocol": PROTOCOL, "type": kind, "token": token or ""}).encode("utf-8")


def decode_request(raw: bytes) -> Request:
    """The request in ``raw``, or ProtocolError (never anything else)."""
    doc = _load_object(raw, MAX_REQUEST_BYTES, "the request")
    if doc.get("protocol") != PROTOCOL:
        raise ProtocolError(f"the request is not {PROTOCOL}")
    kind = doc.get("type")
    if kind not in REQUEST_TYPES:
        raise ProtocolError(f"unknown request type {str(kind)[:40]!r}")
    token = doc.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError("the token is not a string")
    return Request(str(kind), token or None)


def encode_reply(body: dict[str, Any]) -> bytes:
    """A reply: ``body`` with the protocol and server named; never over MAX_REPLY_BYTES."""
    doc = {"protocol": PROTOCOL, "server": SERVER_NAME, **body}
    raw = json.dumps(doc, default=str).encode("utf-8")
    if len(raw) > MAX_REPLY_BYTES:
        doc = {"protocol": PROTOCOL, "server": SERVER_NAME, "status": "error", "error": "reply",
               "message": "the reply would be too large"}
        raw = json.dumps(doc).encode("utf-8")
    return raw


def error_reply(error: str, message: str) -> bytes:
    return encode_reply({"status": "error", "error": error, "message": message})


def decode_reply(raw: bytes) -> dict[str, Any]:
    """A viewer's reply, or ProtocolError when ``raw`` is not one (another program)."""
    doc = _load_object(raw, MAX_REPLY_BYTES, "the reply")
    if doc.get("protocol") != PROTOCOL or not isinstance(doc.get("server"), str):
        raise ProtocolError("the reply is not from a polystore-gui viewer")
    if doc.get("status") not in ("ok", "error"):
        raise ProtocolError("the reply has no status")
    return doc


def batch_token(message: dict[str, Any]) -> object:
    """Where a data batch carries the token: ``display_config["token"]``."""
    config = message.get("display_config")
    return config.get("token") if isinstance(config, dict) else None
