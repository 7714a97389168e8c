"""The transfer engine asks each backend's adapter what it can do: a source or destination
it cannot read or write is refused at planning with the reason, before anything is written."""

from __future__ import annotations

from polystore_gui.model import transfers
from polystore_gui.model.address import Address
from polystore_gui.model.backends import adapter_for


def test_a_source_the_engine_cannot_read_is_refused_with_why_not_that_it_does_not_exist(tmp_path):
    (tmp_path / "dst").mkdir()
    assert adapter_for("napari_stream").capabilities.sink
    (item,) = transfers.plan([Address("napari_stream", "/layer")], Address("disk", str(tmp_path / "dst")))
    assert not item.runnable
    assert "this machine's files and polystore's memory" in item.error and "napari_stream" in item.error
    assert "does not exist" not in item.error


def test_a_destination_that_is_not_writable_is_refused_once_for_all(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    destination = Address("ome_zarr", str(tmp_path))
    assert not adapter_for("ome_zarr").capabilities.writable
    refusal = transfers.destination_refusal(destination)
    assert refusal is not None and "not a storage backend this browser writes to" in refusal.reason
    (item,) = transfers.plan([Address("disk", str(tmp_path / "a.txt"))], destination)
    assert item.error == refusal.reason
    moved = transfers.destination_refusal(Address("memory", "/"), move=True)
    assert moved is not None and moved.loses_data and "lost when the program quits" in moved.reason
    assert transfers.destination_refusal(Address("memory", "/"), move=True, allow_volatile_move=True) is None
