"""Streaming arrays to a persistent viewer through polystore's ``napari_stream`` backend.

The viewer is ``polystore-gui viewer``: a napari window in its own process (see
``polystore_gui/viewer``). This module is the sending side, shared by the browser and
the ``send`` / ``viewer --status`` / ``viewer --stop`` commands. No Qt, no napari.

- ``viewer_state(port)``, ``ensure_viewer(port)``, ``stop_viewer(port)``: the viewer
  process's ports, state, start and stop live in ``viewer_control`` (importable from here).
- ``prepare(backend, path)`` reads one array and refuses, before anything is sent, what
  napari cannot show (1-D, empty, records, text, complex) or what would not fit in memory.
- ``send(items, port)`` streams through polystore's registered ``napari_stream`` instance
  (``get_backend_instance``): polystore owns the wire format, the shared memory and the
  acknowledgement; each batch carries the session token in its display config. While a
  batch is in flight the viewer's process is watched: if it dies, the backend's pending
  shared memory is released and the error says so at once, instead of after polystore's
  30-second acknowledgement timeout. The sender owns each batch's shared-memory blocks
  (the viewer copies them): whatever a batch still holds when it ends, however it ends
  (acknowledged, refused, timed out, an unreadable reply, a failed send), is unlinked.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from typing import TYPE_CHECKING

from . import viewer_protocol as protocol
from .entries import human_size
# The viewer process's side (ports, state, start, stop), importable from here as before the split.
from .viewer_control import (
    LOOPBACK,
    SERVER_NAME,
    SHUTDOWN_REQUEST,
    STATUS_REQUEST,
    VIEWER_KIND,
    Running,
    StreamError,
    ViewerState,
    _log_tail,
    _pid_alive,
    _reap_in_background,
    _tcp_open,
    control_port,
    control_request,
    default_port,
    ensure_viewer,
    launch_command,
    receiver_state,
    require_receiver,
    stop_viewer,
    viewer_log_path,
    viewer_state,
)

if TYPE_CHECKING:
    import numpy as np

# The napari_stream item path must end with a pixel extension or polystore skips it.
_ITEM_SUFFIX = ".npy"
# Several arrays go in one batch (one acknowledgement) up to this many bytes; a bigger
# array goes alone. polystore copies each batch into shared memory at once.
BATCH_BYTES = 1 << 30
# What a send reads between two pauses (model.pacing): a slice of whole planes this large.
SEND_SLICE_BYTES = 16 << 20


class Refused(StreamError):
    """An array the viewer cannot show: refused before anything is sent."""


@dataclasses.dataclass(frozen=True)
class StreamItem:
    """One array ready to send, and the name its layer will carry."""

    name: str
    data: np.ndarray
    source: str  # backend:path


def refusal(shape: Sequence[int], dtype: Any) -> str | None:
    """Why napari cannot show an array of this shape and dtype, or None."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.fields is not None:
        return f"it holds records ({dtype}), not pixels"
    if dtype.kind not in "buif":
        kinds = {"c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects", "M": "dates", "m": "durations"}
        return f"napari cannot show {kinds.get(dtype.kind, dtype.name)} ({dtype})"
    if len(shape) < 2:
        return f"it is {len(shape)}-D: an image needs at least 2 axes"
    if 0 in tuple(shape):
        return f"it is empty (shape {tuple(shape)})"
    return None


def memory_limit() -> int:
    """The most one array may take: a third of the memory available now."""
    try:
        import psutil

        return int(psutil.virtual_memory().available // 3)
    except Exception:
        return 4 << 30


def _dtype_or_none(value: Any) -> np.dtype[Any] | None:
    import numpy as np

    try:
        return None if value is None else np.dtype(value)
    except (TypeError, ValueError):
        return None


def prepare(backend: str, path: str, *, limit: int | None = None) -> StreamItem:
    """Read the array at ``backend:path`` for sending; Refused when the viewer cannot show it.

    The checks use metadata first, so a refused 40 GB array is never read. OME-Zarr
    images send their full-resolution level.
    """
    from .lazy import PreviewError, open_preview

    limit = memory_limit() if limit is None else limit
    try:
        preview = open_preview(backend, path, size_limit=1 << 62, confirmed=True)
    except PreviewError as exc:
        raise Refused(f"{backend}:{path}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise StreamError(f"{backend}:{path}: cannot be read ({exc})") from exc
    try:
        source_dtype = _dtype_or_none(preview.info.dtype)
        if source_dtype is not None and source_dtype.kind == "c":
            # The preview shows a complex array as |z|; a send would stream that stand-in
            # under the array's name, so it is refused as before, with the reason.
            raise Refused(f"{backend}:{path}: {refusal((1, 1), source_dtype)}")
        images = [layer for layer in preview.layers if layer.kind == "image"]
        if not images:
            info = preview.info
            why = refusal(info.shape, info.dtype or "f8") if info.shape is not None and info.dtype else None
            raise Refused(f"{backend}:{path}: not an image" + (f": {why}" if why else f" ({info.kind})"))
        layer = images[0]
        base = layer.data[0] if layer.multiscale else layer.data
        why = refusal(base.shape, base.dtype)
        if why:
            raise Refused(f"{backend}:{path}: {why}")
        import numpy as np

        nbytes = int(np.prod(base.shape, dtype=np.int64)) * np.dtype(base.dtype).itemsize
        if nbytes > limit:
            raise Refused(
                f"{backend}:{path}: {human_size(nbytes)} would not fit: streaming copies the whole array "
                f"through shared memory (at most {human_size(limit)}, a third of the free memory)"
            )
        data = _read_paced(base)
    finally:
        preview.close()
    name = os.path.basename(path.rstrip("/")) or path
    return StreamItem(name=name, data=data, source=f"{backend}:{path}")


# -- sending ------------------------------------------------------------------------------------


def _read_paced(base: Any) -> np.ndarray:
    """The whole of ``base`` (a lazy array), contiguous, read ``SEND_SLICE_BYTES`` of planes at
    a time with a pause between slices (model.pacing): one read of an 800 MiB TIFF kept the
    interpreter lock from the window for long stretches while it painted (the session
    benchmark's send step)."""
    import numpy as np

    from . import pacing

    if type(base) is np.ndarray:  # held in memory (the memory backend): nothing to read, no copy made
        return np.ascontiguousarray(base)
    shape = tuple(int(n) for n in base.shape)
    if len(shape) < 3 or shape[0] < 2:
        return np.ascontiguousarray(np.asarray(base))
    plane = max(1, int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(base.dtype).itemsize)
    step = max(1, SEND_SLICE_BYTES // plane)
    out = np.empty(shape, dtype=base.dtype)
    for start in range(0, shape[0], step):
        out[start:start + step] = np.asarray(base[start:start + step])
        pacing.breathe()
    return out


def _display_config_type() -> type:
    from polystore.streaming.viewer_transport import ViewerDisplayConfigABC

    class SourceLayers(ViewerDisplayConfigABC):  # type: ignore[misc]
        """One napari layer per sent array: component ``source`` (its address), mode slice.

        The session token rides in the batch's ``display_config`` (``display_payload_extra``):
        the viewer refuses a batch without it.
        """

        COMPONENT_ORDER = ("source",)

        def __init__(self, token: str | None = None) -> None:
            self.token = token

        def component_modes(self) -> dict[str, str]:
            return {"source": "slice"}

        def display_payload_extra(self) -> dict[str, Any]:
            return {"token": self.token} if self.token else {}

    return SourceLayers


def _no_microscope() -> Any:
    from polystore.streaming.viewer_transport import ViewerMicroscopeHandlerABC

    class NoMicroscope(ViewerMicroscopeHandlerABC):  # type: ignore[misc]
        """The browser sends arrays, not plates: there are no filename components to parse."""

        parser = None
        metadata_handler = None

    return NoMicroscope()


def stream_request(port: int, items: Sequence[StreamItem], *, host: str = LOOPBACK, token: str | None = None) -> Any:
    """polystore's ``ViewerStreamRequest`` for ``items``: one layer each, named by ``name``.

    ``token`` None means the session's (``viewer_protocol.read_token``).
    """
    from zmqruntime.config import TransportMode
    from zmqruntime.viewer_protocol import ViewerTransportEndpoint

    from polystore.streaming.identity import FixedStreamProducerIdentityKind, StreamProducerIdentity
    from polystore.streaming.viewer_transport import (
        IndexedViewerStreamSourceMetadata,
        ViewerStreamProducer,
        ViewerStreamRequest,
        ViewerStreamSource,
        ViewerStreamSourceIdentity,
    )

    return ViewerStreamRequest(
        viewer_transport=ViewerTransportEndpoint(host, port, TransportMode.TCP),
        display_config=_display_config_type()(protocol.read_token(port) if token is None else token),
        source=ViewerStreamSource(
            ViewerStreamSourceIdentity(_no_microscope(), None),
            IndexedViewerStreamSourceMetadata([{"source": item.source} for item in items]),
        ),
        producer=ViewerStreamProducer.from_identity(
            StreamProducerIdentity.fixed_output(FixedStreamProducerIdentityKind.DIRECT, "polystore-gui")
        ),
    )


def batches(items: Sequence[StreamItem], limit: int = BATCH_BYTES) -> list[list[StreamItem]]:
    """Consecutive groups of at most ``limit`` bytes (an array bigger than that goes alone)."""
    out: list[list[StreamItem]] = []
    size = 0
    for item in items:
        if out and size + item.data.nbytes <= limit:
            out[-1].append(item)
            size += item.data.nbytes
        else:
            out.append([item])
            size = item.data.nbytes
    return out


def _stream_backend(key: str) -> Any:
    from polystore.backend_registry import get_backend_instance

    return get_backend_instance(key)


def send(
    items: Sequence[StreamItem],
    port: int,
    *,
    host: str = LOOPBACK,
    viewer_pid: int | None = None,
    backend_key: str = "napari_stream",
    progress: Callable[[int, int], None] | None = None,
    token: str | None = None,
) -> int:
    """Stream ``items`` through polystore's ``backend_key`` instance; returns bytes sent.

    Blocks until the viewer acknowledges each batch (the viewer acknowledges once the
    layers are shown). When ``viewer_pid`` is given and that process dies mid-batch, the
    backend's pending shared memory is released and StreamError is raised within a second.
    """
    backend = _stream_backend(backend_key)
    _bound_replies(backend)
    sent = 0
    total = sum(item.data.nbytes for item in items)
    for group in batches(items):
        request = stream_request(port, group, host=host, token=token)
        paths = [f"{item.name}{_ITEM_SUFFIX}" for item in group]
        _save_watched(backend, [item.data for item in group], paths, request, viewer_pid, port)
        sent += sum(item.data.nbytes for item in group)
        if progress:
            progress(sent, total)
    return sent


def _bound_replies(backend: Any) -> None:
    """Cap what the viewer's reply may be on the sockets polystore's backend opens.

    polystore makes one REQ socket per batch from the backend's own ZeroMQ context; a
    context's default socket options (pyzmq) apply to every socket made after they are set.
    """
    import zmq

    context = getattr(backend, "_context", None)
    if context is None and hasattr(backend, "_context"):
        context = backend._context = zmq.Context()
    if isinstance(context, zmq.Context):
        context.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_REPLY_BYTES)


def _save_watched(backend: Any, datas: list[np.ndarray], paths: list[str], request: Any, pid: int | None, port: int) -> None:
    outcome: dict[str, BaseException | None] = {"error": None}
    done = threading.Event()

    def _run() -> None:
        held_before = set(_held_blocks(backend))
        try:
            backend.save_batch(datas, paths, stream_request=request)
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc
        finally:
            # polystore unlinks a batch's blocks after the reply or a receive timeout, but not
            # when the send itself fails, the reply is unreadable or the batch fails half-built:
            # the sender owns these segments, so whatever this batch left is released here.
            _release_blocks(backend, set(_held_blocks(backend)) - held_before)
            done.set()

    thread = threading.Thread(target=_run, name="stream-batch", daemon=True)
    thread.start()
    died = False
    while not done.wait(0.2):
        if pid is not None and not _pid_alive(pid):
            died = True
            # Releases the pending shared memory and ends the blocked wait (ETERM). Again
            # until the batch gives up: a viewer that died while the batch was still being
            # copied into shared memory leaves polystore to make a new context afterwards,
            # and to wait 30 s on it.
            backend.cleanup()
            deadline = time.monotonic() + 10
            while not done.wait(0.2) and time.monotonic() < deadline:
                backend.cleanup()
            break
    thread.join(timeout=10)
    error = outcome["error"]
    if died:
        raise StreamError(f"the viewer (PID {pid}) exited while receiving; nothing more was sent")
    if error is not None:
        if isinstance(error, TimeoutError):
            raise StreamError(f"the viewer on port {port} did not acknowledge within 30 s: {error}") from error
        raise StreamError(f"sending to the viewer on port {port} failed: {error}") from error


def _held_blocks(backend: Any) -> dict[str, Any]:
    """The shared-memory blocks polystore's backend still owns (name -> SharedMemory)."""
    blocks = getattr(backend, "_shared_memory_blocks", None)
    return dict(blocks) if isinstance(blocks, dict) else {}


def _release_blocks(backend: Any, names: Iterable[str]) -> None:
    """Close and unlink the named blocks the backend still holds; never raises."""
    blocks = getattr(backend, "_shared_memory_blocks", None)
    if not isinstance(blocks, dict):
        return
    for name in names:
        block = blocks.pop(name, None)
        if block is None:
            continue
        try:
            block.close()
            block.unlink()
        except (OSError, BufferError):  # already gone (the viewer's side or cleanup())
            pass


def prepare_all(addresses: Iterable[Any], *, limit: int | None = None) -> tuple[list[StreamItem], list[str]]:
    """Every address prepared; refusals and read errors collected as text, never raised.
    An address is ``(backend, path)``, or an object that prepares its own items with
    ``stream_items(limit=…)`` (a TIFF plate site: plate_send.SiteAddress)."""
    items: list[StreamItem] = []
    problems: list[str] = []
    for address in addresses:
        try:
            if hasattr(address, "stream_items"):
                items.extend(address.stream_items(limit=limit))
                continue
            backend, path = address
            items.append(prepare(backend, path, limit=limit))
        except StreamError as exc:
            problems.append(str(exc))
    return items, problems
