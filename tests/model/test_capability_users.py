"""The model's places that once kept backend lists ask the adapter's capabilities instead:
a protocol-only adapter registered for a new key is treated per what it says it can do
(File → Open Location's plain folders, the drop menu's conversion destination), and a
remote store is never taken for a folder of this machine."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from polystore_gui.model import convert_items
from polystore_gui.model.address import Address
from polystore_gui.model.arrays import Info
from polystore_gui.model.backends import Capabilities, base, register_adapter
from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.lazy import Preview
from polystore_gui.model.locate import LocationError, locate


class Protocolled:
    """An adapter written against the protocol alone, with the capabilities it is given."""

    def __init__(self, name: str, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities

    def entry(self, backend: str, path: str) -> Entry:
        return Entry(backend, path, path.rsplit("/", 1)[-1], EntryKind.DIRECTORY)

    def list_children(self, entry: Entry, *, batch_size: int = 2048, show_hidden: bool = True) -> Iterator[list[Entry]]:
        yield []

    def describe(self, entries: Sequence[Entry], *, headers: bool = True) -> Iterator[list[Entry]]:
        yield list(entries)

    def info(self, backend: str, path: str, *, listed: bool = False) -> Info:
        return Info(backend, path, "directory")

    def open_preview(self, backend: str, path: str, *, size_limit: int, confirmed: bool) -> Preview:
        return Preview(backend, path, self.info(backend, path))

    def exists(self, backend: str, path: str) -> bool:
        return True

    def is_folder(self, backend: str, path: str) -> bool:
        return True

    def delete(self, backend: str, path: str) -> None:
        raise OSError("not here")


@pytest.fixture
def registered():
    """Register adapters by key for one test: ``registered(key, Capabilities(...))``."""
    keys: list[str] = []

    def _register(key: str, capabilities: Capabilities) -> Protocolled:
        adapter = Protocolled(key, capabilities)
        register_adapter(adapter, keys=(key,))
        keys.append(key)
        return adapter

    yield _register
    for key in keys:
        base._by_key.pop(key, None)


def test_open_location_shows_a_plain_folder_of_any_local_file_system_adapter(registered, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    registered("w1_files", Capabilities(readable=True, writable=True, listable=True, local=True, holds_links=True))
    registered("w1_stores", Capabilities(readable=True, listable=True, local=True))
    found = locate(f"w1_files:{folder}", ["disk", "w1_files", "w1_stores"])
    assert found.target == Address("disk", str(folder)) and found.root == str(folder)
    # A local adapter that holds no file system's own folders (a store kind) still says so.
    with pytest.raises(LocationError, match="Not inside a zarr store"):
        locate(f"w1_stores:{folder}", ["disk", "w1_files", "w1_stores"])


def test_a_store_path_is_shown_under_the_store_key_its_metadata_says(tmp_path):
    import zarr

    store = tmp_path / "plain.zarr"
    zarr.open_group(str(store), mode="w").create_array("a", shape=(4,), dtype="u1")
    found = locate(str(store / "a"), ["disk", "zarr", "ome_zarr"])
    assert found.target == Address("zarr", str(store / "a"))
    assert (found.root_backend, found.root) == ("zarr", str(store))


def test_conversion_is_written_into_folders_of_local_adapters_only(registered, tmp_path):
    source = Address("disk", str(tmp_path / "stack.tif"))
    registered("w1_local", Capabilities(readable=True, writable=True, listable=True, local=True))
    registered("w1_volatile", Capabilities(readable=True, writable=True, listable=True, volatile=True))
    [into_local] = convert_items.plan([source], Address("w1_local", str(tmp_path)))
    assert into_local.error is None and into_local.destination == Address("disk", str(tmp_path / "stack.ome.zarr"))
    [into_volatile] = convert_items.plan([source], Address("w1_volatile", "/results"))
    assert into_volatile.error == "an OME-Zarr is written to a folder on disk, not to w1_volatile"
    [into_remote] = convert_items.plan([source], Address("zarr", "s3://bucket/plate.zarr"))
    assert into_remote.error == "an OME-Zarr is written to a folder on disk, not to zarr"


def test_a_plate_is_read_wherever_the_adapter_says_paths_are_local(registered, tmp_path, monkeypatch):
    from polystore_gui.model.backends.plate import plate_at  # the entry point: it asks the adapter
    from tests.plates import write_tiff_plate

    folder = write_tiff_plate(tmp_path / "tiffs", ["A01_s1_w1.tif", "B02_s1_w1.tif"])
    registered("w1_local", Capabilities(readable=True, listable=True, local=True))
    registered("w1_volatile", Capabilities(readable=True, writable=True, listable=True, volatile=True))
    plate = plate_at("w1_local", str(folder))
    assert plate is not None and plate.kind == "tiff-plate" and len(plate.wells) == 2
    assert plate_at("w1_volatile", str(folder)) is None  # not this machine's folder, whatever it is named
    # A remote store's plate is read by the reader registered for its backend (plate_remote),
    # never as a local folder.
    from polystore_gui.model.backends import plate as plate_module

    asked = []
    monkeypatch.setitem(plate_module._REMOTE_READERS, "zarr", lambda b, p, check: asked.append((b, p)))
    assert plate_at("zarr", "s3://bucket/plate.zarr") is None and asked == [("zarr", "s3://bucket/plate.zarr")]
