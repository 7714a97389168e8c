"""Plates for tests and benchmarks, written by the other tools' own writers.

OME-Zarr HCS plates by ome-zarr-py (``write_plate_metadata``, ``write_well_metadata``,
``write_image``; ``FormatV04`` writes zarr v2 / NGFF 0.4, ``FormatV05`` zarr v3 / 0.5:
ome-zarr 0.18 takes the version from ``fmt``, default 0.5), polystore plates by polystore's
``save_batch`` (as OpenHCS writes them), TIFF plates by tifffile.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np


def _writer():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ome-zarr 0.18's own Scaler default
        from ome_zarr import writer

    return writer


def write_ome_plate(path: Path, *, version: str = "0.5", rows: str = "AB", columns: int = 3,
                    wells: list[str] | None = None, fields: int = 2, levels: int = 3, edge: int = 64,
                    field_count: int | None = None, acquisitions: bool = True) -> Path:
    """An OME-Zarr HCS plate: ``wells`` as ``A/1`` (default: every row × column); each field
    a ``c, y, x`` image (2 channels) with ``levels`` resolution levels."""
    import zarr
    from ome_zarr.format import FormatV04, FormatV05

    writer = _writer()
    fmt = FormatV05() if version == "0.5" else FormatV04()
    row_names = list(rows)
    column_names = [str(c + 1) for c in range(columns)]
    wells = wells if wells is not None else [f"{r}/{c}" for r in row_names for c in column_names]
    root = zarr.open_group(str(path), mode="w", zarr_format=fmt.zarr_format)
    writer.write_plate_metadata(
        root, row_names, column_names, wells, fmt=fmt,
        acquisitions=[{"id": 0, "name": "first run", "maximumfieldcount": fields}] if acquisitions else None,
        field_count=field_count if field_count is not None else fields, name="test plate",
    )
    rng = np.random.default_rng(len(wells))
    scale_factors = tuple(2 ** (i + 1) for i in range(levels - 1))
    for n, well in enumerate(wells):
        row, column = well.split("/")
        group = root.require_group(row).require_group(column)
        writer.write_well_metadata(
            group, [{"path": str(f), "acquisition": 0} if acquisitions else str(f) for f in range(fields)], fmt=fmt)
        for f in range(fields):
            image = (rng.integers(0, 200, (2, edge, edge)) + 100 * n).astype(np.uint16)
            image[:, edge // 4:edge // 2, edge // 4:edge // 2] = 4000  # a bright square: something to see
            writer.write_image(image, group.require_group(str(f)), scale_factors=scale_factors or None,
                               axes="cyx", fmt=fmt)
    return path


def rewrite_field(plate: Path, well: str, image: np.ndarray, levels: int, version: str = "0.5") -> None:
    """Field 0 of ``well`` (``A/1``) written again by ome-zarr-py with this ``c, y, x`` image
    and level count: a well laid out otherwise than the plate's others."""
    import shutil

    import zarr
    from ome_zarr.format import FormatV04, FormatV05

    fmt = FormatV05() if version == "0.5" else FormatV04()
    field = plate / well / "0"
    shutil.rmtree(field)
    group = zarr.open_group(str(field), mode="w", zarr_format=fmt.zarr_format)
    _writer().write_image(image, group, scale_factors=tuple(2 ** (i + 1) for i in range(levels - 1)),
                          axes="cyx", fmt=fmt)


def write_polystore_plate(folder: Path, *, wells: tuple[tuple[str, str], ...] = (("A", "01"), ("A", "03"), ("C", "02")),
                          edge: int = 64, document: str = "polystore_metadata.json") -> Path:
    """A plate folder as OpenHCS leaves it: polystore's ``save_batch`` zarr plate under
    ``images`` and polystore's metadata document beside it. Returns the folder."""
    from polystore.backend_registry import get_backend_instance
    from polystore.zarr_batch import ZarrBatchAxis, ZarrBatchLayout

    backend = get_backend_instance("zarr")
    coords = tuple((c, z) for c in range(2) for z in range(2))
    layout = ZarrBatchLayout(
        axes=(ZarrBatchAxis("c", ("1", "2")), ZarrBatchAxis("z", ("1", "2"))), item_coordinates=coords,
    )
    rng = np.random.default_rng(5)
    for row, column in wells:
        images = [(rng.integers(0, 300, (edge, edge)) + 1000 * c).astype(np.uint16) for c, _ in coords]
        paths = [str(folder / "images" / f"{row}{column}_c{c + 1}_z{z + 1}.tif") for c, z in coords]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            backend.save_batch(images, paths, chunk_name=f"{row}{column}", batch_layout=layout, row=row, col=column)
    doc = {"subdirectories": {"images": {
        "main": True, "available_backends": {"zarr": True},
        "wells": {f"{r}{c}": {"condition": f"dose {i}"} for i, (r, c) in enumerate(wells)},
    }}}
    (folder / document).write_text(json.dumps(doc))
    return folder


def write_tiff_plate(folder: Path, names: list[str], edge: int = 32) -> Path:
    """A folder of plate TIFFs with these names (tifffile)."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        tifffile.imwrite(folder / name, (np.arange(edge * edge, dtype=np.uint16).reshape(edge, edge) + i))
    return folder


def write_workspace_plate(folder: Path, wells: tuple[str, ...] = ("A01", "B02")) -> Path:
    """A plate folder of TIFFs whose polystore document maps a virtual workspace
    (``workspace/<name>`` -> the TIFF on disk), as OpenHCS writes one."""
    import tifffile

    (folder / "images").mkdir(parents=True)
    mapping = {}
    for i, well in enumerate(wells):
        name = f"{well}_s1_w1.tif"
        tifffile.imwrite(folder / "images" / name, np.full((8, 8), i + 1, np.uint16))
        mapping[f"workspace/{name}"] = {"backend": "disk", "backend_address": f"images/{name}",
                                        "source_axis_indices": []}
    doc = {"subdirectories": {"images": {"main": True, "available_backends": {"disk": True},
                                         "workspace_mapping": mapping}}}
    (folder / "polystore_metadata.json").write_text(json.dumps(doc))
    return folder
