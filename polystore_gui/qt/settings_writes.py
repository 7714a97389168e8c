"""Settings written off the GUI thread, read back at once.

A QSettings object writes its file when it is destroyed: the whole file rewritten through a
temporary file, ``fdatasync``'ed and renamed. Created and dropped on the GUI thread (the
usual ``QSettings().setValue(...)``), that disk flush is a GUI stall: the session
benchmark (issue 19) measured 126 ms at Open Location, 41 of the 55 stack samples of the
stall inside QSettings, while the disk was busy; a home folder on a network mount is worse.

Here ``write`` keeps the value in memory and hands the file write to one writer thread,
which writes in the order asked (the last value of a key wins). ``read`` gives a value not
yet written from memory, so the process reads back what it wrote at once. ``flush`` waits
for the writes (before quitting, and in tests before settings are inspected or reset).

A write that fails (a read-only settings file or folder, a full disk) keeps its value in
memory for the rest of the session, and the user is told once (:func:`notifier`'s
``failed``, which the window shows in its status bar, naming the file and the OS error;
a write that failed before the window connected, through :func:`on_failure`, is said then):
otherwise the setting would silently revert at the next start.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import tempfile
import threading
from typing import Any

from qtpy import sip
from qtpy.QtCore import QCoreApplication, QObject, QSettings, QThread, Signal

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: dict[str, Any] = {}  # key -> value asked for and not yet in the file
_names: tuple[Any, str, str] = (None, "", "")  # (format, organisation, name) when last asked to write
_idle = threading.Condition(_lock)
_requests: queue.SimpleQueue[str] = queue.SimpleQueue()
_writer: threading.Thread | None = None
_unwritten: dict[str, Any] = {}  # key -> value whose write failed: kept for this session
_told = False  # the user was told that settings cannot be saved (once a session)
_unannounced: str | None = None  # that message, when nothing listened yet: said when something connects


class _Notifier(QObject):
    """Carries a failed write's message from the writer thread to the GUI thread (queued)."""

    failed = Signal(str)  # "Settings not saved to FILE: REASON …"


_notifier: _Notifier | None = None


def notifier() -> _Notifier:
    """The object whose ``failed(message)`` says, once a session, that the settings file
    cannot be written. Made on the GUI thread (the window connects to it first)."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def on_failure(slot: Any) -> None:
    """Connect ``slot(message)`` to :func:`notifier`'s ``failed`` (on the GUI thread). A write
    that failed before anything listened (at start, before the window was built) is said
    now, through ``failed``: it is still said once a session."""
    global _unannounced
    note = notifier()
    note.failed.connect(slot)
    with _lock:
        message, _unannounced = _unannounced, None
    if message is not None:
        note.failed.emit(message)


def write(key: str, value: Any) -> None:
    """Set ``key`` to ``value``: at once for ``read``, in the settings file soon after."""
    global _writer, _names
    with _lock:
        _pending[key] = value
        # The file is named after the application, read here: a write may land after the
        # QApplication is gone (at quit), when QSettings() would name another file. Its
        # format too: QSettings() uses the default format, QSettings(org, app) the native one.
        _names = (QSettings.defaultFormat(), QCoreApplication.organizationName(),
                  QCoreApplication.applicationName())
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_run, name="settings-writer", daemon=True)
            _writer.start()
    _requests.put(key)


def read(key: str, default: Any = None) -> Any:
    """``key``'s value: the one asked for last, written or not."""
    with _lock:
        if key in _pending:
            return _pending[key]
        if key in _unwritten:
            return _unwritten[key]
    return QSettings().value(key, default)


def read_bool(key: str, default: bool = False) -> bool:
    """``key``'s value as a bool: a value not yet written is the bool given; the file gives
    back ``"true"`` / ``"false"`` (an INI file keeps no types)."""
    value = read(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def flush(timeout_s: float = 5.0) -> bool:
    """Wait (at most ``timeout_s``) until every write asked for is in the file; False if not."""
    with _idle:
        return _idle.wait_for(lambda: not _pending, timeout_s)


class SettingsNotWritten(OSError):
    """The settings file could not be written: ``filename`` and the reason (the OS error's)."""


def _write_one(key: str, value: Any, names: tuple[Any, str, str]) -> None:
    """Write one value to the settings file and flush it (in the writer thread): the file
    ``QSettings()`` names on the GUI thread. Raises SettingsNotWritten when it failed."""
    settings_format, organisation, application = names
    # Parented to this thread's QThread, so that C++ owns it: PyQt's QApplication destructor
    # first destroys every QObject Python owns, from the GUI thread, and a window closed just
    # before the application goes (``run_gui`` returning, a script's ``app`` dropped) left
    # this write under way: its QSettings deleted under it, the write lost ("has been
    # deleted") or the process crashed at exit (deleted during ``sync``). Deleted here.
    settings = QSettings(settings_format, QSettings.Scope.UserScope, organisation, application,
                         QThread.currentThread())
    try:
        _write_to(settings, key, value, organisation)
    finally:
        sip.delete(settings)


def _write_to(settings: QSettings, key: str, value: Any, organisation: str) -> None:
    """``key`` set to ``value`` in ``settings`` and synced; raises SettingsNotWritten when it failed."""
    settings.setValue(key, value)
    settings.sync()
    if settings.status() != QSettings.Status.NoError:
        name = settings.fileName()
        why = _why_not_writable(name)
        if why is None and not organisation:  # Qt says AccessError whenever no organisation name is set
            log.warning("QSettings reports %s writing %s, which is writable: %s taken as written",
                        settings.status().name, name, key)
            return
        # With an organisation name, Qt's error is the write's own, even when the probe finds
        # the folder writable (a full disk: an empty probe file still fits).
        raise SettingsNotWritten(0, why or f"the file could not be written ({settings.status().name})", name)


def _why_not_writable(name: str) -> str | None:
    """The OS error that keeps the settings file ``name`` from being written (QSettings says
    only "access error"): its folder made, a file made in it (QSettings writes a temporary
    file and renames it), the file itself opened for writing (nothing written); None if all work."""
    folder = os.path.dirname(name) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".settings-probe-")
        os.close(handle)
        os.unlink(probe)
        if os.path.exists(name):
            with open(name, "r+b"):
                pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _failed(key: str, value: Any, exc: Exception) -> None:
    """A write that failed (in the writer thread): its value kept in memory, the user told once."""
    global _told, _unannounced
    if isinstance(exc, SettingsNotWritten):
        where, why = exc.filename, exc.strerror
    else:
        where, why = "the settings file", str(exc) or type(exc).__name__
    log.warning("the setting %s could not be written to %s (%s): kept for this session only", key, where, why)
    message = f"Settings not saved to {where}: {why}. Your changes last until you quit."
    with _lock:
        _unwritten[key] = value
        first, _told = not _told, True
        tell = first and _listened()
        if first and not tell:  # nothing listens yet: said when the window connects (on_failure)
            _unannounced = message
    if tell and _notifier is not None:
        try:
            _notifier.failed.emit(message)
        except RuntimeError:  # the notifier's window is gone (quitting): the log says it
            pass


def stop_listening(slot: Any) -> None:
    """Disconnect ``slot`` (connected by :func:`on_failure`) from the notifier: its window
    shuts down. A failure from then on is kept for a window that connects later."""
    try:
        notifier().failed.disconnect(slot)
    except (TypeError, RuntimeError):  # not connected (any more)
        pass


def _listened() -> bool:
    """Whether something is connected to the notifier's ``failed`` (a window not yet built,
    or gone, is not)."""
    try:
        return _notifier is not None and _notifier.receivers(_notifier.failed) > 0
    except RuntimeError:  # the notifier itself is gone (quitting)
        return False


def _run() -> None:
    while True:
        key = _requests.get()
        with _lock:
            if key not in _pending:  # written already, with the value asked for after this request
                continue
            value, names = _pending[key], _names
        try:
            _write_one(key, value, names)
        except Exception as exc:  # a settings write is never worth a crash (nor a wait at quit)
            _failed(key, value, exc)
        else:
            with _lock:
                _unwritten.pop(key, None)
        with _idle:
            if _pending.get(key) is value:  # not asked for again meanwhile (else that request follows)
                del _pending[key]
            _idle.notify_all()


atexit.register(flush)

__all__ = ["flush", "notifier", "on_failure", "read", "read_bool", "stop_listening", "write"]
