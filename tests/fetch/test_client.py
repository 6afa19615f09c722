"""The shared HTTP client against a real local server."""

from __future__ import annotations

import asyncio

from monitor.fetch.client import FEED_ACCEPT, Fetcher
from tests.conftest import make_settings
from tests.servers.http import send


def test_unchanged_polls_reuse_one_connection(server, tmp_path):
    # A 304 left unread used to close its connection: a new TCP (and TLS) handshake per poll.
    ports = []

    def feed(h):
        ports.append(h.client_address[1])
        if h.headers.get("If-None-Match") == '"v1"':
            send(h, 304, b"", headers={"ETag": '"v1"'})
        else:
            send(h, 200, b"<rss version='2.0'><channel/></rss>", "application/rss+xml",
                 {"ETag": '"v1"'})
    server.add("/feed.xml", feed)
    settings = make_settings(tmp_path, server, [])

    async def go() -> list[int]:
        async with Fetcher(settings.fetch) as fetcher:
            first = await fetcher.get(server.url("/feed.xml"), accept=FEED_ACCEPT)
            statuses = [first.status]
            for _ in range(4):
                res = await fetcher.get(server.url("/feed.xml"), etag=first.headers["etag"],
                                        accept=FEED_ACCEPT)
                statuses.append(res.status)
            return statuses

    assert asyncio.run(go()) == [200, 304, 304, 304, 304]
    assert len(set(ports)) == 1, ports
