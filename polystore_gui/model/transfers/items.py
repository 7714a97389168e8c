"""What a transfer is made of: the planned item, its outcome, the conflict policies and the
errors, and the constants every part of the engine shares. Facts and words: nothing here
touches storage."""

from __future__ import annotations

import enum
import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..address import Address



def volatile_move_warning(destination: Address) -> str:
    """Why a move into a volatile backend (its adapter's ``volatile``) loses data: the
    window asks; the plan, and so the CLI, refuse."""
    return (f"{destination.backend} lives in this program's RAM: a move would delete the source and keep no "
            f"copy but the one there, lost when the program quits")


BLOCK = 8 << 20
COPY_THREADS = 4  # files copied at a time within a folder or store
PARTIAL = ".polystore-partial-"
STORE_SUFFIXES = (".zarr", ".n5", ".zr", ".zarr3")  # a partial never ends so: no reader takes it for a store
ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")
Progress = tuple[int, int]  # bytes done, bytes total


class Conflict(str, enum.Enum):
    FAIL = "fail"
    SKIP = "skip"
    OVERWRITE = "overwrite"
    RENAME = "rename"  # keep both: the new one gets "name (2).ext"


class TransferError(RuntimeError):
    """An item that could not be transferred; the text is for the user."""


class Cancelled(TransferError):
    pass


@dataclass(frozen=True)
class Refusal:
    """Why nothing at all can go to a destination: the same reason for every source.

    ``loses_data``: the request itself would lose data (a move into a store that ends with
    this process), not the place that cannot take anything; the CLI refuses it as a usage
    error (exit 2) and the window asks instead.
    """

    reason: str
    loses_data: bool = False


class Placed(Protocol):
    """What planning decides about an item's destination (a copy's Item, a ConvertItem)."""

    destination: Address
    replace: bool
    skip_reason: str | None
    error: str | None
    conflict: bool


def meet_conflict(item: Placed, on_conflict: Conflict, taken: str, renamed: Callable[[], Address]) -> None:
    """``item`` whose destination (``taken``, as shown) exists, as ``on_conflict`` says:
    refused, skipped, replaced once verified, or sent to the free name ``renamed()`` gives
    (a copy's plan and a conversion's, alike)."""
    item.conflict = True
    if on_conflict is Conflict.FAIL:
        item.error = f"{taken} already exists"
    elif on_conflict is Conflict.SKIP:
        item.skip_reason = f"{taken} already exists"
    elif on_conflict is Conflict.OVERWRITE:
        item.replace = True
    else:
        item.destination = renamed()


@dataclass
class Item:
    source: Address
    destination: Address  # the final place
    move: bool = False
    replace: bool = False  # overwrite an existing destination once the copy verified
    skip_reason: str | None = None  # planned as skipped (a conflict with policy skip)
    error: str | None = None  # refused at planning
    total: int = 0
    conflict: bool = False  # the destination name was taken when planned
    chunks: tuple[int, ...] | None = None  # chunk shape for arrays written into zarr (None: per plane)
    resume: str | None = None  # a hidden folder holding an interrupted copy of this tree, taken up (cp --resume)

    @property
    def runnable(self) -> bool:
        return self.error is None and self.skip_reason is None


@dataclass
class Outcome:
    item: Item
    status: str  # "done", "skipped", "failed", "cancelled"
    nbytes: int = 0
    message: str | None = None
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # entries of the source not copied, each with why


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TransferError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    if isinstance(exc, FileNotFoundError):
        return f"vanished during the copy: {exc.filename or exc}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "no space left on the destination"
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) not in text:
        text += f" ({cause})"
    return text
