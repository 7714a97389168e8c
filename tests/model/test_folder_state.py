"""A folder's listing state (issue 15): one model object, no Qt, that the tree and the folder
list are both views of."""

from __future__ import annotations

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.folder_state import Change, FolderState, Phase


def _entries(n: int) -> list[Entry]:
    return [Entry("disk", f"/d/f{i:03d}", f"f{i:03d}", EntryKind.FILE) for i in range(n)]


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[Change, list[str]]] = []

    def folder_changed(self, folder, change, entries):
        self.changes.append((change, [e.name for e in entries]))


def test_a_listing_goes_from_loading_to_listed_and_its_views_are_told():
    folder = FolderState("disk", "/d")
    view = Recorder()
    folder.subscribe(view)
    assert folder.phase is Phase.UNLISTED and folder.count is None
    generation = folder.begin()
    assert folder.phase is Phase.LOADING and folder.current(generation)
    folder.set_listing(_entries(5), order=("size", True))
    assert folder.phase is Phase.LISTED and folder.count == 5 and folder.order == ("size", True)
    assert [c for c, _ in view.changes] == [Change.LOADING, Change.LISTED]
    # Listed again: the answers of the first listing are no longer current.
    renewed = folder.renew()
    assert folder.current(renewed) and not folder.current(generation)
    assert folder.phase is Phase.LISTED  # renewed: its rows stay until the new answer is merged


def test_details_are_learnt_per_entry_and_read_through_the_listing():
    folder = FolderState("disk", "/d")
    folder.begin()
    listing = _entries(4)
    folder.set_listing(listing)
    view = Recorder()
    folder.subscribe(view)
    sized = listing[2].with_details(size=7, modified=1.0)
    folder.learn([sized])
    assert folder.entry(2) == sized and folder.entry(1) == listing[1]
    assert folder.listing[2] is listing[2]  # the listing itself is never rewritten
    assert folder.merged()[2] == sized
    assert view.changes == [(Change.DETAILS, ["f002"])]
    # A new listing brings its own facts; a new order of the same entries keeps them.
    folder.set_listing(list(reversed(listing)), keep_details=True)
    assert folder.entry(1) == sized
    folder.set_listing(listing)
    assert folder.entry(2) == listing[2]


def test_a_view_asks_for_the_details_of_what_it_shows_only_when_unknown():
    asked: list[list[str]] = []
    folder = FolderState("disk", "/d")
    folder.details_wanted = lambda f, todo: asked.append([e.name for e in todo])
    listing = _entries(3)
    folder.want_details(listing)  # not listed yet: nothing to ask
    folder.begin()
    folder.set_listing(listing)
    known = listing[0].with_details(size=1, modified=2.0)
    folder.want_details([known, listing[1]])
    assert asked == [["f001"]]
    folder.set_remaining(0)  # every entry described
    folder.want_details([listing[2]])
    assert asked == [["f001"]] and folder.described


def test_a_failed_listing_says_why_and_holds_nothing():
    folder = FolderState("disk", "/gone")
    view = Recorder()
    folder.subscribe(view)
    folder.begin()
    folder.fail("No longer exists: /gone")
    assert folder.phase is Phase.FAILED and folder.error == "No longer exists: /gone" and folder.count is None
    assert view.changes[-1][0] is Change.FAILED
    folder.unsubscribe(view)
    folder.begin()
    assert view.changes[-1][0] is Change.FAILED  # an unsubscribed view hears nothing more
