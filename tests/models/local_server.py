"""A local HTTP server for the download tests (127.0.0.1 only; the tests never use the internet).

``server.files`` maps a path to the bytes served there; ``server.ignore_range`` makes it
answer every request with the whole file (200); ``server.drop_after`` makes the next
response close the connection after that many body bytes (once); ``server.requests`` logs
``(path, Range header)`` of every request; ``server.throttle`` sleeps that many seconds
after every 64 KiB of a body (slow downloads that a test can cancel midway).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

RANGE_RE = re.compile(r"bytes=(\d+)-")


class _Handler(BaseHTTPRequestHandler):
    server: "LocalServer"

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start, status = 0, 200
        match = RANGE_RE.fullmatch(self.headers.get("Range") or "")
        if match and not srv.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        drop, srv.drop_after = srv.drop_after, None
        body = body if drop is None else body[:drop]
        step = 64 << 10 if srv.throttle else len(body) or 1
        try:
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                if srv.throttle:
                    time.sleep(srv.throttle)
        except OSError:  # the client went away (a cancelled download)
            pass
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False
        self.drop_after: int | None = None
        self.throttle = 0.0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@contextlib.contextmanager
def serving() -> Iterator[LocalServer]:
    """A :class:`LocalServer` answering on a background thread for the ``with`` block."""
    srv = LocalServer()
    thread = threading.Thread(target=srv.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)
