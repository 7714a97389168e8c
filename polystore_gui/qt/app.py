"""Starting the GUI: show the window first, do everything slow in the background."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def run_gui(paths: list[str], *, demo_dir: str | None = None, viewer_port: int | None = None) -> int:
    """Run the browser on ``paths`` (the demo workspace when empty); returns the exit status."""
    os.environ.setdefault("QT_API", "pyqt6")
    # napari's asynchronous slicing: slider steps on lazy arrays read off the GUI thread.
    # Set through the environment so the user's napari settings file is never written.
    os.environ.setdefault("NAPARI_ASYNC", "1")
    from qtpy.QtWidgets import QApplication

    from .. import __version__
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("polystore-gui")
    missing = [p for p in paths if not os.path.exists(p)]
    for p in missing:
        print(f"polystore-gui: no such file or folder: {p}", file=sys.stderr)
    roots = [os.path.abspath(p) for p in paths if p not in missing]
    use_demo = not paths
    window = MainWindow(roots, viewer_port=viewer_port)
    window.show()
    window.start_background()
    if use_demo:
        _open_demo_in_background(window, demo_dir)
    app.aboutToQuit.connect(window.shutdown)
    return int(app.exec())


def _open_demo_in_background(window: object, demo_dir: str | None) -> None:
    """Make (first run only) and open the demo workspace without blocking the window."""
    from .main_window import MainWindow

    assert isinstance(window, MainWindow)

    def _on_ready(path: Path) -> None:
        window.tree_model.set_disk_roots([str(path), os.path.expanduser("~")])
        window.expand_first_root()
        window.statusBar().showMessage(f"Demo workspace: {path}", 5000)

    def _on_failed(exc: BaseException) -> None:
        window.statusBar().showMessage(f"Could not make the demo workspace: {exc}")

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
