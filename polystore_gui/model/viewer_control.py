"""The viewer process seen from the sender: its ports, what answers there, start and stop.

- ``viewer_state(port)`` asks the viewer's control channel (our JSON protocol with the
  session token, ``viewer_protocol``; nothing from a socket is ever unpickled) and says
  plainly what is there: nothing, our viewer (PID, layers), a viewer whose token we do not
  hold (another user's), or another program holding the port.
- ``ensure_viewer(port)`` starts the viewer, detached (its own session: it outlives the
  browser), when none answers, and waits until it says it is ready; ``stop_viewer`` asks it
  to close; ``require_receiver`` checks a receiver that must already run (Fiji).

Split from ``streaming`` (issue 15); every name here stays importable from ``model.streaming``.
No Qt, no napari.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import viewer_protocol as protocol

LOOPBACK = "127.0.0.1"
STATUS_REQUEST = protocol.STATUS
SHUTDOWN_REQUEST = protocol.SHUTDOWN
SERVER_NAME = protocol.SERVER_NAME  # the name our viewer gives in every reply
VIEWER_KIND = "polystore-gui napari viewer"


class StreamError(RuntimeError):
    """A send that could not happen or did not complete; the text is for the user."""


def default_port() -> int:
    """polystore's configured viewer port (``POLYSTORE_ZMQ_DEFAULT_PORT``, 7777)."""
    from polystore.zmq_config import POLYSTORE_ZMQ_CONFIG

    return int(POLYSTORE_ZMQ_CONFIG.default_port)


def control_port(port: int) -> int:
    from polystore.zmq_config import POLYSTORE_ZMQ_CONFIG

    return int(port + POLYSTORE_ZMQ_CONFIG.control_port_offset)


# -- what is on the port ---------------------------------------------------------------------


class Running(str, enum.Enum):
    NO = "not running"
    YES = "running"
    OTHER = "port taken by another program"
    DENIED = "token does not match"


@dataclasses.dataclass(frozen=True)
class ViewerState:
    """What answers on ``port``: the shown text comes from ``describe``."""

    port: int
    running: Running
    pid: int | None = None
    server: str | None = None
    layers: tuple[dict[str, Any], ...] = ()
    detail: str | None = None

    @property
    def ours(self) -> bool:
        return self.running is Running.YES and self.server == SERVER_NAME

    def describe(self, what: str = "viewer") -> str:
        if self.running is Running.NO:
            return f"{what} not running (port {self.port})"
        if self.running is Running.DENIED:
            return (f"a polystore-gui {what} runs on port {self.port} but your token does not match "
                    f"(started by another user?)")
        if self.running is Running.OTHER:
            return f"port {self.port} is taken by another program" + (f" ({self.detail})" if self.detail else "")
        layers = f", {len(self.layers)} layer{'s' if len(self.layers) != 1 else ''}" if self.ours else ""
        return f"{what} running on port {self.port}, PID {self.pid}{layers}"

    def as_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "running": self.running in (Running.YES, Running.DENIED),
            "state": self.running.value,
            "pid": self.pid,
            "server": self.server,
            "layers": [dict(layer) for layer in self.layers],
        }


def _tcp_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class _Silent:
    """No answer within the timeout (nothing there, or a program that does not speak ZeroMQ)."""


class _Foreign:
    """An answer that is not the viewer's protocol (never unpickled, never evaluated)."""


_SILENT = _Silent()
_FOREIGN = _Foreign()


def _ask(port: int, kind: str, *, host: str, timeout_ms: int, token: str | None) -> dict[str, Any] | _Silent | _Foreign:
    """One request on the control channel: the decoded JSON reply, _SILENT or _FOREIGN."""
    import zmq

    context: Any = zmq.Context.instance()
    sock = context.socket(zmq.REQ)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_REPLY_BYTES)
        sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
        sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        sock.connect(f"tcp://{_url_host(host)}:{control_port(port)}")
        sock.send(protocol.encode_request(kind, protocol.read_token(port) if token is None else token))
        frames = sock.recv_multipart(copy=True)
    except zmq.ZMQError:
        return _SILENT
    finally:
        sock.close(linger=0)
    if len(frames) != 1:
        return _FOREIGN
    try:
        return protocol.decode_reply(frames[0])
    except protocol.ProtocolError:
        return _FOREIGN


def _url_host(host: str) -> str:
    """``host`` as a ZeroMQ tcp:// URL writes it (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def control_request(
    port: int, kind: str, *, host: str = LOOPBACK, timeout_ms: int = 2000, token: str | None = None
) -> dict[str, Any] | None:
    """One request (``ping``, ``status``, ``shutdown``) to the viewer's control channel.

    The reply is JSON checked by ``viewer_protocol.decode_reply``; None when nothing answers
    or what answers is not a viewer. ``token`` None means the session's token (its file or
    ``POLYSTORE_GUI_VIEWER_TOKEN``); "" sends none.
    """
    reply = _ask(port, kind, host=host, timeout_ms=timeout_ms, token=token)
    return reply if isinstance(reply, dict) else None


def _layers(value: object) -> tuple[dict[str, Any], ...]:
    """The layer list of a status reply, keeping only known fields of the right types."""
    if not isinstance(value, list):
        return ()
    layers = []
    for layer in value[: protocol.MAX_LAYERS_REPORTED]:
        if not isinstance(layer, dict):
            continue
        shape = layer.get("shape")
        layers.append({
            "name": str(layer.get("name", ""))[:500],
            "shape": [n for n in shape if isinstance(n, int)] if isinstance(shape, list) else [],
            "dtype": str(layer.get("dtype", ""))[:40],
            "kind": str(layer.get("kind", ""))[:40],
        })
    return tuple(layers)


def viewer_state(
    port: int, *, host: str = LOOPBACK, timeout_ms: int = 500, with_layers: bool = True, token: str | None = None
) -> ViewerState:
    """Ask what runs on ``port``. Never raises; takes at most about two timeouts."""
    kind = protocol.STATUS if with_layers else protocol.PING
    reply = _ask(port, kind, host=host, timeout_ms=timeout_ms, token=token)
    if isinstance(reply, _Silent) and (_tcp_open(host, port) or _tcp_open(host, control_port(port))):
        # Something listens: give a busy viewer a second chance before calling it foreign.
        reply = _ask(port, kind, host=host, timeout_ms=max(timeout_ms, 2000), token=token)
    if isinstance(reply, _Foreign):
        return ViewerState(port, Running.OTHER, detail="it does not speak the viewer's protocol")
    if isinstance(reply, _Silent):
        if _tcp_open(host, port) or _tcp_open(host, control_port(port)):
            return ViewerState(port, Running.OTHER, detail="it does not answer as a viewer")
        return ViewerState(port, Running.NO)
    server = str(reply["server"])
    if reply["status"] != "ok":
        if reply.get("error") == "token":
            return ViewerState(port, Running.DENIED, server=server)
        return ViewerState(port, Running.OTHER, server=server, detail=str(reply.get("message", ""))[:200])
    pid = reply.get("pid")
    return ViewerState(
        port, Running.YES, pid=pid if isinstance(pid, int) else None, server=server,
        layers=_layers(reply.get("layers")) if with_layers else (),
    )


def receiver_state(port: int, *, host: str = LOOPBACK) -> ViewerState:
    """Whether a receiver we cannot ask (Fiji: zmqruntime's pickled control channel) listens.

    Only a TCP connection is tried: its control replies are pickles, which are never
    read. Running.YES means "something accepts connections on the data port".
    """
    if _tcp_open(host, port):
        return ViewerState(port, Running.YES)
    return ViewerState(port, Running.NO)


def stop_viewer(port: int, *, host: str = LOOPBACK, timeout: float = 15.0) -> ViewerState:
    """Ask the viewer on ``port`` to close and wait until it has gone; returns its last state."""
    state = viewer_state(port, host=host, with_layers=False)
    if not state.ours:
        return state
    control_request(port, protocol.SHUTDOWN, host=host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(state.pid):
            return state
        time.sleep(0.05)
    raise StreamError(f"the viewer (PID {state.pid}) did not close within {timeout:.0f} s")


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        import psutil

        process = psutil.Process(pid)
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except Exception:  # NoSuchProcess, AccessDenied on a foreign process: treat as gone/unknown
        return False


# -- starting the viewer --------------------------------------------------------------------


def viewer_log_path(port: int) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "polystore-gui"
    return base / f"viewer-{port}.log"


def launch_command(port: int, host: str = LOOPBACK) -> list[str]:
    # A bundle's executable is polystore-gui itself; an interpreter runs the package.
    prefix = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "polystore_gui"]
    command = [*prefix, "viewer", "--port", str(port)]
    if host != LOOPBACK:
        command += ["--host", host]
    return command


def ensure_viewer(
    port: int,
    *,
    host: str = LOOPBACK,
    timeout: float = 90.0,
    progress: Callable[[str], None] | None = None,
) -> ViewerState:
    """The viewer on ``port``: the running one, or a new one started detached.

    Raises StreamError when another program holds the port or the viewer cannot start
    (with the end of its log).
    """
    state = viewer_state(port, host=host, with_layers=False)
    if state.ours:
        return state
    if state.running is not Running.NO:
        raise StreamError(f"cannot start a viewer: {state.describe()}")
    log_path = viewer_log_path(port)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"Starting the napari viewer on port {port}…")
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            launch_command(port, host),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: closing the browser's terminal leaves it alone
            close_fds=True,
        )
    _reap_in_background(child)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = viewer_state(port, host=host, timeout_ms=300, with_layers=False)
        if state.ours:
            return state
        if child.poll() is not None:
            raise StreamError(f"the viewer exited at start (status {child.returncode}): {_log_tail(log_path)}")
        time.sleep(0.1)
    raise StreamError(f"the viewer did not become ready within {timeout:.0f} s; its log: {log_path}")


def _reap_in_background(child: subprocess.Popen[bytes]) -> None:
    """Collect the child's exit status when it ends so no zombie stays behind us."""
    threading.Thread(target=child.wait, name=f"reap-viewer-{child.pid}", daemon=True).start()


def _log_tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return f"(no log at {path})"
    return " | ".join(text[-lines:]) or "(empty log)"


def require_receiver(port: int, *, host: str = LOOPBACK, what: str = "viewer") -> ViewerState:
    """The state of a receiver that must already run (Fiji): StreamError within a second if none."""
    state = receiver_state(port, host=host)
    if state.running is Running.YES:
        return state
    raise StreamError(f"no {what} is listening on port {port}: {state.describe(what)}")
