"""The pooled connection under concurrency: requests queue on httpcore's locks and all complete."""

from __future__ import annotations

import asyncio

from monitor.fetch.client import Fetcher
from tests.conftest import make_settings
from tests.servers.http import send


def test_many_requests_share_one_connection_through_the_locks(server, tmp_path):
    # One pooled connection, 40 concurrent polls: every request waits its turn on the
    # connection and pool locks and all complete.
    def feed(h):
        send(h, 304, b"", headers={"ETag": '"v1"'})
    server.add("/feed.xml", feed)
    settings = make_settings(tmp_path, server, [])
    fetch = settings.fetch.model_copy(update={"max_connections": 1, "per_host_concurrency": 40})

    async def go() -> list[int]:
        async with Fetcher(fetch) as fetcher:
            results = await asyncio.gather(*(fetcher.get(server.url("/feed.xml"), etag='"v1"')
                                             for _ in range(40)))
        return [r.status for r in results]

    assert asyncio.run(go()) == [304] * 40


def test_cancelled_waiter_does_not_wedge_the_pool(server, tmp_path):
    # A request cancelled while queued for the only connection must leave the lock usable.
    def slow(h):
        import time
        time.sleep(0.3)
        send(h, 200, b"ok", "text/plain")
    server.add("/slow", slow)
    settings = make_settings(tmp_path, server, [])
    fetch = settings.fetch.model_copy(update={"max_connections": 1, "per_host_concurrency": 4})

    async def go() -> int:
        async with Fetcher(fetch) as fetcher:
            first = asyncio.create_task(fetcher.get(server.url("/slow")))
            queued = asyncio.create_task(fetcher.get(server.url("/slow")))
            await asyncio.sleep(0.05)
            queued.cancel()
            await first
            again = await fetcher.get(server.url("/slow"))
            return again.status

    assert asyncio.run(go()) == 200
