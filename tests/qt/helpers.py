"""Small helpers for driving the backend tree in tests."""

from __future__ import annotations

from polystore_gui.qt.tree_model import ADDRESS_ROLE, ROW_KIND_ROLE, State


def expand(window, qtbot, backend, path, timeout=15_000):
    """Expand the row (backend, path) through the view and wait until its rows are all in."""
    model = window.tree_model
    qtbot.waitUntil(lambda: model.find(backend, path).isValid(), timeout=timeout)
    index = model.find(backend, path)
    window.tree.expand(window.proxy.mapFromSource(index))
    if model.canFetchMore(index):
        model.fetchMore(index)
    node = model.node(index)
    qtbot.waitUntil(lambda: node.state in (State.LISTED, State.FAILED) and node.job is None, timeout=timeout)
    return index


def child_rows(model, index):
    """[(name, row_kind, (backend, path))] of the rows under index."""
    return [
        (
            model.index(r, 0, index).data(),
            model.index(r, 0, index).data(ROW_KIND_ROLE),
            model.index(r, 0, index).data(ADDRESS_ROLE),
        )
        for r in range(model.rowCount(index))
    ]
