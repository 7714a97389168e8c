"""Conversions to OME-Zarr as items of the Transfers panel (the drop menu's "Convert to
OME-Zarr 0.5"): planned like copies (a taken name is a conflict, asked about with the same
answers), run one after another with progress and cancel, ending in the same outcome a
copy ends in.

The conversion itself is ``model.convert`` (checked, atomic and verified there): an item
only says what goes where. Each source becomes ``NAME.ome.zarr`` in the destination
folder, NAME being the source's name without its image extension.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .address import Address
from .tiff_facts import is_tiff_name
from .transfers import Conflict, Outcome
from .transfers.items import meet_conflict

OME_ZARR_SUFFIX = ".ome.zarr"
_STRIPPED = (".ome.zarr", ".ome.tiff", ".ome.tif", ".zarr", ".tiff", ".tif")

Progress = Callable[[int, int], None]


@dataclass
class ConvertItem:
    """One source to convert into ``destination`` (the new image's own path).

    The fields a copy's ``transfers.Item`` has, so that the panel and the conflict question
    treat both alike; ``verb`` is what the panel says while it runs.
    """

    source: Address
    destination: Address
    version: str = "0.5"
    replace: bool = False  # overwrite an existing destination (once the new image is verified)
    skip_reason: str | None = None
    error: str | None = None
    conflict: bool = False
    total: int = 0
    move: bool = False  # never: a conversion keeps its source
    verb: str = "converting"

    @property
    def runnable(self) -> bool:
        return self.error is None and self.skip_reason is None


def image_name(path: str) -> str:
    """``NAME.ome.zarr`` for the source at ``path`` (its image extension dropped)."""
    base = os.path.basename(path.rstrip("/")) or "image"
    lowered = base.lower()
    for suffix in _STRIPPED:
        if lowered.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return base + OME_ZARR_SUFFIX


def convertible_name(path: str) -> bool:
    """Whether a file dropped from outside the tree is worth offering a conversion (a TIFF)."""
    return is_tiff_name(path)


def _free_name(folder: str, name: str) -> str:
    stem = name[: -len(OME_ZARR_SUFFIX)]
    n = 2
    while os.path.lexists(os.path.join(folder, f"{stem} ({n}){OME_ZARR_SUFFIX}")):
        n += 1
    return f"{stem} ({n}){OME_ZARR_SUFFIX}"


def plan(sources: Sequence[Address], destination: Address, *, version: str = "0.5",
         on_conflict: Conflict = Conflict.FAIL) -> list[ConvertItem]:
    """One item per source into the folder (or zarr group) ``destination``; file-system I/O
    (a worker's). A taken name is a conflict, settled by ``on_conflict`` as for a copy."""
    items: list[ConvertItem] = []
    folder = os.path.abspath(destination.path)
    from .backends import adapter_for

    # A folder or zarr group of this machine (its adapter is local): the image is written
    # beside, as a folder on disk. Memory, a remote store, a sink: refused below.
    local = adapter_for(destination.backend, destination.path).capabilities.local
    backend = "disk" if local else destination.backend
    for source in sources:
        name = image_name(source.path)
        item = ConvertItem(source, Address(backend, os.path.join(folder, name)), version=version)
        if not local:
            item.error = f"an OME-Zarr is written to a folder on disk, not to {destination.backend}"
        elif not os.path.isdir(folder):
            item.error = f"{folder} is not a folder"
        elif os.path.lexists(item.destination.path):
            meet_conflict(item, on_conflict, item.destination.path,
                          lambda: Address(backend, os.path.join(folder, _free_name(folder, name))))
        items.append(item)
    return items


def decide(item: ConvertItem, action: str | None, name: str | None) -> ConvertItem:
    """``item`` once its taken name is answered: None (it was free), "skip", "overwrite",
    "keep both" or "rename" (to ``name``); file-system I/O for "keep both"."""
    if action is None:
        return item
    folder = os.path.dirname(item.destination.path)
    if action == "rename" and name:
        target = os.path.join(folder, name)
        out = ConvertItem(item.source, Address(item.destination.backend, target), version=item.version)
        if os.path.lexists(target):
            out.error = f"{target} already exists"
        return out
    policy = {"skip": Conflict.SKIP, "overwrite": Conflict.OVERWRITE, "keep both": Conflict.RENAME}[action]
    return plan([item.source], Address("disk", folder), version=item.version, on_conflict=policy)[0]


def run(item: ConvertItem, *, cancelled: Callable[[], bool], progress: Progress) -> Outcome:
    """Convert one item (in a worker): ``progress(done, total)`` in source bytes over every
    step (each pass writing levels, level 0 verified in the first); never raises, the
    outcome says."""
    from .cancel import Cancelled as JobCancelled
    from .convert import plan_conversion
    from .convert import convert as run_conversion
    from .whole_array import Cancelled, WholeArrayError

    if item.error is not None:
        return Outcome(item, "failed", message=item.error)  # type: ignore[arg-type]
    if item.skip_reason is not None:
        return Outcome(item, "skipped", message=item.skip_reason)  # type: ignore[arg-type]
    try:
        from .backends import adapter_for
        from .convert_plate import plate_attributes

        if adapter_for(item.source.backend, item.source.path).capabilities.local and \
                plate_attributes(item.source.path) is not None:
            return _run_plate(item, cancelled=cancelled, progress=progress)
        conversion = plan_conversion(item.source.backend, item.source.path, item.destination.path,
                                     version=item.version, overwrite=item.replace)
        import numpy as np

        from .convert import conversion_passes

        nbytes = math.prod(conversion.shape) * np.dtype(conversion.dtype).itemsize
        steps = len(conversion_passes(conversion))  # each pass over the source or a level
        step_names: list[str] = []

        def on_step(label: str, done: int, total: int) -> None:
            if label not in step_names:
                step_names.append(label)
            fraction = (len(step_names) - 1 + (done / total if total else 1.0)) / steps
            progress(int(nbytes * min(1.0, fraction)), nbytes)

        progress(0, nbytes)
        report = run_conversion(conversion, progress=on_step, cancelled=cancelled)
    except (Cancelled, JobCancelled):
        return Outcome(item, "cancelled", message="nothing was written")  # type: ignore[arg-type]
    except (WholeArrayError, OSError, ValueError) as exc:
        return Outcome(item, "failed", message=str(exc) or type(exc).__name__)  # type: ignore[arg-type]
    except Exception as exc:  # a reader's own error (tifffile, zarr): said, never a traceback
        return Outcome(item, "failed", message=f"{type(exc).__name__}: {exc}")  # type: ignore[arg-type]
    levels = report.get("levels", [])
    notes = [f"OME-Zarr {report.get('ome_zarr')}, {len(levels)} level{'s' if len(levels) != 1 else ''}, "
             "level 0 verified equal to the source", *report.get("notes", [])]
    return Outcome(item, "done", nbytes=nbytes, notes=notes)  # type: ignore[arg-type]


def _run_plate(item: ConvertItem, *, cancelled: Callable[[], bool], progress: Progress) -> Outcome:
    """Convert an OME-Zarr plate (model.convert_plate); progress in source bytes, each
    field of view an equal share."""
    from .convert_plate import convert_plate, plate_size

    count, nbytes = plate_size(item.source.path)
    count, total = max(1, count), max(1, nbytes)
    fields: list[str] = []

    def on_step(label: str, done: int, steps: int) -> None:
        field = label.split(" ", 1)[0]
        if field not in fields:
            fields.append(field)
        progress(int(total * min(1.0, (len(fields) - 1) / count)), total)

    progress(0, total)
    report = convert_plate(item.source.path, item.destination.path, version=item.version, overwrite=item.replace,
                           progress=on_step, cancelled=cancelled)
    progress(total, total)
    notes = [f"OME-Zarr {report['ome_zarr']} plate, {report['wells']} wells, {len(report['fields'])} fields, "
             "each level 0 verified equal to the source", *report["notes"]]
    return Outcome(item, "done", nbytes=nbytes, notes=notes)  # type: ignore[arg-type]


__all__ = ["OME_ZARR_SUFFIX", "ConvertItem", "convertible_name", "decide", "image_name", "plan", "run"]
