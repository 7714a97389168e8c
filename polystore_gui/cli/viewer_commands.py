"""The persistent napari viewer's commands: ``viewer`` (run it, or ``--status`` / ``--stop``
the running one) and ``send`` (stream arrays to it).

Split from the one-module ``cli`` (issue 15); every name here stays importable from ``polystore_gui.cli``.
"""

from __future__ import annotations

import argparse
import sys

from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _address, _human_size, _print_json


def _port(args: argparse.Namespace) -> int:
    from ..model.streaming import default_port

    return int(args.port) if args.port is not None else default_port()


def cmd_viewer(args: argparse.Namespace) -> int:
    from ..model import streaming

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
    from ..viewer.server import main as run_viewer

    return run_viewer(port, args.host)


def cmd_send(args: argparse.Namespace) -> int:
    from ..model import streaming
    from ..model.catalogue import close_connections

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
