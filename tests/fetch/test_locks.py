"""httpcore's locks made fast-acquire: no loop round trip when free, a queue when contended."""

from __future__ import annotations

import asyncio

import anyio
import httpx
from httpcore._synchronization import AsyncLock

from monitor.fetch.client import Fetcher
from monitor.fetch.locks import use_fast_locks
from tests.conftest import make_settings
from tests.servers.http import send


async def _yields_on_acquire(lock: object) -> bool:
    """Did acquiring the free lock let another callback run first (an event-loop round trip)?"""
    ran: list[bool] = []
    asyncio.get_running_loop().call_soon(ran.append, True)
    async with lock:  # type: ignore[attr-defined]
        return bool(ran)


def test_installed_httpcore_and_anyio_have_the_expected_shape():
    # False here means an upgrade changed httpcore's AsyncLock or anyio's Lock: the switch is
    # then silently off and polling costs what it did before (see monitor/fetch/locks.py).
    assert use_fast_locks() is True
    assert use_fast_locks() is True      # idempotent


def test_free_lock_no_longer_costs_a_round_trip():
    use_fast_locks()

    async def go() -> tuple[bool, bool]:
        return await _yields_on_acquire(anyio.Lock()), await _yields_on_acquire(AsyncLock())

    stock, httpcore_lock = asyncio.run(go())
    assert stock is True            # what httpcore paid before, three times a request
    assert httpcore_lock is False


def test_contended_lock_still_queues_in_order():
    use_fast_locks()
    order: list[str] = []

    async def holder(lock: AsyncLock, name: str, hold: float) -> None:
        async with lock:
            order.append(f"{name}+")
            await asyncio.sleep(hold)
            order.append(f"{name}-")

    async def go() -> None:
        lock = AsyncLock()
        await asyncio.gather(holder(lock, "a", 0.05), holder(lock, "b", 0), holder(lock, "c", 0))

    asyncio.run(go())
    assert order == ["a+", "a-", "b+", "b-", "c+", "c-"]


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


def test_plain_httpx_client_works_after_the_switch(server):
    # The switch is process-wide: the Telegram client's own httpx must keep working.
    use_fast_locks()
    server.add("/x", lambda h: send(h, 200, b"x", "text/plain"))

    async def go() -> list[int]:
        async with httpx.AsyncClient(trust_env=False) as client:
            return [(await client.get(server.url("/x"))).status_code for _ in range(3)]

    assert asyncio.run(go()) == [200, 200, 200]
