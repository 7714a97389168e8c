"""Smoke test of benchmarks/bench_session.py: the whole scripted session runs end to end.

``--quick`` (small data, 5 slider steps) takes about 40 s: every step of the session runs
through the real window, the napari-alone peer runs its steps, the persistent viewer the
benchmark started is gone afterwards, and the results file has a stall figure for each
step. No time is asserted: the numbers are the benchmark's to report, not the test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "bench_session.py"

pytestmark = [pytest.mark.slow, pytest.mark.gl]


def _steps_of(script: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    sys.path.insert(0, str(script.parent))
    try:
        import bench_session
    finally:
        sys.path.remove(str(script.parent))
    return bench_session.STEPS, bench_session.NAPARI_STEPS


def test_quick_session_runs_every_step_in_the_window_and_in_napari_alone(tmp_path):
    steps, napari_steps = _steps_of(SCRIPT)
    out = tmp_path / "session.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=str(REPO), env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "whole session" in proc.stdout  # the table was printed
    run = json.loads(out.read_text())["runs"][0]

    session = run["session"]
    assert [s["step"] for s in session["steps"]] == list(steps)
    assert [s["step"] for s in run["napari"]["steps"]] == list(napari_steps)
    for case in ("session", "napari"):
        for step in run[case]["steps"]:
            assert step["error"] is None, (case, step["step"], step["error"])
            assert step["stalls"]["max_stall_ms"] is not None, (case, step["step"])
            assert step["stalls"]["p99_latency_ms"] is not None, (case, step["step"])
    assert session["whole"]["p99_latency_ms"] is not None
    by_name = {s["step"]: s for s in session["steps"]}
    assert by_name["expand-100k"]["rows"] == 2_000  # every file reached the folder list
    assert by_name["inspector"]["clicked"] > 0  # chunks were clicked and their details shown

    # The viewer the benchmark started is gone (ended, and reaped by the benchmark).
    with pytest.raises(ProcessLookupError):
        os.kill(run["viewer_pid"], 0)
