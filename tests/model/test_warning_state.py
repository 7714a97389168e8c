"""Warning filters changed on worker threads come back as they were (session 11, FLAKE).

``warnings.catch_warnings`` on two threads that end in the order they began left the first
one's filter in force for the whole process: the same race as superqt's workers had, which
made a failed send's error vanish in CI (see tests/qt/test_job_errors.py).
"""

from __future__ import annotations

import re
import threading
import warnings
from pathlib import Path

from polystore_gui.model.warning_state import changed_warnings, recorded_warnings

MODEL = Path(__file__).resolve().parents[2] / "polystore_gui"


def test_blocks_on_two_threads_that_end_in_the_order_they_began_leave_the_filters_as_they_were():
    before = list(warnings.filters)
    a_in, b_in = threading.Event(), threading.Event()
    b_entered_while_a_held: list[bool] = []

    def first() -> None:
        with changed_warnings():
            warnings.simplefilter("always")
            a_in.set()
            # Only a negative can be checked here: the second block does not begin meanwhile.
            b_entered_while_a_held.append(b_in.wait(0.5))

    def second() -> None:
        assert a_in.wait(10)
        with changed_warnings():
            b_in.set()
            warnings.simplefilter("ignore")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert b_entered_while_a_held == [False]
    assert warnings.filters == before  # no "always" left behind: a warning is still an error here


def test_recorded_warnings_are_the_blocks_own():
    with recorded_warnings() as caught:
        warnings.simplefilter("always")
        warnings.warn("inside", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["inside"]


def test_the_application_changes_warning_filters_only_through_warning_state():
    # The chunk scan's parse (model/chunk_find.py, on a worker, at every block of find's
    # output) was the last: with OME validation on another worker it left "error" in force.
    known: set[str] = set()
    found = {
        str(path.relative_to(MODEL))
        for path in MODEL.rglob("*.py")
        if path.name != "warning_state.py" and re.search(r"warnings\.catch_warnings\(", path.read_text())
    }
    assert found <= known, f"use model.warning_state.changed_warnings in {sorted(found - known)}"


def test_another_threads_warning_is_not_recorded_by_the_block_but_goes_where_it_went():
    def warn_elsewhere() -> None:
        warnings.warn("elsewhere", UserWarning, stacklevel=1)

    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        with recorded_warnings() as caught:
            warnings.simplefilter("always")
            warnings.warn("inside", UserWarning, stacklevel=1)
            thread = threading.Thread(target=warn_elsewhere)
            thread.start()
            thread.join(10)
            assert not thread.is_alive()
    assert [str(w.message) for w in caught] == ["inside"]
    assert [str(w.message) for w in outside] == ["elsewhere"]


def test_a_block_begun_while_another_thread_s_ends_sends_that_thread_s_later_warning_on():
    """A block that waited for another thread's to end forwards that thread's later warning
    to where warnings go (here the outer record), not into the ended block's record (where
    it was lost: the outer place was read before the wait, while the other block was in it)."""
    import sys
    import time

    a_in, a_may_leave, b_in, a_warned = (threading.Event() for _ in range(4))

    def first() -> None:
        with recorded_warnings():
            a_in.set()
            a_may_leave.wait(10)
        b_in.wait(10)
        warnings.warn("after its own block", UserWarning, stacklevel=1)
        a_warned.set()

    def second() -> None:
        with recorded_warnings():
            b_in.set()
            a_warned.wait(10)

    with warnings.catch_warnings(record=True) as outside:
        warnings.simplefilter("always")
        a = threading.Thread(target=first)
        a.start()
        assert a_in.wait(10)
        b = threading.Thread(target=second)
        b.start()
        deadline = time.monotonic() + 10  # until the second block waits for the first's lock
        while time.monotonic() < deadline:
            frame = sys._current_frames().get(b.ident)
            if frame is not None and frame.f_code.co_name == "recorded_warnings":
                break
            time.sleep(0.001)
        else:
            raise AssertionError("the second block never began")
        a_may_leave.set()
        a.join(10)
        b.join(10)
        assert not a.is_alive() and not b.is_alive()
    assert [str(w.message) for w in outside] == ["after its own block"]
