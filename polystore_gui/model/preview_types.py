"""What a preview is: the layers a viewer should show and the notes for the user, and the
two ways opening one can stop (an error to show, or a size the user must agree to).

Plain data (no numpy import): the window, the CLI and the viewer's sender share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .arrays import Info
from .entries import human_size

if TYPE_CHECKING:
    from .lazy_views import SafeArray


def axis_labels(names: tuple[str | None, ...] | list[str | None] | None, ndim: int) -> tuple[str, ...]:
    """How the viewer's sliders name an array's ``ndim`` axes: by ``names`` where given (zarr
    3's ``dimension_names``, whose entries may be null; OME or TIFF axes), else ``axis i``,
    counted from 0 as numpy's ``axis=`` and the chunk inspector's indices are. napari's own
    default numbers them from the last (``-3`` for the first of three), which a user does
    not read as "the first axis"."""
    given: list[str | None] = list(names) if names is not None and len(names) == ndim else [None] * ndim
    return tuple(str(name) if name else f"{UNNAMED_AXIS}{index}" for index, name in enumerate(given))


UNNAMED_AXIS = "axis "  # + the axis's index: the label of an axis the data does not name


def unnamed_axis(label: str) -> bool:
    """Whether ``label`` only numbers its axis (``axis 0`` here, ``-3`` napari's default)."""
    number = label[len(UNNAMED_AXIS):] if label.startswith(UNNAMED_AXIS) else label.lstrip("-")
    return number.isdigit()


class PreviewError(Exception):
    """The address cannot be previewed; the message is for the user.

    ``info`` holds the facts already read about the address, when there are any.
    """

    info: Info | None = None


class NeedsConfirmation(Exception):
    """Showing this means reading ``nbytes`` into memory, above the size limit."""

    def __init__(self, nbytes: int, limit: int, what: str) -> None:
        super().__init__(f"{what} would read {human_size(nbytes)} into memory (the limit is {human_size(limit)})")
        self.nbytes = nbytes
        self.limit = limit


@dataclass(frozen=True)
class LayerSpec:
    """One napari layer to add: lazy data and everything napari must not compute itself."""

    kind: str  # "image" or "labels"
    name: str
    data: Any  # an array-like, or a list of them (largest first) when multiscale
    multiscale: bool = False
    contrast_limits: tuple[float, float] | list[tuple[float, float]] | None = None
    channel_axis: int | None = None
    channel_names: list[str] | None = None
    colormaps: list[str] | None = None
    scale: tuple[float, ...] | None = None
    translate: tuple[float, ...] | None = None
    rgb: bool = False
    axis_labels: tuple[str, ...] | None = None
    # One per channel (or one): True where the contrast sample found no contrast at all (a
    # sparse array's blank planes), so the limits are a placeholder for the viewer to replace.
    contrast_placeholder: tuple[bool, ...] = ()
    # A remote sparse array's search of other planes (``model.contrast.contrast_at_once``):
    # a ``ContrastSearch``, not started; the viewer starts it once the first frame is drawn,
    # and each channel's Contrast it finds replaces the placeholder limits. None when the
    # limits are final.
    contrast_later: Any = None
    sources: tuple[SafeArray, ...] = ()  # the SafeArrays behind the data, for failure reports

    @property
    def shape(self) -> tuple[int, ...]:
        base = self.data[0] if self.multiscale else self.data
        return tuple(int(s) for s in base.shape)


@dataclass(frozen=True)
class Preview:
    backend: str
    path: str
    info: Info
    layers: tuple[LayerSpec, ...] = ()
    notes: tuple[str, ...] = field(default=())
    resources: tuple[Any, ...] = field(default=(), compare=False)
    # A note that depends on the plane shown (``lazy.PlaneNote``: missing chunks of the plane),
    # asked again, in a worker, when another plane is shown. None: the notes hold for every plane.
    plane_note: Any = field(default=None, compare=False)

    @property
    def is_array(self) -> bool:
        return bool(self.layers)

    def close(self) -> None:
        """Release open files (a TIFF's handle); call when the preview is no longer shown."""
        for resource in self.resources:
            try:
                resource.close()
            except Exception:  # closing twice or a vanished file: nothing left to release
                pass


# -- lazy views ----------------------------------------------------------------------------------
