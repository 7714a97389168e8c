#!/usr/bin/env python
"""Whole-array benchmark (issue 18): exact statistics and conversion beside their peers.

Data (made once under ``benchmarks/_data/whole_array``, git-ignored): zarr v3 arrays of
uint16 noise (12 bits, a different offset per plane), 8192 x 8192 planes, chunks
(1, 1024, 1024) = 2 MiB, zarr's default codecs (zstd):

- ``a4g``: 32 planes = 4 GiB (2,048 chunks);
- ``a1g``: 8 planes = 1 GiB (the first 8 planes of ``a4g``: same chunks, same codecs).

Cases, each in a fresh interpreter (its peak RSS is ``ru_maxrss`` of that process):

- ``floor``: every chunk read once with zarr (``arr[region]`` per chunk, one thread per
  CPU), nothing else: the decode floor.
- ``ours``: ``model.array_stats.array_statistics`` (exact min/max/mean/std/percentiles,
  per-value histogram), on the local threaded scheduler.
- ``ours_breakdown`` (a diagnostic, not in the tables): ``ours`` with its resident set
  (anonymous / file-backed) after the imports, llvmlite's import, the loop's build, and
  the run's sampled peak: ``--case ours_breakdown PATH``.
- ``naive``: what a user would write with ``dask.array``: ``da.from_zarr``, then
  ``dask.compute(da.min(x), da.max(x))``, then ``da.histogram(x, bins=256, range=...)``.
- ``convert``: ``model.convert`` of ``a1g`` into OME-Zarr 0.5 (pyramid, verified), beside
  ``ome_zarr.writer.write_image`` of ``da.from_zarr(a1g)`` with the same levels and chunks
  (zarr v3, OME-Zarr 0.5; no verification). Both write zarr's default codecs (bytes, then
  zstd level 0, no checksum). Their pyramids differ: ours are 2x2 means, write_image's
  (``Scaler()``'s default) nearest, i.e. strided, which costs nothing. Throughput =
  source bytes / wall time; ``cpu_s`` (the process's CPU time over the case, every
  thread) is the figure that a busy machine disturbs least.

Targets: ours <= 1.2x the floor, >= 2x quicker than naive; peak RSS flat from 1 to 4 GiB;
conversion no slower than write_image.

Run: ``.venv/bin/python benchmarks/bench_whole_array.py [--rounds 2] [--only stats,convert] [--cases floor,ours]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as C  # noqa: E402

SCRIPT = str(Path(__file__).resolve())
DATA = C.DATA_DIR / "whole_array"
PLANE = 8192
CHUNK = (1, 1024, 1024)
GiB = 1 << 30


# -- data ----------------------------------------------------------------------------------------


def make_data() -> None:
    """Write ``a4g`` once, then ``a1g`` as its first 8 planes (chunk files copied)."""
    import json

    import numpy as np
    import zarr

    big, small = DATA / "a4g", DATA / "a1g"
    if not (big / ".done").exists():
        shutil.rmtree(big, ignore_errors=True)
        DATA.mkdir(parents=True, exist_ok=True)
        arr = zarr.create_array(str(big), shape=(32, PLANE, PLANE), chunks=CHUNK, dtype="uint16", fill_value=0)
        rng = np.random.default_rng(18)
        for z in range(32):
            plane = rng.integers(0, 4096, size=(PLANE, PLANE), dtype=np.uint16)
            plane += np.uint16(100 * z)
            arr[z] = plane
            print(f"  a4g plane {z + 1}/32", file=sys.stderr, flush=True)
        (big / ".done").touch()
    if not (small / ".done").exists():
        shutil.rmtree(small, ignore_errors=True)
        small.mkdir(parents=True)
        meta = json.loads((big / "zarr.json").read_text())
        meta["shape"][0] = 8
        (small / "zarr.json").write_text(json.dumps(meta))
        for z in range(8):
            shutil.copytree(big / "c" / str(z), small / "c" / str(z))
        (small / ".done").touch()


# -- cases (child side) --------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_floor(path: str) -> dict[str, Any]:
    import concurrent.futures
    import itertools

    import zarr

    arr = zarr.open_array(path, mode="r")
    grid = [range(0, n, c) for n, c in zip(arr.shape, arr.chunks)]
    regions = [tuple(slice(s, s + c) for s, c in zip(start, arr.chunks)) for start in itertools.product(*grid)]
    t = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for _ in pool.map(lambda r: arr[r].shape, regions):
            pass
    return {"seconds": time.monotonic() - t, "chunks": len(regions)}


def case_ours(path: str) -> dict[str, Any]:
    import dask.array  # noqa: F401  (imported before the clock, as in the naive case)

    from polystore_gui.model.array_stats import array_statistics
    from polystore_gui.model.whole_array import open_target

    t, cpu = time.monotonic(), time.process_time()
    result = array_statistics(open_target("zarr", path))
    s = result["stats"]
    return {"seconds": time.monotonic() - t, "cpu_s": time.process_time() - cpu, "min": s["min"], "max": s["max"],
            "count": s["count"]}


def _memory_mib() -> dict[str, float]:
    """This process's resident set now (VmRSS = RssAnon + RssFile + RssShmem) and its peak
    (VmHWM, what ``ru_maxrss`` reports), from /proc/self/status, in MiB."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                found[key] = int(rest.split()[0]) / 1024
    return found


def case_ours_breakdown(path: str) -> dict[str, Any]:
    """``ours`` with its memory at each step (issue 15): after the imports, after llvmlite's
    import, after the counting loop's build (which hands LLVM's pages back), and the run's
    own peak, sampled every 5 ms with its anonymous / file-backed split."""
    import threading

    points = {"start": _memory_mib()}
    import dask.array  # noqa: F401
    import numpy as np

    from polystore_gui.model.array_stats import array_statistics
    from polystore_gui.model.value_counts import warm
    from polystore_gui.model.whole_array import open_target

    points["imports"] = _memory_mib()
    try:
        import llvmlite.binding  # noqa: F401
    except ImportError:
        pass
    points["llvmlite_imported"] = _memory_mib()
    warm(np.dtype("uint16"))
    points["loop_built"] = _memory_mib()
    sampled: dict[str, float] = {"VmRSS": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            now = _memory_mib()
            if now["VmRSS"] > sampled["VmRSS"]:
                sampled.update(now)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t, cpu = time.monotonic(), time.process_time()
    result = array_statistics(open_target("zarr", path))
    seconds, cpu_s = time.monotonic() - t, time.process_time() - cpu
    done.set()
    sampler.join()
    points["after_run"] = _memory_mib()
    points["run_peak_sampled"] = sampled
    return {"seconds": seconds, "cpu_s": cpu_s, "max": result["stats"]["max"], "memory_mib": points}


def case_naive(path: str) -> dict[str, Any]:
    import dask
    import dask.array as da

    t = time.monotonic()
    x = da.from_zarr(path)
    mn, mx = dask.compute(da.min(x), da.max(x))
    counts, _ = da.histogram(x, bins=256, range=(int(mn), int(mx) + 1))
    counts = counts.compute()
    return {"seconds": time.monotonic() - t, "min": int(mn), "max": int(mx), "count": int(counts.sum())}


def case_convert_ours(path: str, dest: str) -> dict[str, Any]:
    import dask.array  # noqa: F401
    import zarr  # noqa: F401

    from polystore_gui.model.convert import convert, plan_conversion

    t, cpu = time.monotonic(), time.process_time()
    plan = plan_conversion("zarr", path, dest, version="0.5", chunks=CHUNK, levels=4, overwrite=True)
    report = convert(plan)
    return {"seconds": time.monotonic() - t, "cpu_s": time.process_time() - cpu, "levels": report["levels"],
            "axes": report["axes"]}


def case_convert_peer(path: str, dest: str) -> dict[str, Any]:
    import dask.array as da
    import zarr
    from ome_zarr.scale import Scaler
    from ome_zarr.writer import write_image

    t, cpu = time.monotonic(), time.process_time()
    x = da.from_zarr(path)
    shutil.rmtree(dest, ignore_errors=True)
    group = zarr.open_group(dest, mode="w", zarr_format=3)
    write_image(x, group, axes="zyx", scaler=Scaler(max_layer=3), storage_options={"chunks": CHUNK})
    paths = [d["path"] for d in group.attrs["ome"]["multiscales"][0]["datasets"]]
    levels = [list(zarr.open_array(os.path.join(dest, p), mode="r").shape) for p in paths]
    return {"seconds": time.monotonic() - t, "cpu_s": time.process_time() - cpu, "levels": levels}


def child(case: str, args: list[str]) -> None:
    fn = {"floor": case_floor, "ours": case_ours, "ours_breakdown": case_ours_breakdown, "naive": case_naive,
          "convert_ours": case_convert_ours, "convert_peer": case_convert_peer}[case]
    result = fn(*args)
    result["peak_rss_mib"] = _peak_rss_mib()
    C.emit_result(result)


# -- parent --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case")
    parser.add_argument("args", nargs="*")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="stats,convert")
    parser.add_argument("--cases", default="floor,ours,naive",
                        help="which stats cases to run (e.g. floor,ours to compare against the floor alone)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    opts = parser.parse_args()
    if opts.case:
        child(opts.case, opts.args)
        return
    make_data()
    only = set(opts.only.split(","))
    load_before = C.warn_if_busy()
    runs: dict[str, list[dict[str, Any]]] = {}
    busy: list[float] = []

    def run(label: str, case: str, *args: str) -> None:
        load, cpu = C.load_average(), C.cpu_busy()  # other work on the CPUs right before the case
        result = C.run_case(SCRIPT, case, args, timeout=opts.timeout, quiet=False)
        result["load_before"], result["cpu_busy_before"] = load, cpu
        if result.get("cpu_busy_before") is not None:
            busy.append(result["cpu_busy_before"])
        runs.setdefault(label, []).append(result)
        shown = {k: v for k, v in result.items() if k in ("seconds", "cpu_s", "peak_rss_mib", "error", "stderr")}
        print(f"{label}: {shown}", file=sys.stderr, flush=True)

    for _ in range(opts.rounds):
        if "stats" in only:
            for size in ("a1g", "a4g"):
                path = str(DATA / size)
                for case in [c for c in ("floor", "ours", "naive") if c in opts.cases.split(",")]:
                    run(f"{case} {size}", case, path)
        if "convert" in only:
            src = str(DATA / "a1g")
            run("convert ours a1g", "convert_ours", src, str(DATA / "out_ours.ome.zarr"))
            run("convert write_image a1g", "convert_peer", src, str(DATA / "out_peer.ome.zarr"))
    for out in ("out_ours.ome.zarr", "out_peer.ome.zarr"):
        shutil.rmtree(DATA / out, ignore_errors=True)

    def med(label: str, key: str = "seconds") -> float | None:
        values = [r[key] for r in runs.get(label, []) if key in r]
        return statistics.median(values) if values else None

    summary: dict[str, Any] = {}
    for size, nbytes in (("a1g", GiB), ("a4g", 4 * GiB)):
        floor, ours, naive = med(f"floor {size}"), med(f"ours {size}"), med(f"naive {size}")
        if floor is None or ours is None:
            continue
        summary[size] = {"floor_s": floor, "ours_s": ours, "naive_s": naive, "ours_over_floor": ours / floor,
                         "naive_over_ours": naive / ours if naive is not None else None,
                         "ours_gib_s": nbytes / GiB / ours,
                         "rss_mib": {c: med(f"{c} {size}", "peak_rss_mib") for c in ("floor", "ours", "naive")}}
    conv_ours, conv_peer = med("convert ours a1g"), med("convert write_image a1g")
    if conv_ours and conv_peer:
        summary["convert_a1g"] = {"ours_s": conv_ours, "write_image_s": conv_peer, "ours_mib_s": 1024 / conv_ours,
                                  "write_image_mib_s": 1024 / conv_peer,
                                  "cpu_s": {"ours": med("convert ours a1g", "cpu_s"),
                                            "write_image": med("convert write_image a1g", "cpu_s")},
                                  "rss_mib": {"ours": med("convert ours a1g", "peak_rss_mib"),
                                              "write_image": med("convert write_image a1g", "peak_rss_mib")}}
    payload = {"machine": C.machine_info(), "load_before": load_before, "load_after": C.load_average(),
               "rounds": opts.rounds, "summary": summary, "runs": runs}
    name = "bench_whole_array" + ("" if only == {"stats", "convert"} else "_" + "_".join(sorted(only)))
    path = C.write_json(name, payload)
    print(f"results: {path}", file=sys.stderr)
    import json

    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
