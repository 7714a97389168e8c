"""The browser's side of the persistent viewers: their state in the tree, sends in the background.

Every few seconds (and after each send) a worker asks the napari viewer's port who is
there (``model.streaming.viewer_state``: one JSON request with the session token, a
fraction of a millisecond when something answers, half a second when nothing does; no
reply is ever unpickled) and whether the Fiji receiver's port accepts connections
(``receiver_state``: zmqruntime's control channel speaks pickle, so it is not asked); the
tree shows the answer beside ``napari_stream`` and ``fiji_stream``. Sending reads the
arrays, starts the napari viewer when none runs, and streams through polystore's backend
(each batch carrying the session token), all in one worker; the window only hears
progress and the outcome. Sends, starting and stopping the viewer are jobs the user asked
for and waits on: they run on the pool's own lane (``asked=True``), never behind listings.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from qtpy.QtCore import QObject, QTimer, Signal

from ..model import streaming
from ..model.address import Address
from ..model.entries import human_size
from .workers import WorkerPool

log = logging.getLogger(__name__)

NAPARI = "napari_stream"
FIJI = "fiji_stream"
SINKS = (NAPARI, FIJI)


@dataclass(frozen=True)
class SendReport:
    sink: str
    port: int
    pid: int | None
    names: tuple[str, ...]
    nbytes: int
    refused: tuple[str, ...]

    @property
    def text(self) -> str:
        where = "napari viewer" if self.sink == NAPARI else "Fiji"
        sent = f"Sent {len(self.names)} array{'s' if len(self.names) != 1 else ''} ({human_size(self.nbytes)}) to the {where} on port {self.port}"
        if self.refused:
            sent += f"; refused {len(self.refused)}: {'; '.join(self.refused)}"
        return sent


def _probe(napari_port: int, fiji_port: int) -> dict[str, streaming.ViewerState]:
    return {
        NAPARI: streaming.viewer_state(napari_port),
        FIJI: streaming.receiver_state(fiji_port),
    }


def _send_job(sink: str, addresses: Sequence[Address], port: int) -> Generator[str, None, SendReport]:
    if sink == FIJI:  # it must already run: asked before anything is read
        state = streaming.require_receiver(port, what="Fiji receiver")
    yield f"Reading {len(addresses)} item{'s' if len(addresses) != 1 else ''} to send…"
    # A TIFF plate site (plate_send.SiteAddress) prepares its own items: its files stacked.
    items, refused = streaming.prepare_all([a if hasattr(a, "stream_items") else (a.backend, a.path) for a in addresses])
    if not items:
        raise streaming.Refused("; ".join(refused) or "nothing to send")
    if sink == NAPARI:
        yield f"Connecting to the napari viewer on port {port} (starting it when none runs)…"
        state = streaming.ensure_viewer(port)
    total = sum(item.data.nbytes for item in items)
    yield f"Sending {len(items)} array{'s' if len(items) != 1 else ''} ({human_size(total)}) to port {port}…"
    sent = streaming.send(items, port, viewer_pid=state.pid, backend_key=sink)
    return SendReport(sink, port, state.pid, tuple(i.name for i in items), sent, tuple(refused))


def note_for(sink: str, state: streaming.ViewerState) -> str:
    if sink == NAPARI:
        return state.describe("viewer")
    if state.running is streaming.Running.YES:
        return f"Fiji receiver listening on port {state.port}"
    if state.running is streaming.Running.OTHER:
        return state.describe("Fiji receiver")
    return f"no Fiji receiver on port {state.port}"


class ViewerLink(QObject):
    """Owns the viewer ports, the state polling and the sends of one window."""

    stateChanged = Signal(str, object)  # sink key, ViewerState
    sendProgress = Signal(str)
    sendFinished = Signal(object)  # SendReport
    sendFailed = Signal(str)

    POLL_MS = 4000

    def __init__(self, workers: WorkerPool, *, napari_port: int, fiji_port: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self.ports = {NAPARI: napari_port, FIJI: fiji_port}
        self.states: dict[str, streaming.ViewerState] = {}
        self._probing = False
        self._stale_probe = False
        self._sending = 0
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self.poll)

    @property
    def busy(self) -> bool:
        return self._sending > 0

    def start(self) -> None:
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        self._timer.stop()

    def poll(self) -> None:
        """Ask both ports who is there (in a worker; one probe at a time)."""
        if self._probing or self._workers.closed:
            return
        self._probing = True
        ports = dict(self.ports)
        self._workers.start(
            _probe, ports[NAPARI], ports[FIJI],
            on_return=lambda states, asked=ports: self._on_probed(asked, states),
            on_finish=self._on_probe_finished,
        )

    def _on_probed(self, ports: dict[str, int], states: dict[str, streaming.ViewerState]) -> None:
        if ports != self.ports:
            self._stale_probe = True  # about ports changed since (Settings): asked again when it ends
            return
        for sink, state in states.items():
            if self.states.get(sink) != state:
                self.states[sink] = state
                self.stateChanged.emit(sink, state)

    def _on_probe_finished(self) -> None:
        self._probing = False
        if self._stale_probe:
            self._stale_probe = False
            self.poll()

    def send(self, addresses: Sequence[Address], sink: str = NAPARI) -> None:
        """Stream ``addresses`` to ``sink``; the outcome comes as sendFinished or sendFailed."""
        if sink not in SINKS:
            self.sendFailed.emit(f"{sink} is not a viewer")
            return
        if not addresses:
            return
        self._sending += 1
        self._workers.start(
            _send_job, sink, list(addresses), self.ports[sink],
            on_yield=self.sendProgress.emit,
            on_return=self.sendFinished.emit,
            on_error=self._on_send_error,
            on_finish=self._on_send_done,
            asked=True,  # never queued behind listings, scans or transfers
        )

    def _on_send_error(self, exc: BaseException) -> None:
        if isinstance(exc, streaming.StreamError):
            self.sendFailed.emit(str(exc))
        else:
            log.error("sending failed", exc_info=exc)
            self.sendFailed.emit(f"sending failed: {type(exc).__name__}: {exc}")

    def _on_send_done(self) -> None:
        self._sending -= 1
        self.poll()

    def start_viewer(self) -> None:
        self._sending += 1
        self._workers.start(
            streaming.ensure_viewer, self.ports[NAPARI],
            on_error=self._on_send_error, on_finish=self._on_send_done, asked=True,
        )

    def stop_viewer(self) -> None:
        self._workers.start(streaming.stop_viewer, self.ports[NAPARI], on_error=self._on_send_error, on_finish=self.poll,
                            asked=True)

    def describe(self, sink: str) -> str | None:
        state = self.states.get(sink)
        return None if state is None else note_for(sink, state)

