"""The parse worker pool when a worker process dies under a feed: a worker that had served other
feeds first gets the feed again in a fresh process (the leftovers of earlier feeds in its heap
may be what killed it); a fresh worker's death is the feed's, and the error says how it died."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal

import pytest

from monitor.config import ParseSettings
from monitor.errors import ParseError
from monitor.parse.worker import FeedParsers
from tests.builders import rss

URL = "http://127.0.0.1:9/feed.xml"


def _slow_feed() -> bytes:
    # 60,000 items: a couple of seconds of parsing, long enough to kill the worker inside it.
    return rss([{"title": f"خبر {i}", "link": f"http://127.0.0.1:9/n/{i}", "guid": f"n{i}"}
                for i in range(60_000)])


async def _kill_worker_after(delay: float) -> int:
    """SIGKILL the parse worker that is alive ``delay`` seconds from now; its pid."""
    await asyncio.sleep(delay)
    worker = next(p for p in multiprocessing.active_children() if p.name == "monitor-parse")
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    return worker.pid


async def _parse(parsers: FeedParsers, body: bytes):
    return await parsers.parse(body, "slow", URL, "application/rss+xml")


def test_a_used_worker_that_dies_under_a_feed_is_replaced_and_the_feed_parsed_again():
    async def scenario():
        parsers = FeedParsers(ParseSettings(workers=1, timeout_seconds=60))
        try:
            small = rss([{"title": "سليم", "link": "http://127.0.0.1:9/x", "guid": "1"}])
            assert len((await _parse(parsers, small)).items) == 1
            parse = asyncio.create_task(_parse(parsers, _slow_feed()))
            killed = await _kill_worker_after(0.8)
            feed = await parse
            alive = [p.pid for p in multiprocessing.active_children() if p.name == "monitor-parse"]
            return killed, alive, feed
        finally:
            parsers.close()

    killed, alive, feed = asyncio.run(scenario())
    assert len(feed.items) == 2000 and "2000" in (feed.bozo_error or "")
    assert alive and killed not in alive          # the retry ran in a new process


def test_a_fresh_worker_that_dies_under_a_feed_fails_it_and_says_how():
    async def scenario():
        parsers = FeedParsers(ParseSettings(workers=1, timeout_seconds=60))
        try:
            parse = asyncio.create_task(_parse(parsers, _slow_feed()))
            await _kill_worker_after(1.0)
            with pytest.raises(ParseError, match="parser process died.*SIGKILL"):
                await parse
            # The slot is usable again: the next feed gets a new worker.
            small = rss([{"title": "سليم", "link": "http://127.0.0.1:9/x", "guid": "1"}])
            assert len((await _parse(parsers, small)).items) == 1
        finally:
            parsers.close()

    asyncio.run(scenario())
