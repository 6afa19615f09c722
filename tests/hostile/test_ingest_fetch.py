"""Hostile answers at the fetch boundary: every failure is a project error, stored on the feed
or the article, never a crashed poll. Real local servers, the real pipeline and CLI."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import pytest

from monitor import errors
from monitor.config import FetchSettings
from monitor.errors import BlockedAddress, FetchError
from monitor.fetch.client import Fetcher
from monitor.fetch.translate import HTTPX_ERRORS, translate
from tests.builders import rss
from tests.conftest import make_settings, run_cycle
from tests.servers.http import send
from tests.test_cli import monitor
from tests.test_ingest import feed_row, rows


def redirect_to(location: str):
    def route(h):
        h.send_response(302)
        # Raw bytes on the wire, as a broken or hostile server sends them.
        h.send_header("Location", location.encode("utf-8").decode("latin-1"))
        h.send_header("Content-Length", "0")
        h.end_headers()
    return route


BAD_LOCATIONS = [
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("data:text/html,<b>hi</b>", id="data"),
    pytest.param("mailto:editor@example.org", id="mailto"),
    pytest.param("file:///etc/passwd", id="file"),
    pytest.param("http://a..b/x", id="empty-label"),
    pytest.param("http://" + "a" * 70 + ".example/", id="label-over-63"),
    pytest.param("http://xn--ls8h.example/", id="bad-punycode"),
    pytest.param("http://xn--/", id="empty-punycode"),
    pytest.param("http://8.8.8.8:99999/", id="port-over-65535"),
    pytest.param("http://[::1/", id="broken-ipv6"),
    pytest.param("/" + "x" * 70_000, id="70k-location"),
    pytest.param("http://exa\x00mple.org/", id="nul-in-location"),
    pytest.param("", id="empty-location"),
]


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_feed_redirect_to_unusable_url_is_a_recorded_failure(server, tmp_path, location):
    server.add("/feed.xml", redirect_to(location))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    row = feed_row(settings, "f")
    assert stats.feeds_failed == 1
    assert row["error_kind"] in ("blocked_address", "network", "redirects"), row["last_error"]
    assert "internal error" not in row["last_error"]


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_article_redirect_to_unusable_url_falls_back_to_summary(server, tmp_path, location):
    server.add("/a.html", redirect_to(location))
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1",
                                     "description": "ملخص الخبر"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert stats.feeds_ok == 1 and stats.failed == 0
    assert art["extraction_status"] in ("fallback_blocked", "fallback_fetch")
    assert art["text"] == "ملخص الخبر" and "internal error" not in art["extraction_error"]


def test_once_cli_reports_javascript_redirect_as_refusal(server, tmp_path):
    server.add("/feed.xml", redirect_to("javascript:alert(1)"))
    (tmp_path / "monitor.yaml").write_text(
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\nextract:\n  workers: 0\n"
        f"feeds:\n  - name: js\n    url: {server.url('/feed.xml')}\n")
    result = monitor("once", cwd=tmp_path)
    assert "crashed" not in result.stderr and "Traceback" not in result.stderr
    assert "refused: redirect to an invalid URL" in result.stdout, result.stdout
    feeds = monitor("feeds", cwd=tmp_path)
    assert "blocked_address" in next(ln for ln in feeds.stdout.splitlines() if ln.startswith("js"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/", "http://xn--ls8h.example/",
                                 "http://a..b/", "javascript:alert(1)", "http://[::1"])
def test_unusable_urls_are_refused_before_any_connection(url):
    async def go():
        async with Fetcher(FetchSettings(allow_addresses=["127.0.0.0/8"])) as fetcher:
            await fetcher.get(url)
    with pytest.raises(BlockedAddress):
        asyncio.run(go())


def _httpx_exception_classes() -> list[type[Exception]]:
    return [obj for _, obj in inspect.getmembers(httpx, inspect.isclass)
            if issubclass(obj, Exception)]


def test_every_httpx_exception_class_has_a_translation():
    # A new class in an httpx upgrade must be given its project error here, on purpose.
    missing = [cls.__name__ for cls in _httpx_exception_classes() if cls not in HTTPX_ERRORS]
    assert missing == []


def test_every_httpx_error_subclass_has_a_translation_too():
    # Also classes httpx defines without exporting them at the top level (none today).
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)
    assert [c.__name__ for c in subclasses(httpx.HTTPError) if c.__module__.startswith("httpx")
            and c not in HTTPX_ERRORS] == []


def test_the_httpx_table_maps_to_fetch_errors_of_the_one_tree():
    for error, _ in HTTPX_ERRORS.values():
        assert issubclass(error, FetchError) and getattr(errors, error.__name__) is error


@pytest.mark.parametrize("cls", _httpx_exception_classes(), ids=lambda c: c.__name__)
def test_each_httpx_exception_translates_to_a_fetch_error(cls):
    request = httpx.Request("GET", "http://example.org/")
    if cls is httpx.HTTPStatusError:
        exc = cls("boom", request=request, response=httpx.Response(500, request=request))
    elif len(inspect.signature(cls).parameters) == 0:   # the stream errors take no message
        exc = cls()
    else:
        exc = cls("boom")
    out = translate(exc, "http://example.org/", max_redirects=5)
    assert isinstance(out, FetchError) and "http://example.org/" in str(out)
    assert out.__class__ is not FetchError or cls is httpx.HTTPError


def test_redirect_without_location_is_an_http_status(server, tmp_path):
    server.add("/feed.xml", lambda h: send(h, 302, b"", None))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    run_cycle(settings)
    row = feed_row(settings, "f")
    assert row["error_kind"] == "http_status" and "302" in row["last_error"]


def test_relative_links_resolve_against_the_feed_url_after_redirects(server, tmp_path):
    server.add("/old.xml", lambda h: send(h, 301, b"", None, {"Location": "/feeds/new.xml"}))
    server.static("/feeds/new.xml", rss([{"title": "خبر", "link": "a/1.html", "guid": "1"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/old.xml")}])
    run_cycle(settings)
    assert rows(settings, "SELECT canonical_url FROM articles")[0][0] == server.url("/feeds/a/1.html")


def test_redirect_chain_with_changing_urls_stops_at_the_limit(server, tmp_path):
    def hop(h):
        n = int(h.path.split("=")[-1]) if "=" in h.path else 0
        send(h, 302, b"", None, {"Location": f"/chain?n={n + 1}"})
    server.add("/chain", hop)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/chain")}])
    run_cycle(settings)
    assert feed_row(settings, "f")["error_kind"] == "redirects"
    assert server.hits("/chain") == settings.fetch.max_redirects + 1
