"""Fixtures of the model tests."""

from __future__ import annotations

import pytest

from polystore_gui.model import zarr_nodes


@pytest.fixture
def documents(monkeypatch):
    """The zarr metadata documents read (zarr_nodes' JSON loads), in order, as paths."""
    opened: list[str] = []
    real = zarr_nodes._load_json

    def load(name):
        opened.append(name)
        return real(name)

    monkeypatch.setattr(zarr_nodes, "_load_json", load)
    return opened
