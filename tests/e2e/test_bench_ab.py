"""benchmarks/_ab.py: each side really imports its own tree, and the per-round summary.

The driver's worth is that the "old" side measures the old code: a script that puts the
repository first on ``sys.path`` would silently measure this tree twice. The check must
pass for a tree that holds the package and stop for one that does not.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ab", REPO / "benchmarks" / "_ab.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_side_imports_its_own_tree(tmp_path: Path) -> None:
    ab = _driver()
    root = ab.staged_scripts()
    try:
        # bench_plate.py puts its parent folder first on sys.path (for tests.fakes).
        script = root / "benchmarks" / "bench_plate.py"
        ab.check_side(script, str(REPO))
        other = tmp_path / "other"
        shutil.copytree(REPO / "polystore_gui", other / "polystore_gui",
                        ignore=shutil.ignore_patterns("__pycache__"))
        ab.check_side(script, str(other))
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(SystemExit, match="imports polystore_gui from"):
            ab.check_side(script, str(empty))  # the editable install's tree answers: refused
    finally:
        ab.remove_staged(root)
    # Nothing of the run is left: neither the copies nor their bytecode (the children write it
    # under the benchmarks' PYTHONPYCACHEPREFIX, mirroring the copies' folder).
    assert not root.exists()
    assert not ab.staged_bytecode(root).exists()


def test_summary_pairs_the_rounds() -> None:
    ab = _driver()
    records = [{"round": r, "side": side, "case": "scan", "result": {"t": {"s": s}}}
               for r, side, s in [(-1, "new", 9.0), (-1, "old", 1.0),  # warm-up: not counted
                                  (0, "new", 1.0), (0, "old", 2.0), (1, "old", 1.0), (1, "new", 1.5),
                                  (2, "new", 3.0)]]  # round 2 has one side only: not counted
    text = ab.summary(records, "scan:t.s")
    assert "(2 rounds)" in text
    assert "new no slower in 1/2 rounds" in text
    assert "median 1" in text  # ratios 0.5 and 1.5
    assert ab.summary(records, "gui:t.s") == "gui:t.s: no rounds with both sides"


def test_scratch_argument_is_a_fresh_empty_folder_each_run() -> None:
    """A case that writes (a copy's destination) gets ``{scratch}`` as an empty folder of its
    own at every run, gone after it: a second round never meets the first round's copy."""
    ab = _driver()
    seen = []
    for _ in range(2):
        with ab.scratch_args(["--into", "{scratch}", "{scratch}/sub", "plain"]) as args:
            folder = Path(args[1])
            assert args[0] == "--into" and args[2] == f"{folder}/sub" and args[3] == "plain"
            assert folder.is_dir() and not any(folder.iterdir())
            (folder / "copy").write_bytes(b"x")  # what the run leaves there
            seen.append(folder)
        assert not folder.exists()
    assert seen[0] != seen[1]
    with ab.scratch_args(["scan", "data/x"]) as args:  # no placeholder: unchanged, nothing made
        assert args == ["scan", "data/x"]
