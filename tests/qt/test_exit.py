"""Quitting: workers cancelled and awaited, then cleanup_backend_connections() exactly once.

Real polystore backend instances throughout; the two cleanup functions are wrapped
(counting, then calling the real one), never replaced.
"""

from __future__ import annotations

import numpy as np
import polystore.backend_registry as registry


def test_quit_awaits_workers_then_closes_connections_once_keeping_the_viewer(
    make_window, qtbot, tmp_path, monkeypatch
):
    # Real instances: the streaming viewer backend and memory, as the running app has them.
    napari_backend = registry.get_backend_instance("napari_stream")
    memory = registry.get_backend_instance("memory")
    memory.ensure_directory("/exit_test")
    memory.save(np.arange(4), "/exit_test/kept.npy")

    calls = []
    real_connections = registry.cleanup_backend_connections
    real_all = registry.cleanup_all_backends

    def counting_connections(*args, **kwargs):
        calls.append(("connections", window.workers.active_threads()))
        return real_connections(*args, **kwargs)

    def counting_all(*args, **kwargs):
        calls.append(("all", None))
        return real_all(*args, **kwargs)

    monkeypatch.setattr(registry, "cleanup_backend_connections", counting_connections)
    monkeypatch.setattr(registry, "cleanup_all_backends", counting_all)

    # A listing still running when the user quits: a folder big enough to take a while.
    big = tmp_path / "big"
    big.mkdir()
    for i in range(20000):
        (big / f"{i}.tif").touch()
    window = make_window([tmp_path], show=True)
    model = window.tree_model
    model.fetchMore(model.find("disk", str(tmp_path)))
    qtbot.waitUntil(lambda: model.find("disk", str(big)).isValid())
    model.fetchMore(model.find("disk", str(big)))
    qtbot.waitUntil(lambda: window.workers.active_threads() > 0 or window.workers.running > 0)

    with qtbot.waitSignal(window.shutdownFinished):
        window.close()

    assert calls == [("connections", 0)], calls  # once, after every worker thread ended
    window.shutdown()  # a second request (aboutToQuit after closeEvent) does nothing
    assert calls == [("connections", 0)]
    # cleanup_all_backends() would have emptied the instance cache; the viewer backend
    # and the memory contents survive the browser.
    assert registry._backend_instances.get("napari_stream") is napari_backend
    assert registry.get_backend_instance("memory").load("/exit_test/kept.npy").tolist() == [0, 1, 2, 3]
