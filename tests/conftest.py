"""Shared fixtures: an isolated environment, the demo workspace, and a window-leak guard."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The loopback S3 and HTTP servers of the remote-store tests (one of each per session,
# shared by tests/remote and the adapters' conformance suite).
pytest_plugins = ["tests.remote.fixtures"]

# napari keeps settings in the user's config file; never let tests read or write it.
_CONFIG_DIR = tempfile.mkdtemp(prefix="polystore-gui-tests-")
atexit.register(shutil.rmtree, _CONFIG_DIR, True)
os.environ["NAPARI_CONFIG"] = os.path.join(_CONFIG_DIR, "napari.yaml")
os.environ.setdefault("QT_API", "pyqt6")
os.environ["POLYSTORE_GUI_DEMO_DIR"] = os.path.join(_CONFIG_DIR, "demo")
os.environ.setdefault("XDG_CONFIG_HOME", os.path.join(_CONFIG_DIR, "config"))
os.environ["XDG_CACHE_HOME"] = os.path.join(_CONFIG_DIR, "cache")  # viewer logs
os.environ["XDG_STATE_HOME"] = os.path.join(_CONFIG_DIR, "state")  # the transfer journal
os.environ["XDG_DATA_HOME"] = os.path.join(_CONFIG_DIR, "data")  # the desktop trash: never the user's
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    # No X server: widgets still work offscreen; GL tests refuse to run (see gl marker).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# The application's names for the whole test session. Qt reports a QSettings AccessError
# whenever no organisation name is set, so tests that wrote settings passed or failed by
# which test had set one before them. Not the application's own names ("polystore-gui"):
# XDG_CONFIG_HOME above is only a default, and with the user's own, the tests would write
# (and remove) the user's settings.
TEST_ORGANISATION = TEST_APPLICATION = "polystore-gui-tests"


@pytest.fixture(scope="session")
def qapp(qapp_args, qapp_cls):
    """pytest-qt's QApplication (every ``qtbot`` uses this one), named for the session."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance() or qapp_cls(qapp_args)
    app.setOrganizationName(TEST_ORGANISATION)
    app.setApplicationName(TEST_APPLICATION)
    return app


@pytest.fixture(autouse=True)
def _settings_written_before_the_next_test():
    """Every settings write a test asked for is in the file before the next test starts (the
    writer thread of qt/settings_writes is shared by all tests): no test reads another's."""
    yield
    import sys

    writes = sys.modules.get("polystore_gui.qt.settings_writes")
    if writes is not None:
        assert writes.flush(), "a settings write was still pending 5 s after the test"
        writes._unwritten.clear()  # a failed write's value is kept for its session: the test's
        writes._told = False
        writes._unannounced = None


def background_jobs() -> str:
    """Every live WorkerPool's jobs (qt/workers.WorkerPool.describe) and what each other
    Python thread is doing: why a wait for a background job's signal timed out."""
    import gc
    import sys
    import threading
    import traceback

    workers = sys.modules.get("polystore_gui.qt.workers")
    lines = []
    if workers is not None:
        from qtpy.QtWidgets import QApplication

        # A window's pool is found through its window: gc.get_objects() misses what the
        # window's gc.freeze() moved to the permanent generation. Unparented pools: gc.
        pools = {id(p): p for w in QApplication.topLevelWidgets() for p in w.findChildren(workers.WorkerPool)}
        pools.update((id(o), o) for o in gc.get_objects() if isinstance(o, workers.WorkerPool))
        for pool in pools.values():
            try:
                owner = type(pool.parent()).__name__ if pool.parent() is not None else "no parent"
                lines.append(f"pool {id(pool):#x} of {owner}{' (closed)' if pool.closed else ''}: {pool.describe()}")
            except RuntimeError:  # its C++ side is already deleted: nothing of it runs
                pass
    lines = lines or ["no WorkerPool alive"]
    names = {t.ident: t.name for t in threading.enumerate()}
    doing: dict[str, list[str]] = {}  # the same stack (idle executor threads, say): one line
    for ident, frame in sys._current_frames().items():
        if ident != threading.main_thread().ident:
            where = " <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})"
                                for f in reversed(traceback.extract_stack(frame)[-4:]))
            doing.setdefault(where, []).append(str(names.get(ident, ident)))
    for where, threads in doing.items():
        lines.append(f"{len(threads)} thread(s) {', '.join(threads[:3])}{', ...' if len(threads) > 3 else ''}: {where}")
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that timed out waiting for a signal or a condition (pytest-qt) says what the
    background jobs were doing at that moment, so a CI failure explains itself."""
    outcome = yield
    if call.when == "call" and call.excinfo is not None:
        from pytestqt.exceptions import TimeoutError as QtTimeout

        if call.excinfo.errisinstance(QtTimeout):
            outcome.get_result().sections.append(("background jobs when the wait timed out", background_jobs()))


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The demo workspace, made once per test session (read-only for tests)."""
    from polystore_gui.model.demo import make_demo

    return make_demo(Path(_CONFIG_DIR) / "demo-session")


@pytest.fixture(scope="session")
def discovery():
    """polystore's registry, discovered once (real backends, real instances)."""
    from polystore_gui.model.catalogue import discover_backends

    return discover_backends()


@pytest.fixture
def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def shared_tmp(tmp_path_factory) -> Path:
    """A temporary folder an unprivileged user can reach (pytest's own are private to root).

    Permission tests drop to 'nobody' in a child process: the folder and its parents must
    be traversable, so that only the permission under test is denied.
    """
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="polystore-gui-shared-"))
    path.chmod(0o755)
    yield path
    for p in [path, *path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(path)


def pytest_sessionfinish(session, exitstatus):
    """The suite reached its end: say so in ``$PSG_PYTEST_FINISHED`` (the Makefile's test
    target checks it, so that a test ending the process itself cannot pass the suite)."""
    marker = os.environ.get("PSG_PYTEST_FINISHED")
    if marker:
        Path(marker).write_text(f"{int(exitstatus)}\n")
