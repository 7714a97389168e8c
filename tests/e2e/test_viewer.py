"""The persistent napari viewer, end to end, with real processes.

A viewer process (``polystore-gui viewer``) receives what polystore's ``napari_stream``
backend sends: from the browser (in this process, quit through its real exit path), from
``polystore-gui send`` (its own process), and from polystore's backend used directly. The
viewer's control channel is the witness: it reports the PID and the layers it holds.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import numpy as np
import pytest

from polystore_gui.model import streaming
from polystore_gui.model.address import ENTRIES_MIME

from .conftest import cli, shm_segments, wait_for

pytestmark = [pytest.mark.gl, pytest.mark.slow]
if not os.environ.get("DISPLAY"):
    pytestmark.append(pytest.mark.skip(reason="the viewer is a napari window: run under xvfb-run (make test)"))


def layers(port):
    state = streaming.viewer_state(port)
    assert state.ours, state
    return {layer["name"]: tuple(layer["shape"]) for layer in state.layers}


def test_send_status_and_stop_from_the_command_line(viewer, demo_dir):
    port, process = viewer
    before = shm_segments()
    plain = demo_dir / "stores" / "experiment.zarr" / "plain"
    tif = demo_dir / "images" / "z_stack.tif"
    result = cli("send", "--port", str(port), f"zarr:{plain}", str(tif))
    assert result.returncode == 0, result.stderr
    assert "sent 2 arrays" in result.stdout and f"PID {process.pid}" in result.stdout
    assert layers(port) == {"experiment.zarr/plain": (16, 512, 512), "images/z_stack.tif": (24, 256, 256)}
    # Sending the same array again updates its layer; it does not add a second one.
    assert cli("send", "--port", str(port), f"zarr:{plain}").returncode == 0
    assert len(layers(port)) == 2

    status = cli("viewer", "--status", "--port", str(port), "--json")
    assert status.returncode == 0
    import json

    doc = json.loads(status.stdout)
    assert doc["pid"] == process.pid
    assert {(x["name"], tuple(x["shape"])) for x in doc["layers"]} == {
        ("experiment.zarr/plain", (16, 512, 512)), ("images/z_stack.tif", (24, 256, 256))}

    stopped = cli("viewer", "--stop", "--port", str(port))
    assert stopped.returncode == 0, stopped.stderr
    assert process.wait(15) == 0
    assert cli("viewer", "--status", "--port", str(port)).returncode == 1
    # Polled, not read once: a segment of another program on this machine may come and go meanwhile.
    wait_for(lambda: shm_segments() <= before, 10, "every shared-memory segment to be released")


def test_the_viewer_groups_what_polystores_backend_sends_by_component(viewer):
    """A sender other than the browser: polystore's backend with a channel × z display config."""
    port, _process = viewer
    from polystore.streaming.viewer_transport import PathMappedViewerStreamSourceMetadata, ViewerDisplayConfigABC

    from polystore_gui.model.viewer_protocol import read_token

    class ChannelLayersZStacks(ViewerDisplayConfigABC):
        COMPONENT_ORDER = ("channel", "z")

        def component_modes(self):
            return {"channel": "slice", "z": "stack"}

        def display_payload_extra(self):
            return {"token": read_token(port)}  # every batch carries the session token

    paths = [f"c{c}_z{z}.tif" for c in (1, 2) for z in (0, 1, 2)]
    planes = [np.full((32, 48), 10 * c + z, np.uint16) for c in (1, 2) for z in (0, 1, 2)]
    item = streaming.StreamItem("x", planes[0], "memory:/x")
    request = streaming.stream_request(port, [item])
    import dataclasses

    source = dataclasses.replace(
        request.source,
        metadata=PathMappedViewerStreamSourceMetadata({p: {"channel": int(p[1]), "z": int(p[4])} for p in paths}),
    )
    request = dataclasses.replace(request, display_config=ChannelLayersZStacks(), source=source)
    from polystore.backend_registry import get_backend_instance

    get_backend_instance("napari_stream").save_batch(planes, paths, stream_request=request)
    assert layers(port) == {"1": (3, 32, 48), "2": (3, 32, 48)}


def test_browser_streams_quits_and_the_viewer_stays_for_the_next_browser(qtbot, viewer_port, demo_dir):
    """The issue's end-to-end run: start, stream, quit, check, stream again, stop."""
    from polystore_gui.qt.main_window import MainWindow
    from polystore_gui.qt.tree_model import ROW_KIND_ROLE

    from ..qt.helpers import expand

    before = shm_segments()
    assert streaming.viewer_state(viewer_port).running is streaming.Running.NO
    store = demo_dir / "stores" / "experiment.zarr"

    # First browser: no viewer runs, so sending starts one, detached.
    first = MainWindow([str(demo_dir)], viewer_port=viewer_port)
    qtbot.addWidget(first)
    first.show()
    with qtbot.waitSignal(first.discoveryFinished, timeout=60_000):
        first.start_background(viewer=False)
    expand(first, qtbot, "disk", str(demo_dir))
    expand(first, qtbot, "disk", str(demo_dir / "stores"))
    expand(first, qtbot, "disk", str(store))
    plain = first.tree_model.find("zarr", str(store / "plain"))
    first.tree.setCurrentIndex(first.proxy.mapFromSource(plain))
    assert first.tree_context_menu().actions()[0].isEnabled()
    with qtbot.waitSignal(first.viewer_link.sendFinished, timeout=120_000) as sent:
        first.send_action.trigger()
    viewer_pid = sent.args[0].pid
    assert layers(viewer_port) == {"experiment.zarr/plain": (16, 512, 512)}
    napari_row = first.tree_model.backend_index("napari_stream")
    qtbot.waitUntil(lambda: f"PID {viewer_pid}" in first.tree_model.index(napari_row.row(), 1).data(), timeout=15_000)

    # Quit the browser through its real exit path (cleanup_backend_connections).
    with qtbot.waitSignal(first.shutdownFinished):
        first.close()
    os.kill(viewer_pid, 0)  # still running
    assert layers(viewer_port) == {"experiment.zarr/plain": (16, 512, 512)}

    # Second browser: finds the same viewer, and a drop on napari_stream streams into it.
    second = MainWindow([str(demo_dir)], viewer_port=viewer_port)
    qtbot.addWidget(second)
    second.show()
    with qtbot.waitSignal(second.viewer_link.stateChanged, timeout=60_000):
        second.start_background(viewer=False)
    assert second.viewer_link.states["napari_stream"].pid == viewer_pid
    expand(second, qtbot, "disk", str(demo_dir))
    expand(second, qtbot, "disk", str(demo_dir / "stores"))
    expand(second, qtbot, "disk", str(store))
    model = second.tree_model
    sharded = model.find("zarr", str(store / "sharded"))
    assert sharded.data(ROW_KIND_ROLE) == "entry"
    mime = model.mimeData([sharded])
    assert mime.hasFormat(ENTRIES_MIME) and mime.urls()[0].toLocalFile() == str(store / "sharded")
    target = model.backend_index("napari_stream")
    assert model.canDropMimeData(mime, 1, -1, 0, target)
    # An array takes no members: a drop on one is offered to the store that holds it (issue 13).
    assert model.canDropMimeData(mime, 1, -1, 0, model.find("zarr", str(store / "plain")))
    from qtpy.QtCore import Qt

    with qtbot.waitSignal(second.viewer_link.sendFinished, timeout=60_000):
        assert model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, 0, target)
    assert layers(viewer_port) == {"experiment.zarr/plain": (16, 512, 512), "experiment.zarr/sharded": (4, 1024, 1024)}
    with qtbot.waitSignal(second.shutdownFinished):
        second.close()

    # Then stop it: no process and no shared memory left behind.
    assert cli("viewer", "--stop", "--port", str(viewer_port)).returncode == 0
    wait_for(lambda: not streaming._pid_alive(viewer_pid), 15, "the viewer to exit")
    # Polled, not read once: a segment of another program on this machine may come and go meanwhile.
    wait_for(lambda: shm_segments() <= before, 10, "every shared-memory segment to be released")


def test_a_port_held_by_another_program_is_refused_clearly(viewer_port):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", viewer_port))
        squatter.listen()
        started = time.monotonic()
        run = cli("viewer", "--port", str(viewer_port), timeout=60)
        assert run.returncode == 2 and "another program" in run.stderr
        sent = cli("send", "--port", str(viewer_port), "memory:/nothing", timeout=60)
        assert sent.returncode == 1
        status = cli("viewer", "--status", "--port", str(viewer_port), timeout=60)
        assert status.returncode == 1 and "taken by another program" in status.stdout
        assert time.monotonic() - started < 45  # three interpreter start-ups, no 30 s waits


def test_unshowable_arrays_are_refused_before_anything_is_sent(viewer_port, tmp_path):
    np.save(tmp_path / "line.npy", np.arange(100))
    np.save(tmp_path / "waves.npy", np.ones((8, 8), np.complex64))
    run = cli("send", "--port", str(viewer_port), str(tmp_path / "line.npy"), str(tmp_path / "waves.npy"))
    assert run.returncode == 1
    assert run.stderr.count("refused") == 2 and "1-D" in run.stderr and "complex" in run.stderr
    # Nothing was sent, so no viewer was even started.
    assert streaming.viewer_state(viewer_port).running is streaming.Running.NO


def test_a_viewer_killed_mid_batch_fails_the_send_at_once_and_leaves_no_shared_memory(viewer):
    port, process = viewer
    before = shm_segments()
    state = streaming.viewer_state(port)
    items = [streaming.StreamItem("big", np.ones((64, 1024, 1024), np.uint16), "memory:/big")]
    os.kill(process.pid, signal.SIGSTOP)  # it can no longer answer: the batch stays in flight
    outcome = {}

    def run():
        try:
            streaming.send(items, port, viewer_pid=state.pid)
        except streaming.StreamError as exc:
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    sender = threading.Thread(target=run)
    sender.start()
    try:
        wait_for(lambda: shm_segments() - before, 30, "the batch's shared memory to exist")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        killed_at = time.monotonic()
    sender.join(20)
    assert not sender.is_alive()
    assert "exited while receiving" in str(outcome["error"])
    assert outcome["at"] - killed_at < 5  # not polystore's 30 s acknowledgement timeout
    process.wait(10)
    # Polled, not read once: a segment of another program on this machine may come and go meanwhile.
    wait_for(lambda: shm_segments() <= before, 10, "every shared-memory segment to be released")


def test_fiji_with_no_receiver_fails_before_reading_anything(qtbot, viewer_port, demo_dir, monkeypatch):
    from polystore_gui.model.address import Address
    from polystore_gui.qt.main_window import MainWindow

    # A port bound and never listened on: refused, and no other program can take it meanwhile
    # (a merely free port was once taken by something else during the whole suite).
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.bind(("127.0.0.1", 0))
    fiji_port = reserved.getsockname()[1]
    try:
        window = MainWindow([str(demo_dir)], viewer_port=viewer_port, fiji_port=fiji_port)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.viewer_link.stateChanged, timeout=60_000):
            window.start_background(viewer=False)
        qtbot.waitUntil(lambda: "no Fiji receiver" in (window.tree_model.backend_note("fiji_stream") or ""),
                        timeout=15_000)
        read: list[str] = []
        real_prepare = streaming.prepare
        monkeypatch.setattr(streaming, "prepare", lambda backend, path, **kw: (read.append(path), real_prepare(backend, path, **kw))[1])
        # Well within polystore's 30 s wait for an acknowledgement: the refusal needs no reply.
        with qtbot.waitSignal(window.viewer_link.sendFailed, timeout=20_000) as failed:
            window.viewer_link.send([Address("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))], "fiji_stream")
        # The refusal's own text, at once: superqt once turned a StreamError into a warning,
        # lost whenever another job ran (session 11; tests/qt/test_job_errors.py).
        assert failed.args[0].startswith(f"no Fiji receiver is listening on port {fiji_port}")
        assert read == []  # nothing was read for a receiver that is not there
        window.shutdown()
        window.close()
    finally:
        reserved.close()
