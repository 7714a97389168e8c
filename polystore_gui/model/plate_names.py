"""Well names and plate image file names: where a well sits on a plate, from its name.

Plates name wells by row letters and column numbers (``A01``, ``P24``, ``AF48``); the
Opera/Operetta exporters number both (``r01c01``). polystore / OpenHCS plates list only
the rows and columns that hold wells, with packed ``rowIndex``/``columnIndex``, so the
grid is rebuilt from the names: the smallest standard plate that holds every well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Standard microplate formats, (rows, columns), smallest first: 6 to 1,536 wells.
STANDARD_FORMATS: tuple[tuple[int, int], ...] = ((2, 3), (3, 4), (4, 6), (6, 8), (8, 12), (16, 24), (32, 48))

_WELL = re.compile(r"^([A-Za-z]{1,2})[_/]?0*(\d{1,3})$")
_OPERA_WELL = re.compile(r"^r0*(\d{1,3})c0*(\d{1,3})$", re.IGNORECASE)

# Plate TIFFs. MetaXpress: A01_s1_w1.tif (site, wavelength); polystore / OpenHCS:
# A01_s1_c1_z1.tif (site, channel, z; each part optional); an optional prefix before the
# well (Plate1_A01_s1_w1.tif). Opera/Operetta: r01c01f01p01-ch1sk1fk1fl1.tiff.
_TIFF_SUFFIX = r"\.(?:tiff?|TIFF?)$"
_WELL_TIFF = re.compile(
    r"^(?:(?P<prefix>.*?)_)?(?P<well>[A-Za-z]{1,2}\d{1,3})"
    r"(?:_s(?P<site>\d{1,4}))?(?:_(?:w|c)(?P<channel>\d{1,3}))?(?:_z(?P<z>\d{1,4}))?(?:_t(?P<t>\d{1,5}))?"
    + _TIFF_SUFFIX
)
_WELL_TIFF_BARE = re.compile(_WELL_TIFF.pattern.replace(r"(?:(?P<prefix>.*?)_)?", "", 1))
_OPERA_TIFF = re.compile(
    r"^r(?P<row>\d{1,3})c(?P<col>\d{1,3})f(?P<site>\d{1,4})p(?P<z>\d{1,4})-ch(?P<channel>\d{1,3})"
    r"(?:sk(?P<t>\d{1,5}))?.*?" + _TIFF_SUFFIX,
    re.IGNORECASE,
)


def row_name(index: int) -> str:
    """``0`` → ``A``, ``25`` → ``Z``, ``26`` → ``AA`` (1,536-well plates have 32 rows)."""
    if index < 26:
        return chr(ord("A") + index)
    return chr(ord("A") + index // 26 - 1) + chr(ord("A") + index % 26)


def row_index(name: str) -> int | None:
    """The inverse of :func:`row_name`; None for anything that is not one or two letters."""
    letters = name.upper()
    if not letters.isascii() or not letters.isalpha() or not 1 <= len(letters) <= 2:
        return None
    if len(letters) == 1:
        return ord(letters) - ord("A")
    return (ord(letters[0]) - ord("A") + 1) * 26 + ord(letters[1]) - ord("A")


def well_position(name: str) -> tuple[int, int] | None:
    """``(row, column)`` indices, from 0, of a well named ``A01``, ``A1``, ``A/01`` or
    ``r01c01``; None when the name says nothing about its place."""
    match = _WELL.match(name)
    if match:
        row = row_index(match.group(1))
        column = int(match.group(2)) - 1
        return (row, column) if row is not None and column >= 0 else None
    match = _OPERA_WELL.match(name)
    if match:
        row, column = int(match.group(1)) - 1, int(match.group(2)) - 1
        return (row, column) if row >= 0 and column >= 0 else None
    return None


def well_name(row: int, column: int, *, width: int = 2) -> str:
    """``(0, 0)`` → ``A01``: the name a well at this place is shown by."""
    return f"{row_name(row)}{column + 1:0{width}d}"


def standard_grid(positions: list[tuple[int, int]]) -> tuple[int, int]:
    """Rows and columns of the smallest standard plate holding every position; beyond a
    1,536-well plate, just large enough."""
    rows = max((r for r, _ in positions), default=-1) + 1
    columns = max((c for _, c in positions), default=-1) + 1
    for n_rows, n_columns in STANDARD_FORMATS:
        if rows <= n_rows and columns <= n_columns:
            return n_rows, n_columns
    return rows, columns


@dataclass(frozen=True, slots=True)
class PlateFile:
    """What a plate image's file name says: its well, site, channel, z and time point."""

    name: str
    well: str  # as shown: A01
    row: int
    column: int
    site: int
    channel: int
    z: int
    t: int


def parse_plate_file(name: str) -> PlateFile | None:
    """The well, site, channel and z a plate TIFF's name gives; None for other names."""
    match = _OPERA_TIFF.match(name)
    if match:
        row, column = int(match.group("row")) - 1, int(match.group("col")) - 1
        if row < 0 or column < 0:
            return None
        return PlateFile(name, well_name(row, column), row, column, int(match.group("site")),
                         int(match.group("channel")), int(match.group("z")), int(match.group("t") or 1))
    # A name that starts with its well wins over one read as prefix_well (A01_s1_w1: well A01).
    match = _WELL_TIFF_BARE.match(name) or _WELL_TIFF.match(name)
    if not match:
        return None
    position = well_position(match.group("well"))
    if position is None:
        return None
    row, column = position
    return PlateFile(name, well_name(row, column), row, column, int(match.group("site") or 1),
                     int(match.group("channel") or 1), int(match.group("z") or 1), int(match.group("t") or 1))
