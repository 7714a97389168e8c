"""The built-in demo workspace: a small but representative set of things to browse.

Made once in the user's data folder (platformdirs) and reused; ``polystore-gui demo``
makes it again. Built in a temporary sibling folder and renamed into place, so an
interrupted build never leaves a half-made workspace behind.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .warning_state import changed_warnings

DEMO_VERSION = "6"  # 6: README.txt says what each item is for
_MARKER = ".polystore-gui-demo"


def default_demo_dir() -> Path:
    import platformdirs

    override = os.environ.get("POLYSTORE_GUI_DEMO_DIR")
    if override:
        return Path(override)
    return platformdirs.user_data_path("polystore-gui") / "demo"


def is_demo(directory: Path) -> bool:
    marker = directory / _MARKER
    try:
        return marker.read_text().strip() == DEMO_VERSION
    except OSError:
        return False


def ensure_demo(directory: Path | None = None) -> Path:
    """The demo workspace at ``directory`` (default: the user's data folder), made if missing."""
    directory = Path(directory) if directory is not None else default_demo_dir()
    if is_demo(directory):
        return directory
    return make_demo(directory)


def make_demo(directory: Path | None = None) -> Path:
    """(Re)create the demo workspace at ``directory``; returns it."""
    directory = Path(directory) if directory is not None else default_demo_dir()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=directory.parent))
    try:
        _write_demo(staging)
        (staging / _MARKER).write_text(DEMO_VERSION)
        if directory.exists():
            old = directory.with_name(directory.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


# -- synthetic data ---------------------------------------------------------------------------


def _cells(shape: tuple[int, int], n: int, rng: np.random.Generator, radius: float = 9.0) -> np.ndarray:
    """A field of bright round 'nuclei' on a dim noisy background, as float32 in [0, 1]."""
    h, w = shape
    image = np.zeros(shape, np.float32)
    ys = rng.uniform(0, h, n)
    xs = rng.uniform(0, w, n)
    rs = rng.uniform(0.6, 1.4, n) * radius
    r = int(radius * 3)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    for y, x, rad in zip(ys, xs, rs):
        blob = np.exp(-(yy * yy + xx * xx) / (2 * rad * rad))
        y0, x0 = int(y) - r, int(x) - r
        ya, xa = max(y0, 0), max(x0, 0)
        yb, xb = min(y0 + 2 * r + 1, h), min(x0 + 2 * r + 1, w)
        image[ya:yb, xa:xb] += blob[ya - y0 : yb - y0, xa - x0 : xb - x0]
    image = image / max(float(image.max()), 1e-6)
    image += rng.normal(0.05, 0.02, shape).astype(np.float32)
    return np.clip(image, 0, 1)


def _stack(planes: int, shape: tuple[int, int], seed: int, dtype: Any = np.uint16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = _cells(shape, max(8, shape[0] * shape[1] // 2500), rng)
    out = np.empty((planes, *shape), dtype)
    scale = np.iinfo(dtype).max * 0.8 if np.issubdtype(dtype, np.integer) else 1.0
    for i in range(planes):
        focus = 1.0 - abs(i - planes / 2) / planes  # brightest in the middle, like a z-stack
        plane = np.roll(base, (i * 3, i * 2), axis=(0, 1)) * focus
        out[i] = (plane * scale).astype(dtype)
    return out


# -- the workspace ----------------------------------------------------------------------------


# What each item of the demo is for (the workspace's README.txt; a test checks that every
# item has its line and that the plate to open is named by its folder).
_README = """\
polystore-gui demo workspace: select an item in the tree to see it; each is here to try
one part of the browser.

THE PLATE TO OPEN: stores/polystore_plate/images (select it for the plate view).

images/                         files the preview reads through tifffile and Pillow
  z_stack.tif                   24 planes, 16-bit: the plane slider, contrast, exact statistics
  tiled_timelapse.ome.tif       an OME-TIFF time-lapse (T 10 x 512 x 512) stored in 128 px tiles
  cells.png                     a plain 8-bit picture
tables/                         files that are not images
  features.npy                  a float32 numpy array (16 x 128 x 128): float statistics
  measurements.csv              a CSV table, previewed as a table
  experiment.json               metadata, previewed as text
stores/experiment.zarr          a zarr v3 store (the chunk inspector, Ctrl+K, on its arrays)
  plain                         16 x 512 x 512 in 256 px chunks: one chunk per plane quarter
  sharded                       4 x 1024 x 1024, sharded, with chunks never written: missing in the map
  image                         an OME-Zarr 0.5 image (2 channels, 8 z, 3 levels) with nuclei labels
stores/polystore_flat/images    a zarr store polystore's zarr backend wrote image by image
                                (its rows are the TIFF names polystore knows the arrays by)
stores/polystore_plate/images   an HCS plate (wells A01, A02, B01; 2 channels x 4 z) written by
                                polystore's save_batch, as OpenHCS pipelines write them
  images.metadata.lock          (beside it) polystore's 0-byte lock file: hidden, as dot-files
                                are, unless View > Show Hidden Files

memory: /demo holds two arrays in this process's memory backend (gone when the app quits).
"""


def _write_demo(root: Path) -> None:
    import tifffile
    from PIL import Image

    rng = np.random.default_rng(7)
    images = root / "images"
    images.mkdir()
    tifffile.imwrite(images / "z_stack.tif", _stack(24, (256, 256), 1), photometric="minisblack")
    tifffile.imwrite(
        images / "tiled_timelapse.ome.tif",
        _stack(10, (512, 512), 2),
        tile=(128, 128),
        metadata={"axes": "TYX"},
        photometric="minisblack",
    )
    cells = (_cells((256, 256), 60, rng) * 255).astype(np.uint8)
    Image.fromarray(cells).save(images / "cells.png")
    tables = root / "tables"
    tables.mkdir()
    np.save(tables / "features.npy", rng.normal(size=(16, 128, 128)).astype(np.float32))
    with open(tables / "measurements.csv", "w") as fh:
        fh.write("well,site,cell_count,mean_intensity\n")
        for row in "ABCD":
            for col in range(1, 7):
                fh.write(f"{row}{col:02d},1,{rng.integers(50, 400)},{rng.uniform(100, 2000):.1f}\n")
    (tables / "experiment.json").write_text(
        json.dumps(
            {
                "plate": "demo-plate-001",
                "microscope": "synthetic",
                "channels": [{"name": "DAPI", "wavelength_nm": 461}, {"name": "GFP", "wavelength_nm": 509}],
                "wells": [f"{r}{c:02d}" for r in "ABCD" for c in range(1, 7)],
            },
            indent=2,
        )
    )
    (root / "README.txt").write_text(_README)
    stores = root / "stores"
    stores.mkdir()
    _write_experiment_store(stores / "experiment.zarr", rng)
    _write_polystore_flat(stores / "polystore_flat")
    _write_polystore_plate(stores / "polystore_plate")


def _write_experiment_store(path: Path, rng: np.random.Generator) -> None:
    import zarr

    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    root.attrs["description"] = "polystore-gui demo store"
    plain = root.create_array("plain", shape=(16, 512, 512), chunks=(1, 256, 256), dtype="uint16")
    plain[:] = _stack(16, (512, 512), 3)
    sharded = root.create_array(
        "sharded",
        shape=(4, 1024, 1024),
        shards=(1, 512, 512),
        chunks=(1, 128, 128),
        dtype="uint16",
        fill_value=0,
    )
    data = _stack(4, (1024, 1024), 4)
    # Leave some chunks never written: a whole shard, and a checkerboard of inner chunks.
    sharded[0] = data[0]
    sharded[1, :512, :] = data[1, :512, :]
    for i in range(0, 1024, 128):
        for j in range(0, 1024, 128):
            if (i // 128 + j // 128) % 2 == 0:
                sharded[2, i : i + 128, j : j + 128] = data[2, i : i + 128, j : j + 128]
    _write_ome_image(root, "image", rng)


def _write_ome_image(parent: Any, name: str, rng: np.random.Generator) -> None:
    """An OME-NGFF 0.5 image: 2 channels x 8 z x 512 x 512, three levels, with a labels image."""
    group = parent.create_group(name)
    levels = 3
    nuclei = _stack(8, (512, 512), 5)
    membrane = _stack(8, (512, 512), 6)
    datasets = []
    for level in range(levels):
        f = 2**level
        arr = group.create_array(
            str(level),
            shape=(2, 8, 512 // f, 512 // f),
            chunks=(1, 1, 256, 256),
            dtype="uint16",
            dimension_names=["c", "z", "y", "x"],
        )
        arr[0] = nuclei[:, ::f, ::f]
        arr[1] = membrane[:, ::f, ::f]
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [{"type": "scale", "scale": [1.0, 2.0, 0.325 * f, 0.325 * f]}],
            }
        )
    axes = [
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]
    group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [{"name": name, "axes": axes, "datasets": datasets}],
        "omero": {
            "channels": [
                {"label": "nuclei", "color": "0000FF", "window": {"start": 0, "end": 52000, "min": 0, "max": 65535}},
                {"label": "membrane", "color": "00FF00", "window": {"start": 0, "end": 52000, "min": 0, "max": 65535}},
            ]
        },
    }
    labels = group.create_group("labels")
    labels.attrs["ome"] = {"version": "0.5", "labels": ["nuclei"]}
    label_group = labels.create_group("nuclei")
    label_datasets = []
    mask = _label_objects(nuclei > np.percentile(nuclei, 85))
    for level in range(levels):
        f = 2**level
        arr = label_group.create_array(
            str(level), shape=(1, 8, 512 // f, 512 // f), chunks=(1, 1, 256, 256), dtype="uint32",
            dimension_names=["c", "z", "y", "x"],
        )
        arr[0] = mask[:, ::f, ::f]
        label_datasets.append(
            {"path": str(level), "coordinateTransformations": [{"type": "scale", "scale": [1.0, 2.0, 0.325 * f, 0.325 * f]}]}
        )
    label_group.attrs["ome"] = {
        "version": "0.5",
        "multiscales": [{"name": "nuclei", "axes": axes, "datasets": label_datasets}],
        "image-label": {"source": {"image": "../../"}},
    }


def _label_objects(mask: np.ndarray) -> np.ndarray:
    """Number each connected object of a boolean (z, y, x) mask, plane by plane."""
    from scipy import ndimage

    out = np.zeros(mask.shape, np.uint32)
    offset = 0
    for z in range(mask.shape[0]):
        labelled, count = ndimage.label(mask[z])
        out[z] = np.where(labelled > 0, labelled + offset, 0)
        offset += count
    return out


def _write_polystore_flat(path: Path) -> None:
    """Images saved one by one through polystore's zarr backend (one array per image)."""
    from polystore.backend_registry import get_backend_instance

    backend = get_backend_instance("zarr")
    for well, seed in (("A01", 11), ("A02", 12), ("B01", 13)):
        for site in (1, 2):
            image = _stack(1, (256, 256), seed * 10 + site)[0]
            backend.save(image, str(path / "images" / f"{well}_s{site}_w1.tif"))


_CHATTY = ("polystore", "ome_zarr")


class _ThisThreadQuiet(logging.Filter):
    """Drops the notes (below WARNING) one thread logs; other threads' records pass."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.thread != self.thread


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Silence polystore's and ome-zarr's notes from the calling thread while the block runs.

    A filter on each of their loggers (a logger's filter sees only what is logged to it
    directly, so every one of theirs gets it): nothing process-wide is swapped, so the
    other threads' output and logging go on as before; warnings and errors still show.
    """
    quiet = _ThisThreadQuiet()
    for module in ("ome_zarr.writer", "ome_zarr.format", "ome_zarr.scale"):  # polystore imports them
        importlib.import_module(module)  # late: their loggers must exist to be quietened
    names = [name for name in list(logging.Logger.manager.loggerDict)
             if name in _CHATTY or name.startswith(tuple(f"{c}." for c in _CHATTY))]
    loggers = [logging.getLogger(name) for name in {*names, *_CHATTY}]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def _write_polystore_plate(path: Path) -> None:
    """An OME-Zarr HCS plate written by polystore's save_batch, as OpenHCS pipelines do.

    Each well's planes become one array (polystore's default: one chunk per well) and
    the saved file names become virtual files listed in the array's attributes.
    """
    from polystore.backend_registry import get_backend_instance
    from polystore.zarr_batch import ZarrBatchAxis, ZarrBatchLayout

    backend = get_backend_instance("zarr")
    coords = tuple((c, z) for c in range(2) for z in range(4))
    layout = ZarrBatchLayout(
        axes=(ZarrBatchAxis("c", ("1", "2")), ZarrBatchAxis("z", ("1", "2", "3", "4"))),
        item_coordinates=coords,
    )
    for row, col, seed in (("A", "01", 31), ("A", "02", 32), ("B", "01", 33)):
        planes = _stack(4, (256, 256), seed)
        images = [planes[z] if c == 0 else planes[3 - z] // 2 for c, z in coords]
        paths = [str(path / "images" / f"{row}{col}_c{c + 1}_z{z + 1}.tif") for c, z in coords]
        # polystore and ome-zarr note every array they write and ome-zarr warns about its own
        # Scaler: quiet for this thread only (never sys.stdout, which every thread shares); the
        # warning filters are the process's: changed one block at a time (model/warning_state).
        with _quiet_libraries(), changed_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            backend.save_batch(images, paths, chunk_name=f"{row}{col}", batch_layout=layout, row=row, col=col)


def populate_memory(prefix: str = "/demo") -> list[str]:
    """Put a couple of arrays into polystore's memory backend; returns their paths."""
    from .listing import memory_backend

    backend = memory_backend()
    if not backend.exists(prefix):
        backend.ensure_directory(prefix)
    saved = []
    rng = np.random.default_rng(3)
    items = {
        f"{prefix}/nuclei_stack.npy": _stack(8, (256, 256), 21),
        f"{prefix}/segmentation.npy": (_cells((256, 256), 40, rng) > 0.5).astype(np.uint8),
    }
    for key, value in items.items():
        if not backend.exists(key):
            backend.save(value, key)
        saved.append(key)
    return saved
