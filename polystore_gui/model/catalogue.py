"""The backend catalogue: polystore's registry, described for people.

The registry itself (``polystore.backend_registry.STORAGE_BACKENDS``) is the only
backend table. This module reads it and says, for each registered class, what it can
do and whether an instance could be had. It never keeps a list of backends of its own.
"""

from __future__ import annotations

import enum
import inspect
import time
from dataclasses import dataclass
from typing import Any


class Capability(str, enum.Enum):
    """What a backend class can do, from its place in polystore's class hierarchy."""

    READ_WRITE = "read-write storage"
    READ_ONLY = "read-only source"
    SINK = "write-only sink"
    NEEDS_CONTEXT = "needs context"


class Status(str, enum.Enum):
    READY = "ready"
    NEEDS_CONTEXT = "needs context"
    ERROR = "error"


# What each context-bound backend needs before polystore can build it. These are the
# backends polystore's own create_storage_registry() leaves out ("require context-specific
# initialization"); the text is for people, the classes still come from the registry.
_CONTEXT_NEEDS: dict[str, tuple[str, str]] = {
    "virtual_workspace": (
        "needs a plate root",
        "A plate folder holding polystore_metadata.json; it maps virtual paths to the files on disk.",
    ),
    "omero_local": (
        "needs an OMERO connection",
        "An OMERO server connection (BlitzGateway, from omero-py) and its data folder.",
    ),
    "bioformats": (
        "needs Bio-Formats plane refs",
        "Bio-Formats plane references (BioFormatsPlaneRef addresses) and a Java runtime to read them.",
    ),
}


# Context-bound backends whose context the browser finds itself: virtual_workspace's plate
# root is the plate folder an address names, so its row lists the plates with a workspace
# met so far (backends/plate.py) and reads as a read-only source saying so.
_CONTEXT_FOUND: dict[str, tuple[str, str]] = {
    "virtual_workspace": (
        "the workspaces of plates you open",
        "Select a plate folder whose polystore_metadata.json (or openhcs_metadata.json) maps a workspace "
        "(workspace_mapping): that plate's workspace is then listed under this row. On the command line, "
        "virtual_workspace:/path/to/plate works at once.",
    ),
}


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """One registered backend class, described."""

    key: str
    class_name: str
    module: str
    capability: Capability
    status: Status
    summary: str
    context: str | None = None
    context_detail: str | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        """The short text shown beside the backend's name in the tree."""
        if self.capability is Capability.NEEDS_CONTEXT:
            what = (self.context or "").removeprefix("needs ")
            return f"needs context: {what}" if what else "needs context"
        if self.status is Status.ERROR:
            return f"{self.capability.value} (unavailable)"
        if self.key in _CONTEXT_FOUND and self.context:
            return f"{self.capability.value}: {self.context}"
        return str(self.capability.value)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "class": f"{self.module}.{self.class_name}",
            "capability": self.capability.value,
            "status": self.status.value,
            "context": self.context,
            "context_detail": self.context_detail,
            "error": self.error,
            "summary": self.summary,
        }


def class_capability(cls: type) -> Capability:
    """Read-write, read-only or sink, from the polystore base classes ``cls`` derives from."""
    from polystore.base import DataSource, ReadOnlyBackend, StorageBackend

    if issubclass(cls, StorageBackend):
        return Capability.READ_WRITE
    if issubclass(cls, ReadOnlyBackend) or issubclass(cls, DataSource):
        return Capability.READ_ONLY
    return Capability.SINK


def _required_parameters(cls: type) -> list[str]:
    try:
        signature = inspect.signature(getattr(cls, "__init__"))
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in list(signature.parameters.values())[1:]
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


@dataclass(frozen=True, slots=True)
class Discovery:
    """The result of one discovery: the descriptions and how long it took."""

    backends: tuple[BackendInfo, ...]
    seconds: float

    def get(self, key: str) -> BackendInfo | None:
        return next((b for b in self.backends if b.key == key), None)

    @property
    def keys(self) -> list[str]:
        return [b.key for b in self.backends]


def discover_backends() -> Discovery:
    """Import every backend module through polystore and describe each registered class.

    Slow (seconds: polystore imports every backend module); call it off the GUI thread.
    Never raises for one backend's failure: that backend is described with its error.
    """
    from polystore.backend_registry import (
        STORAGE_BACKENDS,
        create_storage_registry,
        get_backend_instance,
    )

    started = time.perf_counter()
    registry = create_storage_registry()
    infos: list[BackendInfo] = []
    for key in sorted(STORAGE_BACKENDS.keys()):
        cls = STORAGE_BACKENDS[key]
        base = dict(key=key, class_name=cls.__name__, module=cls.__module__, summary=_summary(cls))
        if key in registry:
            infos.append(BackendInfo(capability=class_capability(cls), status=Status.READY, **base))
            continue
        if key in _CONTEXT_FOUND:
            found, found_detail = _CONTEXT_FOUND[key]
            infos.append(BackendInfo(capability=class_capability(cls), status=Status.READY, context=found,
                                     context_detail=found_detail, **base))
            continue
        required = _required_parameters(cls)
        context, context_detail = _CONTEXT_NEEDS.get(key) or (
            (f"needs {', '.join(required)}", None) if required else (None, None)
        )
        error: str | None = None
        if context is None:
            # Not context-bound, yet polystore could not build it: ask again for the reason.
            try:
                get_backend_instance(key)
            except Exception as exc:  # any constructor failure is reported, not raised
                error = _error_text(exc)
            infos.append(
                BackendInfo(
                    capability=class_capability(cls),
                    status=Status.ERROR if error else Status.READY,
                    error=error,
                    **base,
                )
            )
            continue
        if not required:
            # Context-bound but constructible without arguments: say what is missing anyway.
            try:
                get_backend_instance(key)
            except Exception as exc:
                error = _error_text(exc)
        infos.append(
            BackendInfo(
                capability=Capability.NEEDS_CONTEXT,
                status=Status.NEEDS_CONTEXT,
                context=context,
                context_detail=context_detail,
                error=error,
                **base,
            )
        )
    return Discovery(tuple(infos), time.perf_counter() - started)


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text} ({cause})"
    return text


def close_connections() -> None:
    """Close backend connections, leaving persistent viewer windows open.

    This is polystore's ``cleanup_backend_connections()``: never ``cleanup_all_backends()``,
    which would also tear down a streaming viewer that must outlive the browser.
    """
    from polystore.backend_registry import cleanup_backend_connections

    cleanup_backend_connections()
