"""Small stand-ins shared by tests (never replacing polystore itself)."""

from __future__ import annotations

import socket

import numpy as np
from zarr.storage import WrapperStore


class OpaqueArray:
    """An array-like with no lazy slicing (think: a device array): showing it converts it whole."""

    def __init__(self, shape=(1024, 1024), dtype="uint16"):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize

    def __array__(self, dtype=None, copy=None):
        return np.ones(self.shape, dtype or self.dtype)


class CountingStore(WrapperStore):
    """Records every key read from the wrapped zarr store (whole or by byte range)."""

    def __init__(self, store):
        super().__init__(store)
        self.keys = []

    async def get(self, key, prototype, byte_range=None):
        self.keys.append(key)
        return await super().get(key, prototype, byte_range)

    async def get_partial_values(self, prototype, key_ranges):
        key_ranges = list(key_ranges)
        self.keys.extend(k for k, _ in key_ranges)
        return await super().get_partial_values(prototype, key_ranges)


def free_port_pair() -> int:
    """A port P with P and P + 1000 (its control port) both free on the loopback."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + _control_port(0) > 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", _control_port(port)))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def _control_port(port: int) -> int:
    from polystore_gui.model.streaming import control_port

    return control_port(port)
