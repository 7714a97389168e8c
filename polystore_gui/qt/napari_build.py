"""napari's Qt side built in pieces, one event-loop turn each (issue 19).

``QtViewer(model)`` is one call of 100-130 ms on the GUI thread on a quiet machine (far
more under load): it binds every keyboard shortcut from napari's settings (each binding
refreshes the welcome widget's shortcut table: 176 refreshes), creates the vispy canvas
(the GL context, Mesa's driver loaded with the first one, the scene graph), the dims
sliders, the welcome widget. Built ahead at start-up (``napari_view``), that single turn was
the start-up's longest stall. Here it is cut into five turns:

1. :func:`bind_shortcuts`: the settings' shortcuts bound once, before any welcome widget
   listens (napari's action manager is global: the bindings are the same for every viewer);
2. :func:`open_gl`: a first OpenGL context made current, which loads the GL driver (Mesa's
   is 40-90 ms of the canvas's construction otherwise), unless napari's import worker
   loaded it already (:func:`preload_gl_driver`, off the GUI thread);
3. :func:`make_scene_canvas`: vispy's scene canvas (the ``QOpenGLWidget``) and its central
   widget, parented (hidden) to the pane;
4. :func:`make_canvas`: napari's vispy canvas around it (its view, grid, camera, overlays),
   with the key-map handler and font manager it will share with its ``QtViewer``;
5. :func:`make_qt_viewer`: ``QtViewer`` given that canvas (through its ``canvas_class``
   argument) and told not to bind the shortcuts again.

Anything that fails on the way falls back to napari's plain ``QtViewer(model)``.

:func:`compose_gl_apart` gives the pane that will hold the canvas a native window of its
own, from its construction: the canvas's OpenGL composition then stays in that window
instead of turning the whole main window into an OpenGL-composed one mid-session.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

log = logging.getLogger(__name__)

_shortcuts_bound = False  # the settings' shortcuts bound in this process by bind_shortcuts


def compose_gl_apart(pane: Any) -> None:
    """Give ``pane`` (not yet shown) a native window of its own, its ancestors and siblings
    left without one, so that the OpenGL canvas later built inside it is composed there.

    A ``QOpenGLWidget`` parented into a window whose surface is raster makes Qt recreate the
    nearest native window as an OpenGL one ("Recreating QWidgetWindow ... to support
    QSurface::OpenGLSurface" in qt.widgets.painting's log): for the main window, a new X
    window, all of it repainted and its first composition through (software) OpenGL, one
    118-168 ms turn at start-up; and from then on every repaint anywhere in the window (a
    tree row, a progress bar, the filter) composed through OpenGL too. With the pane native,
    only the pane's window is recreated and composed through OpenGL; the main window stays
    the raster window it was shown as.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    # Without these, Qt makes the pane's ancestors and their siblings native too (the tree,
    # the splitters: a flush and an X window each, and flicker on resize).
    QApplication.setAttribute(Qt.ApplicationAttribute.AA_DontCreateNativeWidgetSiblings)
    pane.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
    pane.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)


def bind_shortcuts() -> None:
    """Bind napari's shortcuts from its settings to its (global) actions, as every
    ``QtViewer`` does in its constructor; the viewer made by :func:`make_qt_viewer` then
    skips it."""
    global _shortcuts_bound
    from napari._app_model import get_app_model
    from napari.qt import QtViewer

    # As QtViewer's constructor does it: inside the namespace where napari's actions find
    # their ``QtViewer`` type hints (outside it in_n_out warns, and a warnings-as-errors run
    # stops halfway and leaves the binding to the QtViewer turn).
    with get_app_model().register_with_namespace("QtViewer", QtViewer):
        QtViewer._bind_shortcuts(None)  # napari's own loop; it uses nothing of the instance
    _shortcuts_bound = True


_gl_display: Any = None  # the X connection preload_gl_driver opened (kept: its GLX screen holds the driver)
_gl_preload_tried = False


def preload_gl_driver() -> bool:
    """Load the OpenGL driver off the GUI thread (call it in a worker, before the viewer's
    build): on X11, a GLX screen of a connection of our own made through ctypes, whose
    calls release the interpreter lock. Once a process; True when it loaded something.

    :func:`open_gl`'s ``QOpenGLContext.create()`` loaded the driver on the GUI thread, with
    the lock held (PyQt keeps it: done on a worker it stalled the window just the same):
    with Mesa, ``swrast_dri.so`` and LLVM, 32-64 ms of CPU of a single turn (issue 19).
    Loaded here first, that turn is ~15 ms. The connection stays open for the process's
    life (closed, Mesa would unload the driver again). Only where Qt draws through X11
    (the ``xcb`` platform); anything missing or failing leaves it to :func:`open_gl`.
    """
    global _gl_display, _gl_preload_tried
    if _gl_preload_tried:
        return False
    _gl_preload_tried = True
    from qtpy.QtGui import QGuiApplication

    if QGuiApplication.platformName() != "xcb":
        return False
    import ctypes

    try:
        x11 = ctypes.CDLL("libX11.so.6")
        glx = ctypes.CDLL("libGL.so.1")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        glx.glXQueryExtensionsString.restype = ctypes.c_char_p
        glx.glXQueryExtensionsString.argtypes = [ctypes.c_void_p, ctypes.c_int]
        display = x11.XOpenDisplay(None)
        if not display:
            return False
        # GLX's first question about a screen loads the driver and makes its DRI screen.
        glx.glXQueryExtensionsString(display, x11.XDefaultScreen(display))
    except Exception as exc:  # no libGL / libX11 here, or a call refused: open_gl does it all
        log.debug("the GL driver was not loaded ahead: %s", exc)
        return False
    _gl_display = display
    return True


def open_gl() -> Any:
    """An OpenGL context made current once on an offscreen surface, then released: the GL
    driver is loaded and initialised now rather than inside the canvas's construction.
    Keep what it returns until the canvas is made."""
    from qtpy.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    if not context.create():
        return None  # the canvas will say why (no GL)
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    if context.makeCurrent(surface):
        context.doneCurrent()
    return context, surface


def _scene_options(model: Any, parent: Any) -> dict[str, Any]:
    """What ``QtViewer`` passes on to vispy's scene canvas through ``VispyCanvas``."""
    from napari.settings import get_settings

    settings = get_settings()
    return {"parent": parent, "size": model.canvas.size, "autoswap": settings.experimental.autoswap_buffers,
            "config": {"samples": 4 if settings.advanced.multisampling else 0}}


def make_scene_canvas(model: Any, parent: Any) -> Any:
    """The first part of :func:`make_canvas`, a turn before it (issue 19: the canvas was one
    40-46 ms turn, this part 17-22 ms of it): napari's vispy ``SceneCanvas`` (its
    ``QOpenGLWidget``, hidden, a child of ``parent``) and its central widget, made as
    ``VispyCanvas`` makes them. Give it to :func:`make_canvas`."""
    from napari._vispy.canvas import NapariSceneCanvas
    from vispy.scene import Widget

    scene = NapariSceneCanvas(keys=None, vsync=True, **_scene_options(model, parent))
    scene.native.hide()
    # VispyCanvas.central_widget's own, made on its first use: the (height, width) size as napari gives it
    scene._central_widget = Widget(size=scene.size[::-1], parent=scene.scene, border_width=0)
    return scene


def make_canvas(model: Any, parent: Any, *, scene: Any = None) -> Any:
    """The vispy canvas ``QtViewer(model)`` would make, made now: a ``VispyCanvas`` with a
    key-map handler on ``model`` and a font manager of its own, its native widget a hidden
    child of ``parent`` until :func:`make_qt_viewer` lays it out. Around ``scene`` when given
    (:func:`make_scene_canvas`, an earlier turn), else with a scene canvas of its own."""
    import napari._vispy.canvas as canvas_module
    from napari._qt.qt_viewer import QtFontManager
    from napari.utils.key_bindings import KeymapHandler
    from qtpy.QtGui import QGuiApplication

    handler = KeymapHandler()
    handler.keymap_providers = [model]
    parts = {"viewer": model, "font_manager": QtFontManager(), "font_family": QGuiApplication.font().family(),
             "key_map_handler": handler}
    made_by = getattr(canvas_module, "NapariSceneCanvas", None)
    if scene is None or made_by is None:
        if scene is not None:
            scene.close()
        canvas = canvas_module.VispyCanvas(**parts, **_scene_options(model, parent))
    else:
        # VispyCanvas makes its scene canvas by this module name, from its own constructor
        # only: handed the one made a turn before (nothing else is made twice).
        canvas_module.NapariSceneCanvas = lambda *_args, **_kwargs: scene
        try:
            canvas = canvas_module.VispyCanvas(**parts)
        except BaseException:
            scene.close()  # in no canvas: not left as a hidden GL widget of the pane
            raise
        finally:
            canvas_module.NapariSceneCanvas = made_by
        if getattr(canvas, "_scene_canvas", None) is not scene:
            scene.close()  # a napari that made its own by another name: one scene canvas, not two
    canvas.native.hide()
    return canvas


def make_qt_viewer(model: Any, canvas: Any = None) -> Any:
    """``QtViewer(model)``, using ``canvas`` (from :func:`make_canvas`) when given and the
    shortcuts already bound when :func:`bind_shortcuts` ran; napari's plain constructor
    when the pieces cannot be used."""
    from napari.qt import QtViewer

    if canvas is None:
        return QtViewer(model)

    class PiecewiseQtViewer(QtViewer):
        """A ``QtViewer`` whose canvas and shortcut bindings were made in earlier turns."""

        def _bind_shortcuts(self) -> None:
            if not _shortcuts_bound:
                super()._bind_shortcuts()

    def given_canvas(*, parent: Any, **_kwargs: Any) -> Any:
        canvas.native.setParent(parent)  # into QtViewer's layout, which adds it next
        canvas.native.show()
        return canvas

    try:
        viewer = PiecewiseQtViewer(model, canvas_class=given_canvas)
    except Exception as exc:  # a napari whose constructor differs: its own way, in one turn
        log.warning("napari's viewer could not be built in pieces (%s): built in one go", exc)
        discard_canvas(canvas)
        return QtViewer(model)
    # The canvas's key-map handler (the one that receives key presses) and its fonts are the
    # viewer's: QtViewer points its handler at the active layer.
    viewer._key_map_handler = canvas._key_map_handler
    viewer._font_manager = canvas._font_info.font_manager
    viewer._on_active_change()
    return viewer


def discard_canvas(canvas: Any) -> None:
    """Drop a canvas made by :func:`make_canvas` that no viewer took (the fallback above, a
    pane closed halfway): its subscriptions to the viewer model's events (its own, its
    camera's, its overlays' visuals') disconnected now, then its widget deleted.

    napari disconnects a canvas only when its widget is destroyed (a later turn: the model's
    events still reached the discarded canvas, beside the new viewer's, until then), and
    even then not from the dims, the grid, the zoom box nor its camera's: those stayed
    connected until garbage collection, and a model event ran the discarded canvas's
    handlers (its scene graph laid out, its camera moved) for nothing.
    """
    from napari.utils.events import disconnect_events

    owners = {id(canvas), id(getattr(canvas, "camera", None))}
    for visuals in getattr(canvas, "_viewer_overlay_to_visual", {}).values():
        owners.update(id(v) for v in (visuals if isinstance(visuals, list) else [visuals]))
    for emitter, target, callback in model_subscriptions(canvas.viewer):
        if id(target) in owners:
            emitter.disconnect(callback)
    scene = getattr(canvas, "_scene_canvas", None)
    if scene is not None:  # the vispy canvas's own events (keys, mouse, draw) into the canvas
        disconnect_events(scene.events, canvas)
    canvas.native.deleteLater()


def model_subscriptions(model: Any) -> list[tuple[Any, Any, Any]]:
    """(emitter, the object called, what to disconnect) for every bound method subscribed to
    an event of ``model`` (a ViewerModel) or of its parts (dims, camera, cursor, layers, the
    canvas's grid and overlays, …): napari's own emitters and psygnal's signals (the overlays')."""
    from napari.utils.events import EmitterGroup
    from psygnal import SignalGroup

    found: list[tuple[Any, Any, Any]] = []
    seen: set[int] = set()
    todo = [model]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        events = getattr(obj, "events", None)
        if isinstance(events, EmitterGroup):
            for emitter in (events, *events.emitters.values()):
                for callback in emitter.callbacks:
                    if isinstance(callback, tuple) and isinstance(callback[0], weakref.ref):
                        found.append((emitter, callback[0](), callback))  # disconnect takes the tuple back
        elif isinstance(events, SignalGroup):
            for signal in [events.all, *(events[name] for name in events)]:
                for slot in list(getattr(signal, "_slots", ())):
                    method = slot.dereference()
                    if getattr(method, "__self__", None) is not None:
                        found.append((signal, method.__self__, method))
        elif not isinstance(obj, (dict, list, tuple)):
            continue
        children: list[Any] = []
        fields = getattr(type(obj), "model_fields", None)
        if isinstance(fields, dict):
            children.extend(getattr(obj, name, None) for name in fields)
        if isinstance(obj, dict) or hasattr(obj, "values") and callable(obj.values):
            try:
                children.extend(obj.values())
            except TypeError:
                pass
        elif isinstance(obj, (list, tuple)) or hasattr(obj, "__iter__") and hasattr(obj, "__len__"):
            try:
                children.extend(list(obj))
            except TypeError:
                pass
        todo.extend(c for c in children if c is not None and not isinstance(c, (str, bytes, int, float)))
    return found
