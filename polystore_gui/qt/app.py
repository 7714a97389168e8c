"""Starting the GUI: show the window first, do everything slow in the background."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

log = logging.getLogger(__name__)


def run_gui(paths: list[str], *, demo_dir: str | None = None, viewer_port: int | None = None,
            self_test: bool = False) -> int:
    """Run the browser on ``paths`` (the demo workspace when empty); returns the exit status.

    When quitting this session had to abandon a background job still running, it does not
    return: the process ends here with that status, after what its exit would do
    (``_end_process``).
    """
    if self_test and paths:
        print('{"ok": false, "reason": "--self-test runs on the demo workspace: give no PATH"}', flush=True)
        return 2
    from .workers import jobs_abandoned

    before = jobs_abandoned()  # a pool abandoned earlier in this process (a test's window) is not this session's
    status = _run_session(paths, demo_dir=demo_dir, viewer_port=viewer_port, self_test=self_test)
    if jobs_abandoned() > before:
        _end_process(status)
    return status


def _run_session(paths: list[str], *, demo_dir: str | None, viewer_port: int | None, self_test: bool) -> int:
    """The window's whole life, until its event loop ended; its QApplication goes on return."""
    app = _application()
    window = start_gui(paths, demo_dir=demo_dir, viewer_port=viewer_port, self_test=self_test)
    from .unexpected_errors import install

    install(window)  # an error in a slot is said and the app goes on (PyQt6 would abort)
    app.aboutToQuit.connect(window.shutdown)
    status = int(app.exec())
    # The settings the closing window wrote (its geometry, its splitter) in the file while
    # the application still exists: it is destroyed when this returns (the last reference).
    from . import settings_writes

    settings_writes.flush()
    return status


def _end_process(status: int) -> NoReturn:
    """Exit now, without the interpreter's finalization: a job abandoned at quit still runs.

    Finalizing under that pool thread aborts the process (see ``workers.jobs_abandoned``).
    What the exit would have done that matters is done here first, while the interpreter is
    whole: every atexit handler (the settings writes flushed, logging's handlers flushed and
    closed, ``weakref.finalize`` objects such as temporary folders removed, multiprocessing's
    children and zmqruntime's listeners stopped), then the standard streams flushed. Backend
    connections were closed by the window's shutdown (``cleanup_backend_connections()``); the
    persistent viewer is another process and stays open. Helper threads of
    ``concurrent.futures`` (sorting, decoding, sampling: reads only) end with the process
    instead of being joined; a transfer cut short is cleaned up at the next start.
    """
    import atexit

    log.info("ending the process directly: abandoned background jobs still run")
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing left to say there
            pass
    os._exit(status)


def _application() -> Any:
    os.environ.setdefault("QT_API", "pyqt6")
    # napari's asynchronous slicing: slider steps on lazy arrays read off the GUI thread.
    # Set through the environment so the user's napari settings file is never written.
    os.environ.setdefault("NAPARI_ASYNC", "1")
    from qtpy.QtWidgets import QApplication

    from .. import __version__

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("polystore-gui")
    return app


def start_gui(paths: list[str], *, demo_dir: str | None = None, viewer_port: int | None = None,
              self_test: bool = False) -> Any:
    """Show the window on ``paths`` (the demo workspace when empty) and start everything slow
    in the background; returns the window (the event loop is the caller's: ``run_gui``, a test)."""
    _application()
    from .main_window import MainWindow

    missing = [p for p in paths if not os.path.exists(p)]
    for p in missing:
        print(f"polystore-gui: no such file or folder: {p}", file=sys.stderr)
    roots = [os.path.abspath(p) for p in paths if p not in missing]
    window = MainWindow(roots, viewer_port=viewer_port)
    from .expose_repair import repaint_on_uncover

    window.uncover_watch = repaint_on_uncover(window)  # no closed menu left drawn over it (X11 without compositor)
    if not self_test:
        window.restore_session()  # the folders and stores added last time (File → Open Recent has more)
    window.show()
    window.start_background()
    then = _self_test(window) if self_test else None
    if not paths:
        _open_demo_in_background(window, demo_dir, then)
    return window


SELF_TEST_SECONDS = 180
DRAW_SECONDS = 30


def _self_test(window: object) -> Any:
    """``--self-test``: check that this install works, print a JSON report, quit.

    Waits for discovery (``backends``: the tree's top-level rows), opens a demo array,
    waits until napari has drawn it (the GL canvas rendered to an image with non-black
    pixels), then prints ``{"backends": [...],
    "preview": {...}, "ok": true}`` and exits 0; exits 1 with the reason otherwise. Used by
    the bundle test (a frozen app must still find polystore's backends and napari's GL).
    """
    import json
    import time

    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from .main_window import MainWindow

    assert isinstance(window, MainWindow)
    report: dict[str, object] = {"ok": False}
    app = QApplication.instance()

    def finish(ok: bool, reason: str | None = None) -> None:
        if "done" in report:
            return  # one report, one exit
        report["done"] = True
        report["ok"] = ok
        if reason:
            report["reason"] = reason
        # The process's own stdout: a worker may be inside contextlib.redirect_stdout (the
        # demo workspace silences ome-zarr while it is made), which swaps sys.stdout for
        # every thread; the report printed then went into its buffer and was lost.
        stream = sys.__stdout__ or sys.stdout
        stream.write(json.dumps({k: v for k, v in report.items() if k != "done"}) + "\n")
        stream.flush()
        if app is not None:
            app.exit(0 if ok else 1)

    def on_discovered(_discovery: object) -> None:
        # What the user sees: the tree's top-level rows, one per registered backend.
        report["backends"] = window.tree_model.backend_keys()

    def on_shown(preview: object) -> None:
        layers = window.preview.shown_layers
        report["preview"] = {"path": getattr(preview, "path", None), "layers": [type(x).__name__ for x in layers],
                             "shape": list(layers[0].data.shape) if layers else None}
        check_drawn(time.monotonic() + DRAW_SECONDS)

    def check_drawn(deadline: float) -> None:
        # napari slices and draws asynchronously: look at the canvas until it shows the
        # array (or the deadline passes), a few times a second.
        qt_viewer = window.preview.viewer.qt_viewer
        try:
            image = qt_viewer.screenshot() if qt_viewer is not None else None
        except Exception as exc:  # no GL context: that is what this test is for
            finish(False, f"the canvas could not draw: {exc}")
            return
        lit = int((image[..., :3].max(axis=-1) > 16).sum()) if image is not None else 0
        report["canvas_pixels_lit"] = lit
        if lit == 0 and time.monotonic() < deadline:
            QTimer.singleShot(200, lambda: check_drawn(deadline))
            return
        finish(lit > 0 and bool(report.get("backends")), None if lit else f"the canvas drew nothing in {DRAW_SECONDS} s")

    def open_array(demo: Path | BaseException) -> None:
        if isinstance(demo, BaseException):
            finish(False, f"the demo workspace could not be made: {demo}")
            return
        window.preview.previewShown.connect(on_shown)
        window.preview.previewFailed.connect(lambda text: finish(False, f"the demo array could not be previewed: {text}"))
        window.preview.request("zarr", str(demo / "stores" / "experiment.zarr" / "plain"))

    def on_timeout() -> None:
        if "done" in report:
            return
        viewer = window.preview.viewer.state.value
        finish(False, f"not done within {SELF_TEST_SECONDS} s (the napari viewer: {viewer})")

    window.discoveryFinished.connect(on_discovered)
    window.preview.viewer.failed.connect(lambda text: finish(False, f"the napari viewer could not start: {text}"))
    QTimer.singleShot(SELF_TEST_SECONDS * 1000, on_timeout)
    return open_array


def _open_demo_in_background(window: object, demo_dir: str | None, then: Any = None) -> None:
    """Make (first run only) and open the demo workspace without blocking the window."""
    from .main_window import MainWindow

    assert isinstance(window, MainWindow)

    def _on_ready(path: Path) -> None:
        # The demo first, then what was there already (home, and the folders reopened).
        window.tree_model.set_disk_roots([str(path), *window.tree_model.disk_roots()])
        window.expand_first_root()
        window.statusBar().showMessage(f"Demo workspace: {path}", 5000)
        if then is not None:
            then(path)

    def _on_failed(exc: BaseException) -> None:
        window.statusBar().showMessage(f"Could not make the demo workspace: {exc}")
        if then is not None:
            then(exc)

    window.statusBar().showMessage("Preparing the demo workspace…")
    window.workers.start(
        _prepare_demo, Path(demo_dir) if demo_dir else None, on_return=_on_ready, on_error=_on_failed
    )


def _prepare_demo(directory: Path | None) -> Path:
    """Worker body: the demo folder (made on first run) and a couple of arrays in memory."""
    from ..model.demo import ensure_demo, populate_memory

    path = ensure_demo(directory)
    try:
        populate_memory()
    except Exception as exc:  # the memory demo is a nicety, never a reason to fail
        log.warning("could not put demo arrays into memory: %s", exc)
    return path
