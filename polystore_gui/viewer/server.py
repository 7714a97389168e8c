"""``polystore-gui viewer``: a napari window in its own process, fed by polystore's ``napari_stream``.

Threads:

- the receiver thread owns the REP data socket (zmqruntime's ``StreamingVisualizerServer``
  base; polystore's sender is a REQ socket); the control thread owns the REP control
  socket (ping, ``status``, ``shutdown``), so the viewer answers while a big batch is being
  copied. For each batch the receiver copies every shared-memory block
  (sender-owned: polystore unlinks it after our reply), groups the images into layers
  (``layers.LayerBook``), hands the updates to the Qt thread and waits until they are
  shown, then replies ``success``, so a sender that got its acknowledgement knows its
  layers are there. Per-image acks go back on each item's return route afterwards.
- the Qt thread owns napari: it adds or updates layers and keeps the snapshot of layers
  the control channel reports.

It binds to the loopback interface unless ``--host`` says otherwise (zmqruntime's own
default is every interface). The process never stops because its launcher exited: it
is meant to outlive the browser.
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

from ..model.streaming import (
    LOOPBACK,
    SHUTDOWN_REQUEST,
    STATUS_REQUEST,
    Running,
    viewer_state,
)
from .layers import BatchError, LayerBook, LayerUpdate

log = logging.getLogger(__name__)

DISPLAY_WAIT_S = 25.0  # below polystore's 30 s acknowledgement timeout
POLL_MS = 100


class PortTaken(RuntimeError):
    pass


@dataclass
class PendingBatch:
    """Updates waiting for the Qt thread, and the outcome the receiver thread waits for."""

    updates: list[tuple[LayerUpdate, tuple[float, float]]]
    transfers: list[Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None


def contrast(data: np.ndarray) -> tuple[float, float]:
    """Contrast limits from at most about a million samples (napari would read everything)."""
    step = max(1, int(np.ceil((data.size / 1_000_000) ** (1 / max(1, data.ndim)))))
    sample = data[tuple(slice(None, None, step) for _ in range(data.ndim))]
    if data.dtype.kind == "b":
        return (0.0, 1.0)
    if data.dtype.kind == "f":
        finite = sample[np.isfinite(sample)]
        if finite.size == 0:
            return (0.0, 1.0)
        lo, hi = float(finite.min()), float(finite.max())
    else:
        lo, hi = float(sample.min()), float(sample.max())
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _server_class() -> type:
    import zmq
    from zmqruntime.streaming.server import StreamingVisualizerServer

    class PolystoreNapariViewer(StreamingVisualizerServer):
        """polystore-gui's napari viewer (reports this class name in its pong)."""

        _server_type = "polystore-gui-napari-viewer"

        def __init__(self, port: int, host: str, hooks: Any) -> None:
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

        def handle_control_message(self, message: Any) -> dict[str, Any]:
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == STATUS_REQUEST:
                return {"status": "ok", "pid": os.getpid(), "port": self.port, "layers": self.hooks.snapshot()}
            if kind == SHUTDOWN_REQUEST:
                self.hooks.request_shutdown()
                return {"status": "ok", "message": "closing"}
            return {"status": "error", "message": f"unknown control request {kind!r}"}

        def handle_data_message(self, message: Any) -> None:  # the receiver loop handles data itself
            raise NotImplementedError

        def display_image(self, image_data: Any, metadata: dict) -> None:
            raise NotImplementedError

    return PolystoreNapariViewer


class Receiver:
    """The receiver thread's work: sockets in, layer updates out."""

    def __init__(self, server: Any, hooks: Any) -> None:
        self.server = server
        self.hooks = hooks
        self.book = LayerBook()
        self.book_lock = threading.Lock()
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

    def _poll(self, sock: Any, serve: Any) -> None:
        import zmq

        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while self.server.is_running():
            try:
                if poller.poll(POLL_MS):
                    serve()
            except zmq.ZMQError as exc:
                if self.server.is_running():
                    log.warning("socket error: %s", exc)
                break

    def run(self) -> None:
        self._poll(self.server.data_socket, self._serve_batch)

    def run_control(self) -> None:
        self._poll(self.server.control_socket, self.server.process_messages)

    def _serve_batch(self) -> None:
        import zmq

        raw = self.server.data_socket.recv()
        received = time.perf_counter()
        try:
            reply, pending = self._accept(raw)
        except Exception as exc:  # any malformed batch is answered, never fatal
            log.warning("refused a batch: %s", exc)
            reply, pending = {"status": "error", "type": "batch", "message": str(exc)}, None
        copied = time.perf_counter()
        if pending is not None:
            self.hooks.show(pending)
            if not pending.done.wait(DISPLAY_WAIT_S):
                log.warning("the window did not show a batch within %.0f s; acknowledging the copy", DISPLAY_WAIT_S)
            elif pending.error:
                reply = {"status": "error", "type": "batch", "message": pending.error}
        try:
            self.server.data_socket.send_json(reply)
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

        message = json.loads(raw.decode("utf-8"))
        if not isinstance(message, dict) or not isinstance(message.get("images"), list):
            raise BatchError("not a viewer batch (no 'images' list)")
        items: list[dict[str, Any]] = []
        transfers = []
        for info in message["images"]:
            if not isinstance(info, dict):
                raise BatchError("an image entry is not an object")
            data_type = info.get("data_type", "image")
            if data_type != "image":
                raise BatchError(f"this viewer shows images; {info.get('path')!r} is {data_type!r}")
            if not info.get("shm_name"):
                raise BatchError(f"{info.get('path')!r} names no shared-memory block")
            data = StreamingSharedMemoryAuthority.copy_sender_owned_array(
                name=info["shm_name"], shape=tuple(info["shape"]), dtype=info["dtype"]
            )
            items.append({**info, "data": data})
            transfers.append(ImageTransferIdentity.from_item(info))
        with self.book_lock:
            updates = self.book.add_batch(items, message.get("display_config") or {})
        pending = PendingBatch([(u, contrast(u.data)) for u in updates], [t for t in transfers if t is not None])
        return {"status": "success", "type": "batch"}, pending

    def forget(self, key: str) -> None:
        with self.book_lock:
            self.book.forget(key)


def _bind(port: int, host: str, hooks: Any) -> Any:
    import zmq

    server = _server_class()(port, host, hooks)
    try:
        server.start()
    except zmq.ZMQError as exc:
        server.stop()
        raise PortTaken(
            f"cannot listen on {host} port {port} (data) and {server.control_port} (control): {exc}. "
            f"Another program holds one of them: choose another port with --port."
        ) from exc
    return server


def main(port: int, host: str = LOOPBACK) -> int:
    """Run the viewer until its window closes or a ``shutdown`` request arrives."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("zmqruntime", "polystore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    state = viewer_state(port, host=host, with_layers=False)
    if state.ours:
        print(f"polystore-gui viewer: already running on port {port} (PID {state.pid})")
        return 0
    if state.running is Running.OTHER:
        print(f"polystore-gui viewer: {state.describe()}; choose another port with --port", file=sys.stderr)
        return 2
    hooks = _Hooks()
    try:
        server = _bind(port, host, hooks)
    except PortTaken as exc:
        print(f"polystore-gui viewer: {exc}", file=sys.stderr)
        return 2
    try:
        return _run_window(server, hooks, port)
    finally:
        server.stop()


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
