"""The command line: the model's functions, printed as text or JSON.

``polystore-gui [PATH ...]`` opens the GUI; the subcommands below never import Qt.

The package's ``__init__`` holds the argument parsers and ``main``; the commands live in its modules by concern
(issue 15): ``browse`` (backends, ls, info, chunks, plate, demo), ``viewer_commands`` (viewer,
send), ``transfers`` (cp), ``whole_array`` (stats, checksum, convert) and ``common`` (what
they share). Every name is importable from ``polystore_gui.cli`` as before.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .. import __version__

# The commands, split by concern (issue 15); every name stays importable from here.
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    _ESCAPES,
    _address,
    _human_size,
    _is_local,
    _known_backends,
    _print_json,
    _shown,
)
from .browse import (
    _consolidated_lines,
    _plate_facts,
    _print_chunk_report,
    cmd_backends,
    cmd_chunks,
    cmd_demo,
    cmd_info,
    cmd_ls,
    cmd_plate,
)
from .viewer_commands import _port, cmd_send, cmd_viewer
from .transfers import _cp_remote, cmd_cp
from .whole_array import (
    _chunk_progress,
    _disk_zarr_path,
    _end_progress,
    _engine,
    _print_stats,
    _sizes_option,
    _whole_array_run,
    cmd_checksum,
    cmd_convert,
    cmd_stats,
)


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
    _remote_options(p)
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
        from ..model.remote_access import RemoteOptions, set_default_options

        set_default_options(RemoteOptions(profile=args.profile, endpoint_url=args.endpoint_url,
                                          anonymous=bool(args.anonymous)))


def _scheduler_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDR", help="an existing dask.distributed scheduler, e.g. "
                   "tcp://127.0.0.1:8786 (default: dask's local threaded scheduler, one thread per core)")


def _viewer_endpoint(p: argparse.ArgumentParser) -> None:
    from ..model.streaming import LOOPBACK

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
    from ..qt.app import run_gui

    return run_gui(args.paths, demo_dir=args.demo_dir, viewer_port=args.viewer_port, self_test=args.self_test)
