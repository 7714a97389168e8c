"""Every icon the tree uses is one of ours, loaded from the package, and valid SVG."""

from __future__ import annotations

from importlib import resources

import pytest

from polystore_gui.qt import icons

NAMES = sorted(
    set(icons._KIND_ICONS.values())
    | set(icons._CAPABILITY_ICONS.values())
    | {"error", "warning", "loading", "memory", "backend-error", "app"}
)


@pytest.mark.parametrize("name", NAMES)
def test_icon_ships_in_the_package_and_renders(qapp, name):
    from qtpy.QtSvg import QSvgRenderer

    ref = resources.files("polystore_gui").joinpath("resources", "icons", f"{name}.svg")
    assert ref.is_file(), f"{name}.svg is not in the package"
    with resources.as_file(ref) as path:
        assert QSvgRenderer(str(path)).isValid()
    assert not icons.named(name).pixmap(16, 16).isNull()
