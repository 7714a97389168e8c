"""Real servers on loopback for the remote-store tests and benchmarks.

- :class:`LatencyHTTPServer`: serves a folder over HTTP as a static host does (GET, HEAD,
  byte ranges, 404 for folders: no directory listings), adding a fixed delay to every
  request, in a thread of this process. It counts requests, can be told to stall (every
  request waits until released) or to go away mid-way.
- :class:`MotoS3`: moto's ``ThreadedMotoServer`` on 127.0.0.1 (a free port), with an IAM
  user whose keys are right, and authentication enforced once the fixtures are set up.

Nothing here touches an address other than 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import os
import posixpath
import re
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the body of a small
    # answer (a 404, a shard index) waited for the client's delayed ACK, 40 ms more than
    # the latency asked for on about half of them. Real servers (nginx's tcp_nodelay) send at once.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        owner = self.server.owner
        with owner._lock:
            owner.busy += 1
        try:
            self._serve_one(body=body)
        finally:
            with owner._lock:
                owner.busy -= 1

    def _serve_one(self, *, body: bool) -> None:
        owner = self.server.owner
        self._modified: float | None = None  # the file's time: its Last-Modified, as a static host says
        owner._arrived(self.path)
        if owner.closing.is_set():
            self.close_connection = True
            self.connection.close()  # the server went away: the client sees the connection drop
            return
        time.sleep(owner.latency)  # the added latency: this is the server's delay, not a test's wait
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(path).split("/") if p not in ("", ".", "..")]
        local = os.path.join(owner.root, *parts)
        if not os.path.isfile(local):  # folders too: a static host lists nothing
            self._reply(HTTPStatus.NOT_FOUND, b"not found", body)
            return
        with open(local, "rb") as f:
            data = f.read()
        self._modified = os.path.getmtime(local)
        header = self.headers.get("Range")
        if header:
            match = _RANGE.match(header.strip())
            if match is None:
                self._reply(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", body)
                return
            first, last = match.groups()
            if first == "":
                start, end = max(0, len(data) - int(last)), len(data)
            else:
                start, end = int(first), (int(last) + 1 if last else len(data))
            if start >= len(data) and len(data):
                self._reply(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, b"", body,
                            {"Content-Range": f"bytes */{len(data)}"})
                return
            end = min(end, len(data))
            self._reply(HTTPStatus.PARTIAL_CONTENT, data[start:end], body,
                        {"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})
            return
        self._reply(HTTPStatus.OK, data, body)

    def _reply(self, status: HTTPStatus, data: bytes, body: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(getattr(self, "_modified", None), usegmt=True))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LatencyHTTPServer


class LatencyHTTPServer:
    """A static HTTP host for ``root`` on 127.0.0.1 adding ``latency`` seconds to each request."""

    def __init__(self, root: str, latency: float = 0.05) -> None:
        self.root = os.path.abspath(root)
        self.latency = latency
        self.requests: list[str] = []
        self.busy = 0  # requests being answered now (a benchmark waits for 0 between runs)
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._gate: threading.Event | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="latency-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LatencyHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def _arrived(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)
            gate = self._gate
        if gate is not None:
            gate.wait(30)

    def hold(self) -> None:
        """Make every request from now on wait until :meth:`release` (a very slow network)."""
        with self._lock:
            self._gate = threading.Event()

    def release(self) -> None:
        with self._lock:
            gate, self._gate = self._gate, None
        if gate is not None:
            gate.set()

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset_count(self) -> None:
        with self._lock:
            self.requests.clear()


ACCESS_KEY = "AKIAPOLYSTOREGUITEST"


class MotoS3:
    """moto's S3 (and IAM) server on a free loopback port, with one user whose keys work."""

    def __init__(self, latency: float = 0.0) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise

        owner = self
        self._unsigned = threading.Lock()
        self.latency = latency
        self.requests = 0
        self.busy = 0  # requests being answered now
        self._count_lock = threading.Lock()
        self.public: set[str] = set()  # buckets anyone may read (public data), unsigned requests and all

        class Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                # moto fails with a KeyError (HTTP 500) on an unsigned request once it checks
                # signatures; real S3 answers 403 AccessDenied for a private bucket. Do as S3 does.
                from moto.moto_server.threaded_moto_server import (
                    DomainDispatcherApplication, MotoRequestHandler, create_backend_app, make_server)

                app = DomainDispatcherApplication(create_backend_app)

                def counted(environ: dict[str, Any], start_response: Any) -> Any:
                    with owner._count_lock:
                        owner.requests += 1
                        owner.busy += 1
                    try:
                        return unsigned_refused(environ, start_response)
                    finally:
                        with owner._count_lock:
                            owner.busy -= 1

                def unsigned_refused(environ: dict[str, Any], start_response: Any) -> Any:
                    from moto import settings

                    if owner.latency:
                        time.sleep(owner.latency)  # the server's added latency (benchmarks), not a test's wait

                    signed = "HTTP_AUTHORIZATION" in environ or "X-Amz-Signature" in environ.get("QUERY_STRING", "")
                    bucket = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
                    if settings.INITIAL_NO_AUTH_ACTION_COUNT == 0 and not signed and bucket not in owner.public:
                        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                                b"<Message>Access Denied</Message></Error>")
                        start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                                         ("Content-Length", str(len(body)))])
                        return [body]
                    if settings.INITIAL_NO_AUTH_ACTION_COUNT == 0 and not signed:
                        # A public bucket read without a signature: moto cannot check an unsigned
                        # request (KeyError), so it is let through unchecked, as S3 lets it.
                        with owner._unsigned:
                            settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
                            try:
                                return list(app(environ, start_response))
                            finally:
                                settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
                    return app(environ, start_response)

                self._server = make_server(self._ip_address, self._port, counted, True,
                                           request_handler=MotoRequestHandler)
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = Server(ip_address="127.0.0.1", port=0, verbose=False)
        self.access_key = ""
        self.secret_key = ""
        self._old_count: float | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self, *, make_user: bool = True) -> MotoS3:
        """Start; ``make_user``: make the IAM user and its keys (moto's state is one per
        process: a second server in the same process serves the same buckets and users)."""
        self._server.start()
        if not make_user:
            return self
        iam = self.client("iam", authenticated=False)
        iam.create_user(UserName="reader")
        iam.put_user_policy(
            UserName="reader", PolicyName="all-s3",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}',
        )
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        return self

    def enforce_auth(self) -> None:
        """From now on requests must be signed with a known key (moto checks IAM)."""
        from moto import settings

        if self._old_count is None:
            self._old_count = settings.INITIAL_NO_AUTH_ACTION_COUNT
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    def relax_auth(self) -> None:
        from moto import settings

        if self._old_count is not None:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = self._old_count
            self._old_count = None

    def client(self, service: str = "s3", *, authenticated: bool = True) -> Any:
        import boto3

        key, secret = (self.access_key, self.secret_key) if authenticated and self.access_key else ("testing", "testing")
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def stop(self) -> None:
        self.relax_auth()
        self._server.stop()


def upload_folder(client: Any, bucket: str, local: str, prefix: str) -> int:
    """Put every file under ``local`` into ``bucket`` under ``prefix``; the number of objects."""
    n = 0
    for folder, _dirs, files in os.walk(local):
        for name in files:
            path = os.path.join(folder, name)
            key = posixpath.join(prefix, os.path.relpath(path, local).replace(os.sep, "/"))
            client.upload_file(path, bucket, key)
            n += 1
    return n


def stop_server_mid_copy(monkeypatch: Any, server: Any, after: int, concurrency: int) -> dict[str, int]:
    """Make ``server`` go away once ``after`` objects of a remote copy have arrived (the copy
    fetching ``concurrency`` at once); the returned counter says how many arrived."""
    from polystore_gui.model import remote_copy

    real = remote_copy._store_checked
    calls = {"n": 0}

    def stop_after(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == after:
            server.stop()
        return real(*args)

    monkeypatch.setattr(remote_copy, "_store_checked", stop_after)
    monkeypatch.setattr(remote_copy, "CONCURRENCY", concurrency)
    return calls
