"""Folders of plate TIFFs: the plate their names make, and a field (site) opened as one stack.

A TIFF plate is a folder of files named by well, site, channel and z (``A01_s1_w1.tif``,
polystore's ``A01_s1_c1_z1.tif``, Opera/Operetta ``r01c01f01p01-ch1…``). MetaXpress spreads
a plate over ``TimePoint_N/`` subfolders (and a z-stack over ``ZStep_N/`` inside them): their
files are gathered, the folder giving the time point (or z) the name leaves out. A field is
a site; opened, it is every file of the site stacked as napari expects: channels as
channels, then time and z, each plane read from its file only when shown.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from .plate_names import PlateFile, parse_plate_file, row_name, standard_grid, well_name
from .plate_summary import TIFF_PLATE, FieldSummary, PlateSummary, WellSummary

if TYPE_CHECKING:
    from .preview_types import Preview

log = logging.getLogger(__name__)

MAX_TIFF_SCAN = 200_000  # entries of a folder looked at for plate TIFF names
# Every selected folder is asked whether it is a plate: one whose first entries hold no
# plate TIFF is not read further (a million-entry folder costs a thousand entries).
GIVE_UP_AFTER = 1_000
# MetaXpress's subfolders: the time point or z step of every file in them.
_STEP_FOLDER = re.compile(r"^(?P<what>TimePoint|ZStep)_(?P<n>\d+)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True, slots=True)
class _Scan:
    """One folder's TIFF names (relative to the plate folder) and its step subfolders."""

    names: list[str]
    tiffs: int
    truncated: bool
    steps: list[tuple[str, int, str]]  # ("timepoint" | "zstep", n, subfolder name)


def _scan(folder: str, prefix: str = "") -> _Scan | None:
    names: list[str] = []
    steps: list[tuple[str, int, str]] = []
    tiffs = 0
    truncated = False
    with os.scandir(folder) as it:
        for n, entry in enumerate(it):
            if n >= MAX_TIFF_SCAN:
                truncated = True
                break
            if n == GIVE_UP_AFTER and not steps and not any(parse_plate_file(name) for name in names[:200]):
                return None  # a large folder that starts with no plate TIFF: not scanned to its end
            step = _STEP_FOLDER.match(entry.name)
            if step is not None and entry.is_dir():
                steps.append((step.group("what").lower(), int(step.group("n")), entry.name))
            elif entry.name.lower().endswith((".tif", ".tiff")):
                tiffs += 1
                names.append(prefix + entry.name)
    return _Scan(names, tiffs, truncated, sorted(steps))


def _parsed(path: str, sub: str = "", steps: dict[str, int] | None = None) -> tuple[list[PlateFile], int, bool] | None:
    """The plate files of the folder and of its TimePoint_N / ZStep_N subfolders (each kind
    once: ``TimePoint_1/ZStep_2``), their TIFF count, and whether a folder was too large to
    look at whole. A step folder's number replaces the time point or z the name gives."""
    steps = steps or {}
    scan = _scan(os.path.join(path, sub) if sub else path, sub + "/" if sub else "")
    if scan is None:
        return None
    files = []
    for name in scan.names:
        parsed = parse_plate_file(os.path.basename(name))
        if parsed is not None:
            files.append(dataclasses.replace(parsed, name=name, t=steps.get("t", parsed.t), z=steps.get("z", parsed.z)))
    tiffs, truncated = scan.tiffs, scan.truncated
    for what, n, folder in scan.steps:
        key = "t" if what == "timepoint" else "z"
        if key in steps:
            continue
        inner = _parsed(path, f"{sub}/{folder}" if sub else folder, {**steps, key: n})
        if inner is not None:
            files += inner[0]
            tiffs += inner[1]
            truncated = truncated or inner[2]
    return files, tiffs, truncated


def read_tiff_plate(path: str, *, backend: str = "disk") -> PlateSummary | None:
    """A folder of TIFFs named by well, site, channel and z (directly or in TimePoint_N /
    ZStep_N subfolders); None when its TIFFs are not named so (fewer than two, or most of
    them not)."""
    try:
        found = _parsed(path)
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    if found is None:
        return None
    parsed, tiffs, truncated = found
    if len(parsed) < 2 or len(parsed) * 2 < tiffs:
        return None
    notes = []
    if truncated:
        notes.append(f"only the first {MAX_TIFF_SCAN:,} entries of a folder were looked at")
    if len(parsed) < tiffs:
        notes.append(f"{tiffs - len(parsed)} TIFF files do not name a well: not shown")
    by_well: dict[tuple[int, int], dict[int, list[PlateFile]]] = {}
    for p in parsed:
        by_well.setdefault((p.row, p.column), {}).setdefault(p.site, []).append(p)
    wells = []
    for (r, c), sites in sorted(by_well.items()):
        name = well_name(r, c)
        fields = tuple(
            FieldSummary(
                f"{backend}:{os.path.join(path, files[0].name)}", f"s{site}", None,
                tuple(os.path.join(path, f.name) for f in files),
            )
            for site, files in sorted(sites.items())
            for files in [sorted(files, key=lambda f: (f.t, f.channel, f.z, f.name))]
        )
        channels = sorted({f.channel for files in sites.values() for f in files})
        planes = sorted({f.z for files in sites.values() for f in files})
        times = sorted({f.t for files in sites.values() for f in files})
        attributes = [("channels", ", ".join(map(str, channels))), ("z planes", str(len(planes)))]
        if len(times) > 1:
            attributes.append(("time points", str(len(times))))
        wells.append(WellSummary(name, name, row_name(r), f"{c + 1:02d}", r, c, fields, (), tuple(attributes)))
    n_rows, n_columns = standard_grid(list(by_well))
    counts = Counter(len(w.fields) for w in wells)
    if len(counts) > 1:
        notes.append("wells differ in their number of fields: " + ", ".join(
            f"{n} with {k}" for k, n in sorted(counts.items())))
    return PlateSummary(
        TIFF_PLATE, backend, path, os.path.basename(path), None,
        tuple(row_name(i) for i in range(n_rows)), tuple(f"{i + 1:02d}" for i in range(n_columns)),
        tuple(wells), None, (), tuple(notes), mtime,
    )



# -- a site's files as one image ------------------------------------------------------------------


def _parse_path(path: str) -> PlateFile | None:
    """What a plate TIFF's name says, with the time point or z of the TimePoint_N / ZStep_N
    folders it is in (the two nearest)."""
    parsed = parse_plate_file(os.path.basename(path))
    if parsed is None:
        return None
    folder = os.path.dirname(path)
    for _ in range(2):
        step = _STEP_FOLDER.match(os.path.basename(folder))
        if step is None:
            break
        if step.group("what").lower() == "timepoint":
            parsed = dataclasses.replace(parsed, t=int(step.group("n")))
        else:
            parsed = dataclasses.replace(parsed, z=int(step.group("n")))
        folder = os.path.dirname(folder)
    return parsed


def _read_plane(path: str) -> Any:
    """A plate TIFF's first page (one plane: these files hold one each)."""
    import tifffile

    from .safe_files import open_regular

    with open_regular(path) as fh, tifffile.TiffFile(fh) as tif:
        return tif.pages[0].asarray()


def _read_plane_as(path: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """``_read_plane``, or zeros of the site's plane ``shape`` and ``dtype`` when the file
    cannot be read (removed since, not a TIFF) or holds a plane of another shape or dtype:
    it is read in napari's slicing, where an error is a traceback and a wrong plane breaks
    the stack. Logged."""
    import numpy as np

    try:
        plane = _read_plane(path)
    except Exception as exc:  # any reader's failure is this plane's, never the stack's
        log.warning("plate TIFF %s not read (%s): shown as 0", path, exc)
        return np.zeros(shape, dtype)
    if plane.shape != tuple(shape) or plane.dtype != dtype:
        log.warning("plate TIFF %s holds a %s %s plane, not the site's %s %s: shown as 0",
                    path, plane.shape, plane.dtype, tuple(shape), dtype)
        return np.zeros(shape, dtype)
    return plane


def site_preview(backend: str, path: str, *, files: tuple[str, ...], **_options: Any) -> Preview:
    """A TIFF plate's field (site) ``files`` as one image: (time,) z, y, x per channel, the
    channels as napari channels; each plane is read from its file only when shown. Files
    whose names say no channel, z or time point of this site are left out; a plane that
    differs from the first file's in shape or dtype, or cannot be read when shown, shows
    as 0 (logged). ``path``: the first file
    (the field's address), which a single file is previewed as."""
    import dask.array
    import numpy as np
    from dask.delayed import delayed

    from .arrays import Info
    from .contrast import contrast_samples
    from .preview_types import LayerSpec, Preview
    from .tiff_facts import read_tiff_facts

    parsed = [(f, _parse_path(f)) for f in files]
    known = [(f, p) for f, p in parsed if p is not None]
    if not known:
        raise ValueError("none of the field's files is named as a plate TIFF")
    first = read_tiff_facts(known[0][0])
    if "S" in first.axes or len(first.shape) != 2:
        # RGB(A) samples, or a multi-page file: not one grey plane a file, so not stacked as
        # such (taking the last two axes as the plane showed an RGB site black); the first
        # file is shown as the TIFF it is, and the pane says why.
        import dataclasses

        from .lazy import open_preview

        shown = open_preview(backend, known[0][0], **_options)
        what = "RGB" if "S" in first.axes else f"{first.axes} ({'x'.join(map(str, first.shape))})"
        return dataclasses.replace(shown, notes=(*shown.notes, f"this site's files are {what} images, not single grey "
                                                 f"planes: the first file is shown, not the site's {len(known)} stacked"))
    plane_shape = first.shape[-2:]
    dtype = np.dtype(first.dtype)
    channels = sorted({p.channel for _, p in known})
    times = sorted({p.t for _, p in known})
    zs = sorted({p.z for _, p in known})
    grid: dict[tuple[int, int, int], str] = {}
    notes = []
    for f, p in known:
        grid.setdefault((p.channel, p.t, p.z), f)
    if len(grid) < len(known):
        notes.append(f"{len(known) - len(grid)} files repeat a channel, time point and z of this site: the first shown")
    missing = len(channels) * len(times) * len(zs) - len(grid)
    if missing:
        notes.append(f"{missing} planes of this site have no file: shown as 0")
    delayed_read = delayed(_read_plane_as, pure=True)
    da: Any = dask.array  # untyped

    def plane(c: int, t: int, z: int) -> Any:
        f = grid.get((c, t, z))
        if f is None:
            return da.zeros(plane_shape, dtype)
        return da.from_delayed(delayed_read(f, plane_shape, dtype), plane_shape, dtype)

    stack = da.stack([da.stack([da.stack([plane(c, t, z) for z in zs]) for t in times]) for c in channels])
    axes: tuple[str, ...] = ("c", "t", "z", "y", "x")
    if len(times) == 1:  # a single time point: no slider for it
        stack, axes = stack[:, 0], ("c", "z", "y", "x")
    info = Info(backend, path, "array", shape=tuple(int(s) for s in stack.shape), dtype=str(dtype),
                nbytes=int(stack.nbytes), dimension_names=axes,
                format=f"TIFF plate field: {len(grid)} files ({len(channels)} channels, "
                       f"{len(times)} time points, {len(zs)} z)")
    name = f"{known[0][1].well} s{known[0][1].site}"
    multichannel = len(channels) > 1
    contrasts = contrast_samples([stack], channel_axis=0 if multichannel else None)
    if not multichannel:
        stack, axes = stack[0], axes[1:]
    layer = LayerSpec(
        "image", name, stack, contrast_limits=[c.limits for c in contrasts] if multichannel else contrasts[0].limits,
        channel_axis=0 if multichannel else None,
        channel_names=[f"{name} c{c}" for c in channels] if multichannel else None,
        axis_labels=axes if not multichannel else axes[1:],
        contrast_placeholder=tuple(not c.from_data for c in contrasts),
    )
    return Preview(backend, path, info, (layer,), tuple(notes))
