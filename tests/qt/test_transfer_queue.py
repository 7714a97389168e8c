"""The Transfers panel under a flood of progress events (issue 19): drawn at a reader's
pace, never once per event, and the end of each item and of the transfer shown exactly."""

from __future__ import annotations

import threading

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.qt.transfer_queue import TransferQueue
from polystore_gui.qt.workers import WorkerPool

from .helpers import PaintCounter

EVENTS = 4_000  # progress events per item: one per block copied, as a large copy sends them
TOTAL = EVENTS * 1_000


def _flooded_queue(qtbot, monkeypatch):
    """A shown queue whose items send EVENTS progress events each, pausing half way until
    ``go_on`` is set (``halfway`` says they got there): (queue, workers, halfway, go_on)."""
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
    return queue, workers, halfway, go_on


def test_a_flood_of_progress_is_drawn_now_and_then_and_the_end_exactly(qtbot, monkeypatch):
    queue, workers, halfway, go_on = _flooded_queue(qtbot, monkeypatch)
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


def test_progress_is_painted_after_the_refresh_not_inside_it(qtbot, monkeypatch):
    """A progress bar's ``setValue`` repaints at once, and with napari's canvas in the
    window every such paint composes the whole window (30-120 ms in software GL): the
    refresh changes the bars and labels, and they are painted once, later, by the event
    loop, showing the new figures."""
    queue, workers, halfway, go_on = _flooded_queue(qtbot, monkeypatch)
    qtbot.waitExposed(queue)
    inside: list[int] = []
    real_refresh = TransferQueue._on_refresh_timeout

    def refresh(self):
        before = paints.count
        real_refresh(self)
        inside.append(paints.count - before)

    # Patched on the class (an instance attribute closing over the queue made a reference
    # cycle that Python's collector could end on a worker thread, deleting the widget there).
    monkeypatch.setattr(TransferQueue, "_on_refresh_timeout", refresh)
    queue._refresh.timeout.disconnect()
    queue._refresh.timeout.connect(queue._on_refresh_timeout)
    item = transfers.Item(Address("disk", "/src/a.bin"), Address("disk", "/dst/a.bin"), total=TOTAL)
    try:
        with qtbot.waitSignal(queue.transferFinished, timeout=60_000):
            queue.start([item])
            paints = PaintCounter([queue.rows[0].bar, queue.overall_bar])
            qtbot.waitUntil(lambda: halfway.is_set() and queue.rows[0].bar.value() == 500, timeout=30_000)
            qtbot.waitUntil(lambda: paints.count > 0, timeout=5_000)  # painted, by the event loop
            go_on.set()
    finally:
        go_on.set()
        workers.cancel_all(close=True)
        workers.wait(5_000)
    assert inside and all(n == 0 for n in inside), f"paints inside the refreshes: {inside}"
    assert queue.rows[0].bar.value() == 1000 and queue.overall_bar.value() == 100


def test_a_transfer_queued_after_another_is_painted_later_not_inside_the_start(qtbot, monkeypatch):
    """Queueing a transfer changes the overall bar (100 % of the last one down to the new
    total's share) and adds a row with its bar: painted once by the event loop, not at once
    inside ``start`` (each synchronous paint composes the window through GL, see
    ``painted_later``), and the figures shown are the new ones."""
    queue, workers, halfway, go_on = _flooded_queue(qtbot, monkeypatch)
    qtbot.waitExposed(queue)
    first = transfers.Item(Address("disk", "/src/a.bin"), Address("disk", "/dst/a.bin"), total=TOTAL)
    second = transfers.Item(Address("disk", "/src/b.bin"), Address("disk", "/dst/b.bin"), total=TOTAL)
    try:
        go_on.set()
        with qtbot.waitSignal(queue.transferFinished, timeout=60_000):
            queue.start([first])
        qtbot.waitUntil(lambda: queue.overall_bar.value() == 100, timeout=5_000)
        go_on.clear()
        halfway.clear()
        paints = PaintCounter([queue, queue.overall_bar, queue.table.viewport()])
        # Whatever the first transfer's end left to paint is painted: an update of the whole
        # panel merges with it into the window's next paint, so once that paint came, nothing
        # of the first transfer is pending (a late one would pass for the second's below).
        settled = paints.count
        queue.update()
        qtbot.waitUntil(lambda: paints.count > settled, timeout=5_000)
        before = paints.count
        with qtbot.waitSignal(queue.transferFinished, timeout=60_000):
            queue.start([second])
            inside = paints.count - before
            assert queue.overall_bar.value() == 50  # the first one's bytes of both
            qtbot.waitUntil(lambda: paints.count > before, timeout=5_000)  # painted, by the event loop
            go_on.set()
    finally:
        go_on.set()
        workers.cancel_all(close=True)
        workers.wait(5_000)
    assert inside == 0, f"{inside} paints inside start()"
    assert queue.overall_bar.value() == 100 and queue.rows[1].bar.value() == 1000
