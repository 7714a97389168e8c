"""A TIFF's facts from its header: shape, dtype, axes, flavour; and its axes as names.

tifffile works the shape and axes out from the first page and the file's metadata
(tifffile's own shaped description, ImageJ, OME-XML, ...) without decoding a pixel: about
0.2 ms for a typical file here, 4 ms for an OME-TIFF, 20 ms for a 1,000-page TIFF with no
metadata (tifffile walks the page chain to find the stack). Cheap enough for a listing's
details pass, which asks for a screenful of rows at a time, in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from .safe_files import open_regular

TIFF_EXTENSIONS = (".tif", ".tiff")


@dataclass(frozen=True, slots=True)
class TiffFacts:
    """What a TIFF's first series is: ``axes`` in tifffile's letters (``"TZCYX"``)."""

    shape: tuple[int, ...]
    dtype: str
    axes: str
    flavour: str  # "OME-TIFF", "ImageJ" or "TIFF"
    levels: int = 1

    @property
    def detail(self) -> str:
        """One line for a listing: ``"ImageJ TZCYX"``, ``"OME-TIFF CZYX, 3 levels"``."""
        return f"{self.flavour} {self.axes}" + (f", {self.levels} levels" if self.levels > 1 else "")


def is_tiff_name(name: str) -> bool:
    return name.lower().endswith(TIFF_EXTENSIONS)


def read_tiff_facts(path: str) -> TiffFacts:
    """The facts of the TIFF at ``path`` (a regular file only: a FIFO is never opened).
    Raises OSError, or tifffile's error (ValueError and the like) when it is not a TIFF."""
    import tifffile

    with open_regular(path) as fh, tifffile.TiffFile(fh) as tif:
        series = tif.series[0]
        flavour = "OME-TIFF" if tif.is_ome else "ImageJ" if tif.is_imagej else "TIFF"
        return TiffFacts(
            shape=tuple(int(n) for n in series.shape),
            dtype=str(series.dtype),
            axes=str(series.axes),
            flavour=flavour,
            levels=len(getattr(series, "levels", None) or [series]),
        )


NGFF_ORDER = "tczyx"  # OME-NGFF's axes: time, channel, then space (z, y, x), in this order


def ngff_layout(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]] | None:
    """The transpose and the names that make dimension ``names`` OME-NGFF axes (``t``,
    ``c``, ``z``, ``y``, ``x``, in that order; RGB samples ``s`` are channels when there is
    no ``c``): ``("t","z","c","y","x")`` → ``((0, 2, 1, 3, 4), ("t","c","z","y","x"))``.
    None when an axis has no NGFF name (tifffile's ``q``, ``i``...) or one repeats."""
    mapped = ["c" if n == "s" and "c" not in names else n for n in names]
    if any(n not in NGFF_ORDER for n in mapped) or len(set(mapped)) != len(mapped):
        return None
    order = tuple(sorted(range(len(mapped)), key=lambda i: NGFF_ORDER.index(mapped[i])))
    return order, tuple(mapped[i] for i in order)


def dimension_names(axes: str) -> tuple[str, ...]:
    """tifffile's axes as zarr 3 ``dimension_names``: lower-case letters (``"CYX"`` →
    ``("c", "y", "x")``); a letter met again is numbered (``"QQYX"`` → ``q, q1, y, x``)."""
    names: list[str] = []
    for letter in axes.lower():
        name, n = letter, 0
        while name in names:
            n += 1
            name = f"{letter}{n}"
        names.append(name)
    return tuple(names)
