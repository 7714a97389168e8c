"""Whether a plain folder is a plate, cheaply enough for every folder's row in a listing.

The Kind column of a zarr plate says "plate" from its metadata (read anyway). A polystore
(or OpenHCS) plate folder and a folder of plate TIFFs are plain folders: reading them as
plates (:mod:`.plate_read`) costs a scan of the whole folder, too much for every row. Here:

- a polystore plate folder: its metadata document is there (a ``stat`` or two);
- a TIFF plate folder: among its first :data:`PEEK` entries (and those of a first
  MetaXpress ``TimePoint_N`` / ``ZStep_N`` folder) at least two TIFFs are named by well,
  and most of the TIFFs seen are. A plate whose TIFFs come after many other entries is not
  recognised here (its row says "directory"); selecting it still shows the plate view.
"""

from __future__ import annotations

import os

from .entries import PLATE_FOLDER_SUFFIX
from .plate_names import parse_plate_file

PEEK = 64  # entries of a folder looked at
POLYSTORE_FOLDER = "polystore" + PLATE_FOLDER_SUFFIX  # a folder row's detail (the Kind column)
TIFF_FOLDER = "TIFF" + PLATE_FOLDER_SUFFIX


def plate_folder_kind(path: str) -> str | None:
    """:data:`POLYSTORE_FOLDER` or :data:`TIFF_FOLDER` for a folder that is such a plate;
    None for any other folder (or one that cannot be read)."""
    from .plate_read import POLYSTORE_DOCUMENTS

    if any(os.path.isfile(os.path.join(path, name)) for name in POLYSTORE_DOCUMENTS):
        return POLYSTORE_FOLDER
    return TIFF_FOLDER if _peek_tiffs(path, depth=1) else None


def _peek_tiffs(path: str, *, depth: int) -> bool:
    from .plate_tiff import _STEP_FOLDER

    tiffs = named = 0
    step: str | None = None
    try:
        with os.scandir(path) as it:
            for n, entry in enumerate(it):
                if n >= PEEK:
                    break
                name = entry.name
                if name.lower().endswith((".tif", ".tiff")):
                    tiffs += 1
                    named += parse_plate_file(name) is not None
                elif step is None and depth > 0 and _STEP_FOLDER.match(name) and entry.is_dir():
                    step = entry.path
    except OSError:
        return False
    if named >= 2 and named * 2 >= tiffs:
        return True
    return step is not None and _peek_tiffs(step, depth=depth - 1)
