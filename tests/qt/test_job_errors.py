"""A job's failure always reaches the GUI thread, whatever else runs (session 11, FLAKE).

superqt's GeneratorWorker treats any RuntimeError its generator raises as "the worker was
deleted": it returns it, and superqt's ``run`` then only *warns* and returns before emitting
``errored`` or ``finished``. ``StreamError`` (every failed send) is a RuntimeError, so in the
app a failed Send to Fiji/napari said nothing and the link stayed busy for ever. Under pytest
the warning was an error, which superqt delivered as the job's error, so tests passed, unless
another job was running at that moment: superqt's ``run`` wraps every job in
``warnings.catch_warnings()`` + ``filterwarnings("always")``, which changes the *process's*
warning filters from a worker thread, so the warning was then shown to that other job's
``warned`` signal (connected to nothing) and the failure vanished: the CI's
``sendFailed not emitted after 20000 ms``.
"""

from __future__ import annotations

import socket
import threading
import warnings

import pytest

from polystore_gui.model import streaming
from polystore_gui.model.address import Address
from polystore_gui.qt.viewer_link import FIJI, ViewerLink
from polystore_gui.qt.workers import WorkerPool


def _failing_generator(exc):
    def job():
        raise exc
        yield "never"  # a generator job

    return job


def _failing_function(exc):
    def job():
        raise exc

    return job


@pytest.fixture
def busy_pool(qtbot):
    """``busy_pool(threads, jobs)``: a pool of ``threads`` shared threads given ``jobs``
    listings of a hung mount (say) that run until the test ends; it returns once every
    thread runs one."""
    made: list[tuple[WorkerPool, threading.Event]] = []

    def make(threads: int, jobs: int) -> WorkerPool:
        pool = WorkerPool(max_threads=threads)
        release = threading.Event()
        made.append((pool, release))
        started = threading.Semaphore(0)

        def list_a_hung_mount():
            started.release()
            release.wait(60)
            yield "done"

        for _ in range(jobs):
            pool.start(list_a_hung_mount)
        for _ in range(min(threads, jobs)):
            assert started.acquire(timeout=10), "a blocking job never started"
        return pool

    yield make
    for pool, release in made:
        release.set()
        # Every outcome delivered (a send's end starts a viewer probe: it is waited for too),
        # so that no job of this test still runs when its pool goes.
        qtbot.waitUntil(lambda pool=pool: pool.running == 0, timeout=20_000)
        assert pool.wait(10_000)


@pytest.fixture
def blocked_job(busy_pool):
    """A pool with one job running until the test ends (a listing, a probe, ...)."""
    return busy_pool(4, 1)


@pytest.mark.parametrize("make", [_failing_generator, _failing_function], ids=["generator", "function"])
@pytest.mark.parametrize("exc_type", [streaming.StreamError, streaming.Refused, NotImplementedError, ValueError])
@pytest.mark.parametrize("filters", ["error", "ignore"], ids=["warnings-as-errors", "warnings-ignored"])
def test_a_failing_job_delivers_its_own_error_then_ends(qtbot, make, exc_type, filters):
    pool = WorkerPool(max_threads=2)
    raised = exc_type("no Fiji receiver is listening on port 1")
    errors: list[BaseException] = []
    finished: list[bool] = []
    with warnings.catch_warnings():
        warnings.simplefilter(filters)  # "ignore": as the app runs (no warning is an error there)
        pool.start(make(raised), on_error=errors.append, on_finish=lambda: finished.append(True))
        qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert errors == [raised]  # that very exception, not superqt's RuntimeWarning about it
    assert pool.running == 0
    assert pool.wait(10_000)


def test_a_job_failing_while_another_runs_still_delivers_its_error(qtbot, blocked_job):
    errors: list[BaseException] = []
    raised = streaming.StreamError("no Fiji receiver")
    blocked_job.start(_failing_generator(raised), on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert errors == [raised]


def test_a_running_job_leaves_the_processs_warning_filters_alone(qtbot, blocked_job):
    # superqt's run() replaced them (and showwarning) from the worker thread for the whole
    # job: warnings of the GUI thread went to that job's unconnected ``warned`` signal.
    assert blocked_job.running == 1
    with pytest.raises(UserWarning):  # still an error, as pyproject.toml says
        warnings.warn("a warning of the GUI thread", UserWarning, stacklevel=1)


@pytest.fixture
def refused_port():
    """A loopback port bound and never listened on: connections are refused, and no other
    program can take it during the test."""
    reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    reserved.bind(("127.0.0.1", 0))
    yield reserved.getsockname()[1]
    reserved.close()


def _send_to_fiji(qtbot, pool: WorkerPool, port: int) -> tuple[ViewerLink, str]:
    """Send to a Fiji that is not there; (the link, the text of its sendFailed)."""
    link = ViewerLink(pool, napari_port=port, fiji_port=port)
    with qtbot.waitSignal(link.sendFailed, timeout=10_000) as failed:
        link.send([Address("disk", "/nonexistent/never-read")], FIJI)
    return link, failed.args[0]


def test_send_to_fiji_with_no_receiver_fails_at_once_while_other_jobs_run(qtbot, blocked_job, refused_port):
    link, said = _send_to_fiji(qtbot, blocked_job, refused_port)
    # The StreamError's own text, not "sending failed: RuntimeWarning: RuntimeError in aborted thread: ..."
    assert said.startswith(f"no Fiji receiver is listening on port {refused_port}")
    qtbot.waitUntil(lambda: not link.busy, timeout=10_000)  # the send ended: the link is free again


def test_a_pool_says_which_jobs_run_and_which_wait_for_a_thread(qtbot, busy_pool):
    from tests.conftest import background_jobs

    pool = busy_pool(1, 1)

    def send_to_fiji():
        return None

    pool.start(send_to_fiji)
    said = pool.describe()
    assert said.startswith("1/1 threads busy (+0/2 asked); ")
    assert "1 running: busy_pool.<locals>.make.<locals>.list_a_hung_mount" in said
    assert "1 waiting: test_a_pool_says_which_jobs_run_and_which_wait_for_a_thread.<locals>.send_to_fiji" in said
    assert said in background_jobs()  # what a timed-out wait's report shows (tests/conftest.py)


def test_an_idle_pool_says_so(qtbot):
    pool = WorkerPool(max_threads=1)
    done: list[bool] = []
    pool.start(lambda: None, on_finish=lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done) and pool.running == 0, timeout=10_000)
    assert pool.wait(10_000)
    assert pool.describe() == "0/1 threads busy (+0/2 asked); no job"


def test_a_send_is_not_queued_behind_jobs_that_fill_the_pool(qtbot, busy_pool, refused_port):
    """Six listings of a hung mount (say) hold every shared thread: Send to Fiji still answers."""
    pool = busy_pool(6, 8)  # six running, two waiting for a thread
    _link, said = _send_to_fiji(qtbot, pool, refused_port)
    assert said.startswith(f"no Fiji receiver is listening on port {refused_port}")
    jobs = pool.describe()  # the send went ahead of the two listings still waiting
    assert jobs.startswith("6/6 threads busy"), jobs
    # Only the "waiting" part: the send may still be listed as ended (its end not yet delivered).
    waiting = jobs.split(" waiting: ", 1)[1].split("; ", 1)[0]
    assert waiting.count("list_a_hung_mount") == 2 and "_send_job" not in waiting, jobs

