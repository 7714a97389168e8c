"""The one parser for a chunk (or shard) shape typed by a user: ``cp --chunks``,
``convert --chunks/--shards``, the transfer setting and the settings dialog.

``plane`` (or nothing, where allowed) means "one chunk per plane" and parses to None;
otherwise whole sizes separated by commas, e.g. ``1,512,512``. Anything else is a
ChunkShapeError (a ValueError) whose message is a sentence for the user.
"""

from __future__ import annotations

PLANE = "plane"
MAX_SIZE = 2**31 - 1  # zarr's own limit on one chunk's edge is far below 2**63; refuse nonsense early


class ChunkShapeError(ValueError):
    """A chunk shape that is not ``plane`` or sizes like 1,512,512."""


def parse_chunk_shape(text: str | None, *, what: str = "--chunks", allow_plane: bool = True) -> tuple[int, ...] | None:
    """``text`` as a shape; None for ``plane`` or nothing (when ``allow_plane``).

    ``what`` names the option in the message (``--chunks``, ``--shards``, ``the chunk shape``).
    """
    words = "'plane' or sizes" if allow_plane else "sizes"
    stripped = (text or "").strip()
    if stripped.lower() in ("", PLANE):
        if allow_plane or not stripped:
            return None
        raise ChunkShapeError(f"{what} takes sizes like 1,512,512, not {stripped!r}")
    parts = [p.strip() for p in stripped.split(",")]
    if not all(p.removeprefix("-").isdigit() and p.isascii() for p in parts):  # no blank, "+1", "1.5", "١"
        raise ChunkShapeError(f"{what} takes {words} like 1,512,512, not {stripped[:80]!r}")
    sizes = tuple(int(p) for p in parts)
    if any(n < 1 for n in sizes):
        raise ChunkShapeError(f"{what} sizes must be at least 1, not {stripped[:80]!r}")
    if any(n > MAX_SIZE for n in sizes):
        raise ChunkShapeError(f"{what} sizes must be at most {MAX_SIZE}, not {stripped[:80]!r}")
    return sizes


def format_chunk_shape(shape: tuple[int, ...] | None) -> str:
    """The text ``parse_chunk_shape`` reads back: ``plane`` for None, else ``1,512,512``."""
    return PLANE if not shape else ",".join(str(n) for n in shape)
