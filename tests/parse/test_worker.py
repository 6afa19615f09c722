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
    # 60,000 items: about a second of parsing in a warm worker.
    return rss([{"title": f"خبر {i}", "link": f"http://127.0.0.1:9/n/{i}", "guid": f"n{i}"}
                for i in range(60_000)])


def _very_slow_feed() -> bytes:
    # One element with 40,000 attributes: tens of seconds of CPU (xml.sax scans attributes
    # linearly), so whenever the kill comes, the answer has not.
    attrs = " ".join(f'a{i}="1"' for i in range(40_000))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f'<item {attrs}><title>x</title></item></channel></rss>').encode()


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _kill_worker_once_busy(cpu_seconds: float) -> int:
    """SIGKILL the parse worker once it has used ``cpu_seconds`` of CPU from now; its pid.

    Waiting on the worker's CPU rather than the clock kills it inside the parse on a fast or a
    loaded machine alike (a fixed delay raced the parse's end)."""
    while not (workers := [p for p in multiprocessing.active_children()
                           if p.name == "monitor-parse" and p.pid]):
        await asyncio.sleep(0.01)
    pid = workers[0].pid
    assert pid is not None
    start = _cpu_seconds(pid)
    while _cpu_seconds(pid) - start < cpu_seconds:
        await asyncio.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    return pid


async def _parse(parsers: FeedParsers, body: bytes):
    return await parsers.parse(body, "slow", URL, "application/rss+xml")


def test_a_used_worker_that_dies_under_a_feed_is_replaced_and_the_feed_parsed_again():
    async def scenario():
        parsers = FeedParsers(ParseSettings(workers=1, timeout_seconds=60))
        try:
            small = rss([{"title": "سليم", "link": "http://127.0.0.1:9/x", "guid": "1"}])
            assert len((await _parse(parsers, small)).items) == 1
            parse = asyncio.create_task(_parse(parsers, _slow_feed()))
            killed = await _kill_worker_once_busy(0.2)
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
            parse = asyncio.create_task(_parse(parsers, _very_slow_feed()))
            await _kill_worker_once_busy(1.0)
            with pytest.raises(ParseError, match="parser process died.*SIGKILL"):
                await parse
            # The slot is usable again: the next feed gets a new worker.
            small = rss([{"title": "سليم", "link": "http://127.0.0.1:9/x", "guid": "1"}])
            assert len((await _parse(parsers, small)).items) == 1
        finally:
            parsers.close()

    asyncio.run(scenario())
