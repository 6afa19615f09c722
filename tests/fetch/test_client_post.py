"""Fetcher.post against a real local server: the form arrives, and the guards of GET hold."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.config import FetchSettings
from monitor.errors import (
    BlockedAddress,
    BodyTooLarge,
    FetchTimeout,
    HTTPStatusError,
    NetworkFailure,
)
from monitor.fetch.client import Fetcher
from tests.servers.http import send

Route = Callable[[BaseHTTPRequestHandler], None]


class PostServer:
    """A local server answering GET and POST by path; records (method, path, form) and the
    highest number of requests it was answering at once."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                owner.requests.append((self.command, self.path, form, dict(self.headers.items())))
                with owner._lock:
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    owner.routes.get(self.path, lambda h: send(h, 404, b"no"))(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def srv() -> Iterator[PostServer]:
    server = PostServer()
    yield server
    server.close()


def _settings(srv: PostServer, **kw: object) -> FetchSettings:
    base: dict[str, object] = {"allow_addresses": [f"127.0.0.1:{srv.port}"],
                               "connect_timeout": 2, "read_timeout": 2, "total_timeout": 5}
    return FetchSettings(**{**base, **kw})


def _post(settings: FetchSettings, url: str, data: dict[str, str], **kw: object):
    async def go():
        async with Fetcher(settings) as fetcher:
            return await fetcher.post(url, data=data, **kw)
    return asyncio.run(go())


def test_the_form_arrives_encoded_and_the_answer_comes_back(srv):
    srv.routes["/rpc"] = lambda h: send(h, 200, b")]}'\n\n[]", "application/json")
    form = {"f.req": '[[["Fbv4je","[\\"garturlreq\\"]",null,"generic"]]]', "q": "فاغنر & ليبيا"}
    res = _post(_settings(srv), srv.url("/rpc"), form, accept="application/json")
    assert (res.status, res.body) == (200, b")]}'\n\n[]")
    method, path, seen, headers = srv.requests[0]
    assert (method, path, seen) == ("POST", "/rpc", form)
    assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert headers["Accept"] == "application/json"


def test_an_error_status_is_an_http_status_error_with_retry_after(srv):
    srv.routes["/rpc"] = lambda h: send(h, 429, b"slow down", "text/plain", {"Retry-After": "30"})
    with pytest.raises(HTTPStatusError) as err:
        _post(_settings(srv), srv.url("/rpc"), {"a": "b"})
    assert (err.value.status, err.value.retry_after) == (429, 30.0)
    assert "HTTP 429" in str(err.value)


def test_a_body_over_the_cap_is_refused(srv):
    srv.routes["/rpc"] = lambda h: send(h, 200, b"x" * 5000, "text/plain")
    with pytest.raises(BodyTooLarge):
        _post(_settings(srv), srv.url("/rpc"), {"a": "b"}, max_bytes=2048)


def test_the_total_deadline_stops_a_slow_answer(srv):
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):        # one byte every 0.2 s never trips the 2 s read timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.2)
    srv.routes["/rpc"] = trickle
    with pytest.raises(FetchTimeout):
        _post(_settings(srv, total_timeout=1), srv.url("/rpc"), {"a": "b"})


def test_an_address_not_allowed_is_refused_before_sending(srv):
    with pytest.raises(BlockedAddress):
        _post(_settings(srv, allow_addresses=[]), srv.url("/rpc"), {"a": "b"})
    assert srv.requests == []


def test_a_refused_connection_is_a_network_failure(srv):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # nothing listens there once closed
    settings = FetchSettings(allow_addresses=[f"127.0.0.1:{port}"], connect_timeout=2)
    with pytest.raises(NetworkFailure):
        _post(settings, f"http://127.0.0.1:{port}/rpc", {"a": "b"})


def test_posts_and_gets_share_the_per_host_limit(srv):
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.1)
        send(h, 200, b"ok", "text/plain")
    srv.routes["/rpc"] = srv.routes["/page"] = slow
    settings = _settings(srv, per_host_concurrency=1)

    async def go() -> list[int]:
        async with Fetcher(settings) as fetcher:
            calls = [fetcher.post(srv.url("/rpc"), data={"i": str(i)}) for i in range(3)]
            calls += [fetcher.get(srv.url("/page")) for _ in range(2)]
            return [r.status for r in await asyncio.gather(*calls)]

    assert asyncio.run(go()) == [200] * 5
    assert srv.max_in_flight == 1
    assert sorted(m for m, *_ in srv.requests) == ["GET"] * 2 + ["POST"] * 3
