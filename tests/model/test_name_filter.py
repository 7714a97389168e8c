"""The name filter walks only what is shown (issue 19): a key that adds to the text examines
the entries the text before matched, a key deleted reuses an answer, and nothing else
changes what matches."""

from __future__ import annotations

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.name_filter import NameFilter


def _listing(n: int) -> list[Entry]:
    return [Entry("disk", f"/d/Img_{i:05d}.tif", f"Img_{i:05d}.tif", EntryKind.IMAGE_FILE) for i in range(n)]


def _expected(entries: list[Entry], text: str) -> list[int]:
    return [i for i, e in enumerate(entries) if text.casefold() in e.name.casefold()]


def test_typing_examines_only_the_entries_the_text_before_matched():
    entries = _listing(10_000)
    names = NameFilter(entries)
    typed = "img_0004"
    shown = len(entries)
    for i in range(1, len(typed) + 1):
        text = typed[:i]
        found = names.match(text)
        assert found == _expected(entries, text)
        assert names.examined <= shown  # the first key: everything is shown
        if i > 1:
            assert names.examined == shown  # exactly the rows the text before showed
        shown = len(found)
    assert shown == 10 and names.examined == 100  # "img_0004" among the 100 of "img_000"


def test_deleting_keys_goes_back_to_answers_already_given():
    entries = _listing(5_000)
    names = NameFilter(entries)
    for i in range(1, 9):
        names.match("img_0004"[:i])
    for i in range(7, 0, -1):
        assert names.match("img_0004"[:i]) == _expected(entries, "img_0004"[:i])
        assert names.examined == 0
    assert names.match("") is None and names.examined == 0


def test_a_text_unrelated_to_those_answered_examines_the_listing_once():
    entries = _listing(3_000)
    names = NameFilter(entries)
    names.match("img_01")
    assert names.match(".TIF") == list(range(3_000)) and names.examined == 3_000
    # Case-blind, and a text inside an answered one narrows from it.
    assert names.match("01.tif") == _expected(entries, "01.tif") and names.examined == 3_000
    assert names.match("001.tif") == _expected(entries, "001.tif")
    assert names.examined == len(_expected(entries, "01.tif"))
