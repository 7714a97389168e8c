"""The conformance suite every adapter passes (as zarr-python's ``StoreTests``).

How to add an adapter to it (the remote and plate adapters, or a new kind of storage):

1. In a test module of your own (``tests/model/backends/test_<kind>.py``, or beside your
   other tests), subclass :class:`WritableAdapterTests` (the transfer engine writes into
   it) or :class:`ListableAdapterTests` (read-only) as ``TestMyKind``. The suite asks
   ``adapter_for(place.backend, place.root)``, so a scheme-claimed adapter (``s3://``) is
   found as the browser finds it.
2. Write the fixture ``place`` (the only thing the suite cannot guess): build, in your
   storage, a folder ``root`` holding two folders ``alpha`` and ``Sub`` (``Sub`` holding
   one entry), and at least two leaves, and return a :class:`Place` saying what you built
   (``expected``: each child's name and kind after ``describe``; ``order``: the names as
   ``sorted_listing`` must give them, folders first, case-blind). Tear it down after the
   ``yield``.
3. For a writable adapter also write ``make_folder`` and ``content`` (how the suite makes
   an empty folder in your storage, and what a leaf holds, to compare a round-trip copy);
   a read-only adapter subclasses :class:`ListableAdapterTests`, which has no write tests
   (nothing is skipped: ``test_it_is_writable`` holds each writable adapter to its word).
4. ``refuse_listing`` makes your storage refuse to list ``path`` the way it refuses for
   real (``os.scandir`` raising ``PermissionError`` for local storage; a 403 for a remote
   store): the listing must become a ``ListingError`` saying "Permission denied".

Sinks and backends that need context have their own small suite,
:class:`UnlistableAdapterTests` (capabilities, and a listing that says why not).

Running as root here, a folder without ``+x`` is still readable, so permission errors are
made by replacing ``os.scandir`` (or the backend's ``list_dir``) with one that raises,
exactly where the adapter would meet the OS's refusal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest

from polystore_gui.model.address import Address
from polystore_gui.model.backends import Adapter, Capabilities, adapter_for
from polystore_gui.model.backends.common import ListingError
from polystore_gui.model.entries import EntryKind
from polystore_gui.model.listing import sorted_listing


@dataclass(frozen=True)
class Place:
    """What a subclass built for the suite: ``root`` holds ``expected`` (name → kind)."""

    backend: str
    root: str
    expected: dict[str, EntryKind]
    order: list[str]  # sorted_listing's order by name: folders first, then case-blind
    folder: str = "Sub"  # a folder holding one entry
    leaf: str = ""  # a leaf with content (copied and deleted by the write tests)
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> str:
        return self.root.rstrip("/") + "/" + name


def children(adapter: Adapter, entry: Any, **kw: Any) -> list[Any]:
    return [e for batch in adapter.list_children(entry, **kw) for e in batch]


def described(adapter: Adapter, entries: list[Any]) -> dict[str, Any]:
    """The entries by name, each with the details the adapter's describe learnt."""
    by_name = {e.name: e for e in entries}
    for batch in adapter.describe(entries, headers=True):
        for e in batch:
            by_name[e.name] = e
    return by_name


def run_items(items: list[Any]) -> list[Any]:
    """The planned ``items`` run to their end (tests/model/transfer_runs); their outcomes."""
    from ..transfer_runs import run

    return run(items)


class ListableAdapterTests:
    """Every listable adapter: listing, describe, info, missing paths, refusals; and, when
    ``capabilities.writable``, a verified round-trip copy and delete (see the module docstring)."""

    key: str = ""

    # -- what a subclass provides -------------------------------------------------------------

    @pytest.fixture
    def place(self, tmp_path: Any) -> Any:
        raise NotImplementedError("a subclass builds its place")

    def refuse_listing(self, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
        """Make the storage refuse to list ``path`` as the OS refuses (default: os.scandir)."""
        import os

        real = os.scandir

        def scandir(p: Any = ".") -> Any:
            if str(p).rstrip("/") == path.rstrip("/"):
                raise PermissionError(13, "Permission denied", str(p))
            return real(p)

        monkeypatch.setattr(os, "scandir", scandir)

    def make_folder(self, place: Place, name: str) -> str:
        raise NotImplementedError

    def content(self, backend: str, path: str) -> Any:
        raise NotImplementedError

    # -- the suite ----------------------------------------------------------------------------------

    @pytest.fixture
    def adapter(self, place: Place) -> Adapter:
        return adapter_for(place.backend, place.root)

    def test_it_keeps_the_contract(self, adapter: Adapter, place: Place) -> None:
        assert isinstance(adapter, Adapter)  # every method of the protocol is there
        assert isinstance(adapter.capabilities, Capabilities) and adapter.name
        with pytest.raises(dataclasses.FrozenInstanceError):
            adapter.capabilities.readable = False  # type: ignore[misc]
        assert adapter.capabilities.listable and adapter.capabilities.readable
        assert not adapter.capabilities.sink and not adapter.capabilities.needs_context
        assert adapter_for(place.backend, place.path(place.leaf or place.folder)) is adapter

    def test_listing_gives_every_child_with_its_kind(self, adapter: Adapter, place: Place) -> None:
        root = adapter.entry(place.backend, place.root)
        assert root.error is None and root.kind.expandable
        listed = children(adapter, root)
        assert sorted(e.name for e in listed) == sorted(place.expected)
        assert all(e.backend == place.backend and e.path == place.path(e.name) for e in listed)
        kinds = {name: e.kind for name, e in described(adapter, listed).items()}
        assert kinds == place.expected
        # In batches of one, the same children.
        batches = list(adapter.list_children(root, batch_size=1))
        assert all(len(b) <= 1 for b in batches)
        assert sorted(e.name for b in batches for e in b) == sorted(place.expected)

    def test_sorted_listing_puts_folders_first_then_names_case_blind(self, adapter: Adapter, place: Place) -> None:
        root = adapter.entry(place.backend, place.root)
        steps = list(sorted_listing(root))
        assert steps[0][0] == "rows" and steps[-1][0] == "all"
        assert [e.name for e in steps[-1][1]] == place.order
        descending = list(sorted_listing(root, descending=True))[-1][1]
        folders = [n for n in place.order if place.expected[n].expandable]
        files = [n for n in place.order if not place.expected[n].expandable]
        assert [e.name for e in descending] == folders[::-1] + files[::-1]

    def test_describe_gives_leaves_a_size_and_arrays_a_shape(self, adapter: Adapter, place: Place) -> None:
        listed = children(adapter, adapter.entry(place.backend, place.root))
        for name, e in described(adapter, listed).items():
            assert e.error is None, (name, e.error)
            if not e.kind.expandable:
                assert e.size is not None, name
            if e.kind is EntryKind.ARRAY:
                assert e.shape and e.dtype, name

    def test_info_of_each_kind(self, adapter: Adapter, place: Place) -> None:
        assert adapter.info(place.backend, place.root).kind in ("directory", "group")
        assert adapter.info(place.backend, place.path(place.folder)).kind in ("directory", "group")
        listed = described(adapter, children(adapter, adapter.entry(place.backend, place.root)))
        for name, e in listed.items():
            info = adapter.info(place.backend, e.path, listed=True)
            assert info.error is None, (name, info.error)
            if e.kind is EntryKind.ARRAY:
                assert info.kind == "array" and tuple(info.shape or ()) == tuple(e.shape or ()), name
            elif not e.kind.expandable:
                assert info.kind in ("file", "array"), name

    def test_a_missing_path_says_so(self, adapter: Adapter, place: Place) -> None:
        missing = place.path("never-there")
        assert not adapter.exists(place.backend, missing)
        assert not adapter.is_folder(place.backend, missing)
        entry = adapter.entry(place.backend, missing)
        assert entry.kind is EntryKind.ERROR and "Does not exist" in (entry.error or "")
        assert "No longer exists" in (adapter.info(place.backend, missing, listed=True).error or "")
        assert "Does not exist" in (adapter.info(place.backend, missing).error or "")

    def test_a_folder_that_vanished_since_it_was_listed_says_so(self, adapter: Adapter, place: Place) -> None:
        listed = {e.name: e for e in children(adapter, adapter.entry(place.backend, place.root))}
        folder = listed[place.folder]
        self.remove(adapter, place, place.path(place.folder))
        with pytest.raises(ListingError, match="No longer exists"):
            children(adapter, folder)

    def test_a_refused_listing_says_permission_denied(self, adapter: Adapter, place: Place,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        folder = adapter.entry(place.backend, place.path(place.folder))
        self.refuse_listing(monkeypatch, folder.path)
        with pytest.raises(ListingError, match="Permission denied"):
            children(adapter, folder)
        monkeypatch.undo()
        assert children(adapter, folder)  # nothing else was hurt

    def remove(self, adapter: Adapter, place: Place, path: str) -> None:
        """Remove ``path`` behind the browser's back (default: the adapter's own delete)."""
        adapter.delete(place.backend, path)


class WritableAdapterTests(ListableAdapterTests):
    """A listable adapter the transfer engine writes into: round trip and delete as well."""

    def test_it_is_writable(self, adapter: Adapter) -> None:
        assert adapter.capabilities.writable

    def test_a_round_trip_copy_is_verified_and_equal(self, adapter: Adapter, place: Place, tmp_path: Any) -> None:
        from polystore_gui.model import transfers

        out = tmp_path / "round-trip-out"
        out.mkdir()
        source = Address(place.backend, place.path(place.leaf))
        (there,) = run_items(transfers.plan([source], Address("disk", str(out))))
        assert there.status == "done", there.message
        back = self.make_folder(place, "back")
        (again,) = run_items(transfers.plan([there.item.destination], Address(place.backend, back)))
        assert again.status == "done", again.message
        final = again.item.destination
        assert adapter.exists(final.backend, final.path)
        assert _same(self.content(final.backend, final.path), self.content(source.backend, source.path))

    def test_delete_removes_a_leaf_and_a_folder_for_good(self, adapter: Adapter, place: Place) -> None:
        leaf, folder = place.path(place.leaf), place.path(place.folder)
        adapter.delete(place.backend, leaf)
        adapter.delete(place.backend, folder)
        assert not adapter.exists(place.backend, leaf) and not adapter.exists(place.backend, folder)
        names = {e.name for e in children(adapter, adapter.entry(place.backend, place.root))}
        assert names == set(place.expected) - {place.leaf, place.folder}
        with pytest.raises(OSError):
            adapter.delete(place.backend, leaf)  # already gone: said, never silently "done"


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    return bool(a == b)


class UnlistableAdapterTests:
    """Sinks and backends that need context: what they can do, and a listing that says why not.

    Subclass with ``keys`` (the registry keys to check); the suite checks each.
    """

    kind: str = ""  # "sink" or "needs_context"

    def keys(self) -> list[str]:
        raise NotImplementedError

    def test_capabilities_say_what_it_is(self) -> None:
        for key in self.keys():
            caps = adapter_for(key).capabilities
            assert getattr(caps, self.kind), key
            assert not (caps.listable or caps.readable or caps.writable or caps.renamable or caps.local), key

    def test_listing_says_why_not(self) -> None:
        from polystore_gui.model.entries import Entry

        for key in self.keys():
            adapter = adapter_for(key)
            with pytest.raises(ListingError, match=key):
                children(adapter, Entry(key, "", key, EntryKind.BACKEND))
            assert not adapter.exists(key, "/x") and not adapter.is_folder(key, "/x")
            info = adapter.info(key, "")
            assert info.error and key in info.error
            preview = adapter.open_preview(key, "", size_limit=1 << 20, confirmed=False)
            assert not preview.is_array and preview.notes == (info.error,)
            with pytest.raises(OSError):
                adapter.delete(key, "/x")
