"""polystore's lock files are hidden as dot-files are: a 0-byte file polystore leaves beside
a store or a JSON file it wrote (``images.metadata.lock`` beside a plate's ``images``,
``openhcs_metadata.json.lock``), meaningful only to the process holding its lock, shows
only with View → Show Hidden Files. Other files named ``*.lock`` (``Cargo.lock``,
``poetry.lock``: a project's content) always show."""

from __future__ import annotations

from polystore_gui.model.entries import Entry, EntryKind
from polystore_gui.model.hidden_names import is_hidden_name
from polystore_gui.model.listing import sorted_listing


def _names(folder, show_hidden: bool) -> set[str]:
    entry = Entry("disk", str(folder), folder.name, EntryKind.DIRECTORY)
    names: set[str] = set()
    for what, listed in sorted_listing(entry, show_hidden=show_hidden):
        if what == "all":
            names = {e.name for e in listed}
    return names


def test_polystore_lock_files_are_hidden_with_dot_files_and_shown_with_them(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("images.metadata.lock", "openhcs_metadata.json", "openhcs_metadata.json.lock", ".dotted",
                 "Cargo.lock", "poetry.lock", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert _names(tmp_path, show_hidden=False) == {"images", "openhcs_metadata.json", "Cargo.lock", "poetry.lock",
                                                   "notes.txt"}
    assert "images.metadata.lock" in _names(tmp_path, show_hidden=True)
    assert "openhcs_metadata.json.lock" in _names(tmp_path, show_hidden=True)


def test_a_folder_named_like_a_lock_is_not_hidden(tmp_path):
    (tmp_path / "run.metadata.lock").mkdir()  # polystore's locks are files
    assert _names(tmp_path, show_hidden=False) == {"run.metadata.lock"}
    assert is_hidden_name("run.metadata.lock") and not is_hidden_name("run.metadata.lock", folder=True)


def test_the_demo_plate_folder_shows_its_plate_and_not_polystores_lock(demo_dir):
    assert _names(demo_dir / "stores" / "polystore_plate", show_hidden=False) == {"images"}
