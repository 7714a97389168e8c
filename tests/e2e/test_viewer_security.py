"""The viewer's two ports against hostile and broken peers (issue 14), with a real viewer process.

Everything here talks to a real ``polystore-gui viewer`` over loopback TCP: pickles that
would create a file, garbage, truncated and oversized frames, a 3 GiB length prefix sent by
hand in ZeroMQ's own framing (ZMTP 3.0), batches without the session token or with an
acknowledgement route off this machine. After each, the viewer must still answer, hold its
memory, and take the next real send.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import socket
import stat
import struct
import time
import uuid
from multiprocessing import shared_memory

import numpy as np
import psutil
import pytest
import zmq

from polystore_gui.model import streaming
from polystore_gui.model import viewer_protocol as protocol

from .conftest import cli, wait_for

pytestmark = [pytest.mark.gl, pytest.mark.slow]
if not os.environ.get("DISPLAY"):
    pytestmark.append(pytest.mark.skip(reason="the viewer is a napari window: run under xvfb-run (make test)"))

LOOPBACK = "127.0.0.1"


class Touch:
    """Unpickling this creates ``path``: the witness that a pickle was run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def request(port: int, frames: list[bytes], timeout_ms: int = 3000) -> list[bytes] | None:
    """One REQ/REP exchange on ``port`` (any frames); the reply's frames, or None when none came."""
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    try:
        sock.connect(f"tcp://{LOOPBACK}:{port}")
        sock.send_multipart(frames)
        return sock.recv_multipart()
    except zmq.Again:
        return None
    finally:
        sock.close(linger=0)


def json_reply(frames: list[bytes] | None) -> dict:
    assert frames is not None and len(frames) == 1, frames
    return json.loads(frames[0])


def zmtp_peer(port: int) -> socket.socket:
    """A plain TCP socket that has greeted ``port`` as a ZeroMQ REQ peer (ZMTP 3.0, NULL)."""
    peer = socket.create_connection((LOOPBACK, port), timeout=5)
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" + b"\x00" * 31
    ready = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 3) + b"REQ"
    peer.sendall(greeting)
    _read_exactly(peer, 64)  # the viewer's greeting
    peer.sendall(bytes([0x04, len(ready)]) + ready)
    flags, size = _read_exactly(peer, 2)  # the viewer's READY: the handshake is done
    assert flags == 0x04, flags
    assert _read_exactly(peer, size).startswith(b"\x05READY")
    return peer


def _read_exactly(peer: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = peer.recv(count - len(data))
        assert chunk, "the viewer closed the connection during the ZMTP handshake"
        data += chunk
    return data


def flood_with_length(port: int, length: int, send_at_most: int) -> int:
    """Announce one frame of ``length`` bytes, then send zeros until the peer hangs up; bytes sent."""
    peer = zmtp_peer(port)
    sent = 0
    try:
        peer.sendall(b"\x01\x00")  # REQ's empty delimiter frame (MORE)
        peer.sendall(b"\x02" + struct.pack(">Q", length))  # LONG frame header, the last frame
        chunk = bytes(1 << 20)
        while sent < send_at_most:
            peer.sendall(chunk)
            sent += len(chunk)
    except OSError:  # the viewer hung up: what MAXMSGSIZE is for
        pass
    finally:
        peer.close()
    return sent


def flood_with_frames(port: int, frame: int, send_at_most: int) -> int:
    """Begin one message and never end it: frames of ``frame`` bytes, each saying "more follows"."""
    peer = zmtp_peer(port)
    sent = 0
    header = (b"\x03" + struct.pack(">Q", frame)) if frame > 255 else bytes([0x01, frame])
    block = (header + bytes(frame)) * max(1, (1 << 20) // (frame + len(header)))
    try:
        peer.sendall(b"\x01\x00")  # REQ's empty delimiter frame (MORE)
        while sent < send_at_most:
            peer.sendall(block)
            sent += len(block)
    except OSError:  # the viewer closed the socket: what the memory guard is for
        pass
    finally:
        peer.close()
    return sent


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def answers(port: int) -> bool:
    return streaming.viewer_state(port, with_layers=False, timeout_ms=2000).ours


def batch(token: str | None, shm_name: str, route: str = "tcp://127.0.0.1:9") -> bytes:
    """A batch as polystore's napari_stream sends it: one 8x8 uint8 image in ``shm_name``."""
    owner = {"pid": os.getpid(), "create_time": psutil.Process().create_time()}
    config = {"component_modes": {"source": "slice"}, "component_order": ["source"]}
    if token is not None:
        config["token"] = token
    return json.dumps({
        "type": "batch",
        "images": [{
            "path": "intruder.npy", "dtype": "uint8", "shape": [8, 8], "shm_name": shm_name,
            "image_id": str(uuid.uuid4()),
            "return_route": {"url": route, "incarnation": str(uuid.uuid4()), "owner": owner},
            "producer": owner, "data_type": "image", "metadata": {"source": "memory:/intruder"},
            "producer_identity": {"origin": "direct", "output_kind": "direct", "output_key": "t", "projection_key": "t"},
        }],
        "display_config": config,
        "timestamp": time.time(),
    }).encode()


def test_pickles_on_either_port_run_nothing_and_the_viewer_answers_status(viewer, tmp_path):
    port, process = viewer
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"type": "ping", "evil": Touch(str(marker))})
    control = json_reply(request(streaming.control_port(port), [payload]))
    assert control["status"] == "error" and control["error"] == "request" and "not JSON" in control["message"]
    data = json_reply(request(port, [payload]))
    assert data["status"] == "error" and "not JSON" in data["message"]
    assert not marker.exists()
    status = cli("viewer", "--status", "--port", str(port), "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["pid"] == process.pid
    assert not marker.exists()


def test_the_token_file_is_private_and_a_wrong_or_missing_token_is_refused(viewer):
    port, process = viewer
    path = protocol.token_path(port)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["pid"] == process.pid and len(doc["token"]) >= 32

    for token in ("wrong", ""):
        reply = streaming.control_request(port, protocol.STATUS, token=token)
        assert reply is not None and reply["status"] == "error" and reply["error"] == "token"
        assert reply["server"] == protocol.SERVER_NAME and "pid" not in reply and "layers" not in reply
        assert streaming.control_request(port, protocol.SHUTDOWN, token=token)["error"] == "token"
    state = streaming.viewer_state(port, token="wrong")
    assert state.running is streaming.Running.DENIED and not state.ours
    assert f"a polystore-gui viewer runs on port {port} but your token does not match" in state.describe()

    env = {**os.environ, protocol.TOKEN_ENV: "not-the-token"}
    import subprocess
    import sys

    status = subprocess.run([sys.executable, "-m", "polystore_gui", "viewer", "--status", "--port", str(port)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert status.returncode == 1 and "your token does not match (started by another user?)" in status.stdout
    stop = subprocess.run([sys.executable, "-m", "polystore_gui", "viewer", "--stop", "--port", str(port)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert stop.returncode == 1 and "token does not match" in stop.stderr
    assert process.poll() is None and answers(port)  # still running, and ours with the right token

    # A batch without the token is refused before its shared memory is even opened.
    block = shared_memory.SharedMemory(create=True, size=64, name=f"napari_test_{uuid.uuid4().hex[:12]}")
    try:
        block.buf[:64] = bytes(range(64))
        for token in (None, "wrong"):
            reply = json_reply(request(port, [batch(token, block.name)]))
            assert reply["status"] == "error" and "token" in reply["message"]
        # With the token but an acknowledgement route off this machine: refused, nothing shown.
        reply = json_reply(request(port, [batch(doc["token"], block.name, route="tcp://192.0.2.1:5555")]))
        assert reply["status"] == "error" and "not on this machine" in reply["message"]
        assert streaming.viewer_state(port).layers == ()
        assert bytes(block.buf[:64]) == bytes(range(64))  # untouched, still there
    finally:
        block.close()
        block.unlink()

    assert cli("viewer", "--stop", "--port", str(port)).returncode == 0
    assert process.wait(15) == 0
    assert not path.exists()  # the session's token goes with its viewer


def test_garbage_then_a_good_request_and_a_huge_length_prefix_leaves_memory_alone(viewer):
    port, process = viewer
    control = streaming.control_port(port)
    for junk in ([b"\x00\xff garbage"], [b"[1, 2]"], [b"{}"], [b"[" * 10_000], [b"a", b"b", b"c"],
                 [json.dumps({"protocol": protocol.PROTOCOL, "type": "rm -rf", "token": 1}).encode()]):
        reply = json_reply(request(control, junk))
        assert reply["status"] == "error" and reply["server"] == protocol.SERVER_NAME
        assert answers(port)
    with socket.create_connection((LOOPBACK, control)) as raw:  # not even ZeroMQ
        raw.sendall(os.urandom(4096))
    assert answers(port)

    # A message over the cap through ZeroMQ itself: the peer is dropped, nothing is answered.
    assert request(control, [b"x" * (protocol.MAX_REQUEST_BYTES + 1)], timeout_ms=1500) is None
    assert answers(port)

    before = rss(process.pid)
    sent = {p: flood_with_length(p, 3 << 30, send_at_most=256 << 20) for p in (control, port)}
    assert all(n < 256 << 20 for n in sent.values()), sent  # the viewer hung up early
    assert answers(port)
    assert rss(process.pid) - before < 64 << 20
    status = cli("viewer", "--status", "--port", str(port))
    assert status.returncode == 0 and f"PID {process.pid}" in status.stdout


def test_random_bytes_on_the_data_port_then_a_real_send_succeeds(viewer):
    port, process = viewer
    rng = random.Random(14)
    for _ in range(5):
        with socket.create_connection((LOOPBACK, port)) as raw:
            raw.sendall(rng.randbytes(rng.randrange(1, 8192)))
    zmtp = zmtp_peer(port)
    zmtp.sendall(rng.randbytes(2048))  # random frames after a valid greeting
    for junk in ([rng.randbytes(512)], [b"{\"images\": 7}"], [b"x", b"y"]):
        assert json_reply(request(port, junk))["status"] == "error"
    dealer = zmq.Context.instance().socket(zmq.DEALER)  # a message with no REQ envelope
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(f"tcp://{LOOPBACK}:{port}")
    dealer.send_multipart([b"no delimiter", rng.randbytes(64)])
    zmtp.close()

    item = streaming.StreamItem("after-garbage", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), "memory:/after")
    started = time.monotonic()
    assert streaming.send([item], port, viewer_pid=process.pid) == item.data.nbytes
    assert time.monotonic() - started < 10  # acknowledged, not polystore's 30 s timeout
    dealer.close(linger=0)
    assert [layer["shape"] for layer in streaming.viewer_state(port).layers] == [[64, 64]]


def _fuzz_frames(rng: random.Random, token: str) -> list[bytes]:
    good_request = protocol.encode_request(rng.choice(protocol.REQUEST_TYPES[:2]), token)
    good_batch = batch(token, "napari_fuzz_missing")
    kind = rng.randrange(7)
    if kind == 0:
        return [rng.randbytes(rng.randrange(0, 2048))]
    if kind == 1:
        return [good_request[: rng.randrange(len(good_request))]]
    if kind == 2:
        return [good_batch[: rng.randrange(len(good_batch))]]
    if kind == 3:
        cut = bytearray(good_batch)
        for _ in range(rng.randrange(1, 20)):
            cut[rng.randrange(len(cut))] = rng.randrange(256)
        return [bytes(cut)]
    if kind == 4:
        return [rng.randbytes(rng.randrange(1, 64)) for _ in range(rng.randrange(2, 6))]
    if kind == 5:
        doc = json.loads(good_batch)
        doc["images"][0][rng.choice(["shape", "dtype", "shm_name", "return_route"])] = rng.choice(
            [None, -1, [1e300], "O", [[]], {"url": "ipc:///tmp/x"}, "\u0000" * 10, [2**70, 2]])
        return [json.dumps(doc).encode()]
    return [json.dumps(rng.choice([[], "s", 1.5, None, {"protocol": protocol.PROTOCOL}])).encode()]


def test_fuzz_both_ports_then_status_after_every_round(viewer):
    port, process = viewer
    token = protocol.read_token(port)
    assert token
    rng = random.Random(20261204)
    control = streaming.control_port(port)
    before = rss(process.pid)
    started = time.monotonic()
    for _round in range(8):
        for _ in range(25):
            target = rng.choice((port, control))
            frames = _fuzz_frames(rng, token)
            reply = request(target, frames, timeout_ms=2000)
            if len(frames) == 1 and len(frames[0]) <= protocol.MAX_REQUEST_BYTES:
                assert reply is not None, frames  # every message the caps let through is answered
            if reply is not None and target == control:
                assert json_reply(reply)["server"] == protocol.SERVER_NAME
        flood_with_length(rng.choice((port, control)), rng.choice((1 << 31, 1 << 40, 2**63 - 1)), 8 << 20)
        with socket.create_connection((LOOPBACK, rng.choice((port, control)))) as raw:
            raw.sendall(rng.randbytes(rng.randrange(1, 4096)))
        assert answers(port), f"no answer after round {_round}"
    assert time.monotonic() - started < 30
    assert rss(process.pid) - before < 64 << 20
    assert streaming.viewer_state(port).layers == ()  # nothing the fuzz sent became a layer
    wait_for(lambda: cli("viewer", "--status", "--port", str(port)).returncode == 0, 30, "--status to answer")


@pytest.mark.parametrize(("which", "frame"), [("control", 16 << 10), ("data", 1 << 20), ("control", 0)])
def test_a_message_that_never_ends_is_cut_off_before_it_takes_the_memory(viewer, which, frame):
    """MAXMSGSIZE caps each frame, not their number: the viewer's memory guard closes the socket."""
    port, process = viewer
    target = port if which == "data" else streaming.control_port(port)
    before = rss(process.pid)
    sent = flood_with_frames(target, frame, send_at_most=2 << 30)
    assert sent < 2 << 30, "the viewer never hung up"
    # The bound is the hang-up above; what the dropped peer had queued is then handed back
    # (on a loaded machine the guard's poll can see more than its allowance first).
    wait_for(lambda: rss(process.pid) - before < 512 << 20, 20, "the flood's memory to be handed back")
    assert answers(port)
    item = streaming.StreamItem("after-flood", np.ones((32, 32), np.uint8), "memory:/after-flood")
    assert streaming.send([item], port, viewer_pid=process.pid) == item.data.nbytes
