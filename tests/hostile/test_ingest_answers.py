"""Broken, hostile or absent answers from feed and page servers: each ends as a stored failure
(feed) or a fallback to the summary (article), never a crashed poll."""

from __future__ import annotations

import os
import time

import pytest

from tests.builders import rss
from tests.conftest import make_settings, run_cycle
from tests.servers.http import send
from tests.test_ingest import feed_row, rows


def raw(data: bytes, *, then_sleep: float = 0.0):
    """A route writing raw bytes on the socket instead of a proper answer."""
    def route(h):
        h.wfile.write(data)
        h.wfile.flush()
        time.sleep(then_sleep)
        h.close_connection = True
    return route


ANSWERS = [
    pytest.param(raw(b"garbage\r\n\r\n"), ("network",), id="garbage-status-line"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>"), ("network",),
                 id="closed-mid-body"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200_000 + b"\r\n\r\n"),
                 ("network",), id="200k-header-line"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 50_000 + b"\r\n"), ("network",),
                 id="50k-headers"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\nab"),
                 ("network", "too_large"), id="absurd-chunk-size"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
                     b"notgzip!!!"), ("encoding",), id="corrupt-gzip"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd, br\r\nContent-Length: 2\r\n\r\nxx"),
                 ("encoding",), id="stacked-encodings"),
    pytest.param(raw(b"", then_sleep=8), ("timeout",), id="silent-server"),
    pytest.param(raw(b"HTTP/1.1 200 OK\r\n", then_sleep=8), ("timeout",), id="headers-never-end"),
    pytest.param(raw(b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n"), ("http_status",),
                 id="status-999"),
    pytest.param(lambda h: send(h, 429, b"slow down", "text/plain", {"Retry-After": "999999999"}),
                 ("http_status",), id="429-absurd-retry-after"),
]


@pytest.mark.parametrize("route,kinds", ANSWERS)
def test_broken_feed_answers_are_recorded_failures(server, tmp_path, route, kinds):
    server.add("/feed.xml", route)
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             fetch={"read_timeout": 2, "total_timeout": 3})
    stats = run_cycle(settings)
    row = feed_row(settings, "f")
    assert stats.feeds_failed == 1 and row["error_kind"] in kinds, row["last_error"]
    assert row["next_poll_at"] - time.time() <= settings.fetch.backoff_max_seconds + 1


@pytest.mark.parametrize("route,kinds", ANSWERS)
def test_broken_page_answers_fall_back_to_the_summary(server, tmp_path, route, kinds):
    server.add("/a.html", route)
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1",
                                     "description": "ملخص"}]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             fetch={"read_timeout": 2, "total_timeout": 3})
    stats = run_cycle(settings)
    art = rows(settings, "SELECT * FROM articles")[0]
    assert stats.failed == 0 and art["extraction_status"] == "fallback_fetch"
    assert art["text"] == "ملخص" and art["extraction_error"].split(":")[0] in kinds


NOT_FEEDS = [
    pytest.param(b"", id="empty"), pytest.param(b" \n\t " * 1000, id="whitespace"),
    pytest.param(os.urandom(200_000), id="random-bytes"),
    pytest.param(b'{"version": "https://jsonfeed.org/version/1", "items": []}', id="json"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000, id="png"),
    pytest.param(b'<?xml version="1.0"?>', id="declaration-only"),
    pytest.param(b"<html><script>var x = '<rss version=\"2.0\">';</script></html>", id="rss-in-script"),
]


@pytest.mark.parametrize("body", NOT_FEEDS)
def test_bodies_that_are_not_feeds(server, tmp_path, body):
    server.static("/feed.xml", body, "application/rss+xml")
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    stats = run_cycle(settings)
    assert stats.feeds_failed == 1 and feed_row(settings, "f")["error_kind"] == "not_a_feed"


def test_a_real_feed_served_as_an_image_is_still_read(server, tmp_path):
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/x"), "guid": "1"}]),
                  "image/png")
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}])
    assert run_cycle(settings).new_items == 1
