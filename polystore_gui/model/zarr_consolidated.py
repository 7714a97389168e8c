"""Consolidated zarr metadata: read for a quick listing, written again when a member arrives.

``zarr.consolidate_metadata`` gathers the metadata of every node below a group into one
document — v2: ``.zmetadata`` beside the group's ``.zgroup``; v3: ``consolidated_metadata``
inside the group's ``zarr.json`` — and ``zarr.open_group`` then trusts that document
alone. A member placed afterwards is invisible to zarr-python until the document is
written again, so every copy into a group ends with :func:`refresh` (zarr's own
``consolidate_metadata`` on each group at or above the destination that holds one).

For listing, one document gives a group's members with their kinds and shapes without a
read per member. It is used only while it is *fresh*: the zarr nodes on disk directly
under the group (hidden folders aside) must be exactly the members it names (a member
copied in, or deleted, since it was written makes it stale, and the listing reads each
member's own metadata instead).
An array resized in place since the document was written is not detected: zarr-python,
which reads the same document, shows the same stale shape.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .warning_state import changed_warnings
from .zarr_nodes import (
    V2_ARRAY, V2_ATTRS, V2_GROUP, V3_META, CorruptMetadataError, ZarrNodeMeta, _load_json, node_from_v2, node_from_v3,
    read_node,
)

V2_CONSOLIDATED = ".zmetadata"


@dataclass(frozen=True, slots=True)
class Consolidated:
    """One consolidated document: who holds it and the nodes it describes.

    ``nodes`` maps a path relative to ``holder`` ("A", "A/1/0") to that node's metadata,
    as the document says it (its ``path`` is the node's folder on disk).
    """

    holder: str  # the group whose metadata holds the document
    document: str  # the file it is in (.zmetadata, or the holder's zarr.json)
    zarr_format: int
    nodes: Mapping[str, ZarrNodeMeta]

    def members_of(self, group: str) -> dict[str, ZarrNodeMeta]:
        """The members directly under ``group`` (the holder or a group below it), by name."""
        rel = os.path.relpath(os.path.abspath(group), self.holder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out: dict[str, ZarrNodeMeta] = {}
        for key, meta in self.nodes.items():
            if key.startswith(prefix) and key != prefix.rstrip("/"):
                name = key[len(prefix):]
                if name and "/" not in name:
                    out[name] = meta
        return out


_DOCUMENTS: dict[str, tuple[tuple[int, int], Any]] = {}  # path -> ((mtime_ns, size), parsed document)
_DOCUMENTS_KEPT = 64


def _document(path: str) -> Any:
    """A zarr.json or .zmetadata, parsed; the last few are kept while their file is unchanged
    (a plate's consolidated root document is read for every group listed under it)."""
    st = os.stat(path)
    key = (st.st_mtime_ns, st.st_size)
    cached = _DOCUMENTS.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    doc = _load_json(path)
    if len(_DOCUMENTS) >= _DOCUMENTS_KEPT:
        _DOCUMENTS.clear()
    _DOCUMENTS[path] = (key, doc)
    return doc


def _node_state(directory: str) -> str | None:
    """"consolidated" (a group holding a document), "node" (any other zarr node) or None."""
    if os.path.isfile(os.path.join(directory, V2_GROUP)):
        return "consolidated" if os.path.isfile(os.path.join(directory, V2_CONSOLIDATED)) else "node"
    if os.path.isfile(os.path.join(directory, V2_ARRAY)):
        return "node"
    v3 = os.path.join(directory, V3_META)
    if not os.path.isfile(v3):
        return None
    try:
        doc = _document(v3)
    except (CorruptMetadataError, OSError):
        return "node"
    if (isinstance(doc, dict) and doc.get("node_type") == "group"
            and isinstance(doc.get("consolidated_metadata"), dict)):
        return "consolidated"
    return "node"


def holders(path: str) -> list[str]:
    """The groups at or above ``path``, within its zarr hierarchy, that hold consolidated
    metadata covering it; the nearest first."""
    found: list[str] = []
    current = os.path.abspath(path)
    while True:
        state = _node_state(current)
        if state is None:
            return found  # above the hierarchy's root
        if state == "consolidated":
            found.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            return found
        current = parent


def read(holder: str) -> Consolidated | None:
    """The consolidated document of the group ``holder``; None when it has none or when the
    document is not one this reader understands (callers then read each node's own file)."""
    try:
        v2 = os.path.join(holder, V2_CONSOLIDATED)
        if os.path.isfile(v2) and os.path.isfile(os.path.join(holder, V2_GROUP)):
            return _read_v2(holder, v2)
        v3 = os.path.join(holder, V3_META)
        if os.path.isfile(v3):
            return _read_v3(holder, v3)
    except (CorruptMetadataError, OSError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def nearest(group: str) -> Consolidated | None:
    """The nearest consolidated document covering ``group`` (its own or an ancestor's)."""
    for holder in holders(group):
        doc = read(holder)
        if doc is not None:
            return doc
    return None


def differences(group: str, listed: Iterable[str], folders_on_disk: Iterable[str]) -> tuple[list[str], list[str]]:
    """(members on disk the document lacks, members it names that are gone from disk).

    Hidden folders are never members here (the temporaries of copies under way); a folder
    the document lacks counts only when it is a zarr node (a stray folder is no member for
    zarr either), which costs a look at the few folders the document does not name.
    """
    names = set(listed)
    on_disk = {name for name in folders_on_disk if not name.startswith(".")}
    not_listed = sorted(n for n in on_disk - names if _node_state(os.path.join(group, n)) is not None)
    return not_listed, sorted(names - on_disk)


def fresh_members(group: str, folders_on_disk: Iterable[str]) -> dict[str, ZarrNodeMeta] | None:
    """The members of ``group`` from the nearest consolidated document, when it is fresh (it
    names exactly the members among ``folders_on_disk``, the folders directly under the
    group). None when there is no document or it is stale."""
    doc = nearest(group)
    if doc is None:
        return None
    members = doc.members_of(group)
    not_listed, not_on_disk = differences(group, members, folders_on_disk)
    return None if not_listed or not_on_disk else members


def _folders(group: str) -> set[str]:
    try:
        with os.scandir(group) as it:
            return {e.name for e in it if e.is_dir()}
    except OSError:
        return set()


def is_fresh(group: str) -> bool | None:
    """Whether the document covering ``group`` names exactly its members on disk; None: no document."""
    found = summary(group)
    return None if found is None else bool(found["fresh"])


def summary(group: str) -> dict[str, Any] | None:
    """What ``info`` says of a group's consolidated metadata (JSON-ready); None: it has none.

    ``holder`` and ``document`` say where it is (the group's own, or an ancestor's),
    ``fresh`` whether it names exactly the members on disk, ``not_listed`` the members on
    disk that it lacks, ``not_on_disk`` those it names that are gone, and ``members`` what
    it says of each member (kind, and shape and dtype for arrays).
    """
    doc = nearest(group)
    if doc is None:
        return None
    listed = doc.members_of(group)
    members: dict[str, Any] = {}
    for name, meta in sorted(listed.items()):
        if meta.node_type == "array":
            members[name] = {"kind": "array", "shape": list(meta.shape or ()), "dtype": meta.dtype}
        else:
            members[name] = {"kind": "group"}
    not_listed, not_on_disk = differences(group, listed, _folders(group))
    return {
        "holder": doc.holder,
        "document": doc.document,
        "zarr_format": doc.zarr_format,
        "fresh": not not_listed and not not_on_disk,
        "not_listed": not_listed,
        "not_on_disk": not_on_disk,
        "members": members,
    }


def refresh(path: str, *, leave_out: str | None = None) -> list[str]:
    """Write the consolidated metadata again (zarr's ``consolidate_metadata``) for every group
    at or above ``path`` that holds some, nearest first; returns those groups.

    ``leave_out``: nodes with a path component containing this text are taken out of the
    documents afterwards — the hidden temporaries of copies still under way (zarr lists
    hidden folders as members; one that later fails would be listed for ever).
    """
    found = holders(path)
    if not found:
        return []  # zarr's import (0.2-0.5 s) only where a document is to be written
    import zarr
    from zarr.errors import ZarrUserWarning

    done: list[str] = []
    for holder in found:
        meta = read_node(holder)
        fmt = meta.zarr_format if meta is not None else None
        with changed_warnings():  # on a worker: one such block at a time (model/warning_state)
            # zarr warns that consolidated metadata is not part of the v3 specification yet.
            warnings.simplefilter("ignore", ZarrUserWarning)
            zarr.consolidate_metadata(holder, zarr_format=fmt)  # type: ignore[arg-type]
        if leave_out:
            _leave_out(holder, leave_out)
        done.append(holder)
    return done


def _leave_out(holder: str, text: str) -> None:
    """Take the nodes whose path has a component containing ``text`` out of ``holder``'s
    document (written aside and renamed over it, so a reader never sees half a file)."""
    v2 = os.path.join(holder, V2_CONSOLIDATED)
    if os.path.isfile(v2):
        document, doc = v2, _load_json(v2)
        entries = doc.get("metadata") if isinstance(doc, dict) else None
    else:
        document = os.path.join(holder, V3_META)
        doc = _load_json(document)
        consolidated = doc.get("consolidated_metadata") if isinstance(doc, dict) else None
        entries = consolidated.get("metadata") if isinstance(consolidated, dict) else None
    if not isinstance(entries, dict):
        return
    doomed = [key for key in entries if any(text in part for part in str(key).split("/"))]
    if not doomed:
        return
    for key in doomed:
        del entries[key]
    staged = f"{document}.{os.getpid()}.tmp"
    with open(staged, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
    os.replace(staged, document)


# -- the two document layouts -------------------------------------------------------------------


def _read_v2(holder: str, document: str) -> Consolidated | None:
    doc = _document(document)
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(metadata, dict):
        return None
    mtime = os.stat(document).st_mtime
    nodes: dict[str, ZarrNodeMeta] = {}
    for key, value in metadata.items():
        rel, _, leaf = str(key).rpartition("/")
        if not rel or leaf not in (V2_ARRAY, V2_GROUP) or not isinstance(value, dict):
            continue  # the holder's own files, and .zattrs (read with their node below)
        attrs = metadata.get(f"{rel}/{V2_ATTRS}") or {}
        if not isinstance(attrs, dict):
            return None
        path = os.path.join(holder, *rel.split("/"))
        array_doc, group_doc = (value, None) if leaf == V2_ARRAY else (None, value)
        nodes[rel] = node_from_v2(path, array_doc, group_doc, attrs, mtime=mtime, parse_with_zarr=False)
    return Consolidated(holder, document, 2, nodes)


def _read_v3(holder: str, document: str) -> Consolidated | None:
    doc = _document(document)
    if not isinstance(doc, dict) or doc.get("node_type") != "group":
        return None
    consolidated = doc.get("consolidated_metadata")
    if not isinstance(consolidated, dict) or not isinstance(consolidated.get("metadata"), dict):
        return None
    mtime = os.stat(document).st_mtime
    nodes: dict[str, ZarrNodeMeta] = {}
    for key, value in consolidated["metadata"].items():
        if not isinstance(value, dict):
            return None
        rel = str(key).strip("/")
        path = os.path.join(holder, *rel.split("/"))
        nodes[rel] = node_from_v3(path, {"zarr_format": 3, **value}, mtime=mtime, parse_with_zarr=False)
    return Consolidated(holder, document, 3, nodes)
