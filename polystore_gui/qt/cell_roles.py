"""A cell's roles answered in one call into Python (Qt's ``multiData``).

To paint or measure a cell, Qt's item delegate asks the model for seven roles at once
(font, alignment, foreground, check state, decoration, text, background) through
``QAbstractItemModel::multiData``. Its default asks ``data()`` once a role: seven calls
from C++ into Python a cell, each of which must take the interpreter lock. While a worker
thread runs Python (an import, a listing), every one of those takes may wait for the lock,
so a tree of 40 rows and 5 columns painted once is 1,400 waits instead of 200 (a
start-up measurement: 1,866 ``data()`` calls from C++ while the filled tree was laid out,
fitted and painted). The mixin answers the whole span in one call, from the model's own
``data()``: same answers, one take of the lock a cell.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QModelIndex


class OneCallPerCell:
    """Mixed into a Qt item model before its Qt base class: ``multiData`` from ``data()``."""

    def multiData(self, index: QModelIndex, roles: Any) -> None:  # noqa: N802 (Qt override)
        data = self.data  # type: ignore[attr-defined]
        for role_data in roles:
            value = data(index, role_data.role())
            if value is None:
                role_data.clearData()
            else:
                role_data.setData(value)


__all__ = ["OneCallPerCell"]
