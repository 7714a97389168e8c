"""What a plate is: frozen facts about its grid, wells, fields and acquisitions.

Read by :mod:`plate_read` from metadata only (never a pixel); shown by ``polystore-gui
plate``, ``info`` and the plate view. Whatever is wrong with a plate is a note, so a bad
plate is still shown for what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OME_PLATE = "ome-plate"
POLYSTORE_PLATE = "polystore-plate"
TIFF_PLATE = "tiff-plate"


@dataclass(frozen=True, slots=True)
class FieldSummary:
    """One field of view (an image) of a well."""

    address: str  # BACKEND:PATH, as the CLI and Open Location take it
    name: str  # its path in the well ("0") or its site ("s1")
    acquisition: int | None = None
    files: tuple[str, ...] = ()  # a TIFF plate's field: every file of this site (channels, z)

    @property
    def backend(self) -> str:
        return self.address.split(":", 1)[0]

    @property
    def path(self) -> str:
        return self.address.split(":", 1)[1]


@dataclass(frozen=True, slots=True)
class WellSummary:
    """One well: where it sits on the grid and its fields."""

    name: str  # as shown: A01
    path: str  # as the plate lists it: A/1 (zarr), A01 (TIFF folder)
    row: str
    column: str
    row_index: int
    column_index: int
    fields: tuple[FieldSummary, ...]
    acquisitions: tuple[int, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()  # per-well attributes / polystore metadata, as text
    notes: tuple[str, ...] = ()

    @property
    def acquisition(self) -> int | None:
        return self.acquisitions[0] if self.acquisitions else None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "row": self.row,
            "column": self.column,
            "fields": [f.address for f in self.fields],
            "acquisition": self.acquisition,
            "acquisitions": list(self.acquisitions),
            "attributes": dict(self.attributes),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Acquisition:
    id: int | None
    name: str | None = None
    maximum_field_count: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "maximumfieldcount": self.maximum_field_count}


@dataclass(frozen=True, slots=True)
class PlateSummary:
    """A plate: its kind, grid (row and column names), wells and what is wrong with it."""

    kind: str  # ome-plate, polystore-plate, tiff-plate
    backend: str
    path: str  # the plate's root (store or folder)
    name: str | None
    version: str | None
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    wells: tuple[WellSummary, ...]
    field_count: int | None  # as the metadata declares it (None when it does not)
    acquisitions: tuple[Acquisition, ...] = ()
    notes: tuple[str, ...] = ()
    metadata_mtime: float | None = None  # of the document the plate was read from (thumbnail cache key)
    workspace: str | None = None  # virtual_workspace:<root> when its polystore document maps a workspace

    @property
    def address(self) -> str:
        return f"{self.backend}:{self.path}"

    @property
    def fields_per_well(self) -> int:
        return max((len(w.fields) for w in self.wells), default=0)

    def well(self, name: str) -> WellSummary | None:
        return next((w for w in self.wells if w.name == name or w.path == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "address": self.address,
            "name": self.name,
            "version": self.version,
            "rows": list(self.rows),
            "columns": list(self.columns),
            "wells": [w.as_json() for w in self.wells],
            "field_count": self.field_count,
            "fields_per_well": self.fields_per_well,
            "acquisitions": [a.as_json() for a in self.acquisitions],
            "notes": list(self.notes),
            "workspace": self.workspace,
        }
