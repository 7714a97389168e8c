"""The sending side of streaming, without a viewer: refusals, batching, ports, drag payloads,
and the layer rules the viewer applies (pure numpy, no napari)."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from polystore_gui.model import streaming
from polystore_gui.model import viewer_protocol as protocol
from polystore_gui.model.address import Address, decode_entries, encode_entries
from polystore_gui.viewer.layers import LayerBook
from tests.fakes import free_port_pair


@pytest.mark.parametrize(
    ("shape", "dtype", "why"),
    [
        ((10,), "u2", "1-D"),
        ((0, 5), "u2", "empty"),
        ((4, 4), "c8", "complex"),
        ((4, 4), "U3", "text"),
        ((4, 4), [("a", "i4"), ("b", "f4")], "records"),
        ((4, 4), "O", "Python objects"),
    ],
)
def test_what_napari_cannot_show_is_refused_with_the_reason(shape, dtype, why):
    assert why in streaming.refusal(shape, dtype)


@pytest.mark.parametrize("dtype", ["u1", "u2", "i4", "f4", "f8", "bool"])
def test_images_of_every_pixel_type_pass(dtype):
    assert streaming.refusal((3, 8, 8), dtype) is None


def test_prepare_reads_arrays_and_refuses_before_reading_too_much(demo_dir, tmp_path):
    item = streaming.prepare("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
    assert item.name == "plain" and item.data.shape == (16, 512, 512) and item.data.flags.c_contiguous
    with pytest.raises(streaming.Refused, match="would not fit"):
        streaming.prepare("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"), limit=1024)
    np.save(tmp_path / "line.npy", np.arange(10))
    with pytest.raises(streaming.Refused, match="1-D|not an image"):
        streaming.prepare("disk", str(tmp_path / "line.npy"))
    np.save(tmp_path / "waves.npy", np.ones((4, 4), np.complex64))
    with pytest.raises(streaming.Refused, match="complex|not an image"):
        streaming.prepare("disk", str(tmp_path / "waves.npy"))
    (tmp_path / "notes.txt").write_text("not pixels")
    with pytest.raises(streaming.Refused, match="not an image"):
        streaming.prepare("disk", str(tmp_path / "notes.txt"))
    items, problems = streaming.prepare_all([("disk", str(tmp_path / "line.npy")), ("disk", str(tmp_path / "gone.tif"))])
    assert items == [] and len(problems) == 2


def test_batches_hold_at_most_the_byte_limit_and_a_big_array_goes_alone():
    def item(n):
        return streaming.StreamItem(str(n), np.zeros(n, np.uint8), f"memory:/{n}")

    groups = streaming.batches([item(40), item(50), item(20), item(200), item(10)], limit=100)
    assert [[i.data.nbytes for i in g] for g in groups] == [[40, 50], [20], [200], [10]]


def test_nothing_on_a_port_is_said_plainly_and_quickly():
    port = free_port_pair()
    started = time.monotonic()
    state = streaming.viewer_state(port)
    assert state.running is streaming.Running.NO and not state.ours
    assert "not running" in state.describe()
    with pytest.raises(streaming.StreamError, match="no Fiji receiver is listening"):
        streaming.require_receiver(port, what="Fiji receiver")
    assert time.monotonic() - started < 5


def test_another_program_on_the_port_is_named_as_such():
    port = free_port_pair()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        state = streaming.viewer_state(port, timeout_ms=300)
        assert state.running is streaming.Running.OTHER
        assert "taken by another program" in state.describe()
        with pytest.raises(streaming.StreamError, match="another program"):
            streaming.ensure_viewer(port, timeout=5)


def test_the_drag_payload_round_trips_and_rejects_garbage():
    addresses = [Address("disk", "/a/b.tif"), Address("zarr", "/s.zarr/raw"), Address("disk", "/a/b.tif")]
    assert decode_entries(encode_entries(addresses)) == addresses[:2]
    for bad in (b"not json", b'{"backend": "disk"}', b'[{"backend": 1, "path": "/x"}]'):
        with pytest.raises(ValueError):
            decode_entries(bad)


# -- the viewer's layer rules ------------------------------------------------------------------


def _item(data, producer="gui", **metadata):
    return {
        "data": data,
        "path": "x.tif",
        "metadata": metadata,
        "data_type": "image",
        "producer_identity": {"origin": "direct", "output_kind": "direct", "output_key": producer, "projection_key": producer},
    }


def test_slice_components_split_layers_and_stack_components_make_axes():
    book = LayerBook()
    config = {"component_order": ["channel", "z"], "component_modes": {"channel": "slice", "z": "stack"}}
    items = [_item(np.full((4, 5), 10 * c + z, np.uint16), channel=c, z=z) for c in (1, 2) for z in (2, 0, 1)]
    updates = {u.name: u for u in book.add_batch(items, config)}
    assert sorted(updates) == ["1", "2"]  # one slice component: its value names the layer
    for c, update in zip((1, 2), sorted(updates.values(), key=lambda u: u.name)):
        assert update.data.shape == (3, 4, 5)
        assert [int(update.data[z, 0, 0]) for z in range(3)] == [10 * c, 10 * c + 1, 10 * c + 2]  # z in order
        assert update.stack_values == ((0, 1, 2),)


def test_items_accumulate_across_batches_and_a_repeat_replaces_its_plane():
    book = LayerBook()
    config = {"component_order": ["z"], "component_modes": {"z": "stack"}}
    book.add_batch([_item(np.zeros((2, 2)), z=0)], config)
    (update,) = book.add_batch([_item(np.ones((2, 2)), z=1), _item(np.full((2, 2), 5.0), z=0)], config)
    assert update.data.shape == (2, 2, 2)
    assert update.data[0, 0, 0] == 5.0 and update.data[1, 0, 0] == 1.0
    # A new image shape starts the layer again: the newest data wins.
    (update,) = book.add_batch([_item(np.ones((3, 3)), z=7)], config)
    assert update.data.shape == (1, 3, 3)


def test_producers_never_share_a_layer_and_each_source_is_its_own_layer():
    book = LayerBook()
    config = {"component_order": ["source"], "component_modes": {"source": "slice"}}
    a = np.zeros((2, 2))
    updates = book.add_batch(
        [_item(a, source="/data/x.zarr/raw"), _item(a, source="/data/y.zarr/raw"), _item(a, producer="other", source="/data/x.zarr/raw")],
        config,
    )
    assert len(updates) == 3 and len({u.key for u in updates}) == 3
    assert {u.name for u in updates} == {"x.zarr/raw", "y.zarr/raw"}
    # An unstacked layer shows the array it was sent, not a copy.
    assert updates[0].data is a


# -- the control protocol: JSON, the token, nothing unpickled (issue 14) -------------------------


class _Touch:
    """Unpickling this creates ``path``: the witness that a pickle was run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def fake_viewer(tmp_path):
    """A program on a port pair whose control port answers every request with a pickle."""
    import threading

    import zmq

    port = free_port_pair()
    marker = tmp_path / "pwned"
    context = zmq.Context()
    control = context.socket(zmq.REP)
    control.setsockopt(zmq.LINGER, 0)
    control.bind(f"tcp://127.0.0.1:{streaming.control_port(port)}")
    stop = threading.Event()
    served = []

    def serve():
        poller = zmq.Poller()
        poller.register(control, zmq.POLLIN)
        while not stop.is_set():
            if poller.poll(50):
                served.append(control.recv_multipart())
                control.send(pickle.dumps({"status": "ok", "server": "PolystoreNapariViewer", "evil": _Touch(str(marker))}))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, marker, served
    stop.set()
    thread.join(5)
    control.close(linger=0)
    context.term()


def test_a_fake_viewer_replying_with_a_pickle_runs_nothing_and_is_another_program(fake_viewer):
    port, marker, served = fake_viewer
    state = streaming.viewer_state(port, timeout_ms=300)
    assert served, "the fake server was asked"
    assert state.running is streaming.Running.OTHER and not state.ours
    assert "taken by another program" in state.describe()
    assert streaming.control_request(port, streaming.STATUS_REQUEST, timeout_ms=300) is None
    assert streaming.stop_viewer(port).running is streaming.Running.OTHER
    with pytest.raises(streaming.StreamError, match="another program"):
        streaming.ensure_viewer(port, timeout=5)
    run = subprocess.run([sys.executable, "-m", "polystore_gui", "viewer", "--status", "--port", str(port)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "taken by another program" in run.stdout, run.stdout + run.stderr
    assert not marker.exists()


def test_the_token_file_is_private_and_only_its_own_viewer_removes_it(tmp_path, monkeypatch):
    import os
    import stat

    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o755)
    monkeypatch.setenv(protocol.RUNTIME_DIR_ENV, str(runtime))
    monkeypatch.delenv(protocol.TOKEN_ENV, raising=False)
    assert protocol.read_token(1234) is None
    token = protocol.new_token()
    path = protocol.write_token(1234, token, pid=os.getpid(), host="127.0.0.1")
    assert path == runtime / "viewer-1234.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700  # tightened
    assert protocol.read_token(1234) == token
    monkeypatch.setenv(protocol.TOKEN_ENV, "from-the-environment")
    assert protocol.read_token(1234) == "from-the-environment"
    protocol.remove_token(1234, "someone else's")
    assert path.exists()
    protocol.remove_token(1234, token)
    assert not path.exists()


def test_requests_and_replies_are_checked_json_and_tokens_compare_exactly():
    token = protocol.new_token()
    request = protocol.decode_request(protocol.encode_request("status", token))
    assert request == protocol.Request("status", token)
    assert protocol.token_matches(request.token, token)
    for offered in (None, "", token[:-1], token + "x", 42, ["x"]):
        assert not protocol.token_matches(offered, token)
    for raw in (pickle.dumps({"type": "status"}), b"\xff\xfe", b"[1]", b"{}", b"[" * 5000,
                b'{"protocol": "polystore-gui-viewer/1", "type": "exec"}',
                b'{"protocol": "polystore-gui-viewer/1", "type": "status", "token": 7}',
                b" " * (protocol.MAX_REQUEST_BYTES + 1)):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode_request(raw)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_reply(pickle.dumps({"status": "ok"}))
    reply = protocol.decode_reply(protocol.error_reply("token", "no"))
    assert reply["server"] == protocol.SERVER_NAME and reply["error"] == "token"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"])
def test_loopback_hosts_need_no_warning(host):
    assert protocol.exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "*", "192.168.1.5", "::", "10.1.2.3"])
def test_other_hosts_are_warned_about(host):
    warning = protocol.exposure_warning(host)
    assert warning and "reachable from other machines" in warning and "token" in warning


def test_acknowledgement_routes_stay_on_this_machine():
    assert protocol.route_refusal("tcp://127.0.0.1:5555", allow_remote=False) is None
    assert protocol.route_refusal("tcp://[::1]:5555", allow_remote=False) is None
    for url in ("tcp://192.0.2.1:5555", "tcp://example.com:80", "ipc:///tmp/x", "tcp://127.0.0.1", "tcp://127.0.0.1:x",
                None, 5, "tcp://" + "a" * 400):
        assert protocol.route_refusal(url, allow_remote=False), url
    assert protocol.route_refusal("tcp://192.0.2.1:5555", allow_remote=True) is None


def test_a_viewer_asked_for_another_host_warns_before_anything(tmp_path):
    """TEST-NET-1 (192.0.2.1) is no interface here: binding fails locally, nothing is sent."""
    port = free_port_pair()
    env = {**__import__("os").environ, protocol.RUNTIME_DIR_ENV: str(tmp_path / "runtime")}
    run = subprocess.run([sys.executable, "-m", "polystore_gui", "viewer", "--port", str(port), "--host", "192.0.2.1"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 2
    assert "WARNING: the viewer listens on 192.0.2.1, reachable from other machines" in run.stderr
    assert "cannot listen on 192.0.2.1" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "runtime").exists()  # no token written for a viewer that never listened


def test_a_flood_of_refused_batches_does_not_fill_the_viewers_log(caplog):
    import logging

    from polystore_gui.viewer.server import _Throttled

    logger = logging.getLogger("test.viewer.refusals")
    throttled = _Throttled(logger, per_minute=3)
    with caplog.at_level(logging.WARNING, logger="test.viewer.refusals"):
        for n in range(1000):
            throttled.warn("refused a batch: %s", n)
    assert [r.getMessage() for r in caplog.records] == [f"refused a batch: {n}" for n in range(3)]
    assert throttled.dropped == 997


def test_only_messages_from_request_sockets_are_answered():
    from polystore_gui.viewer.server import split_envelope

    assert split_envelope([b"id", b"", b"body"]) == ([b"id", b""], [b"body"])
    assert split_envelope([b"id", b"hop", b"", b"a", b"b"]) == ([b"id", b"hop", b""], [b"a", b"b"])
    assert split_envelope([b"id", b"no delimiter"]) is None
    assert split_envelope([b"id", *[b"x"] * 20, b"", b"body"]) is None  # envelope too deep


def test_the_memory_guard_trips_only_on_growth_no_batch_explains():
    from polystore_gui.viewer.guard import MemoryGuard

    now = {"t": 0.0, "rss": 1000}
    guard = MemoryGuard(allowance=100, grace=3.0, rss=lambda: now["rss"], clock=lambda: now["t"])
    now["t"] = 5.0
    now["rss"] = 1090
    assert not guard.check()  # within the allowance
    with guard.busy():  # a batch: copies and layers rightly take memory
        now["rss"] = 5000
        assert not guard.check()
    now["t"] = 6.0
    now["rss"] = 5050
    assert not guard.check()  # the window is still drawing it (grace)
    now["t"] = 10.0
    assert not guard.check()
    now["rss"] = 5200  # then growth with nothing to explain it
    assert guard.check() and guard.trips == 1
    now["rss"] = 5010
    guard.settle()  # the sockets were closed: the baseline is what is left
    assert not guard.check()


@pytest.mark.parametrize("reply", [b"not json at all", b'{"status": "nonsense"}', None],
                         ids=["unreadable", "unknown-status", "no-reply"])
def test_a_batch_whose_reply_is_unreadable_fails_clearly_and_leaves_no_shared_memory(reply, monkeypatch):
    """The sender owns its segments: an unreadable or unknown reply, or none within the
    acknowledgement timeout, must not leave them in /dev/shm."""
    import os
    import threading

    import zmq
    from polystore.streaming import _streaming_backend
    from polystore.streaming.viewer_transport import ViewerTransportDefaults

    # polystore waits 30 s for an acknowledgement; the same path, sooner.
    monkeypatch.setattr(_streaming_backend, "STREAMING_TRANSPORT_DEFAULTS", ViewerTransportDefaults(ack_timeout_ms=1_000))

    backend = streaming._stream_backend("napari_stream")
    created: list[str] = []
    real_create = backend.create_shared_memory_payload

    def recording_create(data, file_path):
        payload = real_create(data, file_path)
        created.append(payload["shm_name"])
        return payload

    monkeypatch.setattr(backend, "create_shared_memory_payload", recording_create)
    port = free_port_pair()
    context = zmq.Context()
    data = context.socket(zmq.REP)
    data.setsockopt(zmq.LINGER, 0)
    data.bind(f"tcp://127.0.0.1:{port}")

    def answer_once():
        if data.poll(30_000):
            data.recv_multipart()
            if reply is not None:
                data.send(reply)

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        item = streaming.StreamItem("x", np.ones((4, 16, 16), np.uint16), "memory:/x")
        with pytest.raises(streaming.StreamError, match=f"port {port}"):
            streaming.send([item], port, token="t")
    finally:
        thread.join(35)
        data.close(linger=0)
        context.term()
    assert created, "the batch was built in shared memory"
    assert [name for name in created if os.path.exists(f"/dev/shm/{name}")] == []
