"""Renaming an entry in place: a file, folder, store or array keeps its folder, gets a new name.

Never replaces anything: a name that is taken is refused (the transfer engine's conflict
dialog is for copies). Local entries (``disk``, ``zarr``) are renamed with one
``rename(2)`` on the same file system, so a store or array is never half-moved; the zarr
consolidated metadata of the folders above is written again (as Delete does). ``memory``
goes through polystore's own ``move``. Called from a worker: nothing here is for the GUI
thread.
"""

from __future__ import annotations

import os

from . import zarr_consolidated
from .address import Address
from .entry_names import RenameError, check_name  # noqa: F401  (importable from here)
from .transfers import PARTIAL


def renamable(address: Address) -> bool:
    """Whether Rename works where ``address`` is (its adapter's ``renamable``)."""
    from .backends import adapter_for

    return adapter_for(address.backend, address.path).capabilities.renamable


def renamed(address: Address, name: str) -> Address:
    """The address ``address`` would have under the new name (same folder)."""
    parent = address.path.rstrip("/").rsplit("/", 1)[0] or "/"
    return Address(address.backend, (parent.rstrip("/") + "/" + name) if parent != "/" else "/" + name)


def rename(address: Address, name: str) -> Address:
    """Rename ``address`` to ``name`` in its folder; returns the new address.

    Raises RenameError (the name, a taken name, a vanished entry, the OS's refusal).
    """
    from .backends import adapter_for
    from .backends.common import polystore_backend

    adapter = adapter_for(address.backend, address.path)
    if not adapter.capabilities.renamable:
        raise RenameError(f"entries of {address.backend} cannot be renamed here")
    check_name(name)
    target = renamed(address, name)
    if target.path == address.path.rstrip("/"):
        return target
    if not adapter.capabilities.local:  # memory: through polystore's own move
        if not adapter.exists(address.backend, address.path):
            raise RenameError(f"{address} no longer exists")
        if adapter.exists(address.backend, target.path):
            raise RenameError(f"{name!r} is already taken in {os.path.dirname(target.path)}")
        try:
            polystore_backend(address.backend).move(address.path, target.path)
        except Exception as exc:  # polystore's own refusal, in its words
            raise RenameError(f"polystore could not rename {address}: {exc}") from exc
        return target
    source = address.path.rstrip("/")
    if not os.path.lexists(source):
        raise RenameError(f"{address} no longer exists")
    if os.path.lexists(target.path):
        raise RenameError(f"{name!r} is already taken in {os.path.dirname(target.path)}")
    try:
        os.rename(source, target.path)
    except OSError as exc:
        raise RenameError(f"could not rename {os.path.basename(source)}: {exc.strerror or exc}") from exc
    try:
        # Copies under way into the same group stay out of the documents (as Delete does).
        zarr_consolidated.refresh(os.path.dirname(target.path), leave_out=PARTIAL)
    except Exception as exc:  # renamed all the same; say why zarr may still list the old name
        raise RenameError(f"renamed, but the consolidated metadata that lists {os.path.basename(source)} "
                          f"could not be written again: {exc}") from exc
    return target
