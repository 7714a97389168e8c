"""``polystore-gui viewer``: a napari window in its own process, fed by polystore's ``napari_stream``.

Threads:

- the receiver thread owns the REP data socket (zmqruntime's ``StreamingVisualizerServer``
  base; polystore's sender is a REQ socket); the control thread owns the REP control
  socket (``ping``, ``status``, ``shutdown``, JSON), so the viewer answers while a big batch is being
  copied. For each batch the receiver copies every shared-memory block
  (sender-owned: polystore unlinks it after our reply), groups the images into layers
  (``layers.LayerBook``), hands the updates to the Qt thread and waits until they are
  shown, then replies ``success``, so a sender that got its acknowledgement knows its
  layers are there. Per-image acks go back on each item's return route afterwards.
- the Qt thread owns napari: it adds or updates layers and keeps the snapshot of layers
  the control channel reports.

It binds to the loopback interface unless ``--host`` says otherwise (zmqruntime's own
default is every interface), and prints a warning when it does. Nothing that arrives is
unpickled: control requests are JSON checked by ``model.viewer_protocol`` and must carry
the session token written at start (mode 0600); data batches must carry it too (in their
display config), their acknowledgement routes must be on the loopback, and both sockets
cap message sizes (ZeroMQ's MAXMSGSIZE; ``guard.MemoryGuard`` for what that cannot cap).
A bad message is answered or dropped; the threads go on. The process never stops because its launcher exited: it is meant to
outlive the browser.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import viewer_protocol as protocol
from ..model.contrast import array_limits
from ..model.streaming import LOOPBACK, Running, viewer_state
from .guard import MemoryGuard
from .layers import BatchError, LayerBook, LayerUpdate

log = logging.getLogger(__name__)

DISPLAY_WAIT_S = 25.0  # below polystore's 30 s acknowledgement timeout
POLL_MS = 100


class PortTaken(RuntimeError):
    """The viewer's ports could not be bound; ``in_use`` when something else holds one."""

    def __init__(self, message: str, *, in_use: bool = True) -> None:
        super().__init__(message)
        self.in_use = in_use


@dataclass
class PendingBatch:
    """Updates waiting for the Qt thread, and the outcome the receiver thread waits for."""

    updates: list[tuple[LayerUpdate, tuple[float, float]]]
    transfers: list[Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


def contrast(data: np.ndarray) -> tuple[float, float]:
    """Contrast limits as the preview chooses them (model.contrast.array_limits: the plane
    shown first, a bounded crop; napari would read everything)."""
    return array_limits(data)


def _server_class() -> type:
    import zmq
    from zmqruntime.messages import ImageAck
    from zmqruntime.streaming.server import StreamingVisualizerServer

    class PolystoreNapariViewer(StreamingVisualizerServer):
        """polystore-gui's napari viewer: zmqruntime's sockets and acks, our JSON control protocol.

        zmqruntime's ``process_messages`` (pickle) is never called: the control thread
        answers with ``answer_control``. Both sockets cap what they accept (MAXMSGSIZE).
        """

        _server_type = "polystore-gui-napari-viewer"

        def __init__(self, port: int, host: str, hooks: Any, token: str) -> None:
            from zmqruntime.config import TransportMode

            from polystore.zmq_config import POLYSTORE_ZMQ_CONFIG

            super().__init__(
                port,
                viewer_type="napari",
                host=host,
                data_socket_type=zmq.REP,
                transport_mode=TransportMode.TCP,
                config=POLYSTORE_ZMQ_CONFIG,
            )
            self.hooks = hooks
            self.token = token
            self.allow_remote_routes = not protocol.is_loopback(host)

        # Both sockets are ROUTERs answering REQ peers as a REP would (``split_envelope``):
        # libzmq's REP state machine loses the next request after a peer that sent random
        # bytes (measured: 2-4 of 5), a ROUTER does not.
        def bind_data_socket(self, context: Any) -> Any:
            return self._bind_capped(context, zmq.ROUTER, self.data_transport_url(), protocol.MAX_BATCH_BYTES)

        def bind_control_socket(self, context: Any) -> Any:
            return self._bind_capped(context, zmq.ROUTER, self.control_transport_url(), protocol.MAX_REQUEST_BYTES)

        @staticmethod
        def _bind_capped(context: Any, kind: int, url: str, limit: int) -> Any:
            sock = context.socket(kind)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, limit)  # a longer message disconnects its peer
            sock.setsockopt(zmq.RCVHWM, protocol.RECEIVE_QUEUE)
            try:
                sock.bind(url)
            except zmq.ZMQError:
                sock.close(linger=0)  # an open socket would make the context's term() wait forever
                raise
            return sock

        def rebind(self, which: str) -> Any:
            """Close the ``data`` or ``control`` socket (dropping its peers and all they queued)
            and bind a new one on the same address; called by the thread that owns it."""
            old = self.data_socket if which == "data" else self.control_socket
            url, limit = ((self.data_transport_url(), protocol.MAX_BATCH_BYTES) if which == "data"
                          else (self.control_transport_url(), protocol.MAX_REQUEST_BYTES))
            old.close(linger=0)
            for _attempt in range(100):  # libzmq's I/O thread releases the port a moment later
                try:
                    sock = self._bind_capped(self.zmq_context, zmq.ROUTER, url, limit)
                    break
                except zmq.ZMQError as exc:
                    if exc.errno != zmq.EADDRINUSE:
                        raise
                    time.sleep(0.02)
            else:
                raise RuntimeError(f"could not listen on {url} again")
            if which == "data":
                self.data_socket = sock
            else:
                self.control_socket = sock
            return sock

        def process_messages(self) -> None:  # zmqruntime's pickled control loop: never
            raise RuntimeError("the viewer's control channel is answered by answer_control (JSON)")

        def answer_control(self, frames: list[bytes]) -> bytes:
            """The reply to one control message; never raises, never unpickles."""
            if len(frames) != 1:
                return protocol.error_reply("request", "one frame per request")
            try:
                request = protocol.decode_request(frames[0])
            except protocol.ProtocolError as exc:
                return protocol.error_reply("request", str(exc))
            if not protocol.token_matches(request.token, self.token):
                return protocol.error_reply("token", "the token is missing or does not match this viewer's")
            try:
                return protocol.encode_reply(self.handle_control_message(request.kind))
            except Exception as exc:  # the channel stays up; the client hears why
                log.exception("control request %s failed", request.kind)
                return protocol.error_reply("request", f"{request.kind} failed: {exc}")

        def handle_control_message(self, message: Any) -> dict[str, Any]:
            if message == protocol.PING:
                return {"status": "ok", "pid": os.getpid(), "port": self.port}
            if message == protocol.STATUS:
                layers = self.hooks.snapshot()[: protocol.MAX_LAYERS_REPORTED]
                return {"status": "ok", "pid": os.getpid(), "port": self.port, "layers": layers}
            if message == protocol.SHUTDOWN:
                self.hooks.request_shutdown()
                return {"status": "ok", "message": "closing"}
            return {"status": "error", "error": "request", "message": f"unknown control request {message!r}"}

        def handle_data_message(self, message: Any) -> None:  # the receiver loop handles data itself
            raise NotImplementedError

        def display_image(self, image_data: Any, metadata: dict) -> None:
            raise NotImplementedError

        def send_ack(self, transfer: Any, status: str = "success", error: str | None = None) -> bool:
            """One image's acknowledgement to its route (checked when the batch was accepted)."""
            if transfer is None or protocol.route_refusal(transfer.return_route.url, allow_remote=self.allow_remote_routes):
                return False
            sock = zmq.Context.instance().socket(zmq.PUSH)
            try:
                sock.setsockopt(zmq.LINGER, 1000)
                sock.setsockopt(zmq.SNDTIMEO, 1000)
                sock.setsockopt(zmq.IMMEDIATE, 1)
                sock.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_REQUEST_BYTES)
                sock.connect(transfer.return_route.url)
                sock.send_json(ImageAck(
                    image_id=transfer.image_id, viewer_port=self.port, viewer_type=self.viewer_type,
                    status=status, timestamp=time.time(), error=error,
                    return_route=transfer.return_route, producer=transfer.producer,
                ).to_dict())
                return True
            except Exception as exc:
                log.warning("could not acknowledge %s: %s", transfer.image_id, exc)
                return False
            finally:
                sock.close()

    return PolystoreNapariViewer


class _Throttled:
    """A logger's warnings, at most ``per_minute`` a minute; the rest are counted and said once."""

    def __init__(self, logger: logging.Logger, per_minute: int) -> None:
        self.logger = logger
        self.per_minute = per_minute
        self.window = time.monotonic()
        self.count = 0
        self.dropped = 0

    def warn(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self.window >= 60:
            if self.dropped:
                self.logger.warning("… and %d more like these in the last minute (not logged)", self.dropped)
            self.window, self.count, self.dropped = now, 0, 0
        if self.count < self.per_minute:
            self.count += 1
            self.logger.warning(message, *args)
        else:
            self.dropped += 1


MAX_ENVELOPE = 8  # routing frames a REQ peer's message may carry before its empty delimiter


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]] | None:
    """A ROUTER message as (routing frames up to the empty delimiter, body), or None.

    A REQ peer's message arrives as ``[identity, b"", body]``; the reply goes back as
    ``[identity, b"", reply]``. A message with no delimiter has no REQ peer to answer.
    """
    for index in range(1, min(len(frames), MAX_ENVELOPE + 1)):
        if frames[index] == b"":
            return frames[: index + 1], frames[index + 1 :]
    return None


class Receiver:
    """The receiver thread's work: sockets in, layer updates out."""

    def __init__(self, server: Any, hooks: Any) -> None:
        self.server = server
        self.hooks = hooks
        self.book = LayerBook()
        self.book_lock = threading.Lock()
        self.refusals = _Throttled(log, per_minute=20)  # a flood of bad batches must not fill the log
        self.guard = MemoryGuard()  # what unfinished multi-part messages may cost (see guard.py)
        self.rebind = {"data": threading.Event(), "control": threading.Event()}
        # One thread per socket (zmq sockets are not shared between threads): the control
        # channel answers pings and status while a batch is being copied or shown.
        self.thread = threading.Thread(target=self.run, name="viewer-receiver", daemon=True)
        self.control_thread = threading.Thread(target=self.run_control, name="viewer-control", daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.control_thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        self.control_thread.join(timeout)

    def _poll(self, which: str, serve: Any) -> None:
        import zmq

        sock = self.server.data_socket if which == "data" else self.server.control_socket
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while self.server.is_running():
            try:
                if which == "control" and self.guard.check():
                    log.warning("memory grew by more than %d MB with no batch to explain it (a peer's unfinished "
                                "message?): closing both sockets, which drops their peers", self.guard.allowance >> 20)
                    for event in self.rebind.values():
                        event.set()
                if self.rebind[which].is_set():
                    poller.unregister(sock)
                    sock = self.server.rebind(which)
                    poller.register(sock, zmq.POLLIN)
                    self.rebind[which].clear()
                    self.guard.settle()
                if poller.poll(POLL_MS):
                    serve()
            except zmq.ZMQError as exc:
                if not self.server.is_running() or exc.errno in (zmq.ETERM, zmq.ENOTSOCK):
                    break
                log.warning("socket error (the channel stays open): %s", exc)
            except Exception:  # one bad message never ends the thread
                log.exception("a message could not be served (the channel stays open)")

    def run(self) -> None:
        self._poll("data", self._serve_batch)

    def run_control(self) -> None:
        self._poll("control", self._serve_control)

    def _serve_control(self) -> None:
        sock = self.server.control_socket
        envelope = split_envelope(sock.recv_multipart())
        if envelope is not None:  # else no REQ peer sent it: there is no one to answer
            head, body = envelope
            sock.send_multipart([*head, self.server.answer_control(body)])

    def _serve_batch(self) -> None:
        with self.guard.busy():  # a batch rightly takes memory: copies, layers, drawing
            self._serve_batch_now()

    def _serve_batch_now(self) -> None:
        import zmq

        envelope = split_envelope(self.server.data_socket.recv_multipart())
        if envelope is None:
            return
        head, frames = envelope
        received = time.perf_counter()
        try:
            if len(frames) != 1:
                raise BatchError("a batch is one frame of JSON")
            reply, pending = self._accept(frames[0])
        except Exception as exc:  # any malformed batch is answered, never fatal
            self.refusals.warn("refused a batch: %s", exc)
            reply, pending = {"status": "error", "type": "batch", "message": str(exc)[:500]}, None
        copied = time.perf_counter()
        if pending is not None:
            self.hooks.show(pending)
            if not pending.done.wait(DISPLAY_WAIT_S):
                log.warning("the window did not show a batch within %.0f s; acknowledging the copy", DISPLAY_WAIT_S)
            elif pending.error:
                reply = {"status": "error", "type": "batch", "message": pending.error}
        try:
            self.server.data_socket.send_multipart([*head, json.dumps(reply).encode("utf-8")])
        except zmq.ZMQError as exc:
            log.warning("could not acknowledge a batch: %s", exc)
        if pending is not None:
            nbytes = sum(update.data.nbytes for update, _limits in pending.updates)
            log.info("batch: %d layer(s), %.0f MB: copied and grouped in %.3f s, shown in %.3f s",
                     len(pending.updates), nbytes / 1e6, copied - received, time.perf_counter() - copied)
        if pending is not None:
            status = "success" if reply["status"] == "success" else "error"
            for transfer in pending.transfers:
                self.server.send_ack(transfer, status, reply.get("message"))

    def _accept(self, raw: bytes) -> tuple[dict[str, Any], PendingBatch | None]:
        from zmqruntime.messages import ImageTransferIdentity

        from polystore.streaming._streaming_backend import StreamingSharedMemoryAuthority

        if len(raw) > protocol.MAX_BATCH_BYTES:
            raise BatchError(f"a batch of {len(raw):,} bytes is over the {protocol.MAX_BATCH_BYTES:,}-byte limit")
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BatchError(f"not a viewer batch: not JSON ({type(exc).__name__})") from None
        if not isinstance(message, dict) or not isinstance(message.get("images"), list):
            raise BatchError("not a viewer batch (no 'images' list)")
        # The token first: nothing of an unauthenticated batch is looked at further.
        if not protocol.token_matches(protocol.batch_token(message), self.server.token):
            raise BatchError("the batch's token is missing or does not match this viewer's (display_config.token)")
        checked = [self._checked(info) for info in message["images"]]
        items: list[dict[str, Any]] = []
        transfers = []
        for info in checked:
            data = StreamingSharedMemoryAuthority.copy_sender_owned_array(
                name=info["shm_name"], shape=tuple(info["shape"]), dtype=info["dtype"]
            )
            items.append({**info, "data": data})
            transfers.append(ImageTransferIdentity.from_item(info))
        with self.book_lock:
            updates = self.book.add_batch(items, message.get("display_config") or {})
        pending = PendingBatch([(u, contrast(u.data)) for u in updates], [t for t in transfers if t is not None])
        return {"status": "success", "type": "batch"}, pending

    def _checked(self, info: object) -> dict[str, Any]:
        """One image entry, refused (BatchError) unless its every field is what we expect."""
        if not isinstance(info, dict):
            raise BatchError("an image entry is not an object")
        path = str(info.get("path"))[:200]
        data_type = info.get("data_type", "image")
        if data_type != "image":
            raise BatchError(f"this viewer shows images; {path!r} is {str(data_type)[:40]!r}")
        name = info.get("shm_name")
        if not isinstance(name, str) or not name or len(name) > 200 or "/" in name:
            raise BatchError(f"{path!r} names no shared-memory block")
        shape = info.get("shape")
        if not isinstance(shape, list) or not 1 <= len(shape) <= 32 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        ):
            raise BatchError(f"{path!r} has no valid shape")
        try:
            if not isinstance(info.get("dtype"), str):
                raise TypeError
            dtype = np.dtype(info["dtype"])
        except (TypeError, ValueError):
            raise BatchError(f"{path!r} has no valid dtype") from None
        if dtype.kind not in "buif" or dtype.fields is not None:
            raise BatchError(f"{path!r}: the viewer takes numbers, not {dtype}")
        if info.get("image_id") is not None:
            route = info.get("return_route")
            why = protocol.route_refusal(route.get("url") if isinstance(route, dict) else None,
                                         allow_remote=self.server.allow_remote_routes)
            if why:
                raise BatchError(f"{path!r}: {why}")
        return info

    def forget(self, key: str) -> None:
        with self.book_lock:
            self.book.forget(key)


def _bind(port: int, host: str, hooks: Any, token: str) -> Any:
    import zmq

    server = _server_class()(port, host, hooks, token)
    try:
        server.start()
    except zmq.ZMQError as exc:
        server.stop()
        in_use = exc.errno == zmq.EADDRINUSE
        why = "another program holds one of them: choose another port with --port" if in_use else "check --host"
        raise PortTaken(
            f"cannot listen on {host} port {port} (data) and {server.control_port} (control): {exc}; {why}",
            in_use=in_use,
        ) from exc
    return server


def main(port: int, host: str = LOOPBACK) -> int:
    """Run the viewer until its window closes or a ``shutdown`` request arrives."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("zmqruntime", "polystore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warning = protocol.exposure_warning(host)
    if warning:
        print(f"polystore-gui viewer: {warning}", file=sys.stderr, flush=True)
    hooks = _Hooks()
    token = protocol.new_token()
    try:
        # Bind first, ask who is there only when the port is taken: nothing is sent
        # anywhere before the viewer knows it cannot listen.
        server = _bind(port, host, hooks, token)
    except PortTaken as exc:
        if exc.in_use:
            state = viewer_state(port, host=host, with_layers=False)
            if state.ours:
                print(f"polystore-gui viewer: already running on port {port} (PID {state.pid})")
                return 0
            if state.running in (Running.OTHER, Running.DENIED):
                print(f"polystore-gui viewer: {state.describe()}; choose another port with --port", file=sys.stderr)
                return 2
        print(f"polystore-gui viewer: {exc}", file=sys.stderr)
        return 2
    try:
        # Written once the ports are ours, so a viewer that lost the race never replaces
        # the token of the one that won.
        token_file = protocol.write_token(port, token, pid=os.getpid(), host=host)
    except OSError as exc:
        server.stop()
        print(f"polystore-gui viewer: cannot write the session token: {exc}", file=sys.stderr)
        return 2
    log.info("session token in %s (mode 0600)", token_file)
    try:
        return _run_window(server, hooks, port)
    finally:
        server.stop()
        protocol.remove_token(port, token)


class _Hooks:
    """What the receiver thread may ask of the Qt side; filled in once the window exists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: list[dict[str, Any]] = []
        self.show_batch: Any = None
        self.shutdown: Any = None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._snapshot)

    def set_snapshot(self, layers: list[dict[str, Any]]) -> None:
        with self._lock:
            self._snapshot = layers

    def show(self, pending: PendingBatch) -> None:
        if self.show_batch is None:
            pending.error = "the viewer window is not ready"
            pending.done.set()
            return
        self.show_batch(pending)

    def request_shutdown(self) -> None:
        if self.shutdown is not None:
            self.shutdown()


def _run_window(server: Any, hooks: _Hooks, port: int) -> int:
    os.environ.setdefault("QT_API", "pyqt6")
    import napari
    from qtpy.QtCore import QObject, QTimer, Signal
    from qtpy.QtWidgets import QApplication

    class Bridge(QObject):
        batch = Signal(object)
        shutdown = Signal()

    viewer = napari.Viewer(title=f"polystore-gui viewer — port {port}", show=True)
    app = QApplication.instance()
    assert app is not None
    app.setQuitOnLastWindowClosed(True)
    receiver = Receiver(server, hooks)
    by_key: dict[str, Any] = {}

    def refresh_snapshot() -> None:
        keys = {id(layer): key for key, layer in by_key.items()}
        hooks.set_snapshot([
            {
                "name": layer.name,
                "shape": [int(n) for n in layer.data.shape] if hasattr(layer.data, "shape") else [],
                "dtype": str(getattr(layer, "dtype", "")),
                "kind": type(layer).__name__.lower(),
                "key": keys.get(id(layer)),
            }
            for layer in viewer.layers
        ])

    def on_batch(pending: PendingBatch) -> None:
        try:
            for update, limits in pending.updates:
                layer = by_key.get(update.key)
                if layer is not None and layer in viewer.layers and layer.data.shape == update.data.shape:
                    layer.data = update.data
                    layer.contrast_limits_range = limits
                    layer.contrast_limits = limits
                else:
                    if layer is not None and layer in viewer.layers:
                        viewer.layers.remove(layer)
                    by_key[update.key] = viewer.add_image(
                        update.data, name=update.name, contrast_limits=limits,
                        metadata={"polystore_route_key": update.key},
                    )
        except Exception as exc:  # the sender hears about it; the window stays
            log.exception("could not show a batch")
            pending.error = f"the viewer could not show the batch: {exc}"
        finally:
            refresh_snapshot()
            pending.done.set()

    def on_removed(event: Any) -> None:
        layer = event.value
        for key, known in list(by_key.items()):
            if known is layer:
                del by_key[key]
                receiver.forget(key)
        refresh_snapshot()

    def on_shutdown() -> None:
        log.info("closing on request")
        viewer.close()
        app.quit()

    bridge = Bridge()
    bridge.batch.connect(on_batch)
    bridge.shutdown.connect(on_shutdown)
    hooks.show_batch = bridge.batch.emit
    hooks.shutdown = bridge.shutdown.emit
    viewer.layers.events.inserted.connect(lambda _e: refresh_snapshot())
    viewer.layers.events.removed.connect(on_removed)
    # Renames and edits made by hand; also lets Python run its signal handlers.
    ticker = QTimer()
    ticker.setInterval(500)
    ticker.timeout.connect(refresh_snapshot)
    ticker.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_a: QTimer.singleShot(0, on_shutdown))
    refresh_snapshot()
    receiver.start()
    log.info("listening on %s (control %s), PID %d", server.data_transport_url(), server.control_transport_url(), os.getpid())
    started = time.monotonic()
    status = int(app.exec())
    server.request_shutdown()
    receiver.join(timeout=5)
    log.info("closed after %.0f s", time.monotonic() - started)
    return status
