"""A worker's answer updates a view only if it answers that view's latest request.

Each race is driven: request A with A's worker held on an Event, switch to B, then let A
finish; what is shown must be B's (never A's facts under B's name).
"""

from __future__ import annotations

import threading

import pytest
import zarr

HOLD_S = 30


@pytest.fixture
def inspector(qtbot, workers):
    from polystore_gui.qt.chunk_inspector import ChunkInspector

    widget = ChunkInspector(workers)
    qtbot.addWidget(widget)
    yield widget
    widget.cancel()


@pytest.fixture
def panel(qtbot, workers):
    from polystore_gui.qt.preview_panel import PreviewPanel

    widget = PreviewPanel(workers)
    qtbot.addWidget(widget)
    yield widget
    widget.close_preview()


def _array(path, value):
    array = zarr.create_array(str(path), shape=(4, 4), chunks=(2, 2), dtype="uint16", zarr_format=3)
    array[:] = value
    return str(path)


def test_a_decoder_opened_for_array_a_never_decodes_array_b(qtbot, inspector, workers, tmp_path, monkeypatch):
    from polystore_gui.qt import chunk_details  # where the inspector reads a chunk

    a, b = _array(tmp_path / "a.zarr", 1), _array(tmp_path / "b.zarr", 2)
    real = chunk_details.open_for_decoding
    opening_a, release_a = threading.Event(), threading.Event()

    def held_for_a(layout):
        if layout.path.rstrip("/") == a:
            opening_a.set()
            release_a.wait(HOLD_S)
        return real(layout)

    monkeypatch.setattr(chunk_details, "open_for_decoding", held_for_a)
    with qtbot.waitSignal(inspector.scanFinished, timeout=30_000):
        inspector.inspect("zarr", a)
    inspector.select_row(0)  # A's chunk: its worker opens A's decoder, held here
    assert opening_a.wait(HOLD_S)
    with qtbot.waitSignal(inspector.scanFinished, timeout=30_000):
        inspector.inspect("zarr", b)  # the user switches to B before A's answer is in
    release_a.set()
    qtbot.waitUntil(lambda: workers.running == 0, timeout=30_000)  # A's answer has come (and gone)
    with qtbot.waitSignal(inspector.detailShown, timeout=30_000) as blocker:
        inspector.select_row(1)
    detail = blocker.args[0]
    assert detail.stats["min"] == detail.stats["max"] == 2  # B's values, decoded with B's array
    assert inspector.detail_rows()["Max"] == "2"


def _folder(path, folders, files):
    path.mkdir()
    for i in range(folders):
        (path / f"sub{i}").mkdir()
    for i in range(files):
        (path / f"file{i}.txt").write_text("x")
    return str(path)


def test_a_folder_answer_for_a_is_never_shown_under_b(qtbot, panel, tmp_path, monkeypatch):
    from polystore_gui.model import lazy

    data = _folder(tmp_path / "data", 4, 4)
    other = _folder(tmp_path / "other", 1, 2)
    real = lazy.open_preview
    reading_a, release_a = threading.Event(), threading.Event()

    def held_for_a(backend, path, **kwargs):
        if path == data:
            reading_a.set()
            release_a.wait(HOLD_S)
        return real(backend, path, **kwargs)

    monkeypatch.setattr(lazy, "open_preview", held_for_a)
    panel.request("disk", data)
    assert reading_a.wait(HOLD_S)
    with qtbot.waitSignal(panel.previewShown, timeout=30_000) as shown:
        panel.request("disk", other)
    assert shown.args[0].path == other
    release_a.set()
    qtbot.waitUntil(lambda: panel._workers.running == 0, timeout=30_000)
    assert panel.title.toolTip() == f"disk:{other}"
    assert panel.message.text() == "Directory holding 1 folder, 2 files."
    assert panel.current is not None and panel.current.path == other


def test_what_is_selected_while_the_size_question_is_open_is_what_shows(qtbot, panel, tmp_path, monkeypatch):
    """Answering "No" to "Read a large array?" for A, after B was selected meanwhile (the
    question's own event loop lets the tree and the navigator go on), does not put A's
    "Not shown" under B's name."""
    from polystore_gui.model import lazy
    from polystore_gui.qt import preview_panel

    big = str(tmp_path / "big.npy")
    other = _folder(tmp_path / "other", 1, 2)
    real = lazy.open_preview
    reading_b, release_b = threading.Event(), threading.Event()

    def fake(backend, path, **kwargs):
        if path == big:
            raise lazy.NeedsConfirmation(2 << 30, 1 << 30, "big.npy")
        reading_b.set()
        release_b.wait(HOLD_S)
        return real(backend, path, **kwargs)

    def question_while_b_is_selected(*_args, **_kwargs):
        panel.request("disk", other)  # what the user (or Open Location) selects meanwhile
        return preview_panel.QMessageBox.StandardButton.No

    monkeypatch.setattr(lazy, "open_preview", fake)
    monkeypatch.setattr(preview_panel.QMessageBox, "question", question_while_b_is_selected)
    failures = []
    panel.previewFailed.connect(failures.append)
    panel.request("disk", big)
    qtbot.waitUntil(reading_b.is_set, timeout=HOLD_S * 1000)
    qtbot.waitUntil(lambda: panel.title.toolTip() == f"disk:{other}", timeout=30_000)
    assert "Not shown" not in panel.message.text() and not failures
    with qtbot.waitSignal(panel.previewShown, timeout=30_000):
        release_b.set()
    assert panel.message.text() == "Directory holding 1 folder, 2 files." and not failures


def test_a_viewer_probe_about_ports_changed_since_is_dropped(qtbot, workers, monkeypatch):
    from polystore_gui.model import streaming
    from polystore_gui.qt import viewer_link
    from polystore_gui.qt.viewer_link import FIJI, NAPARI, ViewerLink

    probing_old, release_old = threading.Event(), threading.Event()

    def fake_probe(napari_port, fiji_port):
        if napari_port == 41001:
            probing_old.set()
            release_old.wait(HOLD_S)
        return {NAPARI: streaming.ViewerState(napari_port, streaming.Running.NO),
                FIJI: streaming.ViewerState(fiji_port, streaming.Running.NO)}

    monkeypatch.setattr(viewer_link, "_probe", fake_probe)
    link = ViewerLink(workers, napari_port=41001, fiji_port=41002)
    link.poll()
    assert probing_old.wait(HOLD_S)
    # Settings → new ports while the probe of the old ones runs (what set_viewer_ports does).
    link.ports = {NAPARI: 42001, FIJI: 42002}
    link.states.clear()
    link.poll()
    release_old.set()
    qtbot.waitUntil(lambda: NAPARI in link.states and workers.running == 0, timeout=30_000)
    assert link.states[NAPARI].port == 42001 and link.states[FIJI].port == 42002
    assert "42001" in link.describe(NAPARI)
