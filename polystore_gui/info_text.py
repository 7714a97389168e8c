"""``polystore-gui info`` as text for people: indented, sizes in KiB/MiB, nested attributes
as an outline, codecs as a pipeline. ``info --json`` prints the machine document instead.

It renders the same document ``Info.as_json()`` gives (one source of facts, two displays),
and caps what could run to thousands of lines (a plate's filename map, long lists): the
JSON has it all.
"""

from __future__ import annotations

from typing import Any

from .model.codec_text import codec_text, codecs_text, inline_text, scalar_text
from .model.entries import human_size

INDENT = "  "
LABEL_WIDTH = 14
MAX_ITEMS = 12  # items of a list or keys of a mapping shown before "… N more"
MAX_LINES = 80  # lines of attributes shown before the rest is left to --json

# The document's keys in the order a person reads them, with their labels.
_LABELS = {
    "kind": "kind",
    "format": "format",
    "shape": "shape",
    "dtype": "dtype",
    "dimension_names": "dimensions",
    "chunks": "chunks",
    "shards": "shards",
    "fill_value": "fill value",
    "codecs": "codecs",
    "nbytes": "decoded size",
    "stored_bytes": "stored size",
    "size": "file size",
    "members": "members",
}
_NOT_SHOWN = {"backend", "path", "zarr_format", "attributes", "ome", "preview", "truncated", "error"}


def info_text(doc: dict[str, Any]) -> list[str]:
    """The lines that describe ``doc`` (an ``Info.as_json()``); the error is not among them
    (the CLI says it on stderr). None at all when the error is all there is to say (an
    address that does not exist is no "file")."""
    facts = {k: v for k, v in doc.items() if k not in ("backend", "path", "kind", "error") and v not in (None, {}, [])}
    if doc.get("error") and not facts:
        return []
    lines = [f"{doc.get('backend')}:{doc.get('path')}"]
    for key, label in _LABELS.items():
        value = doc.get(key)
        if value is None or value == {} or value == []:
            continue
        if key == "shards" and doc.get("chunks") is not None:
            continue  # said with the chunks
        lines.append(_field(label, value_text(key, value, doc)))
    for key, value in doc.items():  # anything newer than this module: shown, never dropped
        if key not in _LABELS and key not in _NOT_SHOWN and value not in (None, {}, []):
            lines.append(_field(key.replace("_", " "), _scalar(value)))
    ome = doc.get("ome")
    if ome:
        lines += _ome_lines(ome)
    attributes = doc.get("attributes")
    if attributes:
        lines.append(f"{INDENT}attributes")
        outline = _outline(attributes, 2)
        if len(outline) > MAX_LINES:
            outline = outline[:MAX_LINES] + [f"{INDENT * 2}… {len(outline) - MAX_LINES:,} more lines (info --json "
                                              "prints every attribute)"]
        lines += outline
    preview = doc.get("preview")
    if preview is not None:
        lines.append(f"{INDENT}preview" + (" (the first part only)" if doc.get("truncated") else ""))
        if isinstance(preview, str):
            lines += [INDENT * 2 + line for line in preview.splitlines()]
        else:
            lines += [INDENT * 2 + "\t".join(str(cell) for cell in row) for row in preview]
    return lines


def _field(label: str, text: str) -> str:
    return f"{INDENT}{label:<{LABEL_WIDTH}}{text}"


def value_text(key: str, value: Any, doc: dict[str, Any]) -> str:
    """One field of the document as a person reads it (shapes as ``4 × 1024``, sizes in
    KiB/MiB, codecs as a pipeline, members counted in words); the preview's details pane
    says its fields the same way."""
    if key in ("shape", "chunks", "shards"):
        text = _dims(value)
        if key == "chunks" and doc.get("shards") is not None:
            text += f", in shards of {_dims(doc['shards'])}"
        return text
    if key in ("nbytes", "stored_bytes", "size") and isinstance(value, int):
        return bytes_text(value)
    if key == "codecs" and isinstance(value, dict):
        return codecs_text(value)
    if key == "members" and isinstance(value, dict):
        return ", ".join(f"{n:,} {name[:-1] if n == 1 and name.endswith('s') else name}" for name, n in value.items())
    if key == "dimension_names" and isinstance(value, list):
        return ", ".join("-" if n is None else str(n) for n in value)
    return _scalar(value)


def _dims(value: Any) -> str:
    if isinstance(value, list):
        return " × ".join(str(n) for n in value) if value else "() (a scalar)"
    return str(value)


def bytes_text(n: int) -> str:
    """``8.0 MiB (8,388,608 bytes)``; small sizes in bytes alone."""
    return f"{n:,} bytes" if n < 1024 else f"{human_size(n)} ({n:,} bytes)"


_codec = codec_text


def _ome_lines(ome: dict[str, Any]) -> list[str]:
    return [_field(label, text) for label, text in ome_fields(ome)]


def ome_fields(ome: dict[str, Any]) -> list[tuple[str, str]]:
    """The OME-NGFF summary (``Info.as_json()["ome"]``) as (label, text): the version and
    axes first, then a field per level and channel, the labels last (the details pane shows
    the first as the row, the rest under it)."""
    axes = ", ".join(str(a.get("name")) + (f" [{a['unit']}]" if a.get("unit") else "") for a in ome.get("axes") or [])
    fields = [("ome-ngff", f"version {ome.get('version')}, axes {axes}")]
    for level in ome.get("levels") or []:
        shape = _dims(level.get("shape")) if level.get("shape") else "?"
        scale = ", ".join(f"{s:g}" for s in level["scale"]) if level.get("scale") else "-"
        fields.append((f"level {level.get('path')}", f"shape {shape}, scale {scale}"))
    for channel in ome.get("channels") or []:
        window = channel.get("window")
        shown = f" window {window[0]:g}–{window[1]:g}" if window else ""
        colour = f" ({channel['color']})" if channel.get("color") else ""
        fields.append(("channel", f"{channel.get('label')}{colour}{shown}"))
    if ome.get("labels"):
        fields.append(("labels", ", ".join(str(n) for n in ome["labels"])))
    return fields


def _outline(value: Any, depth: int) -> list[str]:
    """Nested mappings and lists as an indented outline (``key: value``; ``- item``);
    short lists of numbers or words on one line; long ones cut at ``MAX_ITEMS``."""
    pad = INDENT * depth
    lines: list[str] = []
    if isinstance(value, dict):
        items = list(value.items())
        for key, item in items[:MAX_ITEMS * 4]:
            if _is_simple(item):
                shown = _inline(item)
                lines.append(f"{pad}{key}: {{{shown}}}" if isinstance(item, dict) else f"{pad}{key}: {shown}")
            else:
                lines.append(f"{pad}{key}:")
                lines += _outline(item, depth + 1)
        if len(items) > MAX_ITEMS * 4:
            lines.append(f"{pad}… {len(items) - MAX_ITEMS * 4:,} more keys")
        return lines
    if isinstance(value, list):
        for item in value[:MAX_ITEMS]:
            if _is_simple(item):
                lines.append(f"{pad}- {_inline(item)}")
            else:
                sub = _outline(item, depth + 1)
                lines.append(f"{pad}- {sub[0].lstrip()}" if sub else f"{pad}-")
                lines += sub[1:]
        if len(value) > MAX_ITEMS:
            lines.append(f"{pad}… {len(value) - MAX_ITEMS:,} more items")
        return lines
    return [pad + _scalar(value)]


def _is_simple(value: Any) -> bool:
    if isinstance(value, (dict, list)):
        return len(_inline(value)) <= 60 and not any(isinstance(v, (dict, list)) for v in _members(value))
    return True


def _members(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else list(value)


_inline = inline_text
_scalar = scalar_text
