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

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from ..model import viewer_protocol as protocol
from ..model.streaming import LOOPBACK, Running, viewer_state
# The receiver's and the sockets' names, importable from here as before the split (issue 15).
from .receiver import DISPLAY_WAIT_S, POLL_MS, PendingBatch, Receiver, _Throttled, contrast
from .sockets import MAX_ENVELOPE, PortTaken, _bind, _server_class, split_envelope

__all__ = [
    "DISPLAY_WAIT_S", "MAX_ENVELOPE", "POLL_MS", "PendingBatch", "PortTaken", "Receiver", "contrast", "main",
    "split_envelope",
]

log = logging.getLogger(__name__)


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
