#!/usr/bin/env python
"""Screenshots of the window's layout (issue 13, item 9): the chunk inspector open on the
demo's sharded array, at 100 % and at 150 % scaling after a start that restores the
geometry and splitter saved by a 100 % session on a full screen.

Run under an X server::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_layout_screenshots.py [OUT_DIR]

It writes ``layout-inspector.png`` (100 %) and ``layout-inspector-150.png``
(``QT_SCALE_FACTOR=1.5``, run in a child process after a first child saved its layout
at 100 %). Each capture is the whole screen (ImageMagick's ``import -window root``, which
includes napari's GL canvas), taken once the window's own signals say the preview, the scan
and the overlay are in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _child(out: Path, name: str, mode: str) -> int:
    """One window: ``save`` (a full-screen window with a narrow tree, saved on close),
    ``shoot`` (restore, open the inspector on the sharded array, capture)."""
    os.environ.setdefault("QT_API", "pyqt6")
    os.environ.setdefault("NAPARI_ASYNC", "1")
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from polystore_gui.model.demo import ensure_demo, populate_memory
    from polystore_gui.qt.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")
    demo = ensure_demo(Path(os.environ["POLYSTORE_GUI_SHOTS_DIR"]) / "demo")
    populate_memory()
    window = MainWindow([str(demo)])
    window.restore_session()
    if mode == "save":
        screen = app.primaryScreen().availableGeometry()
        window.setGeometry(screen)
        window.show()
        window.splitter.setSizes([120, screen.width() - 120, 0])  # a tree dragged almost shut

        def close() -> None:
            window.close()  # saves the geometry and the splitter, as a user's exit does
            app.quit()

        QTimer.singleShot(1500, close)
        return app.exec()
    window.show()
    array = demo / "stores" / "experiment.zarr" / "sharded"

    def on_discovered(_d: object) -> None:
        window.navigator.revealed.connect(on_revealed)
        window.open_location(f"zarr:{array}")

    waiting = {"scan", "preview"}

    def done(what: str) -> None:
        waiting.discard(what)
        if not waiting:  # a chunk's details in the inspector, then napari draws
            window.inspector.detailShown.connect(lambda *_a: QTimer.singleShot(2500, shoot))
            window.inspector.select_chunk((1, 1, 2))

    def on_revealed(_a: object) -> None:
        window.navigator.revealed.disconnect(on_revealed)
        window.inspector.scanFinished.connect(lambda: done("scan"))
        window.preview.previewShown.connect(lambda _p: window.preview.viewer.is_ready and done("preview"))
        window.inspector_action.setChecked(True)

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", str(out / name)], check=True)
        print(f"wrote {out / name}", flush=True)
        window.shutdown()
        app.quit()

    window.discoveryFinished.connect(on_discovered)
    window.start_background()
    return app.exec()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return _child(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent)
    out.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve()
    for name, scale, steps in (("layout-inspector.png", "1", ("shoot",)),
                               ("layout-inspector-150.png", "1.5", ("save", "shoot"))):
        tmp = tempfile.mkdtemp(prefix="polystore-gui-layout-")
        env = {**os.environ, "NAPARI_CONFIG": os.path.join(tmp, "napari.yaml"),
               "XDG_CONFIG_HOME": os.path.join(tmp, "config"),  # never the user's settings
               "POLYSTORE_GUI_SHOTS_DIR": tmp}
        for step in steps:
            step_env = {**env, "QT_SCALE_FACTOR": "1" if step == "save" else scale}
            subprocess.run([sys.executable, str(here), "--child", str(out), name, step], env=step_env, check=True,
                           timeout=300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
