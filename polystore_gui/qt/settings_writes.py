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
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from typing import Any

from qtpy.QtCore import QCoreApplication, QSettings

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: dict[str, Any] = {}  # key -> value asked for and not yet in the file
_names: tuple[Any, str, str] = (None, "", "")  # (format, organisation, name) when last asked to write
_idle = threading.Condition(_lock)
_requests: queue.SimpleQueue[str] = queue.SimpleQueue()
_writer: threading.Thread | None = None


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


def _write_one(key: str, value: Any, names: tuple[Any, str, str]) -> None:
    """Write one value to the settings file and flush it (in the writer thread): the file
    ``QSettings()`` names on the GUI thread."""
    settings_format, organisation, application = names
    settings = QSettings(settings_format, QSettings.Scope.UserScope, organisation, application)
    settings.setValue(key, value)
    settings.sync()
    if settings.status() != QSettings.Status.NoError:
        log.warning("the settings file could not be written (%s): %s is not kept", settings.status(), key)


def _run() -> None:
    while True:
        key = _requests.get()
        with _lock:
            if key not in _pending:  # written already, with the value asked for after this request
                continue
            value, names = _pending[key], _names
        try:
            _write_one(key, value, names)
        except Exception:  # a settings write is never worth a crash (nor a wait at quit)
            log.exception("the setting %s could not be written", key)
        with _idle:
            if _pending.get(key) is value:  # not asked for again meanwhile (else that request follows)
                del _pending[key]
            _idle.notify_all()


atexit.register(flush)

__all__ = ["flush", "read", "read_bool", "write"]
