"""The 50 ms HTTP host adds the latency it is asked for and nothing more (benchmarks and
tests compare round trips on it)."""

from __future__ import annotations

import http.client
import time

from tests.remote_servers import LatencyHTTPServer


def test_small_answers_are_not_held_back_by_nagles_algorithm(tmp_path):
    """Twenty small answers (404s, like a missing shard's index) on one keep-alive
    connection with no added latency: with Nagle's algorithm on the server, the body of
    each waited for the client's delayed ACK (0.85 s for the twenty); now a few ms."""
    server = LatencyHTTPServer(str(tmp_path), latency=0.0).start()
    host, port = server._server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        start = time.monotonic()
        for i in range(20):
            conn.request("GET", f"/missing-{i}", headers={"Range": "bytes=-1028"})
            answer = conn.getresponse()
            assert answer.status == 404 and answer.read() == b"not found"
        took = time.monotonic() - start
    finally:
        conn.close()
        server.stop()
    assert took < 0.4, f"{took:.3f} s for 20 small answers"
