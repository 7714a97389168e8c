"""The command line: the model's functions, printed as text or JSON.

``polystore-gui [PATH ...]`` opens the GUI; the subcommands below never import Qt.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from . import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _known_backends() -> list[str]:
    from polystore.backend_registry import STORAGE_BACKENDS

    STORAGE_BACKENDS._discover()
    return sorted(STORAGE_BACKENDS.keys())


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _human_size(n: int | None) -> str:
    from .model.entries import human_size

    return human_size(n, short=True) if n is not None else "-"


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _shown(text: str, *, keep: str = "") -> str:
    """``text`` safe for a terminal: control characters, terminal escapes and other
    unprintable characters as Python-style escapes (``\\n``, ``\\x1b``), as ``ls -b`` does;
    a backslash doubles so that the escapes stay unambiguous. ``keep``: characters left as
    they are (line breaks and tabs in a text preview). JSON output is never escaped here."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch in keep or (ch.isprintable() and ch != "\\"):
            out.append(ch)
        else:
            out.append(_ESCAPES.get(ch) or repr(ch)[1:-1])
    return "".join(out)


def _address(text: str) -> Any:
    """The Address for ``text``, or None after saying on stderr which backends exist."""
    from .model.address import UnknownBackendError, parse_address

    from .model.remote_address import RemoteAddressError

    try:
        return parse_address(text, _known_backends())
    except (UnknownBackendError, RemoteAddressError) as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return None


# -- subcommands -------------------------------------------------------------------------------


def cmd_backends(args: argparse.Namespace) -> int:
    from .model.catalogue import discover_backends

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
    from .model.entries import sort_entries
    from .model.listing import ListingError, describe, entry_for_path, list_children

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
    from .model.arrays import inspect

    address = _address(args.address)
    if address is None:
        return EXIT_USAGE
    info = inspect(address.backend, address.path)
    plate_facts = _plate_facts(address, info)
    if args.json:
        _print_json({**info.as_json(), **plate_facts})
    else:  # for people: indented, human sizes, attributes as an outline (terminal-safe)
        from .info_text import info_text
        from .plate_text import plate_lines, well_lines

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
    from .model.backends.plate import plate_at, well_at

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
    from .model.chunk_layout import ChunkLayoutError, read_layout, resolve_array
    from .model.chunks import scan_report
    from .model.zarr_nodes import CorruptMetadataError

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

    from .model.demo import make_demo

    path = make_demo(Path(args.dir) if args.dir else None)
    print(path)
    return EXIT_OK


def _port(args: argparse.Namespace) -> int:
    from .model.streaming import default_port

    return int(args.port) if args.port is not None else default_port()


def cmd_viewer(args: argparse.Namespace) -> int:
    from .model import streaming

    port = _port(args)
    if args.status:
        state = streaming.viewer_state(port, host=args.host)
        if args.json:
            _print_json(state.as_json())
        else:
            print(state.describe("napari viewer"))
            for layer in state.layers:
                shape = "×".join(str(n) for n in layer.get("shape") or [])
                print(f"  {layer.get('name')}  {shape}  {layer.get('dtype', '')}")
        return EXIT_OK if state.ours else EXIT_FAILED
    if args.stop:
        try:
            state = streaming.stop_viewer(port, host=args.host)
        except streaming.StreamError as exc:
            print(f"polystore-gui: {exc}", file=sys.stderr)
            return EXIT_FAILED
        if not state.ours:
            print(f"polystore-gui: {state.describe('napari viewer')}", file=sys.stderr)
            return EXIT_FAILED
        print(f"stopped the napari viewer on port {port} (PID {state.pid})")
        return EXIT_OK
    from .viewer.server import main as run_viewer

    return run_viewer(port, args.host)


def cmd_send(args: argparse.Namespace) -> int:
    from .model import streaming
    from .model.catalogue import close_connections

    port = _port(args)
    addresses = []
    for text in args.addresses:
        address = _address(text)
        if address is None:
            return EXIT_USAGE
        addresses.append((address.backend, address.path))
    items, problems = streaming.prepare_all(addresses)
    for problem in problems:
        print(f"polystore-gui: refused {problem}", file=sys.stderr)
    if not items:
        return EXIT_FAILED
    try:
        state = streaming.ensure_viewer(port, host=args.host, progress=lambda text: print(text, file=sys.stderr))
        sent = streaming.send(items, port, host=args.host, viewer_pid=state.pid)
    except streaming.StreamError as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        close_connections()  # as the browser does on exit: the viewer stays open
    names = ", ".join(item.name for item in items)
    print(f"sent {len(items)} array{'s' if len(items) != 1 else ''} ({_human_size(sent)}) to the napari viewer "
          f"on port {port} (PID {state.pid}): {names}")
    return EXIT_FAILED if problems else EXIT_OK


def cmd_cp(args: argparse.Namespace) -> int:
    import signal

    from .model import transfers

    sources = [_address(text) for text in args.sources]
    destination = _address(args.destination)
    if destination is None or any(s is None for s in sources):
        return EXIT_USAGE
    from .model.remote_address import is_remote_path

    if any(is_remote_path(a.path) for a in (*sources, destination)):
        return _cp_remote(args, sources, destination)
    from .model.chunk_shape import ChunkShapeError, parse_chunk_shape

    try:
        chunks = parse_chunk_shape(args.chunks)
    except ChunkShapeError as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    refusal = transfers.destination_refusal(destination, move=args.move)  # the plan's own reason, said once
    if refusal is not None and refusal.loses_data:  # a usage error: nothing is touched, not even old partials
        print(f"polystore-gui: cp --move into {destination}: refused, nothing was done: {refusal.reason}.",
              file=sys.stderr)
        return EXIT_USAGE
    taken = transfers.take_up(sources, destination) if args.resume else {}  # before the clean-up removes them
    for message in transfers.recover_interrupted():
        print(f"polystore-gui: {message}", file=sys.stderr)
    if refusal is not None:
        transfers.resume([], taken)
        print(f"polystore-gui: cp into {destination}: refused, nothing was done: {refusal.reason}", file=sys.stderr)
        return EXIT_FAILED
    items = transfers.plan(sources, destination, on_conflict=transfers.Conflict(args.on_conflict), move=args.move,
                           chunks=chunks)
    for message in transfers.resume(items, taken):
        print(f"polystore-gui: {message}", file=sys.stderr)
    cancelled = {"now": False}
    signal.signal(signal.SIGINT, lambda *_a: cancelled.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_a: cancelled.update(now=True))
    bar = sys.stderr.isatty()
    failures = 0
    for item in items:
        gen = transfers.run_item(item, cancelled=lambda: cancelled["now"])
        try:
            while True:
                done, total = next(gen)
                if bar:
                    share = done / total if total else 1.0
                    filled = int(30 * share)
                    sys.stderr.write(f"\r{item.source} [{'#' * filled}{'.' * (30 - filled)}] {share:5.1%} "
                                     f"{_human_size(done)}/{_human_size(total)}")
                    sys.stderr.flush()
        except StopIteration as stop:
            outcome = stop.value
        if bar:
            sys.stderr.write("\r\033[K")
        verb = "moved" if item.move and not outcome.message else "copied"
        if outcome.status == "done":
            print(f"{verb} {item.source} -> {item.destination} ({_human_size(outcome.nbytes)}, verified)")
            for note in outcome.notes:
                print(f"  {note}")
            if outcome.left_out:
                failures += 1  # exit 1: not everything arrived
                print(f"polystore-gui: {item.source}: {len(outcome.left_out)} entries not copied"
                      + (f"; {outcome.message}" if outcome.message else ""), file=sys.stderr)
        elif outcome.status == "skipped":
            print(f"skipped {item.source}: {outcome.message}")
        else:
            failures += 1
            print(f"polystore-gui: {outcome.status}: {item.source}: {outcome.message}", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def _cp_remote(args: argparse.Namespace, sources: list[Any], destination: Any) -> int:
    """``cp`` with a remote store on one side: remote → local (a raw, verified copy of every
    stored object) or local → S3 (uploaded, then checked against S3's listing)."""
    import signal

    from .model.remote_address import is_remote_path
    from .model.remote_copy import CopyError, copy_to_local, copy_to_remote
    from .model.remote_errors import RemoteError

    if args.move or args.on_conflict == "rename" and is_remote_path(destination.path):
        print("polystore-gui: cp with a remote store: --move and, into S3, --on-conflict rename are not "
              "supported; nothing was done", file=sys.stderr)
        return EXIT_USAGE
    cancelled = {"now": False}
    signal.signal(signal.SIGINT, lambda *_a: cancelled.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_a: cancelled.update(now=True))
    bar = sys.stderr.isatty()
    failures = 0
    for source in sources:
        def show(done: int, total: int, source: Any = source) -> None:
            if bar:
                sys.stderr.write(f"\r{source} {_human_size(done)}/{_human_size(total)}")
                sys.stderr.flush()

        try:
            if is_remote_path(source.path) and not is_remote_path(destination.path):
                report = copy_to_local(source.path, destination.path, on_conflict=args.on_conflict,
                                       cancelled=lambda: cancelled["now"], progress=show)
            elif is_remote_path(destination.path) and not is_remote_path(source.path):
                report = copy_to_remote(source.path, destination.path, on_conflict=args.on_conflict,
                                        cancelled=lambda: cancelled["now"], progress=show)
            else:
                print(f"polystore-gui: {source} -> {destination}: copies between two remote stores are not "
                      "supported; copy to a local folder first", file=sys.stderr)
                failures += 1
                continue
        except (CopyError, RemoteError, OSError) as exc:
            if bar:
                sys.stderr.write("\r\033[K")
            failures += 1
            print(f"polystore-gui: failed: {source}: {_shown(str(exc))} (nothing was left at the destination)",
                  file=sys.stderr)
            continue
        if bar:
            sys.stderr.write("\r\033[K")
        if report.notes and report.notes[0].startswith("skipped"):
            print(f"skipped {source}: {report.notes[0]}")
            continue
        print(f"copied {source} -> {report.destination} ({report.objects} objects, {_human_size(report.nbytes)}, "
              "verified)")
        for note in report.notes:
            print(f"  {note}")
    return EXIT_FAILED if failures else EXIT_OK


def _engine(args: argparse.Namespace) -> Any:
    """The dask engine the options name (None after saying why on stderr)."""
    from .model.whole_array import Engine

    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        print(f"polystore-gui: --scheduler takes a dask.distributed address such as tcp://127.0.0.1:8786, "
              f"not {scheduler!r}", file=sys.stderr)
        return None
    return Engine(scheduler=scheduler)


def _chunk_progress(command: str, unit: str = "chunks") -> Callable[[str, int, int], None] | None:
    """A progress line on stderr when it is a terminal (else nothing)."""
    if not sys.stderr.isatty():
        return None

    def show(step: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(30 * share)
        sys.stderr.write(f"\r\033[K{command} {step} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {unit}")
        sys.stderr.flush()

    return show


def _end_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _whole_array_run(command: str, work: Callable[[Callable[[str, int, int], None] | None], Any], *,
                     unit: str = "chunks", errors: tuple[type[BaseException], ...] = (),
                     cancelled: str = "") -> tuple[Any, int | None]:
    """``work(progress)`` under a progress line: ``(its result, None)``, or ``(None, exit status)``
    once a WholeArrayError (or one of ``errors``) or Ctrl-C has been said on stderr.

    The stats, checksum and convert commands share this so that each clears its progress
    line and words a failure and a cancellation the same way (``cancelled`` is added to
    "COMMAND cancelled").
    """
    from .model.whole_array import WholeArrayError

    try:
        try:
            return work(_chunk_progress(command, unit)), None
        finally:
            _end_progress()
    except (WholeArrayError, *errors) as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return None, EXIT_FAILED
    except KeyboardInterrupt:
        print(f"polystore-gui: {command} cancelled{cancelled}", file=sys.stderr)
        return None, 130


def cmd_stats(args: argparse.Namespace) -> int:
    from .model.array_stats import array_statistics
    from .model.whole_array import open_target

    address = _address(args.address)
    engine = _engine(args)
    if address is None or engine is None:
        return EXIT_USAGE
    if args.bins < 1:
        print(f"polystore-gui: --bins must be at least 1, not {args.bins}", file=sys.stderr)
        return EXIT_USAGE

    def work(progress: Callable[[str, int, int], None] | None) -> tuple[Any, dict[str, Any]]:
        target = open_target(address.backend, address.path)
        return target, array_statistics(target, bins=args.bins, engine=engine, progress=progress)

    done, status = _whole_array_run("stats", work)
    if status is not None:
        return status
    target, result = done
    if target.note:
        result["note"] = target.note
    if args.json:
        _print_json(result)
        return EXIT_OK
    _print_stats(result)
    return EXIT_OK


def _print_stats(result: dict[str, Any]) -> None:
    missing = result["missing"]
    print(f"{_shown(result['path'])}: shape {tuple(result['shape'])} {result['dtype']}, "
          f"{result['chunks_total']} chunk{'s' if result['chunks_total'] != 1 else ''} read ({result['scheduler']})")
    if result.get("note"):
        print(f"  {result['note']}")
    print(f"  {missing['count']} of {missing['of']} {missing['unit']} missing: {missing['note']} "
          f"({result['fill_value']})")
    sections = [(None, result["stats"])] if result["channels"] is None else [
        (f"channel {c['channel']}" + (f" ({_shown(c['label'])})" if c.get("label") else ""), c)
        for c in result["channels"]]
    for title, s in sections:
        indent = "  "
        if title:
            print(f"  {title}")
            indent = "    "
        if s is None or s["mean"] is None:
            print(f"{indent}no values (count {s['count'] if s else 0}, NaN {s['nan_count'] if s else 0})")
            continue
        print(f"{indent}min {s['min']:g}  max {s['max']:g}  mean {s['mean']:.6g}  std {s['std']:.6g}")
        print(f"{indent}count {s['count']}  NaN {s['nan_count']}")
        pct = "  ".join(f"p{q} {v:.6g}" for q, v in s["percentiles"].items())
        how = "exact" if s["percentiles_exact"] else f"binned estimates, bin width {s['percentile_bin_width']:.3g}"
        print(f"{indent}{pct}  ({how})")
        print(f"{indent}histogram: {len(s['histogram']['counts'])} bins over "
              f"[{s['histogram']['edges'][0]:g}, {s['histogram']['edges'][-1]:g}] (--json for the counts)")


def _disk_zarr_path(address: Any) -> str | None:
    """The local path of a zarr address (disk, zarr, ome_zarr), or None after saying why."""
    if not _is_local(address):
        print(f"polystore-gui: whole-array work reads zarr on disk (disk:, zarr:, ome_zarr:), not {address.backend!r}",
              file=sys.stderr)
        return None
    return str(address.path)


def _is_local(address: Any) -> bool:
    """Whether the address is a path on this machine (its backend's adapter says so)."""
    from .model.backends import adapter_for

    return adapter_for(address.backend, address.path).capabilities.local


def cmd_checksum(args: argparse.Namespace) -> int:
    from .model.checksum import checksum

    address = _address(args.address)
    engine = _engine(args)
    if address is None or engine is None:
        return EXIT_USAGE
    path = _disk_zarr_path(address)
    if path is None:
        return EXIT_FAILED
    result, status = _whole_array_run("checksum", lambda progress: checksum(path, engine=engine, progress=progress),
                                      unit="regions")
    if status is not None:
        return status
    if args.json:
        _print_json(result)
    elif result["kind"] == "array":
        print(f"{result['digest']}  {_shown(result['path'])}  ({result['dtype']}, shape {tuple(result['shape'])})")
    elif result["kind"] == "tiff":
        print(f"{result['digest']}  {_shown(result['path'])}  ({result['dtype']}, shape {tuple(result['shape'])}; "
              f"{result['compared']})")
    else:
        for a in result["arrays"]:
            print(f"{a['digest']}  {_shown(a['path'])}  ({a['dtype']}, shape {tuple(a['shape'])})")
        print(f"{result['digest']}  {_shown(result['path'])}  (store: {len(result['arrays'])} arrays)")
    return EXIT_OK


def _sizes_option(text: str | None, what: str) -> tuple[int, ...] | None:
    """``--chunks``/``--shards`` as sizes of the trailing axes (ValueError with a sentence when
    they are not; model.chunk_shape's parser)."""
    from .model.chunk_shape import parse_chunk_shape

    return None if text is None else parse_chunk_shape(text, what=f"--{what}", allow_plane=False)


def cmd_convert(args: argparse.Namespace) -> int:
    from .model.convert import convert, plan_conversion

    source = _address(args.source)
    dest = _address(args.dest)
    engine = _engine(args)
    if source is None or dest is None or engine is None:
        return EXIT_USAGE
    try:
        chunks = _sizes_option(args.chunks, "chunks")
        shards = _sizes_option(args.shards, "shards")
    except ValueError as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    dest_path = _disk_zarr_path(dest)
    if dest_path is None:
        return EXIT_FAILED

    def work(progress: Callable[[str, int, int], None] | None) -> dict[str, Any]:
        from .model.convert_plate import convert_plate, plate_attributes

        if _is_local(source) and plate_attributes(source.path) is not None:
            return convert_plate(source.path, dest_path, version=args.ome_zarr, chunks=chunks, shards=shards,
                                 levels=args.levels, overwrite=args.overwrite, engine=engine, progress=progress)
        plan = plan_conversion(source.backend, source.path, dest_path, version=args.ome_zarr, chunks=chunks,
                               shards=shards, levels=args.levels, overwrite=args.overwrite)
        return convert(plan, engine=engine, progress=progress)

    report, status = _whole_array_run("convert", work, unit="tasks", errors=(OSError,),
                                      cancelled=": nothing was written at the destination")
    if status is not None:
        return status
    if args.json:
        _print_json(report)
        return EXIT_OK
    if report.get("kind") == "plate":
        print(f"converted plate {_shown(report['source'])} -> {_shown(report['dest'])} (OME-Zarr {report['ome_zarr']}, "
              f"{report['wells']} wells, {len(report['fields'])} fields, each with its pyramid, verified)")
        for note in report["notes"]:
            print(f"  {note}")
        return EXIT_OK
    print(f"converted {_shown(report['source'])} -> {_shown(report['dest'])} (OME-Zarr {report['ome_zarr']}, "
          f"axes {''.join(report['axes'])}, {len(report['levels'])} level{'s' if len(report['levels']) != 1 else ''}, "
          "verified)")
    for note in report["notes"]:
        print(f"  {note}")
    return EXIT_OK


def cmd_plate(args: argparse.Namespace) -> int:
    import os

    from .model.backends.plate import plate_at, well_at
    from .plate_text import plate_lines

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


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
    "backends": ("list every registered backend, its capability and status", cmd_backends),
    "ls": ("list the entries under an address (BACKEND:PATH; a bare path means disk)", cmd_ls),
    "info": ("the metadata of one address (array facts, codecs, OME-NGFF summary)", cmd_info),
    "chunks": ("how a zarr array is stored: chunks and shards present, bytes, warnings", cmd_chunks),
    "demo": ("(re)create the demo workspace", cmd_demo),
    "viewer": ("run the persistent napari viewer (or --status / --stop one)", cmd_viewer),
    "send": ("stream arrays to the napari viewer through polystore's napari_stream backend", cmd_send),
    "cp": ("copy (or --move) entries between backends, verified, never overwriting unasked", cmd_cp),
    "stats": ("exact statistics of a whole array (per channel for an OME image), chunk by chunk on dask", cmd_stats),
    "checksum": ("a content checksum of an array or a store (dtype, shape, values; not chunks or codecs)",
                 cmd_checksum),
    "convert": ("an array, OME image or TIFF -> an OME-Zarr image with a pyramid, written atomically, verified",
                cmd_convert),
    "plate": ("an HCS plate: its grid, wells and fields (OME-Zarr, polystore / OpenHCS, TIFF folders)", cmd_plate),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polystore-gui",
        description="A desktop storage browser for polystore. With no subcommand, opens the GUI "
        "on the given paths (the demo workspace when none).",
        epilog="Subcommands: "
        + "; ".join(f"{name}: {text}" for name, (text, _) in SUBCOMMANDS.items())
        + ". Addresses are BACKEND:PATH, e.g. zarr:/data/plate.zarr/A/1/0 or memory:/results.",
    )
    parser.add_argument("--version", action="version", version=f"polystore-gui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("backends", help=SUBCOMMANDS["backends"][0])
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("ls", help=SUBCOMMANDS["ls"][0])
    p.add_argument("address")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _remote_options(p)
    p = sub.add_parser("info", help=SUBCOMMANDS["info"][0])
    p.add_argument("address")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _remote_options(p)
    p = sub.add_parser("chunks", help=SUBCOMMANDS["chunks"][0])
    p.add_argument("address", help="a zarr array (zarr:, ome_zarr: or a disk path); an OME-NGFF image means its level 0")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--summary", action="store_true", help="counts only, no per-chunk list")
    p.add_argument("--verify", action="store_true", help="decode every stored chunk (reads them all): chunks that "
                   "fail to decode count as unreadable; without it only sizes are checked")
    p = sub.add_parser("demo", help=SUBCOMMANDS["demo"][0])
    p.add_argument("dir", nargs="?", help="where to make it (default: the user data folder)")
    p = sub.add_parser("viewer", help=SUBCOMMANDS["viewer"][0],
                       description="Run a napari window in this process that shows what polystore's napari_stream "
                       "backend sends. It outlives the browser. --status and --stop ask a running one instead.")
    _viewer_endpoint(p)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--status", action="store_true", help="ask the running viewer for its PID and layers (exit 1 when none answers)")
    what.add_argument("--stop", action="store_true", help="ask the running viewer to close")
    p.add_argument("--json", action="store_true", help="with --status: machine-readable output")
    p = sub.add_parser("send", help=SUBCOMMANDS["send"][0],
                       description="Stream arrays to the napari viewer (started, detached, when none runs), then exit. "
                       "Exit status 0 only when every array was sent and acknowledged.")
    p.add_argument("addresses", nargs="+", metavar="ADDRESS")
    _viewer_endpoint(p)
    p = sub.add_parser("cp", help=SUBCOMMANDS["cp"][0],
                       description="Copy each SOURCE into the folder or group DESTINATION (disk:, memory: or zarr:). "
                       "Each item is written under a hidden temporary name, verified, then put in place. "
                       "Exit status 0 only when every item arrived and verified.")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("destination", metavar="DESTINATION")
    p.add_argument("--on-conflict", choices=["fail", "skip", "overwrite", "rename"], default="fail",
                   help="when the name is taken at the destination (default: fail; rename keeps both)")
    p.add_argument("--move", action="store_true", help="delete each source once its copy verified")
    p.add_argument("--resume", action="store_true",
                   help="take up an interrupted copy of the same SOURCE into the same DESTINATION (killed, crashed): "
                   "files already copied are compared with the source and kept, the rest copied; without it an "
                   "interrupted copy is removed and started again")
    p.add_argument("--chunks", default="plane", help="chunk shape for images and arrays written into zarr: 'plane' "
                   "(default: one plane per chunk, 2048x2048 tiles above 4096x4096) or sizes of the trailing "
                   "axes, e.g. 1,512,512")
    _remote_options(p)
    p = sub.add_parser("stats", help=SUBCOMMANDS["stats"][0],
                       description="Read every chunk of an array (an OME-NGFF image: its level 0, per channel) and "
                       "print exact min, max, mean, std, count, NaN count, percentiles and a histogram. Missing chunks "
                       "count as the fill value. Runs on dask: local threads, or --scheduler.")
    p.add_argument("address", help="a zarr array or OME-NGFF image (zarr:, ome_zarr: or a disk path)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--bins", type=int, default=256, help="bins of the histogram printed (default 256)")
    _scheduler_option(p)
    p = sub.add_parser("checksum", help=SUBCOMMANDS["checksum"][0],
                       description="SHA-256 of an array's dtype, shape and C-order values, read chunk by chunk: "
                       "the same for any chunking, sharding, codecs or zarr format. For a group (a store): each "
                       "array's digest, and one over the sorted list.")
    p.add_argument("address", help="a zarr array or group (zarr:, ome_zarr: or a disk path), or a TIFF file: its "
                   "first series at full resolution in OME-NGFF axis order, equal to level 0 of its conversion")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _scheduler_option(p)
    p = sub.add_parser("convert", help=SUBCOMMANDS["convert"][0],
                       description="Write SOURCE (a zarr array, an OME-NGFF image: its level 0, or a TIFF) as an "
                       "OME-Zarr image at DEST with a pyramid: each level halves y and x (mean of 2x2 blocks, "
                       "integers rounded to nearest). Written under a hidden name beside DEST and renamed into place "
                       "once level 0's checksum equals the source's. An OME-Zarr plate becomes a plate: every "
                       "well's fields converted so, plate and well metadata kept.")
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("dest", metavar="DEST", help="the new image (a disk path; refused when it exists, unless --overwrite)")
    p.add_argument("--ome-zarr", choices=["0.5", "0.4"], default="0.5",
                   help="OME-NGFF version: 0.5 (zarr v3, default) or 0.4 (zarr v2)")
    p.add_argument("--chunks", help="chunk sizes of the trailing axes, e.g. 1,512,512 (default: 512 in y and x, "
                   "1 elsewhere)")
    p.add_argument("--shards", help="shard sizes of the trailing axes, multiples of the chunks (0.5 only; default: "
                   "no shards)")
    p.add_argument("--levels", type=int, help="levels of the pyramid, full resolution included (default: until y "
                   "and x are under 256, at most 8)")
    p.add_argument("--overwrite", action="store_true", help="replace DEST when it exists (once the new image is "
                   "complete and verified)")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    _scheduler_option(p)
    p = sub.add_parser("plate", help=SUBCOMMANDS["plate"][0],
                       description="Describe an HCS plate from its metadata (no pixel is read): kind (ome-plate, "
                       "polystore-plate, tiff-plate), version, rows, columns, wells with their fields and "
                       "acquisition, field_count, acquisitions, and notes on whatever is wrong with it. A well's "
                       "address describes its plate.")
    p.add_argument("address", help="a plate: an OME-Zarr HCS store, a polystore / OpenHCS plate folder or a "
                   "folder of plate TIFFs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _remote_options(p: argparse.ArgumentParser) -> None:
    """How remote stores (s3://, https://) are reached; never a secret on the command line."""
    group = p.add_argument_group("remote stores (s3://bucket/path, https://host/path)")
    group.add_argument("--endpoint-url", metavar="URL", help="an S3-compatible service's endpoint (default: "
                       "AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS)")
    group.add_argument("--profile", metavar="NAME", help="the ~/.aws profile whose credentials to use "
                       "(default: AWS_PROFILE, the AWS_ACCESS_KEY_ID variables, the default profile)")
    group.add_argument("--anonymous", action="store_true", help="send no credentials (public data)")


def _apply_remote_options(args: argparse.Namespace) -> None:
    if getattr(args, "endpoint_url", None) or getattr(args, "profile", None) or getattr(args, "anonymous", False):
        from .model.remote_access import RemoteOptions, set_default_options

        set_default_options(RemoteOptions(profile=args.profile, endpoint_url=args.endpoint_url,
                                          anonymous=bool(args.anonymous)))


def _scheduler_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDR", help="an existing dask.distributed scheduler, e.g. "
                   "tcp://127.0.0.1:8786 (default: dask's local threaded scheduler, one thread per core)")


def _viewer_endpoint(p: argparse.ArgumentParser) -> None:
    from .model.streaming import LOOPBACK

    p.add_argument("--port", type=int, help="the viewer's data port (default: polystore's, POLYSTORE_ZMQ_DEFAULT_PORT "
                   "or 7777; its control port is 1000 higher)")
    p.add_argument("--host", default=LOOPBACK, help=f"the interface to listen on or connect to (default {LOOPBACK}, "
                   "this machine only; 0.0.0.0 listens on every interface, with a warning: requests then come from "
                   "the network, each with the session token, unencrypted). A client on another machine sets "
                   "POLYSTORE_GUI_VIEWER_TOKEN to the viewer's token")


def build_gui_parser() -> argparse.ArgumentParser:
    """The GUI's arguments; its help is the program's help: both usages in one block, the
    GUI's options, then the subcommands (each has its own ``COMMAND --help``)."""
    width = max(map(len, SUBCOMMANDS)) + 2
    commands = "\n".join(f"  {name:<{width}}{text}" for name, (text, _) in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="polystore-gui",
        usage="polystore-gui [PATH ...] [--demo-dir DIR] [--viewer-port N] [--self-test]\n"
              "       polystore-gui COMMAND [ARGS ...]\n"
              "       polystore-gui --version",
        description="A desktop storage browser for polystore. With no COMMAND, opens the browser on\n"
        "PATHs (folders or zarr stores); with none, on the built-in demo workspace.",
        epilog=f"commands (polystore-gui COMMAND --help for each one's options):\n{commands}\n\n"
        "Addresses are BACKEND:PATH, e.g. zarr:/data/plate.zarr/A/1/0 or memory:/results;\n"
        "a bare path means disk.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="folders or zarr stores to open")
    parser.add_argument("--version", action="version", version=f"polystore-gui {__version__}")
    parser.add_argument("--demo-dir", metavar="DIR", help="where the demo workspace lives (default: user data folder)")
    parser.add_argument("--self-test", action="store_true", help="check this install: open the demo, wait until "
                        "napari draws, print a JSON report and exit (0 when it works)")
    parser.add_argument("--viewer-port", type=int, metavar="N", help="the persistent napari viewer's port (default: the "
                        "setting, else polystore's default, 7777)")
    return parser


def main(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        args = build_parser().parse_args(argv)
        _apply_remote_options(args)
        try:
            return SUBCOMMANDS[args.command][1](args)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            return EXIT_OK
    if argv and argv[0] in ("-h", "--help"):
        build_gui_parser().print_help()  # one usage block: the GUI's and the commands' together
        return EXIT_OK
    args = build_gui_parser().parse_args(argv)
    from .qt.app import run_gui

    return run_gui(args.paths, demo_dir=args.demo_dir, viewer_port=args.viewer_port, self_test=args.self_test)
