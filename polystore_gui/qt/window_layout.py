"""How the window is laid out: sizes that fit the screen and the text they show.

The widths here come from the font (so they hold at any scaling, ``QT_SCALE_FACTOR`` or
the desktop's), and a layout restored from the last session is checked before it is used:
a window larger than the screen it opens on is fitted into it, and a splitter state that
would leave the tree (or the preview) narrower than its minimum is not restored.
"""

from __future__ import annotations

from qtpy.QtCore import QRect, QSize
from qtpy.QtGui import QFontMetrics

# What the widest common cell of each tree column reads (Name is given what is left).
_COLUMN_SAMPLES = ("", "read-write storage", "1,000,000 items", "16×1024×1024", "float32", "2026-12-31 23:59")
NAME_SAMPLE = "tiled_timelapse.ome.tif"  # the Name column's width when the tree has room
CELL_PADDING = 18  # margins, the sort indicator
DEFAULT_FRACTION = 0.9  # of the available screen, for a first start
DEFAULT_MAX = QSize(1440, 900)


def tree_column_widths(metrics: QFontMetrics) -> list[int]:
    """Widths for the tree's (and the folder list's) columns: Name, Kind, Size, Shape, Dtype, Modified."""
    widths = [metrics.horizontalAdvance(NAME_SAMPLE) + CELL_PADDING + 40]  # + indentation and icon
    widths += [metrics.horizontalAdvance(text) + CELL_PADDING for text in _COLUMN_SAMPLES[1:]]
    return widths


def tree_minimum_width(metrics: QFontMetrics) -> int:
    """The narrowest the tree's pane may be: Name (a short name) and Kind both readable."""
    widths = tree_column_widths(metrics)
    return metrics.horizontalAdvance("experiment.zarr") + 70 + widths[1]


def default_window_size(available: QRect) -> QSize:
    """A first start's window: most of the screen, at most ``DEFAULT_MAX``."""
    return QSize(min(DEFAULT_MAX.width(), int(available.width() * DEFAULT_FRACTION)),
                 min(DEFAULT_MAX.height(), int(available.height() * DEFAULT_FRACTION)))


def fit_into(frame: QRect, available: QRect) -> QRect:
    """``frame`` moved and shrunk so that it lies within ``available`` (None of it off-screen)."""
    width = min(frame.width(), available.width())
    height = min(frame.height(), available.height())
    left = min(max(frame.left(), available.left()), available.right() - width + 1)
    top = min(max(frame.top(), available.top()), available.bottom() - height + 1)
    return QRect(left, top, width, height)


def splitter_sizes_usable(sizes: list[int], minimums: list[int]) -> bool:
    """Whether restored splitter ``sizes`` leave each pane with a minimum at least its minimum
    (0 in ``minimums``: the pane may be closed, as the chunk inspector's place is)."""
    if len(sizes) != len(minimums):
        return False
    return all(size >= minimum for size, minimum in zip(sizes, minimums))


TREE_SHARE_BESIDE_INSPECTOR = 0.22  # of the window, the most the tree keeps while the inspector is open
INSPECTOR_SHARE = 0.24  # of the window, the inspector's width (when above its minimum)


def inspector_sizes(total: int, tree: int, minimums: tuple[int, int, int]) -> list[int]:
    """Sizes of (tree, preview, inspector) when the inspector opens in ``total`` pixels.

    The canvas gets the room: the user opens the inspector to see the chunks on the image
    (with the tree at a third and the inspector at 28 %, the canvas was 350 px of 1600,
    narrower than the tree). The tree narrows to about a fifth (never under its minimum,
    never wider than it was), the inspector takes about a quarter (at least its minimum), the
    preview the rest. When that leaves the preview below its minimum, the tree and the
    inspector give back what they have above theirs, in proportion.
    """
    tree_min, preview_min, inspector_min = minimums
    tree = max(tree_min, min(tree, int(total * TREE_SHARE_BESIDE_INSPECTOR)))
    inspector = max(inspector_min, int(total * INSPECTOR_SHARE))
    preview = total - tree - inspector
    if preview < preview_min:
        need = preview_min - preview
        spare_tree, spare_inspector = tree - tree_min, inspector - inspector_min
        spare = spare_tree + spare_inspector
        if spare > 0:
            give = min(need, spare)
            tree -= round(give * spare_tree / spare)
            inspector -= give - round(give * spare_tree / spare)
        preview = total - tree - inspector
    return [tree, max(0, preview), inspector]


def sizes_after_inspector(total: int, tree_before: int, tree_min: int, preview_min: int) -> list[int]:
    """Sizes of (tree, preview, inspector) when the inspector closes: the tree back at the
    width it had before the inspector opened (the window may have been resized meanwhile:
    never so wide that the preview falls under its minimum, never under the tree's own)."""
    tree = max(tree_min, min(tree_before, total - preview_min))
    return [tree, max(0, total - tree), 0]


NAME_CAP = 0.7  # of the tree's viewport, the most Name takes for a long name: Kind and more stay in view


def fitted_columns(viewport: int, wanted: list[int], samples: list[int]) -> list[int]:
    """The tree's column widths for a ``viewport`` this wide, from what each column's shown
    cells and title want (``wanted``, Name first) and the font's sample widths (``samples``).

    Every column but Name: its whole content (never under its title) when Name's content
    and all of theirs fit the viewport; otherwise at most its sample width (the widest
    common cell: a rarer longer one, such as a backend's "needs context: …", is elided
    rather than pushing Kind away). Name: its content up to ``NAME_CAP`` of the viewport,
    never under its own minimum, never so wide that Kind leaves the viewport, and at
    least what the viewport has left beside the others (no empty gap).
    """
    name_minimum = samples[0] - 60
    whole = wanted[1:]
    if max(name_minimum, min(wanted[0], int(viewport * NAME_CAP))) + sum(whole) <= viewport:
        return [viewport - sum(whole), *whole]  # everything fits: nothing elided, the rest to Name
    others = [min(want, sample) for want, sample in zip(wanted[1:], samples[1:])]
    name = max(name_minimum, min(wanted[0], int(viewport * NAME_CAP), viewport - others[0]), viewport - sum(others))
    return [name, *others]
