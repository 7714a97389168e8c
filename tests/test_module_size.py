"""No module of the package over about 500 lines (issue 15): a module that grows past it holds
several concerns and is split by concern, its names kept importable from where they were.

The hard stop is 550 lines, so that "about 500" leaves room for a fix without a split."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "polystore_gui"
MOST_LINES = 550


def test_no_module_of_the_package_is_over_about_500_lines() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 50  # the package itself, not an empty folder
    too_long = {name: n for name, n in sorted(sizes.items()) if n > MOST_LINES}
    assert not too_long, f"split these by concern (at most {MOST_LINES} lines a module): {too_long}"
