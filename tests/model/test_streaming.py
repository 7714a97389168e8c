"""The sending side of streaming, without a viewer: refusals, batching, ports, drag payloads,
and the layer rules the viewer applies (pure numpy, no napari)."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from polystore_gui.model import streaming
from polystore_gui.model.address import Address, decode_entries, encode_entries
from polystore_gui.viewer.layers import LayerBook
from tests.fakes import free_port_pair


@pytest.mark.parametrize(
    ("shape", "dtype", "why"),
    [
        ((10,), "u2", "1-D"),
        ((0, 5), "u2", "empty"),
        ((4, 4), "c8", "complex"),
        ((4, 4), "U3", "text"),
        ((4, 4), [("a", "i4"), ("b", "f4")], "records"),
        ((4, 4), "O", "Python objects"),
    ],
)
def test_what_napari_cannot_show_is_refused_with_the_reason(shape, dtype, why):
    assert why in streaming.refusal(shape, dtype)


@pytest.mark.parametrize("dtype", ["u1", "u2", "i4", "f4", "f8", "bool"])
def test_images_of_every_pixel_type_pass(dtype):
    assert streaming.refusal((3, 8, 8), dtype) is None


def test_prepare_reads_arrays_and_refuses_before_reading_too_much(demo_dir, tmp_path):
    item = streaming.prepare("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"))
    assert item.name == "plain" and item.data.shape == (16, 512, 512) and item.data.flags.c_contiguous
    with pytest.raises(streaming.Refused, match="would not fit"):
        streaming.prepare("zarr", str(demo_dir / "stores" / "experiment.zarr" / "plain"), limit=1024)
    np.save(tmp_path / "line.npy", np.arange(10))
    with pytest.raises(streaming.Refused, match="1-D|not an image"):
        streaming.prepare("disk", str(tmp_path / "line.npy"))
    np.save(tmp_path / "waves.npy", np.ones((4, 4), np.complex64))
    with pytest.raises(streaming.Refused, match="complex|not an image"):
        streaming.prepare("disk", str(tmp_path / "waves.npy"))
    (tmp_path / "notes.txt").write_text("not pixels")
    with pytest.raises(streaming.Refused, match="not an image"):
        streaming.prepare("disk", str(tmp_path / "notes.txt"))
    items, problems = streaming.prepare_all([("disk", str(tmp_path / "line.npy")), ("disk", str(tmp_path / "gone.tif"))])
    assert items == [] and len(problems) == 2


def test_batches_hold_at_most_the_byte_limit_and_a_big_array_goes_alone():
    def item(n):
        return streaming.StreamItem(str(n), np.zeros(n, np.uint8), f"memory:/{n}")

    groups = streaming.batches([item(40), item(50), item(20), item(200), item(10)], limit=100)
    assert [[i.data.nbytes for i in g] for g in groups] == [[40, 50], [20], [200], [10]]


def test_nothing_on_a_port_is_said_plainly_and_quickly():
    port = free_port_pair()
    started = time.monotonic()
    state = streaming.viewer_state(port)
    assert state.running is streaming.Running.NO and not state.ours
    assert "not running" in state.describe()
    with pytest.raises(streaming.StreamError, match="no Fiji receiver is listening"):
        streaming.require_receiver(port, what="Fiji receiver")
    assert time.monotonic() - started < 5


def test_another_program_on_the_port_is_named_as_such():
    port = free_port_pair()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        state = streaming.viewer_state(port, timeout_ms=300)
        assert state.running is streaming.Running.OTHER
        assert "taken by another program" in state.describe()
        with pytest.raises(streaming.StreamError, match="another program"):
            streaming.ensure_viewer(port, timeout=5)


def test_the_drag_payload_round_trips_and_rejects_garbage():
    addresses = [Address("disk", "/a/b.tif"), Address("zarr", "/s.zarr/raw"), Address("disk", "/a/b.tif")]
    assert decode_entries(encode_entries(addresses)) == addresses[:2]
    for bad in (b"not json", b'{"backend": "disk"}', b'[{"backend": 1, "path": "/x"}]'):
        with pytest.raises(ValueError):
            decode_entries(bad)


# -- the viewer's layer rules ------------------------------------------------------------------


def _item(data, producer="gui", **metadata):
    return {
        "data": data,
        "path": "x.tif",
        "metadata": metadata,
        "data_type": "image",
        "producer_identity": {"origin": "direct", "output_kind": "direct", "output_key": producer, "projection_key": producer},
    }


def test_slice_components_split_layers_and_stack_components_make_axes():
    book = LayerBook()
    config = {"component_order": ["channel", "z"], "component_modes": {"channel": "slice", "z": "stack"}}
    items = [_item(np.full((4, 5), 10 * c + z, np.uint16), channel=c, z=z) for c in (1, 2) for z in (2, 0, 1)]
    updates = {u.name: u for u in book.add_batch(items, config)}
    assert sorted(updates) == ["1", "2"]  # one slice component: its value names the layer
    for c, update in zip((1, 2), sorted(updates.values(), key=lambda u: u.name)):
        assert update.data.shape == (3, 4, 5)
        assert [int(update.data[z, 0, 0]) for z in range(3)] == [10 * c, 10 * c + 1, 10 * c + 2]  # z in order
        assert update.stack_values == ((0, 1, 2),)


def test_items_accumulate_across_batches_and_a_repeat_replaces_its_plane():
    book = LayerBook()
    config = {"component_order": ["z"], "component_modes": {"z": "stack"}}
    book.add_batch([_item(np.zeros((2, 2)), z=0)], config)
    (update,) = book.add_batch([_item(np.ones((2, 2)), z=1), _item(np.full((2, 2), 5.0), z=0)], config)
    assert update.data.shape == (2, 2, 2)
    assert update.data[0, 0, 0] == 5.0 and update.data[1, 0, 0] == 1.0
    # A new image shape starts the layer again: the newest data wins.
    (update,) = book.add_batch([_item(np.ones((3, 3)), z=7)], config)
    assert update.data.shape == (1, 3, 3)


def test_producers_never_share_a_layer_and_each_source_is_its_own_layer():
    book = LayerBook()
    config = {"component_order": ["source"], "component_modes": {"source": "slice"}}
    a = np.zeros((2, 2))
    updates = book.add_batch(
        [_item(a, source="/data/x.zarr/raw"), _item(a, source="/data/y.zarr/raw"), _item(a, producer="other", source="/data/x.zarr/raw")],
        config,
    )
    assert len(updates) == 3 and len({u.key for u in updates}) == 3
    assert {u.name for u in updates} == {"x.zarr/raw", "y.zarr/raw"}
    # An unstacked layer shows the array it was sent, not a copy.
    assert updates[0].data is a
