"""The commands that look without changing anything: ``backends``, ``ls``, ``info``,
``chunks``, ``plate``, and ``demo`` (which makes the demo workspace).

Split from the one-module ``cli`` (issue 15); every name here stays importable from ``polystore_gui.cli``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _address, _human_size, _is_local, _print_json, _shown


def cmd_backends(args: argparse.Namespace) -> int:
    from ..model.catalogue import discover_backends

    discovery = discover_backends()
    if args.json:
        _print_json([b.as_json() for b in discovery.backends])
        return EXIT_OK
    width = max(len(b.key) for b in discovery.backends)
    for b in discovery.backends:
        line = f"{b.key:<{width}}  {b.label:<40}  {b.status.value}"
        if b.error:
            line += f"  ({b.error})"
        print(line)
    return EXIT_OK


def cmd_ls(args: argparse.Namespace) -> int:
    from ..model.entries import sort_entries
    from ..model.listing import ListingError, describe, entry_for_path, list_children

    address = _address(args.address)
    if address is None:
        return EXIT_USAGE
    entry = entry_for_path(address.backend, address.path)
    if entry.error is not None and not entry.expandable:
        print(f"polystore-gui: {_shown(entry.error)}", file=sys.stderr)
        return EXIT_FAILED
    if not entry.expandable:
        entries = [entry]
    else:
        entries = []
        try:
            for batch in list_children(entry):
                entries.extend(batch)
        except ListingError as exc:
            print(f"polystore-gui: {_shown(str(exc))}", file=sys.stderr)
            return EXIT_FAILED
        updates = {e.path: e for batch in describe(entries) for e in batch}
        entries = [updates.get(e.path, e) for e in entries]
        entries = sort_entries(entries)  # the tree's order: folders first, then by name
    if args.json:
        _print_json([e.as_json() for e in entries])
        return EXIT_OK
    for e in entries:
        shape = "×".join(map(str, e.shape)) if e.shape is not None else "-"
        name = _shown(e.name) + ("/" if e.expandable else "")
        line = f"{e.kind.value:<15} {_human_size(e.size):>8}  {shape:<16} {_shown(e.dtype or '-'):<8} {name}"
        if e.error:
            line += f"  [{_shown(e.error)}]"
        print(line)
    failed = [e for e in entries if e.kind.value == "error"]
    return EXIT_FAILED if failed and len(failed) == len(entries) else EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from ..model.arrays import inspect

    address = _address(args.address)
    if address is None:
        return EXIT_USAGE
    info = inspect(address.backend, address.path)
    plate_facts = _plate_facts(address, info)
    if args.json:
        _print_json({**info.as_json(), **plate_facts})
    else:  # for people: indented, human sizes, attributes as an outline (terminal-safe)
        from ..info_text import info_text
        from ..plate_text import plate_lines, well_lines

        doc = info.as_json()
        consolidated = doc.pop("consolidated", None)  # said in lines of its own, below
        lines = info_text(doc) + (_consolidated_lines(consolidated) if info.kind == "group" else [])
        if "plate" in plate_facts:
            lines += plate_lines(plate_facts["plate"], wells=False)
        if "well" in plate_facts:
            lines += well_lines(plate_facts["well"], plate_facts["well"].get("plate"))
        for line in lines:
            print(_shown(line, keep="\t"))
    if info.error:
        print(f"polystore-gui: {_shown(info.error)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _plate_facts(address: Any, info: Any) -> dict[str, Any]:
    """``plate`` (a plate's summary) or ``well`` (a well's, with its plate's address) for ``info``."""
    if info.kind not in ("group", "directory"):
        return {}
    from ..model.backends.plate import plate_at, well_at

    plate = plate_at(address.backend, address.path)
    if plate is not None:
        return {"plate": plate.as_json()}
    found = well_at(address.backend, address.path)
    if found is None:
        return {}
    holder, well = found
    return {"well": {**well.as_json(), "plate": holder.address if holder is not None else None}}


def _consolidated_lines(summary: dict[str, Any] | None, most: int = 12) -> list[str]:
    """A group's consolidated metadata for people: where it is, whether it is fresh, what it lists."""
    if summary is None:
        return [f"  {'consolidated':<14}no"]
    state = "fresh" if summary["fresh"] else "stale"
    lines = [f"  {'consolidated':<14}yes, {state} ({summary['document']})"]
    if summary["not_listed"]:
        lines.append(f"  {'':<14}on disk, not listed: {', '.join(summary['not_listed'][:most])}")
    if summary["not_on_disk"]:
        lines.append(f"  {'':<14}listed, gone from disk: {', '.join(summary['not_on_disk'][:most])}")
    members = list(summary["members"].items())
    for name, member in members[:most]:
        what = member["kind"]
        if what == "array":
            what += f" {'×'.join(map(str, member['shape'])) or 'scalar'} {member['dtype']}"
        lines.append(f"  {'listed' if name == members[0][0] else '':<14}{name}: {what}")
    if len(members) > most:
        lines.append(f"  {'':<14}… {len(members) - most:,} more (info --json lists them all)")
    return lines


def cmd_chunks(args: argparse.Namespace) -> int:
    from ..model.chunk_layout import ChunkLayoutError, read_layout, resolve_array
    from ..model.chunks import scan_report
    from ..model.zarr_nodes import CorruptMetadataError

    address = _address(args.address)
    if address is None:
        return EXIT_USAGE
    try:
        path, note = resolve_array(address.backend, address.path)
        report = scan_report(read_layout(path), decode=args.verify)
    except (ChunkLayoutError, CorruptMetadataError, OSError) as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return EXIT_FAILED
    summary = report.summary()
    if note:
        summary["note"] = note
    if args.json:
        if not args.summary:
            summary["chunk_list"] = list(report.chunk_rows())
        _print_json(summary)
    else:
        _print_chunk_report(summary, report, args.summary)
    return EXIT_FAILED if summary["errors"] else EXIT_OK


def _print_chunk_report(summary: dict[str, Any], report: Any, summary_only: bool) -> None:
    def fmt(n: Any) -> str:
        return "-" if n is None else f"{n:,}" if isinstance(n, int) else str(n)

    sharded = summary["shards"] is not None
    print(f"{'array':>20}: {_shown(summary['path'])}" + (f"  ({_shown(summary['note'])})" if summary.get("note") else ""))
    print(f"{'shape':>20}: {summary['shape']} {summary['dtype']} (zarr v{summary['zarr_format']})")
    print(f"{'chunks':>20}: {summary['chunks']}" + (f" in shards of {summary['shards']}" if sharded else ""))
    print(f"{'codecs':>20}: {' -> '.join(summary['codecs'])}")
    decoded = "every stored chunk decoded" if summary["decoded"] else "sizes only, chunks not decoded (--verify decodes)"
    print(f"{'chunks stored':>20}: {fmt(summary['nchunks_initialized'])} of {fmt(summary['nchunks'])}"
          f" ({fmt(summary['nchunks_missing'])} missing, {fmt(summary['nchunks_error'])} unreadable; {decoded})")
    if sharded:
        print(f"{'shards stored':>20}: {fmt(summary['nshards_initialized'])} of {fmt(summary['nshards'])}")
    ratio = summary["compression_ratio"]
    print(f"{'stored bytes':>20}: {_human_size(summary['stored_bytes'])} ({fmt(summary['stored_bytes'])} B)"
          + (f", compression {ratio:.2f}x" if ratio else ""))
    if summary["read_amplification"] is not None:
        print(f"{'read amplification':>20}: {summary['read_amplification']:.1f}x for one plane")
    for row in summary["size_histogram"]:
        print(f"{_human_size(row['min']) + '-' + _human_size(row['max']):>20}: {row['count']:,}")
    for warning in summary["warnings"]:
        print(f"{'warning':>20}: {warning}")
    for error in summary["errors"]:
        print(f"{'error':>20}: {_shown(error['key'])}: {_shown(error['message'])}")
    if summary["stray_files"]:
        print(f"{'stray files':>20}: {summary['stray_files']:,} (not chunk keys of this array)")
    if summary_only:
        return
    print()
    print(f"{'index':<20} {'key':<24} {'state':<8} {'stored':>10} {'ratio':>7}")
    decoded = summary["chunk_bytes_decoded"]
    for row in report.chunk_rows():
        stored = row["stored_bytes"]
        ratio_text = f"{decoded / stored:.2f}" if decoded and stored else "-"
        print(f"{str(tuple(row['index'])):<20} {row['key']:<24} {row['state']:<8} {stored:>10,} {ratio_text:>7}")


def cmd_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..model.demo import make_demo

    path = make_demo(Path(args.dir) if args.dir else None)
    print(path)
    return EXIT_OK


def cmd_plate(args: argparse.Namespace) -> int:
    import os

    from ..model.backends.plate import plate_at, well_at
    from ..plate_text import plate_lines

    address = _address(args.address)
    if address is None:
        return EXIT_USAGE
    plate = plate_at(address.backend, address.path, check_fields=True)
    if plate is None:
        found = well_at(address.backend, address.path)
        if found is not None and found[0] is not None:
            plate = found[0]  # a well: its plate
    if plate is None:
        exists = os.path.exists(address.path) if _is_local(address) else True
        why = ("does not exist" if not exists else "is not a plate (no OME-Zarr HCS plate metadata, no "
               "polystore_metadata.json or openhcs_metadata.json, no TIFFs named by well)")
        print(f"polystore-gui: {_shown(address.backend)}:{_shown(address.path)} {why}", file=sys.stderr)
        return EXIT_FAILED
    doc = plate.as_json()
    if args.json:
        _print_json(doc)
        return EXIT_OK
    print(_shown(plate.address))
    for line in plate_lines(doc):
        print(_shown(line))
    return EXIT_OK
