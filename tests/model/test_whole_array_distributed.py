"""The same statistics and conversion graphs sent to a real dask.distributed cluster of worker processes
(issue 18): the figures equal the local scheduler's, the chunk tasks ran on the cluster's
workers, and the cluster is closed with no process left behind."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import tifffile
import zarr

from polystore_gui.model import array_stats
from polystore_gui.model.array_stats import array_statistics
from polystore_gui.model.convert import convert, plan_conversion
from polystore_gui.model.whole_array import Engine, WholeArrayError, open_target

from .test_array_stats import _check_exact


@pytest.mark.slow
def test_stats_on_a_local_cluster_of_worker_processes(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from polystore_gui.model import whole_array

    monkeypatch.setattr(whole_array, "TASK_BYTES", 1024)  # a chunk a task: 12 tasks a pass
    rng = np.random.default_rng(11)
    a = zarr.create_array(tmp_path / "a", shape=(64, 48), chunks=(16, 16), dtype="f4", fill_value=2.0)
    a[:32] = rng.normal(size=(32, 48)).astype("f4")
    target = open_target("disk", str(tmp_path / "a"))
    u2 = zarr.create_array(tmp_path / "u2", shape=(64, 48), chunks=(16, 16), dtype="u2", fill_value=7)
    u2[16:] = rng.integers(0, 65536, (48, 48))
    image = rng.integers(0, 1000, (5, 2, 40, 40)).astype("u2")
    tifffile.imwrite(tmp_path / "in.tif", image, metadata={"axes": "ZCYX"})
    local = array_statistics(target, engine=Engine(num_workers=2))

    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        worker_pids = {w.process.pid for w in cluster.workers.values()}
        with distributed.Client(cluster, set_as_default=False) as watcher:
            watcher.get_task_stream()  # installs the scheduler's task-stream plugin before the work
            started = time.time()
            remote = array_statistics(target, engine=Engine(scheduler=cluster.scheduler_address))
            tasks = watcher.get_task_stream(start=started)  # the scheduler's record: who ran what
            # A conversion's graph too: the TIFF and the sharded arrays travel by description.
            plan = plan_conversion("disk", str(tmp_path / "in.tif"), str(tmp_path / "out.zarr"), chunks=(16, 16),
                                   shards=(32, 32), levels=2)
            converted = convert(plan, engine=Engine(scheduler=cluster.scheduler_address))
            workers = set(cluster.scheduler_info["workers"])
            # The workers told to count in numba's compiled loops (as for arrays of 64 Mi
            # elements and more): each worker loads numba itself.
            monkeypatch.setattr(array_stats, "COMPILED_FROM", 0)
            compiled = array_statistics(target, engine=Engine(scheduler=cluster.scheduler_address))
            counted = array_statistics(open_target("disk", str(tmp_path / "u2")),
                                       engine=Engine(scheduler=cluster.scheduler_address))
    for pid in worker_pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the worker processes are gone

    assert remote["scheduler"].startswith("tcp://127.0.0.1:")
    for key in ("count", "nan_count", "min", "max", "percentiles", "histogram"):
        assert remote["stats"][key] == local["stats"][key]
    assert remote["stats"]["mean"] == pytest.approx(local["stats"]["mean"], rel=1e-12)
    assert remote["stats"]["std"] == pytest.approx(local["stats"]["std"], rel=1e-12)
    chunk_tasks = [t for t in tasks if "stats-pass" in str(t["key"]) and "fold" not in str(t["key"])]
    assert len(chunk_tasks) == 2 * 12  # two passes over 12 chunks, every one on the cluster
    assert {t["worker"] for t in chunk_tasks} <= workers
    for key in ("count", "nan_count", "min", "max", "percentiles", "histogram"):
        assert compiled["stats"][key] == local["stats"][key]
    assert compiled["stats"]["mean"] == pytest.approx(local["stats"]["mean"], rel=1e-9)
    assert compiled["stats"]["std"] == pytest.approx(local["stats"]["std"], rel=1e-9)
    _check_exact(counted["stats"], u2[:])
    assert converted["verified"] and converted["levels"] == [[2, 5, 40, 40], [2, 5, 20, 20]]
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "out.zarr", mode="r")["0"][:], image.transpose(1, 0, 2, 3))


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    zarr.create_array(tmp_path / "a", shape=(4, 4), chunks=(2, 2), dtype="u1")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WholeArrayError, match="cannot reach the dask scheduler"):
        array_statistics(open_target("disk", str(tmp_path / "a")), engine=Engine(scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=1))
