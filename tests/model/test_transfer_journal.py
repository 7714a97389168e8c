"""The transfer journal: each record reaches the disk before the step it announces begins.

A record must survive a crash or a power cut, not only a killed process: the file is
fsynced before it is renamed over the old record, and its folder after, so that both the
record's bytes and its name are on disk when ``begin``/``mark`` return.
"""

from __future__ import annotations

import os

import pytest

from polystore_gui.model import transfer_journal as journal


@pytest.fixture
def synced(monkeypatch, tmp_path):
    """Every fsync, replace and mkdir, in order, as (what, path)."""
    monkeypatch.setattr(journal, "journal_dir", lambda: tmp_path / "state" / "transfers")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(a, b, *args, **kwargs):
        events.append(("replace", os.fspath(b)))
        return real_replace(a, b, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _after_last_replace(events, path):
    """The fsyncs that follow the last replace of ``path``."""
    last = max(i for i, (what, where) in enumerate(events) if what == "replace" and where == path)
    return [where for what, where in events[last + 1:] if what == "fsync"]


def test_each_record_is_fsynced_with_its_folder(synced, tmp_path):
    folder = str(tmp_path / "state" / "transfers")
    record = journal.begin("disk:/a", "disk:/b/a", True)
    # the record's bytes were fsynced before it took its name, and its folder after
    replaced = [i for i, (what, where) in enumerate(synced) if what == "replace"]
    assert replaced, synced
    before = [where for what, where in synced[:replaced[-1]] if what == "fsync"]
    assert any(where.startswith(record.path + ".") for where in before), synced
    assert folder in _after_last_replace(synced, record.path), synced
    # the journal's folder was made for this record: its parent holds its name on disk
    assert str(tmp_path / "state") in [where for what, where in synced if what == "fsync"], synced
    synced.clear()
    moved = journal.mark(record, "deleting source", "/aside")
    before = [where for what, where in synced if what == "fsync"]
    assert any(where.startswith(record.path + ".") for where in before), synced
    assert folder in _after_last_replace(synced, moved.path), synced
    with open(moved.path) as fh:
        assert '"deleting source"' in fh.read()
    journal.end(moved)
    assert not os.path.exists(moved.path)
