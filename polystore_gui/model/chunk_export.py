"""A chunk report written out: the chunk table as CSV or JSON (the inspector's Export)."""

from __future__ import annotations

import json

from .chunk_report import ChunkReport


CSV_COLUMNS = ("index", "key", "state", "present", "stored_bytes", "ratio", "shard", "inner_index", "error")


def write_csv(report: ChunkReport, path: str) -> int:
    """The chunk table as CSV (one row per chunk of the grid); returns the rows written."""
    import csv

    decoded = report.layout.chunk_nbytes
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in report.chunk_rows():
            stored = row["stored_bytes"]
            writer.writerow([
                " ".join(map(str, row["index"])), row["key"], row["state"], int(row["present"]), stored,
                f"{decoded / stored:.4f}" if decoded and stored else "",
                " ".join(map(str, row.get("shard", []))), " ".join(map(str, row.get("inner_index", []))),
                row.get("error", ""),
            ])
            rows += 1
    return rows


def write_json(report: ChunkReport, path: str) -> int:
    """The CLI's ``chunks --json`` document; returns the chunks written."""
    doc = report.summary()
    doc["chunk_list"] = list(report.chunk_rows())
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
    return len(doc["chunk_list"])

