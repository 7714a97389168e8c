"""Fuzzing the metadata readers: any document as zarr.json, .zarray, .zattrs, .zgroup or OME
attributes gives a result or one of our own errors — never another exception, never a hang.

Documents are random JSON (``st.recursive``), random bytes, deep nesting, huge numbers and
valid documents with parts swapped for values of the wrong type. Each is read the ways the
application reads it: listing (the store's parent and the store), ``info``, the chunk
layout and scan, and opening a preview. Examples are bounded (the whole module ~30 s).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from polystore_gui.model.arrays import inspect
from polystore_gui.model.chunk_layout import ChunkLayoutError, read_layout, resolve_array
from polystore_gui.model.chunks import scan_report
from polystore_gui.model.lazy import NeedsConfirmation, PreviewError, open_preview
from polystore_gui.model.listing import ListingError, describe, entry_for_path, list_children
from polystore_gui.model.zarr_nodes import CorruptMetadataError, read_node

OURS = (CorruptMetadataError, ChunkLayoutError, ListingError, PreviewError, NeedsConfirmation)
SECONDS_PER_EXAMPLE = 10
HANG_SECONDS = 30

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from([0, -1, 1, 2**63, 10**15, "", "..", "/etc", "../x", "uint8", "<u2", "|O", "zarr.json"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

V3_ARRAY = {
    "zarr_format": 3, "node_type": "array", "shape": [4, 6, 6], "data_type": "uint16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 3, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "attributes": {},
}
V3_SHARDED = {
    **V3_ARRAY,
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 6, 6]}},
    "codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [1, 3, 3], "codecs": [{"name": "bytes"}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
        "index_location": "end"}}],
}
V2_ARRAY = {"zarr_format": 2, "shape": [4, 6, 6], "chunks": [1, 3, 3], "dtype": "<u2", "compressor": None,
            "fill_value": 0, "order": "C", "filters": None}
OME_ATTRS = {
    "multiscales": [{"version": "0.4", "axes": [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"},
                                                {"name": "x", "type": "space"}],
                     "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}]}],
    "omero": {"channels": [{"label": "a", "color": "FF0000", "window": {"start": 0, "end": 10}}]},
}
PLATE_ATTRS = {"plate": {"rows": [{"name": "A"}], "columns": [{"name": "1"}], "wells": [{"path": "A/1"}]},
               "well": {"images": [{"path": "0"}]}}


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every path into a document (keys and list positions), for swapping a part."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _swapped(doc: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    copy = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, object]) -> object:
    """A valid document with one to three parts swapped for random JSON."""
    doc: object = base
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        doc = _swapped(doc, draw(st.sampled_from(paths)), draw(json_values))
    return doc


def _deep(depth: int) -> str:
    return '{"zarr_format": 3, "node_type": "group", "attributes": {"a": ' + "[" * depth + "]" * depth + "}}"


raw_documents = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([_deep(150), _deep(250), _deep(5000), "1" * 5000, '{"shape": [' + "9" * 5000 + "]}",
                     "[" * 200_000, '{"zarr_format": 3, "node_type": "array", "shape": [1e400]}', "NaN", "\ufeff{}"]
                    ).map(str.encode),
)


def _as_bytes(doc: object) -> bytes:
    if isinstance(doc, bytes):
        return doc
    return json.dumps(doc, allow_nan=True).encode()


def _exercise(directory: str) -> None:
    """``_read_every_way`` in a daemon thread: a hang fails the example instead of the suite."""
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            _read_every_way(directory)
        except BaseException as exc:  # handed to hypothesis on the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    assert not thread.is_alive(), f"reading the document did not finish within {HANG_SECONDS} s"
    if "error" in box:
        raise box["error"]


def _read_every_way(directory: str) -> None:
    """Read ``directory`` (a store holding the document) every way the application does."""
    started = time.monotonic()
    parent = os.path.dirname(directory)
    for entry in (entry_for_path("disk", parent), entry_for_path("disk", directory), entry_for_path("zarr", directory)):
        try:
            listed = [e for batch in list_children(entry) for e in batch] if entry.expandable else [entry]
            for _ in describe(listed):
                pass
        except ListingError:
            pass
    try:
        read_node(directory)
    except (CorruptMetadataError, OSError):
        pass
    for path in (directory, os.path.join(directory, "0")):
        info = inspect("disk", path)
        assert info.kind in ("array", "group", "file", "directory")
        json.dumps(info.as_json())  # what `info --json` prints
        try:
            layout = read_layout(resolve_array("disk", path)[0])
            report = scan_report(layout)
            json.dumps(report.summary())
        except (*OURS, OSError):
            pass
        try:
            open_preview("disk", path).close()
        except OURS:
            pass
    assert time.monotonic() - started < SECONDS_PER_EXAMPLE, "reading one document took too long"


@pytest.fixture(scope="module")
def scratch():
    top = tempfile.mkdtemp(prefix="polystore-gui-fuzz-")
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _store(scratch: str, files: dict[str, bytes], level: dict[str, bytes] | None = None) -> str:
    directory = tempfile.mkdtemp(dir=scratch, suffix=".zarr")
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(data)
    if level is not None:
        os.mkdir(os.path.join(directory, "0"))
        for name, data in level.items():
            with open(os.path.join(directory, "0", name), "wb") as fh:
                fh.write(data)
    return directory


def _sharded_with(**config):
    """V3_SHARDED with its sharding codec's configuration changed by ``config``."""
    codec = V3_SHARDED["codecs"][0]
    return {**V3_SHARDED, "codecs": [{**codec, "configuration": {**codec["configuration"], **config}}]}


FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])


@FUZZ
@given(doc=st.one_of(json_values, raw_documents, mutated(V3_ARRAY), mutated(V3_SHARDED),
                     mutated({"zarr_format": 3, "node_type": "group", "attributes": OME_ATTRS})))
@example(doc=_sharded_with(index_codecs=[{"name": "bytes", "configuration": 1}]))  # found by hypothesis: a traceback
@example(doc=_sharded_with(index_codecs=1))
@example(doc=_sharded_with(codecs="bytes"))
def test_any_zarr_json(scratch, doc):
    _exercise(_store(scratch, {"zarr.json": _as_bytes(doc)}, level={"zarr.json": _as_bytes(V3_ARRAY)}))


@FUZZ
@given(zarray=st.one_of(json_values, raw_documents, mutated(V2_ARRAY)), zattrs=st.one_of(json_values, raw_documents))
def test_any_zarray_and_zattrs(scratch, zarray, zattrs):
    _exercise(_store(scratch, {".zarray": _as_bytes(zarray), ".zattrs": _as_bytes(zattrs)}))


@FUZZ
@given(zgroup=st.one_of(json_values, raw_documents, st.just({"zarr_format": 2})),
       zattrs=st.one_of(json_values, mutated(OME_ATTRS), mutated(PLATE_ATTRS)))
def test_any_zgroup_and_ome_attributes_v2(scratch, zgroup, zattrs):
    level = {".zarray": _as_bytes(V2_ARRAY)}
    _exercise(_store(scratch, {".zgroup": _as_bytes(zgroup), ".zattrs": _as_bytes(zattrs)}, level=level))


@FUZZ
@given(attrs=st.one_of(mutated(OME_ATTRS), mutated(PLATE_ATTRS), mutated({"ome": {"version": "0.5", **OME_ATTRS}}),
                       json_values))
def test_any_ome_attributes_v3(scratch, attrs):
    doc = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
    _exercise(_store(scratch, {"zarr.json": _as_bytes(doc)}, level={"zarr.json": _as_bytes(V3_ARRAY)}))
