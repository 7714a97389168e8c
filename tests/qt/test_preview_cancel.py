"""A preview superseded by another selection stops its reads: the preview panel quits its
job, and the job's one cancel token stops a remote store's requests on the wire."""

from __future__ import annotations


def test_selecting_another_row_stops_a_remote_preview_on_the_wire(qtbot, workers, aws_env, remote_data, tmp_path):
    from tests.remote_servers import LatencyHTTPServer

    from polystore_gui.qt.preview_panel import PreviewPanel

    server = LatencyHTTPServer(str(remote_data)).start()
    panel = PreviewPanel(workers)
    qtbot.addWidget(panel)
    try:
        server.hold()  # every request waits: a network that does not answer
        panel.request("zarr", server.url + "/consolidated.zarr/plain")
        qtbot.waitUntil(lambda: server.count() >= 1, timeout=10_000)
        other = tmp_path / "other"
        other.mkdir()
        with qtbot.waitSignal(panel.previewShown, timeout=30_000) as shown:
            panel.request("disk", str(other))
        assert shown.args[0].path == str(other)
        # The remote job ends although the server still holds its request: it was cancelled.
        qtbot.waitUntil(lambda: workers.running == 0, timeout=5_000)
        assert panel.current is not None and panel.current.path == str(other)
    finally:
        panel.close_preview()
        server.release()
        server.stop()
