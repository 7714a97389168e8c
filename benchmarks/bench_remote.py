"""Remote stores (issue 17): polystore-gui beside zarr-python / napari-ome-zarr / the bare
client, on the same stores behind 50 ms of added latency per request.

Servers (their own process, so that they never share an interpreter lock with the
measured client): moto's S3 (``ThreadedMotoServer``) and a static HTTP host without
listings (``tests/remote_servers.py``), both on 127.0.0.1, both adding 50 ms per request.

Data (made once under benchmarks/_data/remote, written by zarr-python):

- ``pyramid.zarr``: OME-NGFF 0.5, 2 channels x 8 z x 4096 x 4096 uint16, 4 levels, chunks
  (1, 1, 512, 512), every plane written;
- ``sharded.zarr``: zarr v3, 8 x 8192 x 8192 uint16, shards (1, 4096, 4096), chunks
  (1, 512, 512), planes 3 (the one the window shows) and 4 written;
- ``bulk.zarr``: 1 GiB of incompressible uint16 in 1 MiB chunks (1,024 objects), for copies;
- ``many.zarr``: an array of 100,000 one-element chunks (100,000 objects), for the chunk scan.

Cases, each in a fresh interpreter, clocks started after the imports:

- ``first_frame``: the pixels of the first frame, i.e. the middle z plane (the one the window
  shows first, ``(n - 1) // 2``) of every channel
  at the first level no larger than 1024 x 1024 (what napari draws first), plus the
  labels; the sharded array's shown plane (3 of 8; plane 4 until 2026-12-05 14:50, when
  plane 3 held nothing and ours sampled it before reading plane 4). Ours (adapter.open_preview + those pixels)
  against zarr-python opening the URL itself and napari-ome-zarr's reader (pyramid);
- ``requests``: requests the server saw for our first frame of the pyramid, against the
  chunks on screen plus the metadata documents the image has. The first frame here is what
  napari reads to draw it: the shown level's plane and the same plane of the smallest level,
  which napari 0.9 reads for the layer's thumbnail whatever level it shows
  (``ScalarFieldBase._make_slice_request``: ``data[self._thumbnail_level]``, the last level);
- ``scan``: the chunk map of ``many.zarr`` against a bare listing of the same prefix
  with the same client (obstore);
- ``copy``: ``bulk.zarr`` S3 → disk with ``cp`` (verified, staged) against the same client
  listing and fetching every object into files (``aws s3 cp --recursive``'s work);
- ``gui``: the window's longest stall (5 ms heartbeat) while it opens the S3 store, lists
  it, previews the pyramid and maps the sharded array's chunks.

    python benchmarks/bench_remote.py [--repeat 3] [--quick]   (--quick: 128 MiB bulk, 10,000 objects)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
from _common import (  # noqa: E402
    DATA_DIR,
    emit_result,
    fmt_s,
    machine_info,
    markdown_table,
    run_case,
    summarize,
    write_json,
)

DATA = DATA_DIR / "remote"
LATENCY = 0.05
BUCKET = "bench"


# -- data ----------------------------------------------------------------------------------------


def make_data(quick: bool) -> Path:
    import numpy as np
    import zarr

    root = DATA / ("quick" if quick else "full")
    marker = root / ".complete"
    if marker.exists():
        _write_shown_plane(root)
        return root
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    group = zarr.open_group(str(root / "pyramid.zarr"), mode="w", zarr_format=3)
    datasets = []
    for level in range(4):
        n = 4096 >> level
        arr = group.create_array(str(level), shape=(2, 8, n, n), chunks=(1, 1, 512, 512), dtype="uint16",
                                 dimension_names=["c", "z", "y", "x"])
        for c in range(2):
            for z in range(8):
                arr[c, z] = rng.integers(0, 4000, (n, n), dtype=np.uint16)
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 1.0, 2.0 ** level, 2.0 ** level]}]})
    axes = [{"name": "c", "type": "channel"}, {"name": "z", "type": "space"},
            {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    group.attrs["ome"] = {"version": "0.5", "multiscales": [{"axes": axes, "datasets": datasets}]}
    sharded = zarr.open_group(str(root / "sharded.zarr"), mode="w", zarr_format=3).create_array(
        "data", shape=(8, 8192, 8192), shards=(1, 4096, 4096), chunks=(1, 512, 512), dtype="uint16", fill_value=0)
    sharded[4] = rng.integers(0, 4000, (8192, 8192), dtype=np.uint16)
    sharded[_shown_plane(8)] = rng.integers(0, 4000, (8192, 8192), dtype=np.uint16)
    bulk_planes = 2 if quick else 16
    bulk = zarr.create_array(str(root / "bulk.zarr"), shape=(bulk_planes, 8192, 4096), chunks=(1, 512, 1024),
                             dtype="uint16", compressors=None, overwrite=True)
    for p in range(bulk_planes):
        bulk[p] = rng.integers(0, 65535, (8192, 4096), dtype=np.uint16)
    count = 10_000 if quick else 100_000
    many = zarr.create_array(str(root / "many.zarr"), shape=(count,), chunks=(1,), dtype="uint8",
                             compressors=None, overwrite=True)
    many[:] = 1
    (root / ".shown-plane").write_text("ok")
    marker.write_text("ok")
    return root


def _write_shown_plane(root: Path) -> None:
    """Data made before 2026-12-05 14:50 wrote only plane 4 of ``sharded.zarr``: add the
    plane the window shows (written once, marked)."""
    import numpy as np
    import zarr

    marker = root / ".shown-plane"
    if marker.exists():
        return
    sharded = zarr.open_array(str(root / "sharded.zarr" / "data"), mode="r+")
    sharded[_shown_plane(sharded.shape[0])] = np.random.default_rng(3).integers(0, 4000, sharded.shape[1:],
                                                                               dtype=np.uint16)
    marker.write_text("ok")


# -- servers (their own process) -----------------------------------------------------------------


def serve(root: Path) -> None:
    """Start both servers on ``root``'s stores; print their addresses; answer 'count' on stdin."""
    from moto.backends import get_backend

    from tests.remote_servers import LatencyHTTPServer, MotoS3

    http = LatencyHTTPServer(str(root), latency=LATENCY).start()
    s3 = MotoS3(latency=LATENCY)
    s3._server.start()
    backend = get_backend("s3")["123456789012"]["global"]
    backend.create_bucket(BUCKET, "us-east-1")
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name not in (".complete", ".shown-plane"):
            key = backend.put_object(BUCKET, path.relative_to(root).as_posix(), path.read_bytes())
            # S3 keeps an object's ETag from its upload; moto computes it (an MD5 of the whole
            # object) when a listing or a read first asks. Left lazy, the first run after the
            # servers start made moto hash the 1 GiB of bulk.zarr (1.3-1.7 s of its CPU, on
            # the cores the client uses): the first copy round was 0.57-0.61x, whichever tool.
            key.etag  # noqa: B018  (the property computes and keeps it)
    print(json.dumps({"http": http.url, "s3": s3.endpoint}), flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(json.dumps({"http": http.count(), "s3": s3.requests, "busy": http.busy + s3.busy,
                              "cpu_s": time.process_time()}), flush=True)
    http.stop()
    s3.stop()


class Servers:
    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(root)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.urls = json.loads(self.proc.stdout.readline())

    def count(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())  # type: ignore[no-any-return]

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until neither server is answering a request: a run's requests still in flight
        when its process exits (a background search's) must not slow the next tool's run."""
        deadline = time.monotonic() + timeout
        while self.count()["busy"] and time.monotonic() < deadline:
            time.sleep(0.05)  # polling another process's counter, not a test's synchronisation

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def _env(endpoint: str) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


# -- cases (in a fresh interpreter) --------------------------------------------------------------


def _first_level(levels: list[Any]) -> int:
    for i, level in enumerate(levels):
        if max(level.shape[-2:]) <= 1024:
            return i
    return len(levels) - 1


def _shown_plane(n: int) -> int:
    """The z plane the window shows first (``model.contrast.middle_index``): the first frame
    reads it with every tool, the sharded array's too (until 2026-12-05 14:50 that read plane
    4, ``n // 2``, while ours sampled plane 3 for the window: one round more than the window
    makes)."""
    return (int(n) - 1) // 2


def case_first_frame(tool: str, url: str, thumbnail: bool = False) -> dict[str, Any]:
    """The pixels of the first frame (see the module's docstring); ``thumbnail``: also the
    smallest level's plane, as napari reads it for the layer's thumbnail (ours only)."""
    import numpy as np
    import zarr  # noqa: F401  (imports outside the clock, both sides)

    from polystore_gui.model.backends import adapter_for

    if tool == "napari-ome-zarr":
        from napari_ome_zarr import napari_get_reader
    if tool == "ours":  # what the window has imported by the time a row is clicked (napari brings dask)
        import dask.array  # noqa: F401
        import obstore  # noqa: F401
        import zarr.storage  # noqa: F401

        import polystore_gui.model.lazy  # noqa: F401
        import polystore_gui.model.remote_zarr  # noqa: F401

        adapter_for("zarr")  # every adapter imported: the window listed the store with them before any click
    else:  # the clients zarr-python and ome-zarr use
        import aiohttp  # noqa: F401
        import s3fs  # noqa: F401
        import zarr.storage  # noqa: F401
    start = time.perf_counter()
    if tool == "ours":
        adapter = adapter_for("zarr", url)
        preview = adapter.open_preview("zarr", url, size_limit=1 << 30, confirmed=True)
        layer = preview.layers[0]
        if layer.multiscale:
            i = _first_level(layer.data)
            data = layer.data[i]
            z = _shown_plane(data.shape[1])
            pixels = [np.asarray(data[c, z]) for c in range(data.shape[0])]
            if thumbnail:
                smallest = layer.data[-1]
                pixels += [np.asarray(smallest[c, _shown_plane(smallest.shape[1])]) for c in range(smallest.shape[0])]
            for extra in preview.layers[1:]:
                lv = extra.data[min(i, len(extra.data) - 1)] if extra.multiscale else extra.data
                pixels.append(np.asarray(lv[_shown_plane(lv.shape[0])]))
        else:
            pixels = [np.asarray(layer.data[_shown_plane(layer.data.shape[0])])]
    elif tool == "zarr-python":
        import zarr
        from zarr.storage import FsspecStore

        options = {"anon": False, "client_kwargs": {"endpoint_url": os.environ.get("AWS_ENDPOINT_URL")}} \
            if url.startswith("s3://") else {}
        store = FsspecStore.from_url(url, read_only=True, storage_options=options)
        node = zarr.open(store=store, mode="r")
        if isinstance(node, zarr.Group):
            ms = node.attrs["ome"]["multiscales"][0]
            levels = [node[d["path"]] for d in ms["datasets"]]
            data = levels[_first_level(levels)]
            pixels = [data[c, _shown_plane(data.shape[1])] for c in range(data.shape[0])]
        else:
            pixels = [node[_shown_plane(node.shape[0])]]
    else:  # napari-ome-zarr
        reader = napari_get_reader(url)
        layers = reader(url)
        data = layers[0][0]
        levels = data if isinstance(data, list) else [data]
        level = levels[_first_level(levels)]
        z = _shown_plane(level.shape[1])
        pixels = [np.asarray(level[c, z]) for c in range(level.shape[0])]
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "pixels": int(sum(p.size for p in pixels))}


def case_client(tool: str, url: str) -> dict[str, Any]:
    """zarr 3's own stores over each client, nothing of ours: the pyramid's level-2 plane."""
    import zarr
    from zarr.storage import FsspecStore, ObjectStore

    if tool == "fsspec":
        import aiohttp  # noqa: F401
        import s3fs  # noqa: F401
    else:
        from obstore.store import HTTPStore, S3Store
    start = time.perf_counter()
    if tool == "fsspec":
        options = {"client_kwargs": {"endpoint_url": os.environ.get("AWS_ENDPOINT_URL")}} if url.startswith("s3") else {}
        store: Any = FsspecStore.from_url(url, read_only=True, storage_options=options)
    elif url.startswith("s3://"):
        bucket, _, prefix = url[5:].partition("/")
        store = ObjectStore(S3Store(bucket, prefix=prefix, endpoint=os.environ["AWS_ENDPOINT_URL"], region="us-east-1",
                                    access_key_id="testing", secret_access_key="testing",
                                    client_options={"allow_http": True}), read_only=True)
    else:
        store = ObjectStore(HTTPStore.from_url(url, client_options={"allow_http": True}), read_only=True)
    array = zarr.open_array(store=store, path="2", mode="r", zarr_format=3)
    planes = [array[c, 4] for c in range(2)]
    return {"seconds": time.perf_counter() - start, "pixels": int(sum(p.size for p in planes))}


def case_scan(tool: str, url: str) -> dict[str, Any]:
    import obstore as obs

    from polystore_gui.model.chunk_layout import read_layout
    from polystore_gui.model.chunks import scan_report
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import remote_store

    target = parse_url(url)
    store = remote_store(target)
    layout = read_layout(url)  # metadata outside the clock on both sides
    start = time.perf_counter()
    if tool == "ours":
        report = scan_report(layout)
        found = report.summary()["nchunks_initialized"]
    else:
        found = 0
        for page in obs.list(store.client, target.key + "/", chunk_size=1000):
            found += len(page)
    return {"seconds": time.perf_counter() - start, "objects": int(found)}


def case_copy(tool: str, url: str, out: str) -> dict[str, Any]:
    import asyncio

    import obstore as obs

    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_copy import copy_to_local
    from polystore_gui.model.remote_store import _zarr_sync, remote_store

    start, cpu = time.perf_counter(), time.process_time()
    if tool == "ours":
        report = copy_to_local(url, out)
        nbytes = report.nbytes
    else:
        target = parse_url(url)
        store = remote_store(target)
        keys = [o["path"] for page in obs.list(store.client, target.key + "/", chunk_size=1000) for o in page]

        async def fetch_all() -> int:
            gate = asyncio.Semaphore(32)

            async def one(key: str) -> int:
                async with gate:
                    data = bytes(await (await obs.get_async(store.client, key)).bytes_async())
                path = os.path.join(out, "bare", key)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
                return len(data)

            return sum(await asyncio.gather(*(one(k) for k in keys)))

        nbytes = _zarr_sync(fetch_all())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "bytes": nbytes, "mib_s": nbytes / 2**20 / seconds,
            "cpu_s": time.process_time() - cpu}  # all the process's threads


def case_gui(s3: str) -> dict[str, Any]:
    from qtpy.QtWidgets import QApplication

    from _common import Heartbeat
    from polystore_gui.model.remote_access import RemoteOptions
    from polystore_gui.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow([])
    window.show()
    beat = Heartbeat()
    from polystore_gui.model.catalogue import discover_backends

    window.tree_model.set_discovery(discover_backends())
    ready = {"viewer": False}
    window.preview.viewer.ready.connect(lambda *_a: ready.update(viewer=True))
    window.preview.viewer.start()  # napari's own start-up (seconds, measured by bench_session) is not ours here
    deadline = time.monotonic() + 120
    while not ready["viewer"] and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    beat.start()
    start = time.monotonic()
    from _gap_stacks import sampler_from_env, write_report

    sampler = sampler_from_env("BENCH_REMOTE_STACKS", beat)  # a path: the GUI thread's stacks in its gaps
    window.open_remote_store(f"s3://{BUCKET}/pyramid.zarr", RemoteOptions(endpoint_url=s3))
    window.open_remote_store(f"s3://{BUCKET}/sharded.zarr", RemoteOptions(endpoint_url=s3))
    index = window.tree_model.find("zarr", f"s3://{BUCKET}/pyramid.zarr")
    window.tree.expand(window.proxy.mapFromSource(index))
    if window.tree_model.canFetchMore(index):
        window.tree_model.fetchMore(index)
    done = {"preview": False, "scan": False}
    marks: dict[str, float] = {}
    window.preview.previewShown.connect(lambda *_a: (done.update(preview=True),
                                                     marks.setdefault("preview_shown", time.monotonic() - start)))
    window.tree_model.listingFinished.connect(lambda *_a: marks.setdefault("listed", time.monotonic() - start))
    window.inspector.batchApplied.connect(lambda: marks.setdefault("first_chunk_batch", time.monotonic() - start))
    window.preview.previewFailed.connect(lambda *_a: done.update(preview=True)) \
        if hasattr(window.preview, "previewFailed") else None
    window.preview.request("zarr", f"s3://{BUCKET}/pyramid.zarr")
    window.set_inspector_visible(True)
    window.inspector.scanFinished.connect(lambda: (done.update(scan=True),
                                                   marks.setdefault("scan_finished", time.monotonic() - start)))
    window.inspector.scanFailed.connect(lambda *_a: done.update(scan=True))
    window.inspector.inspect("zarr", f"s3://{BUCKET}/sharded.zarr/data")
    deadline = time.monotonic() + 120
    while not all(done.values()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    end = time.monotonic()
    beat.stop()
    write_report(sampler, start, lambda _t: "gui")
    stats = beat.stats(start, None)  # to the stop tick: a stall the loop's last turn ended is counted
    window.shutdown()
    window.close()
    worst = [(round(at - start, 3), round(ms)) for at, ms in beat.worst_gaps(5) if start <= at <= end]
    return {"seconds": end - start, "finished": all(done.values()), **stats, "worst_s_ms": worst, "marks": marks}


# -- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--serve")
    parser.add_argument("--tool", default="ours")
    parser.add_argument("--url")
    parser.add_argument("--out")
    parser.add_argument("--s3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--thumbnail", action="store_true", help="first_frame: read napari's thumbnail plane too")
    parser.add_argument("--only", help="comma-separated parts: clients,first_frame,requests,scan,copy,gui")
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return
    if args.case:
        result = {"first_frame": lambda: case_first_frame(args.tool, args.url, args.thumbnail),
                  "client": lambda: case_client(args.tool, args.url),
                  "scan": lambda: case_scan(args.tool, args.url),
                  "copy": lambda: case_copy(args.tool, args.url, args.out),
                  "gui": lambda: case_gui(args.s3)}[args.case]()
        emit_result(result)
        return
    root = make_data(args.quick)
    servers = Servers(root)
    import shutil
    import tempfile

    results: dict[str, Any] = {"machine": machine_info(), "latency_s": LATENCY, "quick": args.quick}
    parts = set(args.only.split(",")) if args.only else {"clients", "first_frame", "requests", "scan", "copy", "gui"}
    try:
        env = _env(servers.urls["s3"])
        s3, http = f"s3://{BUCKET}", servers.urls["http"]
        if "clients" in parts:
            rows = []
            for server, url in (("S3", f"{s3}/pyramid.zarr"), ("HTTP", f"{http}/pyramid.zarr")):
                line = [server]
                for tool in ("fsspec", "obstore"):
                    runs = [run_case(__file__, "client", ["--tool", tool, "--url", url], env=env, quiet=False)
                            for _ in range(args.repeat)]
                    results[f"client/{server}/{tool}"] = runs
                    line.append(fmt_s(summarize(r.get("seconds") for r in runs)["median"]))
                rows.append(line)
            results["clients_table"] = markdown_table(["server", "zarr FsspecStore (s3fs / aiohttp)",
                                                       "zarr ObjectStore (obstore)"], rows)
            print(results["clients_table"])
        if "first_frame" in parts:
            rows = []
            for name, url_s3, url_http in (("pyramid", f"{s3}/pyramid.zarr", f"{http}/pyramid.zarr"),
                                           ("sharded", f"{s3}/sharded.zarr/data", f"{http}/sharded.zarr/data")):
                for server, url in (("S3", url_s3), ("HTTP", url_http)):
                    tools = ["ours", "zarr-python"] + (["napari-ome-zarr"] if name == "pyramid" else [])
                    line = [name, server]
                    runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in tools}
                    for _ in range(args.repeat):  # alternated, as the copies
                        for tool in tools:
                            servers.settle()
                            runs[tool].append(run_case(__file__, "first_frame", ["--tool", tool, "--url", url],
                                                       env=env, quiet=False))
                    for tool in tools:
                        results[f"first_frame/{name}/{server}/{tool}"] = runs[tool]
                        line.append(fmt_s(summarize(t.get("seconds") for t in runs[tool])["median"]))
                    rows.append(line + [""] * (5 - len(line)))
            results["first_frame_table"] = markdown_table(
                ["data", "server", "ours", "zarr-python", "napari-ome-zarr"], rows)
            print(results["first_frame_table"])
        if "requests" in parts:
            for server, url in (("http", f"{http}/pyramid.zarr"), ("s3", f"{s3}/pyramid.zarr")):
                before = servers.count()
                run_case(__file__, "first_frame", ["--tool", "ours", "--url", url, "--thumbnail"], env=env,
                         quiet=False)
                results[f"requests_{server}_pyramid"] = servers.count()[server] - before[server]
            # On screen: level 2 (1024 x 1024) = 4 chunks per channel x 2 channels, and napari's
            # thumbnail, level 3's plane = 1 chunk per channel; metadata: the group's and four
            # levels' zarr.json (a viewer needs every level's shape).
            results["requests_expected"] = 8 + 2 + 5
            print(f"requests (pyramid first frame): HTTP {results['requests_http_pyramid']}, "
                  f"S3 {results['requests_s3_pyramid']}, expected {results['requests_expected']}")
        med = lambda runs, key="seconds": summarize(r.get(key) for r in runs)["median"]  # noqa: E731
        if "scan" in parts:
            scan = {tool: [run_case(__file__, "scan", ["--tool", tool, "--url", f"{s3}/many.zarr"], env=env,
                                    quiet=False, timeout=900) for _ in range(args.repeat)] for tool in ("ours", "bare")}
            results["scan"] = scan
            print(f"chunk scan: ours {fmt_s(med(scan['ours']))} vs bare listing {fmt_s(med(scan['bare']))}")
        if "copy" in parts:
            copies: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
            for _ in range(args.repeat):  # alternated: a load that comes and goes falls on both
                for tool in ("ours", "bare"):
                    servers.settle()
                    out = tempfile.mkdtemp(prefix="bench-remote-copy-")
                    try:
                        server_cpu = servers.count()["cpu_s"]
                        copies[tool].append(run_case(__file__, "copy", ["--tool", tool, "--url", f"{s3}/bulk.zarr",
                                                                        "--out", out], env=env, quiet=False,
                                                     timeout=900))
                        # the servers share the client's cores: the CPU they spent answering this run
                        copies[tool][-1]["server_cpu_s"] = servers.count()["cpu_s"] - server_cpu
                    finally:
                        shutil.rmtree(out, ignore_errors=True)
            results["copy"] = copies
            print(f"copy: ours {med(copies['ours'], 'mib_s'):.1f} MiB/s vs bare {med(copies['bare'], 'mib_s'):.1f} MiB/s")
        if "gui" in parts:
            results["gui"] = run_case(__file__, "gui", ["--s3", servers.urls["s3"]], env=env, quiet=False,
                                      timeout=300)
            gui = results["gui"]
            print(f"GUI: longest stall {gui.get('max_stall_ms')} ms, finished {gui.get('finished')}")
    finally:
        servers.close()
    path = write_json("remote" + ("-" + args.only.replace(",", "-") if args.only else ""), results)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
