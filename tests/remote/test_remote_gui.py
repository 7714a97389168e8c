"""The window on remote stores: File → Open Remote Store…, the tree's rows, Open Location (moto's S3)."""

from __future__ import annotations

import os

import pytest
from qtpy.QtCore import QTimer

from tests.qt.conftest import _no_leaked_windows, make_window  # noqa: F401  (the window fixtures)
from tests.qt.helpers import child_rows, expand

pytestmark = pytest.mark.usefixtures("_isolated_settings")


@pytest.fixture
def _isolated_settings(tmp_path, monkeypatch):
    from qtpy.QtCore import QCoreApplication, QSettings

    before = QSettings.defaultFormat(), QCoreApplication.organizationName()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    QCoreApplication.setOrganizationName("polystore-gui-remote-tests")
    yield
    # Back to the session's (tests/conftest.py) for the tests after these.
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()
    QSettings.setDefaultFormat(before[0])
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"))
    QCoreApplication.setOrganizationName(before[1])


def _kind_text(window, backend, path):
    from polystore_gui.qt.tree_nodes import KIND

    index = window.tree_model.find(backend, path)
    return window.tree_model.index(index.row(), KIND, index.parent()).data()


def test_open_remote_store_dialog_shows_the_store_under_zarr(qtbot, make_window, s3_keys, tmp_path):  # noqa: F811
    from qtpy.QtCore import QSettings

    window = make_window([tmp_path])
    url = "s3://data/consolidated.zarr"

    def fill_in():
        dialog = window._remote_dialog
        dialog.url_edit.setText(url + "/")
        dialog.profile_edit.setText("")
        dialog.endpoint_edit.setText(s3_keys.endpoint)
        dialog.accept()

    QTimer.singleShot(0, fill_in)
    window.open_remote_action.trigger()
    assert window.tree_model.find("zarr", url).isValid()
    assert "remote" in _kind_text(window, "zarr", url)
    index = expand(window, qtbot, "zarr", url)
    names = {name for name, _kind, _address in child_rows(window.tree_model, index)}
    assert names == {"image", "plain", "sharded"}
    # only names and URLs are kept, never a key
    from polystore_gui.qt import settings_writes

    assert settings_writes.flush()  # written by the settings writer thread
    stored = " ".join(str(QSettings().value(k)) for k in QSettings().allKeys())
    assert s3_keys.endpoint in stored and s3_keys.secret_key not in stored and s3_keys.access_key not in stored


def test_open_remote_store_dialog_refuses_a_bad_url(qtbot, make_window, tmp_path):  # noqa: F811
    window = make_window([tmp_path])
    messages = []

    def fill_in():
        dialog = window._remote_dialog
        dialog.url_edit.setText("s3:///no-bucket")
        dialog.accept()
        messages.append(dialog.error_label.text())
        dialog.reject()

    QTimer.singleShot(0, fill_in)
    window.open_remote_action.trigger()
    assert "names no bucket" in messages[0]


def test_open_location_takes_urls_and_wrong_keys_show_on_the_row(qtbot, make_window, aws_env, moto_s3,  # noqa: F811
                                                               tmp_path):
    aws_env.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    aws_env.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    window = make_window([tmp_path])
    assert window.open_location("s3://data/experiment.zarr") is None
    index = expand(window, qtbot, "zarr", "s3://data/experiment.zarr")
    rows = child_rows(window.tree_model, index)
    text = " ".join(str(window.tree_model.index(r, 1, index).data()) for r in range(len(rows)))
    assert "Permission denied (403)" in text and "--profile" in text


def test_chunk_inspector_maps_an_s3_array_and_says_why_not_over_http(qtbot, make_window, s3_keys,  # noqa: F811
                                                                     http_server, tmp_path):
    window = make_window([tmp_path])
    window.set_inspector_visible(True)
    with qtbot.waitSignal(window.inspector.scanFinished, timeout=60_000):
        window.inspector.inspect("zarr", "s3://data/experiment.zarr/sharded")
    summary = window.inspector.report.summary()
    assert summary["nshards"] == 16 and 0 < summary["nshards_initialized"] < 16
    with qtbot.waitSignal(window.inspector.scanFailed, timeout=60_000) as failed:
        window.inspector.inspect("zarr", http_server.url + "/consolidated.zarr/plain")
    assert "needs a listing" in failed.args[0]


def test_f5_on_a_remote_store_forgets_what_was_read_of_it(qtbot, make_window, s3_keys, tmp_path):  # noqa: F811
    """View → Refresh (F5) on a remote row asks the server again: the metadata and chunks
    cached and the 404s remembered (``remote_absent``) below that row are forgotten, so a
    chunk written by another program since shows now; other stores keep theirs."""
    from polystore_gui.model.remote_address import parse_url
    from polystore_gui.model.remote_store import remote_store

    window = make_window([tmp_path])
    url = "s3://data/experiment.zarr"
    assert window.open_location(url) is None
    index = expand(window, qtbot, "zarr", url)
    store = remote_store(parse_url(url))
    store.absent.note("experiment.zarr/image/c/9/9")
    store.absent.note("consolidated.zarr/image/c/9/9")
    store.cache.put("experiment.zarr/extra.json", b"{}")
    window.tree.setCurrentIndex(window.proxy.mapFromSource(index))
    window.refresh_action.trigger()
    assert not store.absent.known("experiment.zarr/image/c/9/9")
    assert store.cache.get("experiment.zarr/extra.json") is None
    assert store.absent.known("consolidated.zarr/image/c/9/9")  # another store's row: not refreshed


def test_chunk_inspector_takes_a_remote_ome_image_as_a_local_one(qtbot, make_window, s3_keys,  # noqa: F811
                                                                 http_server, tmp_path):
    """A remote OME-Zarr image (or array) opened by its URL, selected, then Ctrl+K: the
    inspector takes its level 0 as for a local image. Over S3 the map is drawn; over plain
    HTTP it says the map needs a listing, never that the image is not a zarr array."""
    window = make_window([tmp_path])
    cases = ((http_server.url + "/experiment.zarr/image", window.inspector.scanFailed),
             (http_server.url + "/experiment.zarr/plain", window.inspector.scanFailed),
             ("s3://data/experiment.zarr/image", window.inspector.scanFinished),
             ("s3://data/experiment.zarr", window.inspector.scanFailed))  # a group: refused, in words
    for url, signal in cases:
        assert window.open_location("zarr:" + url) is None
        qtbot.waitUntil(lambda: window.tree_model.find("zarr", url).isValid(), timeout=15_000)
        window.tree.setCurrentIndex(window.proxy.mapFromSource(window.tree_model.find("zarr", url)))
        assert window.inspect_action.isEnabled()
        with qtbot.waitSignal(signal, timeout=60_000) as done:
            window.inspector_action.trigger()  # Ctrl+K
        assert window.inspector.address == ("zarr", url)
        if url.endswith("experiment.zarr"):
            assert "is a zarr group, not an array: choose one of its arrays" in done.args[0]
        elif signal is window.inspector.scanFailed:
            assert "needs a listing" in done.args[0]
        else:
            assert window.inspector.report.summary()["nchunks"] > 0
        assert "not a zarr array" not in window.inspector.summary.text()
        window.inspector_action.trigger()  # hidden again for the next case


@pytest.mark.parametrize("member", ["image", "plain", "."])
def test_a_remote_store_opened_by_its_url_says_what_it_is_once_its_metadata_is_read(
        qtbot, make_window, http_server, aws_env, remote_data, tmp_path, member):  # noqa: F811
    """Opened by URL, the row first says "zarr store (remote)" (no request on the GUI
    thread); once its metadata is read it says what it is, as a local store's row does (an
    OME-Zarr image, an array, a group), and its icon follows."""
    from qtpy.QtCore import Qt

    from polystore_gui.model.listing import entry_for_path
    from polystore_gui.model.remote_access import RemoteOptions
    from polystore_gui.qt import icons

    local = entry_for_path("zarr", os.path.normpath(str(remote_data / "experiment.zarr" / member)))
    url = http_server.url + "/experiment.zarr" + ("" if member == "." else f"/{member}")
    window = make_window([tmp_path])
    window.open_remote_store(url, RemoteOptions())
    qtbot.waitUntil(lambda: _kind_text(window, "zarr", url).split(" (")[0] == local.kind.value, timeout=30_000)
    assert "remote" in _kind_text(window, "zarr", url)
    index = window.tree_model.find("zarr", url)
    assert index.data() == url  # still named by its URL
    shown = index.data(Qt.ItemDataRole.DecorationRole)
    assert shown.cacheKey() == icons.icon_for_entry(local).cacheKey()


def test_an_unreachable_remote_store_is_said_and_marked_not_opened(qtbot, make_window, aws_env, remote_data,  # noqa: F811
                                                                   tmp_path):
    """A URL nothing answers (a port bound, not listening): the status bar says it could not
    be opened and why, never "Opened"; the row is marked failed (red, the reason in its kind and
    tooltip, nothing to expand). Once the server listens, Refresh on the row opens it."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from qtpy.QtCore import Qt

    from polystore_gui.model.remote_access import RemoteOptions
    from polystore_gui.qt import icons

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(remote_data))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
    server.server_bind()  # every connection refused until server_activate()
    thread = threading.Thread(target=server.serve_forever, name="later-http", daemon=True)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/experiment.zarr"
        window = make_window([tmp_path])
        model = window.tree_model
        with qtbot.waitSignal(model.remoteRootRead, timeout=30_000):
            window.open_remote_store(url, RemoteOptions())
            assert not window.statusBar().currentMessage().startswith("Opened")
        message = window.statusBar().currentMessage()
        assert message.startswith(f"Could not open {url} — ") and "zarr.json: connection refused" in message
        assert "Refresh" in message and "Remove from Tree" in message
        index = model.find("zarr", url)
        assert index.isValid() and not model.hasChildren(index)
        assert "connection refused" in _kind_text(window, "zarr", url)
        assert index.data(Qt.ItemDataRole.ForegroundRole).color() == icons.error_brush().color()
        assert "connection refused" in index.data(Qt.ItemDataRole.ToolTipRole)
        # The server is up now: Refresh on the row reads it again, and it is opened.
        server.server_activate()
        thread.start()
        window.tree.setCurrentIndex(window.proxy.mapFromSource(index))
        with qtbot.waitSignal(model.remoteRootRead, timeout=30_000):
            window.refresh_action.trigger()
        assert window.statusBar().currentMessage().startswith(f"Opened {url}: ")
        assert "remote" in _kind_text(window, "zarr", url) and "refused" not in _kind_text(window, "zarr", url)
        assert model.hasChildren(index) and index.data(Qt.ItemDataRole.ForegroundRole) is None
    finally:
        if thread.is_alive():
            server.shutdown()
            thread.join(10)
        server.server_close()
