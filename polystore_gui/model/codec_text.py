"""How a codec (and any metadata value) is written on one line: one formatter for ``info``,
the metadata panel and the chunk inspector, so a codec reads the same everywhere.

A zarr v3 codec is ``{"name": ..., "configuration": {...}}``, a numcodecs (zarr v2) one
``{"id": ..., options...}``; both print as ``zstd(level=3, checksum=false)`` — JSON's
spelling of values, each capped at ``MAX_TEXT`` characters (metadata may be hostile).
``codec_json`` turns zarr's codec objects into those dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MAX_TEXT = 200  # characters of one scalar value


def codec_text(codec: Any) -> str:
    """``name(key=value, ...)``; the name alone when it has no configuration."""
    if not isinstance(codec, dict):
        return scalar_text(codec)
    if "name" in codec:  # zarr v3: {"name": ..., "configuration": {...}}
        name, config = codec["name"], codec.get("configuration") or {}
    else:  # numcodecs (zarr v2): {"id": ..., options...}
        name, config = codec.get("id", "?"), {k: v for k, v in codec.items() if k != "id"}
    name = scalar_text(name)
    if not isinstance(config, dict) or not config:
        return name
    return f"{name}(" + ", ".join(f"{k}={inline_text(v)}" for k, v in config.items()) + ")"


def pipeline_text(steps: Iterable[Any], *, sep: str = " → ") -> str:
    """Codecs in the order data goes through them when written; ``none`` for no codec."""
    texts = [codec_text(step) for step in steps]
    return sep.join(texts) if texts else "none"


def codec_steps(codecs: dict[str, Any]) -> list[tuple[str, Any]]:
    """An array's codecs (``Info.codecs``: filters, serializer, compressors) as (role, codec)
    in the order data goes through them when written."""
    steps: list[tuple[str, Any]] = [("filter", codec) for codec in codecs.get("filters") or []]
    if codecs.get("serializer"):
        steps.append(("serializer", codecs["serializer"]))
    steps += [("compressor", codec) for codec in codecs.get("compressors") or []]
    return steps


def codecs_text(codecs: dict[str, Any]) -> str:
    """The codec pipeline in the order data goes through it when written:
    filters, then the serializer, then the compressors (``zstd(level=0, checksum=false)``)."""
    return pipeline_text(codec for _role, codec in codec_steps(codecs))


def codec_json(codec: Any) -> Any:
    """A zarr (v3 codec) or numcodecs object as the JSON dict its metadata holds."""
    if codec is None:
        return None
    to_dict = getattr(codec, "to_dict", None)
    if callable(to_dict):
        try:
            return jsonable(to_dict())
        except Exception:  # a codec that cannot describe itself is still named
            pass
    get_config = getattr(codec, "get_config", None)
    if callable(get_config):
        return jsonable(get_config())
    return str(codec)


def jsonable(value: Any) -> Any:
    """Numbers and containers as JSON can hold them (NaN/inf as strings, numpy as Python)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def inline_text(value: Any) -> str:
    """A value on one line: JSON's spelling for true/false/null and containers."""
    if isinstance(value, str):
        return scalar_text(value)
    if isinstance(value, dict) and not any(isinstance(v, (dict, list)) for v in value.values()):
        text = ", ".join(f"{k}: {inline_text(v)}" for k, v in value.items())
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def scalar_text(value: Any) -> str:
    """One scalar, capped; JSON's spelling for true/false/null."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + f"… ({len(value):,} characters)"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return inline_text(value)
    return str(value)
