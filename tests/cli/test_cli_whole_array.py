"""`stats`, `checksum` and `convert` run as a user runs them: a subprocess, exit status, output."""

from __future__ import annotations

import json

import numpy as np
import zarr

from .test_cli import run


def test_stats_json_matches_numpy(tmp_path):
    rng = np.random.default_rng(21)
    a = zarr.create_array(tmp_path / "a.zarr", shape=(40, 30), chunks=(16, 16), dtype="u2", fill_value=3)
    a[:16] = rng.integers(0, 5000, (16, 30))
    data = a[:]
    out = run("stats", str(tmp_path / "a.zarr"), "--json", "--bins", "8")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    s = result["stats"]
    assert (s["min"], s["max"], s["count"]) == (int(data.min()), int(data.max()), data.size)
    assert s["mean"] == np.float64(data.mean()).item()
    assert s["histogram"]["counts"] == np.histogram(data, bins=8, range=(data.min(), data.max()))[0].tolist()
    assert result["missing"]["count"] == 4 and result["scheduler"] == "local threads"


def test_stats_text_says_what_was_missing_and_how_percentiles_were_found(tmp_path):
    a = zarr.create_array(tmp_path / "f.zarr", shape=(20, 20), chunks=(10, 10), dtype="f4", fill_value=0.5)
    a[:10, :10] = np.linspace(0, 1, 100, dtype="f4").reshape(10, 10)
    out = run("stats", str(tmp_path / "f.zarr"))
    assert out.returncode == 0, out.stderr
    assert "3 of 4 chunks missing: missing chunks are counted as the fill value (0.5)" in out.stdout
    assert "binned estimates, bin width" in out.stdout
    assert "min 0  max 1" in out.stdout


def test_stats_refuses_bad_input_with_a_sentence(tmp_path):
    zarr.open_group(tmp_path / "g.zarr", mode="w")
    out = run("stats", str(tmp_path / "g.zarr"))
    assert out.returncode == 1 and "not an array" in out.stderr and "Traceback" not in out.stderr
    zarr.create_array(tmp_path / "a.zarr", shape=(2, 2), chunks=(2, 2), dtype="u1")
    out = run("stats", str(tmp_path / "a.zarr"), "--bins", "0")
    assert out.returncode == 2 and "--bins must be at least 1" in out.stderr
    out = run("stats", str(tmp_path / "a.zarr"), "--scheduler", "localhost:8786")
    assert out.returncode == 2 and "tcp://127.0.0.1:8786" in out.stderr


def test_checksum_of_a_copy_equals_the_source(tmp_path):
    data = np.random.default_rng(22).integers(0, 255, (30, 40)).astype("u1")
    zarr.create_array(tmp_path / "a.zarr", shape=data.shape, chunks=(7, 7), dtype="u1")[:] = data
    zarr.create_array(tmp_path / "b.zarr", shape=data.shape, chunks=(30, 40), dtype="u1", zarr_format=2)[:] = data
    a = run("checksum", str(tmp_path / "a.zarr"), "--json")
    b = run("checksum", f"zarr:{tmp_path / 'b.zarr'}")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    digest = json.loads(a.stdout)["digest"]
    assert digest.startswith("sha256:") and b.stdout.startswith(digest + "  ")


def test_checksum_of_nothing_says_why(tmp_path):
    out = run("checksum", str(tmp_path / "nothing"))
    assert out.returncode == 1 and "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_convert_writes_a_verified_ome_zarr_and_refuses_to_overwrite(tmp_path):
    data = np.random.default_rng(23).integers(0, 255, (2, 60, 70)).astype("u1")
    zarr.create_array(tmp_path / "src.zarr", shape=data.shape, chunks=(1, 32, 32), dtype="u1")[:] = data
    out = run("convert", str(tmp_path / "src.zarr"), str(tmp_path / "out.zarr"), "--levels", "2", "--chunks", "32,32",
              "--shards", "64,64")
    assert out.returncode == 0, out.stderr
    assert "OME-Zarr 0.5" in out.stdout and "2 levels, verified" in out.stdout
    np.testing.assert_array_equal(zarr.open_group(tmp_path / "out.zarr", mode="r")["0"][:], data)
    again = run("convert", str(tmp_path / "src.zarr"), str(tmp_path / "out.zarr"))
    assert again.returncode == 1 and "exists" in again.stderr and "--overwrite" in again.stderr
    same = run("checksum", str(tmp_path / "src.zarr"), "--json")
    conv = run("checksum", str(tmp_path / "out.zarr" / "0"), "--json")
    assert json.loads(same.stdout)["digest"] == json.loads(conv.stdout)["digest"]


def test_convert_bad_options_say_why(tmp_path):
    zarr.create_array(tmp_path / "src.zarr", shape=(20, 20), chunks=(10, 10), dtype="u1")
    out = run("convert", str(tmp_path / "src.zarr"), str(tmp_path / "o.zarr"), "--chunks", "a,b")
    assert out.returncode == 2 and "--chunks takes sizes" in out.stderr
    out = run("convert", str(tmp_path / "src.zarr"), str(tmp_path / "o.zarr"), "--ome-zarr", "0.4", "--shards", "20,20")
    assert out.returncode == 1 and "zarr v3" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o.zarr").exists()


def test_ctrl_c_cancels_stats_at_once(tmp_path):
    """On a terminal, stats shows progress; SIGINT (Ctrl-C) stops it within a chunk or so
    per thread: exit 130, 'cancelled' on stderr, no result printed."""
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    zarr.create_array(tmp_path / "big.zarr", shape=(400, 512, 512), chunks=(1, 32, 32), dtype="u1")  # 102,400 chunks in 400 MiB
    master, slave = pty.openpty()
    # As a terminal starts a foreground command: SIGINT at its default, whatever this test
    # run inherited. A suite started in the background of a script (`make test &`) has
    # SIGINT ignored, the child inherits SIG_IGN, Python then installs no KeyboardInterrupt
    # handler and stats ran to the end (exit 0): the failure seen once in a full run.
    proc = subprocess.Popen([sys.executable, "-m", "polystore_gui", "stats", str(tmp_path / "big.zarr"), "--json"],
                            stdout=subprocess.PIPE, stderr=slave, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while b"chunks" not in seen and time.monotonic() < deadline:  # the first progress line
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                seen += os.read(master, 4096)
        assert b"chunks" in seen, seen
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, _ = proc.communicate(timeout=30)
        waited = time.monotonic() - sent
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert proc.returncode == 130, (proc.returncode, seen[-300:], out[:300])
    assert b"stats cancelled" in seen and out == ""
    assert waited < 10
