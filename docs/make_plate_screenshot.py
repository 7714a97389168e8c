#!/usr/bin/env python
"""The plate view's screenshot for the README (``docs/plate-view.png``).

Run under an X server (``Xvfb :7 -screen 0 1600x1000x24 &`` then ``DISPLAY=:7
.venv/bin/python docs/make_plate_screenshot.py [OUT_DIR]``). It writes a 96-well OME-Zarr
0.5 plate with ome-zarr-py (2 fields a well, 3 levels, a few empty positions, a
``condition`` attribute per well), opens the window on it, selects the plate, waits until
every thumbnail is drawn, clicks a well, filters the wells table, and captures the screen
with ImageMagick's ``import -window root``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("QT_API", "pyqt6")
_tmp = tempfile.mkdtemp(prefix="polystore-gui-plate-shot-")
os.environ["NAPARI_CONFIG"] = os.path.join(_tmp, "napari.yaml")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_tmp, "config")  # never the user's settings
os.environ["XDG_CACHE_HOME"] = os.path.join(_tmp, "cache")


def write_plate(path: Path) -> Path:
    import numpy as np
    import zarr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ome_zarr.format import FormatV05
        from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    from polystore_gui.model.demo import _cells

    fmt = FormatV05()
    rows, columns = list("ABCDEFGH"), [str(c) for c in range(1, 13)]
    empty = {"A/12", "B/12", "H/1", "D/6", "E/7"}
    wells = [f"{r}/{c}" for r in rows for c in columns if f"{r}/{c}" not in empty]
    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    write_plate_metadata(root, rows, columns, wells, fmt=fmt, field_count=2, name="screen 7",
                         acquisitions=[{"id": 0, "name": "day 1", "maximumfieldcount": 2}])
    rng = np.random.default_rng(7)
    for n, well in enumerate(wells):
        r, c = well.split("/")
        group = root.require_group(r).require_group(c)
        write_well_metadata(group, [{"path": "0", "acquisition": 0}, {"path": "1", "acquisition": 0}], fmt=fmt)
        column = int(c)
        group.attrs["condition"] = "DMSO" if column in (1, 12) else f"drug {(column - 2) // 2 + 1}"
        group.attrs["dose_uM"] = 0 if column in (1, 12) else [0.1, 1, 10][column % 3]
        for f in range(2):
            cells = 20 + (column * 7 + "ABCDEFGH".index(r) * 3) % 40
            nuclei = (_cells((256, 256), cells, rng) * 3000 + rng.integers(0, 300, (256, 256))).astype(np.uint16)
            other = (_cells((256, 256), cells // 2, rng, radius=14) * 2000).astype(np.uint16)
            write_image(np.stack([nuclei, other]), group.require_group(str(f)), scale_factors=(2, 4), axes="cyx",
                        fmt=fmt)
    return path


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent)
    out.mkdir(parents=True, exist_ok=True)
    from qtpy.QtCore import Qt, QTimer
    from qtpy.QtTest import QTest
    from qtpy.QtWidgets import QApplication

    from polystore_gui.qt.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    app.setApplicationName("polystore-gui")
    folder = Path(_tmp) / "plates"
    folder.mkdir()
    plate = write_plate(folder / "screen7.zarr")
    window = MainWindow([str(folder)])
    window.move(0, 0)
    window.resize(1600, 1000)
    window.show()
    model = window.tree_model
    state = {"phase": "discover"}

    def poll() -> None:
        panel = window.preview
        view = panel.plate_view
        if state["phase"] == "discover":
            index = model.find("disk", str(folder))
            if index.isValid():
                window.tree.expand(window.proxy.mapFromSource(index))
                if model.canFetchMore(index):
                    model.fetchMore(index)
                state["phase"] = "select"
        elif state["phase"] == "select":
            index = model.find("disk", str(plate))
            if index.isValid():
                window.tree.setCurrentIndex(window.proxy.mapFromSource(index))
                state["phase"] = "thumbnails"
        elif state["phase"] == "thumbnails":
            if panel.stack.currentWidget() is view and not view.loading and view.grid.thumbnails:
                grid = view.grid
                QTest.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(2, 4).center())
                view.wells.filter.setText("drug 2")
                state["phase"] = "shoot"
                QTimer.singleShot(800, shoot)
                return
        QTimer.singleShot(100, poll)

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", str(out / "plate-view.png")], check=True)
        print(f"wrote {out / 'plate-view.png'}", flush=True)
        window.shutdown()
        app.quit()

    window.discoveryFinished.connect(lambda _d: QTimer.singleShot(100, poll))
    window.start_background()
    QTimer.singleShot(120_000, app.quit)  # never hang
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
