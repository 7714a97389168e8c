"""polystore-gui: a desktop storage browser for the polystore library."""

from __future__ import annotations

# The version lives in one place (pyproject.toml reads it from here): no importlib.metadata
# at start-up, which costs tens of milliseconds before the window can paint.
from ._version import __version__

__all__ = ["__version__"]
