"""``cp``: copy or move entries between backends (remote stores included), verified,
resumable, with the transfer engine's refusals said plainly.

Split from the one-module ``cli`` (issue 15); every name here stays importable from ``polystore_gui.cli``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _address, _human_size, _shown


def _cancelled_by_signals() -> Any:
    """A cancel token set by Ctrl-C (SIGINT) or SIGTERM: a copy stops at its next check and
    leaves nothing partial, rather than dying mid-write."""
    import signal

    from ..model.cancel import CancelToken

    token = CancelToken()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_a: token.cancel())
    return token

def cmd_cp(args: argparse.Namespace) -> int:
    from ..model import transfers

    sources = [_address(text) for text in args.sources]
    destination = _address(args.destination)
    if destination is None or any(s is None for s in sources):
        return EXIT_USAGE
    from ..model.remote_address import is_remote_path

    if any(is_remote_path(a.path) for a in (*sources, destination)):
        return _cp_remote(args, sources, destination)
    from ..model.chunk_shape import ChunkShapeError, parse_chunk_shape

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
    cancelled = _cancelled_by_signals()
    bar = sys.stderr.isatty()
    failures = 0
    for item in items:
        gen = transfers.run_item(item, cancelled=cancelled)
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
    from ..model.remote_address import is_remote_path
    from ..model.remote_copy import CopyError, copy_to_local, copy_to_remote
    from ..model.remote_errors import RemoteError

    if args.move or args.on_conflict == "rename" and is_remote_path(destination.path):
        print("polystore-gui: cp with a remote store: --move and, into S3, --on-conflict rename are not "
              "supported; nothing was done", file=sys.stderr)
        return EXIT_USAGE
    cancelled = _cancelled_by_signals()
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
                                       cancelled=cancelled, progress=show)
            elif is_remote_path(destination.path) and not is_remote_path(source.path):
                report = copy_to_remote(source.path, destination.path, on_conflict=args.on_conflict,
                                        cancelled=cancelled, progress=show)
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
