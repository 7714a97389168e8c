"""The whole-array commands: ``stats``, ``checksum`` and ``convert``, read chunk by chunk
on dask (local threads or ``--scheduler``), with progress on stderr.

Split from the one-module ``cli`` (issue 15); every name here stays importable from ``polystore_gui.cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _address, _is_local, _print_json, _shown


def _engine(args: argparse.Namespace) -> Any:
    """The dask engine the options name (None after saying why on stderr)."""
    from ..model.whole_array import Engine

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
    from ..model.whole_array import WholeArrayError

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
    from ..model.array_stats import array_statistics
    from ..model.whole_array import open_target

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


def cmd_checksum(args: argparse.Namespace) -> int:
    from ..model.checksum import checksum

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
    from ..model.chunk_shape import parse_chunk_shape

    return None if text is None else parse_chunk_shape(text, what=f"--{what}", allow_plane=False)


def cmd_convert(args: argparse.Namespace) -> int:
    from ..model.convert import convert, plan_conversion

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
        from ..model.convert_plate import convert_plate, plate_attributes

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
