"""The one chunk-shape parser (cp/convert --chunks, --shards, the transfer setting, the
settings dialog): what it accepts and the sentence it gives for the rest."""

from __future__ import annotations

import pytest

from polystore_gui.model.chunk_shape import ChunkShapeError, format_chunk_shape, parse_chunk_shape


@pytest.mark.parametrize(("text", "shape"), [
    ("plane", None), ("", None), ("  Plane ", None), (None, None),
    ("1,512,512", (1, 512, 512)), (" 2, 64 ,64 ", (2, 64, 64)), ("7", (7,)),
])
def test_accepted(text, shape) -> None:
    assert parse_chunk_shape(text) == shape
    if shape is not None:
        assert parse_chunk_shape(format_chunk_shape(shape)) == shape
    assert format_chunk_shape(None) == "plane"


@pytest.mark.parametrize(("text", "said"), [
    ("a,b", "takes 'plane' or sizes like 1,512,512"), ("1,,512", "takes"), ("1.5,2", "takes"), ("-1,4", "at least 1"), ("--1", "takes"),
    ("+3", "takes"), ("١,٢", "takes"), ("0,512", "at least 1"), ("99999999999999999999,1", "at most"),
])
def test_refused_with_a_sentence(text, said) -> None:
    with pytest.raises(ChunkShapeError, match=said):
        parse_chunk_shape(text, what="--chunks")


def test_shards_take_no_plane() -> None:
    with pytest.raises(ChunkShapeError, match="--shards takes sizes"):
        parse_chunk_shape("plane", what="--shards", allow_plane=False)
    assert parse_chunk_shape("", what="--shards", allow_plane=False) is None
