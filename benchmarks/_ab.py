"""A/B of one benchmark's cases: this tree's ``polystore_gui`` against another commit's.

Issue 15 asks that no figure get more than 10 % worse between two quiet runs; on a shared
machine two runs minutes apart differ by more than that with the same code. This driver
measures both versions in the same minutes: one benchmark script (this tree's, so both
sides are measured the same way) runs each case in a fresh interpreter, round by round,
the two sides alternated (A B, then B A, ...), with the package imported from

- ``new``: this tree (default: the folder above ``benchmarks/``);
- ``old``: a git worktree of the other commit (``git worktree add /tmp/wt-old <commit>``;
  never a checkout in the shared tree).

How a side is chosen: ``PYTHONPATH=<tree>`` in the child's environment, which Python puts
before site-packages, where the editable install's finder lives. Several scripts also put
their own parent folder first on ``sys.path`` (for ``tests.fakes``); so the scripts are
copied to a temporary folder whose parent holds only a link to ``tests/`` (and
``benchmarks/_data`` is linked, so data is made once). Before measuring, each script's
module level is run in each side's environment and must import ``polystore_gui`` from
that side's tree, or the driver stops.

    xvfb-run -a .venv/bin/python benchmarks/_ab.py --old /tmp/wt-old --rounds 8 \\
        --metric gui:click_ms_median --metric scan:seconds \\
        bench_chunks.py 'scan benchmarks/_data/chunks102k' 'gui benchmarks/_data/chunks102k'

A case argument ``{scratch}`` is replaced by a fresh empty folder for each run (removed
after it), for cases that write, e.g. ``'gui {scratch} benchmarks/_data/transfers/z4m.zarr'``.

Every run is appended to ``--out`` (JSON lines: round, side, case, 1-minute load, result);
the summary gives each side's median / min / max and, per round, new / old: its median and
in how many rounds the new side was no slower. Quiet machine or not, that count and the
spread of the ratios are what say whether a difference is the code or the neighbours.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import _common as C  # noqa: E402

SCRATCH = "{scratch}"  # in a case's arguments: a fresh empty folder for each run


def staged_scripts() -> Path:
    """The benchmark scripts copied where no ``polystore_gui`` sits beside them."""
    root = Path(tempfile.mkdtemp(prefix="bench-ab-"))
    (root / "benchmarks").mkdir()
    for script in BENCH.glob("*.py"):
        shutil.copy2(script, root / "benchmarks" / script.name)
    (root / "benchmarks" / "_data").symlink_to(C.DATA_DIR)
    (root / "benchmarks" / "results").mkdir()  # a run's own results file never lands in the tree
    (root / "tests").symlink_to(BENCH.parent / "tests")
    return root


def staged_bytecode(root: Path) -> Path:
    """Where the children write the bytecode of the copies under ``root`` (the benchmarks'
    ``PYTHONPYCACHEPREFIX`` mirrors each source folder's absolute path)."""
    return Path(C.child_env()["PYTHONPYCACHEPREFIX"]) / root.resolve().relative_to(root.resolve().anchor)


def remove_staged(root: Path) -> None:
    """The copies and their bytecode: a run leaves nothing behind."""
    shutil.rmtree(staged_bytecode(root), ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


def check_side(script: Path, tree: str) -> None:
    """Stop unless ``script``'s module level, run as a child of this side, imports the side's package."""
    probe = (f"import runpy; runpy.run_path({str(script)!r}, run_name='ab-probe'); "
             "import polystore_gui; print(polystore_gui.__file__)")
    out = subprocess.run([sys.executable, "-c", probe], env=C.child_env({"PYTHONPATH": tree}),
                         capture_output=True, text=True, cwd=tempfile.gettempdir(), timeout=120)
    where = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-500:]
    if not where.startswith(str(Path(tree).resolve())):
        raise SystemExit(f"{tree}: the script imports polystore_gui from {where!r}")
    print(f"{tree}: polystore_gui from {where}", flush=True)


@contextlib.contextmanager
def scratch_args(case_args: list[str]) -> Iterator[list[str]]:
    """``case_args`` with ``{scratch}`` replaced by a fresh empty folder under ``benchmarks/_data``,
    removed after the run: cases that write (a copy's destination) start empty every round."""
    if not any(SCRATCH in a for a in case_args):
        yield case_args
        return
    C.DATA_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has none yet
    folder = tempfile.mkdtemp(prefix="bench-ab-scratch-", dir=str(C.DATA_DIR))
    try:
        yield [a.replace(SCRATCH, folder) for a in case_args]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def value(result: dict[str, Any], key: str) -> Any:
    """``result``'s value at a dotted ``key`` (``stalls.max_stall_ms``), or None."""
    cur: Any = result
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def summary(records: list[dict[str, Any]], metric: str) -> str:
    """Each side's spread of ``case:key`` and the per-round ratio new / old."""
    case, key = metric.split(":", 1)
    by_round: dict[int, dict[str, float]] = defaultdict(dict)
    for rec in records:
        v = value(rec["result"], key) if rec["case"] == case and rec["round"] >= 0 else None
        if isinstance(v, (int, float)):
            by_round[rec["round"]][rec["side"]] = float(v)
    pairs = [(r["new"], r["old"]) for r in by_round.values() if "new" in r and "old" in r and r["old"]]
    if not pairs:
        return f"{metric}: no rounds with both sides"
    lines = [f"{metric} ({len(pairs)} rounds)"]
    for i, side in ((0, "new"), (1, "old")):
        xs = [p[i] for p in pairs]
        lines.append(f"  {side}: median {statistics.median(xs):.4g}, min {min(xs):.4g}, max {max(xs):.4g}")
    ratios = [n / o for n, o in pairs]
    lines.append(f"  new / old per round: median {statistics.median(ratios):.3f} "
                 f"[{min(ratios):.2f}-{max(ratios):.2f}], new no slower in "
                 f"{sum(n <= o for n, o in pairs)}/{len(pairs)} rounds")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("script", nargs="?", help="a benchmark script's name, e.g. bench_chunks.py")
    parser.add_argument("cases", nargs="*", help="a case and its arguments, quoted: 'scan benchmarks/_data/x'")
    parser.add_argument("--old", help="a worktree of the commit to compare with")
    parser.add_argument("--new", default=str(BENCH.parent))
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--no-warm-up", action="store_true", help="skip one unrecorded run of each side first")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--metric", action="append", default=[], help="case:key (dotted) to summarise")
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "bench-ab.jsonl"))
    parser.add_argument("--summary", action="store_true", help="only summarise --out")
    args = parser.parse_args()
    if args.summary:
        records = [json.loads(line) for line in Path(args.out).read_text().splitlines()]
        print("\n".join(summary(records, m) for m in args.metric))
        return
    if not (args.script and args.cases and args.old):
        parser.error("a script, at least one case and --old are needed (or --summary)")
    C.ensure_display(__file__)
    root = staged_scripts()
    try:
        script = root / "benchmarks" / args.script
        sides = {"new": args.new, "old": args.old}
        for tree in sides.values():
            check_side(script, tree)
        cases = [shlex.split(c) for c in args.cases]
        plan = [] if args.no_warm_up else [(-1, s) for s in sides]
        plan += [(r, s) for r in range(args.rounds) for s in (("new", "old") if r % 2 == 0 else ("old", "new"))]
        records = []
        with open(args.out, "a") as out:
            for round_no, side in plan:
                for case in cases:
                    load = C.load_average()
                    with scratch_args(case[1:]) as case_args:
                        result = C.run_case(str(script), case[0], case_args, env={"PYTHONPATH": sides[side]},
                                            quiet=False, timeout=args.timeout)
                    rec = {"round": round_no, "side": side, "case": case[0], "load1": load, "result": result}
                    records.append(rec)
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                    print(round_no, side, case[0], f"load {load}", result.get("error", ""), flush=True)
        print("\n".join(summary(records, m) for m in args.metric))
    finally:
        remove_staged(root)


if __name__ == "__main__":
    main()
