from __future__ import annotations

import numpy as np
import tifffile
import zarr

from polystore_gui.model.demo import ensure_demo, is_demo, make_demo, populate_memory


def test_demo_workspace_holds_what_the_readme_promises(demo_dir):
    assert is_demo(demo_dir)
    with tifffile.TiffFile(demo_dir / "images" / "z_stack.tif") as tif:
        assert len(tif.pages) == 24
    assert (demo_dir / "images" / "cells.png").stat().st_size > 0
    assert np.load(demo_dir / "tables" / "features.npy", mmap_mode="r").shape == (16, 128, 128)
    assert (demo_dir / "tables" / "measurements.csv").read_text().startswith("well,")
    store = zarr.open_group(str(demo_dir / "stores" / "experiment.zarr"), mode="r")
    assert store["plain"].chunks == (1, 256, 256)
    sharded = store["sharded"]
    assert sharded.shards == (1, 512, 512)
    # Some chunks were never written: fewer stored shards than the grid holds.
    assert sharded.nchunks_initialized < sharded.nchunks
    assert "multiscales" in store["image"].attrs["ome"]
    assert "labels" in store["image"]
    from polystore.backend_registry import get_backend_instance

    image = get_backend_instance("zarr").load(str(demo_dir / "stores" / "polystore_flat" / "images" / "A01_s1_w1.tif"))
    assert image.shape == (256, 256)
    plate = get_backend_instance("zarr")
    files = {p.name for p in plate.list_files(str(demo_dir / "stores" / "polystore_plate" / "images"))}
    assert "B01_c2_z4.tif" in files and len(files) == 24


def test_ensure_demo_reuses_and_make_demo_replaces(tmp_path):
    target = tmp_path / "demo"
    made = ensure_demo(target)
    stamp = (made / "README.txt").stat().st_mtime_ns
    assert ensure_demo(target) == made
    assert (made / "README.txt").stat().st_mtime_ns == stamp
    (made / "stray.txt").write_text("x")
    make_demo(target)
    assert not (made / "stray.txt").exists()
    assert is_demo(made)
    assert not list(tmp_path.glob(".demo-*")), "no staging folder left behind"


def test_memory_demo_arrays():
    paths = populate_memory("/demo_test")
    from polystore_gui.model.listing import memory_backend

    assert all(memory_backend().load(p).ndim >= 2 for p in paths)


def test_making_the_demo_leaves_every_threads_stdout_alone_and_keeps_its_chatter_off_the_terminal(tmp_path):
    """The demo is made in a worker: it must not swap sys.stdout under the other threads
    (a process-wide change), and polystore's progress notes from its thread stay quiet."""
    import logging
    import sys
    import threading

    from polystore.backend_registry import get_backend_instance

    from polystore_gui.model import demo

    backend = get_backend_instance("zarr")
    stdout_seen = []
    real_save_batch = backend.save_batch

    def watching_save_batch(*args, **kwargs):
        stdout_seen.append(sys.stdout)
        return real_save_batch(*args, **kwargs)

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(logging.DEBUG)
    root, polystore_logger = logging.getLogger(), logging.getLogger("polystore")
    saved_level = polystore_logger.level
    root.addHandler(handler)
    polystore_logger.setLevel(logging.INFO)  # as a user running with verbose logging would
    backend.save_batch = watching_save_batch
    try:
        worker = threading.Thread(target=demo._write_polystore_plate, args=(tmp_path / "plate",))
        worker.start()
        worker.join(120)
        assert not worker.is_alive()
        logging.getLogger("polystore.zarr").info("from another thread")
    finally:
        del backend.save_batch
        root.removeHandler(handler)
        polystore_logger.setLevel(saved_level)
    assert stdout_seen and all(seen is sys.stdout for seen in stdout_seen)
    demo_thread_notes = [r for r in records if r.thread == worker.ident and r.levelno < logging.WARNING
                         and r.name.startswith(("polystore", "ome_zarr"))]
    assert demo_thread_notes == []
    assert any(r.getMessage() == "from another thread" for r in records), "other threads still log"


def test_the_demo_readme_says_which_folder_is_the_plate_to_open_and_what_each_item_is_for(demo_dir):
    from polystore_gui.model.listing import entry_for_path

    readme = (demo_dir / "README.txt").read_text()
    lines = readme.splitlines()
    # Every item of the demo, down to the stores' members, has a line of its own (its name, or
    # its path for the stores polystore wrote) saying what it is for.
    items = [*(p.name for p in (demo_dir / "images").iterdir()), *(p.name for p in (demo_dir / "tables").iterdir()),
             *(p.name for p in (demo_dir / "stores" / "experiment.zarr").iterdir() if p.is_dir()),
             "stores/experiment.zarr", "stores/polystore_flat/images", "stores/polystore_plate/images"]
    for item in items:
        said = [line.split() for line in lines if line.split() and line.split()[0].rstrip("/") == item]
        assert said and all(len(words) > 2 for words in said), f"{item} is not explained:\n{readme}"
    # The plate to open is named by its folder, and that folder is the plate.
    plate_lines = [line for line in lines if "plate to open" in line.lower()]
    assert plate_lines and "stores/polystore_plate/images" in plate_lines[0]
    assert entry_for_path("disk", str(demo_dir / "stores" / "polystore_plate" / "images")).kind.value == "plate"
    # What the lock file beside it is, and where it went.
    assert "images.metadata.lock" in readme and "Show Hidden Files" in readme
