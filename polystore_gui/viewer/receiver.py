"""The receiver and control threads' work: batches checked and copied out of shared memory,
grouped into layer updates for the Qt thread, control requests answered, refusals logged
at a bounded rate.

Split from ``server`` (issue 15); every name here stays importable from ``viewer.server``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..model import viewer_protocol as protocol
from ..model.contrast import array_limits
from .guard import MemoryGuard
from .layers import BatchError, LayerBook, LayerUpdate
from .sockets import split_envelope

log = logging.getLogger(__name__)

DISPLAY_WAIT_S = 25.0  # below polystore's 30 s acknowledgement timeout
POLL_MS = 100


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
