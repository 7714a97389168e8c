"""The model's entry points ask the adapter (no backend lists): a protocol-only adapter
registered for a URL scheme is what listing, info, preview, rename and delete reach."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

from polystore_gui.model import arrays, lazy, listing, rename, trash
from polystore_gui.model.address import Address, parse_address
from polystore_gui.model.arrays import Info
from polystore_gui.model.backends import Capabilities, adapter_for, base, register_adapter
from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.lazy import Preview


class Fake:
    """An adapter written against the protocol alone (no AdapterBase), as a newcomer would."""

    name = "fake store"
    capabilities = Capabilities(readable=True, listable=True, remote=True)

    def __init__(self) -> None:
        self.calls: list[str] = []

    def entry(self, backend: str, path: str) -> Entry:
        self.calls.append("entry")
        return Entry(backend, path, path.rsplit("/", 1)[-1], EntryKind.DIRECTORY)

    def list_children(self, entry: Entry, *, batch_size: int = 2048, show_hidden: bool = True) -> Iterator[list[Entry]]:
        self.calls.append("list")
        yield [Entry(entry.backend, entry.path + "/b", "b", EntryKind.FILE),
               Entry(entry.backend, entry.path + "/A", "A", EntryKind.DIRECTORY)]

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        self.calls.append("describe")
        yield [e.with_details(size=7) for e in entries]

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        self.calls.append("info")
        return Info(backend, path, "file", size=7)

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool) -> Preview:
        self.calls.append("preview")
        return Preview(backend, path, self.info(backend, path), notes=("fake",))

    def exists(self, backend: str, path: str) -> bool:
        return True

    def is_folder(self, backend: str, path: str) -> bool:
        return False

    def delete(self, backend: str, path: str) -> None:
        raise OSError("read-only")


@pytest.fixture
def fake():
    adapter = Fake()
    register_adapter(adapter, schemes=("fake-test",))
    yield adapter
    base._by_scheme.pop("fake-test")


def test_listing_info_and_preview_reach_the_adapter_of_the_address(fake):
    url = "fake-test://bucket/dir"
    assert adapter_for("zarr", url) is fake
    root = listing.entry_for_path("zarr", url)
    assert root.kind is EntryKind.DIRECTORY
    assert [e.name for b in listing.list_children(root) for e in b] == ["b", "A"]
    steps = list(listing.sorted_listing(root))
    assert [e.name for e in steps[-1][1]] == ["A", "b"]  # folders first, as everywhere
    described = [e for b in listing.describe([Entry("zarr", url + "/b", "b", EntryKind.FILE)]) for e in b]
    assert [e.size for e in described] == [7]
    assert arrays.inspect("zarr", url + "/b").size == 7
    preview = lazy.open_preview("zarr", url + "/b", listed=True)  # no `listed` in its signature: fine
    assert preview.notes == ("fake",)
    assert {"entry", "list", "describe", "info", "preview"} <= set(fake.calls)


def test_rename_and_delete_follow_the_capabilities(fake):
    url = Address("zarr", "fake-test://bucket/dir/b")
    assert not rename.renamable(url)
    with pytest.raises(rename.RenameError, match="cannot be renamed"):
        rename.rename(url, "c")
    plan = trash.plan_delete(url, None)
    assert plan.trash is None and "read-only" in (plan.error or "")
    with pytest.raises(trash.DeleteError, match="read-only"):
        trash.delete(plan, permanently=True)
    assert rename.renamable(Address("memory", "/x")) and rename.renamable(Address("disk", "/x"))
    assert not rename.renamable(Address("ome_zarr", "/x")) and not rename.renamable(Address("napari_stream", ""))
    assert trash.plan_delete(Address("memory", "/x"), None) == trash.DeletePlan(Address("memory", "/x"), None)


def test_addresses_of_local_backends_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in ("disk", "zarr", "ome_zarr"):
        assert parse_address(f"{key}:rel/x.zarr").path == os.path.join(str(tmp_path), "rel/x.zarr")
    assert parse_address("memory:results/a").path == "/results/a"
    assert parse_address("napari_stream:").path == "/"
