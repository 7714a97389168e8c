#!/usr/bin/env python
"""Screenshots for the README and the issues: the window on the demo, and its dialogs.

Run under an X server (``xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python
docs/make_screenshots.py [OUT_DIR]``). Each step waits on the window's own signals, then
captures the whole screen with ImageMagick's ``import -window root`` (which, unlike
``QWidget.grab()``, includes napari's GL canvas).

Shots: ``tree.png`` (the backend tree with its icons, the demo expanded, an OME-Zarr image
previewed), ``about.png`` and ``settings.png`` (the dialogs over the window).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyqt6")
os.environ.setdefault("NAPARI_ASYNC", "1")
_tmp = tempfile.mkdtemp(prefix="polystore-gui-shots-")
os.environ["NAPARI_CONFIG"] = os.path.join(_tmp, "napari.yaml")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_tmp, "config")  # never the user's settings


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent)
    out.mkdir(parents=True, exist_ok=True)
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    from polystore_gui.model.demo import ensure_demo, populate_memory
    from polystore_gui.qt.main_window import MainWindow
    from polystore_gui.qt.settings_dialog import SettingsDialog

    app = QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    app.setOrganizationName("polystore-gui")
    demo = ensure_demo(Path(_tmp) / "demo")
    populate_memory()
    window = MainWindow([str(demo)])
    window.move(0, 0)
    window.resize(1600, 1000)
    window.show()
    steps: list = []

    def shoot(name: str) -> None:
        subprocess.run(["import", "-window", "root", str(out / name)], check=True)
        print(f"wrote {out / name}", flush=True)

    def next_step() -> None:
        if steps:
            QTimer.singleShot(800, steps.pop(0))
        else:
            window.shutdown()
            app.quit()

    def on_discovered(_d: object) -> None:
        window.tree.expand(window.proxy.mapFromSource(window.tree_model.backend_index("memory")))
        window.navigator.revealed.connect(on_revealed)
        window.open_location(str(demo / "stores" / "experiment.zarr" / "image"))

    def on_revealed(_a: object) -> None:
        window.navigator.revealed.disconnect(on_revealed)
        window.preview.previewShown.connect(lambda _p: next_step())

    def tree() -> None:
        shoot("tree.png")
        next_step()

    def about() -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "About polystore-gui", window.about_text(), parent=window)
        box.setIconPixmap(window.windowIcon().pixmap(64, 64))
        box.show()
        QTimer.singleShot(600, lambda: (shoot("about.png"), box.close(), next_step()))

    def settings() -> None:
        dialog = SettingsDialog(window)
        dialog.show()
        QTimer.singleShot(600, lambda: (shoot("settings.png"), dialog.close(), next_step()))

    steps.extend([tree, about, settings])
    window.discoveryFinished.connect(on_discovered)
    window.start_background()
    QTimer.singleShot(120_000, app.quit)  # never hang
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
