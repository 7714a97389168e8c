"""napari_build.make_canvas hands the scene canvas made a turn before to napari's
VispyCanvas by swapping a module-level name for one constructor call: the name is put back
on every path, and a scene canvas that ends up in no napari canvas (the construction
failed, or napari no longer makes its scene canvas by that name) is closed, not left as a
hidden OpenGL widget in the pane for the process's life."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from polystore_gui.qt import napari_build


class _Scene:
    """Stands for vispy's scene canvas made a turn before (napari_build.make_scene_canvas)."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class _Native:
    def hide(self) -> None:
        pass


def _model() -> SimpleNamespace:
    return SimpleNamespace(canvas=SimpleNamespace(size=(64, 64)))


def test_a_failed_canvas_closes_the_scene_made_ahead_and_restores_napari(qtbot, monkeypatch):
    import napari._vispy.canvas as canvas_module

    original = canvas_module.NapariSceneCanvas

    def failing(**_kwargs):
        assert canvas_module.NapariSceneCanvas is not original  # the handover is in place
        raise RuntimeError("no GL here")

    monkeypatch.setattr(canvas_module, "VispyCanvas", failing)
    scene = _Scene()
    with pytest.raises(RuntimeError, match="no GL here"):
        napari_build.make_canvas(_model(), None, scene=scene)
    assert canvas_module.NapariSceneCanvas is original
    assert scene.closed == 1


def test_a_napari_that_makes_its_scene_by_another_name_leaves_no_second_scene(qtbot, monkeypatch):
    import napari._vispy.canvas as canvas_module

    own = _Scene()

    class MovedOn:  # a napari whose VispyCanvas no longer asks for the module's name
        def __init__(self, **_kwargs) -> None:
            self._scene_canvas = own
            self.native = _Native()

    monkeypatch.setattr(canvas_module, "VispyCanvas", MovedOn)
    scene = _Scene()
    canvas = napari_build.make_canvas(_model(), None, scene=scene)
    assert canvas._scene_canvas is own
    assert scene.closed == 1  # the one made ahead is not kept alive beside napari's own
    assert own.closed == 0


def test_the_scene_made_ahead_is_the_canvas_s_own(qtbot, monkeypatch):
    import napari._vispy.canvas as canvas_module

    class Handed:
        def __init__(self, **_kwargs) -> None:
            self._scene_canvas = canvas_module.NapariSceneCanvas()
            self.native = _Native()

    monkeypatch.setattr(canvas_module, "VispyCanvas", Handed)
    scene = _Scene()
    canvas = napari_build.make_canvas(_model(), None, scene=scene)
    assert canvas._scene_canvas is scene
    assert scene.closed == 0
