"""What every command of the command line shares: exit statuses, JSON and terminal-safe
printing, sizes, and an address parsed with a clear message (never a traceback).

Split from the one-module ``cli`` (issue 15); every name here stays importable from ``polystore_gui.cli``.
"""

from __future__ import annotations

import json
import sys
from typing import Any


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _known_backends() -> list[str]:
    from polystore.backend_registry import STORAGE_BACKENDS

    STORAGE_BACKENDS._discover()
    return sorted(STORAGE_BACKENDS.keys())


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _human_size(n: int | None) -> str:
    from ..model.entries import human_size

    return human_size(n, short=True) if n is not None else "-"


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _shown(text: str, *, keep: str = "") -> str:
    """``text`` safe for a terminal: control characters, terminal escapes and other
    unprintable characters as Python-style escapes (``\\n``, ``\\x1b``), as ``ls -b`` does;
    a backslash doubles so that the escapes stay unambiguous. ``keep``: characters left as
    they are (line breaks and tabs in a text preview). JSON output is never escaped here."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch in keep or (ch.isprintable() and ch != "\\"):
            out.append(ch)
        else:
            out.append(_ESCAPES.get(ch) or repr(ch)[1:-1])
    return "".join(out)


def _address(text: str) -> Any:
    """The Address for ``text``, or None after saying on stderr which backends exist."""
    from ..model.address import UnknownBackendError, parse_address

    from ..model.remote_address import RemoteAddressError

    try:
        return parse_address(text, _known_backends())
    except (UnknownBackendError, RemoteAddressError) as exc:
        print(f"polystore-gui: {exc}", file=sys.stderr)
        return None


def _is_local(address: Any) -> bool:
    """Whether the address is a path on this machine (its backend's adapter says so)."""
    from ..model.backends import adapter_for

    return adapter_for(address.backend, address.path).capabilities.local
