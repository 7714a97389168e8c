"""Real processes: the persistent napari viewer, started and always ended by the test."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from polystore_gui.model import streaming
from polystore_gui.model.viewer_protocol import RUNTIME_DIR_ENV
from tests.fakes import free_port_pair

# The viewers' session tokens go to a private folder of this test session, never the user's.
_RUNTIME = Path(tempfile.mkdtemp(prefix="polystore-gui-runtime-")) / "runtime"
os.environ[RUNTIME_DIR_ENV] = str(_RUNTIME)
atexit.register(shutil.rmtree, _RUNTIME.parent, True)


def shm_segments() -> set[str]:
    """polystore's viewer shared-memory blocks present now."""
    try:
        return {name for name in os.listdir("/dev/shm") if name.startswith(("napari_", "fiji_"))}
    except FileNotFoundError:
        return set()


def _leak_candidates() -> set[str]:
    """Segments a test here could leave: polystore's viewer blocks and Python's own (``psm_``)."""
    try:
        return {name for name in os.listdir("/dev/shm") if name.startswith(("napari_", "fiji_", "psm_"))}
    except FileNotFoundError:
        return set()


@pytest.fixture(autouse=True)
def no_shared_memory_left_behind():
    """Fail a test that leaves a new shared-memory segment in /dev/shm (compared before/after).

    A segment may be unlinked a moment after the test's last step (the viewer's reply
    arrives, a process exits): it is given a few seconds, polled, before the test fails.
    """
    before = _leak_candidates()
    yield
    try:
        wait_for(lambda: not (_leak_candidates() - before), 10, "shared memory to be released")
    except AssertionError:
        left = sorted(_leak_candidates() - before)
        pytest.fail(f"the test left shared-memory segments in /dev/shm: {left}")


def wait_for(predicate, timeout: float, what: str):
    """Poll ``predicate`` until it is truthy (a condition, not a fixed sleep); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def end_process(pid: int | None) -> None:
    """End a viewer we started: ask it, then kill it by PID if it will not go."""
    if pid is None:
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    os.kill(pid, signal.SIGKILL)


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "polystore_gui", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def viewer_port(tmp_path):
    """A free port pair; whatever viewer ends up on it is stopped (or killed) afterwards."""
    port = free_port_pair()
    yield port
    state = streaming.viewer_state(port, with_layers=False)
    if state.ours:
        try:
            streaming.stop_viewer(port, timeout=10)
        except streaming.StreamError:
            end_process(state.pid)


@pytest.fixture
def viewer(viewer_port, tmp_path):
    """A running viewer process on ``viewer_port``: (port, Popen)."""
    log = open(tmp_path / "viewer.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "polystore_gui", "viewer", "--port", str(viewer_port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: streaming.viewer_state(viewer_port, with_layers=False).ours or process.poll() is not None,
                 120, "the viewer to be ready")
        assert process.poll() is None, Path(tmp_path / "viewer.log").read_text()
        yield viewer_port, process
    finally:
        if process.poll() is None:
            if streaming.viewer_state(viewer_port, with_layers=False).ours:
                streaming.control_request(viewer_port, streaming.SHUTDOWN_REQUEST)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()
