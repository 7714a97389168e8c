"""The session's settings are written off the GUI thread and read back at once (issue 19:
Open Location's write and flush of the settings file stalled the GUI)."""

from __future__ import annotations

import threading

import pytest
from qtpy.QtCore import QSettings

from polystore_gui.qt import settings_writes
from polystore_gui.qt.navigator import Session


@pytest.fixture(autouse=True)
def _fresh_recent():
    settings_writes.flush()
    QSettings().remove(Session.RECENT)
    yield
    assert settings_writes.flush()
    QSettings().remove(Session.RECENT)


def test_remembering_a_place_writes_the_file_in_another_thread(monkeypatch, tmp_path):
    writing = threading.Event()
    release = threading.Event()
    threads: list[threading.Thread] = []
    real = settings_writes._write_one

    def held(key, value, names):  # the file write, held until the test lets it go
        threads.append(threading.current_thread())
        writing.set()
        assert release.wait(10)
        real(key, value, names)

    monkeypatch.setattr(settings_writes, "_write_one", held)
    session = Session()
    session.remember(str(tmp_path / "a"))  # returns while the write is held: not on this thread
    session.remember(str(tmp_path / "b"))
    assert writing.wait(10)
    assert threads and threads[0] is not threading.current_thread()
    # Read back at once, newest first, before the file has it.
    assert session.recent() == [str(tmp_path / "b"), str(tmp_path / "a")]
    assert QSettings().value(Session.RECENT) in (None, [])
    release.set()
    assert settings_writes.flush()
    assert [str(v) for v in QSettings().value(Session.RECENT)] == [str(tmp_path / "b"), str(tmp_path / "a")]
    assert session.recent() == [str(tmp_path / "b"), str(tmp_path / "a")]


def test_a_failed_write_is_logged_and_never_holds_up_quitting(monkeypatch, caplog, tmp_path):
    def broken(key, value, names):
        raise OSError("read-only settings folder")

    monkeypatch.setattr(settings_writes, "_write_one", broken)
    Session().remember(str(tmp_path))
    assert settings_writes.flush()
    assert "could not be written" in caplog.text
