"""One order of names, whichever way they are sorted (issue 13, item 12).

Names are sorted case-blind (``str.casefold``); names equal but for case ('a', 'A') are
then ordered by the exact name (code points: 'A' before 'a'). Descending is the exact
reverse of ascending. A folder's size picks the way (Python's sort, numpy's argsort of
the names folded, or runs sorted by a helper thread while the folder is listed): the
order must never depend on it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import polystore_gui.model.entries as entries_module
import polystore_gui.model.backends.disk as disk_module
import polystore_gui.model.listing as listing_module
from polystore_gui.model.entries import Entry, EntryKind, RunSorter, sort_entries, sort_names


def expected_order(names: list[str], descending: bool = False) -> list[str]:
    ascending = sorted(names, key=lambda n: (n.casefold(), n))
    return ascending[::-1] if descending else ascending


@pytest.fixture
def numpy_path():
    """Force numpy's way for a handful of names (as a folder of 50,000 would take it)."""
    def force(mp: pytest.MonkeyPatch) -> None:
        mp.setattr(entries_module, "NUMPY_SORT_FROM", 2)
        mp.setattr(disk_module, "NUMPY_SORT_FROM", 2)
        mp.setattr(entries_module, "_SLICE", 7)
        mp.setattr(RunSorter, "RUN", 4)  # runs sorted by the helper thread, merged at the end
    return force


def _every_way(names: list[str], descending: bool, force_numpy) -> dict[str, list[str]]:
    """``names`` sorted by each path the application has."""
    out: dict[str, list[str]] = {"python": sort_names(list(names), descending)}
    entries = [Entry("disk", f"/d/{n}", n, EntryKind.IMAGE_FILE) for n in names]
    out["python entries"] = [e.name for e in sort_entries(entries, "name", descending)]
    with pytest.MonkeyPatch.context() as mp:
        force_numpy(mp)
        out["numpy"] = sort_names(list(names), descending)
        out["numpy entries"] = [e.name for e in sort_entries(list(entries), "name", descending)]
        sorter = RunSorter()
        for i in range(0, len(names), 3):  # in batches, as a scan hands them over
            sorter.extend(names[i:i + 3])
        listing = listing_module._sorted_folder_names("/d/", [], sorter, {}, descending)
        out["listing (runs)"] = listing.name_list()
    return out


ascii_names = st.text(alphabet="aAbBzZ_.-09 ~", min_size=1, max_size=4)
any_names = st.text(
    alphabet=st.one_of(st.sampled_from("aAbBßsSéÉǅǆǄΣσςİiıIﬁ_.\udcff"),
                       st.characters(blacklist_categories=("Cs",), blacklist_characters="\0/")),
    min_size=1, max_size=5,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.one_of(ascii_names, any_names), min_size=0, max_size=40, unique=True),
       descending=st.booleans())
def test_names_sort_to_one_order_whichever_path(numpy_path, names, descending):
    want = expected_order(names, descending)
    got = _every_way(names, descending, numpy_path)
    assert got == dict.fromkeys(got, want)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(ascii_names, min_size=0, max_size=60, unique=True), descending=st.booleans())
def test_ascii_names_sort_to_one_order_whichever_path(numpy_path, names, descending):
    want = expected_order(names, descending)
    got = _every_way(names, descending, numpy_path)
    assert got == dict.fromkeys(got, want)


@pytest.mark.parametrize("descending", [False, True])
def test_the_issues_example(numpy_path, descending):
    """['b', 'B', 'a', 'A'] descending was ['b','B','a','A'] by numpy, ['B','b','A','a'] by Python."""
    got = _every_way(["b", "B", "a", "A"], descending, numpy_path)
    want = ["b", "B", "a", "A"] if descending else ["A", "a", "B", "b"]
    assert got == dict.fromkeys(got, want)


def test_other_fields_break_ties_by_the_same_name_order():
    """Sorted by size, entries of one size come in the name order (descending: reversed)."""
    entries = [Entry("disk", f"/d/{n}", n, EntryKind.IMAGE_FILE, size=1) for n in ["b", "A", "a", "B"]]
    assert [e.name for e in sort_entries(entries, "size")] == ["A", "a", "B", "b"]
    assert [e.name for e in sort_entries(entries, "size", True)] == ["b", "B", "a", "A"]
