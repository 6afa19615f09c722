"""A small HTTP server for the bundled demo feeds and pages (also used by the tests).

Files under ``data/`` are served as they are, except that the literal ``{base}`` in feeds and
pages becomes this server's own ``http://127.0.0.1:PORT``, so links work on any port. It also
stands in for t.me (``/s/NAME``: the channel preview in ``data/telegram/NAME.html``) and for
Google News (:mod:`monitor.demo.google`: the two requests that resolve an article link).
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from monitor.demo import google

DATA = Path(__file__).parent / "data"
_TYPES = {".xml": "application/rss+xml", ".atom": "application/atom+xml",
          ".html": "text/html; charset=utf-8"}


class _Handler(BaseHTTPRequestHandler):
    server: DemoHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        rel = self.path.split("?", 1)[0].lstrip("/")
        if rel.startswith("rss/articles/"):
            self._send(200, google.article_page(rel.rsplit("/", 1)[1]), "text/html; charset=utf-8")
            return
        if rel.startswith("s/"):
            rel = f"telegram/{rel[2:].strip('/')}.html"   # t.me/s/NAME: the channel preview
        path = (DATA / rel).resolve()
        if DATA.resolve() not in path.parents or not path.is_file():
            self.send_error(404, "not found")
            return
        body = path.read_bytes().replace(b"{base}", self.server.base.encode())
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        ctype = _TYPES.get(path.suffix, "application/octet-stream")
        if "cp1256" in path.name:
            ctype = "application/rss+xml"   # no charset: the XML declaration must be read
        self._send(200, body, ctype, etag)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        if self.path.split("?", 1)[0] != google.BATCHEXECUTE:
            self.send_error(404, "not found")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 100_000)
        answer = google.exchange(self.rfile.read(length), google.links(DATA), self.server.base)
        self._send(200, answer, "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, ctype: str, etag: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass   # the daemon's own log says what it fetched


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    base = ""


class DemoServer:
    """Serves the demo data on 127.0.0.1 in a background thread."""

    def __init__(self, port: int = 0) -> None:
        try:
            self._httpd = DemoHTTPServer(("127.0.0.1", port), _Handler)
        except OSError:
            self._httpd = DemoHTTPServer(("127.0.0.1", 0), _Handler)   # port busy: any free one
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._httpd.base = self.base
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="demo-http",
                                        daemon=True)

    def start(self) -> DemoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def feeds(self) -> list[dict[str, object]]:
        """The demo feed list, as it would be written in monitor.yaml."""
        return [
            {"name": "wasat-demo", "url": f"{self.base}/feeds/wasat-demo.xml", "tags": ["demo"]},
            {"name": "arab-wire-demo", "url": f"{self.base}/feeds/arab-wire-demo.atom",
             "tags": ["demo"]},
            {"name": "sahel-cp1256-demo", "url": f"{self.base}/feeds/sahel-cp1256.xml",
             "tags": ["demo"]},
            {"name": "google-news-demo", "type": "google_news", "query": "الفيلق الأفريقي ليبيا",
             "url": f"{self.base}/feeds/google-news-demo.xml", "tags": ["demo", "google-news"]},
            {"name": "libya-now-telegram-demo", "type": "telegram", "channel": "libya_now_demo",
             "url": f"{self.base}/s/libya_now_demo", "tags": ["demo", "telegram"]},
            # The demo's dates are fixed: a window of ten years keeps its sitemap "recent".
            {"name": "anba-sitemap-demo", "type": "sitemap",
             "url": f"{self.base}/feeds/news-sitemap-demo.xml", "max_age_hours": 87600,
             "tags": ["demo", "sitemap"]},
        ]
