"""The viewer's two sockets: zmqruntime's server with our JSON control protocol, capped sizes,
ROUTER envelopes answered as a REP would, and binding with a clear refusal (``PortTaken``).

Split from ``server`` (issue 15); every name here stays importable from ``viewer.server``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from ..model import viewer_protocol as protocol

log = logging.getLogger(__name__)


class PortTaken(RuntimeError):
    """The viewer's ports could not be bound; ``in_use`` when something else holds one."""

    def __init__(self, message: str, *, in_use: bool = True) -> None:
        super().__init__(message)
        self.in_use = in_use



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
