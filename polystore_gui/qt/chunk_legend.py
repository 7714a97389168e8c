"""The chunk inspector's legend: what the overlay's colours mean, as rich text.

The heat map colours each chunk by its stored bytes (viridis, from ``lo`` to ``hi``),
missing chunks grey and unreadable ones red; the legend names the range the colours span
(or "small … large" before anything is stored).
"""

from __future__ import annotations

from ..model.entries import human_size


def legend_html(span: tuple[int, int] | None) -> str:
    """The legend's text for a heat map spanning ``span`` stored bytes (None: no range yet)."""
    lo, hi = ("small", "large") if span is None else (human_size(span[0], short=True), human_size(span[1], short=True))
    return (
        f'<span style="background:#440154;color:white">&nbsp;{lo}&nbsp;</span>'
        '<span style="background:#21918c;color:white">&nbsp;&nbsp;…&nbsp;&nbsp;</span>'
        f'<span style="background:#fde725">&nbsp;{hi}&nbsp;</span> stored bytes &nbsp; '
        '<span style="background:#8c8c8c;color:white">&nbsp;missing&nbsp;</span> '
        '<span style="background:#dc2626;color:white">&nbsp;error&nbsp;</span>'
    )
