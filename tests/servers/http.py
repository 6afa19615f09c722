"""A scriptable HTTP server on 127.0.0.1 for tests: feeds, pages and hostile answers.

Routes map a path to a function ``(handler) -> None`` that writes the whole response, so a test
can serve anything: a 304 on the second poll, a redirect loop, a slow trickle, a gzip bomb.
Every request is recorded as (method, path, headers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        self.server.owner.requests.append(("GET", self.path, dict(self.headers.items())))
        route = self.server.owner.routes.get(path)
        if route is None:
            send(self, 404, b"<html><body>not found</body></html>", "text/html")
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client gave up (size cap, timeout): expected in hostile cases

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: TestServer


class TestServer:
    """Start with ``with TestServer() as srv``; ``srv.url('/path')`` gives the absolute URL."""

    __test__ = False   # not a pytest test class

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> TestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def static(self, path: str, body: bytes, ctype: str = "application/rss+xml",
               status: int = 200, headers: dict[str, str] | None = None) -> str:
        """Serve fixed bytes ({base} replaced by this server's base URL)."""
        data = body.replace(b"{base}", self.base.encode())
        return self.add(path, lambda h: send(h, status, data, ctype, headers))

    def hits(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p.split("?", 1)[0] == path)


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str | None = None,
         headers: dict[str, str] | None = None) -> None:
    """Write a complete response."""
    h.send_response(status)
    if ctype:
        h.send_header("Content-Type", ctype)
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if body and h.command != "HEAD":
        h.wfile.write(body)


def trickle(body: bytes, delay: float, ctype: str = "application/rss+xml") -> Route:
    """A route sending one byte every ``delay`` seconds (never trips a per-read timeout)."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        for i in range(len(body)):
            h.wfile.write(body[i:i + 1])
            h.wfile.flush()
            time.sleep(delay)
    return route
