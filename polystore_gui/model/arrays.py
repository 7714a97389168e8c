"""What an address holds, as facts: array metadata, OME-NGFF summaries (read by ome_meta), file previews.

``inspect(address)`` answers ``polystore-gui info`` and the metadata panel. It reads
metadata only — never chunk data — so it is as cheap for a 40 GB plate as for a PNG.
Opening data lazily for display lives in ``lazy.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .safe_files import check_regular, open_regular
from .tiff_facts import dimension_names
from . import zarr_consolidated
from .codec_text import codec_json, jsonable
from .ome_meta import OmeChannel, OmeLevel, OmeSummary, ome_summary  # noqa: F401 (names others import from here)
from .zarr_nodes import (
    CorruptMetadataError, VirtualFile, ZarrNodeMeta, _load_json, find_virtual_file, read_node,
)

if TYPE_CHECKING:
    from .folder_node import FolderNode

# What a preview reads into memory without asking, for data with no lazy path (bytes).
DEFAULT_SIZE_LIMIT = 1 << 30

TEXT_PREVIEW_BYTES = 64 * 1024
TABLE_PREVIEW_ROWS = 200


@dataclass(frozen=True, slots=True)
class Info:
    """Everything ``info`` says about one address."""

    backend: str
    path: str
    kind: str  # "array", "group", "file", "directory"
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    chunks: tuple[int, ...] | None = None
    shards: tuple[int, ...] | None = None
    zarr_format: int | None = None
    fill_value: Any = None
    codecs: dict[str, Any] = field(default_factory=dict)
    dimension_names: tuple[str | None, ...] | None = None
    nbytes: int | None = None
    stored_bytes: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    ome: OmeSummary | None = None
    size: int | None = None
    members: dict[str, int] = field(default_factory=dict)
    consolidated: dict[str, Any] | None = None  # groups: zarr_consolidated.summary (None: not consolidated)
    format: str | None = None
    preview: Any = None  # text, or a list of rows for tables
    truncated: bool = False
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend, "path": self.path, "kind": self.kind}
        if self.kind == "array":
            out.update(
                shape=list(self.shape) if self.shape is not None else None,
                dtype=self.dtype,
                chunks=list(self.chunks) if self.chunks is not None else None,
                shards=list(self.shards) if self.shards is not None else None,
                zarr_format=self.zarr_format,
                fill_value=_jsonable(self.fill_value),
                codecs=self.codecs,
                dimension_names=list(self.dimension_names) if self.dimension_names else None,
                nbytes=self.nbytes,
                stored_bytes=self.stored_bytes,
            )
        out["attributes"] = _jsonable(self.attributes)
        if self.ome is not None:
            out["ome"] = self.ome.as_json()
        if self.members:
            out["members"] = self.members
        if self.kind == "group":
            out["consolidated"] = self.consolidated
        for key in ("size", "format", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.preview is not None:
            out["preview"] = self.preview
            out["truncated"] = self.truncated
        return out


_jsonable = jsonable  # the name this module has always used


# -- zarr -------------------------------------------------------------------------------------


_codec_text = codec_json  # the name this module has always used


def opened_array_facts(array: Any, zarr_format: int) -> tuple[dict[str, Any], Any, tuple[str | None, ...] | None]:
    """What zarr says of an opened array beyond its node's metadata: its codecs (as text),
    fill value and dimension names (a local array's info, and a remote one's in remote_zarr)."""
    codecs = {
        "compressors": [_codec_text(c) for c in (array.compressors or ())],
        "filters": [_codec_text(c) for c in (array.filters or ())],
        "serializer": _codec_text(array.serializer) if zarr_format == 3 else None,
    }
    names = getattr(array.metadata, "dimension_names", None)
    return codecs, array.fill_value, tuple(names) if names else None


def zarr_array_info(backend: str, path: str, meta: ZarrNodeMeta) -> Info:
    """Facts about a zarr array from its metadata (zarr is asked only for codec details)."""
    codecs: dict[str, Any] = {}
    fill_value: Any = None
    dimension_names: tuple[str | None, ...] | None = None
    error = None
    try:
        import zarr

        codecs, fill_value, dimension_names = opened_array_facts(zarr.open_array(path, mode="r"), meta.zarr_format)
    except Exception as exc:  # e.g. a codec that is not installed: metadata still shown
        error = f"zarr cannot open this array: {exc}"
        codecs = {"declared": _declared_codecs(path, meta)}
    return Info(
        backend,
        path,
        "array",
        shape=meta.shape,
        dtype=meta.dtype,
        chunks=meta.chunks,
        shards=meta.shards,
        zarr_format=meta.zarr_format,
        fill_value=fill_value,
        codecs=codecs,
        dimension_names=dimension_names,
        nbytes=meta.nbytes,
        attributes=meta.attributes,
        format=f"zarr v{meta.zarr_format}",
        error=error,
    )


def _declared_codecs(path: str, meta: ZarrNodeMeta) -> Any:
    name = "zarr.json" if meta.zarr_format == 3 else ".zarray"
    try:
        doc = _load_json(os.path.join(path, name))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    if meta.zarr_format == 3:
        return doc.get("codecs")
    return {"compressor": doc.get("compressor"), "filters": doc.get("filters")}


# -- entry points -------------------------------------------------------------------------------


def inspect(backend: str, path: str, *, listed: bool = False) -> Info:
    """The facts about ``backend:path``. Never raises for bad data: ``error`` says what is wrong.

    ``listed``: the address comes from a listing (a row of the tree), so a missing one "no
    longer exists"; an address typed by the user "does not exist". The address's adapter
    answers (``model/backends/``).
    """
    from .backends import adapter_for

    return adapter_for(backend, path).info(backend, path, listed=listed)


def local_info(backend: str, path: str, *, listed: bool = False, for_preview: bool = False,
               node: FolderNode | None = None) -> Info:
    """The facts about a local path (disk, or inside a zarr store on this machine).
    ``for_preview``: the facts the preview panel shows, beside its plate lookup: a plate's or
    a well's groups and arrays are not counted (one document a member: a 16-row plate's
    preview read 16 for counts the plate view never shows). ``node``: the folder's node
    document, already read by the selection's job for this preview and its plate lookup
    (``selection_read``: read once for both)."""
    if not os.path.lexists(path):
        return Info(backend, path, "file", error=f"{_missing(listed)}: {path}")
    if os.path.isdir(path):
        try:
            meta = node.read(path) if node is not None else read_node(path)
        except CorruptMetadataError as exc:
            return Info(backend, path, "group", error=str(exc))
        except OSError as exc:
            return Info(backend, path, "directory", error=f"{exc.strerror or exc}: {path}")
        if meta is None:
            return _directory_info(backend, path)
        if meta.node_type == "array":
            return zarr_array_info(backend, path, meta)
        try:
            ome = ome_summary(path, meta)
        except CorruptMetadataError as exc:
            return Info(backend, path, "group", zarr_format=meta.zarr_format, attributes=meta.attributes,
                        format=f"zarr v{meta.zarr_format}", error=str(exc))
        return Info(
            backend,
            path,
            "group",
            zarr_format=meta.zarr_format,
            attributes=meta.attributes,
            ome=ome,
            members={} if for_preview and meta.is_ome_plate_or_well else _zarr_member_counts(path),
            consolidated=zarr_consolidated.summary(path),
            format=f"zarr v{meta.zarr_format}",
        )
    return file_info(backend, path)


def virtual_file_info(backend: str, virtual: VirtualFile) -> Info:
    """One of polystore's virtual files: a plane of a batch-written array."""
    meta = virtual.array
    shape = meta.shape[len(virtual.coordinates):] if meta.shape is not None else None
    chunks = meta.chunks[len(virtual.coordinates):] if meta.chunks is not None else None
    nbytes = None
    if shape is not None and meta.dtype is not None:
        import numpy as np

        nbytes = int(np.prod(shape)) * int(np.dtype(meta.dtype).itemsize)
    return Info(
        backend,
        virtual.path,
        "array",
        shape=shape,
        dtype=meta.dtype,
        chunks=chunks,
        zarr_format=meta.zarr_format,
        nbytes=nbytes,
        attributes={
            "array": meta.path,
            "coordinates": list(virtual.coordinates),
            "array_shape": list(meta.shape) if meta.shape is not None else None,
            "array_chunks": list(meta.chunks) if meta.chunks is not None else None,
        },
        format="polystore virtual file",
    )


def _zarr_member_counts(path: str) -> dict[str, int]:
    counts = {"groups": 0, "arrays": 0}
    try:
        with os.scandir(path) as it:
            for item in it:
                if not _is_dir(item):
                    continue
                try:
                    meta = read_node(item.path)
                except (CorruptMetadataError, OSError):
                    continue
                if meta is not None:
                    counts["arrays" if meta.node_type == "array" else "groups"] += 1
    except OSError:
        pass
    return counts


def _directory_info(backend: str, path: str) -> Info:
    counts = {"folders": 0, "files": 0}
    try:
        with os.scandir(path) as it:
            for item in it:
                counts["folders" if _is_dir(item) else "files"] += 1
    except OSError as exc:
        return Info(backend, path, "directory", error=f"{exc.strerror or exc}: {path}")
    return Info(backend, path, "directory", members=counts)


def _is_dir(item: os.DirEntry[str]) -> bool:
    """A folder, or a link to one; False for a link loop (one bad entry never fails its folder)."""
    try:
        return item.is_dir()
    except OSError:
        return False


def file_info(backend: str, path: str) -> Info:
    """A file: images and NPY as arrays (header only), text, JSON and CSV as capped previews.

    Only a regular file is opened: a FIFO, socket or device gets an error saying what it
    is (opening a FIFO would block for ever); a file that fails to read (permission,
    ``/proc/self/mem``'s I/O error) gets the reason.
    """
    try:
        size = check_regular(path).st_size
    except OSError as exc:
        return Info(backend, path, "file", error=f"{exc.strerror or exc}: {path}")
    lower = path.lower()
    try:
        return _file_info(backend, path, size, lower)
    except OSError as exc:
        return Info(backend, path, "file", size=size, error=f"cannot read {os.path.basename(path)}: "
                    f"{exc.strerror or exc}")


def _file_info(backend: str, path: str, size: int, lower: str) -> Info:
    try:
        if lower.endswith((".tif", ".tiff")):
            return _tiff_info(backend, path, size)
        if lower.endswith(".npy"):
            import numpy as np

            arr = np.load(path, mmap_mode="r")
            return Info(backend, path, "array", shape=tuple(arr.shape), dtype=str(arr.dtype),
                        nbytes=int(arr.nbytes), size=size, stored_bytes=size, format="npy")
        if lower.endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif")):
            from PIL import Image

            with open_regular(path) as fh, Image.open(fh) as im:
                w, h = im.size
                bands = len(im.getbands())
                shape = (h, w) if bands == 1 else (h, w, bands)
                mode = im.mode
            dtype = "uint16" if mode.startswith("I;16") else "uint8"
            return Info(backend, path, "array", shape=shape, dtype=dtype, size=size, stored_bytes=size,
                        format=lower.rsplit(".", 1)[-1], attributes={"mode": mode})
    except Exception as exc:  # not what its name says: report, never raise
        return Info(backend, path, "file", size=size, error=f"cannot read {os.path.basename(path)}: {exc}")
    return _text_info(backend, path, size)


def _tiff_info(backend: str, path: str, size: int) -> Info:
    import tifffile

    with open_regular(path) as fh, tifffile.TiffFile(fh) as tif:
        series = tif.series[0]
        attrs: dict[str, Any] = {"series": len(tif.series), "pages": len(tif.pages), "axes": series.axes}
        if tif.is_ome:
            attrs["ome"] = True
        levels = len(getattr(series, "levels", [series]))
        if levels > 1:
            attrs["levels"] = levels
        page = tif.pages.first
        tile = (page.tilelength, page.tilewidth) if page.is_tiled else None
        return Info(backend, path, "array", shape=tuple(series.shape), dtype=str(series.dtype),
                    chunks=tile, nbytes=int(series.size * series.dtype.itemsize), size=size,
                    stored_bytes=size, attributes=attrs, format="ome-tiff" if tif.is_ome else "tiff",
                    dimension_names=dimension_names(str(series.axes)))  # the names a copy into zarr gets


def _text_info(backend: str, path: str, size: int) -> Info:
    with open_regular(path) as fh:
        raw = fh.read(TEXT_PREVIEW_BYTES + 1)
    truncated = len(raw) > TEXT_PREVIEW_BYTES
    raw = raw[:TEXT_PREVIEW_BYTES]
    if b"\0" in raw:
        return Info(backend, path, "file", size=size, format="binary")
    text = raw.decode("utf-8", "replace")
    lower = path.lower()
    if lower.endswith(".json") and not truncated:
        try:
            return Info(backend, path, "file", size=size, format="json",
                        preview=json.dumps(json.loads(text), indent=2)[:TEXT_PREVIEW_BYTES])
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply for the parser
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
            return Info(backend, path, "file", size=size, format="json", preview=text,
                        error=f"not valid JSON: {reason}")
    if lower.endswith((".csv", ".tsv")):
        dialect = "excel-tab" if lower.endswith(".tsv") else "excel"
        rows = []
        for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
            if i >= TABLE_PREVIEW_ROWS:
                truncated = True
                break
            rows.append(row)
        return Info(backend, path, "file", size=size, format="csv", preview=rows, truncated=truncated)
    return Info(backend, path, "file", size=size, format="text", preview=text, truncated=truncated)


def _missing(listed: bool) -> str:
    return "No longer exists" if listed else "Does not exist"
