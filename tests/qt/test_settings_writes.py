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


@pytest.fixture
def held_writes(monkeypatch):
    """The settings file's writes, held until the test lets them go: (the keys written, with
    the thread that wrote each), release."""
    release = threading.Event()
    written: list[tuple[str, threading.Thread]] = []
    real = settings_writes._write_one

    def held(key, value, names):
        written.append((key, threading.current_thread()))
        assert release.wait(10)
        real(key, value, names)

    monkeypatch.setattr(settings_writes, "_write_one", held)
    yield written, release
    release.set()
    assert settings_writes.flush()


def _remote_options(window):
    from polystore_gui.model.remote_access import RemoteOptions
    from polystore_gui.qt.remote_dialog import save_options, saved_options

    options = RemoteOptions(profile="lab", endpoint_url="http://127.0.0.1:9", anonymous=False)
    save_options("s3://bucket/a.zarr", options)
    return "remoteStores/s3:||bucket|a.zarr", lambda: saved_options("s3://bucket/a.zarr") == options


def _histogram_choice(window):
    import numpy as np

    from polystore_gui.qt.napari_view import HISTOGRAM_KEY

    layer = window.preview.viewer._make_image(np.zeros((4, 4), np.uint16))
    layer.histogram.enabled = True  # the user clicks napari's histogram button
    return HISTOGRAM_KEY, window.preview.viewer.histogram_wanted


# Every setting the window writes (issue 19: four of them still wrote QSettings on the GUI
# thread): (what the user does, returning the key and what reads it back).
USER_SETTINGS = {
    "size limit": lambda w: (w.set_size_limit(256 << 20) or "preview/size_limit_bytes",
                             lambda: w.settings_size_limit() == 256 << 20),
    "transfer chunks": lambda w: (w.set_transfer_chunks((1, 256, 256)) or "transfers/chunks",
                                  lambda: w.transfer_chunks() == (1, 256, 256)),
    "viewer ports": lambda w: (w.set_viewer_ports(7811, 7812) or "viewer/fiji_port",
                               lambda: w._viewer_ports(None, None) == (7811, 7812)),
    "window layout": lambda w: (w._save_layout() or "window/splitter",
                                lambda: settings_writes.read("window/splitter") is not None),
    "dask scheduler": lambda w: (w.exact_stats.set_scheduler("tcp://127.0.0.1:8786") or "wholeArray/scheduler",
                                 lambda: w.exact_stats.scheduler == "tcp://127.0.0.1:8786"),
    "remote store options": _remote_options,
    "histogram choice": _histogram_choice,
}


@pytest.mark.parametrize("setting", list(USER_SETTINGS))
def test_every_setting_is_written_off_the_gui_thread_and_read_back_at_once(setting, make_window, held_writes):
    written, release = held_writes
    window = make_window([])
    key, read_back = USER_SETTINGS[setting](window)
    try:
        assert read_back()  # at once, while the file write is held
        assert key in [k for k, _thread in written] or key in settings_writes._pending
        assert all(thread is not threading.current_thread() for _k, thread in written)
        release.set()
        assert settings_writes.flush()
        assert QSettings().value(key) is not None  # in the file now
        assert read_back()
    finally:
        release.set()
        assert settings_writes.flush()
        QSettings().remove(key)


def test_a_write_lands_in_the_file_the_window_reads(tmp_path):
    """With INI as the default format and a folder of its own (as a packaged app or the
    tests set it), the writer wrote the native-format file elsewhere: nothing came back at
    the next start."""
    import os

    before = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    try:
        settings_writes.write("test/where", "here")
        assert settings_writes.flush()
        assert QSettings().value("test/where") == "here"
        assert any("test" in p.read_text() for p in tmp_path.rglob("*.ini"))
        QSettings().remove("test/where")
    finally:
        QSettings.setDefaultFormat(before)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                          os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config")))


@pytest.fixture
def unwritable_settings(tmp_path):
    """QSettings' user folder is a regular file: no settings file can be written under it,
    whoever runs the tests (root too, whom a read-only file would not stop)."""
    import os

    settings_writes.flush()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    scope = QSettings.Scope.UserScope
    QSettings.setPath(QSettings.defaultFormat(), scope, str(blocker))
    yield blocker
    assert settings_writes.flush()
    QSettings.setPath(QSettings.defaultFormat(), scope,
                      os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"))


@pytest.fixture
def listeners():
    """The listeners a test connects to the notifier, disconnected after it (a listener left
    connected would take a later test's failure as heard)."""
    slots: list = []
    yield slots
    for slot in slots:
        settings_writes.notifier().failed.disconnect(slot)


def _listen(slots) -> list[str]:
    said: list[str] = []
    settings_writes.notifier().failed.connect(said.append)
    slots.append(said.append)
    return said


def test_a_setting_that_cannot_be_saved_is_said_once_and_kept_for_the_session(
        qtbot, make_window, tmp_path, unwritable_settings, listeners):
    from qtpy.QtCore import QCoreApplication

    window = make_window([tmp_path])
    said = _listen(listeners)
    window.set_size_limit(3 << 30)
    qtbot.waitUntil(lambda: bool(said), timeout=10_000)
    shown = window.statusBar().currentMessage()
    assert shown == said[0]
    assert str(unwritable_settings) in shown and "Not a directory" in shown, shown
    assert window.settings_size_limit() == 3 << 30  # kept in memory: not back to the file's value
    window.set_transfer_chunks((1, 256, 256))  # fails too: said once is enough
    assert settings_writes.flush()
    QCoreApplication.processEvents()
    assert said == [shown]
    assert window.transfer_chunks() == (1, 256, 256)


def test_a_write_qt_says_failed_is_not_taken_as_written_when_its_folder_is_writable(monkeypatch):
    """With the organisation name set (as the application sets it), a write that QSettings
    reports failed is a failure even when the file's folder is writable and the file opens:
    a full disk (the settings file's content not written) passes that probe. Only the
    AccessError Qt reports whenever no organisation name is set is excused."""

    class FullDisk(QSettings):  # the sync failed: what ENOSPC makes QSettings report
        def status(self):
            return QSettings.Status.AccessError

    monkeypatch.setattr(settings_writes, "QSettings", FullDisk)
    names = (QSettings.Format.IniFormat, "polystore-gui-review-tests", "full-disk")
    with pytest.raises(settings_writes.SettingsNotWritten) as raised:
        settings_writes._write_one("test/full", 1, names)
    assert raised.value.filename.endswith("full-disk.ini") and raised.value.strerror


def test_a_setting_that_failed_before_the_window_was_there_is_said_when_it_connects(
        qtbot, make_window, tmp_path, unwritable_settings, listeners):
    """A write that failed before any window listened (at start, before the window is built)
    was logged only: the user learnt nothing and the setting reverted at the next start."""
    from qtpy.QtCore import QCoreApplication

    settings_writes.write("test/early", 1)
    assert settings_writes.flush()
    window = make_window([tmp_path])
    shown = window.statusBar().currentMessage()
    assert shown.startswith("Settings not saved to ") and str(unwritable_settings) in shown, shown
    said = _listen(listeners)
    window.set_size_limit(3 << 30)  # fails too: said once a session is enough
    assert settings_writes.flush()
    QCoreApplication.processEvents()
    assert said == []
    assert window.settings_size_limit() == 3 << 30


def test_settings_written_in_any_test_reach_their_file():
    """The test session names its application (tests/conftest.py): without an organisation
    name, Qt reports every settings write failed, and a test's outcome depended on whether
    an earlier test had set one."""
    from qtpy.QtCore import QCoreApplication

    assert QCoreApplication.organizationName() and QCoreApplication.applicationName()
    settings = QSettings()
    settings.setValue("test/reached", 1)
    settings.sync()
    try:
        assert settings.status() == QSettings.Status.NoError
    finally:
        settings.remove("test/reached")
