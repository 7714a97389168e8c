"""The Transfers panel under a flood of progress events (issue 19): drawn at a reader's
pace, never once per event, and the end of each item and of the transfer shown exactly."""

from __future__ import annotations

import threading

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.qt.transfer_queue import TransferQueue
from polystore_gui.qt.workers import WorkerPool

EVENTS = 4_000  # progress events per item: one per block copied, as a large copy sends them
TOTAL = EVENTS * 1_000


def test_a_flood_of_progress_is_drawn_now_and_then_and_the_end_exactly(qtbot, monkeypatch):
    halfway, go_on = threading.Event(), threading.Event()

    def fake_run_item(item, *, cancelled):
        for n in range(1, EVENTS + 1):
            yield n * 1_000, TOTAL
            if n == EVENTS // 2:
                halfway.set()
                assert go_on.wait(20), "never let go on"
        return transfers.Outcome(item, "done", nbytes=TOTAL)

    monkeypatch.setattr(transfers, "run_item", fake_run_item)
    workers = WorkerPool()
    queue = TransferQueue(workers)
    qtbot.addWidget(queue)
    queue.show()
    draws = []
    real_show = queue._show_progress
    monkeypatch.setattr(queue, "_show_progress", lambda row: (draws.append(row.done), real_show(row)))
    items = [transfers.Item(Address("disk", f"/src/{name}"), Address("disk", f"/dst/{name}"), total=TOTAL)
             for name in ("a.bin", "b.bin")]
    try:
        with qtbot.waitSignal(queue.transferFinished, timeout=60_000) as finished:
            queue.start(items)
            # While the first item is half way, the panel shows how far it is (drawn from the
            # figures recorded, not left behind).
            qtbot.waitUntil(lambda: halfway.is_set() and queue.rows[0].bar.value() == 500, timeout=30_000)
            assert queue.rows[0].widget.text(5) == "copying" and "of 2 transfers to go" in queue.overall.text()
            go_on.set()
    finally:
        go_on.set()
        workers.cancel_all(close=True)
        workers.wait(5_000)
    assert finished.args[0].done == 2
    assert 1 <= len(draws) <= 2 * EVENTS // 20, f"{len(draws)} draws for {2 * EVENTS} progress events"
    for row in queue.rows:  # the end, exactly: not the last sampled progress
        assert row.bar.value() == 1000 and row.widget.text(5) == "done, verified" and row.widget.text(4) == ""
    assert queue.overall.text() == "2 transfers finished" and queue.overall_bar.value() == 100
