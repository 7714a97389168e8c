#!/usr/bin/env python
"""Transfer benchmark: polystore-gui's verified copies beside ``cp -r`` and polystore alone.

Data (made once under ``benchmarks/_data``, uncompressed so that sizes are real):

- ``z4m``: a 1 GiB zarr v3 array, uint16 (256, 1024, 2048), chunks of 4 MiB (256 files);
- ``z32k``: the same 1 GiB with chunks (1, 128, 128) = 32 KiB (32,768 files);
- ``z4g``: a 4 GiB array, 4 MiB chunks (peak-memory case);
- ``tiffs``: a folder of 500 TIFF images, 512 x 512 uint16.

Cases, each in one process, interleaved round by round (warm page cache; every time
includes the flush to disk: ``syncfs`` of the destination):

- zarr to zarr at 4 MiB and at 32 KiB chunks: ``transfers`` (copy, byte comparison, flush,
  rename) against ``cp -r`` + ``sync -f``. Targets: within 1.3x and 1.5x of cp.
- 256 MiB from polystore's memory backend into a zarr group: ``transfers`` (zarr v3, one
  chunk per plane) against polystore's ``save`` with its defaults (one chunk, zlib 3).
  Target: 100 MB/s or better.
- 500 TIFFs into a zarr store: ``transfers`` (a store polystore lists and loads) against a
  plain loop of polystore ``load`` (disk) / ``save`` (zarr). Target: faster.
- Peak memory (``ru_maxrss`` of a fresh process) copying the 1 GiB and the 4 GiB array
  zarr to zarr. Target: the same for both sizes.
- Cancel: time from the cancel flag to ``run_item`` returning (target 100 ms); GUI: the
  longest GUI-thread stall while the window copies the 1 GiB store (target 50 ms).

Run: ``xvfb-run -a python benchmarks/bench_transfers.py [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
MiB = 1 << 20


# -- data ----------------------------------------------------------------------------------------


def _make_array(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...]) -> None:
    import numpy as np
    import zarr

    if (path / ".done").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    out = zarr.create_array(str(path), shape=shape, chunks=chunks, dtype="uint16", compressors=None, fill_value=0)
    rng = np.random.default_rng(0)
    step = max(1, chunks[0])
    for i in range(0, shape[0], step):
        out[i:i + step] = rng.integers(0, 65535, (min(step, shape[0] - i), *shape[1:]), dtype=np.uint16)
    (path / ".done").write_text("ok\n")


def ensure_data() -> dict[str, Path]:
    import numpy as np
    import tifffile

    base = C.DATA_DIR / "transfers"
    base.mkdir(parents=True, exist_ok=True)
    data = {"z4m": base / "z4m.zarr", "z32k": base / "z32k.zarr", "z4g": base / "z4g.zarr", "tiffs": base / "tiffs"}
    _make_array(data["z4m"], (256, 1024, 2048), (1, 1024, 2048))
    _make_array(data["z32k"], (256, 1024, 2048), (1, 128, 128))
    _make_array(data["z4g"], (1024, 1024, 2048), (1, 1024, 2048))
    if not (data["tiffs"] / ".done").exists():
        shutil.rmtree(data["tiffs"], ignore_errors=True)
        data["tiffs"].mkdir()
        rng = np.random.default_rng(1)
        for i in range(500):
            tifffile.imwrite(data["tiffs"] / f"A{i // 24 + 1:02d}_s{i % 24 + 1:02d}.tif",
                             rng.integers(0, 4096, (512, 512), dtype=np.uint16), photometric="minisblack")
        (data["tiffs"] / ".done").write_text("ok\n")
    return data


# -- one case per process -------------------------------------------------------------------------


def _sync(path: str) -> None:
    subprocess.run(["sync", "-f", path], check=True)


def _ours(source: str, dest_folder: str, backend_from: str = "disk", backend_to: str = "disk") -> dict[str, Any]:
    from polystore_gui.model import transfers
    from polystore_gui.model.address import Address

    t = time.perf_counter()
    (item,) = transfers.plan([Address(backend_from, source)], Address(backend_to, dest_folder))
    gen = transfers.run_item(item)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        outcome = stop.value
    elapsed = time.perf_counter() - t
    if outcome.status != "done":
        return {"error": outcome.message}
    return {"s": elapsed, "bytes": outcome.nbytes}


def case_main(case: str, args: list[str]) -> None:
    os.environ.setdefault("QT_API", "pyqt6")
    result: dict[str, Any]
    scratch = Path(args[0])
    if case == "cp":
        source = args[1]
        t = time.perf_counter()
        subprocess.run(["cp", "-r", source, str(scratch)], check=True)
        _sync(str(scratch))
        result = {"s": time.perf_counter() - t}
    elif case == "ours":
        result = _ours(args[1], str(scratch), args[2], args[3])
    elif case == "memory-ours":
        import numpy as np
        import zarr
        from polystore.backend_registry import get_backend_instance

        memory = get_backend_instance("memory")
        memory.ensure_directory("/bench")
        memory.save(np.random.default_rng(2).integers(0, 65535, (64, 1024, 2048), dtype=np.uint16), "/bench/stack")
        zarr.open_group(str(scratch / "g.zarr"), mode="w")
        result = _ours("/bench/stack", str(scratch / "g.zarr"), "memory", "zarr")
    elif case == "memory-polystore":
        import numpy as np
        from polystore import FileManager
        from polystore.backend_registry import create_storage_registry

        fm = FileManager(create_storage_registry())
        data = np.random.default_rng(2).integers(0, 65535, (64, 1024, 2048), dtype=np.uint16)
        t = time.perf_counter()
        fm.save(data, str(scratch / "images" / "stack.tif"), "zarr")
        _sync(str(scratch))
        result = {"s": time.perf_counter() - t, "bytes": data.nbytes}
    elif case == "tiffs-ours":
        import zarr

        zarr.open_group(str(scratch / "out.zarr"), mode="w", zarr_format=2)
        result = _ours(args[1], str(scratch / "out.zarr"), "disk", "zarr")
    elif case == "tiffs-polystore":
        from polystore import FileManager
        from polystore.backend_registry import create_storage_registry

        fm = FileManager(create_storage_registry())
        names = sorted(n for n in os.listdir(args[1]) if n.endswith(".tif"))
        t = time.perf_counter()
        for name in names:
            fm.save(fm.load(os.path.join(args[1], name), "disk"), str(scratch / "out" / "images" / name), "zarr")
        _sync(str(scratch))
        result = {"s": time.perf_counter() - t}
    elif case == "peak":
        result = _ours(args[1], str(scratch), args[2], args[3])
        result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elif case == "cancel":
        result = _cancel(args[1], str(scratch))
    elif case == "gui":
        result = _gui(args[1], str(scratch))
    else:
        raise SystemExit(f"unknown case {case}")
    C.emit_result(result)


def _cancel(source: str, dest: str) -> dict[str, Any]:
    import threading

    from polystore_gui.model import transfers
    from polystore_gui.model.address import Address

    latencies = []
    for kind in ("file", "tree"):
        src = source if kind == "tree" else os.path.join(source, "c", "0", "0", "0")
        if kind == "file":
            big = os.path.join(dest, "..", "cancel-src.bin")
            with open(big, "wb") as fh:
                fh.truncate(4 << 30)
            src = big
        flag = threading.Event()
        (item,) = transfers.plan([Address("disk", src)], Address("disk", dest))
        gen = transfers.run_item(item, cancelled=flag.is_set)
        next(gen)
        for _ in range(3):
            next(gen)
        flag.set()
        t = time.perf_counter()
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            assert stop.value.status == "cancelled", stop.value
        latencies.append((kind, (time.perf_counter() - t) * 1000))
        transfers.settle()
        assert not os.listdir(dest), os.listdir(dest)
    return {"cancel_ms": dict(latencies)}


def _gui(source: str, dest: str) -> dict[str, Any]:
    from qtpy.QtCore import QEventLoop
    from qtpy.QtWidgets import QApplication

    from polystore_gui.model.address import Address
    from polystore_gui.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow([])
    window.show()
    heartbeat = C.Heartbeat()
    loop = QEventLoop()
    window.transfer_queue.transferFinished.connect(lambda _s: loop.quit())
    heartbeat.start()
    t = time.perf_counter()
    start = time.monotonic()
    window.transfer([Address("disk", source)], Address("disk", dest))
    loop.exec()
    elapsed = time.perf_counter() - t
    heartbeat.stop()
    stats = heartbeat.stats(start)
    window.shutdown()
    window.close()
    app.processEvents()
    return {"s": elapsed, "max_stall_ms": stats["max_stall_ms"], "gaps_over_50ms": stats["gaps_over_50ms"]}


# -- the harness -----------------------------------------------------------------------------------


def run(case: str, *args: str) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-transfer-", dir=str(C.DATA_DIR)))
    try:
        return C.run_case(SCRIPT, case, [str(scratch), *args], timeout=900)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        big = scratch.parent / "cancel-src.bin"
        if big.exists():
            big.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("rest", nargs="*")
    args, extra = parser.parse_known_args()
    if args.case:
        case_main(args.case, [*args.rest, *extra])
        return 0
    C.ensure_display(SCRIPT)
    data = ensure_data()
    load_before = C.load_average()
    pairs = {
        "zarr→zarr 4 MiB chunks": (("ours", str(data["z4m"]), "zarr", "disk"), ("cp", str(data["z4m"])), 1.3),
        "zarr→zarr 32 KiB chunks": (("ours", str(data["z32k"]), "zarr", "disk"), ("cp", str(data["z32k"])), 1.5),
        "memory→zarr 256 MiB": (("memory-ours",), ("memory-polystore",), None),
        "500 TIFFs→zarr store": (("tiffs-ours", str(data["tiffs"])), ("tiffs-polystore", str(data["tiffs"])), 1.0),
    }
    results: dict[str, dict[str, list[dict[str, Any]]]] = {name: {"ours": [], "peer": []} for name in pairs}
    busy: list[float] = []
    for round_ in range(args.rounds):
        for name, (ours, peer, _target) in pairs.items():
            for side, spec in (("ours", ours), ("peer", peer)) if round_ % 2 == 0 else (("peer", peer), ("ours", ours)):
                r = run(*spec)
                results[name][side].append(r)
                if r.get("cpu_busy_before") is not None:
                    busy.append(r["cpu_busy_before"])
                print(f"  round {round_} {name} {side}: {r.get('s', r.get('error'))}", file=sys.stderr, flush=True)
    peaks = {
        "zarr→zarr 1 GiB": run("peak", str(data["z4m"]), "zarr", "disk"),
        "zarr→zarr 4 GiB": run("peak", str(data["z4g"]), "zarr", "disk"),
    }
    cancel = run("cancel", str(data["z4m"]))
    gui = run("gui", str(data["z4m"]))

    rows = []
    verdicts = []
    for name, (ours, peer, target) in pairs.items():
        o = [r["s"] for r in results[name]["ours"] if "s" in r]
        p = [r["s"] for r in results[name]["peer"] if "s" in r]
        if not o or not p:
            rows.append([name, "error", "error", "—", "—"])
            verdicts.append(f"{name}: ERROR {results[name]}")
            continue
        mo, mp = statistics.median(o), statistics.median(p)
        mbs = (1 << 30 if "zarr→zarr" in name else (256 * MiB if "memory" in name else 500 * 512 * 512 * 2)) / 1e6 / mo
        rows.append([name, f"{mo:.2f} s ({min(o):.2f}–{max(o):.2f})", f"{mp:.2f} s ({min(p):.2f}–{max(p):.2f})",
                     f"{mo / mp:.2f}x", f"{mbs:.0f} MB/s"])
        if target is not None:
            verdicts.append(f"{name}: {mo / mp:.2f}x the peer ({'met' if mo / mp <= target else 'MISSED'}: target <= {target}x)")
        else:
            verdicts.append(f"{name}: {mbs:.0f} MB/s ({'met' if mbs >= 100 else 'MISSED'}: target >= 100 MB/s); "
                            f"polystore's save: {mp:.2f} s")
    table = C.markdown_table(["case", "polystore-gui (median, range)", "peer (median, range)", "ratio", "throughput"], rows)
    peak_rows = [[k, f"{v.get('maxrss_mib', float('nan')):.0f} MiB", f"{v.get('s', float('nan')):.2f} s"] for k, v in peaks.items()]
    table += "\n\nPeak memory (ru_maxrss of the copying process):\n\n" + C.markdown_table(["copy", "peak RSS", "time"], peak_rows)
    p1, p4 = (peaks["zarr→zarr 1 GiB"].get("maxrss_mib"), peaks["zarr→zarr 4 GiB"].get("maxrss_mib"))
    if p1 and p4:
        verdicts.append(f"peak memory 1 GiB vs 4 GiB: {p1:.0f} vs {p4:.0f} MiB "
                        f"({'met' if p4 <= p1 * 1.1 + 16 else 'MISSED'}: the same for both sizes)")
    cms = cancel.get("cancel_ms") or {}
    table += f"\n\nCancel latency: {json.dumps(cms)} ms. GUI copying the 1 GiB store: {gui.get('s', 0):.2f} s, " \
             f"longest stall {gui.get('max_stall_ms')} ms, gaps over 50 ms: {gui.get('gaps_over_50ms')}."
    if cms:
        worst = max(cms.values())
        verdicts.append(f"cancel: {worst:.0f} ms worst ({'met' if worst <= 100 else 'MISSED'}: target <= 100 ms)")
    if gui.get("max_stall_ms") is not None:
        verdicts.append(f"GUI stall while copying: {gui['max_stall_ms']:.0f} ms "
                        f"({'met' if gui['max_stall_ms'] <= 50 else 'MISSED'}: target <= 50 ms)")
    C.publish("bench_transfers", "transfers", table, verdicts, busy, load_before,
              results=results, peaks=peaks, cancel=cancel, gui=gui)
    return 0


if __name__ == "__main__":
    sys.exit(main())
