"""A transfer's copy runs at a lower CPU priority than the GUI thread (issue 19): its items
run in a thread of their own made nicer, and the copy threads they start inherit it, so the
GUI thread gets a CPU as soon as it wakes while a copy keeps both CPUs busy. The pool's own
threads keep their priority for the jobs after it."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.qt.low_priority import NICENESS, run_lowered
from polystore_gui.qt.transfer_queue import TransferQueue
from polystore_gui.qt.workers import WorkerPool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_transfers_copy_runs_nicer_than_the_gui_and_the_pool_keeps_its_priority(qtbot, tmp_path, monkeypatch):
    gui = _niceness()
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "d").mkdir(parents=True)
    dst.mkdir()
    for i in range(8):
        (src / "d" / f"f{i}.bin").write_bytes(os.urandom(256 * 1024))
    seen: dict[str, int] = {}
    real_run_item = transfers.run_item

    def watched_run_item(item, *, cancelled):
        seen["item"] = _niceness()
        started = threading.Thread(target=lambda: seen.setdefault("started", _niceness()))
        started.start()  # as the copy's own threads are started from here
        started.join()
        return (yield from real_run_item(item, cancelled=cancelled))

    monkeypatch.setattr(transfers, "run_item", watched_run_item)
    (item,) = transfers.plan([Address("disk", str(src / "d"))], Address("disk", str(dst)))
    workers = WorkerPool(max_threads=1)  # one pool thread: the next job runs on the transfer's
    queue = TransferQueue(workers)
    qtbot.addWidget(queue)
    try:
        with qtbot.waitSignal(queue.transferFinished, timeout=60_000) as finished:
            queue.start([item])
        after: list[int] = []
        workers.start(_niceness, on_return=after.append)
        qtbot.waitUntil(lambda: bool(after), timeout=10_000)
    finally:
        workers.cancel_all(close=True)
        workers.wait(10_000)
    assert finished.args[0].done == 1  # copied, and verified, all the same
    assert sorted(os.listdir(dst / "d")) == sorted(os.listdir(src / "d"))
    expected = min(19, gui + NICENESS)
    assert seen == {"item": expected, "started": expected}
    assert after == [gui]  # the pool's thread was never lowered


def test_an_error_of_the_lowered_generator_is_raised_to_its_consumer():
    def failing():
        yield 1
        raise ValueError("the store went away")

    got = []
    with pytest.raises(ValueError, match="went away"):
        for value in run_lowered(failing()):
            got.append(value)
    assert got == [1]


def test_a_lowered_generator_closed_early_is_closed_on_its_own_thread_before_the_close_returns():
    closed_on: list[str] = []
    release = threading.Event()

    def events():
        try:
            for n in range(1_000):
                if n == 1:
                    assert release.wait(10)
                yield n
        finally:
            closed_on.append(threading.current_thread().name)

    lowered = run_lowered(events(), name="test")
    assert next(lowered) == 0
    release.set()
    lowered.close()
    assert closed_on == ["test-lowered"]  # its clean-up ran there, and was waited for
