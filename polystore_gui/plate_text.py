"""``polystore-gui plate`` and the plate / well part of ``info``, as text for people.

Renders the documents ``PlateSummary.as_json()`` and ``WellSummary.as_json()`` give: the
facts first, then a map of the plate (``#`` a well with fields, ``o`` a listed well
without any, ``.`` an empty position), then one line per well, then the notes.
"""

from __future__ import annotations

from typing import Any

INDENT = "  "
LABEL_WIDTH = 14
MAX_MAP_COLUMNS = 48


def _field(label: str, text: str) -> str:
    return f"{INDENT}{label:<{LABEL_WIDTH}}{text}"


def _span(names: list[str]) -> str:
    if not names:
        return "none"
    return names[0] if len(names) == 1 else f"{names[0]}–{names[-1]}"


def plate_lines(doc: dict[str, Any], *, wells: bool = True) -> list[str]:
    """The lines that describe a plate document; ``wells``: one line per well too."""
    rows, columns = doc.get("rows") or [], doc.get("columns") or []
    listed = doc.get("wells") or []
    lines = [_field("plate", f"{doc.get('kind')}" + (f", version {doc['version']}" if doc.get("version") else "")
                    + (f", {doc['name']!s}" if doc.get("name") else ""))]
    lines.append(_field("grid", f"{len(rows)} rows × {len(columns)} columns ({_span(rows)}, {_span(columns)})"))
    with_fields = sum(1 for w in listed if w.get("fields"))
    lines.append(_field("wells", f"{len(listed)} listed, {with_fields} with fields"))
    declared = doc.get("field_count")
    lines.append(_field("fields", f"up to {doc.get('fields_per_well', 0)} a well"
                        + (f" (metadata: field_count {declared})" if declared is not None else "")))
    for acquisition in doc.get("acquisitions") or []:
        text = f"{acquisition.get('id')}" + (f" {acquisition['name']}" if acquisition.get("name") else "")
        if acquisition.get("maximumfieldcount") is not None:
            text += f", at most {acquisition['maximumfieldcount']} fields"
        lines.append(_field("acquisition", text))
    if rows and columns and len(columns) <= MAX_MAP_COLUMNS:
        at = {(w.get("row"), w.get("column")): w for w in listed}
        lines.append(f"{INDENT}map")
        width = max(len(r) for r in rows)
        lines.append(INDENT * 2 + " " * (width + 1) + "".join(c[-1] for c in columns))
        for row in rows:
            marks = "".join("#" if at.get((row, c), {}).get("fields") else "o" if (row, c) in at else "."
                            for c in columns)
            lines.append(INDENT * 2 + f"{row:<{width}} " + marks)
    if wells and listed:
        lines.append(f"{INDENT}wells")
        for w in listed:
            text = f"{w.get('name'):<6} {w.get('path')}  {len(w.get('fields') or [])} fields"
            if w.get("acquisition") is not None:
                text += f", acquisition {w['acquisition']}"
            for key, value in (w.get("attributes") or {}).items():
                text += f", {key} {value}"
            if w.get("notes"):
                text += f"  [{'; '.join(w['notes'])}]"
            lines.append(INDENT * 2 + text)
    if doc.get("workspace"):
        lines.append(_field("workspace", f"{doc['workspace']} (polystore's virtual workspace of this plate)"))
    for note in doc.get("notes") or []:
        lines.append(_field("note", note))
    return lines


def well_lines(doc: dict[str, Any], plate: str | None) -> list[str]:
    """The lines that describe a well document (and the plate it belongs to)."""
    lines = [_field("well", f"{doc.get('name')} (row {doc.get('row')}, column {doc.get('column')})")]
    if plate:
        lines.append(_field("of plate", plate))
    for address in doc.get("fields") or []:
        lines.append(_field("field", address))
    if not doc.get("fields"):
        lines.append(_field("field", "none"))
    for key, value in (doc.get("attributes") or {}).items():
        lines.append(_field(key, str(value)))
    for note in doc.get("notes") or []:
        lines.append(_field("note", note))
    return lines
