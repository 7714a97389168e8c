"""The worker contract (issue 13 item 11; issue 14 item 6): a cancelled job's generator is
closed on the job's own thread, so its ``finally`` runs at once; quitting never waits for
ever on a job stuck in a system call."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from qtpy.QtCore import Qt

from polystore_gui.model.listing import gc_paused
from polystore_gui.qt.tree_model import _listing_job
from polystore_gui.model.listing import entry_for_path
from polystore_gui.qt.workers import WorkerPool


def _quit_on_first_yield(job):
    # Direct connection: quit() runs on the worker's thread as the first value is yielded,
    # so the job is aborted at that yield, whatever the timing.
    job.yielded.connect(lambda _value: job.quit(), Qt.ConnectionType.DirectConnection)


def test_a_cancelled_generator_is_closed_on_its_own_thread(qtbot):
    pool = WorkerPool(max_threads=2)
    ran: dict[str, object] = {}

    def job():
        ran["thread"] = threading.get_ident()
        try:
            with gc_paused():
                while True:
                    yield "more"
        finally:
            ran["finally_thread"] = threading.get_ident()
            ran["gc_enabled"] = gc.isenabled()

    was_enabled = gc.isenabled()
    finished = []
    started = pool.start(job, on_finish=lambda: finished.append(True))
    _quit_on_first_yield(started)
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert pool.wait(10_000)
    # ``started`` is still referenced here: the generator was closed by the worker, not by
    # the garbage collector when the last reference went.
    assert ran.get("finally_thread") == ran["thread"] != threading.get_ident()
    assert ran["gc_enabled"] is was_enabled and gc.isenabled() is was_enabled
    del started


def test_a_cancelled_folder_listing_turns_the_collector_back_on_and_stops_its_sorter(qtbot, tmp_path):
    for i in range(3000):
        (tmp_path / f"f{i}.txt").touch()
    (tmp_path / "sub").mkdir()
    pool = WorkerPool(max_threads=2)
    yields = []
    finished = []
    assert gc.isenabled()
    job = pool.start(_listing_job, entry_for_path("disk", str(tmp_path)), True, "name", False,
                     on_yield=yields.append, on_finish=lambda: finished.append(True))
    _quit_on_first_yield(job)
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert pool.wait(10_000)
    assert [what for what, _listed in yields] == ["rows"]  # cancelled inside the listing
    assert gc.isenabled(), "the cancelled listing left the garbage collector off"
    assert not [t for t in threading.enumerate() if t.name.startswith("polystore-gui-sort")]
    del job


STUCK_APP = textwrap.dedent("""
    import logging, os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING)
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication
    from polystore_gui.qt.workers import WorkerPool

    app = QApplication([])
    pool = WorkerPool()

    def read_fifo(path):
        with open(path, "rb") as fh:  # no writer ever comes: blocks for good
            return fh.read()

    def quit_app():
        pool.cancel_all(close=True)
        print("waited:", pool.wait(300), flush=True)
        app.quit()

    for i in range(7):  # more than the pool's threads
        pool.start(read_fifo, sys.argv[1])
    QTimer.singleShot(300, quit_app)
    app.exec()
    del pool
    print("exited", flush=True)
""")


# The browser itself, quit through its real exit path (closeEvent -> shutdown) while a job of
# its pool is stuck on a FIFO: quitting must feel immediate, not wait out the stuck job.
STUCK_WINDOW_APP = textwrap.dedent("""
    import logging, os, sys, time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING)
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication
    from polystore_gui.qt.main_window import MainWindow

    app = QApplication([])
    window = MainWindow([os.path.dirname(sys.argv[1])])
    finished = []
    window.shutdownFinished.connect(lambda: finished.append(True))

    def read_fifo(path):
        with open(path, "rb") as fh:  # no writer ever comes: blocks for good
            return fh.read()

    def quit_app():
        started = time.monotonic()
        window.close()
        print(f"quit in {time.monotonic() - started:.2f} s; shutdownFinished: {bool(finished)}", flush=True)
        print("waited:", not window.workers.running, flush=True)
        app.quit()

    window.show()
    window.workers.start(read_fifo, sys.argv[1])
    QTimer.singleShot(300, quit_app)
    app.exec()
    print("exited", flush=True)
""")


@pytest.mark.parametrize("app", [STUCK_APP, STUCK_WINDOW_APP], ids=["pool", "main-window"])
def test_quitting_abandons_a_job_stuck_in_a_system_call_and_the_app_exits(tmp_path, app):
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)
    script = tmp_path / "stuck_app.py"
    script.write_text(app)
    process = subprocess.Popen([sys.executable, str(script), str(fifo)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the app did not exit: quitting waited for a job stuck on a FIFO")
    assert "waited: False" in out and "exited" in out, (out, err)
    assert process.returncode == 0, err
    assert "abandoning" in err and "read_fifo" in err
    if app is STUCK_WINDOW_APP:  # about a second for cancelled jobs, then the stuck one is left
        quit_line = next(line for line in out.splitlines() if line.startswith("quit in"))
        assert float(quit_line.split()[2]) < 2.0 and "shutdownFinished: True" in quit_line, out


def test_a_cancelled_chunk_scan_ends_its_find_process(qtbot, tmp_path, monkeypatch):
    import numpy as np
    import zarr

    from polystore_gui.model import chunk_find
    from polystore_gui.model.chunk_layout import read_layout
    from polystore_gui.model.chunks import scan

    array = zarr.create_array(str(tmp_path / "a.zarr"), shape=(4, 8), chunks=(2, 4), dtype="uint8", fill_value=0)
    array[:] = np.ones((4, 8), np.uint8)
    # A find that never answers (a stuck file system): the scan waits on it, idle.
    slow_find = tmp_path / "find"
    slow_find.write_text("#!/bin/sh\nexec sleep 600\n")
    slow_find.chmod(0o755)
    monkeypatch.setattr(chunk_find, "gnu_find", lambda: str(slow_find))
    monkeypatch.setenv("POLYSTORE_GUI_CHUNK_WALK", "find")
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        process = real_popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(chunk_find.subprocess, "Popen", recording_popen)
    pool = WorkerPool(max_threads=2)
    finished = []
    job = pool.start(scan, read_layout(str(tmp_path / "a.zarr")), on_finish=lambda: finished.append(True))
    _quit_on_first_yield(job)
    try:
        qtbot.waitUntil(lambda: bool(finished), timeout=15_000)
        assert pool.wait(10_000)
        assert started, "the scan did not start find"
        assert all(process.poll() is not None for process in started), "a cancelled scan left find running"
    finally:
        for process in started:  # only ours, by their handles
            if process.poll() is None:
                process.kill()
                process.wait()
    del job


# -- one cancel token per job; results only through the job's signals (issue 15) ---------


def test_each_job_has_one_cancel_token_that_quit_sets_and_the_job_reads(qtbot):
    """A plain function job takes its token (``pass_cancel``) and stops at its next check;
    superqt's abort flag is the same token, and each job has its own."""
    pool = WorkerPool(max_threads=2)
    started = threading.Event()
    outcome: dict[str, object] = {}

    def long_job(cancelled):
        started.set()
        deadline = time.monotonic() + 30  # a deadline, so that a broken token fails the test, never hangs it
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.001)  # polling the token, not synchronisation
        outcome["stopped_by_token"] = cancelled()
        return "ended"

    finished = []
    returned = []
    job = pool.start(long_job, pass_cancel=True, on_return=returned.append, on_finish=lambda: finished.append(True))
    other = pool.start(lambda: "other")
    assert job.token is not other.token
    assert not job.abort_requested and not job.token.cancelled
    assert started.wait(10)
    job.quit()
    assert job.token.cancelled and job.abort_requested and not other.token.cancelled
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert pool.wait(10_000)
    assert outcome["stopped_by_token"] is True
    assert returned == []  # an aborted job's result is not delivered


def test_a_function_jobs_progress_reaches_the_gui_thread_through_the_jobs_signal(qtbot):
    pool = WorkerPool(max_threads=2)
    seen: list[tuple[object, ...]] = []
    threads: list[int] = []
    finished = []

    def counting(n, progress):
        for i in range(n):
            progress("step", i + 1, n)
        return n

    def on_progress(*args):
        seen.append(args)
        threads.append(threading.get_ident())

    pool.start(counting, 3, on_progress=on_progress, on_finish=lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert seen == [("step", 1, 3), ("step", 2, 3), ("step", 3, 3)]
    assert set(threads) == {threading.get_ident()}  # delivered on the GUI thread


def test_a_cancelled_listing_ran_its_finally_on_the_worker_before_the_job_ended(qtbot, tmp_path, monkeypatch):
    """The listing's own ``finally`` (the sorter closed, in model.listing) ran on the worker's
    thread by the time the job's end is delivered: not later, when the generator is dropped."""
    from polystore_gui.model import entries as entries_module

    for i in range(3000):
        (tmp_path / f"f{i}.txt").touch()
    closed: list[int] = []
    real_close = entries_module.RunSorter.close

    def recording_close(self):
        closed.append(threading.get_ident())
        return real_close(self)

    monkeypatch.setattr(entries_module.RunSorter, "close", recording_close)
    pool = WorkerPool(max_threads=2)
    finished = []
    job = pool.start(_listing_job, entry_for_path("disk", str(tmp_path)), True, "name", False,
                     on_finish=lambda: finished.append(list(closed)))
    _quit_on_first_yield(job)
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)
    assert finished[0] and all(t != threading.get_ident() for t in finished[0])
    assert pool.wait(10_000)
    del job


def test_the_interpreter_lock_pacing_lives_in_model_pacing_only():
    """Every short sleep a worker takes so that the GUI thread can paint is in model/pacing.py."""
    import re
    from pathlib import Path

    import polystore_gui

    package = Path(polystore_gui.__file__).parent
    short_sleep = re.compile(r"sleep\(\s*(0?\.00\d*|[A-Z_]*(BREATHE|STEP_ASIDE)[A-Z_]*)\s*\)")
    offenders = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
                 if path.name != "pacing.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if short_sleep.search(line)]
    assert offenders == []


def test_an_aborted_transfer_job_removes_what_its_running_item_wrote_at_once(qtbot, tmp_path):
    """Quitting aborts the transfer queue's job mid-item: the item is stopped through its own
    cancel path on the worker (what it wrote removed) before the job's end is delivered,
    not left half-written until the generator is collected."""
    from polystore_gui.model import transfers
    from polystore_gui.model.address import Address
    from polystore_gui.model.cancel import CancelToken
    from polystore_gui.qt.transfer_queue import _job

    src = tmp_path / "src"
    dst = tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "d").mkdir()
    for i in range(200):  # a folder of files: many blocks, so the job yields often
        (src / "d" / f"f{i:03d}.bin").write_bytes(os.urandom(64 * 1024))
    (item,) = transfers.plan([Address("disk", str(src / "d"))], Address("disk", str(dst)))
    pool = WorkerPool(max_threads=2)
    seen_at_end: list[list[str]] = []
    job = pool.start(_job, [item], [CancelToken()],
                     on_finish=lambda: seen_at_end.append(sorted(os.listdir(dst))))
    _quit_on_first_yield(job)
    qtbot.waitUntil(lambda: bool(seen_at_end), timeout=30_000)
    assert pool.wait(10_000)
    # By the job's end the partial copy was discarded: put aside under a name of its own,
    # whose removal (a thread of the transfer engine's) ends soon after.
    assert not [n for n in seen_at_end[0] if ".gone" not in n], f"the aborted transfer left {seen_at_end[0]}"
    qtbot.waitUntil(lambda: os.listdir(dst) == [], timeout=15_000)
    assert sorted(os.listdir(src / "d")) == [f"f{i:03d}.bin" for i in range(200)]
    del job


@pytest.mark.qt_no_exception_capture
def test_a_job_whose_finish_callback_raises_still_ends_in_the_pool(qtbot, monkeypatch):
    """A defect in a job's ``on_finish`` (said as an unexpected error: the application goes
    on) leaves no job behind in the pool: it was counted as running for ever, so waiting for
    the pool's jobs (a test's, the window's idle check) never saw it end."""
    errors: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: errors.append(error))
    pool = WorkerPool(max_threads=2)

    def broken_finish():
        raise KeyError("a defect in a finish callback")

    pool.start(lambda: "done", on_finish=broken_finish)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert isinstance(errors[0], KeyError)
    qtbot.waitUntil(lambda: pool.running == 0, timeout=10_000)
    assert pool.wait(10_000)
