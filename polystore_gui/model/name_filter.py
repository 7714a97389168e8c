"""The name filter, keystroke after keystroke: which entries of a listing hold a text in their
name (case-blind), examining as few names as it can.

Typing a filter narrows it one key at a time: every entry that holds ``img_0004`` is among
those that held ``img_000``, so a key that adds to the text examines only the entries the
text before matched (what is shown), never the whole listing again. Deleting a key goes back
to a text already answered for this listing, which costs nothing. Only a text unrelated to
any answered one (or the first key) examines the whole listing, through
:func:`~polystore_gui.model.listing.match_positions` (numpy over a large folder's
case-folded names when the listing worker prepared them).

``examined`` says how many names the last answer looked at: what a test counts, and what
the filter costs the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from .entries import Entry
from .listing import folded_names, match_positions

# Texts remembered per listing (the keys typed and deleted in one go are far fewer).
REMEMBERED = 64


class NameFilter:
    """Positions of a listing's entries whose names hold a text, one text after another."""

    __slots__ = ("_entries", "_folded", "_ahead", "_answers", "examined")

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = entries
        self._folded: list[str] | None = None  # every name case-folded, once worked out
        self._ahead = False  # ...by the listing worker, which also made numpy's copy of them
        self._answers: dict[str, list[int]] = {}  # case-folded text -> positions, in order
        self.examined = 0

    def match(self, text: str) -> list[int] | None:
        """The positions, in order, of the entries whose names hold ``text``; None for no text
        (every entry)."""
        needle = text.strip().casefold()
        if not needle:
            self.examined = 0
            return None
        known = self._answers.get(needle)
        if known is not None:
            self.examined = 0
            return known
        narrower = self._smallest_answer_within(needle)
        if narrower is None:
            prepared = self._folded is not None and self._ahead
            if self._folded is None:
                self._folded = self._prepared()
                prepared = self._ahead = self._folded is not None
                if self._folded is None:
                    self._folded = folded_names(self._entries)  # once per listing, kept for the keys after
            if prepared:  # a large disk folder's names, case-folded ahead in the worker: searched by numpy
                found = match_positions(self._entries, needle)
            else:
                found = [i for i, name in enumerate(self._folded) if needle in name]
            self.examined = len(self._entries)
        else:
            found = [p for p in narrower if needle in self._folded_name(p)]
            self.examined = len(narrower)
        if len(self._answers) >= REMEMBERED:
            self._answers.pop(next(iter(self._answers)))
        self._answers[needle] = found
        return found

    def _smallest_answer_within(self, needle: str) -> list[int] | None:
        """The fewest positions answered for a text that ``needle`` holds (its matches are
        among them), or None."""
        best: list[int] | None = None
        for text, positions in self._answers.items():
            if text in needle and (best is None or len(positions) < len(best)):
                best = positions
        return best

    def _prepared(self) -> list[str] | None:
        """The names case-folded ahead by the listing worker (a large disk folder), or None."""
        prepared = getattr(self._entries, "folded_names", None)
        folded: list[str] | None = prepared() if prepared is not None else None
        return folded

    def _folded_name(self, position: int) -> str:
        if self._folded is None:
            self._folded = self._prepared()
            self._ahead = self._folded is not None
            if self._folded is None:
                self._folded = folded_names(self._entries)
        return self._folded[position]


__all__ = ["NameFilter"]
