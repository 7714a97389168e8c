#!/usr/bin/env python
"""Render the application icon (polystore_gui/resources/icons/app.svg) for desktops and bundles.

Writes, under resources/:
- icons/hicolor/<N>x<N>/apps/polystore-gui.png for N in 16 … 512, and
  icons/hicolor/scalable/apps/polystore-gui.svg (the freedesktop icon theme layout);
- polystore-gui.ico (Windows; 16-256 px) and polystore-gui.icns (macOS; 16-512 px).

The SVG is the one source; run this after changing it (``make icons``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "polystore_gui" / "resources" / "icons" / "app.svg"
OUT = ROOT / "resources"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(size: int) -> "object":
    from PIL import Image
    from qtpy.QtCore import Qt
    from qtpy.QtGui import QImage, QPainter
    from qtpy.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SOURCE))
    image = QImage(size, size, QImage.Format.Format_RGBA8888)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = bytes(image.constBits().asstring(image.sizeInBytes()))
    return Image.frombuffer("RGBA", (size, size), data, "raw", "RGBA", image.bytesPerLine(), 1)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyqt6")
    from qtpy.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (Qt needs one)
    images = {}
    for size in SIZES:
        folder = OUT / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        images[size] = render(size)
        images[size].save(folder / "polystore-gui.png")
    scalable = OUT / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable / "polystore-gui.svg")
    images[256].save(OUT / "polystore-gui.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    images[512].save(OUT / "polystore-gui.icns")
    print(f"wrote {len(SIZES)} PNGs, the SVG, polystore-gui.ico and polystore-gui.icns under {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
